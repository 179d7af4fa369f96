"""The JSON report: one writer for every command (`run --json`, `validate --format json`,
the pytest plugin's `--agui-json`, the proxy's `/_agui/report.json`).

It writes the `Report` records as they are (`model.dump_report`: every record as its
fields, in order, a run's request as it was sent), so the document is exactly what
`schemas/report.schema.json` (generated from the same records) describes; the target
goes through `redact.redact_url` once more. A string JSON cannot carry (a lone surrogate
an agent sent) is written escaped rather than failing the command.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

import orjson

from agui_conformance.model import as_data, shown
from agui_conformance.redact import printable_strings, redact_url

if TYPE_CHECKING:
    from agui_conformance.model import Report


def report_to_json(report: Report) -> str:
    document = dataclasses.replace(report, target=redact_url(report.target))
    try:
        options = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATACLASS
        return orjson.dumps(document, default=shown, option=options).decode() + "\n"
    except TypeError:
        data = printable_strings(as_data(document))
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
