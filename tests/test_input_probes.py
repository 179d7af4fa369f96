"""Behavioural probes of the input MUSTs, through the real runner against real servers.

Absent is empty (INPUT-008, INPUT-010, INPUT-011): the differential cases send the same
input with `tools`, `context` or `state` left out and sent empty, and compare only the
kinds of outcome. Each required member missing and each known member malformed on its own
(PROC-003) must be refused before any stream. A content part the agent cannot use
(INPUT-003) and a file handle it cannot resolve (INPUT-006) must not fail the run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from agui_conformance import differential
from agui_conformance.cases import Case, load_cases
from agui_conformance.cli import main
from agui_conformance.matrix import requirements
from agui_conformance.model import CaseResult, Level
from agui_conformance.rules import PROFILES
from agui_conformance.runner import RunnerConfig, run_suite
from agui_conformance.transport import Deadlines
from reference_agent.server import running_agent
from tests.hostile_agents import agent, conformant_run, crashes_without_tools, serve_app, sse

FAST = Deadlines(connect=2.0, first_byte=2.0, idle=1.0, total=6.0, linger=1.0)
CASES = {case.id: case for case in load_cases()}
DIFFERENTIAL = [f"absent-equals-empty-{m}" for m in ("tools", "context", "state")]
MISSING = ["probe-missing-thread-id", "probe-missing-run-id"]
MALFORMED = sorted(
    i for i in CASES if i.startswith("probe-malformed-") and i != "probe-malformed-json"
)
TOLERATED = {
    "input-unusable-part": "input-unusable-part-refused",
    "input-unresolvable-file-handle": "input-file-handle-refused",
}
NEW = [*DIFFERENTIAL, *MISSING, *MALFORMED, *TOLERATED]
NEW_RULES = ["input-absent-not-empty", *TOLERATED.values()]


def suite(url: str, ids: list[str], **kw: Any) -> dict[str, CaseResult]:
    cfg = RunnerConfig(url=url, deadlines=FAST, **kw)
    results = asyncio.run(run_suite([CASES[i] for i in ids], cfg, Level.ERROR))
    return {r.id: r for r in results}


def rules(result: CaseResult) -> set[str]:
    return {f.rule for f in result.findings}


def _run_error(body: dict[str, Any], message: str) -> list[dict[str, Any]]:
    started = conformant_run(body)[0]
    return [started, {"type": "RUN_ERROR", "message": message, "code": "internal"}]


def _parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        part
        for message in body.get("messages", [])
        if isinstance(message.get("content"), list)
        for part in message["content"]
    ]


# ------------------------------------------------------------------ absent is empty


def test_a_crash_without_tools_is_named_by_the_tools_differential() -> None:
    """FastAPI's 500 on `len(None)` when `tools` is absent, a served run with `tools: []`:
    the difference is sent once more, holds, and is reported on the absent side."""
    with serve_app(agent(crashes_without_tools)) as url:
        result = suite(url, ["absent-equals-empty-tools"])["absent-equals-empty-tools"]
    assert result.status == "failed", result.reason
    assert [run.outcome for run in result.runs] == ["refused", "finished", "refused", "finished"]
    assert "tools" not in result.runs[0].request.input
    assert result.runs[1].request.input["tools"] == []
    (finding,) = [f for f in result.runs[0].findings if f.rule == "input-absent-not-empty"]
    assert finding.message.startswith(
        "With `tools` absent the input was refused with HTTP 500, no run; with `tools: []` "
        "the run finished."
    )
    assert "https://docs.ag-ui.com/spec/1.1/basic/run-input#tools" in finding.message
    assert "the same way" in finding.message  # confirmed by the repeat
    assert finding.level is Level.ERROR
    # every exchange kept its own judging: the 500s are http-status findings of their own
    assert rules(result) == {"input-absent-not-empty", "http-status"}
    assert all(not run.findings for run in result.runs[1::2])
    # ...each naming the likely cause, shown by the served `tools: []` (issue 19, item 8)
    for run in result.runs[0::2]:
        (status,) = [f for f in run.findings if f.rule == "http-status"]
        assert status.level is Level.ERROR
        assert status.message.startswith("A valid RunAgentInput was answered 500: ")
        assert status.message.endswith(
            " The same input with `tools: []` was served (the run finished): the missing "
            "`tools` is the likely cause. INPUT-008: a missing `tools` must be treated exactly "
            "as an empty list (https://docs.ag-ui.com/spec/1.1/basic/run-input#tools)."
        )
    assert "input-absent-not-empty" in result.runs[1].exercised


def test_the_other_members_are_judged_on_their_own_pairs() -> None:
    """Without `tools` this agent crashes whatever else is sent: both sides of the context
    and state pairs fail alike, which is not the differential's finding."""
    with serve_app(agent(crashes_without_tools)) as url:
        results = suite(url, DIFFERENTIAL)
    assert "input-absent-not-empty" in rules(results["absent-equals-empty-tools"])
    for member in ("context", "state"):
        result = results[f"absent-equals-empty-{member}"]
        assert result.status == "failed"
        assert rules(result) == {"http-status"}, rules(result)
        assert len(result.runs) == 2  # no difference, no repeat
        # both spellings failed: neither is shown to be the cause
        assert not any("likely cause" in f.message for f in result.findings)


