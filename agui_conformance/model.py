"""Typed records every part of the tool passes along.

Owns the runner's `RunRecord`, `CaseResult` and `Report` (pydantic: the JSON report is
these dumped, its schema generated from them). `Level`, `Strength`, `Finding` and
`ValidationResult` live in `records` (no pydantic: validating a recording does not
import it) and are re-exported here. Knows nothing of HTTP, files or rules' logic;
reports and the CLI only read these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema, field_serializer, field_validator

from agui_conformance.records import (
    FAIL_ON,
    Finding,
    Level,
    Strength,
    ValidationResult,
    exit_fails,
    fail_level,
)

__all__ = [
    "FAIL_ON",
    "BaselineComparison",
    "BaselineEntry",
    "CaseResult",
    "Coverage",
    "Finding",
    "Level",
    "Report",
    "RequirementStatus",
    "RunRecord",
    "SentRequest",
    "Strength",
    "Summary",
    "ToolInfo",
    "ValidationResult",
    "exit_fails",
    "fail_level",
    "report_schema",
]


RAW_PREVIEW = 500  # characters of a body that is not a JSON object kept in a report
LARGE_BODY = 100_000  # bytes above which a sent object is not kept, only its first bytes
LARGE_PREVIEW = 2_000


@dataclass
class SentRequest:
    """What one exchange sent, typed. Exactly one of: `input` (the JSON object POSTed: a
    RunAgentInput, or a probe's object), `body` (a body that is not a JSON object: its
    first characters; with `size`, the first characters of an object too large to keep),
    `url` (a GET: the capabilities declaration, redacted) or `file` (a declaration read
    from a file, `method` READ). Headers are `RunRecord.requestHeaders` (redacted)."""

    method: str = "POST"
    input: dict[str, Any] | None = None
    body: str | None = None
    size: int | None = None  # bytes of a body too large to keep
    url: str | None = None
    file: str | None = None

    @classmethod
    def sent(cls, request: Any, body: bytes) -> SentRequest:
        """The request of a POST: its parsed object (None: the body was not one)."""
        if request is None:
            return cls(body=body[:RAW_PREVIEW].decode("utf-8", "replace"))
        if len(body) > LARGE_BODY:
            return cls(body=body[:LARGE_PREVIEW].decode("utf-8", "replace"), size=len(body))
        return cls(input=request if isinstance(request, dict) else {"value": request})

    @classmethod
    def shown(cls, value: Any) -> SentRequest:
        """From the report's JSON shape (`as_shown`'s inverse; older reports included)."""
        if isinstance(value, SentRequest):
            return value
        if isinstance(value, str):
            return cls(body=value)
        if isinstance(value, dict):
            keys = set(value)
            if keys == {"GET"}:
                return cls(method="GET", url=str(value["GET"]))
            if keys == {"file"}:
                return cls(method="READ", file=str(value["file"]))
            if keys == {"preview", "bytes"}:
                return cls(body=str(value["preview"]), size=int(value["bytes"]))
            if keys == {"input", "curl"} and isinstance(value["input"], dict):
                return cls(input=value["input"])  # a report before `RunRecord.reproducer`
            return cls(input=value)
        return cls(input={} if value is None else {"value": value})

    def as_shown(self) -> Any:
        """The report's JSON shape, as it has always been: the object sent, a string (a
        raw body's first characters), {"preview", "bytes"}, {"GET": url} or {"file": path}."""
        if self.url is not None:
            return {"GET": self.url}
        if self.file is not None:
            return {"file": self.file}
        if self.size is not None:
            return {"preview": self.body or "", "bytes": self.size}
        if self.body is not None:
            return self.body
        return self.input if self.input is not None else {}


