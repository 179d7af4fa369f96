"""Plain-text report: one block per rule broken, occurrences grouped."""

from __future__ import annotations

from agui_conformance.model import Finding, Level, ValidationResult

SHOWN_PER_RULE = 3
_COLORS = {Level.ERROR: "\033[31m", Level.WARNING: "\033[33m", Level.INFO: "\033[36m"}
_RESET = "\033[0m"


def _where(finding: Finding) -> str:
    return "stream" if finding.index is None else f"event {finding.index}"


def to_text(result: ValidationResult, source: str = "", *, color: bool = False) -> str:
    groups: dict[str, list[Finding]] = {}
    for finding in result.findings:
        groups.setdefault(finding.rule, []).append(finding)
    ordered = sorted(
        groups.values(),
        key=lambda fs: (-fs[0].level.rank, fs[0].index if fs[0].index is not None else 1 << 62),
    )
    lines: list[str] = []
    for findings in ordered:
        first = findings[0]
        level = first.level.value
        if color:
            level = f"{_COLORS[first.level]}{level}{_RESET}"
        for finding in findings[:SHOWN_PER_RULE]:
            pointer = f" {finding.pointer}" if finding.pointer else ""
            lines.append(f"{level} {finding.rule} @{_where(finding)}{pointer}: {finding.message}")
        rest = findings[SHOWN_PER_RULE:]
        if rest:
            at = ", ".join(_where(f) for f in rest[:10])
            more = ", …" if len(rest) > 10 else ""
            lines.append(f"  … and {len(rest)} more at {at}{more}")
        lines.append(f"  fix: {first.hint}")
        lines.append(f"  spec: {first.spec}")
    lines.append(summary(result, source))
    return "\n".join(lines) + "\n"


def summary(result: ValidationResult, source: str = "") -> str:
    counts = {lv: 0 for lv in Level}
    for finding in result.findings:
        counts[finding.level] += 1
    verdict = "not conformant" if counts[Level.ERROR] else "conformant"
    where = f" in {source}" if source else ""
    return (
        f"{counts[Level.ERROR]} error(s), {counts[Level.WARNING]} warning(s), "
        f"{counts[Level.INFO]} info in {result.events} event(s){where}: {verdict} "
        f"(profile {result.profile})"
    )
