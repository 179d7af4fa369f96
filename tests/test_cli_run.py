"""`run`'s output options against real agents: the summary by rule, -x/--maxfail,
--list-cases, -q/-v and --format github (and `validate --format github`)."""

from __future__ import annotations

import dataclasses
import json
import shlex
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agui_conformance.cli import main
from agui_conformance.model import CaseResult, Finding, Level, Report, RunRecord, ToolInfo
from agui_conformance.report.github import escape_data, escape_property, report_to_github
from agui_conformance.report.rule_summary import summary_lines
from agui_conformance.rules import catalog
from tests.hostile_agents import agent, conformant_run, serve_app, silent_server


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.output


class Counting:
    """A hostile agent: a legal run, then a second RUN_FINISHED (lifecycle-event-after-finish
    on every run); counts the runs it was asked for."""

    def __init__(self) -> None:
        self.runs = 0
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        with self.lock:
            self.runs += 1
        events = conformant_run(body)
        return [*events, events[-1]]


def _noted_run(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A legal run with one info note (metadata-key-unprefixed), nothing above it."""
    events = conformant_run(body)
    events[-1]["metadata"] = {"mykey": 1}
    return events


# ---------------------------------------------------------------- the summary by rule


def test_the_summary_groups_by_rule_with_its_fix_and_a_reproducer_that_fails_again(
    tmp_path: Path,
) -> None:
    report = tmp_path / "r.json"
    with serve_app(agent(Counting())) as url:
        code, out = run("run", "--agent-url", url, "-k", "absent-equals", "--examples", "0",
                        "--no-html", "--json", str(report))  # fmt: skip
        assert code == 1, out
        cases = json.loads(report.read_text())["cases"]
        hits = [f for c in cases for r in c["runs"] for f in r["findings"]
                if f["rule"] == "lifecycle-event-after-finish"]  # fmt: skip
        failed = [c["id"] for c in cases if c["status"] == "failed"]
        assert len(failed) >= 2 and len(hits) >= len(failed)
        tail = out[out.index("findings by rule") :].splitlines()
        assert tail[0] == "findings by rule (1 rule):"
        assert tail[1] == (
            f"  error lifecycle-event-after-finish ×{len(hits)} in {len(failed)} cases"
        )
        assert tail[2] == "      fix: " + catalog()["lifecycle-event-after-finish"].hint
        prefix = "      reproduce: agui-conformance run "
        assert tail[3].startswith(prefix) and f"--case {failed[0]} " in tail[3]
        assert tail[4].startswith(f"{len(cases)} cases: ")  # then the counts and the verdict
        again = [*shlex.split(tail[3][len(prefix) :]), "--no-html"]
        code2, out2 = run("run", *again)
    assert code2 == 1 and f"FAILED          {failed[0]}" in out2
    assert "error lifecycle-event-after-finish ×" in out2


def test_the_summary_and_annotations_never_show_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cret-token-value"
    monkeypatch.setenv("AGENT_TOKEN", f"Bearer {secret}")
    with serve_app(agent(Counting())) as url:
        code, out = run("run", "--agent-url", f"{url}?api_key={secret}", "-k", "minimal-input",
                        "--examples", "0", "--no-html", "--no-preflight", "--format", "github",
                        "--agent-header", f"X-Api-Key: {secret}",
                        "--agent-header", "Authorization: env:AGENT_TOKEN")  # fmt: skip
    assert code == 1, out
    reproduce = next(line for line in out.splitlines() if "reproduce: " in line)
    assert "'Authorization: env:AGENT_TOKEN'" in reproduce and "api_key=***" in reproduce
    assert "::error title=lifecycle-event-after-finish (minimal-input)::" in out
    assert secret not in out


def test_a_conformant_run_has_no_summary_by_rule() -> None:
    code, out = run("run", "-k", "minimal-input", "--examples", "0", "--no-html")
    assert code == 0, out
    assert "findings by rule" not in out


def _finding(rule: str, level: Level, message: str = "m") -> Finding:
    return Finding(rule=rule, level=level, message=message, hint=f"fix {rule}")


def _report(cases: list[tuple[str, list[Finding]]]) -> Report:
    results = [
        CaseResult(
            id=case_id,
            title=case_id,
            requirements=[],
            expect="run",
            status="failed",
            runs=[
                RunRecord(
                    request={},
                    requestHeaders={},
                    status=200,
                    responseHeaders={},
                    timing={},
                    findings=findings,
                )
            ],
        )
        for case_id, findings in cases
    ]
    return Report(tool=ToolInfo(version="0"), target="http://a/", profile="spec", cases=results,
                  runArgs=["--agent-url", "http://a/"])  # fmt: skip


def test_the_summary_lists_errors_first_then_the_most_cases_and_is_bounded() -> None:
    warnings = [(f"w{i}", [_finding(f"warn-{i:02}", Level.WARNING)]) for i in range(24)]
    report = _report([*warnings, ("e1", [_finding("an-error", Level.ERROR)] * 3),
                      ("e2", [_finding("an-error", Level.ERROR)]),
                      ("n1", [_finding("a-note", Level.INFO)])])  # fmt: skip
    lines = summary_lines(report)
    assert lines[0] == "findings by rule (25 rules):"  # the info note is not listed
    assert lines[1] == "  error an-error ×4 in 2 cases"
    assert lines[2] == "      fix: fix an-error"
    assert lines[3] == (
        "      reproduce: agui-conformance run --agent-url http://a/ --case e1 --examples 0"
    )
    entries = [line for line in lines if line.startswith("  ") and not line.startswith("    ")]
    assert len(entries) == 21  # 20 rules, then how many more
    assert entries[-1] == "  … and 5 more rules (see the report)"


def test_the_summary_is_printable() -> None:
    evil = dataclasses.replace(
        _finding("r", Level.ERROR, "evil \x1b[2J\x07"), hint="hint \x1b]0;title\x07"
    )
    report = _report([("c", [evil])])
    text = "\n".join(summary_lines(report))
    assert "\x1b" not in text and "\x07" not in text and "\\x1b" in text


# ---------------------------------------------------------------- -x/--maxfail


def test_maxfail_stops_after_n_failed_cases_and_sends_nothing_more(tmp_path: Path) -> None:
    counting = Counting()
    report = tmp_path / "r.json"
    with serve_app(agent(counting)) as url:
        code, out = run("run", "--agent-url", url, "--no-preflight", "--concurrency", "1",
                        "-x", "2", "--examples", "3", "--seed", "1", "--no-html",
                        "--json", str(report))  # fmt: skip
        sent = counting.runs
    assert code == 1, out
    document = json.loads(report.read_text())
    cases = document["cases"]
    assert document["runArgs"][-2:] == ["--maxfail", "2"]  # its reproducers stop alike
    statuses = [c["status"] for c in cases]
    assert statuses[:2] == ["failed", "failed"]
    assert set(statuses[2:]) == {"not-run"}  # the generated inputs included
    assert cases[-1]["id"] == "generated-inputs" and not cases[-1]["runs"]
    assert all(c["reason"].startswith("not run: --maxfail 2 reached") for c in cases[2:])
    # nothing sent for the cases not run: their runs, and the survival baseline (one minimal
    # run sent before the suite's probes, runner.survival_baseline)
    assert sent == sum(len(c["runs"]) for c in cases) + 1
    assert f"verdict: FAIL (2 failed; {len(cases) - 2} not run: --maxfail reached)" in out
    assert "the agent stopped answering" not in out


def test_the_html_verdict_names_maxfail(tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    with serve_app(agent(Counting())) as url:
        code, _ = run("run", "--agent-url", url, "-k", "absent-equals", "--concurrency", "1",
                      "-x", "1", "--examples", "0", "--html", str(html), "-q")  # fmt: skip
    assert code == 1
    why = '<span id="verdict-why"> (1 failed; 2 not run: --maxfail reached)</span>'
    assert why in html.read_text(encoding="utf-8")


def test_maxfail_not_reached_changes_nothing() -> None:
    code, out = run("run", "-k", "absent-equals", "--examples", "0", "--no-html", "-x", "1")
    assert code == 0, out
    assert "not run" not in out and "verdict: PASS" in out


def test_maxfail_must_be_a_positive_count() -> None:
    code, out = run("run", "-x", "0", "--no-html")
    assert code == 2 and "Traceback" not in out
    assert "'-x' / '--maxfail': 0 is not in the range x>=1" in out


# ---------------------------------------------------------------- --list-cases


def test_list_cases_prints_the_selection_and_contacts_no_agent(tmp_path: Path) -> None:
    accepted: list[int] = []
    with silent_server(accepted) as url:
        code, out = run("run", "--agent-url", url, "--list-cases", "-k", "absent-equals")
        code_all, out_all = run("run", "--agent-url", url, "--list-cases")
    assert (code, code_all) == (0, 0) and accepted == []
    ids = [line.split()[0] for line in out.splitlines()]
    assert ids == ["absent-equals-empty-context", "absent-equals-empty-state",
                   "absent-equals-empty-tools"]  # fmt: skip
    assert "absent-equals-empty-state  " in out  # the title follows the id
    listed = [line.split()[0] for line in out_all.splitlines()]
    assert "generated-inputs" in listed and "capabilities" not in listed  # no declaration given
    assert "target:" not in out_all


def test_list_cases_names_the_built_in_agents_declaration_and_own_cases(tmp_path: Path) -> None:
    own = tmp_path / "cases"
    own.mkdir()
    (own / "mine.yaml").write_text(
        "id: my-own-case\ntitle: My own case\nrequirements: [PROC-002]\nexpect: run\n"
        "request: {threadId: t, runId: r, messages: []}\n",
        encoding="utf-8",
    )
    code, out = run("run", "--list-cases", "--cases", str(own))
    assert code == 0, out
    listed = [line.split()[0] for line in out.splitlines()]
    assert "my-own-case" in listed and "capabilities" in listed


def test_list_cases_reads_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("H16_UNSET_TOKEN", raising=False)
    args = ("run", "-k", "minimal-input", "--agent-header", "Authorization: env:H16_UNSET_TOKEN")
    code, out = run(*args, "--list-cases")
    assert (code, out) == (0, "minimal-input  Minimal input with only the required fields\n")
    code, out = run(*args, "--no-html")
    assert code == 2 and "H16_UNSET_TOKEN" in out  # a run needs it


def test_list_cases_that_match_nothing_is_a_usage_error() -> None:
    code, out = run("run", "--list-cases", "-k", "no-such-case")
    assert code == 2 and "no case matches -k 'no-such-case'" in out


# ---------------------------------------------------------------- -q / -v


def test_quiet_prints_only_the_verdict_and_the_report_paths(tmp_path: Path) -> None:
    with serve_app(agent(Counting())) as url:
        code, out = run("run", "--agent-url", url, "-k", "minimal-input", "--examples", "0",
                        "-q", "--html", str(tmp_path / "r.html"),
                        "--json", str(tmp_path / "r.json"))  # fmt: skip
    assert code == 1
    assert out.splitlines() == [
        "verdict: FAIL (1 failed), " + out.split("verdict: FAIL (1 failed), ")[1].splitlines()[0],
        f"JSON report: {tmp_path / 'r.json'}",
        f"HTML report: {tmp_path / 'r.html'}",
    ]


def test_verbose_shows_every_finding_info_included() -> None:
    with serve_app(agent(_noted_run)) as url:
        args = ("run", "--agent-url", url, "-k", "minimal-input", "--examples", "0", "--no-html")
        _, plain = run(*args)
        code, verbose = run(*args, "-v")
    assert code == 0
    assert "metadata-key-unprefixed" not in plain
    assert "    info metadata-key-unprefixed @event 4: " in verbose


def test_quiet_and_verbose_exclude_each_other() -> None:
    code, out = run("run", "-q", "-v", "--no-html")
    assert code == 2 and "exclude each other" in out and "Traceback" not in out


# ---------------------------------------------------------------- GitHub annotations


def test_escaping_follows_the_runners_rules() -> None:
    assert escape_data("50% a,b: c\nd") == "50%25 a,b: c%0Ad"
    assert "\r" not in escape_data("a\rb")  # a CR is shown (as \x0d), never a raw one
    assert escape_property("run,1.jsonl: x%\n") == "run%2C1.jsonl%3A x%25%0A"
    assert escape_data("\x1b[31m") == "\\x1b[31m"  # no escape sequence reaches the log


def test_run_format_github_annotates_each_rule_and_case() -> None:
    with serve_app(agent(Counting())) as url:
        code, out = run("run", "--agent-url", url, "-k", "minimal-input", "--examples", "0",
                        "--no-html", "--format", "github")  # fmt: skip
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("::")]
    assert line == (
        "::error title=lifecycle-event-after-finish (minimal-input)::"
        "RUN_FINISHED after RUN_FINISHED closed the run."
    )
    assert out.splitlines()[-1].startswith("verdict: FAIL")


def test_report_annotations_are_bounded_and_skip_info() -> None:
    many = [(f"c{i}", [_finding("r", Level.ERROR, "a\nb")]) for i in range(60)]
    report = _report([*many, ("n", [_finding("note", Level.INFO)])])
    lines = report_to_github(report).splitlines()
    assert len(lines) == 51 and lines[0] == "::error title=r (c0)::a%0Ab"
    assert lines[-1] == "::notice title=agui-conformance::and 10 more (see the report)"


def test_validate_format_github_names_the_file_and_line(tmp_path: Path) -> None:
    recording = tmp_path / "run,1.jsonl"
    recording.write_text(
        '{"type":"RUN_STARTED","threadId":"t","runId":"r","protocolVersion":"1.1"}\n\n\n'
        '{"type":"TEXT_MESSAGE_CONTENT","messageId":"m1","delta":"x"}\n'
        '{"type":"RUN_FINISHED","threadId":"t","runId":"r"}\n',
        encoding="utf-8",
    )
    code, out = run("validate", "--format", "github", str(recording))
    assert code == 1
    file = escape_property(str(recording))
    assert "%2C1.jsonl" in file
    assert out.splitlines() == [
        f"::error file={file},line=4,title=item-not-open::TEXT_MESSAGE_CONTENT for text "
        "message `m1`, which is not open (it was never opened)."
    ]
    code, stdin = run("validate", "--format", "github", "-", stdin=recording.read_bytes())
    assert code == 1
    assert stdin.startswith("::error title=item-not-open::")  # stdin: no file to point at


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "sarif", "html", "github"])
def test_every_validate_format_is_registered_once(fmt: str) -> None:
    from agui_conformance.report.formats import REPORT_FORMATS

    assert fmt in REPORT_FORMATS
    code, out = run("validate", "--format", fmt, "examples/conformant-run.sse")
    assert code == 0
    assert bool(out) == (fmt != "github")  # nothing to annotate: no workflow command


def test_maxfail_stops_the_target_not_the_comparison_column() -> None:
    from agui_conformance import suite
    from agui_conformance.cases import all_cases
    from agui_conformance.runner import RunnerConfig

    cases = [c for c in all_cases() if c.id.startswith("absent-equals")]
    with serve_app(agent(Counting())) as url:
        plan = suite.Plan(cases, maxfail=1)
        target = RunnerConfig(url=url, concurrency=1)
        report = suite.run(
            target, plan, shown_target=url, reference=RunnerConfig(url=url, concurrency=1)
        )
    assert [c.status for c in report.cases] == ["failed", "not-run", "not-run"]
    assert [c.reference for c in report.cases] == ["failed"] * 3  # the whole plan ran there
