"""JSON report: the ValidationResult as data, with the tool's identity.

Keys: `reportVersion`, `tool` {name, version}, `protocolVersion` ("1.1"),
`source`, `conformant` (no error-level finding), `counts` {error, warning,
info}, then the ValidationResult's own fields (`findings`, `events`,
`profile`, `exercised`).
"""

from __future__ import annotations

import orjson

from agui_conformance.model import Level, ValidationResult

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
        **result.model_dump(mode="json"),
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
