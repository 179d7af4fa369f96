"""The behaviour cases' exchanges: what each sends, on which threads, in what order.

A `behaviour:` case (cases/README.md) is a scenario of several exchanges that a front end
really produces; the runner hands it here instead of its one-thread flow. Every exchange is
judged as a run on its own first (`runner.judge`), then agui_conformance.behaviour adds what
only the scenario shows:

- continuation: the case's input (a history holding a tool call this server never made,
  and its result) on a fresh thread, then the same input on a second fresh thread; both
  under the case's `refusal`.
- isolation: the case's input on two threads, each with its own fresh canary
  (`${id:canary}`), one after the other; neither thread's events may show the other's.
  isolation-interleaved: the two at once.
- overlap: the case's input, and as soon as its response begins, a second run on the same
  thread (a new runId and one more user message), while the first is still streaming.
- state-types, history: the case's run, then the state it reported, or the reply, judged.
  history only with `RunnerConfig.behaviour` (it judges model output); otherwise not
  applicable.
- negotiation: the case's run asked for with several `Accept` values
  (agui_conformance.bindings owns it).

Owns the sending order; knows nothing of reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson

from agui_conformance import behaviour, bindings
from agui_conformance.cases import Case, Ids, build_body
from agui_conformance.exercise import exercised
from agui_conformance.model import RunRecord
from agui_conformance.runner import (
    STOPPED,
    RunnerConfig,
    Stopped,
    Watch,
    _events,
    _record,
    _send,
    _thread_runs,
    completed,
    judge,
)
from agui_conformance.transport import Exchange, new_client

HISTORY_OFF = (
    "not applicable: the history-honoured check judges model output (whether the reply "
    "holds a fact from an earlier turn); it is advisory and runs only with --behaviour"
)
OVERLAP_MISSED = (
    "not applicable: the first run had ended before the second could be sent on its thread "
    "(no overlap to judge); the agent answers faster than a second request can follow"
)
FOLLOW_UP = "And one more thing, while you are still answering: hello again."

Flow = Callable[
    [Case, RunnerConfig, httpx.AsyncClient, Watch, list[RunRecord]], Awaitable[str | None]
]


async def run(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch
) -> tuple[list[RunRecord], str | None]:
    """The case's exchanges, judged, and why it was not exercised (None if it was)."""
    runs: list[RunRecord] = []
    try:
        return runs, await FLOWS[case.behaviour or ""](case, cfg, client, watch, runs)
    except Stopped:
        return runs, STOPPED


def _judged(
    cfg: RunnerConfig, record: Exchange, request: Any, body: bytes, refusal: str | None = None
) -> RunRecord:
    events = _events(record)
    found = judge(record, request, "run", cfg.profile, refusal, events)
    run = _record(record, request, body, found, "run", events)
    if refusal is not None and completed(record):  # the tolerated input was answered
        run.exercised += exercised({f"refusal:{refusal}"})
    return run


async def _exchange(
    cfg: RunnerConfig,
    client: httpx.AsyncClient,
    case: Case,
    watch: Watch,
    request: dict[str, Any],
) -> tuple[Exchange, bytes]:
    body = orjson.dumps(request)
    return await _send(cfg, client, body, case, watch), body


# ------------------------------------------------------------------ the flows


async def _continuation(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch, runs: list[RunRecord]
) -> str | None:
    ids = Ids()
    request, _ = build_body(case, ids)
    assert request is not None  # a behaviour case has a request (Case checks it)
    record, body = await _exchange(cfg, client, case, watch, request)
    runs.append(_judged(cfg, record, request, body, case.refusal))
    if runs[-1].outcome != "finished":
        return None
    # the same continuation on another thread: the history, its ids and the result unchanged
    again = {**request, "threadId": ids.fresh("thread"), "runId": ids.fresh("run")}
    record, body = await _exchange(cfg, client, case, watch, again)
    runs.append(_judged(cfg, record, again, body, case.refusal))
    return None


