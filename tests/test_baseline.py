"""The expected-failures baseline: a known failure passes, a new one fails, a fixed one is
reported as stale: from the API, the CLI and the pytest plugin."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from agui_conformance import baseline
from agui_conformance.cli import main
from agui_conformance.model import CaseResult, Finding, Level, RunRecord
from reference_agent.app import AgentConfig
from reference_agent.server import running_agent

pytest_plugins = ["pytester"]


def _case(case_id: str, *rules: str, level: Level = Level.ERROR) -> CaseResult:
    findings = [Finding(rule=r, level=level, message=f"{r} broke") for r in rules]
    run = RunRecord(
        request={}, requestHeaders={}, status=200, responseHeaders={}, timing={}, findings=findings
    )
    status = "failed" if rules and level is Level.ERROR else "passed"
    return CaseResult(
        id=case_id, title="", requirements=[], expect="run", status=status, runs=[run]
    )


def test_known_new_and_stale() -> None:
    accepted = baseline.Baseline(
        entries=[
            baseline.Entry(case="a", rule="r1"),
            baseline.Entry(case="b", rule="r2"),  # b now passes: stale
            baseline.Entry(case="gone", rule="r3"),  # did not run (-k): not stale
        ]
    )
    cases = [_case("a", "r1", "r9"), _case("b"), _case("c", "r1")]
    result = baseline.compare(cases, accepted, Level.ERROR)
    assert [(e.case, e.rule) for e in result.known] == [("a", "r1")]
    assert [(e.case, e.rule) for e in result.new] == [("a", "r9"), ("c", "r1")]
    assert [(e.case, e.rule) for e in result.stale] == [("b", "r2")]


def test_a_case_with_only_known_failures_is_marked_known() -> None:
    cases = [_case("a", "r1"), _case("b", "r1", "r2")]
    accepted = baseline.Baseline(entries=[baseline.Entry(case=c, rule="r1") for c in "ab"])
    baseline.mark_known(cases, baseline.compare(cases, accepted, Level.ERROR))
    assert [c.status for c in cases] == ["known-failure", "failed"]


def test_findings_below_fail_on_are_not_failures() -> None:
    assert baseline.failures([_case("a", "r1", level=Level.WARNING)], Level.ERROR) == []
    assert len(baseline.failures([_case("a", "r1", level=Level.WARNING)], Level.WARNING)) == 1


def test_dump_then_load_round_trips_sorted(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    entries = [baseline.Entry(case="z", rule="r"), baseline.Entry(case="a", rule="r")]
    path.write_text(baseline.dump(entries, "strict"))
    loaded = baseline.load(path)
    assert loaded.profile == "strict" and [e.case for e in loaded.entries] == ["a", "z"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ('{"entries": [{"case": 1}]}', "is not a baseline: entries.0.case: "),
        ('{"threadId": "t", "runId": "r", "messages": []}', "is not a baseline: entries: "),
        ('{"entries": [], "cases": []}', "is not a baseline: cases: Extra inputs"),
        ('{"version": 2, "entries": []}', "has version 2"),
    ],
)
def test_unreadable_baselines_are_usage_errors(
    tmp_path: Path, text: str | None, message: str
) -> None:
    path = tmp_path / "b.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ValueError, match=message):
        baseline.load(path)
    outcome = CliRunner().invoke(main, ["run", "--baseline", str(path), "--no-html"])
    assert outcome.exit_code == 2 and message in outcome.output


def _run(url: str, *extra: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(
        main,
        ["run", "--agent-url", url, "-k", "minimal", "--examples", "0", "--no-html", *extra],
    )
    return outcome.exit_code, outcome.output


def test_cli_update_then_known_then_new_then_stale(tmp_path: Path) -> None:
    file = tmp_path / "agui-baseline.json"
    junit = tmp_path / "junit.xml"
    with running_agent(AgentConfig(fault="wrong-run-id")) as agent:
        code, out = _run(agent.url)
        assert code == 1  # without a baseline the fault fails the run
        code, out = _run(agent.url, "--baseline", str(file), "--update-baseline")
        assert code == 0, out
        entries = json.loads(file.read_text())["entries"]
        assert {(e["case"], e["rule"]) for e in entries} == {
            ("minimal-input", "identity-run-id-echo")
        }
        code, out = _run(agent.url, "--baseline", str(file), "--junit", str(junit))
        assert code == 0, out  # a known failure passes
        assert "1 known, 0 new, 0 stale" in out
        skipped = ET.parse(junit).getroot().find("testsuite/testcase/skipped")
        assert skipped is not None and "identity-run-id-echo" in skipped.get("message", "")
    with running_agent(AgentConfig(fault="no-protocol-version")) as agent:
        code, out = _run(agent.url, "--baseline", str(file))
        assert code == 1, out  # a new failure fails
        assert "NEW   minimal-input: version-missing" in out
        assert "STALE minimal-input: identity-run-id-echo" in out
    with running_agent() as agent:
        html = tmp_path / "r.html"
        outcome = CliRunner().invoke(
            main,
            ["run", "--agent-url", agent.url, "-k", "minimal", "--examples", "0",
             "--baseline", str(file), "--html", str(html)],
        )  # fmt: skip
        assert outcome.exit_code == 0  # a fixed failure is reported as stale, not failed
        assert "0 known, 0 new, 1 stale" in outcome.output
        assert "baseline-stale" in html.read_text()


def test_update_baseline_needs_a_file() -> None:
    outcome = CliRunner().invoke(main, ["run", "--update-baseline", "--no-html"])
    assert outcome.exit_code == 2 and "--baseline FILE" in outcome.output


def test_plugin_known_failure_is_xfail_and_stale_is_listed(pytester: pytest.Pytester) -> None:
    file = pytester.path / "agui-baseline.json"
    entries = [
        baseline.Entry(case="minimal-input", rule="identity-run-id-echo"),
        baseline.Entry(case="minimal-input", rule="version-missing"),  # never fails: stale
    ]
    file.write_text(baseline.dump(entries, "spec"))
    with running_agent(AgentConfig(fault="wrong-run-id")) as agent:
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--agent-url", agent.url, "-k", "minimal",
            "--agui-baseline", str(file), "-rx",
        )  # fmt: skip
    outcomes = result.parseoutcomes()
    assert outcomes.get("xfailed", 0) == 2 and not outcomes.get("failed")
    result.stdout.fnmatch_lines(
        ["*1 known, 0 new, 1 stale*", "*STALE minimal-input: version-missing*",
         "*known failure (baseline): identity-run-id-echo*"]
    )  # fmt: skip
