"""SARIF 2.1.0: findings as code-scanning results, the catalog as rules.

A recording's result (`validate`) points at the recording (`artifactLocation.uri`) and
names the event as a logical location ("event 5"); when the line of the event is known
(JSONL and SSE files) it also carries `region.startLine`. A live run's result is
located by case, run and event, attached to the report file.

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

from agui_conformance.records import Finding, Level
from agui_conformance.redact import printable_strings, redact_url
from agui_conformance.rules import SPEC_BASE, Rule, catalog

if TYPE_CHECKING:
    from agui_conformance.model import Report, RunRecord

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
    """A Report as SARIF, one result per finding. A recording's finding (`validate`) points
    at the recording, with the line of its event when known (not for standard input), and
    names the event ("event 5"); a live run's finding is located by case, run and event
    (logical locations), attached to the report file `artifact`."""
    rules = list(catalog().values())
    position = {rule.id: i for i, rule in enumerate(rules)}
    report_uri = artifact_uri(artifact)
    uris: dict[str, None] = {}
    results: list[dict[str, Any]] = []
    events = 0
    for case in report.cases:
        for number, run in enumerate(case.runs, start=1):
            if run.recording is not None:
                events += run.event_count
                uris[artifact_uri(run.recording)] = None
                results.extend(_recorded(run, position))
                continue
            uris[report_uri] = None
            for finding in run.findings:
                where = f"{case.id}/run {number}"
                if finding.index is not None:
                    where += f"/event {finding.index}"
                physical = {"artifactLocation": {"uri": report_uri}}
                message = f"{case.id}: {finding.message}"
                entry = _result(finding, position, where, physical, message)
                entry["partialFingerprints"] = {"aguiCaseRule": f"{case.id}/{finding.rule}"}
                entry["properties"] = {"case": case.id, "run": number, "eventIndex": finding.index}
                results.append(entry)
    properties: dict[str, Any] = {"profile": report.profile, "target": redact_url(report.target)}
    if not uris or report_uri not in uris:  # recordings only
        properties["events"] = events
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": _driver(rules, report.profile)},
                "artifacts": [{"location": {"uri": uri}} for uri in uris or [report_uri]],
                "properties": properties,
                "results": results,
            }
        ],
    }
    return _dumps(document)


def _recorded(run: RunRecord, position: Mapping[str, int]) -> list[dict[str, Any]]:
    """A recording's findings, at the recording's file and the line of their event."""
    assert run.recording is not None
    uri = artifact_uri(run.recording)
    lines = run.eventLines if run.recording != "stdin" else {}
    out = []
    for finding in run.findings:
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
        line = None if finding.index is None else lines.get(str(finding.index))
        if line is not None:
            physical["region"] = {"startLine": line}
        where = "stream" if finding.index is None else f"event {finding.index}"
        entry = _result(finding, position, where, physical, finding.message)
        entry["properties"] = {
            key: value
            for key, value in (("eventIndex", finding.index), ("pointer", finding.pointer))
            if value is not None
        }
        out.append(entry)
    return out


def _dumps(document: dict[str, Any]) -> str:
    text = orjson.dumps(printable_strings(document), option=orjson.OPT_INDENT_2).decode()
    return text + "\n"
