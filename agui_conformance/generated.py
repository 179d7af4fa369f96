"""Generated inputs: RunAgentInputs drawn by hypothesis, sent to the agent, a failure shrunk.

Owns the generated-inputs case. The examples hypothesis tries first are drawn without any
I/O and sent `cfg.concurrency` at a time (a slow agent costs its latency once per batch, not
once per example). Only when one fails does hypothesis run for real, serially, to shrink
it: the examples already judged are answered from the first pass, so only the shrink steps
reach the agent. An agent that answers nothing stops the phase at once (silence is never
shrunk). The minimal failing input is reported with its seed and a curl reproducer.

Bounded in time and memory: the phase has its own wall-clock budget
(`RunnerConfig.generated_budget`, `run --generated-budget`): no example and no shrink step
is sent once it is spent (one in flight ends within its own deadlines), and shrinking sends
at most `SHRINK_STEPS` new requests within `SHRINK_BUDGET_S`. Of the exchanges, only the
verdicts are kept, and the records of a few failing ones (`KEEP_FAILING`, the shortest);
the report shows the minimal one's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from agui_conformance.model import CaseResult, Level, RunRecord
from agui_conformance.redact import scrub_result
from agui_conformance.runner import RunnerConfig, curl_reproducer, examine, verdict
from agui_conformance.transport import exchange, new_client

GENERATED = "generated-inputs"
SHRINK_BUDGET_S = 30.0  # wall-clock time shrinking may spend on new requests to the agent
SHRINK_STEPS = 250  # new requests shrinking may send (an agent failing every input: ~110)
KEEP_FAILING = 4  # failing records held while shrinking (the report shows one)


@dataclass
class _Judged:
    """One generated input's exchange, judged; `record` is let go (None) once only the
    verdict is needed."""

    record: RunRecord | None
    bad: bool  # a finding at or above the fail-on level
    unanswered: bool
    covered: list[str] = field(default_factory=list)


@dataclass
class _Kept:
    """The failing records the phase holds: the first pass's first failure (in the inputs'
    order), then the `KEEP_FAILING` shortest failing shrink steps (hypothesis' minimal
    example is among the shortest); the report shows one."""

    records: dict[bytes, RunRecord] = field(default_factory=dict)
    first: int = 1 << 62  # the first pass's place of the failure held

    def first_pass(self, order: int, key: bytes, record: RunRecord | None) -> None:
        if record is not None and order < self.first:
            self.records, self.first = {key: record}, order

    def offer(self, key: bytes, record: RunRecord | None) -> None:
        if record is not None:
            self.records[key] = record
        while len(self.records) > KEEP_FAILING:
            del self.records[max(self.records, key=len)]

    def shortest(self) -> RunRecord | None:
        return self.records[min(self.records, key=len)] if self.records else None


def _key(generated: dict[str, Any]) -> bytes:
    return orjson.dumps(generated, option=orjson.OPT_SORT_KEYS)


def _settings(examples: int, seed: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    from hypothesis import HealthCheck, settings
    from hypothesis import seed as with_seed

    def apply(test: Callable[..., None]) -> Callable[..., None]:
        configured = settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )(test)
        wrapped: Callable[..., None] = with_seed(seed)(configured)
        return wrapped

    return apply


def draw(examples: int, seed: int) -> list[dict[str, Any]]:
    """The inputs hypothesis tries first for `seed`, in order, with no I/O (the same ones a
    run whose every example passes sends)."""
    from hypothesis import given

    from agui_conformance.strategies import run_agent_inputs

    drawn: list[dict[str, Any]] = []

    @_settings(examples, seed)
    @given(run_agent_inputs())
    def collect(generated: dict[str, Any]) -> None:
        drawn.append(generated)

    collect()
    return drawn


async def _judge_one(
    cfg: RunnerConfig, client: httpx.AsyncClient, generated: dict[str, Any], fail_on: Level
) -> _Judged | str:
    """Send one input on fresh ids; a harness error comes back as its text."""
    from agui_conformance.cases import Ids

    ids = Ids()
    body_obj = {**generated, "threadId": ids.thread, "runId": ids.fresh("run")}
    body = orjson.dumps(body_obj)
    record = await exchange(
        cfg.url,
        body,
        headers=cfg.binding_headers(),
        deadlines=cfg.deadlines,
        max_bytes=cfg.max_bytes,
        secret_headers=cfg.secret_headers,
        client=client,
    )
    if record.harness_error is not None:
        return record.harness_error
    run, _ = examine(record, body_obj, body, "run", cfg.profile)
    return _Judged(
        record=run,
        bad=any(f.level.rank >= fail_on.rank for f in run.findings),
        unanswered=run.outcome == "unresponsive",
        covered=list(run.exercised),
    )


async def _first_pass(
    cfg: RunnerConfig, inputs: list[dict[str, Any]], fail_on: Level, ends: float, kept: _Kept
) -> list[_Judged | str | None]:
    """Every input, `cfg.concurrency` at a time; once one got no answer (or a harness
    error), or the budget ends (`ends`, time.monotonic), those not yet sent are skipped
    (None). Only the verdicts come back, and the record of a silent example; `kept` gets
    the record of the first failing one (in the inputs' order)."""
    gate = asyncio.Semaphore(max(1, cfg.concurrency))
    stop = False

    async def one(
        order: int, generated: dict[str, Any], client: httpx.AsyncClient
    ) -> _Judged | str | None:
        nonlocal stop
        async with gate:
            if stop or time.monotonic() >= ends:
                return None
            judged = await _judge_one(cfg, client, generated, fail_on)
            if isinstance(judged, str) or judged.unanswered:
                stop = True
                return judged  # reported as it is
            if judged.bad:
                kept.first_pass(order, _key(generated), judged.record)
            judged.record = None
            return judged

    pool = max(20, 4 * cfg.concurrency)
    async with new_client(cfg.deadlines, max_connections=pool) as client:
        return list(await asyncio.gather(*(one(n, g, client) for n, g in enumerate(inputs))))


def run_generated(
    cfg: RunnerConfig, examples: int, seed: int, fail_on: Level = Level.ERROR
) -> CaseResult:
    """Send `examples` generated RunAgentInputs; a failure is shrunk to a minimal input
    and reported with its seed and a curl reproducer."""
    from agui_conformance import aio

    started = time.perf_counter()
    ends = time.monotonic() + cfg.generated_budget
    result = CaseResult(
        id=GENERATED,
        title=f"{examples} generated RunAgentInputs (seed {seed})",
        requirements=["INPUT-001", "PROC-002"],
        expect="run",
        status="passed",
    )
    inputs = draw(examples, seed)
    kept = _Kept()
    judged = aio.run(_first_pass(cfg, inputs, fail_on, ends, kept))
    covered: set[str] = set()
    for item in judged:
        if isinstance(item, _Judged):
            covered.update(item.covered)
    broken = next((item for item in judged if isinstance(item, str)), None)
    silent = next((i for i in judged if isinstance(i, _Judged) and i.unanswered), None)
    sent = sum(1 for item in judged if item is not None)
    reproduce = ""
    if broken is not None:
        result.status, result.reason = "harness-error", broken
    elif silent is not None and silent.record is not None:
        result.runs = [silent.record]  # no answer: reported as it is, never shrunk
    elif kept.records:
        cache = {
            _key(g): item
            for g, item in zip(inputs, judged, strict=True)
            if isinstance(item, _Judged)
        }
        del judged  # verdicts only from here on
        minimal, more, how = _shrink(cfg, examples, seed, fail_on, cache, kept, ends)
        covered.update(more)
        if isinstance(minimal, str):
            result.status, result.reason = "harness-error", minimal
        else:
            result.runs = [minimal]
            if minimal.outcome != "unresponsive":
                reproduce = (  # the whole command: the report's, with the run's options
                    f"failing input {how} (seed {seed}); reproduce: "
                    f"the run's command with --case {GENERATED} --examples {examples} --seed {seed}"
                )
                if minimal.request.input is not None:  # kept whole: replayable
                    body = orjson.dumps(minimal.request.input)
                    minimal.reproducer = curl_reproducer(cfg, body)
    result.exercised = sorted(covered)
    if result.status != "harness-error":
        verdict(result, fail_on)
    notes = [result.reason] if result.reason else []
    if reproduce:
        notes.append(reproduce)
    if sent < len(inputs) and silent is None and broken is None:
        notes.append(
            f"the phase's time budget ({cfg.generated_budget:g} s) ran out: "
            f"{sent} of {len(inputs)} examples sent"
        )
    result.reason = "; ".join(notes)
    result.durationMs = round((time.perf_counter() - started) * 1000, 1)
    return scrub_result(result, cfg.url, cfg.headers, cfg.secret_headers)


def _shrink(
    cfg: RunnerConfig,
    examples: int,
    seed: int,
    fail_on: Level,
    cache: dict[bytes, _Judged],
    kept: _Kept,
    ends: float,
) -> tuple[RunRecord | str, set[str], str]:
    """Hypothesis for real, serially: the examples already judged come from `cache` (their
    verdicts), the shrink steps go to the agent, once each, at most `SHRINK_STEPS` of them
    and none after `SHRINK_BUDGET_S` or the phase's end (`ends`). `kept` holds the failing
    records (the shortest few). Returns the minimal failing record (or a
    harness error's text), the rules the shrink steps exercised, and how it was shrunk."""
    from hypothesis import given

    from agui_conformance.strategies import run_agent_inputs

    stopped: list[RunRecord | str] = []
    covered: set[str] = set()
    last_bad: list[dict[str, Any]] = []  # the last failing input: hypothesis replays the
    steps = 0  # minimal example last
    cut = ""  # why a shrink step was not sent: out of time or steps
    loop = asyncio.new_event_loop()  # one loop and one client for every shrink step
    client = new_client(cfg.deadlines)
    budget_ends = min(ends, time.monotonic() + SHRINK_BUDGET_S)

    @_settings(examples, seed)
    @given(run_agent_inputs())
    def check(generated: dict[str, Any]) -> None:
        nonlocal steps, cut
        if stopped:
            return  # every further step is a no-op
        key = _key(generated)
        item = cache.get(key)
        if item is None and steps >= SHRINK_STEPS:
            cut = f"its limit of {SHRINK_STEPS} steps"
            return  # out of shrinking steps: the smallest failure so far is the answer
        if item is None and time.monotonic() > budget_ends:
            cut = cut or f"its time (the phase's budget, or {SHRINK_BUDGET_S:g} s of shrinking)"
            return  # out of shrinking time or steps: the smallest failure so far is the answer
        if item is None:
            steps += 1
            fresh = loop.run_until_complete(_judge_one(cfg, client, generated, fail_on))
            if isinstance(fresh, str):
                stopped.append(fresh)
                raise RuntimeError(fresh)
            covered.update(fresh.covered)
            if fresh.unanswered and fresh.record is not None:
                stopped.append(fresh.record)
                raise AssertionError("no answer")
            if fresh.bad:
                kept.offer(key, fresh.record)
            fresh.record = None  # verdicts only
            item = cache[key] = fresh  # hypothesis replays the minimal one
        if item.bad:
            last_bad[:] = [generated]
            raise AssertionError("finding(s)")

    try:
        check()
    except Exception:
        if stopped:
            return stopped[0], covered, ""
        if not last_bad:
            raise
        minimal = last_bad[0]
        record = kept.records.get(_key(minimal))
        if record is None and time.monotonic() < ends:
            # its record was let go (shorter failing steps came): the minimal, once more
            again = loop.run_until_complete(_judge_one(cfg, client, minimal, fail_on))
            if isinstance(again, _Judged) and again.bad:
                record = again.record
    else:  # the failure did not come back when replayed (a flaky agent)
        shown = kept.shortest()
        assert shown is not None
        return shown, covered, "seen once, not again when replayed (a flaky agent)"
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
    if record is None:
        shown = kept.shortest()
        assert shown is not None
        return (
            shown,
            covered,
            (
                f"shrunk for {steps} step(s); shown: a failing input on the way (the minimal "
                "one's record was let go, and it did not fail again within the phase's budget)"
            ),
        )
    if cut:
        return record, covered, f"shrunk for {steps} step(s), until it reached {cut}"
    return record, covered, "shrunk to a minimal example"
