"""The HTML report is bounded (issue "Bounded everywhere", item 2).

`validate --format html` of 1M invalid lines took 41 s, 2 GB RSS and wrote a
252 MB page. The page now groups repeated findings with counts, embeds the
first events of a stream and the first findings of a rule, and says what it
left out; the recording is read in bounded memory.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from agui_conformance.model import CaseResult, Finding, Level, Report, RunRecord, ToolInfo
from agui_conformance.report import transcript
from agui_conformance.report.html import to_html
from tests.bounded_run import run_cli


@pytest.mark.slow
def test_a_million_invalid_lines_make_a_small_page_in_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "invalid.jsonl"
    with source.open("w") as out:
        for n in range(1_000_000):
            out.write(f"not json {n}\n")
    page = tmp_path / "report.html"
    done = run_cli(["validate", str(source), "--format", "html", "-o", str(page)], timeout=60)
    assert not done.timed_out and done.returncode == 1, done.stderr[-2000:]
    assert done.peak_rss < 512 << 20, done.peak_rss
    assert page.stat().st_size < 5 << 20, page.stat().st_size
    soup = BeautifulSoup(page.read_text(), "html.parser")
    assert "1,000,000 events" in soup.select_one("section.run h3").get_text()  # type: ignore[union-attr]
    [group] = soup.select("table.groups tbody tr")
    assert group["data-group"] == "event-not-json"
    assert "1,000" in group.get_text() and "… and 990 more" in group.get_text()
    left_out = soup.select_one(".events-left-out").get_text()  # type: ignore[union-attr]
    assert "998,000 event(s) are left out" in left_out
    assert soup.select_one(".capped") is not None  # the validator's per-rule cap is said
    assert len(soup.select("table.transcript tbody tr")) <= transcript.MAX_ROWS


def _finding(rule: str, index: int | None, message: str) -> Finding:
    return Finding(rule=rule, level=Level.ERROR, message=message, index=index, hint="Do it.")


def _report(findings: list[Finding], events: list[object], omitted: int = 0) -> Report:
    run = RunRecord(
        request={},
        requestHeaders={},
        status=200,
        responseHeaders={},
        timing={},
        events=events,
        eventsOmitted=omitted,
        findings=findings,
    )
    case = CaseResult(
        id="big", title="big", requirements=[], expect="run", status="failed", runs=[run]
    )
    return Report(tool=ToolInfo(version="0"), target="http://x", profile="spec", cases=[case])


def test_repeated_findings_are_grouped_by_rule_and_message_pattern() -> None:
    findings = [
        _finding("item-not-open", n, f"TEXT_MESSAGE_CONTENT for message `m{n}`, which is not open.")
        for n in range(50)
    ]
    findings += [_finding("stream-truncated", None, "The stream ended without RUN_FINISHED.")]
    findings += [_finding("item-not-open", 60, "TOOL_CALL_ARGS for tool call `c`, never opened.")]
    groups = transcript.groups(findings)
    assert [(g.first.rule, g.count, g.more) for g in groups] == [
        ("item-not-open", 50, 40),
        ("item-not-open", 1, 0),
        ("stream-truncated", 1, 0),
    ]
    assert groups[0].where == list(range(10)) and groups[2].whole_stream


def test_the_page_shows_the_first_findings_of_a_rule_in_full_and_marks_the_rest() -> None:
    events: list[object] = [f"garbage {n}" for n in range(3_000)]
    findings = [_finding("event-not-json", n, f"Payload {n} is not JSON.") for n in range(1_000)]
    html = to_html(_report(findings, events, omitted=7_000))
    assert len(html.encode()) < 2 << 20
    soup = BeautifulSoup(html, "html.parser")
    assert len(soup.select("table.transcript .finding")) == transcript.FULL_PER_RULE
    assert len(soup.select("table.transcript .mark")) == 1_000 - transcript.FULL_PER_RULE
    assert len(soup.select("table.transcript tbody tr")) == transcript.MAX_ROWS
    left_out = soup.select_one(".events-left-out").get_text()  # type: ignore[union-attr]
    assert "of 10,000" in left_out and "8,000 event(s) are left out" in left_out
    assert soup.select_one(".capped") is not None


def test_groups_past_the_cap_are_counted() -> None:
    findings = [_finding(f"rule-{n}", n, "Same words.") for n in range(transcript.MAX_GROUPS + 5)]
    soup = BeautifulSoup(to_html(_report(findings, ["x"] * 200)), "html.parser")
    assert len(soup.select("table.groups tbody tr")) == transcript.MAX_GROUPS
    note = soup.select_one(".groups-left-out").get_text()  # type: ignore[union-attr]
    assert "5 more group(s) (5 findings)" in note
