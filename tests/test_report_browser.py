"""The HTML report in a real browser: headless Chromium loads it with no console errors and
its filters work.

Needs Debian's `chromium` and the `playwright` package (a test extra). Where either is
missing the test skips with the reason, unless AGUI_REQUIRE_CHROMIUM=1 (`.ci/run` sets it
once it has installed chromium), where it fails instead. AGUI_SCREENSHOT=PATH also saves a
screenshot of the page (how docs/report-screenshot.png is made).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agui_conformance import suite
from agui_conformance.cases import load_cases
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


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, list[str]]]:
    binary = _chromium()
    from playwright.sync_api import sync_playwright

    plan = suite.Plan(cases=load_cases(), examples=0)
    with running_agent(AgentConfig(fault="unclosed-tool-call")) as agent:
        report = suite.run(RunnerConfig(url=agent.url), plan, shown_target=agent.url)
    path = tmp_path_factory.mktemp("report") / "compliance.html"
    path.write_text(to_html(report), encoding="utf-8")
    problems: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=binary, args=CHROMIUM_FLAGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 1500})
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
                lambda r: (
                    None
                    if r.url.startswith("file:")
                    else problems.append(f"network fetch: {r.url}")
                ),
            )
            tab.goto(path.as_uri())
            tab.wait_for_load_state("load")
            yield tab, problems
        finally:
            browser.close()


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
    if shot:
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
