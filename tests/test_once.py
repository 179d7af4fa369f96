"""Target-wide findings (a producer that never declares its version) are reported once,
naming every case, and the cases that failed only for them are judged again."""

from __future__ import annotations

from agui_conformance.model import CaseResult, Finding, Level, RunRecord
from agui_conformance.once import fold
from agui_conformance.runner import verdict


def _finding(rule: str, message: str = "m") -> Finding:
    return Finding(rule=rule, level=Level.ERROR, message=message, category="versioning")


def _case(case_id: str, *rules: str) -> CaseResult:
    run = RunRecord(
        request={},
        requestHeaders={},
        status=200,
        responseHeaders={},
        timing={},
        findings=[_finding(rule, f"{rule} in {case_id}") for rule in rules],
        outcome="finished",
        exercised=["version-missing"],
    )
    case = CaseResult(id=case_id, title=case_id, requirements=[], expect="run", status="passed")
    case.runs.append(run)
    return verdict(case, Level.ERROR)


def test_version_missing_is_reported_once_naming_every_case() -> None:
    cases = [
        _case("a", "version-missing"),
        _case("b", "version-missing", "identity-run-id-echo"),
        _case("c", "version-missing"),
        _case("d"),
    ]
    assert [c.status for c in cases] == ["failed", "failed", "failed", "passed"]
    for case in fold(cases):
        verdict(case, Level.ERROR)
    rules = [[f.rule for f in c.findings] for c in cases]
    assert rules == [["version-missing"], ["identity-run-id-echo"], [], []]
    message = cases[0].findings[0].message
    assert "seen 3 times in 3 case(s) (a, b, c)" in message
    assert "pre-versioning producer" in message
    assert [c.status for c in cases] == ["failed", "failed", "passed", "passed"]


def test_a_single_finding_is_left_as_it_is() -> None:
    cases = [_case("a", "version-missing"), _case("b")]
    assert fold(cases) == []
    assert cases[0].findings[0].message == "version-missing in a"