def test_run_error_without_state_is_named_by_the_state_differential() -> None:
    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        if "state" not in body:
            return _run_error(body, "The agent could not load its state.")
        return conformant_run(body)

    with serve_app(agent(on_run)) as url:
        results = suite(url, DIFFERENTIAL)
    result = results["absent-equals-empty-state"]
    assert result.status == "failed", result.reason
    (finding,) = [f for f in result.findings if f.rule == "input-absent-not-empty"]
    assert finding.index == 1  # the RUN_ERROR
    assert finding in result.runs[0].findings
    assert "With `state` absent the run ended in RUN_ERROR" in finding.message
    assert "with `state: {}` the run finished" in finding.message
    assert "must be treated exactly as the empty object `{}`" in finding.message
    assert "https://docs.ag-ui.com/spec/1.1/basic/run-input#state" in finding.message
    # the agent's own failure is still reported on each run that ended in RUN_ERROR,
    # naming the likely cause
    assert rules(result) == {"input-absent-not-empty", "run-error-on-valid-input"}
    for run in (result.runs[0], result.runs[2]):
        (error,) = [f for f in run.findings if f.rule == "run-error-on-valid-input"]
        assert "The agent could not load its state." in error.message
        assert error.message.endswith(
            " The same input with `state: {}` was served (the run finished): the missing "
            "`state` is the likely cause. INPUT-011: a missing `state` must be treated exactly "
            "as the empty object `{}` (https://docs.ag-ui.com/spec/1.1/basic/run-input#state)."
        )
    # state is absent on both sides of the tools and context pairs: both fail alike
    for other in ("absent-equals-empty-tools", "absent-equals-empty-context"):
        assert results[other].status == "agent-error"
        assert "input-absent-not-empty" not in rules(results[other])


def _requires_tools() -> FastAPI:
    """An SDK whose input model makes `tools` required: its absence is refused with 422."""
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        body = json.loads(await request.body())
        if "tools" not in body:
            detail = '{"detail":[{"type":"missing","loc":["body","tools"]}]}'
            return Response(detail, 422, media_type="application/json")
        return StreamingResponse(iter([sse(*conformant_run(body))]), media_type="text/event-stream")

    return app


