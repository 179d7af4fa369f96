"""agui-conformance: the conformance suite and protocol validator for AG-UI agents.

Public API:
    validate_events(events, request=None, profile="spec") -> ValidationResult
    validate_payloads(payloads, ...), validate_recording(path_or_bytes, ...)
    StreamValidator: incremental validation of a live stream
    Finding, Level, ValidationResult: the typed records

The names are imported on first use (PEP 562): importing the package, or its pytest
plugin, which pytest loads in every run where this is installed, stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agui_conformance.model import CaseResult, Report
    from agui_conformance.records import Finding, Level, ValidationResult
    from agui_conformance.validator import (
        StreamValidator,
        validate_events,
        validate_payloads,
        validate_recording,
    )

__version__ = "0.1.0"

_EXPORTS = {
    "CaseResult": "agui_conformance.model",
    "Finding": "agui_conformance.records",
    "Level": "agui_conformance.records",
    "Report": "agui_conformance.model",
    "ValidationResult": "agui_conformance.records",
    "StreamValidator": "agui_conformance.validator",
    "validate_events": "agui_conformance.validator",
    "validate_payloads": "agui_conformance.validator",
    "validate_recording": "agui_conformance.validator",
}

__all__ = [
    "CaseResult",
    "Finding",
    "Level",
    "Report",
    "StreamValidator",
    "ValidationResult",
    "__version__",
    "validate_events",
    "validate_payloads",
    "validate_recording",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agui_conformance' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
