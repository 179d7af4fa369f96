"""Typed records every part of the tool passes along.

Owns: `Level`, `Strength`, `Finding`, `ValidationResult`, and the runner's
`RunRecord`, `CaseResult` and `Report`. Knows nothing of
HTTP, files or rules' logic; reports and the CLI only read these.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
        return {"error": 3, "warning": 2, "info": 1}[self.value]


FAIL_ON = ("error", "warning", "info", "never")


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
    lines: dict[int, int] = Field(
        default_factory=dict,
        description="The 1-based line of the recording file each event a finding names "
        "starts on (JSONL and SSE recordings; none for a JSON document).",
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
