"""JSON report: the ValidationResult as data, with the tool's identity."""

from __future__ import annotations

import orjson

from agui_conformance.model import ValidationResult

REPORT_VERSION = "1"


def to_json(result: ValidationResult, source: str = "") -> str:
    from agui_conformance import __version__

    document = {
        "reportVersion": REPORT_VERSION,
        "tool": {"name": "agui-conformance", "version": __version__},
        "protocolVersion": "1.1",
        "source": source,
        **result.model_dump(mode="json"),
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