REQUEST_SCHEMA = WithJsonSchema(
    {
        "title": "Request",
        "description": "What the exchange sent: the JSON object POSTed (a RunAgentInput); a "
        "string (the first 500 characters of a body that is not a JSON object); "
        '{"preview", "bytes"} (a body over 100,000 bytes: its first 2,000 characters and '
        'its size); {"GET": url} or {"file": path} (a capabilities declaration).',
        "type": ["object", "string"],
    }
)


class RunRecord(BaseModel):
    """One HTTP exchange of a case, as reports show it."""

    request: Annotated[SentRequest, REQUEST_SCHEMA]
    reproducer: str | None = Field(
        default=None,
        description="A command replaying this exchange (the generated inputs' minimal "
        "failing input, as curl; secrets as environment variables).",
    )
    requestHeaders: dict[str, str]
    status: int | None
    responseHeaders: dict[str, str]
    timing: dict[str, Any]
    events: list[Any] = Field(default_factory=list)
    eventTimesMs: list[float] = Field(default_factory=list)
    eventsOmitted: int = Field(
        default=0,
        description="Events validated but not kept in `events` (a report keeps the first "
        "2,000 of an exchange, and no more than 256 KiB of their payload).",
    )
    findings: list[Finding] = Field(default_factory=list)
    harnessError: str | None = None
    exercised: list[str] = Field(
        default_factory=list,
        description="Rule ids whose trigger this exchange reached (only an exchange that "
        "was answered and completed exercises a rule).",
    )
    outcome: str | None = Field(
        default=None,
        description="What the exchange showed: finished | run-error | refused | no-run | "
        "unresponsive | cut | left | harness-error | read (agui_conformance.evidence).",
    )

    @field_validator("request", mode="before")
    @classmethod
    def _typed(cls, value: Any) -> SentRequest:
        return SentRequest.shown(value)

    @field_serializer("request")
    def _shown(self, request: SentRequest) -> Any:
        return request.as_shown()


class CaseResult(BaseModel):
    id: str
    title: str
    requirements: list[str]
    expect: str
    status: str = Field(
        description="passed (its evidence was observed, no finding at the fail-on level) | "
        "failed (a protocol finding, or the agent unresponsive) | agent-error (a valid input "
        "answered with RUN_ERROR) | inconclusive (the harness cut the answer) | not-run (the "
        "agent was unresponsive, the suite stopped early) | known-failure (every failure is "
        "in the baseline) | not-applicable | harness-error"
    )
    reason: str = ""
    runs: list[RunRecord] = Field(default_factory=list)
    durationMs: float | None = None
    exercised: list[str] = Field(
        default_factory=list,
        description="Rules exercised by exchanges not kept in `runs` (passing generated inputs).",
    )
    reference: str | None = Field(
        default=None, description="The reference agent's status on this case, when compared."
    )

    @property
    def findings(self) -> list[Finding]:
        return [f for run in self.runs for f in run.findings]


RequirementState = Literal["passed", "failed", "not-exercised", "not-applicable"]


class RequirementStatus(BaseModel):
    """One catalog rule's outcome over a whole suite run."""

    rule: str
    title: str
    strength: Strength
    level: Level = Field(description="The rule's level under the run's profile.")
    category: str
    spec: str
    hint: str = ""
    status: RequirementState
    reason: str = Field(default="", description="Why not applicable / not exercised.")
    findings: int = Field(default=0, description="Findings at or above the fail-on level.")
    notes: int = Field(default=0, description="Findings below the fail-on level.")
    cases: list[str] = Field(default_factory=list, description="Cases with findings of it.")
    exercised: bool = Field(
        default=False,
        description="A completed exchange reached what the rule checks (its trigger held): "
        "what the verdict's coverage counts.",
    )
    reference: RequirementState | None = Field(
        default=None, description="The same rule's status against the reference agent."
    )