def test_a_422_without_tools_names_the_likely_cause_too() -> None:
    """The refusal's own finding (input-valid-rejected) carries the note, like a 500's."""
    with serve_app(_requires_tools()) as url:
        result = suite(url, ["absent-equals-empty-tools"])["absent-equals-empty-tools"]
    assert [run.status for run in result.runs] == [422, 200, 422, 200]
    assert rules(result) == {"input-absent-not-empty", "input-valid-rejected"}
    for run in result.runs[0::2]:
        (refused,) = [f for f in run.findings if f.rule == "input-valid-rejected"]
        assert refused.message.startswith("A valid RunAgentInput was answered 422: ")
        assert "the missing `tools` is the likely cause. INPUT-008" in refused.message


def test_the_reverse_an_empty_member_refused_is_named_too() -> None:
    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        if body.get("context") == []:
            raise ValueError("context must not be empty")
        return conformant_run(body)

    with serve_app(agent(on_run)) as url:
        result = suite(url, ["absent-equals-empty-context"])["absent-equals-empty-context"]
    (finding,) = [f for f in result.findings if f.rule == "input-absent-not-empty"]
    assert finding in result.runs[1].findings  # on the empty side, the one that failed
    assert "with `context: []` the input was refused with HTTP 500" in finding.message
    assert "#context" in finding.message
    # the failed run's own 500 names the empty spelling as the likely cause
    for run in (result.runs[1], result.runs[3]):
        (status,) = [f for f in run.findings if f.rule == "http-status"]
        assert (
            "The same input without `context` was served (the run finished): the empty "
            "`context: []` is the likely cause. INPUT-010: a missing `context` must be treated "
            "exactly as an empty list (https://docs.ag-ui.com/spec/1.1/basic/run-input#context)."
        ) in status.message
    assert not [f for f in result.runs[0].findings + result.runs[2].findings]


@pytest.mark.parametrize("failure", ["run-error", "500", "422"])
def test_an_agent_failing_both_ways_draws_no_differential_finding(failure: str) -> None:
    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        if failure == "run-error":
            return _run_error(body, "The model is unavailable.")
        raise RuntimeError("broken")

    with serve_app(_refusing_agent() if failure == "422" else agent(on_run)) as url:
        results = suite(url, DIFFERENTIAL)
    for result in results.values():
        assert "input-absent-not-empty" not in rules(result), result.findings
        assert len(result.runs) == 2  # no difference, no repeat
        # both sides completed: the pair was compared, and agreed
        assert "input-absent-not-empty" in result.runs[1].exercised
        expected = {
            "run-error": "run-error-on-valid-input",
            "500": "http-status",
            "422": "input-valid-rejected",
        }[failure]
        assert rules(result) == {expected}


def _refusing_agent() -> Any:
    """Answers every run 422 (a validator that rejects everything)."""
    app = FastAPI()

    @app.post("/")
    async def run() -> Response:
        return Response('{"detail":"no"}', 422, media_type="application/json")

    return app


def test_a_difference_that_does_not_hold_when_sent_again_is_not_blamed_on_the_member() -> None:
    """A flaky agent: its first run fails, every later one is served. The first pair
    differs; the repeat does not, so no finding (the failed run keeps its own)."""
    calls = itertools.count()

    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        if next(calls) == 0:
            return _run_error(body, "Rate limited, try again.")
        return conformant_run(body)

    with serve_app(agent(on_run)) as url:
        result = suite(url, ["absent-equals-empty-tools"])["absent-equals-empty-tools"]
    assert [run.outcome for run in result.runs] == [
        "run-error",
        "finished",
        "finished",
        "finished",
    ]
    assert rules(result) == {"run-error-on-valid-input"}
    assert result.status == "agent-error"
    assert not any("likely cause" in f.message for f in result.findings)  # not confirmed


