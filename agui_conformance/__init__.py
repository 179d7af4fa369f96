"""agui-conformance: the conformance suite and protocol validator for AG-UI agents.

Public API:
    validate_events(events, request=None, profile="spec") -> ValidationResult
    validate_payloads(payloads, ...), validate_recording(path_or_bytes, ...)
    StreamValidator: incremental validation of a live stream
    Finding, Level, ValidationResult: the typed records
"""

from agui_conformance.model import CaseResult, Finding, Level, Report, ValidationResult
from agui_conformance.validator import (
    StreamValidator,
    validate_events,
    validate_payloads,
    validate_recording,
)

__version__ = "0.1.0"

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
