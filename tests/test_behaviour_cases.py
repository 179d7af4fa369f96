"""Behaviour cases: scenarios a front end really produces, which no single stream shows.

One small hostile agent per bug class, each a real uvicorn server on 127.0.0.1, through the
real runner: a continuation kept in process memory (INPUT-002), a working memory shared
across threads (isolation), state coerced to another JSON type (INPUT-011), an empty 200 for
a second run on a busy thread (LIFE-005, LIFE-023), RUN_ERROR on an empty history
(INPUT-001) and a history dropped before the model (INPUT-002, opt-in). Each is judged right,
none ends as a harness error; the reference agent passes every case on every profile and
fails each against its own fault mode; each judge stays quiet over randomized conformant
replies (other text, ids, chunking).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agui_conformance import behaviour
from agui_conformance.cases import Case, load_cases
from agui_conformance.cli import main
from agui_conformance.matrix import requirements
from agui_conformance.model import CaseResult, Level
from agui_conformance.runner import RunnerConfig, judge, run_suite
from agui_conformance.strategies import non_null_json
from agui_conformance.transport import Deadlines, Exchange, TimedFrame
from agui_conformance.validator import validate_events
from agui_conformance.vocabulary import PROFILES
from reference_agent.app import AgentConfig
from reference_agent.faults import FAULT_HEADER, FAULTS
from reference_agent.server import running_agent
from tests.hostile_agents import agent, conformant_run, serve_app, sse

FAST = Deadlines(connect=2.0, first_byte=3.0, idle=2.0, total=10.0, linger=1.0)
CASES = {case.id: case for case in load_cases()}
ISOLATION = ["thread-isolation-sequential", "thread-isolation-interleaved"]
STATE_TYPES = [f"state-json-types-{v}" for v in ("array", "string", "number", "nested")]
NEW = [
    "stateless-continuation",
    *ISOLATION,
    *STATE_TYPES,
    "overlapping-runs",
    "empty-history",
    "history-honoured",
]
NEW_RULES = {
    "stateless-continuation-refused",
    "thread-state-leaked",
    "state-type-changed",
    "overlapping-run-unanswered",
    "empty-history-run-error",
    "history-not-honoured",
}
NEW_FAULTS = sorted(name for name, fault in FAULTS.items() if fault.rule in NEW_RULES)


def suite(
    url: str, ids: list[str], fail_on: Level = Level.ERROR, **kw: Any
) -> dict[str, CaseResult]:
    cfg = RunnerConfig(url=url, deadlines=kw.pop("deadlines", FAST), **kw)
    results = asyncio.run(run_suite([CASES[i] for i in ids], cfg, fail_on))
    for result in results:
        assert result.status != "harness-error", (result.id, result.reason)
    return {r.id: r for r in results}


def rules(result: CaseResult) -> set[str]:
    return {f.rule for f in result.findings}


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _last_user(body: dict[str, Any]) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return _text_of(users[-1]) if users else ""


def _reply(body: dict[str, Any], text: str, *, pieces: int = 1) -> list[dict[str, Any]]:
    """A legal run whose reply is `text`, streamed in `pieces` deltas."""
    thread, run = body["threadId"], body["runId"]
    mid = f"m-{run}"
    size = max(1, len(text) // pieces + 1)
    deltas = [text[i : i + size] for i in range(0, len(text), size)] or [""]
    return [
        {"type": "RUN_STARTED", "threadId": thread, "runId": run, "protocolVersion": "1.1"},
        {"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant"},
        *({"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": d} for d in deltas if d),
        {"type": "TEXT_MESSAGE_END", "messageId": mid},
        {"type": "RUN_FINISHED", "threadId": thread, "runId": run},
    ]


def _with_state(body: dict[str, Any], snapshot: Any) -> list[dict[str, Any]]:
    events = _reply(body, "State updated.")
    return [events[0], {"type": "STATE_SNAPSHOT", "snapshot": snapshot}, *events[1:]]


def _run_error(body: dict[str, Any], message: str, code: str) -> list[dict[str, Any]]:
    started = conformant_run(body)[0]
    return [started, {"type": "RUN_ERROR", "message": message, "code": code}]


# ------------------------------------------------------------------ 1. stateless continuation


def _continuation_in_memory(how: str) -> FastAPI:
    """A real bug: frontend calls paused in a dict of this process, keyed by thread; a tool
    result for a call it does not hold fails ("session not found", "no paused run")."""
    paused: dict[str, set[str]] = {}
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        body = json.loads(await request.body())
        last = body["messages"][-1] if body["messages"] else {}
        if last.get("role") == "tool" and last.get("toolCallId") not in paused.get(
            body["threadId"], set()
        ):
            if how == "404":
                problem = {"title": "No paused run for this thread", "status": 404}
                return JSONResponse(problem, 404, media_type="application/problem+json")
            events = _run_error(body, "Session not found.", "session_not_found")
        else:
            events = conformant_run(body)
        return StreamingResponse(iter([sse(*events)]), media_type="text/event-stream")

    return app


@pytest.mark.parametrize("how", ["run-error", "404"])
def test_a_continuation_kept_in_process_memory_is_refused_and_named(how: str) -> None:
    with serve_app(_continuation_in_memory(how)) as url:
        result = suite(url, ["stateless-continuation"])["stateless-continuation"]
    assert result.status == "failed", result.reason
    assert rules(result) == {"stateless-continuation-refused"}, result.findings
    (finding,) = result.findings
    assert finding.level is Level.ERROR
    assert finding.index == (1 if how == "run-error" else None)
    assert "INPUT-002" in {
        row for row in CASES["stateless-continuation"].requirements
    } and finding.spec.endswith("/basic/run-input#messages")
    assert len(result.runs) == 1  # the first thread failed: nothing to repeat


def test_the_same_continuation_on_a_second_thread_is_sent_and_judged() -> None:
    """A stack that consumes a call id globally ("already resumed"): the first thread is
    served, the same continuation on a second thread is refused, and named there."""
    consumed: set[str] = set()

    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        last = body["messages"][-1]
        if last.get("role") == "tool":
            if last["toolCallId"] in consumed:
                return _run_error(body, "This tool call was already resumed.", "conflict")
            consumed.add(last["toolCallId"])
        return conformant_run(body)

    with serve_app(agent(on_run)) as url:
        result = suite(url, ["stateless-continuation"])["stateless-continuation"]
    first, second = result.runs
    assert first.request.input["messages"] == second.request.input["messages"]
    assert first.request.input["threadId"] != second.request.input["threadId"]
    assert not first.findings
    assert [f.rule for f in second.findings] == ["stateless-continuation-refused"]
    assert result.status == "failed"


# ------------------------------------------------------------------ 2. thread isolation


def _shared_memory(leak: str) -> FastAPI:
    """A real bug: "working memory" per process (per user by default in some frameworks),
    not per thread. `leak`: `state` restates every earlier note in the STATE_SNAPSHOT;
    `text` mentions the notes of other threads in the reply, token by token."""
    notes: list[tuple[str, str]] = []
    lock = threading.Lock()

    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        with lock:
            notes.append((body["threadId"], _last_user(body)))
            seen = list(notes)
        if leak == "state":
            state = {**body.get("state", {}), "memory": [note for _, note in seen]}
            return _with_state(body, state)
        others = [note for thread, note in seen if thread != body["threadId"]]
        said = f"Earlier you told me: {'; '.join(others)}" if others else "Noted."
        return _reply(body, said, pieces=25)

    return agent(on_run)


@pytest.mark.parametrize("leak", ["state", "text"])
def test_a_working_memory_shared_across_threads_leaks_and_is_named(leak: str) -> None:
    with serve_app(_shared_memory(leak)) as url:
        results = suite(url, ISOLATION)
    for case_id in ISOLATION:
        result = results[case_id]
        assert result.status == "failed", (case_id, result.reason)
        assert rules(result) == {"thread-state-leaked"}, result.findings
        finding = result.findings[0]
        assert finding.category == "isolation" and finding.level is Level.ERROR
        projects = [r.request.input["state"]["project"] for r in result.runs]
        canaries = [re.search(r"canary-[0-9a-f-]{36}", project) for project in projects]
        leaked = [c.group(0) for c in canaries if c and c.group(0) in finding.message]
        assert len(leaked) == 1  # the other thread's canary, named in the message
    # one after the other: the second thread shows the first's canary
    sequential = results["thread-isolation-sequential"]
    assert not sequential.runs[0].findings and sequential.runs[1].findings


def test_per_thread_memory_passes_under_concurrency() -> None:
    """The same agent keyed by thread: nothing crosses, with the isolation cases run at
    once with the rest of the suite (--concurrency 8) and the two threads interleaved."""
    notes: dict[str, list[str]] = {}

    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        mine = notes.setdefault(body["threadId"], [])
        mine.append(_last_user(body))
        return _with_state(body, {**body.get("state", {}), "memory": list(mine)})

    others = ["minimal-input", "concurrent-runs", "same-thread-twice", "state-round-trip"]
    with serve_app(agent(on_run)) as url:
        results = suite(url, [*ISOLATION, *others], concurrency=8)
    for case_id in ISOLATION:
        assert results[case_id].status == "passed", results[case_id].findings
        assert all("thread-state-leaked" in run.exercised for run in results[case_id].runs)


def test_a_shared_memory_leaks_under_concurrency_with_the_whole_suite() -> None:
    """The reference agent's `shared-memory` fault with every built-in case at once
    (--concurrency 8): the isolation cases still name the leak, and only them."""
    cases = [c for c in load_cases() if c.needs is None]
    with running_agent(AgentConfig(allow_faults=True)) as ref:
        cfg = RunnerConfig(
            url=ref.url, headers={FAULT_HEADER: "shared-memory"}, deadlines=FAST, concurrency=8
        )
        results = {r.id: r for r in asyncio.run(run_suite(cases, cfg, Level.ERROR))}
    leaking = {i for i, r in results.items() if "thread-state-leaked" in rules(r)}
    assert set(ISOLATION) <= leaking <= set(ISOLATION), leaking
    assert all(r.status != "harness-error" for r in results.values())


# ------------------------------------------------------------------ 3. state of any JSON type


def _objectified(value: Any) -> Any:
    if isinstance(value, list):
        return {str(i): _objectified(v) for i, v in enumerate(value)}
    if isinstance(value, dict):
        return {k: _objectified(v) for k, v in value.items()}
    return value


def test_an_array_turned_into_an_object_is_named() -> None:
    """A real bug: state through an object model turns `["a","b"]` into {"0":"a","1":"b"}."""
    with serve_app(agent(lambda body: _with_state(body, _objectified(body["state"])))) as url:
        # info under `spec` (a snapshot may replace state wholesale), an error under `strict`
        results = suite(url, STATE_TYPES, profile="strict")
    for case_id in ("state-json-types-array", "state-json-types-nested"):
        result = results[case_id]
        assert result.status == "failed", (case_id, result.reason)
        assert rules(result) == {"state-type-changed"}
        assert result.findings[0].index == 1  # the snapshot
    assert '`/` was an array (["a","b"]) and is now an object' in (
        results["state-json-types-array"].findings[0].message
    )
    nested = results["state-json-types-nested"].findings[0].message
    assert "`/form/fields` was an array" in nested and "`/tags` was an array ([])" in nested
    for case_id in ("state-json-types-string", "state-json-types-number"):
        assert results[case_id].status == "passed", results[case_id].findings


def test_a_default_object_state_for_a_scalar_is_named() -> None:
    """A typed state model: anything that is not an object is replaced by its defaults."""

    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        state = body["state"]
        return _with_state(body, state if isinstance(state, dict) else {"items": []})

    with serve_app(agent(on_run)) as url:
        results = suite(url, STATE_TYPES)
    assert results["state-json-types-nested"].status == "passed"
    for kind in ("array", "string", "number"):
        result = results[f"state-json-types-{kind}"]
        assert rules(result) == {"state-type-changed"}, result.findings
        assert "`/` was a" in result.findings[0].message


# ------------------------------------------------------------------ 4. overlapping runs


def _busy_agent(answer: str) -> FastAPI:
    """Streams each run slowly (0.6 s); a run for a thread whose run still streams is
    answered `empty` (a 200 event stream with no event: a real runtime), `409` (a problem
    document) or `serve` (served like any run)."""
    busy: dict[str, int] = {}
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        body = json.loads(await request.body())
        thread = body["threadId"]
        if busy.get(thread) and answer == "409":
            problem = {"title": "A run is in progress on this thread", "status": 409}
            return JSONResponse(problem, 409, media_type="application/problem+json")
        if busy.get(thread) and answer == "empty":
            return StreamingResponse(iter(()), media_type="text/event-stream")
        busy[thread] = busy.get(thread, 0) + 1
        events = _reply(body, "one two three four five six", pieces=6)

        async def stream() -> AsyncIterator[bytes]:
            try:
                for event in events:
                    yield sse(event)
                    await asyncio.sleep(0.1)
            finally:
                busy[thread] -= 1

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


def test_an_empty_200_for_a_run_on_a_busy_thread_is_named() -> None:
    with serve_app(_busy_agent("empty")) as url:
        result = suite(url, ["overlapping-runs"])["overlapping-runs"]
    assert result.status == "failed", result.reason
    first, second = result.runs
    assert not first.findings and first.outcome == "finished"
    assert second.status == 200 and second.outcome == "no-run" and not second.events
    assert [f.rule for f in second.findings] == ["overlapping-run-unanswered"]
    assert second.request.input["threadId"] == first.request.input["threadId"]
    assert second.request.input["runId"] != first.request.input["runId"]
    assert "overlapping-run-unanswered" in second.exercised


@pytest.mark.parametrize("answer", ["409", "serve"])
def test_a_run_on_a_busy_thread_may_be_refused_or_served(answer: str) -> None:
    with serve_app(_busy_agent(answer)) as url:
        result = suite(url, ["overlapping-runs"])["overlapping-runs"]
    assert result.status == "passed", result.findings
    assert result.runs[1].status == (409 if answer == "409" else 200)
    assert "overlapping-run-unanswered" in result.runs[1].exercised


def test_a_first_run_over_before_the_second_is_not_applicable() -> None:
    """An agent answering in one write: no overlap could be made, so no claim either way."""
    with serve_app(agent(conformant_run)) as url:
        result = suite(url, ["overlapping-runs"])["overlapping-runs"]
    if result.status == "not-applicable":
        assert "before the second" in result.reason
    else:  # the loopback let the second in before the first's body was read: it was served
        assert result.status == "passed", result.findings


# ------------------------------------------------------------------ 5. empty history


def test_run_error_on_an_empty_history_is_the_agents_own_error() -> None:
    """A real bug: `messages[-1]` unguarded, caught and sent as RUN_ERROR."""

    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        if not body["messages"]:
            return _run_error(body, "There is no message to reply to.", "no_message")
        return conformant_run(body)

    with serve_app(agent(on_run)) as url:
        result = suite(url, ["empty-history", "minimal-input"])
    empty = result["empty-history"]
    assert empty.status == "agent-error", empty.reason
    (finding,) = empty.findings
    assert finding.rule == "empty-history-run-error" and finding.category == "agent"
    assert finding.message.startswith("The input's history was empty (`messages: []`)")
    assert "'There is no message to reply to.' (code 'no_message')" in finding.message
    assert "empty-history-run-error" in empty.runs[0].exercised
    # the other case with an empty history keeps the general rule
    assert rules(result["minimal-input"]) == {"run-error-on-valid-input"}


def test_a_crash_on_an_empty_history_is_a_protocol_failure() -> None:
    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        _ = body["messages"][-1]  # IndexError: FastAPI answers 500
        return conformant_run(body)

    with serve_app(agent(on_run)) as url:
        result = suite(url, ["empty-history"])["empty-history"]
    assert result.status == "failed" and rules(result) == {"http-status"}


# ------------------------------------------------------------------ 6. history honoured


def test_an_agent_answering_the_last_message_alone_draws_the_note_when_asked() -> None:
    """A real bug: only the last user message reaches the model."""
    echo = agent(lambda body: _reply(body, f"You asked: {_last_user(body)} I do not know."))
    with serve_app(echo) as url:
        off = suite(url, ["history-honoured"])["history-honoured"]
        on = suite(url, ["history-honoured"], Level.INFO, behaviour=True)["history-honoured"]
    assert off.status == "not-applicable" and "--behaviour" in off.reason and not off.runs
    assert on.status == "failed", on.reason
    (finding,) = on.findings
    assert finding.rule == "history-not-honoured" and finding.level is Level.INFO
    assert "advisory" in finding.message and "PAPAYA-7731" in finding.message


def test_an_agent_honouring_the_history_passes_however_it_words_it() -> None:
    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        said = " ".join(_text_of(m) for m in body["messages"][:-1] if m.get("role") == "user")
        found = re.search(r"code word is ([A-Z]+-\d+)", said)
        word = found.group(1).lower().replace("-", " ") if found else "?"
        return _reply(body, f"Sure! It's **{word}**.", pieces=7)

    with serve_app(agent(on_run)) as url:
        result = suite(url, ["history-honoured"], Level.INFO, behaviour=True)["history-honoured"]
    assert result.status == "passed", result.findings
    assert "history-not-honoured" in result.runs[0].exercised


def test_the_behaviour_option_of_the_run_command(tmp_path: Path) -> None:
    reports = {}
    for flags in ([], ["--behaviour"]):
        report = tmp_path / f"r{len(flags)}.json"
        outcome = CliRunner().invoke(
            main,
            ["run", "-k", "history", "--examples", "0", "--no-html",
             "--json", str(report), *flags],
        )  # fmt: skip
        assert outcome.exit_code == 0, outcome.output
        cases = {case["id"]: case for case in json.loads(report.read_text())["cases"]}
        assert cases["empty-history"]["status"] == "passed"
        reports[bool(flags)] = cases["history-honoured"]
    assert reports[False]["status"] == "not-applicable"
    assert "--behaviour" in reports[False]["reason"]
    assert reports[True]["status"] == "passed" and reports[True]["runs"]


# ------------------------------------------------------------------ the reference agent


@pytest.mark.parametrize("profile", PROFILES)
def test_the_reference_agent_passes_every_behaviour_case(profile: str) -> None:
    with running_agent() as ref:
        results = suite(ref.url, NEW, profile=profile, behaviour=True, fail_on=Level.INFO)
    assert {r.status for r in results.values()} == {"passed"}, [
        (r.id, r.status, r.reason, [f.rule for f in r.findings]) for r in results.values()
    ]
    matrix = {r.rule: r.status for r in requirements(list(results.values()), profile)}
    assert {rule: matrix[rule] for rule in NEW_RULES} == dict.fromkeys(NEW_RULES, "passed")


@pytest.mark.parametrize("name", NEW_FAULTS)
def test_each_fault_mode_fails_its_case_naming_its_rule(name: str) -> None:
    fault = FAULTS[name]
    with running_agent(AgentConfig(allow_faults=True)) as ref:
        result = suite(
            ref.url,
            [fault.case],
            Level.INFO,
            headers={FAULT_HEADER: name},
            behaviour="--behaviour" in fault.options,
        )[fault.case]
    assert result.status in ("failed", "agent-error"), result.reason
    assert rules(result) == {fault.rule}, result.findings


def test_every_behaviour_rule_has_a_fault_mode() -> None:
    assert {FAULTS[name].rule for name in NEW_FAULTS} == NEW_RULES
    assert {FAULTS[name].case for name in NEW_FAULTS} <= set(NEW)


# ------------------------------------------------------------------ randomized conformant replies

_words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30
)
_ids = st.uuids().map(lambda u: u.hex[:10])


@st.composite
def _chunked(draw: st.DrawFn, text: str) -> list[str]:
    """`text` cut at random places (every piece non-empty)."""
    if not text:
        return []
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=8)))
    bounds = [0, *[c for c in cuts if c < len(text)], len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@st.composite
def conformant_replies(
    draw: st.DrawFn, request: dict[str, Any], say: str = "", state: Any = None
) -> list[dict[str, Any]]:
    """A legal run for `request`: text around `say`, cut into random deltas, in the triad or
    the chunked form, maybe a backend tool call with its result, maybe `state` reported by a
    snapshot; random ids throughout."""
    thread, run = request["threadId"], request["runId"]
    events: list[dict[str, Any]] = [
        {"type": "RUN_STARTED", "threadId": thread, "runId": run, "protocolVersion": "1.1"}
    ]
    if state is not None:
        events.append({"type": "STATE_SNAPSHOT", "snapshot": state})
    if draw(st.booleans()):
        cid = f"call-{draw(_ids)}"
        events += [
            {"type": "TOOL_CALL_START", "toolCallId": cid, "toolCallName": "lookup"},
            *(
                {"type": "TOOL_CALL_ARGS", "toolCallId": cid, "delta": d}
                for d in draw(_chunked(orjson.dumps({"q": draw(_words)}).decode()))
            ),
            {"type": "TOOL_CALL_END", "toolCallId": cid},
            {
                "type": "TOOL_CALL_RESULT",
                "messageId": f"res-{draw(_ids)}",
                "toolCallId": cid,
                "content": draw(_words),
            },
        ]
    text = draw(_words) + say + draw(_words)
    mid = f"msg-{draw(_ids)}"
    pieces = draw(_chunked(text)) or [" "]
    if draw(st.booleans()):
        events.append({"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant"})
        events += [{"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": p} for p in pieces]
        events.append({"type": "TEXT_MESSAGE_END", "messageId": mid})
    else:
        events.append(
            {
                "type": "TEXT_MESSAGE_CHUNK",
                "messageId": mid,
                "role": "assistant",
                "delta": pieces[0],
            }
        )
        events += [{"type": "TEXT_MESSAGE_CHUNK", "delta": p} for p in pieces[1:]]
    events.append({"type": "RUN_FINISHED", "threadId": thread, "runId": run})
    return events


def _request(**extra: Any) -> dict[str, Any]:
    return {
        "threadId": f"thread-{uuid.uuid4()}",
        "runId": f"run-{uuid.uuid4()}",
        "protocolVersion": "1.1",
        "messages": [{"id": "u1", "role": "user", "content": "hello"}],
        **extra,
    }


def _recorded(events: list[dict[str, Any]], status: int = 200, body: bytes = b"") -> Exchange:
    frames = [TimedFrame(i, 0.01 * (i + 1), orjson.dumps(e)) for i, e in enumerate(events)]
    kind = "text/event-stream" if status == 200 else "application/problem+json"
    return Exchange(
        url="http://agent.test/",
        request_headers={},
        body=b"",
        status=status,
        response_headers={"content-type": kind},
        frames=frames,
        raw_prefix=body,
        ended_at=0.01 * (len(frames) + 1),
        first_byte_at=0.01 if frames else None,
    )


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.data())
def test_isolation_judge_is_quiet_on_conformant_replies(data: st.DataObject) -> None:
    own, other = f"canary-{uuid.uuid4()}", f"canary-{uuid.uuid4()}"
    request = _request(state={"project": own})
    events = data.draw(conformant_replies(request, say=own, state={"project": own}))
    assert not validate_events(events, request=request).findings
    frames = [(i, orjson.dumps(e)) for i, e in enumerate(events)]
    assert behaviour.leak(other, frames, "y", "x") is None


_new_keys = st.from_regex(r"new_[a-z]{1,5}", fullmatch=True)


def _same_types(draw: st.DrawFn, value: Any) -> Any:
    """`value` changed in content but not in the JSON type of any path it keeps."""
    kind = behaviour.json_kind(value)
    if kind == "object":
        dropped = draw(st.sets(st.sampled_from(sorted(value)), max_size=2)) if value else set()
        kept = {k: _same_types(draw, v) for k, v in value.items() if k not in dropped}
        added = draw(st.dictionaries(_new_keys, non_null_json, max_size=2))
        return {**kept, **added}
    if kind == "array":
        if draw(st.booleans()):  # same length: each element keeps its type
            return [_same_types(draw, v) for v in value]
        other_length = st.lists(non_null_json, max_size=4).filter(lambda v: len(v) != len(value))
        return draw(other_length)  # another length: its elements are not compared
    replacement = {
        "string": _words,
        "number": st.integers(-1000, 1000) | st.floats(-1e6, 1e6),
        "boolean": st.booleans(),
        "null": non_null_json,
    }[kind]
    return draw(replacement)


@PROPERTY
@given(st.data(), non_null_json)
def test_state_types_judge_is_quiet_on_conformant_replies(data: st.DataObject, sent: Any) -> None:
    reported = _same_types(data.draw, sent)
    request = _request(state=sent)
    events = data.draw(conformant_replies(request, state=reported))
    if isinstance(reported, dict | list) and data.draw(st.booleans()):
        # a delta after the snapshot that claims a path, with any value at all
        path = "/-" if isinstance(reported, list) else "/claimed"
        op = {"op": "add", "path": path, "value": data.draw(non_null_json)}
        events.insert(2, {"type": "STATE_DELTA", "delta": [op]})
    judged, hit = behaviour.state_types_hit(sent, events)
    assert judged and hit is None, (sent, reported, hit)


@PROPERTY
@given(st.data(), st.integers(400, 499), _words)
def test_overlap_judge_is_quiet_on_conformant_replies(
    data: st.DataObject, status: int, title: str
) -> None:
    request = _request()
    if data.draw(st.booleans()):
        record = _recorded(data.draw(conformant_replies(request)))
    else:
        problem = orjson.dumps({"title": title, "status": status})
        record = _recorded([], status=status, body=problem)
    found = judge(record, request, "run", "spec")
    assert not behaviour.overlap_findings(record, found, "spec", 0.01, 0.5)


@PROPERTY
@given(
    st.data(),
    st.sampled_from(
        ["PAPAYA-7731", "papaya 7731", "Papaya-7731", "**PAPAYA**-7731", "PAPAYA_7731"]
    ),
)
def test_history_judge_is_quiet_on_conformant_replies(data: st.DataObject, spelled: str) -> None:
    request = _request()
    events = data.draw(conformant_replies(request, say=f" {spelled} "))
    judged, hit = behaviour.history_hit("PAPAYA-7731", events, ["u1"])
    assert judged and hit is None


@PROPERTY
@given(st.data())
def test_continuation_and_empty_history_judges_are_quiet_on_conformant_replies(
    data: st.DataObject,
) -> None:
    from agui_conformance.runner import _record

    for case_id in ("stateless-continuation", "empty-history"):
        case = CASES[case_id]
        request = _request(messages=[] if case_id == "empty-history" else case.request["messages"])
        record = _recorded(data.draw(conformant_replies(request)))
        found = judge(record, request, "run", "spec", case.refusal)
        run = _record(record, request, b"", found, "run")
        if case.run_error:
            behaviour.run_error_findings(run, case.run_error, "spec")
        assert not run.findings and run.outcome == "finished"


# ------------------------------------------------------------------ the case format


def _case(**extra: Any) -> dict[str, Any]:
    return {
        "id": "mine",
        "title": "t",
        "request": {"threadId": "${thread}", "runId": "${run}", "messages": []},
        **extra,
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"behaviour": "overlap", "expect": "reject"}, "needs expect: run"),
        ({"behaviour": "overlap", "then": [{"continue": "reply"}]}, "its own flow"),
        ({"behaviour": "overlap", "concurrent": 2}, "its own flow"),
        ({"behaviour": "overlap", "refusal": "input-unusable-part-refused"}, "only a continuation"),
        ({"behaviour": "isolation"}, "must carry `\\$\\{id:canary\\}`"),
        ({"behaviour": "history"}, "`fact` must appear"),
        ({"fact": "x"}, "`fact` is for behaviour: history"),
        ({"run_error": "http-status"}, "category agent"),
        ({"run_error": "no-such-rule"}, "category agent"),
        ({"behaviour": "dancing"}, "behaviour"),
    ],
)
def test_bad_behaviour_cases_are_refused(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Case.model_validate(_case(**extra)).expand()


def test_the_behaviour_cases_are_built_in() -> None:
    assert set(NEW) <= set(CASES)
    assert CASES["thread-isolation-interleaved"].behaviour == "isolation-interleaved"
    assert CASES["thread-isolation-sequential"].behaviour == "isolation"
    assert CASES["empty-history"].run_error == "empty-history-run-error"
    assert CASES["stateless-continuation"].refusal == "stateless-continuation-refused"
    arrays = CASES["state-json-types-array"].request
    assert arrays is not None and arrays["state"] == ["a", "b"]
