"""The command line: exit codes, formats, stdin, grouping, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from agui_conformance.cli import main
from agui_conformance.rules import catalog

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
GOOD = str(EXAMPLES / "conformant-run.sse")
BAD = str(EXAMPLES / "buggy-run.jsonl")
REQUEST = str(EXAMPLES / "request.json")


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.output


def test_conformant_recording_exits_0() -> None:
    code, out = run("validate", GOOD, "--input", REQUEST)
    assert code == 0
    assert "0 error(s)" in out and "conformant" in out


def test_findings_exit_1_with_rule_event_fix_and_spec() -> None:
    code, out = run("validate", BAD, "--input", REQUEST)
    assert code == 1
    assert "error frontend-tool-answered @event 5" in out
    assert "fix: " in out and "spec: https://docs.ag-ui.com/spec/1.1/" in out
    assert out.strip().endswith("not conformant (profile spec)")


def test_fail_on_never_and_warning() -> None:
    assert run("validate", BAD, "--fail-on", "never")[0] == 0
    stream = EXAMPLES / "conformant-run.sse"
    # the conformant run draws nothing at any level
    assert run("validate", str(stream), "--input", REQUEST, "--fail-on", "info")[0] == 0


def test_repeated_findings_are_grouped(tmp_path: Path) -> None:
    lines = ['{"type":"RUN_STARTED","threadId":"t","runId":"r","protocolVersion":"1.1"}']
    lines += [f'{{"type":"TEXT_MESSAGE_CONTENT","messageId":"m{i}","delta":"x"}}' for i in range(8)]
    lines.append('{"type":"RUN_FINISHED","threadId":"t","runId":"r"}')
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, out = run("validate", str(path))
    assert code == 1
    assert out.count("error item-not-open") == 3
    assert "… and 5 more at event 4, event 5, event 6, event 7, event 8" in out
    assert out.count("fix: ") == 1


def test_json_format(tmp_path: Path) -> None:
    out_file = tmp_path / "report.json"
    code, _ = run("validate", BAD, "--format", "json", "-o", str(out_file))
    assert code == 1
    report = json.loads(out_file.read_text())
    assert report["tool"]["name"] == "agui-conformance"
    assert report["protocolVersion"] == "1.1"
    assert {f["rule"] for f in report["findings"]} >= {"snake-case-key", "version-missing"}
    assert all(f["spec"].startswith("https://docs.ag-ui.com/spec/1.1") for f in report["findings"])


def test_sarif_format_points_at_jsonl_lines() -> None:
    code, out = run("validate", BAD, "--format", "sarif")
    assert code == 1
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    run0 = sarif["runs"][0]
    rule_ids = [r["id"] for r in run0["tool"]["driver"]["rules"]]
    assert rule_ids == list(catalog())
    for result in run0["results"]:
        assert result["ruleId"] in rule_ids
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        region = result["locations"][0]["physicalLocation"].get("region")
        if result["properties"]["eventIndex"] is not None:
            assert region["startLine"] == result["properties"]["eventIndex"] + 1


def test_stdin() -> None:
    data = Path(GOOD).read_bytes()
    code, out = run("validate", "-", "--input", REQUEST, stdin=data)
    assert code == 0, out
    assert "in stdin" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "/no/such/file.jsonl"], "no such file"),
        (["validate", GOOD, "--input", "/no/such/request.json"], "cannot read --input"),
        (["validate", GOOD, "--profile", "nope"], "Invalid value"),
    ],
)
def test_usage_and_tool_errors_exit_2_without_traceback(args: list[str], message: str) -> None:
    code, out = run(*args)
    assert code == 2
    assert message in out
    assert "Traceback" not in out


def test_bad_input_json_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "req.json"
    bad.write_text("{not json")
    code, out = run("validate", GOOD, "--input", str(bad))
    assert code == 2 and "is not JSON" in out


def test_rules_lists_every_rule_with_its_level() -> None:
    code, out = run("rules", "--profile", "strict")
    assert code == 0
    for rule in catalog().values():
        assert rule.id in out
    assert "metadata-key-unprefixed" in out
    data = json.loads(run("rules", "--format", "json")[1])
    assert len(data) == len(catalog())
    assert {"id", "level", "url", "hint", "checks"} <= set(data[0])


def test_console_script_runs_in_a_subprocess() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agui_conformance.cli", "validate", BAD, "--format", "json"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["findings"]
