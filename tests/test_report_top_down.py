"""The report reads top-down: what failed first (each failed rule, its cases, the first
offending event linked into the transcript), the verdict with its coverage and, against a
baseline, "no new failures (N known)"; `--min-coverage` gates the verdict; validate's page
leaves out the cards a recording has nothing for; the timeline has a legend."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from click.testing import CliRunner

from agui_conformance import baseline, recordings, suite
from agui_conformance.cases import load_cases
from agui_conformance.cli import main
from agui_conformance.matrix import coverage
from agui_conformance.model import (
    CaseResult,
    Finding,
    Level,
    Report,
    RequirementStatus,
    RunRecord,
    Strength,
    ToolInfo,
)
from agui_conformance.report.html import to_html
from agui_conformance.report.json_report import report_to_json
from agui_conformance.report.transcript import MAX_ROWS
from agui_conformance.rules import catalog
from agui_conformance.runner import RunnerConfig
from tests.hostile_agents import agent, conformant_run, serve_app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _one(soup: BeautifulSoup | Tag, selector: str) -> Tag:
    found = soup.select_one(selector)
    assert found is not None, selector
    return found


def _two_faults(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A legal run, but RUN_FINISHED twice when the input has tools
    (lifecycle-event-after-finish), and an event type of its own when it has state
    (event-type-unknown)."""
    events = conformant_run(body)
    if body.get("state") not in (None, {}, [], ""):
        events.insert(1, {"type": "MADE_UP_EVENT"})
    if body.get("tools"):
        events.append(dict(events[-1]))
    return events


@pytest.fixture(scope="module")
def hostile() -> Report:
    plan = suite.Plan(cases=load_cases(), examples=0)
    with serve_app(agent(_two_faults)) as url:
        return suite.run(RunnerConfig(url=url), plan, shown_target=url)


def _soup(report: Report) -> BeautifulSoup:
    return BeautifulSoup(to_html(report), "html.parser")


def _banner(soup: BeautifulSoup) -> str:
    """The verdict's line as a reader sees it: the big word, then the headline."""
    return _one(soup, "#verdict .big").get_text() + _one(soup, "#verdict-headline").get_text()


def _exercised_applicable(report: Report) -> tuple[int, int]:
    """Counted again from the cases, not from the matrix the summary was made from."""
    seen: set[str] = set()
    for case in report.cases:
        seen.update(case.exercised)
        for run in case.runs:
            seen.update(run.exercised)
    applicable = {r.rule for r in report.requirements if r.status != "not-applicable"}
    return len(seen & applicable), len(applicable)


def test_failures_come_first_with_their_cases_and_first_offending_event(
    hostile: Report,
) -> None:
    soup = _soup(hostile)
    failures, matrix = _one(soup, "#failures"), _one(soup, "#matrix")
    order = [t for t in soup.find_all(True) if t is failures or t is matrix]
    assert order == [failures, matrix]
    failed = [r for r in hostile.requirements if r.status == "failed"]
    assert {"lifecycle-event-after-finish", "event-type-unknown"} <= {r.rule for r in failed}
    assert [b["data-rule"] for b in failures.select(".failed-rule")] == [r.rule for r in failed]
    for req in failed:
        block = _one(failures, f'.failed-rule[data-rule="{req.rule}"]')
        assert _one(block, "a.rule")["href"] == req.spec
        assert [li["data-case"] for li in block.select("li")] == req.cases
        for case_id in req.cases:
            case = next(c for c in hostile.cases if c.id == case_id)
            first_run = next(
                i for i, r in enumerate(case.runs) if any(f.rule == req.rule for f in r.findings)
            )
            first = min(
                (f for f in case.runs[first_run].findings if f.rule == req.rule),
                key=lambda f: f.index if f.index is not None else 1 << 62,
            )
            item = _one(block, f'li[data-case="{case_id}"]')
            assert _one(item, "a.to-case")["href"] == f"#case-{case_id}"
            link = _one(item, "a.to-event")["href"]
            assert link == f"#{case_id}-r{first_run}-e{first.index}"
            row = _one(soup, str(link))  # the link lands on the offending transcript row
            assert row["data-index"] == str(first.index) and "bad" in row["class"]
            assert first.message[:60] in item.get_text()


def test_verdict_shows_coverage_in_html_json_and_text(hostile: Report) -> None:
    assert hostile.summary is not None and hostile.summary.coverage is not None
    exercised, applicable = _exercised_applicable(hostile)
    assert 0 < exercised < applicable
    cov = hostile.summary.coverage
    assert (cov.exercised, cov.applicable, cov.minimum, cov.met) == (
        exercised,
        applicable,
        None,
        True,
    )
    assert applicable == len(catalog()) - hostile.summary.requirements["not-applicable"]
    soup = _soup(hostile)
    shown = _one(soup, "#verdict-coverage").get_text()
    assert shown.startswith(f"{exercised} of {applicable} rules exercised (")
    assert _one(soup, "#verdict")["data-verdict"] == "fail"
    data = json.loads(report_to_json(hostile))
    assert data["summary"]["coverage"]["exercised"] == exercised
    outside = {r.rule for r in hostile.requirements if r.status == "not-applicable"}
    flagged = {r["rule"] for r in data["requirements"] if r["exercised"]}
    assert len(flagged - outside) == exercised