async def _isolation(
    case: Case,
    cfg: RunnerConfig,
    client: httpx.AsyncClient,
    watch: Watch,
    runs: list[RunRecord],
    *,
    interleaved: bool,
) -> str | None:
    sides = []
    for _ in range(2):
        ids = Ids()
        request, _ = build_body(case, ids)
        assert request is not None
        sides.append((request, ids.named["canary"]))
    if interleaved:
        answered = await asyncio.gather(
            *(_exchange(cfg, client, case, watch, request) for request, _ in sides)
        )
    else:
        answered = [await _exchange(cfg, client, case, watch, request) for request, _ in sides]
    judged = [
        _judged(cfg, record, request, body)
        for (record, body), (request, _) in zip(answered, sides, strict=True)
    ]
    runs.extend(judged)
    for this, other in ((0, 1), (1, 0)):
        (record, _), run = answered[this], judged[this]
        request, canary = sides[other]
        frames = [(frame.index, frame.data) for frame in record.frames]
        hit = behaviour.leak(
            canary, frames, str(sides[this][0]["threadId"]), str(request["threadId"])
        )
        if hit is not None:
            run.findings.extend(behaviour.findings([hit], cfg.profile))
        if completed(record) and completed(answered[other][0]):
            run.exercised += exercised({"isolation"})
    return None


async def _sequential(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch, runs: list[RunRecord]
) -> str | None:
    return await _isolation(case, cfg, client, watch, runs, interleaved=False)


async def _interleaved(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch, runs: list[RunRecord]
) -> str | None:
    return await _isolation(case, cfg, client, watch, runs, interleaved=True)


async def _overlap(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch, runs: list[RunRecord]
) -> str | None:
    ids = Ids()
    first, _ = build_body(case, ids)
    assert first is not None
    history = [m for m in first.get("messages", []) if isinstance(m, dict)]
    second = {
        **first,
        "runId": ids.fresh("run"),
        "messages": [*history, {"id": ids.fresh("msg"), "role": "user", "content": FOLLOW_UP}],
    }
    began = asyncio.Event()

    async def response_began(_: httpx.Response) -> None:
        began.set()

    # The first run on a client of its own, whose response hook says when it began.
    async with new_client(cfg.deadlines, max_connections=1) as own:
        own.event_hooks["response"] = [response_began]
        sent_first = time.monotonic()
        task = asyncio.ensure_future(_exchange(cfg, own, case, watch, first))
        try:
            waiting = asyncio.ensure_future(began.wait())
            await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if task.done():  # no response began before the exchange ended (no answer)
                record, body = task.result()
                runs.append(_judged(cfg, record, first, body))
                return None
            gap = time.monotonic() - sent_first
            later, later_body = await _exchange(cfg, client, case, watch, second)
            record, body = await task
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Stopped):
                    await task
    runs.append(_judged(cfg, record, first, body))
    runs.append(_judged(cfg, later, second, later_body))
    overlapped = record.status == 200 and gap < record.ended_at
    if not overlapped:
        clean = runs[0].outcome == "finished" and not any(r.findings for r in runs)
        return OVERLAP_MISSED if clean else None
    runs[-1].findings = behaviour.overlap_findings(
        later, runs[-1].findings, cfg.profile, gap, record.ended_at
    )
    if completed(later):
        runs[-1].exercised += exercised({"overlap"})
    return None


async def _state_types(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch, runs: list[RunRecord]
) -> str | None:
    reason = await _thread_runs(case, cfg, client, watch, runs)
    run = runs[-1] if runs else None
    if run is None or run.outcome != "finished" or run.request.input is None:
        return reason
    judged, hit = behaviour.state_types_hit(run.request.input.get("state", {}), run.events)
    if hit is not None:
        run.findings.extend(behaviour.findings([hit], cfg.profile))
    if judged:
        run.exercised += exercised({"state-types"})
    return reason


async def _history(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch, runs: list[RunRecord]
) -> str | None:
    if not cfg.behaviour:
        return HISTORY_OFF
    reason = await _thread_runs(case, cfg, client, watch, runs)
    run = runs[-1] if runs else None
    if run is None or run.outcome != "finished" or run.request.input is None:
        return reason
    sent = run.request.input.get("messages", [])
    history = [str(m.get("id")) for m in sent if isinstance(m, dict)]
    judged, hit = behaviour.history_hit(case.fact or "", run.events, history)
    if hit is not None:
        run.findings.extend(behaviour.findings([hit], cfg.profile))
    if judged:
        run.exercised += exercised({"history"})
    return reason


FLOWS: dict[str, Flow] = {
    "continuation": _continuation,
    "isolation": _sequential,
    "isolation-interleaved": _interleaved,
    "overlap": _overlap,
    "state-types": _state_types,
    "history": _history,
    "negotiation": bindings.negotiate,
}