class Coverage(BaseModel):
    """How much of the catalog the run put to the test: rules a completed exchange
    exercised, of the rules that apply under the profile."""

    exercised: int = Field(description="Applicable rules a completed exchange exercised.")
    applicable: int = Field(description="Catalog rules that apply (not `not-applicable`).")
    percent: float = Field(description="exercised / applicable x 100, rounded down to 0.1.")
    minimum: float | None = Field(
        default=None, description="`--min-coverage`: the percent the verdict requires."
    )
    met: bool = Field(
        default=True, description="No minimum was asked for, or `percent` reached it."
    )


class Summary(BaseModel):
    """The verdict block: what a reader needs first."""

    conformance: str = Field(
        description="'MUST + SHOULD' (no error or warning), 'MUST' (no error), 'none' "
        "(errors), or 'incomplete' (a harness error kept cases from running)."
    )
    passed: bool = Field(
        description="Some case passed on observed evidence, none failed, ended in an "
        "agent error or was left unrun at the fail-on level, and the coverage reached "
        "`--min-coverage` when one was asked for."
    )
    requirements: dict[str, int] = Field(description="Requirement count per status.")
    cases: dict[str, int] = Field(description="Case count per status.")
    protocolVersions: list[str] = Field(
        default_factory=list, description="protocolVersion values the agent declared."
    )
    coverage: Coverage | None = None


class BaselineEntry(BaseModel):
    """One accepted failure: a case that breaks a rule."""

    case: str
    rule: str
    message: str = Field(default="", description="The first finding's message, for readers.")


class BaselineComparison(BaseModel):
    """A run set against an expected-failures baseline."""

    file: str
    known: list[BaselineEntry] = Field(default_factory=list)
    new: list[BaselineEntry] = Field(default_factory=list)
    stale: list[BaselineEntry] = Field(default_factory=list)


class ConfigInfo(BaseModel):
    """The configuration a run used: the file read, where each setting came from, and the
    rule choice in force (command line over file)."""

    file: str | None = Field(
        default=None,
        description="The agui-conformance.toml or pyproject.toml read (null: none was, and "
        "the rule choice came from the command line).",
    )
    fromFile: list[str] = Field(
        default_factory=list, description="Settings taken from the file (its key names)."
    )
    fromCommandLine: list[str] = Field(
        default_factory=list,
        description="Settings the file also sets that the command line gave (it wins), and "
        "the rule keys (select, ignore, levels) the command line gave.",
    )
    select: list[str] = Field(
        default_factory=list,
        description="Rule ids or categories in force (empty: every rule of the profile).",
    )
    ignore: list[str] = Field(
        default_factory=list, description="Rule ids or categories turned off."
    )
    levels: dict[str, str] = Field(
        default_factory=dict,
        description="Per-rule levels in force (error | warning | info | off).",
    )


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
    failOn: str = "error"
    seed: int | None = Field(default=None, description="Seed of the generated inputs.")
    examples: int = 0
    startedAt: str = Field(default="", description="ISO 8601 UTC time the run started.")
    durationS: float = 0.0
    command: str = Field(default="", description="The command that reproduces this run.")
    runArgs: list[str] = Field(
        default_factory=list,
        description="The `agui-conformance run` arguments that decide this run's verdict "
        "(target, headers as env: references, profile, fail-on, deadlines, baseline, ...), "
        "shell-quoted, without -k, --examples and --seed; every reproducer is built from "
        "them. Empty when the run was not started by `agui-conformance run`.",
    )
    builtInAgent: bool = Field(
        default=False,
        description="The target was the built-in reference agent on a temporary port: "
        "reproducers start it again (no --agent-url) instead of naming that port.",
    )
    headerEnv: dict[str, str] = Field(
        default_factory=dict,
        description="Header name -> the environment variable its value was read from "
        "(names only, never values); reproducers read the same variables.",
    )
    config: ConfigInfo | None = Field(
        default=None, description="The configuration file read, when there was one."
    )
    summary: Summary | None = None
    baseline: BaselineComparison | None = None
    requirements: list[RequirementStatus] = Field(default_factory=list)
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
