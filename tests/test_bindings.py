"""The HTTP + Protobuf binding, live: negotiation read from Accept as the spec reads it, and
the runner against small agents that get the binding wrong (or do without it, legally).

https://docs.ag-ui.com/spec/1.1/basic/transports/http-protobuf#negotiation
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from agui_conformance.bindings import ACCEPTS, binding_note, comparable, shape
from agui_conformance.cases import Case, load_cases
from agui_conformance.model import CaseResult, Level
from agui_conformance.negotiation import admits_protobuf
from agui_conformance.protobuf import MEDIA_TYPE, encode_event, frame
from agui_conformance.runner import RunnerConfig, run_suite
from agui_conformance.transport import Deadlines
from tests.hostile_agents import agent, conformant_run, serve_app, sse

Events = Callable[[dict[str, Any]], list[dict[str, Any]]]
FAST = Deadlines(first_byte=5.0, idle=5.0, total=15.0, linger=1.0)


def _cases(*ids: str) -> list[Case]:
    found = {case.id: case for case in load_cases()}
    return [found[case_id] for case_id in ids]


def _suite(url: str, ids: tuple[str, ...], binding: str) -> list[CaseResult]:
    cfg = RunnerConfig(url=url, binding=binding, deadlines=FAST)
    return asyncio.run(run_suite(_cases(*ids), cfg, Level.ERROR))


def _rules(result: CaseResult) -> set[str]:
    return {f.rule for f in result.findings}


def _exercised(result: CaseResult) -> set[str]:
    return {rule for run in result.runs for rule in run.exercised}


def binary_agent(
    events: Events = conformant_run,
    *,
    always: bool = False,
    content_type: str = MEDIA_TYPE,
    protobuf_events: Events | None = None,
) -> FastAPI:
    """An agent that answers protobuf when Accept names the media type (or `always`), under
    `content_type`, with `protobuf_events` there when given; SSE otherwise."""
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        body = orjson.loads(await request.body())
        wanted = always or MEDIA_TYPE in request.headers.get("accept", "")
        if not wanted:
            data = b"".join(sse(e) for e in events(body))
            return Response(data, media_type="text/event-stream")
        made = (protobuf_events or events)(body)
        frames = b"".join(frame(encode_event(e)) for e in made)

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(frames), 5):  # frames split across chunks
                yield frames[start : start + 5]

        return StreamingResponse(chunks(), media_type=content_type)

    return app


def stepped(body: dict[str, Any]) -> list[dict[str, Any]]:
    events = conformant_run(body)
    step = {"type": "STEP_STARTED", "stepName": "s"}
    return [events[0], step, *events[1:-1], {**step, "type": "STEP_FINISHED"}, events[-1]]


# ------------------------------------------------------------------ reading Accept


@pytest.mark.parametrize(
    ("accept", "admitted"),
    [
        ("text/event-stream", False),
        (f"{MEDIA_TYPE}, text/event-stream", True),
        ("*/*", True),
        ("application/*", True),
        (f"text/event-stream;q=1, {MEDIA_TYPE};q=0.001", True),  # relative q not consulted
        (f"{MEDIA_TYPE};q=0, text/event-stream", False),
        (f"{MEDIA_TYPE};q=0, */*", False),  # the most specific range decides
        (f"application/*;q=0, {MEDIA_TYPE}", True),
        ("APPLICATION/VND.AG-UI.EVENT+PROTO", True),  # media types ignore case
        ("text/*", False),
        ("application/json", False),
        ("garbage, , ;q=1", False),
        (f'{MEDIA_TYPE};q="0.5"', True),
        (None, True),  # no Accept at all: anything (RFC 9110)
    ],
)
def test_accept_admits_protobuf_as_the_negotiation_section_reads_it(
    accept: str | None, admitted: bool
) -> None:
    assert admits_protobuf(accept) is admitted


def test_the_negotiation_case_asks_each_way() -> None:
    admitted = [admits_protobuf(accept) for accept in ACCEPTS]
    assert admitted == [False, True, True, True, True, False]


# ------------------------------------------------------------------ an agent without protobuf


def test_an_sse_only_agent_asked_for_protobuf_passes_and_exercises_no_protobuf_rule() -> None:
    """PROTO-004: a producer without the binding ignores the media type. Legal: the cases
    are judged on SSE, no protobuf rule is claimed, and the note says it was not served."""
    with serve_app(agent(conformant_run)) as url:
        results = _suite(url, ("minimal-input", "binding-negotiation"), "protobuf")
    assert [r.status for r in results] == ["passed", "passed"], [r.findings for r in results]
    exercised = set().union(*map(_exercised, results))
    assert not {"proto-content-type-inexact", "proto-not-served"} & exercised
    note = binding_note(results, "protobuf")
    assert "answered SSE to all 5 runs that asked for protobuf" in note, note


def test_an_sse_only_agent_under_both_bindings_is_not_compared() -> None:
    with serve_app(agent(conformant_run)) as url:
        (result,) = _suite(url, ("minimal-input",), "both")
    assert result.status == "passed" and len(result.runs) == 2
    assert "proto-binding-differs" not in _exercised(result)


# ------------------------------------------------------------------ agents that get it wrong


def test_protobuf_to_a_client_that_asked_for_sse_fails_the_case() -> None:
    with serve_app(binary_agent(always=True)) as url:
        (result,) = _suite(url, ("minimal-input",), "sse")
    assert result.status == "failed" and _rules(result) == {"proto-not-admitted"}
    assert [e["type"] for e in result.runs[0].events][-1] == "RUN_FINISHED"  # still decoded


def test_protobuf_under_another_media_type_is_named_not_misread_as_sse() -> None:
    with serve_app(binary_agent(content_type="application/octet-stream")) as url:
        (result,) = _suite(url, ("minimal-input",), "protobuf")
    assert _rules(result) == {"proto-content-type-inexact"}, result.findings


def test_an_undecodable_frame_ends_the_reading_and_only_it_is_reported() -> None:
    """Fatal to the stream (PROTO-008): what follows is never read, so the run's missing
    end is not reported beside it; a body cut inside a frame is a truncated run."""

    def garbage_second(body: dict[str, Any]) -> bytes:
        frames = [frame(encode_event(e)) for e in conformant_run(body)]
        frames[1] = frame(b"\xff\xff\xff\xff")
        return b"".join(frames)

    def cut(body: dict[str, Any]) -> bytes:
        return b"".join(frame(encode_event(e)) for e in conformant_run(body))[:-2]

    for body_of, rules in (
        (garbage_second, {"proto-frame-undecodable"}),
        (cut, {"stream-truncated"}),
    ):
        app = FastAPI()

        @app.post("/")
        async def run(request: Request) -> Response:
            data = body_of(orjson.loads(await request.body()))  # noqa: B023 - used at once
            return Response(data, media_type=MEDIA_TYPE)

        with serve_app(app) as url:
            (result,) = _suite(url, ("minimal-input",), "protobuf")
        assert _rules(result) == rules, result.findings
        assert result.status == "failed"


def test_an_agent_that_looks_for_the_type_name_in_accept_breaks_both_negotiation_rules() -> None:
    """The naive check (`MEDIA_TYPE in accept`, seen in public middleware): wildcards admit
    protobuf too, so SSE to */* from an agent shown to speak protobuf breaks PROTO-003 (a
    warning), and q=0 excludes it, so protobuf there breaks PROTO-004 (an error)."""
    with serve_app(binary_agent()) as url:
        (result,) = _suite(url, ("binding-negotiation",), "sse")
    flagged = {
        run.requestHeaders["Accept"]: {(f.rule, f.level) for f in run.findings}
        for run in result.runs
        if run.findings
    }
    assert flagged == {
        "*/*": {("proto-not-served", Level.WARNING)},
        "application/*": {("proto-not-served", Level.WARNING)},
        f"{MEDIA_TYPE};q=0, text/event-stream": {("proto-not-admitted", Level.ERROR)},
    }
    assert result.status == "failed"


