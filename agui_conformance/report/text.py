"""Plain-text report of recordings: one section per recording, one block per rule broken.

run.jsonl:2: error item-not-open @event 1: TEXT_MESSAGE_CONTENT for message m1, which is ...
run.jsonl:3: error item-not-open @event 2: ...
run.jsonl:4: error item-not-open @event 3: ...
  … and 5 more at events 4, 5, 6, 7, 8
  fix: Send TEXT_MESSAGE_START before ...
  spec: https://docs.ag-ui.com/spec/1.1/events/text-messages#...
8 errors, 0 warnings, 0 info in 10 events from run.jsonl — not conformant (profile spec)

With several recordings, each has its section (a recording that could not be read is one
line, `path: cannot read ...`), and a last line counts them. Reads the Report only.
"""

from __future__ import annotations

from agui_conformance.model import CaseResult, Report, RunRecord
from agui_conformance.records import Finding, Level, ValidationResult
from agui_conformance.redact import printable

SHOWN_PER_RULE = 3
LISTED_PER_RULE = 10
_COLORS = {Level.ERROR: "\033[31m", Level.WARNING: "\033[33m", Level.INFO: "\033[36m"}
_DIM = "\033[2m"
_RESET = "\033[0m"
_LAST = 1 << 62


def _where(finding: Finding) -> str:
    return "stream" if finding.index is None else f"event {finding.index}"


def _location(source: str, result: ValidationResult, finding: Finding) -> str:
    """`path:line: ` (an editor or terminal jumps there), `path: ` when the line is not
    known (a stream-level finding, a JSON document), nothing without a source."""
    if not source:
        return ""
    line = None if finding.index is None else result.lines.get(finding.index)
    return printable(f"{source}:{line}: " if line is not None else f"{source}: ")


def _at(findings: list[Finding]) -> str:
    """'events 4, 5, 6' (stream-level occurrences last, as 'the stream')."""
    indexes = [str(f.index) for f in findings if f.index is not None]
    parts = []
    if indexes:
        parts.append(("event " if len(indexes) == 1 else "events ") + ", ".join(indexes))
    if any(f.index is None for f in findings):
        parts.append("the stream")
    return ", ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def to_text(result: ValidationResult, source: str = "", *, color: bool = False) -> str:
    """The report for people. `color` adds ANSI colors (callers pass it only for a TTY)."""
    groups: dict[str, list[Finding]] = {}
    for finding in result.findings:
        groups.setdefault(finding.rule, []).append(finding)
    ordered = sorted(
        groups.values(),
        key=lambda fs: (-fs[0].level.rank, fs[0].index if fs[0].index is not None else _LAST),
    )
    lines: list[str] = []
    for findings in ordered:
        first = findings[0]
        level = first.level.value
        if color:
            level = f"{_COLORS[first.level]}{level}{_RESET}"
        for finding in findings[:SHOWN_PER_RULE]:
            pointer = f" {finding.pointer}" if finding.pointer else ""
            said = printable(f"{finding.rule} @{_where(finding)}{pointer}: {finding.message}")
            # agent-chosen text: no escape reaches a terminal
            lines.append(f"{_location(source, result, finding)}{level} {said}")
        rest = findings[SHOWN_PER_RULE:]
        if rest:
            more = ", …" if len(rest) > LISTED_PER_RULE else ""
            lines.append(f"  … and {len(rest)} more at {_at(rest[:LISTED_PER_RULE])}{more}")
        detail = [f"  fix: {first.hint}", f"  spec: {first.spec}"]
        if color:
            detail = [f"{_DIM}{line}{_RESET}" for line in detail]
        lines += detail
    lines.append(summary(result, source))
    return "\n".join(lines) + "\n"


def summary(result: ValidationResult, source: str = "") -> str:
    """'2 errors, 1 warning, 0 info in 12 events from x.jsonl — not conformant (profile spec)'.

    The verdict is the spec's: conformant means no error-level finding (SHOULD departures
    are not violations), whatever `--fail-on` makes of warnings."""
    counts = dict.fromkeys(Level, 0)
    for finding in result.findings:
        counts[finding.level] += 1
    verdict = "not conformant" if counts[Level.ERROR] else "conformant"
    where = f" from {printable(source)}" if source else ""
    return (
        f"{_plural(counts[Level.ERROR], 'error')}, {_plural(counts[Level.WARNING], 'warning')}, "
        f"{counts[Level.INFO]} info in {_plural(result.events, 'event')}{where} — {verdict} "
        f"(profile {result.profile})"
    )


def run_result(run: RunRecord, profile: str) -> ValidationResult:
    """A recording's run as the validator's result: its findings, event count and lines."""
    lines = {int(index): line for index, line in run.eventLines.items()}
    return ValidationResult(
        findings=run.findings, events=run.event_count, profile=profile, lines=lines
    )


def _refusal(case: CaseResult) -> str:
    """A recording that could not be validated: the reason names it."""
    return printable(f"not validated: {case.reason}")


def report_to_text(report: Report, *, color: bool = False) -> str:
    """Every recording of `report` as its section; with several, a closing count."""
    sections = []
    for case in report.cases:
        if case.status == "harness-error" or not case.runs:
            sections.append(_refusal(case) + "\n")
            continue
        run = case.runs[0]
        source = run.recording or case.id
        sections.append(to_text(run_result(run, report.profile), source, color=color))
    if len(report.cases) > 1:
        sections.append(closing(report) + "\n")
    return "".join(sections)


def report_summary(report: Report) -> str:
    """The last line a person reads: the recording's summary, or the closing count."""
    if len(report.cases) == 1:
        case = report.cases[0]
        if case.status == "harness-error" or not case.runs:
            return _refusal(case)
        run = case.runs[0]
        return summary(run_result(run, report.profile), run.recording or case.id)
    return closing(report)


def closing(report: Report) -> str:
    """'3 recordings, 5,120 events: 1 not conformant, 1 not validated, 1 conformant
    (profile spec)'; conformant as in `summary` (no error-level finding)."""
    counts = {"not conformant": 0, "not validated": 0, "conformant": 0}
    events = 0
    for case in report.cases:
        if case.status == "harness-error" or not case.runs:
            counts["not validated"] += 1
            continue
        events += case.runs[0].event_count
        errors = any(f.level is Level.ERROR for f in case.findings)
        counts["not conformant" if errors else "conformant"] += 1
    said = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
    return (
        f"{_plural(len(report.cases), 'recording')}, {_plural(events, 'event')}: {said} "
        f"(profile {report.profile})"
    )
