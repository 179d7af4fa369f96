"""Typed records every part of the tool passes along.

Owns: `Level`, `Strength`, `Finding`, `ValidationResult`, and the runner's
`RunRecord`, `CaseResult` and `Report`. Knows nothing of
HTTP, files or rules' logic; reports and the CLI only read these.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strength(StrEnum):
    """The normative strength of a rule, as the spec words it."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


class Level(StrEnum):
    """How a finding counts under the chosen profile."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Finding(BaseModel):
    """One rule broken at one place in one stream."""

    model_config = ConfigDict(frozen=True)

    rule: str = Field(description="Rule id from the catalog, e.g. 'lifecycle-first-event'.")
    level: Level
    message: str
    index: int | None = Field(
        default=None, description="0-based index of the offending event; None for the stream."
    )
    pointer: str | None = Field(default=None, description="JSON pointer into the event.")
    title: str = ""
    category: str = ""
    spec: str = Field(default="", description="Spec URL with anchor.")
    hint: str = Field(default="", description="What the agent author should change.")


class ValidationResult(BaseModel):
    """Everything `validate_events` found in one stream."""

    findings: list[Finding] = Field(default_factory=list)
    events: int = Field(default=0, description="Number of events (or undecodable frames) read.")
    profile: str = "spec"
    exercised: list[str] = Field(
        default_factory=list, description="Rule ids whose trigger was reached by this stream."
    )

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


class RunRecord(BaseModel):
    """One HTTP exchange of a case, as reports show it."""

    request: Any = Field(description="The RunAgentInput sent (or a preview of a raw body).")
    requestHeaders: dict[str, str]
    status: int | None
    responseHeaders: dict[str, str]
    timing: dict[str, Any]
    events: list[Any] = Field(default_factory=list)
    eventTimesMs: list[float] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    harnessError: str | None = None


class CaseResult(BaseModel):
    id: str
    title: str
    requirements: list[str]
    expect: str
    status: str = Field(description="passed | failed | not-applicable | harness-error")
    reason: str = ""
    runs: list[RunRecord] = Field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for run in self.runs for f in run.findings]


class ToolInfo(BaseModel):
    name: str = "agui-conformance"
    version: str


class Report(BaseModel):
    """What `agui-conformance run --json` writes; schemas/report.schema.json is generated
    from this model (a test fails when the checked-in copy is stale)."""

    reportVersion: str = "1"
    tool: ToolInfo
    protocolVersion: str = "1.1"
    target: str = Field(description="The agent URL tested (credentials never appear).")
    profile: str
    cases: list[CaseResult]


def report_schema() -> dict[str, Any]:
    """The JSON Schema of `Report` (schemas/report.schema.json is this, checked in)."""
    schema = Report.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://agui-conformance.dev/schemas/report.schema.json"
    return schema


if __name__ == "__main__":  # python -m agui_conformance.model > schemas/report.schema.json
    import json

    print(json.dumps(report_schema(), indent=2, sort_keys=True))
