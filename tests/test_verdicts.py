"""Verdicts that hold on real agents: no PASS without evidence, no harness error for the
agent's fault. Each hostile agent here is a real server; each run goes through the CLI as a
user would run it, and the JSON report is read back."""

from __future__ import annotations

import json
import socket
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agui_conformance.cli import main
from tests.hostile_agents import (
    agent,
    conformant_run,
    crashes_without_tools,
    login_page,
    raw_error_without_tools,
    serve_app,
    silent_server,
    started_then_silent,
)

FAST = ["--first-byte-timeout", "2", "--idle-timeout", "1", "--total-timeout", "8"]


def _run(url: str, tmp_path: Path, *extra: str) -> tuple[int, str, dict[str, Any] | None]:
    report = tmp_path / "report.json"
    html = [] if "--html" in extra else ["--no-html"]
    args = ["run", "--agent-url", url, "--examples", "0", *html, "--json", str(report)]
    result = CliRunner().invoke(main, [*args, *FAST, *extra])
    data = json.loads(report.read_text()) if report.exists() else None
    return result.exit_code, result.output, data


def _statuses(data: dict[str, Any]) -> dict[str, str]:
    return {case["id"]: case["status"] for case in data["cases"]}


def _rules(data: dict[str, Any], case: str | None = None) -> set[str]:
    return {
        f["rule"]
        for c in data["cases"]
        if case is None or c["id"] == case
        for run in c["runs"]
        for f in run["findings"]
    }


def _passed_requirements(data: dict[str, Any]) -> set[str]:
    return {r["rule"] for r in data["requirements"] if r["status"] == "passed"}


def test_a_silent_agent_fails_fast_and_nothing_passes(tmp_path: Path) -> None:
    with silent_server() as url:
        code, output, data = _run(url, tmp_path)
    assert code == 1, output
    assert data is not None
    statuses = set(_statuses(data).values())
    assert "passed" not in statuses and "harness-error" not in statuses
    assert statuses <= {"failed", "not-run", "not-applicable"}
    assert "not-run" in statuses  # the suite stopped early
    assert _rules(data) == {"agent-unresponsive"}
    assert _passed_requirements(data) == set()
    assert data["summary"]["conformance"] == "none"
    assert data["summary"]["passed"] is False
    assert "verdict: FAIL" in output


def test_run_started_then_silence_is_unresponsive_not_truncated(tmp_path: Path) -> None:
    with serve_app(started_then_silent()) as url:
        code, output, data = _run(url, tmp_path, "-k", "minimal-input")
    assert code == 1, output
    assert data is not None
    assert _statuses(data) == {"minimal-input": "failed"}
    rules = _rules(data)
    assert "agent-unresponsive" in rules
    assert not {"stream-truncated", "transport-deadline", "sse-truncated-frame"} & rules
    message = next(
        f["message"]
        for f in data["cases"][0]["runs"][0]["findings"]
        if f["rule"] == "agent-unresponsive"
    )
    assert "did not end" in message