def test_a_run_that_differs_by_binding_every_time_is_a_finding() -> None:
    with serve_app(binary_agent(protobuf_events=stepped)) as url:
        (result,) = _suite(url, ("minimal-input",), "both")
    assert len(result.runs) == 4  # the pair, and the pair again before it counts
    assert _rules(result) == {"proto-binding-differs"}
    (finding,) = result.findings
    assert "STEP_STARTED" in finding.message and finding.level is Level.WARNING


def test_a_run_whose_structure_varies_by_itself_is_not_judged() -> None:
    """An agent whose output is not deterministic (here every other run is stepped, on either
    binding) shows no difference that the binding made: no finding, not exercised."""
    counter = itertools.count()

    def alternating(body: dict[str, Any]) -> list[dict[str, Any]]:
        # SSE plain, protobuf stepped; then SSE stepped, protobuf plain: no binding repeats
        return stepped(body) if next(counter) in (1, 2) else conformant_run(body)

    with serve_app(binary_agent(alternating)) as url:
        (result,) = _suite(url, ("minimal-input",), "both")
    assert not result.findings and "proto-binding-differs" not in _exercised(result)


def test_the_same_structure_on_both_bindings_is_exercised_and_passes() -> None:
    with serve_app(binary_agent()) as url:
        (result,) = _suite(url, ("minimal-input",), "both")
    assert result.status == "passed" and not result.findings
    assert "proto-binding-differs" in _exercised(result)
    assert [run.responseHeaders["content-type"] for run in result.runs] == [
        "text/event-stream; charset=utf-8",
        MEDIA_TYPE,
    ]


# ------------------------------------------------------------------ what the pair compares