def test_baseline_banner_no_new_failures_and_known_rules_last(hostile: Report) -> None:
    accepted = baseline.failures(hostile.cases, Level.ERROR)
    assert {"lifecycle-event-after-finish", "event-type-unknown"} <= {e.rule for e in accepted}
    everything = copy.deepcopy(hostile)
    suite.apply_baseline(everything, baseline.Baseline(entries=accepted), Level.ERROR, "b.json")
    soup = _soup(everything)
    assert _one(soup, "#verdict")["data-verdict"] == "pass"
    assert _banner(soup).startswith(f"PASS — no new failures ({len(accepted)} known), ")
    assert _one(soup, "title").get_text().startswith("AG-UI conformance: PASS")
    # one rule's failures accepted, the other's new: the new one leads the summary
    partial = copy.deepcopy(hostile)
    known = [e for e in accepted if e.rule == "event-type-unknown"]
    suite.apply_baseline(partial, baseline.Baseline(entries=known), Level.ERROR, "b.json")
    soup = _soup(partial)
    new = len(accepted) - len(known)
    assert _one(soup, "#verdict")["data-verdict"] == "fail"
    assert _banner(soup).startswith(
        f"FAIL — {new} new failure{'s' if new > 1 else ''} ({len(known)} known), "
    )
    rules = [b["data-rule"] for b in soup.select("#failures .failed-rule")]
    assert rules[-1] == "event-type-unknown"  # catalog order puts it first; all known: last
    assert set(rules[:-1]) == {e.rule for e in accepted} - {"event-type-unknown"}
    assert list(catalog()).index("event-type-unknown") < min(
        list(catalog()).index(r) for r in rules[:-1]
    )
    assert "known" in _one(soup, '.failed-rule[data-rule="event-type-unknown"]')["class"]
    badges = {
        b.get_text() for b in soup.select('.failed-rule[data-rule="event-type-unknown"] li .badge')
    }
    assert badges == {"known"}
    badges = {
        b.get_text()
        for b in soup.select('.failed-rule[data-rule="lifecycle-event-after-finish"] li .badge')
    }
    assert badges == {"new"}


def test_a_passing_run_has_no_failure_summary_and_a_plain_banner() -> None:
    plan = suite.Plan(cases=[c for c in load_cases() if c.id == "minimal-input"], examples=0)
    with serve_app(agent(conformant_run)) as url:
        report = suite.run(RunnerConfig(url=url), plan, shown_target=url)
    soup = _soup(report)
    assert soup.select_one("#failures") is None
    assert _one(soup, "#verdict")["data-verdict"] == "pass"
    exercised, applicable = _exercised_applicable(report)
    pct = int(exercised * 1000 / applicable) / 10
    assert _banner(soup) == f"PASS, {exercised} of {applicable} rules exercised ({pct:g}%)"
    assert soup.select_one("#verdict-why") is None and soup.select_one("#verdict-baseline") is None


def _req(rule: str, status: str, exercised: bool) -> RequirementStatus:
    return RequirementStatus(
        rule=rule,
        title=rule,
        strength=Strength.MUST,
        level=Level.ERROR,
        category="lifecycle",
        spec="https://docs.ag-ui.com/spec/1.1/events",
        status=status,  # type: ignore[arg-type]
        exercised=exercised,
    )


def test_min_coverage_is_exact_and_not_applicable_rules_do_not_count() -> None:
    reqs = [
        _req("a", "passed", True),
        _req("b", "failed", True),
        _req("c", "not-exercised", False),
        _req("d", "not-applicable", True),  # exercised, but outside the profile
    ]
    two_thirds = coverage(reqs)
    assert (two_thirds.exercised, two_thirds.applicable, two_thirds.percent) == (2, 3, 66.6)
    assert coverage(reqs, 66.6).met
    assert not coverage(reqs, 66.7).met  # 66.66…% is below 66.7, whatever the display rounds
    assert coverage(reqs, 0).met and not coverage(reqs, 100).met
    assert coverage([_req("d", "not-applicable", False)], 50).percent == 0.0


def _run_cli(tmp_path: Path, *extra: str) -> tuple[int, str, dict[str, Any]]:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        main,
        ["run", "-k", "minimal-input", "--examples", "0", "--json", str(out), "--no-html", *extra],
    )
    return result.exit_code, result.output, json.loads(out.read_text())


