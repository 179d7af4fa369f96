"""JSON report: the ValidationResult as data, with the tool's identity.

Keys: `reportVersion`, `tool` {name, version}, `protocolVersion` ("1.1"),
`source`, `conformant` (no error-level finding), `counts` {error, warning,
info}, then the ValidationResult's own fields (`findings`, `events`,
`profile`, `exercised`).

`report_to_json` writes a suite run's `Report` (the model dumped, its schema in
`schemas/report.schema.json`), its target through `redact.redact_url` once more.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import orjson

from agui_conformance.records import Level, ValidationResult
from agui_conformance.redact import printable_strings, redact_url

if TYPE_CHECKING:
    from agui_conformance.model import Report

REPORT_VERSION = "1"
PROTOCOL_VERSION = "1.1"


def to_json(result: ValidationResult, source: str = "") -> str:
    from agui_conformance import __version__

    counts = {level.value: 0 for level in Level}
    for finding in result.findings:
        counts[finding.level.value] += 1
    document = {
        "reportVersion": REPORT_VERSION,
        "tool": {"name": "agui-conformance", "version": __version__},
        "protocolVersion": PROTOCOL_VERSION,
        "source": source,
        "conformant": counts[Level.ERROR.value] == 0,
        "counts": counts,
        **result.as_json(),
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"


def report_to_json(report: Report) -> str:
    """A suite run as the JSON report; a string JSON cannot carry (a lone surrogate) is
    written escaped rather than failing the run."""
    data = report.model_dump(mode="json")
    data["target"] = redact_url(report.target)
    try:
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"
    except TypeError:
        return json.dumps(printable_strings(data), indent=2, ensure_ascii=False) + "\n"
