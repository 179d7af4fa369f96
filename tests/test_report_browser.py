"""The HTML report in a real browser: headless Chromium loads it with no console errors and
its filters work.

Needs Debian's `chromium` and the `playwright` package (a test extra). Where either is
missing the test skips with the reason, unless AGUI_REQUIRE_CHROMIUM=1 (`.ci/run` sets it
once it has installed chromium), where it fails instead. AGUI_SCREENSHOT=PATH also saves a
screenshot of the page (how docs/report-screenshot.png is made).
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agui_conformance import baseline, suite
from agui_conformance.cases import load_cases
from agui_conformance.model import Level, Report
from agui_conformance.report.html import to_html
from agui_conformance.rules import catalog
from agui_conformance.runner import RunnerConfig
from reference_agent.app import AgentConfig
from reference_agent.server import running_agent

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _chromium() -> str:
    binary = os.environ.get("AGUI_CHROMIUM") or shutil.which("chromium")
    missing = None
    if binary is None:
        missing = "Debian's chromium is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package is not installed (pip install -e '.[test]')"
    if missing is not None:
        if os.environ.get("AGUI_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"AGUI_REQUIRE_CHROMIUM=1 but {missing}")
        pytest.skip(missing)
    assert binary is not None
    return binary


def _watch(tab: Any, problems: list[str]) -> None:
    tab.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.on(
        "request",
        lambda r: None if r.url.startswith("file:") else problems.append(f"network fetch: {r.url}"),
    )


@pytest.fixture(scope="module")
def run_report() -> Report:
    plan = suite.Plan(cases=load_cases(), examples=0)
    with running_agent(AgentConfig(fault="unclosed-tool-call")) as agent:
        return suite.run(RunnerConfig(url=agent.url), plan, shown_target=agent.url)


@pytest.fixture(scope="module")
def browser(run_report: Report) -> Iterator[Any]:
    """Chromium, launched once the report is made (playwright's sync API holds an event
    loop of its own, where the suite's could not run)."""
    binary = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=binary, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


def _open(browser: Any, report: Report, folder: Path, width: int = 1280) -> tuple[Any, list[str]]:
    path = folder / f"compliance-{width}.html"
    path.write_text(to_html(report), encoding="utf-8")
    problems: list[str] = []
    tab = browser.new_page(viewport={"width": width, "height": 1500})
    _watch(tab, problems)
    tab.goto(path.as_uri())
    tab.wait_for_load_state("load")
    return tab, problems


@pytest.fixture(scope="module")
def page(
    browser: Any, run_report: Report, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, list[str]]]:
    tab, problems = _open(browser, run_report, tmp_path_factory.mktemp("report"))
    yield tab, problems
    tab.close()


def _visible_rows(tab: Any) -> list[dict[str, str]]:
    return list(
        tab.eval_on_selector_all(
            "#matrix tbody tr:not([hidden])",
            "rows => rows.map(r => ({rule: r.dataset.rule, status: r.dataset.status,"
            " category: r.dataset.category, level: r.dataset.level}))",
        )
    )


def test_report_loads_without_console_errors_or_fetches(page: tuple[Any, list[str]]) -> None:
    tab, problems = page
    assert tab.title().startswith("AG-UI conformance: FAIL")
    total = len(catalog())
    assert tab.locator("#matrix-count").inner_text().startswith(f"{total} of {total}")
    assert problems == []
    shot = os.environ.get("AGUI_SCREENSHOT")
    if shot:  # the top of the page: the verdict, what failed, the matrix's failed rows
        tab.select_option("#f-status", "failed")
        tab.check("#f-failed-cases")
        tab.screenshot(path=shot, full_page=True)
        tab.uncheck("#f-failed-cases")
        tab.select_option("#f-status", "")


