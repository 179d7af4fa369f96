"""`run --capabilities`: a declaration checked for shape and cross-checked with the streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from agui_conformance.cli import main
from reference_agent.server import running_agent


def _run(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "r.json"
    outcome = CliRunner().invoke(
        main, ["run", "--examples", "0", "--no-html", "--json", str(out), *args]
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return outcome.exit_code, report, outcome.output


def _case(report: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in report["cases"] if c["id"] == "capabilities")


def _status(report: dict[str, Any], rule: str) -> str:
    return next(r["status"] for r in report["requirements"] if r["rule"] == rule)


def test_the_reference_agent_declaration_is_fetched_and_holds(tmp_path: Path) -> None:
    code, report, _ = _run(tmp_path)  # the built-in agent: its /capabilities by default
    assert code == 0
    case = _case(report)
    assert case["status"] == "passed" and case["runs"][0]["events"][0]["identity"]
    assert _status(report, "capabilities-malformed") == "passed"
    assert _status(report, "capabilities-contradicted") == "passed"


def test_a_false_the_streams_contradict_is_a_warning(tmp_path: Path) -> None:
    declaration = tmp_path / "caps.json"
    declaration.write_text(json.dumps({"tools": {"supported": False}}))
    with running_agent() as agent:
        code, report, _ = _run(
            tmp_path, "--agent-url", agent.url, "--capabilities", str(declaration)
        )
    assert code == 0  # a SHOULD: a warning, below the default fail-on
    (finding,) = _case(report)["runs"][0]["findings"]
    assert finding["rule"] == "capabilities-contradicted" and finding["level"] == "warning"
    assert "frontend-tool-round-trip" in finding["message"]
    assert finding["pointer"] == "/tools/supported"


def test_a_malformed_declaration_fails_the_run(tmp_path: Path) -> None:
    declaration = tmp_path / "caps.json"
    declaration.write_text(json.dumps({"multiAgent": {"subAgents": [{"name": "x"}]}}))
    with running_agent() as agent:
        code, report, output = _run(
            tmp_path, "--agent-url", agent.url, "--capabilities", str(declaration)
        )
    assert code == 1, output
    assert {f["rule"] for f in _case(report)["runs"][0]["findings"]} == {"capabilities-malformed"}
    assert _status(report, "capabilities-malformed") == "failed"


def test_no_declaration_is_not_applicable_never_a_finding(tmp_path: Path) -> None:
    with running_agent() as agent:
        code, report, _ = _run(
            tmp_path, "--agent-url", agent.url, "--capabilities", agent.url + "nowhere"
        )
    assert code == 0
    case = _case(report)
    assert case["status"] == "not-applicable" and "404" in case["reason"]
    assert _status(report, "capabilities-malformed") == "not-exercised"