def test_shape_keeps_types_order_and_id_links_but_not_text_ids_or_delta_counts() -> None:
    one = conformant_run({"threadId": "a", "runId": "b"})
    other = conformant_run({"threadId": "c", "runId": "d"})
    other.insert(3, {**other[2], "delta": "more text"})
    assert shape(one) == shape(other)
    assert shape(one) != shape(stepped({"threadId": "a", "runId": "b"}))


def test_only_single_deterministic_runs_are_paired() -> None:
    paired = {case.id for case in load_cases() if comparable(case)}
    assert {"minimal-input", "full-input", "state-round-trip"} <= paired
    assert not {"binding-negotiation", "concurrent-runs", "frontend-tool-round-trip"} & paired
    assert not any(case.startswith("probe-") for case in paired)


# ------------------------------------------------------------------ the CLI face


def test_run_binding_both_against_the_reference_agent(tmp_path: Path) -> None:
    """`run --binding both`: the reference agent serves protobuf (PROTO-003), the pair of
    runs agrees, and the note line says what was served."""
    report = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "agui_conformance.cli", "run", "-k", "minimal-input",
        "--binding", "both", "--examples", "0", "--no-html", "--json", str(report),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "binding both: protobuf served to 1 of 1 runs that asked for it" in done.stdout
    data = orjson.loads(report.read_bytes())
    (case,) = [c for c in data["cases"] if c["id"] == "minimal-input"]
    types = [run["responseHeaders"]["content-type"] for run in case["runs"]]
    assert types == ["text/event-stream; charset=utf-8", MEDIA_TYPE]
    assert case["runs"][1]["events"][-1]["type"] == "RUN_FINISHED"
    assert "proto-binding-differs" in case["runs"][1]["exercised"]


def test_the_pytest_face_takes_agui_binding(tmp_path: Path) -> None:
    """`pytest --agui-binding both`: the same engine, the same pair, the same note."""
    report = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "pytest", "--agui-reference", "--agui-binding", "both",
        "--agui-examples", "0", "-k", "minimal-input", "-q", "-p", "no:randomly",
        "-p", "no:cacheprovider", "--agui-json", str(report),
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "binding both: protobuf served to 1 of 1 runs that asked for it" in done.stdout
    data = orjson.loads(report.read_bytes())
    (case,) = [c for c in data["cases"] if c["id"] == "minimal-input"]
    assert [run["responseHeaders"]["content-type"] for run in case["runs"]][1] == MEDIA_TYPE


# ------------------------------------------------------------------ the declaration


def _answered(accept: str, content_type: str) -> CaseResult:
    from agui_conformance.model import RunRecord

    run = RunRecord(
        request={}, requestHeaders={"Accept": accept}, status=200,
        responseHeaders={"content-type": content_type}, timing={},
    )  # fmt: skip
    return CaseResult(id="c", title="", requirements=[], expect="run", status="passed", runs=[run])


def test_a_declaration_of_http_binary_is_held_to_what_was_served() -> None:
    from agui_conformance.capabilities import binary_unserved, cross_check

    sse, proto = "text/event-stream", MEDIA_TYPE
    false = {"transport": {"httpBinary": False}}
    hits = cross_check(false, [_answered("*/*", proto)])
    assert [h.rule for h in hits] == ["capabilities-contradicted"]
    assert "HTTP + Protobuf answers (case c)" in hits[0].message
    assert cross_check(false, [_answered("*/*", sse)]) == []

    true = {"transport": {"httpBinary": True}}
    asked, hits = binary_unserved(true, [_answered("*/*", sse), _answered("*/*", proto)])
    assert asked and [h.rule for h in hits] == ["proto-not-served"]
    assert "1 of 2 runs" in hits[0].message
    assert binary_unserved(true, [_answered("*/*", proto)]) == (True, [])
    assert binary_unserved(true, [_answered(sse, sse)]) == (False, [])  # SSE asked, SSE got
    assert binary_unserved({"transport": {}}, [_answered("*/*", sse)]) == (False, [])


def test_an_agent_declaring_http_binary_that_serves_only_sse_breaks_proto_not_served() -> None:
    """The reference agent with protobuf switched off, while its /capabilities still says
    `httpBinary: true`: declared support makes PROTO-003's SHOULD apply."""
    from agui_conformance import suite
    from reference_agent.server import AgentConfig, running_agent

    with running_agent(AgentConfig(protobuf=False)) as off:
        cfg = RunnerConfig(url=off.url, binding="protobuf", deadlines=FAST)
        plan = suite.Plan(_cases("minimal-input"), capabilities=off.url + "capabilities")
        report = suite.run(cfg, plan, shown_target=off.url)
    declared = next(c for c in report.cases if c.id == "capabilities")
    assert _rules(declared) == {"proto-not-served"}
    assert "proto-not-served" in _exercised(declared)