def test_matrix_filters(page: tuple[Any, list[str]]) -> None:
    tab, problems = page
    tab.select_option("#f-status", "failed")
    assert [r["rule"] for r in _visible_rows(tab)] == ["item-open-at-finish"]
    tab.select_option("#f-status", "")
    tab.select_option("#f-category", "tool-calls")
    rows = _visible_rows(tab)
    assert rows and {r["category"] for r in rows} == {"tool-calls"}
    tab.select_option("#f-level", "warning")
    rows = _visible_rows(tab)
    assert rows and {(r["category"], r["level"]) for r in rows} == {("tool-calls", "warning")}
    tab.select_option("#f-category", "")
    tab.select_option("#f-level", "")
    tab.fill("#f-text", "run-id")
    rows = _visible_rows(tab)
    assert rows and all("run-id" in r["rule"] for r in rows)
    shown = f"{len(rows)} of {len(catalog())} requirements shown"
    assert tab.locator("#matrix-count").inner_text() == shown
    tab.fill("#f-text", "")
    assert len(_visible_rows(tab)) == len(catalog())
    assert problems == []


def test_failed_cases_filter_and_case_links(page: tuple[Any, list[str]]) -> None:
    tab, problems = page
    tab.check("#f-failed-cases")
    shown = tab.eval_on_selector_all(
        "details.case:not([hidden])", "els => els.map(e => e.dataset.status)"
    )
    assert shown == ["failed"]
    tab.uncheck("#f-failed-cases")
    assert tab.locator("details.case:not([hidden])").count() == len(load_cases())
    link = tab.locator('#matrix tr[data-rule="item-open-at-finish"] a.to-case')
    link.click()
    assert tab.locator("#case-frontend-tool-round-trip").evaluate("el => el.open")
    assert tab.locator("#case-frontend-tool-round-trip tr.bad").first.is_visible()
    assert problems == []


def test_screenshot_is_kept_in_docs() -> None:
    shot = Path(__file__).resolve().parents[1] / "docs" / "report-screenshot.png"
    assert shot.is_file() and shot.stat().st_size > 10_000, (
        "regenerate: AGUI_SCREENSHOT=docs/report-screenshot.png pytest tests/test_report_browser.py"
    )


def _top(tab: Any, selector: str) -> float:
    return float(tab.locator(selector).first.evaluate("el => el.getBoundingClientRect().top"))


def test_what_failed_comes_before_the_matrix(page: tuple[Any, list[str]]) -> None:
    tab, problems = page
    assert tab.locator("#failures").is_visible()
    assert _top(tab, "#verdict") < _top(tab, "#failures") < _top(tab, "#matrix")
    rules = tab.eval_on_selector_all(
        "#failures .failed-rule", "els => els.map(e => e.dataset.rule)"
    )
    assert rules == ["item-open-at-finish"]
    link = tab.locator("#failures a.to-event").first
    target = str(link.get_attribute("href"))
    assert target.startswith("#frontend-tool-round-trip-r")
    tab.evaluate("document.getElementById('case-frontend-tool-round-trip').open = false")
    link.click()
    row = tab.locator(target)
    assert row.is_visible() and "bad" in str(row.get_attribute("class"))
    in_view = "el => { const r = el.getBoundingClientRect(); return r.bottom <= innerHeight; }"
    top = row.evaluate("el => el.getBoundingClientRect().top")
    assert row.evaluate(in_view) and top >= -1, top
    assert problems == []


def test_verdict_shows_the_coverage(page: tuple[Any, list[str]], run_report: Report) -> None:
    tab, problems = page
    assert run_report.summary is not None and run_report.summary.coverage is not None
    seen: set[str] = set()
    for case in run_report.cases:
        seen.update(case.exercised, *(r.exercised for r in case.runs))
    applicable = {r.rule for r in run_report.requirements if r.status != "not-applicable"}
    figure = f"{len(seen & applicable)} of {len(applicable)} rules exercised"
    assert tab.locator("#verdict-coverage").inner_text().startswith(figure)
    line = str(tab.locator("#verdict .verdict-line").text_content())
    assert line.startswith(f"FAIL (1 failed), {figure} (")
    assert tab.locator("#verdict-coverage").is_visible()
    assert problems == []