def test_differential_cases_show_in_the_reports_and_fail_the_exit_code(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    with serve_app(agent(crashes_without_tools)) as url:
        outcome = CliRunner().invoke(
            main,
            ["run", "--agent-url", url, "-k", "absent-equals-empty-tools", "--examples", "0",
             "--json", str(report), "--html", str(tmp_path / "r.html"),
             "--first-byte-timeout", "2", "--idle-timeout", "1", "--total-timeout", "6"],
        )  # fmt: skip
    assert outcome.exit_code == 1, outcome.output
    data = json.loads(report.read_text())
    (case,) = data["cases"]
    assert case["id"] == "absent-equals-empty-tools" and case["status"] == "failed"
    assert len(case["runs"]) == 4
    status = {r["rule"]: r["status"] for r in data["requirements"]}
    assert status["input-absent-not-empty"] == "failed"
    html = (tmp_path / "r.html").read_text()
    assert 'data-rule="input-absent-not-empty"' in html
    assert "input-absent-not-empty" in outcome.output


# ------------------------------------------------------------------ missing and malformed


def test_an_agent_inventing_a_missing_thread_id_fails_the_probe() -> None:
    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        return conformant_run({**body, "threadId": body.get("threadId") or "thread-invented"})

    with serve_app(agent(on_run, validate=False)) as url:
        results = suite(url, MISSING)
    for probe in MISSING:
        result = results[probe]
        assert result.status == "failed", (probe, result.reason)
        assert rules(result) == {"input-rejected-with-stream"}, (probe, result.findings)
        assert result.runs[0].status == 200


def test_an_agent_that_validates_the_three_members_passes_those_probes_only() -> None:
    """The hostile helper checks only that threadId, runId, messages are present with the
    right top-level types: it refuses the missing ones and the wrong top-level types, and
    serves every deeper malformation, each its own failed case."""
    with serve_app(agent(conformant_run)) as url:
        results = suite(url, [*MISSING, *MALFORMED])
    caught = {
        "probe-missing-thread-id",
        "probe-missing-run-id",
        "probe-malformed-thread-id-number",
        "probe-malformed-run-id-null",
        "probe-malformed-messages-string",
    }
    for probe, result in results.items():
        if probe in caught:
            assert result.status == "passed", (probe, result.findings)
        else:
            assert result.status == "failed", probe
            assert rules(result) == {"input-rejected-with-stream"}, (probe, result.findings)


def test_each_probe_changes_one_member_of_a_valid_input() -> None:
    """A variant's request is its file's request with one top-level member removed or
    replaced, so a refusal can only be about that member."""
    import yaml

    absent = object()
    for name in ("probe-missing", "probe-malformed"):
        path = Path(__file__).resolve().parents[1] / "cases" / f"{name}.yaml"
        base = yaml.safe_load(path.read_text(encoding="utf-8"))["request"]
        probes = [i for i in [*MISSING, *MALFORMED] if i.startswith(f"{name}-")]
        assert probes
        for probe in probes:
            request = CASES[probe].request
            assert request is not None
            changed = [
                k for k in {*base, *request} if base.get(k, absent) != request.get(k, absent)
            ]
            assert len(changed) == 1, (probe, changed)
            assert CASES[probe].expect == "reject"
            assert "PROC-003" in CASES[probe].requirements


# ------------------------------------------------------------------ tolerated input


def _fails_on(kind: str, how: str) -> Any:
    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        hit = any(
            part.get("type") == kind
            or (isinstance(part.get("source"), dict) and part["source"].get("type") == kind)
            for part in _parts(body)
        )
        if hit and how == "run-error":
            return _run_error(body, f"This model cannot use a {kind} part.")
        return conformant_run(body)

    if how == "run-error":
        return agent(on_run)
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        body = json.loads(await request.body())
        if any(
            part.get("type") == kind
            or (isinstance(part.get("source"), dict) and part["source"].get("type") == kind)
            for part in _parts(body)
        ):
            return Response('{"detail":"unsupported"}', 422, media_type="application/json")
        events = conformant_run(body)
        data = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
        return StreamingResponse(iter([data.encode()]), media_type="text/event-stream")

    return app


@pytest.mark.parametrize(
    ("case_id", "kind", "rule"),
    [
        ("input-unusable-part", "audio", "input-unusable-part-refused"),
        ("input-unusable-part", "video", "input-unusable-part-refused"),
        ("input-unresolvable-file-handle", "file", "input-file-handle-refused"),
    ],
)
@pytest.mark.parametrize("how", ["run-error", "422"])
def test_failing_the_run_over_a_part_names_its_requirement(
    case_id: str, kind: str, rule: str, how: str
) -> None:
    with serve_app(_fails_on(kind, how)) as url:
        result = suite(url, [case_id])[case_id]
    assert result.status == "failed", result.reason
    assert rules(result) == {rule}, result.findings
    finding = result.findings[0]
    assert finding.index == (1 if how == "run-error" else None)
    assert finding.spec.startswith("https://docs.ag-ui.com/spec/1.1/basic/run-input#")


def test_a_served_run_exercises_the_tolerance_rules() -> None:
    with serve_app(agent(conformant_run)) as url:
        results = suite(url, list(TOLERATED))
    for case_id, rule in TOLERATED.items():
        assert results[case_id].status == "passed"
        assert rule in results[case_id].runs[0].exercised
    matrix = {r.rule: r.status for r in requirements(list(results.values()), "spec")}
    assert all(matrix[rule] == "passed" for rule in TOLERATED.values())


# ------------------------------------------------------------------ the reference agent


@pytest.mark.parametrize("profile", PROFILES)
def test_the_reference_agent_passes_every_new_case(profile: str) -> None:
    with running_agent() as ref:
        results = suite(ref.url, NEW, profile=profile)
    assert {r.status for r in results.values()} == {"passed"}, [
        (r.id, r.status, [f.rule for f in r.findings]) for r in results.values()
    ]
    matrix = {r.rule: r.status for r in requirements(list(results.values()), profile)}
    assert all(matrix[rule] == "passed" for rule in NEW_RULES), matrix
    for case_id in DIFFERENTIAL:
        assert len(results[case_id].runs) == 2


# ------------------------------------------------------------------ the comparison


SIDES: dict[str, tuple[str | None, int | None, list[Any]]] = {
    "finished": ("finished", 200, []),
    "run-error": (
        "run-error",
        200,
        [{"type": "RUN_STARTED"}, {"type": "RUN_ERROR", "message": "boom", "code": "x"}],
    ),
    "refused-4xx": ("refused", 422, []),
    "refused-5xx": ("refused", 503, []),
    "refused-other": ("refused", 302, []),
    "no-run": ("no-run", 200, []),
    "no-answer": ("unresponsive", None, []),
    "unjudged": ("cut", 200, []),
}


def test_outcomes_map_to_their_kinds() -> None:
    for kind, (outcome, status, events) in SIDES.items():
        assert differential.side(outcome, status, events).kind == kind
    for outcome in ("left", "harness-error", "read", None):
        assert differential.side(outcome, None).kind == "unjudged"
    error = differential.side(*SIDES["run-error"])
    assert error.index == 1 and error.error == "'boom' (code 'x')"


@pytest.mark.parametrize(("absent", "empty"), list(itertools.product(SIDES, repeat=2)))
def test_a_finding_exactly_when_one_side_finished_and_the_other_failed(
    absent: str, empty: str
) -> None:
    a, e = differential.side(*SIDES[absent]), differential.side(*SIDES[empty])
    failed = {"run-error", "refused-4xx", "refused-5xx", "refused-other", "no-run", "no-answer"}
    expected = None
    if absent == "finished" and empty in failed:
        expected = "empty"
    elif empty == "finished" and absent in failed:
        expected = "absent"
    assert differential.failing(a, e) == expected
    for member in ("tools", "context", "state"):
        found = differential.judge(member, [(a, e)])
        assert (found[1] if found else None) == expected
        confirmed = differential.judge(member, [(a, e), (a, e)])
        assert (confirmed[1] if confirmed else None) == expected
        if found is not None:
            hit = found[0]
            assert hit.rule == "input-absent-not-empty"
            assert f"`{member}` absent" in hit.message
            assert differential.SPELLED[member] in hit.message
            assert f"run-input#{member}" in hit.message
            assert hit.index == (1 if "run-error" in (absent, empty) else None)
        # not confirmed when the repeat agrees, or differs the other way
        agree = differential.side(*SIDES["finished"])
        assert differential.judge(member, [(a, e), (agree, agree)]) is None
        assert differential.judge(member, [(a, e), (e, a)]) is None or absent == empty
    completed = set(SIDES) - {"no-answer", "unjudged"}
    assert differential.compared(a, e) == (absent in completed and empty in completed)


def test_no_pairs_no_finding() -> None:
    assert differential.judge("tools", []) is None


def test_the_likely_cause_note_survives_a_long_message() -> None:
    """The failed run's own message is cut to make room; the note is never cut."""
    from agui_conformance.clip import MAX_MESSAGE
    from agui_conformance.model import Finding, RunRecord
    from agui_conformance.runner import _note

    long = Finding(rule="run-error-on-valid-input", level=Level.WARNING, message="x" * MAX_MESSAGE)
    other = Finding(rule="lifecycle-first-event", level=Level.ERROR, message="kept as it is")
    run = RunRecord(
        request={}, requestHeaders={}, status=200, responseHeaders={}, timing={},
        findings=[long, other],
    )  # fmt: skip
    note = differential.likely_cause("tools", "absent")
    _note(run, note)
    noted, kept = run.findings
    assert noted.message.endswith(note) and len(noted.message) <= MAX_MESSAGE
    assert "more characters)" in noted.message
    assert kept == other


def test_the_empty_spelling_of_each_member() -> None:
    request = {"threadId": "t", "runId": "r", "messages": []}
    assert differential.with_empty(request, "tools")["tools"] == []
    assert differential.with_empty(request, "context")["context"] == []
    assert differential.with_empty(request, "state")["state"] == {}
    assert "tools" not in request  # a copy


# ------------------------------------------------------------------ the case format


def test_variants_expand_to_cases_with_stable_ids() -> None:
    assert {*DIFFERENTIAL, *MISSING, *TOLERATED} <= set(CASES)
    assert len(MALFORMED) == 11
    # the existing ids keep working
    assert {"probe-missing-required", "probe-wrong-types", "probe-malformed-json"} <= set(CASES)
    assert not any(case.variants for case in CASES.values())
    assert "probe-missing" not in CASES and "absent-equals-empty" not in CASES
    state = CASES["absent-equals-empty-state"]
    assert state.differential == ["state"]
    assert state.requirements == ["INPUT-001", "INPUT-011"]
    null = CASES["probe-malformed-state-null"]
    assert null.request is not None and null.request["state"] is None


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
        ({"variants": [{"id": "a"}, {"id": "a"}]}, "variant ids repeat"),
        ({"variants": [{"id": "a", "unset": ["tools"]}]}, "unsets what the request lacks"),
        ({"differential": ["tools"], "expect": "reject"}, "needs expect: run"),
        ({"differential": ["tools"], "concurrent": 2}, "one run per side"),
        ({"differential": ["tools", "tools"]}, "names a member twice"),
        ({"differential": ["forwardedProps"]}, "differential"),
        (
            {"variants": [{"id": "a", "set": {"tools": []}, "differential": ["tools"]}]},
            "must leave out tools",
        ),
    ],
)
def test_bad_variants_and_differentials_are_refused(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Case.model_validate(_case(**extra)).expand()


def test_a_users_folder_may_use_variants(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "id: my-probe\ntitle: t\nexpect: reject\n"
        "request: {threadId: '${thread}', runId: '${run}', messages: []}\n"
        "variants:\n  - {id: no-run-id, unset: [runId]}\n  - {id: x, set: {runId: 1}}\n"
    )
    assert [c.id for c in load_cases(tmp_path)] == ["my-probe-no-run-id", "my-probe-x"]
