"""JUnit XML for CI: one testcase per scenario case, its findings as the failure.

Every attribute and text goes through `redact.printable`: control characters an agent
put in an id or a message become visible escapes (`\\x1b`), so the document is
well-formed XML 1.0 for any input and no escape sequence reaches a CI log.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from agui_conformance.model import Level, Report, fail_level
from agui_conformance.redact import printable


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """A child element whose attributes and text are printable (legal XML, no escapes)."""
    element = ET.SubElement(parent, tag, {k: printable(v) for k, v in attrs.items()})
    if text is not None:
        element.text = printable(text)
    return element


def to_junit(
    results: Sequence[Any], *, suite: str = "agui-conformance", fail_on: Level = Level.ERROR
) -> str:
    """`results`: runner CaseResults. not-applicable, inconclusive and known-failure (in
    the baseline) -> skipped; failed, agent-error and not-run -> failure; harness-error ->
    error."""
    cases = ET.Element("testsuite", name=printable(suite))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for result in results:
        counts["tests"] += 1
        seconds = sum((run.timing.get("totalMs") or 0) for run in result.runs) / 1000
        total_time += seconds
        recorded = result.runs[0].recording if result.runs else None
        case = _add(
            cases,
            "testcase",
            classname=f"{suite}.{'recordings' if recorded else 'cases'}",
            name=recorded or result.id,  # a recording by its path, as the user named it
            time=f"{seconds:.3f}",
        )
        findings = [f for f in result.findings if f.level.rank >= fail_on.rank]
        if result.status == "not-applicable":
            counts["skipped"] += 1
            _add(case, "skipped", message=result.reason or "not applicable")
        elif result.status == "known-failure":
            counts["skipped"] += 1
            rules = sorted({f.rule for f in findings})
            _add(case, "skipped", message=f"known failure (baseline): {', '.join(rules)}")
        elif result.status == "harness-error":
            counts["errors"] += 1
            _add(case, "error", message=result.reason or "harness error")
        elif result.status == "inconclusive":
            counts["skipped"] += 1
            _add(case, "skipped", message=f"inconclusive: {result.reason}")
        elif result.status == "not-run":
            counts["failures"] += 1
            _add(case, "failure", message=result.reason, type="not-run")
        elif result.status in ("failed", "agent-error"):
            counts["failures"] += 1
            first = findings[0] if findings else None
            failure = _add(
                case,
                "failure",
                message=f"{first.rule}: {first.message}" if first else result.reason,
                type=first.rule if first else "failed",
            )
            lines = []
            for f in result.findings:
                where = "stream" if f.index is None else f"event {f.index}"
                lines.append(
                    f"{f.level.value} {f.rule} @{where}: {f.message}\n"
                    f"  fix: {f.hint}\n  spec: {f.spec}"
                )
            failure.text = printable("\n".join(lines))
        _add(case, "system-out", result.title)
    for key, value in counts.items():
        cases.set(key, str(value))
    cases.set("time", f"{total_time:.3f}")
    root = ET.Element("testsuites")
    root.append(cases)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def report_to_junit(report: Report) -> str:
    """A Report as JUnit: one testcase per case (per recording for `validate`), judged at
    the report's fail-on level."""
    return to_junit(report.cases, fail_on=fail_level(report.failOn))