def test_min_coverage_fails_the_verdict_even_under_fail_on_never(tmp_path: Path) -> None:
    code, output, data = _run_cli(tmp_path)
    cov = data["summary"]["coverage"]
    assert code == 0 and cov["minimum"] is None and cov["met"]
    line = next(x for x in output.splitlines() if x.startswith("verdict: "))
    assert line.startswith(f"verdict: PASS, {cov['exercised']} of {cov['applicable']} rules")
    above = cov["exercised"] * 100 / cov["applicable"] + 1
    code, output, data = _run_cli(tmp_path, "--min-coverage", f"{above:.1f}")
    assert code == 1
    assert data["summary"]["passed"] is False and data["summary"]["coverage"]["met"] is False
    assert f"coverage below --min-coverage {above:.1f}%" in output
    code, output, data = _run_cli(tmp_path, "--min-coverage", f"{above:.1f}", "--fail-on", "never")
    assert code == 1
    below = max(cov["percent"] - 1, 0)
    code, output, data = _run_cli(tmp_path, "--min-coverage", f"{below:.1f}")
    assert code == 0 and data["summary"]["coverage"]["met"] is True


def test_min_coverage_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--min-coverage", "101", "--no-html"])
    assert result.exit_code == 2 and "101" in result.output


def test_validate_html_hides_duration_and_seed_cards(tmp_path: Path) -> None:
    out = tmp_path / "v.html"
    result = CliRunner().invoke(
        main,
        ["validate", str(EXAMPLES / "buggy-run.jsonl"), "--input",
         str(EXAMPLES / "request.json"), "--format", "html", "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    soup = BeautifulSoup(out.read_text(), "html.parser")
    titles = [dt.get_text() for dt in soup.select(".facts dt")]
    assert "Duration" not in titles and not any("seed" in t for t in titles)
    assert "Coverage" in titles and "Target" in titles
    # the failure summary is there too, linked into the recording's transcript
    block = _one(soup, '#failures .failed-rule[data-rule="snake-case-key"]')
    anchor = recordings.case_id(str(EXAMPLES / "buggy-run.jsonl"))
    assert _one(block, "a.to-event")["href"] == f"#{anchor}-r0-e0"


def test_live_report_keeps_duration_and_seed_cards(hostile: Report) -> None:
    soup = _soup(hostile)
    assert soup.select_one("#card-duration") and soup.select_one("#card-generated")


def test_timeline_legend_names_each_mark_of_the_chart(hostile: Report) -> None:
    soup = _soup(hostile)
    charts = soup.select("svg.timeline")
    assert charts
    for chart in charts:
        legend = chart.find_next_sibling("div")
        assert legend is not None and "timeline-legend" in legend["class"]
        keys = legend.select(".key")
        text = legend.get_text(" ", strip=True)
        assert "events in each 1/60 of the run" in text
        assert "first event" in text and "longest gap" in text and "total" in text
        swatches = {el["class"][0] for k in keys for el in k.select("svg > *")}
        drawn = {el["class"][0] for el in chart.find_all(True) if el.get("class")}
        assert swatches == {"bar", "ttfe", "gap"} and drawn <= swatches


def _case_with_late_finding() -> Report:
    events = [{"type": "CUSTOM", "name": "n", "value": i} for i in range(MAX_ROWS + 500)]
    late = Finding(rule="lifecycle-event-after-finish", level=Level.ERROR, message="late one",
                   index=MAX_ROWS + 400)  # fmt: skip
    run = RunRecord(request={}, requestHeaders={}, status=200, responseHeaders={}, timing={},
                    events=events, findings=[late])  # fmt: skip
    stuck = CaseResult(id="stuck", title="t", requirements=[], expect="run", status="not-run",
                       reason="the agent stopped answering")  # fmt: skip
    long_case = CaseResult(id="long", title="t", requirements=[], expect="run", status="failed",
                           runs=[run])  # fmt: skip
    whole = Finding(rule="sse-line-ending", level=Level.ERROR, message="CRLF framing")
    framed = RunRecord(request={}, requestHeaders={}, status=200, responseHeaders={}, timing={},
                       events=[{"type": "RUN_STARTED"}], findings=[whole])  # fmt: skip
    crlf = CaseResult(id="crlf", title="t", requirements=[], expect="run", status="failed",
                      runs=[framed])  # fmt: skip
    return Report(tool=ToolInfo(version="0"), target="http://a/", profile="spec",
                  cases=[long_case, stuck, crlf])  # fmt: skip


def test_an_offence_past_the_transcript_rows_is_named_not_linked() -> None:
    soup = _soup(_case_with_late_finding())
    item = _one(soup, '#failures .failed-rule[data-rule="lifecycle-event-after-finish"] li')
    assert item.select_one("a.to-event") is None
    assert f"at event {MAX_ROWS + 400}" in item.get_text() and "late one" in item.get_text()
    framing = _one(soup, '#failures .failed-rule[data-rule="sse-line-ending"] li')
    assert framing.select_one("a.to-event") is None
    assert "on the stream as a whole — CRLF framing" in framing.get_text(" ", strip=True)
    failed_cases = [li["data-case"] for li in soup.select("#failures .failed-cases li")]
    assert failed_cases == ["stuck"]  # the others are listed under their rules
    stuck = _one(soup, '#failures .failed-cases li[data-case="stuck"]')
    assert "not-run" in stuck.get_text() and "stopped answering" in stuck.get_text()
    assert _banner(soup).startswith("FAIL (2 failed; 1 not run: the agent stopped answering), ")
