"""Reproducers run the same thing: the command a report prints, run as printed, reaches the
same verdict and case statuses as the run that printed it. Every option that decides the
verdict travels with it (-k, --fail-on, the deadlines, --auth-required and the headers,
--baseline, --no-preflight), and the built-in agent is started again rather than named by
the temporary port it had."""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from agui_conformance.cli import main
from tests.hostile_agents import agent, conformant_run, serve_app, sse

SECRET = "Bearer s3cret-value-for-repro"


def _noted_run(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A legal run with one info note (metadata-key-unprefixed)."""
    events = conformant_run(body)
    events[-1]["metadata"] = {"mykey": 1}
    return events


def _slow_and_guarded() -> FastAPI:
    """Refuses a request without the right Authorization (401); answers the rest after
    0.8 s of silence with a legal run."""
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        if request.headers.get("authorization") != SECRET:
            return Response('{"detail": "unauthorized"}', 401, media_type="application/json")
        body = json.loads(await request.body())

        async def stream() -> AsyncIterator[bytes]:
            await asyncio.sleep(0.8)
            for event in conformant_run(body):
                yield sse(event)

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


def _run(args: list[str], report: Path, env: dict[str, str] | None = None) -> tuple[int, Any]:
    result = CliRunner(env=env).invoke(main, [*args, "--no-html", "--json", str(report)])
    assert "Traceback" not in result.output, result.output
    data = json.loads(report.read_text()) if report.exists() else None
    return result.exit_code, data


def _statuses(data: Any) -> dict[str, str]:
    return {case["id"]: case["status"] for case in data["cases"]}


def _rerun(command: str, report: Path, env: dict[str, str] | None = None) -> tuple[int, Any]:
    argv = shlex.split(command)
    assert argv[:2] == ["agui-conformance", "run"], command
    report.unlink(missing_ok=True)
    return _run(argv[1:], report, env)


@pytest.fixture(scope="module")
def noted_agent() -> Iterator[str]:
    with serve_app(agent(_noted_run)) as url:
        yield url


@pytest.fixture(scope="module")
def guarded_agent() -> Iterator[str]:
    with serve_app(_slow_and_guarded()) as url:
        yield url


def _same_verdict(
    args: list[str], tmp_path: Path, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    code, first = _run(args, tmp_path / "first.json", env)
    assert first is not None
    again_code, again = _rerun(first["command"], tmp_path / "again.json", env)
    assert (again_code, _statuses(again)) == (code, _statuses(first)), first["command"]
    assert again["summary"]["passed"] == first["summary"]["passed"]
    assert again["command"] == first["command"]  # the reproducer reproduces itself
    return code, first


def test_fail_on_and_k_travel(noted_agent: str, tmp_path: Path) -> None:
    args = ["run", "--agent-url", noted_agent, "-k", "minimal-input", "--examples", "0"]
    code, first = _same_verdict([*args, "--fail-on", "info"], tmp_path)
    assert code == 1 and _statuses(first) == {"minimal-input": "failed"}  # the note fails it
    assert " --fail-on info " in first["command"] and " -k minimal-input " in first["command"]


def test_deadlines_and_no_preflight_travel(guarded_agent: str, tmp_path: Path) -> None:
    args = [
        "run", "--agent-url", guarded_agent, "--agent-header", f"Authorization: {SECRET}",
        "-k", "minimal-input", "--examples", "0", "--first-byte-timeout", "0.3",
        "--no-preflight",
    ]  # fmt: skip
    env = {"AGUI_AUTHORIZATION": SECRET}  # the reproducer reads the secret from here
    code, first = _same_verdict(args, tmp_path, env)
    assert code == 1 and _statuses(first) == {"minimal-input": "failed"}  # 0.8 s > 0.3 s
    assert "--first-byte-timeout 0.3" in first["command"] and "--no-preflight" in first["command"]
    assert SECRET.split()[1] not in first["command"]
    assert "'Authorization: env:AGUI_AUTHORIZATION'" in first["command"]


def test_auth_required_and_headers_travel(guarded_agent: str, tmp_path: Path) -> None:
    args = [
        "run", "--agent-url", guarded_agent, "--agent-header", "Authorization: env:TOKEN",
        "--auth-required", "-k", "auth", "--examples", "0",
    ]  # fmt: skip
    code, first = _same_verdict(args, tmp_path, {"TOKEN": SECRET})
    assert code == 0 and set(_statuses(first).values()) == {"passed"}  # not "not-applicable"
    assert "--auth-required" in first["command"]
    assert "'Authorization: env:TOKEN'" in first["command"]  # the variable the user named


def test_baseline_travels(noted_agent: str, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    args = [
        "run", "--agent-url", noted_agent, "-k", "minimal-input", "--examples", "0",
        "--fail-on", "info", "--baseline", str(baseline),
    ]  # fmt: skip
    written, _ = _run([*args, "--update-baseline"], tmp_path / "update.json")
    assert written == 0 and baseline.exists()
    code, first = _same_verdict(args, tmp_path)
    assert code == 0 and _statuses(first) == {"minimal-input": "known-failure"}
    assert f"--baseline {baseline}" in first["command"]


def test_the_built_in_agent_is_started_again_not_named_by_its_port(tmp_path: Path) -> None:
    code, first = _same_verdict(["run", "-k", "minimal-input", "--examples", "0"], tmp_path)
    assert code == 0 and first["builtInAgent"] is True
    assert first["command"] == "agui-conformance run -k minimal-input --examples 0"
    assert "127.0.0.1" not in first["command"] and first["runArgs"] == []


def test_case_reproducers_in_the_html_report_carry_the_run_arguments(
    noted_agent: str, tmp_path: Path
) -> None:
    from bs4 import BeautifulSoup

    html = tmp_path / "r.html"
    args = [
        "run", "--agent-url", noted_agent, "-k", "minimal", "--examples", "0",
        "--fail-on", "info", "--total-timeout", "40", "--html", str(html),
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    soup = BeautifulSoup(html.read_text(), "html.parser")
    command = soup.select_one("#case-minimal-input pre.reproducer.suite")
    assert command is not None
    assert command.get_text() == (
        f"agui-conformance run --agent-url {noted_agent} --fail-on info "
        "--total-timeout 40.0 --case minimal-input --examples 0"
    )


def test_a_curl_reproducer_for_the_built_in_agent_starts_it_first() -> None:
    from agui_conformance.model import CaseResult, Report, RunRecord, ToolInfo
    from agui_conformance.report.html import case_view

    run = RunRecord(
        request={"threadId": "t"}, requestHeaders={}, status=200, responseHeaders={}, timing={}
    )
    case = CaseResult(
        id="minimal-input", title="t", requirements=[], expect="run", status="failed", runs=[run]
    )
    report = Report(
        tool=ToolInfo(version="0"), target="http://127.0.0.1:45678/", profile="spec",
        cases=[case], builtInAgent=True,
    )  # fmt: skip
    view = case_view(case, report)
    assert view.curl.startswith("agui-conformance serve &")
    assert "http://127.0.0.1:8000/" in view.curl and "45678" not in view.curl
    assert view.command == "agui-conformance run --case minimal-input --examples 0"


def test_the_generated_inputs_case_id_is_the_same_everywhere() -> None:
    from agui_conformance import generated, reproduce

    assert reproduce.GENERATED == generated.GENERATED


def test_the_capabilities_case_reproducer_runs_that_case(noted_agent: str, tmp_path: Path) -> None:
    from agui_conformance.reproduce import case_command

    declaration = tmp_path / "caps.json"
    declaration.write_text(json.dumps({"reasoning": {"supported": "yes"}}))
    args = [
        "run", "--agent-url", noted_agent, "--capabilities", str(declaration),
        "-k", "minimal-input", "--examples", "0",
    ]  # fmt: skip
    code, first = _run(args, tmp_path / "first.json")
    assert code == 1 and _statuses(first)["capabilities"] == "failed", first["cases"]
    command = case_command(first["runArgs"], "capabilities")
    assert command.endswith(f"--capabilities {declaration} --case capabilities --examples 0")
    again_code, again = _rerun(command, tmp_path / "again.json")
    assert (again_code, _statuses(again)) == (1, {"capabilities": "failed"})


def test_a_failed_generated_input_prints_its_whole_reproducer(tmp_path: Path) -> None:
    from tests.hostile_agents import crashes_without_tools

    with serve_app(agent(crashes_without_tools)) as url:
        args = [
            "run", "--agent-url", url, "-k", "generated-inputs", "--examples", "4",
            "--seed", "7", "--total-timeout", "50", "--no-html",
        ]  # fmt: skip
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, result.output
        (line,) = [x for x in result.output.splitlines() if x.startswith("    reproduce: ")]
        command = line.removeprefix("    reproduce: ")
        assert command == (
            f"agui-conformance run --agent-url {url} --total-timeout 50.0 "
            "--case generated-inputs --examples 4 --seed 7"
        )
        code, again = _rerun(command, tmp_path / "again.json")
    assert (code, _statuses(again)) == (1, {"generated-inputs": "failed"})


OWN = """\
id: {id}
title: A greeting
requirements: [LIFE-001]
expect: run
request:
  threadId: ${{thread}}
  runId: ${{run}}
  messages: [{{id: "${{id}}", role: user, content: hello}}]
"""


def test_a_case_reproducer_runs_that_case_alone_not_every_id_containing_it(
    noted_agent: str, tmp_path: Path
) -> None:
    """`-k greeting` would also run `greeting-again`: the reproducer names its case
    exactly, and run as printed it runs that one case to the same verdict."""
    folder = tmp_path / "own"
    folder.mkdir()
    for case_id in ("greeting", "greeting-again"):
        (folder / f"{case_id}.yaml").write_text(OWN.format(id=case_id))
    args = ["run", "--agent-url", noted_agent, "--cases", str(folder), "-k", "greeting",
            "--examples", "0", "--fail-on", "info"]  # fmt: skip
    code, first = _run(args, tmp_path / "first.json")
    assert (code, _statuses(first)) == (1, {"greeting": "failed", "greeting-again": "failed"})
    from bs4 import BeautifulSoup

    html = tmp_path / "r.html"
    assert CliRunner().invoke(main, [*args, "--html", str(html)]).exit_code == 1
    shown = BeautifulSoup(html.read_text(), "html.parser").select_one(
        "#case-greeting pre.reproducer.suite"
    )
    assert shown is not None
    command = shown.get_text()
    assert command.endswith("--case greeting --examples 0"), command
    again_code, again = _rerun(command, tmp_path / "again.json")
    assert (again_code, _statuses(again)) == (1, {"greeting": "failed"})


def test_case_names_an_exact_id_and_a_typo_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["run", "--case", "minimal-inpu", "--list-cases"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--case: no case 'minimal-inpu' (did you mean minimal-input" in result.output
    listed = CliRunner().invoke(main, ["run", "--case", "minimal-input", "--list-cases"])
    assert listed.exit_code == 0 and listed.output.split()[0] == "minimal-input"
    assert len(listed.output.splitlines()) == 1


def test_the_built_in_agents_curl_names_serves_port_not_the_temporary_one() -> None:
    from agui_conformance.cli import _serve_curls
    from agui_conformance.model import CaseResult, RunRecord

    temporary = "http://127.0.0.1:45678/"
    run = RunRecord(
        request={}, reproducer=f"curl -N -X POST {temporary} --data-binary @-",
        requestHeaders={}, status=200, responseHeaders={}, timing={},
    )  # fmt: skip
    case = CaseResult(
        id="generated-inputs", title="t", requirements=[], expect="run", status="failed",
        runs=[run],
    )  # fmt: skip
    _serve_curls(case, temporary)
    assert run.reproducer == (
        "agui-conformance serve &  # the built-in reference agent\n"
        "curl -N -X POST http://127.0.0.1:8000/ --data-binary @-"
    )


# --- the binding travels: a curl asks with the Accept the run sent -------------------------

PROTO_ACCEPT = "application/vnd.ag-ui.event+proto, text/event-stream"


def test_a_curl_asks_with_the_runs_accept_and_saves_a_binary_answer_to_a_file() -> None:
    from agui_conformance.reproduce import curl_command

    sse_curl = curl_command("http://a/", "{}", {"Accept": "text/event-stream"})
    assert "-H 'Accept: text/event-stream'" in sse_curl and "--output" not in sse_curl
    assert sse_curl.endswith("\nJSON")  # nothing to validate: the answer is on the terminal
    proto_curl = curl_command("http://a/", "{}", {"accept": PROTO_ACCEPT, "X-Trace": "1"})
    assert proto_curl.count("Accept:") == 1 and f"-H 'Accept: {PROTO_ACCEPT}'" in proto_curl
    assert " --output run.bin --data-binary @- <<'JSON'\n{}\nJSON\n" in proto_curl
    assert proto_curl.endswith("\nagui-conformance validate run.bin")
    excluded = curl_command("http://a/", "{}", {"Accept": "application/vnd.ag-ui.event+proto;q=0"})
    assert "--output" not in excluded  # q=0: the answer is SSE


def test_a_generated_inputs_curl_carries_the_binding() -> None:
    from agui_conformance.runner import RunnerConfig, curl_reproducer

    proto = curl_reproducer(RunnerConfig(url="http://a/", binding="protobuf"), b"{}")
    assert f"-H 'Accept: {PROTO_ACCEPT}'" in proto and "--output run.bin" in proto
    own = RunnerConfig(url="http://a/", binding="protobuf", headers={"Accept": "*/*"})
    assert "-H 'Accept: */*'" in curl_reproducer(own, b"{}")  # the user's header was sent
    assert "--output" not in curl_reproducer(RunnerConfig(url="http://a/"), b"{}")


def test_the_html_curl_of_a_protobuf_run_replays_it_to_a_file_that_validates_alike(
    tmp_path: Path,
) -> None:
    import os
    import subprocess
    import sys

    from agui_conformance.model import load_report
    from agui_conformance.report.html import case_view
    from reference_agent.app import AgentConfig
    from reference_agent.server import running_agent

    with running_agent(AgentConfig(fault="proto-truncated")) as agent:
        args = ["run", "--agent-url", agent.url, "--binding", "protobuf", "-k", "minimal-input"]
        code, data = _run([*args, "--examples", "0"], tmp_path / "r.json")
        assert code == 1 and data is not None
        report = load_report(json.dumps(data))
        case = next(c for c in report.cases if c.id == "minimal-input")
        assert {f.rule for r in case.runs for f in r.findings} == {"stream-truncated"}
        curl = case_view(case, report).curl
        assert f"-H 'Accept: {PROTO_ACCEPT}'" in curl and "--output run.bin" in curl
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        done = subprocess.run(
            ["bash", "-c", curl], cwd=tmp_path, env=env, capture_output=True, timeout=60
        )
    assert (tmp_path / "run.bin").read_bytes()[:1] == b"\x00", done.stderr  # frames, saved
    assert done.returncode == 1, done.stderr  # the curl's second line: validate run.bin
    assert b"stream-truncated" in done.stdout
