"""The end of `run`: what broke, grouped by rule, errors first.

    error lifecycle-event-after-finish ×22 in 16 cases
        fix: Send nothing after RUN_FINISHED ...
        reproduce: agui-conformance run --case minimal-input --examples 0

One entry per rule with findings at warning or above, each with the rule's fix and the
reproducer of the first case that broke it (`reproduce.case_command`, from the report's
`runArgs`); at most `limit` rules, then how many more. Every line through
`redact.printable` (messages and hints may quote the agent).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agui_conformance.model import Finding, Level, Report
from agui_conformance.redact import printable
from agui_conformance.reproduce import case_command

LIMIT = 20


@dataclass
class RuleGroup:
    first: Finding
    count: int = 0
    cases: list[str] = field(default_factory=list)  # in report order, the first one first


def groups(report: Report, lowest: Level = Level.WARNING) -> list[RuleGroup]:
    """Rules with findings at `lowest` or above: errors first, then the most cases."""
    found: dict[str, RuleGroup] = {}
    for case in report.cases:
        for run in case.runs:
            for finding in run.findings:
                if finding.level.rank < lowest.rank:
                    continue
                group = found.setdefault(finding.rule, RuleGroup(finding))
                if finding.level.rank > group.first.level.rank:
                    group.first = finding
                group.count += 1
                if case.id not in group.cases:
                    group.cases.append(case.id)
    return sorted(
        found.values(),
        key=lambda g: (-g.first.level.rank, -len(g.cases), -g.count, g.first.rule),
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_lines(report: Report, limit: int = LIMIT) -> list[str]:
    """The summary's lines (none when nothing at warning or above was found)."""
    found = groups(report)
    if not found:
        return []
    lines = [f"findings by rule ({_plural(len(found), 'rule')}):"]
    for group in found[:limit]:
        first = group.first
        lines.append(
            f"  {first.level.value} {first.rule} ×{group.count} in "
            f"{_plural(len(group.cases), 'case')}"
        )
        if first.hint:
            lines.append(f"      fix: {first.hint}")
        command = case_command(
            report.runArgs, group.cases[0], examples=report.examples, seed=report.seed
        )
        lines.append(f"      reproduce: {command}")
    if len(found) > limit:
        lines.append(f"  … and {len(found) - limit} more rules (see the report)")
    return [printable(line) for line in lines]
