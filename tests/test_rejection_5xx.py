"""`input-rejection-5xx` only where a 5xx is evidence (issue 19, item 6).

The rule says a client mistake is answered 4xx, not 5xx. A 5xx is evidence of that only
when the input was a client mistake and the agent tells good input from bad: not on the
oversized-body probe, whose 4 MiB message is valid input that the spec lets an agent
serve or refuse (the case's `not_applied`), and not from an agent that answers the
minimal valid run sent before the probes 5xx too (its 5xx has another cause). Real
agents on real sockets, through the runner.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from agui_conformance.cases import Case, load_cases
from agui_conformance.model import CaseResult, Level
from agui_conformance.runner import RunnerConfig, Watch, run_suite
from agui_conformance.transport import Deadlines
from tests.hostile_agents import agent, conformant_run, crashes_without_tools, serve_app, sse

FAST = Deadlines(connect=2.0, first_byte=3.0, idle=2.0, total=10.0, linger=1.0)
CASES = {case.id: case for case in load_cases()}
STATE_NULL = "probe-malformed-state-null"
OVERSIZED = "probe-oversized-body"
RULE = "input-rejection-5xx"


def suite(
    url: str, ids: list[str], profile: str = "spec", watch: Watch | None = None
) -> dict[str, CaseResult]:
    cfg = RunnerConfig(url=url, deadlines=FAST, profile=profile)
    results = asyncio.run(run_suite([CASES[i] for i in ids], cfg, Level.ERROR, watch=watch))
    return {r.id: r for r in results}


def rules(result: CaseResult) -> set[str]:
    return {f.rule for f in result.findings}


def exercised(result: CaseResult) -> set[str]:
    return {rule for run in result.runs for rule in run.exercised}


def crashes_on_null_state(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Serves every valid input; `state: null` reaches code that assumes a dict: a 500."""
    if "state" in body and body["state"] is None:
        raise TypeError("'NoneType' object is not subscriptable")
    return conformant_run(body)


def size_limited(limit: int = 1 << 20) -> FastAPI:
    """Serves valid runs; a body over `limit` bytes hits a size check that raises (500),
    as a server with a body limit but no 413 handler does; `state: null` crashes too."""
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > limit:
            return Response("Internal Server Error", 500, media_type="text/plain")
        import json

        body = json.loads(raw)
        events = crashes_on_null_state(body)

        async def stream() -> Any:
            for event in events:
                yield sse(event)

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


@pytest.mark.parametrize(("profile", "level"), [("spec", Level.INFO), ("strict", Level.WARNING)])
def test_a_probe_answered_5xx_by_an_agent_that_serves_valid_input_is_the_finding(
    profile: str, level: Level
) -> None:
    """The contrast: the valid baseline finished, the malformed input crashed the agent."""
    watch = Watch()
    with serve_app(agent(crashes_on_null_state)) as url:
        result = suite(url, [STATE_NULL], profile, watch)[STATE_NULL]
    assert watch.baseline == "finished" and watch.baseline_status == 200
    assert result.runs[0].status == 500
    (finding,) = [f for f in result.findings if f.rule == RULE]
    assert finding.level is level
    assert finding.message == "A client mistake was answered 500."
    assert RULE in exercised(result)


def test_an_agent_answering_valid_input_5xx_too_draws_no_input_rejection_5xx() -> None:
    """Every input without `tools` crashes this agent, the minimal valid baseline as well:
    the probes' 500s say nothing about how it classifies bad input."""
    watch = Watch()
    ids = [STATE_NULL, "probe-unknown-role"]
    with serve_app(agent(crashes_without_tools)) as url:
        results = suite(url, ids, "strict", watch)
    assert watch.baseline == "refused" and watch.baseline_status == 500
    for case_id in ids:
        result = results[case_id]
        assert result.runs[0].status == 500, case_id
        assert RULE not in rules(result), result.findings
        assert RULE not in exercised(result)  # not judged: neither passed nor failed
        # the rest of the probe is judged as before: refused with an error status, no stream
        assert "input-rejected-with-stream" in exercised(result)
        assert result.status == "passed", (case_id, result.findings)


def test_the_oversized_body_probe_does_not_judge_a_5xx() -> None:
    """A 4 MiB message is valid input: a 500 on it is no client mistake answered 5xx.
    The same agent's 500 on a malformed input still is (the field is the case's own)."""
    with serve_app(size_limited()) as url:
        results = suite(url, [OVERSIZED, STATE_NULL], "strict")
    oversized = results[OVERSIZED]
    assert oversized.runs[0].status == 500
    assert (oversized.runs[0].request.size or 0) > 4 << 20  # the 4 MiB body was sent
    assert RULE not in rules(oversized) and RULE not in exercised(oversized)
    assert oversized.status == "passed", oversized.findings
    (finding,) = [f for f in results[STATE_NULL].findings if f.rule == RULE]
    assert finding.level is Level.WARNING


def test_the_oversized_body_probe_still_judges_what_it_applies() -> None:
    """Not judging one rule is not a pass for the rest: an HTML 500 page on the oversized
    body is still input-rejection-html, and a served run is judged as a run."""
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > 1 << 20:
            page = "<!DOCTYPE html><html><body>Traceback (most recent call last)</body></html>"
            return Response(page, 500, media_type="text/html")
        import json

        body = json.loads(raw)
        return StreamingResponse(iter([sse(*conformant_run(body))]), media_type="text/event-stream")

    with serve_app(app) as url:
        result = suite(url, [OVERSIZED], "strict")[OVERSIZED]
    (finding,) = result.findings
    assert finding.rule == "input-rejection-html" and finding.level is Level.WARNING


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"not_applied": ["no-such-rule"]}, "not_applied names no rule: no-such-rule"),
        ({"not_applied": [RULE, RULE]}, "not_applied names a rule twice"),
    ],
)
def test_not_applied_must_name_catalog_rules_once(extra: dict[str, Any], message: str) -> None:
    data = {"id": "x", "title": "x", "expect": "reject", "raw_body": "{", **extra}
    with pytest.raises(ValueError, match=message):
        Case.model_validate(data)


def test_not_applied_is_inherited_by_variants() -> None:
    data = {
        "id": "x",
        "title": "x",
        "expect": "reject",
        "request": {"threadId": 1},
        "not_applied": [RULE],
        "variants": [{"id": "a", "set": {"runId": 2}}],
    }
    (variant,) = Case.model_validate(data).expand()
    assert variant.id == "x-a" and variant.not_applied == [RULE]


def test_the_oversized_body_probe_declares_what_it_does_not_judge() -> None:
    assert CASES[OVERSIZED].not_applied == [RULE]
    assert "never a 5xx" not in CASES[OVERSIZED].title
