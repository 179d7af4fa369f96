"""The expected-failures baseline: adopt the suite gradually, fail only on new regressions.

Owns the baseline file (which case broke which rule, as a team accepted it),
comparing a run with it (known, new and stale failures) and writing it anew.
A failure is a (case id, rule id) pair with a finding at or above the
fail-on level; a known one does not fail the run, a new one does, and a
baseline entry whose case ran without that failure is reported as stale (the
agent got better: remove the entry, or `--update-baseline`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from agui_conformance.model import BaselineComparison, BaselineEntry, CaseResult, Level

BASELINE_VERSION = 1
KNOWN_FAILURE = "known-failure"


Entry = BaselineEntry


class Baseline(BaseModel):
    """A baseline file: `entries` required and nothing else, so that another JSON file
    given by mistake (a request, a report) is refused rather than read as empty."""

    model_config = ConfigDict(extra="forbid")

    version: int = BASELINE_VERSION
    profile: str = "spec"
    entries: list[Entry]

    def keys(self) -> set[tuple[str, str]]:
        return {(e.case, e.rule) for e in self.entries}


Comparison = BaselineComparison


def failures(cases: Iterable[CaseResult], fail_on: Level) -> list[Entry]:
    """Each (case, rule) pair with a finding at or above `fail_on`, in run order."""
    out: dict[tuple[str, str], Entry] = {}
    for case in cases:
        for finding in case.findings:
            if finding.level.rank >= fail_on.rank:
                out.setdefault(
                    (case.id, finding.rule),
                    Entry(case=case.id, rule=finding.rule, message=finding.message[:200]),
                )
    return list(out.values())


def load(path: str | Path) -> Baseline:
    """Read a baseline; ValueError (with the reason) when it is unreadable or malformed."""
    try:
        data = orjson.loads(Path(path).read_bytes())
    except OSError as err:
        raise ValueError(f"cannot read baseline {path}: {err.strerror or err}") from err
    except orjson.JSONDecodeError as err:
        raise ValueError(f"baseline {path} is not JSON: {err}") from err
    try:
        baseline = Baseline.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        said = f"{where}: {first['msg']}" if where else first["msg"]
        raise ValueError(f"baseline {path} is not a baseline: {said}") from err
    if baseline.version != BASELINE_VERSION:
        raise ValueError(f"baseline {path} has version {baseline.version}; expected 1")
    return baseline


def dump(entries: Iterable[Entry], profile: str) -> str:
    ordered = sorted(entries, key=lambda e: (e.case, e.rule))
    baseline = Baseline(profile=profile, entries=ordered)
    return orjson.dumps(baseline.model_dump(), option=orjson.OPT_INDENT_2).decode() + "\n"


def compare(
    cases: list[CaseResult], baseline: Baseline, fail_on: Level, file: str = ""
) -> Comparison:
    """Known, new and stale failures; stale only for cases that ran (a `-k` subset leaves
    the other entries alone)."""
    current = failures(cases, fail_on)
    accepted = baseline.keys()
    ran = {c.id for c in cases if c.status not in ("not-applicable", "harness-error")}
    seen = {(e.case, e.rule) for e in current}
    return Comparison(
        file=file,
        known=[e for e in current if (e.case, e.rule) in accepted],
        new=[e for e in current if (e.case, e.rule) not in accepted],
        stale=[e for e in baseline.entries if e.case in ran and (e.case, e.rule) not in seen],
    )


def mark_known(cases: list[CaseResult], comparison: Comparison) -> None:
    """A failed case whose every failure is known becomes `known-failure`."""
    new_cases = {e.case for e in comparison.new}
    known_cases = {e.case for e in comparison.known}
    for case in cases:
        failing = case.status in ("failed", "agent-error")
        if failing and case.id in known_cases and case.id not in new_cases:
            case.status = KNOWN_FAILURE
            case.reason = (case.reason + " " if case.reason else "") + "known failure (baseline)"
