"""The verdict in words, the same on the terminal and in the HTML banner.

Owns the wording of a suite run's outcome: PASS, FAIL or INCOMPLETE; against
a baseline, how many failures are new and how many known; why a failed run
failed; and the coverage ("79 of 138 rules exercised"). Reads the `Summary`
and the baseline comparison only; it decides nothing (matrix.summarize does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agui_conformance.model import BaselineComparison, CaseResult, Coverage, Summary

# Case statuses that fail a run without a baseline, and how the verdict names them.
_WHY = (
    ("failed", "failed"),
    ("agent-error", "ended in the agent's own error (RUN_ERROR)"),
    ("not-run", "not run: the agent stopped answering"),
    ("harness-error", "harness error(s)"),
)
# The reason runner.Watch gives the cases it did not run once `run -x N` was reached.
MAXFAIL_REASON = "not run: --maxfail"
_WHY_MAXFAIL = "not run: --maxfail reached"
# With a baseline, only these still fail it beside new failures (suite.mark_and_summarize).
_WHY_WITH_BASELINE = ("not-run", "harness-error")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _percent(value: float) -> str:
    return f"{value:g}%"


def coverage_text(coverage: Coverage) -> str:
    """'79 of 138 rules exercised (57.2%)'."""
    return (
        f"{coverage.exercised} of {_plural(coverage.applicable, 'rule')} exercised "
        f"({_percent(coverage.percent)})"
    )


@dataclass
class Verdict:
    word: str  # PASS | FAIL | INCOMPLETE
    baseline: str | None = None  # "no new failures (1 known)" | "2 new failures (1 known)"
    reasons: list[str] = field(default_factory=list)  # why a FAIL failed
    coverage: str | None = None  # "79 of 138 rules exercised (57.2%)"

    @property
    def kind(self) -> str:
        return self.word.lower()

    def text(self) -> str:
        """'PASS — no new failures (1 known), 79 of 138 rules exercised (57.2%)'."""
        out = self.word
        if self.baseline:
            out += f" — {self.baseline}"
        if self.reasons:
            out += " (" + "; ".join(self.reasons) + ")"
        if self.coverage:
            out += f", {self.coverage}"
        return out


def verdict(
    summary: Summary,
    baseline: BaselineComparison | None = None,
    cases: Sequence[CaseResult] = (),
) -> Verdict:
    """`cases` (the report's) tell why cases were not run: the agent stopped answering, or
    `--maxfail` was reached."""
    maxfail = any(c.status == "not-run" and c.reason.startswith(MAXFAIL_REASON) for c in cases)
    if summary.conformance == "incomplete":
        word = "INCOMPLETE"
    else:
        word = "PASS" if summary.passed else "FAIL"
    out = Verdict(word=word)
    if baseline is not None:
        known = f"({len(baseline.known)} known)"
        new = len(baseline.new)
        out.baseline = (
            f"{_plural(new, 'new failure')} {known}" if new else f"no new failures {known}"
        )
    if not summary.passed:
        counts = summary.cases
        statuses = _WHY_WITH_BASELINE if baseline is not None else tuple(s for s, _ in _WHY)
        out.reasons = [
            f"{counts[status]} {_WHY_MAXFAIL if status == 'not-run' and maxfail else label}"
            for status, label in _WHY
            if status in statuses and counts.get(status)
        ]
        coverage = summary.coverage
        if coverage is not None and not coverage.met and coverage.minimum is not None:
            out.reasons.append(f"coverage below --min-coverage {_percent(coverage.minimum)}")
        if not out.reasons and not (baseline is not None and baseline.new):
            out.reasons = ["no case passed on observed evidence"]
    if summary.coverage is not None:
        out.coverage = coverage_text(summary.coverage)
    return out
