"""The formatter registry: every format a command writes or prints, in one place.

Each format takes a `Report` (a suite run, a proxy session, or `validate`'s recordings,
one case each) and is what every face writes: `validate --format` (every format), `run`
(its files and `--format`), `proxy` and the pytest plugin (`--agui-json`, `--agui-html`,
`--agui-format`). `text` is the recordings' report (one section each); `run`'s text is
printed case by case as the run goes, its closing lines from `rule_summary`. `json` is the
one JSON writer (`schemas/report.schema.json`). A format's module is imported when it is
used, so `validate --format text` loads no template engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agui_conformance.model import Report


@dataclass(frozen=True)
class ReportFormat:
    """One way to write a Report: `render(report, artifact)` (`artifact`: the report file
    other formats point at, SARIF's location for a live run), the label of the line naming
    the file, and whether `--format` prints it after the run's own lines instead of writing
    a file."""

    render: Callable[[Report, str], str]
    label: str
    printed: bool = False


def _text(report: Report, _artifact: str) -> str:
    from agui_conformance.report.text import report_to_text

    return report_to_text(report)


def _json(report: Report, _artifact: str) -> str:
    from agui_conformance.report.json_report import report_to_json

    return report_to_json(report)


def _junit(report: Report, _artifact: str) -> str:
    from agui_conformance.report.junit import report_to_junit

    return report_to_junit(report)


def _sarif(report: Report, artifact: str) -> str:
    from agui_conformance.report.sarif import report_to_sarif

    return report_to_sarif(report, artifact)


def _html(report: Report, _artifact: str) -> str:
    from agui_conformance.report.html import to_html  # jinja2: only when a page is written

    return to_html(report)


def _github(report: Report, _artifact: str) -> str:
    from agui_conformance.report.github import report_to_github

    return report_to_github(report)


REPORT_FORMATS: dict[str, ReportFormat] = {
    "text": ReportFormat(_text, "text report"),
    "json": ReportFormat(_json, "JSON report"),
    "junit": ReportFormat(_junit, "JUnit report"),
    "sarif": ReportFormat(_sarif, "SARIF report"),
    "html": ReportFormat(_html, "HTML report"),
    "github": ReportFormat(_github, "GitHub annotations", printed=True),
}
PRINTED_FORMATS = tuple(name for name, fmt in REPORT_FORMATS.items() if fmt.printed)
DEFAULT_ARTIFACT = "reports/compliance.json"


def render_report(
    fmt: str, report: Report, artifact: str = DEFAULT_ARTIFACT, *, color: bool = False
) -> str:
    """`report` in format `fmt` (a key of REPORT_FORMATS); `color`: ANSI colors in `text`
    (for a person at a terminal)."""
    if fmt == "text" and color:
        from agui_conformance.report.text import report_to_text

        return report_to_text(report, color=True)
    return REPORT_FORMATS[fmt].render(report, artifact)
