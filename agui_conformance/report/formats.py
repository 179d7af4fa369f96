"""The formatter registry: every format a command writes or prints, in one place.

`validate` formats take the ValidationResult and where it came from. Report formats
(`REPORT_FORMATS`: json, junit, sarif, html, github) take a suite's Report and are what
every face writes: `run` (its files and `--format`), `proxy` and the pytest plugin
(`--agui-json`, `--agui-html`, `--agui-format`). `run`'s text is printed case by case as
the run goes, its closing lines from `rule_summary`. `validate --format html` renders a
Report made from the recording (`recording_report`) as the `html` entry does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agui_conformance.records import ValidationResult
from agui_conformance.report.github import report_to_github, result_to_github
from agui_conformance.report.json_report import to_json
from agui_conformance.report.sarif import to_sarif
from agui_conformance.report.text import to_text

if TYPE_CHECKING:
    from agui_conformance.model import Report


@dataclass(frozen=True)
class Source:
    """Where a validated recording came from: its name, and whether its line numbers mean
    something (a file; not stdin)."""

    name: str
    is_file: bool = True
    color: bool = False


ResultFormatter = Callable[[ValidationResult, Source], str]

VALIDATION_FORMATS: dict[str, ResultFormatter] = {
    "text": lambda result, src: to_text(result, src.name, color=src.color),
    "json": lambda result, src: to_json(result, src.name),
    "sarif": lambda result, src: to_sarif(
        result, src.name, lines=result.lines if src.is_file else None
    ),
    "github": lambda result, src: result_to_github(result, src.name, lines=src.is_file),
}


@dataclass(frozen=True)
class ReportFormat:
    """One way to write a Report: `render(report, artifact)` (`artifact`: the report file
    other formats point at, SARIF's location), the label of the line naming the file, and
    whether `--format` prints it after the run's own lines instead of writing a file."""

    render: Callable[[Report, str], str]
    label: str
    printed: bool = False


def _json(report: Report, _artifact: str) -> str:
    from agui_conformance.report.json_report import report_to_json

    return report_to_json(report)


def _junit(report: Report, _artifact: str) -> str:
    from agui_conformance.records import fail_level
    from agui_conformance.report.junit import to_junit

    return to_junit(report.cases, fail_on=fail_level(report.failOn))


def _sarif(report: Report, artifact: str) -> str:
    from agui_conformance.report.sarif import report_to_sarif

    return report_to_sarif(report, artifact)


def _html(report: Report, _artifact: str) -> str:
    from agui_conformance.report.html import to_html  # jinja2: only when a page is written

    return to_html(report)


def _github(report: Report, _artifact: str) -> str:
    return report_to_github(report)


REPORT_FORMATS: dict[str, ReportFormat] = {
    "json": ReportFormat(_json, "JSON report"),
    "junit": ReportFormat(_junit, "JUnit report"),
    "sarif": ReportFormat(_sarif, "SARIF report"),
    "html": ReportFormat(_html, "HTML report"),
    "github": ReportFormat(_github, "GitHub annotations", printed=True),
}
PRINTED_FORMATS = tuple(name for name, fmt in REPORT_FORMATS.items() if fmt.printed)
DEFAULT_ARTIFACT = "reports/compliance.json"


def render_report(fmt: str, report: Report, artifact: str = DEFAULT_ARTIFACT) -> str:
    """`report` in format `fmt` (a key of REPORT_FORMATS)."""
    return REPORT_FORMATS[fmt].render(report, artifact)


def format_result(fmt: str, result: ValidationResult, source: Source) -> str:
    return VALIDATION_FORMATS[fmt](result, source)
