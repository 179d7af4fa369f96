"""GitHub Actions annotations: one workflow command a line, read from a step's output.

`validate`: `::error file=PATH,line=N,title=RULE::MESSAGE` (the recording's line, when
known; a recording that could not be read: `::error file=PATH::REASON`). `run` has no
file: `::error title=RULE (CASE)::MESSAGE`, one per rule and case.
Escaped as the runner reads them: `%`, CR and LF in the message; `,` and `:` too in a
property. Levels: error -> error, warning -> warning, info -> notice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agui_conformance.records import Finding, Level
from agui_conformance.redact import printable

if TYPE_CHECKING:
    from agui_conformance.model import Report

COMMAND = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "notice"}
MAX_ANNOTATIONS = 50  # what GitHub shows of a job; the rest are counted in a last notice


def escape_data(text: str) -> str:
    return printable(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: Level, message: str, **properties: str | int | None) -> str:
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None
    )
    return f"::{COMMAND[level]} {props}::{escape_data(message)}"


def _bounded(lines: list[str], total: int) -> str:
    if total > len(lines):
        more = total - len(lines)
        lines.append(f"::notice title=agui-conformance::and {more} more (see the report)")
    return "".join(line + "\n" for line in lines)


def report_to_github(report: Report) -> str:
    """Recordings (`validate`): one annotation per finding, at the recording's file and
    line (not for standard input), and one per recording that could not be read. A live
    run: one per (case, rule), the first finding's message and how many more."""
    if report.cases and all(c.expect == "recording" for c in report.cases):
        return _recordings(report)
    threshold = Level.WARNING
    groups: dict[tuple[str, str], list[Finding]] = {}
    for case in report.cases:
        for run in case.runs:
            for finding in run.findings:
                if finding.level.rank >= threshold.rank:
                    groups.setdefault((case.id, finding.rule), []).append(finding)
    ordered = sorted(groups.items(), key=lambda item: -item[1][0].level.rank)
    shown = []
    for (case_id, rule), findings in ordered[:MAX_ANNOTATIONS]:
        first = findings[0]
        times = f" (×{len(findings)})" if len(findings) > 1 else ""
        shown.append(annotation(first.level, first.message + times, title=f"{rule} ({case_id})"))
    return _bounded(shown, len(ordered))


def _recordings(report: Report) -> str:
    located: list[tuple[Finding, str | None, int | None]] = []
    refused: list[str] = []
    for case in report.cases:
        for run in case.runs:
            file = run.recording if run.recording not in (None, "stdin") else None
            if run.harnessError is not None:
                refused.append(annotation(Level.ERROR, run.harnessError, file=file))
            for finding in run.findings:
                index = finding.index
                line = None if index is None or file is None else run.eventLines.get(str(index))
                located.append((finding, file, line))
    located.sort(key=lambda item: -item[0].level.rank)  # stable: file and stream order
    shown = refused[:MAX_ANNOTATIONS]
    for finding, file, line in located[: MAX_ANNOTATIONS - len(shown)]:
        shown.append(annotation(finding.level, finding.message, file=file, line=line,
                                title=finding.rule))  # fmt: skip
    return _bounded(shown, len(located) + len(refused))
