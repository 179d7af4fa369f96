"""SARIF 2.1.0: findings as code-scanning results, the catalog as rules."""

from __future__ import annotations

from typing import Any

import orjson

from agui_conformance.model import Level, ValidationResult
from agui_conformance.rules import catalog

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "note"}


def to_sarif(result: ValidationResult, source: str = "", *, line_per_event: bool = False) -> str:
    """`line_per_event`: the source is JSONL, so event N is on line N+1."""
    from agui_conformance import __version__

    rules = list(catalog().values())
    position = {rule.id: i for i, rule in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for finding in result.findings:
        location: dict[str, Any] = {}
        physical: dict[str, Any] = {"artifactLocation": {"uri": source or "stdin"}}
        if line_per_event and finding.index is not None:
            physical["region"] = {"startLine": finding.index + 1}
        location["physicalLocation"] = physical
        where = "stream" if finding.index is None else f"event {finding.index}"
        if finding.pointer:
            where += finding.pointer
        location["logicalLocations"] = [{"name": where, "kind": "element"}]
        results.append(
            {
                "ruleId": finding.rule,
                "ruleIndex": position.get(finding.rule, -1),
                "level": _LEVEL[finding.level],
                "message": {"text": finding.message},
                "locations": [location],
                "properties": {"eventIndex": finding.index, "pointer": finding.pointer},
            }
        )
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "agui-conformance",
                        "version": __version__,
                        "informationUri": "https://docs.ag-ui.com/spec/1.1",
                        "rules": [
                            {
                                "id": rule.id,
                                "name": rule.id,
                                "shortDescription": {"text": rule.title},
                                "fullDescription": {"text": rule.description or rule.title},
                                "helpUri": rule.url,
                                "help": {"text": rule.hint},
                                "defaultConfiguration": {
                                    "level": _LEVEL[rule.level(result.profile)]
                                },
                                "properties": {
                                    "category": rule.category,
                                    "strength": rule.strength.value,
                                    "checks": list(rule.checks),
                                },
                            }
                            for rule in rules
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
