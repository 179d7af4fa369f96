"""The formatter registry: every `--format` a command offers, in one place.

`validate` formats take the ValidationResult and where it came from; `run` formats take
the suite's Report. `html` is not here: it reads the recording again
(`recording_report`) and is written by the command itself.
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
ReportFormatter = Callable[["Report"], str]

VALIDATION_FORMATS: dict[str, ResultFormatter] = {
    "text": lambda result, src: to_text(result, src.name, color=src.color),
    "json": lambda result, src: to_json(result, src.name),
    "sarif": lambda result, src: to_sarif(
        result, src.name, lines=result.lines if src.is_file else None
    ),
    "github": lambda result, src: result_to_github(result, src.name, lines=src.is_file),
}

# `run` prints its own lines as the cases end ("text"); these are printed after them
REPORT_FORMATS: dict[str, ReportFormatter] = {"github": report_to_github}


def format_result(fmt: str, result: ValidationResult, source: Source) -> str:
    return VALIDATION_FORMATS[fmt](result, source)