def test_baseline_wording(
    browser: Any, run_report: Report, tmp_path_factory: pytest.TempPathFactory
) -> None:
    accepted = baseline.failures(run_report.cases, Level.ERROR)
    assert len(accepted) == 1
    known = copy.deepcopy(run_report)
    suite.apply_baseline(known, baseline.Baseline(entries=accepted), Level.ERROR, "b.json")
    tab, problems = _open(browser, known, tmp_path_factory.mktemp("baseline"))
    try:
        assert tab.locator("#verdict .big").inner_text() == "PASS"
        line = str(tab.locator("#verdict .verdict-line").text_content())
        assert line.startswith("PASS — no new failures (1 known), ")
        assert tab.locator("#failures .failed-rule.known").count() == 1
        assert tab.locator("#failures .badge.s-known-failure").inner_text() == "known"
        assert problems == []
    finally:
        tab.close()


def test_long_ids_wrap_at_their_hyphens(
    browser: Any, run_report: Report, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """On a narrow screen every rule id in the matrix breaks only after a hyphen, and none
    sticks out of its cell."""
    tab, problems = _open(browser, run_report, tmp_path_factory.mktemp("narrow"), width=420)
    try:
        breaks = tab.eval_on_selector_all(
            "#matrix td.mono a",
            """links => links.flatMap(a => {
              const text = a.firstChild, out = [];
              const range = document.createRange();
              let top = null;
              for (let i = 0; i < text.length; i++) {
                range.setStart(text, i); range.setEnd(text, i + 1);
                const rect = range.getBoundingClientRect();
                if (top !== null && rect.top > top + 2) out.push(text.data.slice(0, i));
                top = rect.top;
              }
              const cell = a.parentElement;
              if (cell.scrollWidth > cell.clientWidth + 1) out.push("OVERFLOW " + text.data);
              return out;
            })""",
        )
        assert breaks, "at 420 px some rule id must wrap (the test would prove nothing)"
        assert [b for b in breaks if not b.endswith("-")] == []
        assert problems == []
    finally:
        tab.close()


def test_timeline_has_a_legend(page: tuple[Any, list[str]]) -> None:
    tab, problems = page
    legend = tab.locator("#case-frontend-tool-round-trip .timeline-legend").first
    assert legend.is_visible()
    text = legend.inner_text()
    assert "first event" in text and "longest gap" in text and "events in each" in text
    paint = """el => { const s = getComputedStyle(el);
      return el.tagName === "line" ? s.stroke : s.fill; }"""
    for mark in ("bar", "ttfe", "gap"):  # each key drawn as the chart draws its mark
        chart = tab.locator(f"#case-frontend-tool-round-trip svg.timeline .{mark}").first
        key = legend.locator(f".{mark}")
        assert key.evaluate(paint) == chart.evaluate(paint), mark
    assert problems == []


def _protobuf_report() -> Report:
    chosen = {"minimal-input", "binding-negotiation"}
    plan = suite.Plan(cases=[c for c in load_cases() if c.id in chosen], examples=0)
    with running_agent(AgentConfig(fault="proto-truncated")) as agent:
        cfg = RunnerConfig(url=agent.url, binding="protobuf")
        return suite.run(cfg, plan, shown_target=agent.url)


def test_a_protobuf_runs_header_and_transcript_render(browser: Any, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # the suite's loop, away from playwright's
        report = pool.submit(_protobuf_report).result(timeout=120)
    tab, problems = _open(browser, report, tmp_path)
    try:
        case = tab.locator("#case-minimal-input")
        assert case.get_attribute("open") is not None  # failed: open by itself
        assert case.locator("summary .badge.binding").inner_text() == "protobuf"
        header = case.locator("section.run h3")
        assert header.locator(".binding").inner_text() == "protobuf served"
        assert header.is_visible() and "Accept: application/vnd.ag-ui.event+proto" in (
            header.inner_text()
        )
        rows = case.locator("section.run tr[data-index]")
        assert rows.count() >= 3 and "RUN_STARTED" in rows.first.inner_text()
        assert rows.first.is_visible()
        assert problems == []
    finally:
        tab.close()
