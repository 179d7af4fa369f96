"""Findings about the target as a whole, reported once.

Some rules say something of the agent, not of one run: a producer that never declares its
protocol version omits it from every RUN_STARTED. Reported per run, one such fact becomes
twenty findings and fails every case. Owns folding each such rule into its first finding,
which then names every case it was seen in; the cases are judged again afterwards.
"""

from __future__ import annotations

from dataclasses import replace

from agui_conformance.model import CaseResult, Finding

# rule -> what its folded finding adds
TARGET_WIDE: dict[str, str] = {
    "version-missing": (
        "The agent declares no protocolVersion on any RUN_STARTED, which reads as a "
        "pre-versioning producer"
    ),
}
MAX_NAMED = 12


def fold(cases: list[CaseResult]) -> list[CaseResult]:
    """Keep the first finding of each target-wide rule, naming every case it was seen in;
    drop the others. Returns the cases whose findings changed (to be judged again)."""
    changed: list[CaseResult] = []
    for rule, summary in TARGET_WIDE.items():
        first: tuple[CaseResult, int, int, Finding] | None = None
        seen: list[str] = []
        count = 0
        for case in cases:
            for r, run in enumerate(case.runs):
                for f, finding in enumerate(run.findings):
                    if finding.rule != rule:
                        continue
                    count += 1
                    if case.id not in seen:
                        seen.append(case.id)
                    if first is None:
                        first = (case, r, f, finding)
        if first is None or count == 1:
            continue
        keep_case, keep_run, keep_index, kept = first
        named = ", ".join(seen[:MAX_NAMED]) + (
            f" and {len(seen) - MAX_NAMED} more" if len(seen) > MAX_NAMED else ""
        )
        message = (
            f"{summary}: seen {count} times in {len(seen)} case(s) ({named}); "
            f"reported once for the target. First: {kept.message}"
        )
        for case in cases:
            touched = False
            for run in case.runs:
                before = len(run.findings)
                run.findings = [x for x in run.findings if x.rule != rule]
                touched = touched or len(run.findings) != before
            if touched and case is not keep_case:
                changed.append(case)
        keep_case.runs[keep_run].findings.insert(keep_index, replace(kept, message=message))
    return changed
