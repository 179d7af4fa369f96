"""A PASS is a claim: over random exchanges (answered or not, cut or complete, every ending),
a case with no completed exchange is never passed, and a requirement that no completed
exchange exercised is never passed."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agui_conformance.evidence import case_status, outcome
from agui_conformance.matrix import conformance, requirements
from agui_conformance.model import CaseResult, Level
from agui_conformance.runner import _record, completed, judge, mode_of, verdict
from agui_conformance.transport import Exchange, TimedFrame

REQUEST = {
    "threadId": "t1",
    "runId": "r1",
    "messages": [{"id": "u", "role": "user", "content": "x"}],
}
STARTED = {"type": "RUN_STARTED", "threadId": "t1", "runId": "r1", "protocolVersion": "1.1"}
TEXT = [
    {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"},
    {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "hi"},
    {"type": "TEXT_MESSAGE_END", "messageId": "m1"},
]
FINISHED = {"type": "RUN_FINISHED", "threadId": "t1", "runId": "r1"}
ERROR = {"type": "RUN_ERROR", "message": "The model is unavailable."}
STREAMS: list[list[Any]] = [
    [],
    [STARTED],
    [STARTED, *TEXT],
    [STARTED, *TEXT, FINISHED],
    [STARTED, ERROR],
    [ERROR],
    [STARTED, TEXT[0], TEXT[1]],
]
ENDINGS = [
    "complete",
    "first-byte-timeout",
    "idle-timeout",
    "total-timeout",
    "too-large",
    "disconnected",
    "lingered",
    "undecodable",
    "unreachable",
    "reset",
]


@st.composite
def exchanges(draw: st.DrawFn) -> Exchange:
    ending = draw(st.sampled_from(ENDINGS))
    status = draw(st.sampled_from([None, 200, 200, 200, 400, 404, 500]))
    if ending in ("unreachable", "reset"):
        status = None
    stream = draw(st.sampled_from(STREAMS)) if status == 200 else []
    if status is None and ending in ("complete", "disconnected", "lingered", "undecodable"):
        ending = draw(st.sampled_from(["first-byte-timeout", "unreachable", "reset"]))
    frames = [TimedFrame(i, 0.01 * (i + 1), orjson.dumps(e)) for i, e in enumerate(stream)]
    content_type = draw(st.sampled_from(["text/event-stream", "text/event-stream", "text/html"]))
    return Exchange(
        url="http://agent.test/",
        request_headers={},
        body=b"",
        status=status,
        response_headers={"content-type": content_type} if status is not None else {},
        frames=frames,
        ending=ending,
        ended_at=1.0,
        first_byte_at=0.01 if frames else None,
        failure="the connection failed (ReadError)" if ending in ("unreachable", "reset") else None,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(exchanges(), min_size=1, max_size=4),
    st.sampled_from(["run", "reject", "lenient", "unauthorized"]),
    st.sampled_from(list(Level)),
)
def test_no_completed_exchange_no_pass(
    records: list[Exchange], expect: str, fail_on: Level
) -> None:
    case = CaseResult(id="c", title="c", requirements=[], expect=expect, status="passed")
    for record in records:
        findings = judge(record, REQUEST, expect, "spec")
        case.runs.append(_record(record, REQUEST, b"{}", findings, expect))
    verdict(case, fail_on)
    done = [r for r in records if completed(r)]
    if not done:
        assert case.status != "passed", (case.status, [r.ending for r in records])
        reqs = requirements([case], "spec", fail_on)
        assert not [r.rule for r in reqs if r.status == "passed"]
        assert conformance([case]) == "none"
    for record in records:
        if outcome(record) != "unresponsive":
            continue
        assert case.status == "failed"
        rules = {f.rule for f in case.findings}
        if record.status == 200 and mode_of(record, expect) != "run":
            # a probe answered 200 and then cut: the acceptance is the finding
            assert rules & {"input-rejected-with-stream", "auth-not-enforced"}, rules
        else:
            assert "agent-unresponsive" in rules
    if any(outcome(r) == "cut" for r in records) and case.status == "passed":
        raise AssertionError("a cut of ours passed")
    if case.status == "passed":
        assert all(run.outcome not in ("unresponsive", "cut", None) for run in case.runs)


@settings(max_examples=200, deadline=None)
@given(st.lists(exchanges(), min_size=1, max_size=4))
def test_a_requirement_passes_only_on_a_completed_exercising_exchange(
    records: list[Exchange],
) -> None:
    case = CaseResult(id="c", title="c", requirements=[], expect="run", status="passed")
    for record in records:
        findings = judge(record, REQUEST, "run", "spec")
        case.runs.append(_record(record, REQUEST, b"{}", findings, "run"))
    verdict(case, Level.ERROR)
    from_completed: set[str] = set()
    for record, run in zip(records, case.runs, strict=True):
        if completed(record):
            from_completed.update(run.exercised)
        else:
            assert run.exercised == []
    for req in requirements([case], "spec", Level.ERROR):
        if req.status == "passed":
            assert req.rule in from_completed, req.rule


def test_statuses_from_evidence() -> None:
    """The table behind case_status, one row each."""

    def status_of(stream: list[Any], **kw: Any) -> str:
        frames = [TimedFrame(i, 0.01, orjson.dumps(e)) for i, e in enumerate(stream)]
        record = Exchange(
            url="u",
            request_headers={},
            body=b"",
            status=kw.get("status", 200),
            response_headers={"content-type": "text/event-stream"},
            frames=frames,
            ending=kw.get("ending", "complete"),
        )
        case = CaseResult(id="c", title="c", requirements=[], expect="run", status="passed")
        case.runs.append(
            _record(record, REQUEST, b"{}", judge(record, REQUEST, "run", "spec"), "run")
        )
        return case_status(case, Level.ERROR)[0]

    assert status_of([STARTED, *TEXT, FINISHED]) == "passed"
    assert status_of([STARTED, ERROR]) == "agent-error"
    assert status_of([STARTED], ending="idle-timeout") == "failed"
    assert status_of([], status=None, ending="first-byte-timeout") == "failed"
    assert status_of([STARTED, *TEXT], ending="too-large") == "inconclusive"
    assert status_of([STARTED, *TEXT]) == "failed"  # the agent ended it: truncated
