"""SARIF 2.1.0: findings as code-scanning results, the catalog as rules.

Every result points at the recording (`artifactLocation.uri`) and names the
event as a logical location ("event 5"); when the line of the event is known
(JSONL: one event per line) the result also carries `region.startLine`.

Every string of the document goes through `redact.printable` (an escape sequence an
agent put in an id reaches no code-scanning view), and the target through
`redact.redact_url` once more before it is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from agui_conformance.records import Finding, Level, ValidationResult
from agui_conformance.redact import printable_strings, redact_url
from agui_conformance.rules import SPEC_BASE, Rule, catalog

if TYPE_CHECKING:
    from agui_conformance.model import Report

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "note"}


def artifact_uri(source: str) -> str:
    """A URI reference for the recording: relative paths stay relative (what code scanning
    expects), absolute ones become file URIs, and stdin stays `stdin`."""
    if not source or source in ("-", "stdin"):
        return "stdin"
    path = PurePath(source)
    if path.is_absolute():
        return quote("file://" + path.as_posix(), safe=":/")
    return quote(path.as_posix(), safe="/")


def to_sarif(
    result: ValidationResult,
    source: str = "",
    *,
    line_per_event: bool = False,
    lines: Mapping[int, int] | None = None,
) -> str:
    """`lines`: the 1-based line of each event index, when known. `line_per_event`: the
    source is JSONL without blank lines, so event N is on line N+1."""
    rules = list(catalog().values())
    position = {rule.id: i for i, rule in enumerate(rules)}
    uri = artifact_uri(source)
    results: list[dict[str, Any]] = []
    for finding in result.findings:
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
        line = None
        if finding.index is not None:
            line = lines.get(finding.index) if lines is not None else None
            if line is None and line_per_event:
                line = finding.index + 1
        if line is not None:
            physical["region"] = {"startLine": line}
        where = "stream" if finding.index is None else f"event {finding.index}"
        entry = _result(finding, position, where, physical, finding.message)
        entry["properties"] = {
            key: value
            for key, value in (("eventIndex", finding.index), ("pointer", finding.pointer))
            if value is not None
        }
        results.append(entry)
    driver = _driver(rules, result.profile)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "artifacts": [{"location": {"uri": uri}}],
                "properties": {"profile": result.profile, "events": result.events},
                "results": results,
            }
        ],
    }
    return _dumps(document)


def _result(
    finding: Finding,
    position: Mapping[str, int],
    where: str,
    physical: dict[str, Any],
    message: str,
) -> dict[str, Any]:
    """One SARIF result: the rule, level, message and where (physical + logical)."""
    logical: dict[str, Any] = {"name": where, "kind": "element"}
    if finding.pointer:
        logical["fullyQualifiedName"] = where + finding.pointer
    entry: dict[str, Any] = {"ruleId": finding.rule}
    if finding.rule in position:
        entry["ruleIndex"] = position[finding.rule]
    entry["level"] = SARIF_LEVEL[finding.level]
    entry["message"] = {"text": message}
    entry["locations"] = [{"physicalLocation": physical, "logicalLocations": [logical]}]
    return entry


def _driver(rules: list[Rule], profile: str) -> dict[str, Any]:
    from agui_conformance import __version__

    return {
        "name": "agui-conformance",
        "version": __version__,
        "informationUri": SPEC_BASE,
        "rules": [
            {
                "id": rule.id,
                "name": rule.id,
                "shortDescription": {"text": rule.title},
                "fullDescription": {"text": rule.description or rule.title},
                "helpUri": rule.url,
                "help": {"text": rule.hint},
                "defaultConfiguration": {
                    "level": SARIF_LEVEL[rule.level(profile)],
                    "enabled": rule.applies_to(profile),
                },
                "properties": {
                    "category": rule.category,
                    "strength": rule.strength.value,
                    "checks": list(rule.checks),
                    # unique (SARIF): a case's own rule is of category and strength `case`
                    "tags": list(dict.fromkeys([rule.category, rule.strength.value])),
                },
            }
            for rule in rules
        ],
    }


def report_to_sarif(report: Report, artifact: str = "reports/compliance.json") -> str:
    """A suite run as SARIF: one result per finding, located by case, run and event
    (logical locations), attached to the report file `artifact`."""
    rules = list(catalog().values())
    position = {rule.id: i for i, rule in enumerate(rules)}
    uri = artifact_uri(artifact)
    results: list[dict[str, Any]] = []
    for case in report.cases:
        for number, run in enumerate(case.runs, start=1):
            for finding in run.findings:
                where = f"{case.id}/run {number}"
                if finding.index is not None:
                    where += f"/event {finding.index}"
                physical = {"artifactLocation": {"uri": uri}}
                message = f"{case.id}: {finding.message}"
                entry = _result(finding, position, where, physical, message)
                entry["partialFingerprints"] = {"aguiCaseRule": f"{case.id}/{finding.rule}"}
                entry["properties"] = {"case": case.id, "run": number, "eventIndex": finding.index}
                results.append(entry)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": _driver(rules, report.profile)},
                "artifacts": [{"location": {"uri": uri}}],
                "properties": {"profile": report.profile, "target": redact_url(report.target)},
                "results": results,
            }
        ],
    }
    return _dumps(document)


def _dumps(document: dict[str, Any]) -> str:
    text = orjson.dumps(printable_strings(document), option=orjson.OPT_INDENT_2).decode()
    return text + "\n"
