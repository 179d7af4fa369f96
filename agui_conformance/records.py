"""The records a validation produces: `Level`, `Strength`, `Finding`, `ValidationResult`.

Plain dataclasses, so that `agui-conformance validate` and `validate_events` start
without pydantic (~100 ms to import here, the whole peer's start-up). The suite's report
records (`model`) are pydantic models that hold these; pydantic reads them as it reads
its own models, and the descriptions below reach `schemas/report.schema.json` through
`__pydantic_config__` (a plain dict: nothing of pydantic is imported here).
Knows nothing of HTTP, files or rules' logic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "FAIL_ON",
    "Finding",
    "Level",
    "Strength",
    "ValidationResult",
    "exit_fails",
    "fail_level",
]


class Strength(StrEnum):
    """The normative strength of a rule, as the spec words it; `case` for a case's own
    assertion (a case file's expectations), which no spec sentence makes."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"
    CASE = "case"


class Level(StrEnum):
    """How a finding counts under the chosen profile."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self.value]


_RANK = {"error": 3, "warning": 2, "info": 1}

FAIL_ON = ("error", "warning", "info", "never")

AGENT_CATEGORY = "agent"  # findings about the agent's own failures, apart from the protocol
CASE_CATEGORY = "case"  # a case's own expectations unmet (the author's, not the spec's)
APART = (AGENT_CATEGORY, CASE_CATEGORY)  # categories that say nothing of the protocol


def fail_level(fail_on: str) -> Level:
    """The lowest finding level that fails a case under `--fail-on NAME`: the one place
    the name becomes a level. `never` only keeps the exit code at 0: cases, the matrix and
    every report are still judged at `error` (the spec's own verdict), so a report-only
    run still shows what failed, and an info note never fails a case."""
    if fail_on not in FAIL_ON:
        raise ValueError(f"unknown fail-on level {fail_on!r} (expected one of {FAIL_ON})")
    return Level.ERROR if fail_on == "never" else Level(fail_on)


def exit_fails(fail_on: str) -> bool:
    """Whether findings at the fail-on level make the exit code 1 (`never`: they do not)."""
    return fail_on != "never"


def described(
    descriptions: dict[str, str], *more: Callable[[dict[str, Any], type], None]
) -> dict[str, Any]:
    """A pydantic config (a plain dict) adding field descriptions to the JSON Schema (and
    applying `more` changes after them): what `__pydantic_config__` holds on the records,
    so that pydantic is imported only where a schema is generated or a report read back."""

    def extra(schema: dict[str, Any], cls: type) -> None:
        for name, text in descriptions.items():
            schema["properties"][name]["description"] = text
        for change in more:
            change(schema, cls)

    return {"json_schema_extra": extra}


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule broken at one place in one stream."""

    __pydantic_config__ = described(
        {
            "rule": "Rule id from the catalog, e.g. 'lifecycle-first-event'.",
            "index": "0-based index of the offending event; None for the stream.",
            "pointer": "JSON pointer into the event.",
            "spec": "Spec URL with anchor.",
            "hint": "What the agent author should change.",
        }
    )

    rule: str
    level: Level
    message: str
    index: int | None = None
    pointer: str | None = None
    title: str = ""
    category: str = ""
    spec: str = ""
    hint: str = ""

    def as_json(self) -> dict[str, Any]:
        """The finding as JSON data (the level as its name)."""
        data = asdict(self)
        data["level"] = self.level.value
        return data


@dataclass(slots=True)
class ValidationResult:
    """Everything `validate_events` found in one stream."""

    findings: list[Finding] = field(default_factory=list)
    events: int = 0  # events (or undecodable frames) read
    profile: str = "spec"
    exercised: list[str] = field(default_factory=list)  # rule ids whose trigger was reached
    # the 1-based line of the recording file each event a finding names starts on (JSONL
    # and SSE recordings; none for a JSON document)
    lines: dict[int, int] = field(default_factory=dict)
    # the protocolVersion each RUN_STARTED declared, in order, once each ("(none)": one
    # declared none), counted during the pass (`validate_recording`); None: not counted
    protocol_versions: list[str] | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level is Level.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level is Level.WARNING]

    def worst(self) -> Level | None:
        if not self.findings:
            return None
        return max((f.level for f in self.findings), key=lambda lv: lv.rank)

    def rule_ids(self) -> list[str]:
        return [f.rule for f in self.findings]

    def as_json(self) -> dict[str, Any]:
        """The result as JSON data: findings, events, profile, exercised, lines (by the
        event index as a string, as JSON object keys are)."""
        return {
            "findings": [f.as_json() for f in self.findings],
            "events": self.events,
            "profile": self.profile,
            "exercised": list(self.exercised),
            "lines": {str(index): line for index, line in self.lines.items()},
        }
