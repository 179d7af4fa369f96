"""The requirement matrix and the verdict of a suite run.

Owns turning case results into one status per catalog rule (passed, failed,
not exercised, not applicable) and the summary a report opens with. A rule
never counts as passed unless some exchange exercised it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

from agui_conformance.exercise import MAX_VERSIONS, note_versions, triggers
from agui_conformance.model import (
    CaseResult,
    Coverage,
    Level,
    RequirementState,
    RequirementStatus,
    Summary,
)
from agui_conformance.records import APART
from agui_conformance.rules import catalog

STATES: tuple[RequirementState, ...] = ("passed", "failed", "not-exercised", "not-applicable")
AUTH_ONLY = frozenset({frozenset({"auth-probe"})})


def _auth_reason(cases: Iterable[CaseResult]) -> str | None:
    """Why the auth probes did not run, when none did."""
    probes = [c for c in cases if c.expect == "unauthorized"]
    if probes and all(c.status == "not-applicable" for c in probes):
        return probes[0].reason
    return None


def requirements(
    cases: list[CaseResult], profile: str, fail_on: Level = Level.ERROR
) -> list[RequirementStatus]:
    """One status per catalog rule, in catalog order."""
    exercised: set[str] = set()
    failing: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    where: defaultdict[str, list[str]] = defaultdict(list)
    for case in cases:
        exercised.update(case.exercised)
        for run in case.runs:
            exercised.update(run.exercised)
            for finding in run.findings:
                # a note below the fail-on level is no evidence that the rule holds: only
                # a completed exchange (run.exercised) makes a rule passed
                if finding.level.rank >= fail_on.rank:
                    failing[finding.rule] += 1
                else:
                    notes[finding.rule] += 1
                if case.id not in where[finding.rule]:
                    where[finding.rule].append(case.id)
    auth_reason = _auth_reason(cases)
    table = triggers()
    out = []
    for rule in catalog().values():
        status: RequirementState
        reason = ""
        off = profile in rule.profiles and not rule.applies_to(profile)
        if profile not in rule.profiles:
            status, reason = "not-applicable", f"not part of the `{profile}` profile"
        elif off:
            status, reason = "not-applicable", "turned off by the configuration"
        elif failing[rule.id]:
            status = "failed"
        elif rule.id in exercised:
            status = "passed"
        elif auth_reason is not None and set(table.get(rule.id, ())) <= AUTH_ONLY:
            status, reason = "not-applicable", auth_reason
        else:
            status = "not-exercised"
            reason = "no exchange reached what this rule checks"
        out.append(
            RequirementStatus(
                rule=rule.id,
                title=rule.title,
                strength=rule.strength,
                level=rule.level(profile),
                category=rule.category,
                spec=rule.url,
                hint=rule.hint,
                status=status,
                reason=reason,
                findings=failing[rule.id],
                notes=notes[rule.id],
                cases=where[rule.id],
                # a rule the configuration turned off does not count as exercised
                exercised=rule.id in exercised and not off,
            )
        )
    return out


# Case statuses that fail the verdict: the agent's protocol findings or unresponsiveness,
# its own failures (RUN_ERROR on valid input), cases left unrun because it stopped
# answering, and our own errors.
FAILING = ("failed", "agent-error", "not-run", "harness-error")


def conformance(cases: list[CaseResult]) -> str:
    """The level reached, from passed evidence only: with no passed case there is none.
    The agent's own failures (category `agent`) and a case's own expectations unmet
    (category `case`) say nothing of the protocol and do not lower it; they fail the
    verdict through their case status."""
    if any(c.status == "harness-error" for c in cases):
        return "incomplete"
    if not any(c.status in ("passed", "known-failure") for c in cases):
        return "none"
    levels = {f.level for c in cases for f in c.findings if f.category not in APART}
    if Level.ERROR in levels:
        return "none"
    if Level.WARNING in levels:
        return "MUST"
    return "MUST + SHOULD"


def protocol_versions(cases: list[CaseResult]) -> list[str]:
    """The protocolVersion values the runs' RUN_STARTED events declared, in order, once
    each ("(none)": one declared none; at most `MAX_VERSIONS`): what a run counted while
    validating all its events (`validate`), else read from the events it kept."""
    seen: list[str] = []
    for case in cases:
        for run in case.runs:
            if run.protocolVersions is None:
                note_versions(run.events, seen)
                continue
            for version in run.protocolVersions:
                if version not in seen and len(seen) < MAX_VERSIONS:
                    seen.append(version)
    return seen


def declared_as(summary: Summary) -> str | None:
    """The one protocol version the agent declared throughout, if it declared exactly one:
    the level reached is conformance as that version (a 1.0 producer is judged as 1.0)."""
    versions = summary.protocolVersions
    if len(versions) == 1 and versions[0] != "(none)":
        return versions[0]
    return None


def coverage(reqs: list[RequirementStatus], minimum: float | None = None) -> Coverage:
    """Rules a completed exchange exercised, of the rules that apply; `minimum` (a percent,
    `--min-coverage`) is met when exercised x 100 >= minimum x applicable, exactly."""
    applicable = [r for r in reqs if r.status != "not-applicable"]
    exercised = sum(1 for r in applicable if r.exercised)
    percent = math.floor(exercised * 1000 / len(applicable)) / 10 if applicable else 0.0
    met = minimum is None or exercised * 100 >= minimum * len(applicable)
    return Coverage(
        exercised=exercised,
        applicable=len(applicable),
        percent=percent,
        minimum=minimum,
        met=met,
    )


def summarize(
    cases: list[CaseResult], reqs: list[RequirementStatus], min_coverage: float | None = None
) -> Summary:
    by_state = Counter(r.status for r in reqs)
    by_case = Counter(c.status for c in cases)
    covered = coverage(reqs, min_coverage)
    return Summary(
        conformance=conformance(cases),
        passed=not any(by_case.get(status) for status in FAILING)
        and any(by_case.get(status) for status in ("passed", "known-failure"))
        and covered.met,
        requirements={state: by_state.get(state, 0) for state in STATES},
        cases=dict(sorted(by_case.items())),
        protocolVersions=protocol_versions(cases),
        coverage=covered,
    )


def attach_reference(
    reqs: list[RequirementStatus],
    cases: list[CaseResult],
    ref_reqs: list[RequirementStatus],
    ref_cases: list[CaseResult],
) -> None:
    """Fill the comparison column from a run of the same cases against the reference agent."""
    ref_status = {r.rule: r.status for r in ref_reqs}
    for req in reqs:
        req.reference = ref_status.get(req.rule)
    ref_case = {c.id: c.status for c in ref_cases}
    for case in cases:
        case.reference = ref_case.get(case.id)