def test_an_html_login_page_stops_at_preflight(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text('"previous"')
    with serve_app(login_page()) as url:
        code, output, _ = _run(url, tmp_path)
    assert code == 2, output
    assert report.read_text() == '"previous"'  # no report overwritten
    assert "HTML" in output or "html" in output


def test_an_html_login_page_passes_nothing_without_preflight(tmp_path: Path) -> None:
    with serve_app(login_page()) as url:
        code, output, data = _run(url, tmp_path, "--no-preflight")
    assert code == 1, output
    assert data is not None
    passed = _passed_requirements(data)
    # nothing of a stream was seen: no stream rule may pass
    assert not {"lifecycle-first-event", "identity-thread-id-echo", "event-not-json"} & passed
    statuses = _statuses(data)
    for case in ("minimal-input", "full-input", "multi-turn-history"):
        assert statuses[case] == "failed"
    assert "http-content-type" in _rules(data, "minimal-input")


def test_an_agent_crashing_without_tools_is_the_agents_failure_not_ours(tmp_path: Path) -> None:
    """FastAPI answers 500 to the unhandled exception and uvicorn drops the kept-alive
    connection: the next request on it must be retried on a fresh one, never a harness
    error, and the exit code says the agent is broken (1), not the tool (2)."""
    with serve_app(agent(crashes_without_tools)) as url:
        code, output, data = _run(url, tmp_path)
    assert code == 1, output
    assert data is not None
    statuses = _statuses(data)
    assert "harness-error" not in statuses.values(), statuses
    assert data["summary"]["conformance"] != "incomplete"
    assert statuses["minimal-input"] == "failed"
    assert "http-status" in _rules(data, "minimal-input")
    assert statuses["frontend-tool-round-trip"] == "passed"  # it sends tools
    # the survival check fails as it did before any probe: no probe is blamed for it
    assert "service-unavailable-after-bad-input" not in _rules(data)


def test_an_agent_wedged_by_bad_input_is_caught_after_the_probe(tmp_path: Path) -> None:
    """Served fine before the probes; after the first invalid input, every run is a 500."""
    wedged: list[bool] = []

    def on_run(body: dict[str, Any]) -> list[dict[str, Any]]:
        if wedged:
            raise RuntimeError("wedged")
        return conformant_run(body)

    app = agent(on_run)

    @app.middleware("http")
    async def wedge(request: Any, call_next: Any) -> Any:
        body = await request.body()
        try:
            ok = isinstance(json.loads(body), dict)
        except ValueError:
            ok = False
        if not ok:
            wedged.append(True)
        return await call_next(request)

    with serve_app(app) as url:
        code, output, data = _run(url, tmp_path, "--concurrency", "1", "--profile", "strict")
    assert code == 1, output
    assert data is not None
    found = [
        f["message"]
        for c in data["cases"]
        for r in c["runs"]
        for f in r["findings"]
        if f["rule"] == "service-unavailable-after-bad-input"
    ]
    assert found and "Before the probes the same minimal valid run finished" in found[0]


def test_a_raw_exception_in_run_error_is_an_agent_error(tmp_path: Path) -> None:
    with serve_app(agent(raw_error_without_tools)) as url:
        code, output, data = _run(url, tmp_path, "--profile", "strict")
    assert code == 1, output
    assert data is not None
    statuses = _statuses(data)
    assert statuses["minimal-input"] == "agent-error"
    assert statuses["frontend-tool-round-trip"] == "passed"
    rules = _rules(data, "minimal-input")
    assert {"run-error-on-valid-input", "run-error-raw-exception"} <= rules
    case = next(c for c in data["cases"] if c["id"] == "minimal-input")
    assert "object of type 'NoneType' has no len()" in case["reason"]
    # the agent's own failure does not lower the protocol's level, but fails the verdict
    assert data["summary"]["passed"] is False
    assert "agent-error" in data["summary"]["cases"]
    assert "ended in the agent's own error" in output


def test_a_conformant_agent_passes_with_evidence(tmp_path: Path) -> None:
    with serve_app(agent(conformant_run)) as url:
        code, output, data = _run(url, tmp_path, "-k", "minimal-input")
    assert code == 0, output
    assert data is not None
    assert _statuses(data) == {"minimal-input": "passed"}
    assert data["cases"][0]["runs"][0]["outcome"] == "finished"
    assert "lifecycle-first-event" in _passed_requirements(data)


@pytest.mark.parametrize("target", ["refused", "bad-url", "bad-port"])
def test_what_truly_is_ours_ends_at_preflight_with_exit_2(target: str, tmp_path: Path) -> None:
    if target == "refused":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    else:
        url = {"bad-url": "notaurl", "bad-port": "http://127.0.0.1:99999/"}[target]
    code, output, data = _run(url, tmp_path)
    assert code == 2, output
    assert data is None
    assert "Traceback" not in output


def test_every_report_format_agrees_on_the_verdict(tmp_path: Path) -> None:
    """JSON, JUnit, SARIF and HTML tell the same story of an agent whose own errors and
    unanswered runs fail it (the pytest face is tested in test_plugin)."""
    import xml.etree.ElementTree as ET

    with serve_app(agent(raw_error_without_tools)) as url:
        code, output, data = _run(
            url,
            tmp_path,
            "--junit",
            str(tmp_path / "r.xml"),
            "--sarif",
            str(tmp_path / "r.sarif"),
            "--html",
            str(tmp_path / "r.html"),
        )
    assert code == 1, output
    assert data is not None and data["summary"]["passed"] is False
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite is not None
    failed = {
        case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None
    }
    bad = {c["id"] for c in data["cases"] if c["status"] in ("failed", "agent-error", "not-run")}
    assert failed == bad and "minimal-input" in failed
    assert suite.get("errors") == "0"
    sarif = json.loads((tmp_path / "r.sarif").read_text())
    rules = {r["ruleId"] for run in sarif["runs"] for r in run["results"]}
    assert "run-error-on-valid-input" in rules
    html = (tmp_path / "r.html").read_text()
    assert 'data-verdict="fail"' in html
    assert "ended in the agent's own error" in unescape(html)  # the verdict's reason
