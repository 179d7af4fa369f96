"""Typed records every part of the tool passes along.

Owns the runner's `RunRecord`, `CaseResult` and `Report`: plain dataclasses, so that
`agui-conformance validate` builds its one-case Report without importing pydantic (~100 ms
here). The JSON report is these records serialised as they are (`dump_report`: orjson,
each record as its fields, `SentRequest` as what was sent), and its schema
(`schemas/report.schema.json`) is generated from them by pydantic, which reads
dataclasses as it reads its own models; the field descriptions reach the schema through
`__pydantic_config__` (a plain dict). `load_report` reads a JSON report back (pydantic,
imported there). `Level`, `Strength`, `Finding` and `ValidationResult` live in `records`
and are re-exported here. Knows nothing of HTTP, files or rules' logic; reports and the
CLI only read these.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal

from agui_conformance.records import (
    FAIL_ON,
    Finding,
    Level,
    Strength,
    ValidationResult,
    described,
    exit_fails,
    fail_level,
)

__all__ = [
    "FAIL_ON",
    "BaselineComparison",
    "BaselineEntry",
    "CaseResult",
    "ConfigInfo",
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
    "as_data",
    "dump_report",
    "exit_fails",
    "fail_level",
    "load_report",
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


REQUEST_SCHEMA: dict[str, Any] = {
    "title": "Request",
    "description": "What the exchange sent: the JSON object POSTed (a RunAgentInput); a "
    "string (the first 500 characters of a body that is not a JSON object); "
    '{"preview", "bytes"} (a body over 100,000 bytes: its first 2,000 characters and '
    'its size); {"GET": url} or {"file": path} (a capabilities declaration).',
    "type": ["object", "string"],
}


def _request_schema(schema: dict[str, Any], _cls: type) -> None:
    """`RunRecord.request` as the report shows it (`SentRequest.as_shown`), not as the
    record holds it."""
    schema["properties"]["request"] = dict(REQUEST_SCHEMA)


@dataclass(kw_only=True)
class RunRecord:
    """One HTTP exchange of a case, as reports show it."""

    __pydantic_config__ = described(
        {
            "reproducer": "A command replaying this exchange (the generated inputs' "
            "minimal failing input, as curl; secrets as environment variables).",
            "eventsOmitted": "Events validated but not kept in `events` (a report keeps the "
            "first 2,000 of an exchange, and no more than 256 KiB of their payload).",
            "exercised": "Rule ids whose trigger this exchange reached (only an exchange "
            "that was answered and completed exercises a rule).",
            "outcome": "What the exchange showed: finished | run-error | refused | no-run | "
            "unresponsive | cut | left | harness-error | read (agui_conformance.evidence).",
            "recording": "The recorded file this run was read from (`validate`); "
            "`stdin` for standard input. None for a live exchange.",
            "eventLines": "The 1-based line of the recording each event a finding names "
            "starts on, by event index (JSONL and SSE files; none for a JSON document or "
            "standard input).",
            "protocolVersions": "The protocolVersion each RUN_STARTED of the exchange "
            "declared, in order, once each ('(none)': one declared none; at most 16), "
            "counted while validating all its events (`validate`, which keeps only the "
            "first). Null: read from `events`.",
        },
        _request_schema,
    )

    request: SentRequest
    reproducer: str | None = None
    requestHeaders: dict[str, str]
    status: int | None
    responseHeaders: dict[str, str]
    timing: dict[str, Any]
    events: list[Any] = field(default_factory=list)
    eventTimesMs: list[float] = field(default_factory=list)
    eventsOmitted: int = 0
    findings: list[Finding] = field(default_factory=list)
    harnessError: str | None = None
    exercised: list[str] = field(default_factory=list)
    outcome: str | None = None
    recording: str | None = None
    eventLines: dict[str, int] = field(default_factory=dict)
    protocolVersions: list[str] | None = None

    def __post_init__(self) -> None:
        # what was sent, typed, whatever form it was given in (the report's JSON shape too)
        self.request = SentRequest.shown(self.request)

    @property
    def event_count(self) -> int:
        """Every event the exchange carried, kept or not."""
        return len(self.events) + self.eventsOmitted


@dataclass(kw_only=True)
class CaseResult:
    """One scenario case (or one recording) and its exchanges."""

    __pydantic_config__ = described(
        {
            "status": "passed (its evidence was observed, no finding at the fail-on level) | "
            "failed (a protocol finding, or the agent unresponsive) | agent-error (a valid "
            "input answered with RUN_ERROR) | inconclusive (the harness cut the answer) | "
            "not-run (the agent was unresponsive, the suite stopped early) | known-failure "
            "(every failure is in the baseline) | not-applicable | harness-error",
            "exercised": "Rules exercised by exchanges not kept in `runs` (passing generated "
            "inputs).",
            "reference": "The reference agent's status on this case, when compared.",
        }
    )

    id: str
    title: str
    requirements: list[str]
    expect: str
    status: str
    reason: str = ""
    runs: list[RunRecord] = field(default_factory=list)
    durationMs: float | None = None
    exercised: list[str] = field(default_factory=list)
    reference: str | None = None

    @property
    def findings(self) -> list[Finding]:
        return [f for run in self.runs for f in run.findings]


RequirementState = Literal["passed", "failed", "not-exercised", "not-applicable"]


@dataclass(kw_only=True)
class RequirementStatus:
    """One catalog rule's outcome over a whole suite run."""

    __pydantic_config__ = described(
        {
            "level": "The rule's level under the run's profile.",
            "reason": "Why not applicable / not exercised.",
            "findings": "Findings at or above the fail-on level.",
            "notes": "Findings below the fail-on level.",
            "cases": "Cases with findings of it.",
            "exercised": "A completed exchange reached what the rule checks (its trigger "
            "held): what the verdict's coverage counts.",
            "reference": "The same rule's status against the reference agent.",
        }
    )

    rule: str
    title: str
    strength: Strength
    level: Level
    category: str
    spec: str
    hint: str = ""
    status: RequirementState
    reason: str = ""
    findings: int = 0
    notes: int = 0
    cases: list[str] = field(default_factory=list)
    exercised: bool = False
    reference: RequirementState | None = None


@dataclass(kw_only=True)
class Coverage:
    """How much of the catalog the run put to the test: rules a completed exchange
    exercised, of the rules that apply under the profile."""

    __pydantic_config__ = described(
        {
            "exercised": "Applicable rules a completed exchange exercised.",
            "applicable": "Catalog rules that apply (not `not-applicable`).",
            "percent": "exercised / applicable x 100, rounded down to 0.1.",
            "minimum": "`--min-coverage`: the percent the verdict requires.",
            "met": "No minimum was asked for, or `percent` reached it.",
        }
    )

    exercised: int
    applicable: int
    percent: float
    minimum: float | None = None
    met: bool = True


@dataclass(kw_only=True)
class Summary:
    """The verdict block: what a reader needs first."""

    __pydantic_config__ = described(
        {
            "conformance": "'MUST + SHOULD' (no error or warning), 'MUST' (no error), 'none' "
            "(errors), or 'incomplete' (a harness error kept cases from running).",
            "passed": "Some case passed on observed evidence, none failed, ended in an "
            "agent error or was left unrun at the fail-on level, and the coverage reached "
            "`--min-coverage` when one was asked for.",
            "requirements": "Requirement count per status.",
            "cases": "Case count per status.",
            "protocolVersions": "protocolVersion values the agent declared.",
        }
    )

    conformance: str
    passed: bool
    requirements: dict[str, int]
    cases: dict[str, int]
    protocolVersions: list[str] = field(default_factory=list)
    coverage: Coverage | None = None


@dataclass(kw_only=True)
class BaselineEntry:
    """One accepted failure: a case that breaks a rule."""

    __pydantic_config__ = described({"message": "The first finding's message, for readers."})

    case: str
    rule: str
    message: str = ""


@dataclass(kw_only=True)
class BaselineComparison:
    """A run set against an expected-failures baseline."""

    file: str
    known: list[BaselineEntry] = field(default_factory=list)
    new: list[BaselineEntry] = field(default_factory=list)
    stale: list[BaselineEntry] = field(default_factory=list)


@dataclass(kw_only=True)
class ConfigInfo:
    """The configuration a run used: the file read, where each setting came from, and the
    rule choice in force (command line over file)."""

    __pydantic_config__ = described(
        {
            "file": "The agui-conformance.toml or pyproject.toml read (null: none was, "
            "and the rule choice came from the command line).",
            "fromFile": "Settings taken from the file (its key names).",
            "fromCommandLine": "Settings the file also sets that the command line gave (it "
            "wins), and the rule keys (select, ignore, levels) the command line gave.",
            "select": "Rule ids or categories in force (empty: every rule of the profile).",
            "ignore": "Rule ids or categories turned off.",
            "levels": "Per-rule levels in force (error | warning | info | off).",
        }
    )

    file: str | None = None
    fromFile: list[str] = field(default_factory=list)
    fromCommandLine: list[str] = field(default_factory=list)
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    levels: dict[str, str] = field(default_factory=dict)


@dataclass(kw_only=True)
class ToolInfo:
    name: str = "agui-conformance"
    version: str


@dataclass(kw_only=True)
class Report:
    """What `agui-conformance run --json` and `validate --format json` write;
    schemas/report.schema.json is generated from this record (a test fails when the
    checked-in copy is stale)."""

    __pydantic_config__ = described(
        {
            "target": "The agent URL tested (credentials never appear); for `validate`, "
            "the recording (or `N recordings`).",
            "seed": "Seed of the generated inputs.",
            "startedAt": "ISO 8601 UTC time the run started.",
            "command": "The command that reproduces this run.",
            "runArgs": "The `agui-conformance run` arguments that decide this run's verdict "
            "(target, headers as env: references, profile, fail-on, deadlines, baseline, "
            "...), shell-quoted, without -k, --examples and --seed; every reproducer is "
            "built from them. Empty when the run was not started by `agui-conformance run`.",
            "builtInAgent": "The target was the built-in reference agent on a temporary "
            "port: reproducers start it again (no --agent-url) instead of naming that port.",
            "headerEnv": "Header name -> the environment variable its value was read from "
            "(names only, never values); reproducers read the same variables.",
            "config": "The configuration file read, when there was one.",
        }
    )

    reportVersion: str = "1"
    tool: ToolInfo
    protocolVersion: str = "1.1"
    target: str
    profile: str
    failOn: str = "error"
    seed: int | None = None
    examples: int = 0
    startedAt: str = ""
    durationS: float = 0.0
    command: str = ""
    runArgs: list[str] = field(default_factory=list)
    builtInAgent: bool = False
    headerEnv: dict[str, str] = field(default_factory=dict)
    config: ConfigInfo | None = None
    summary: Summary | None = None
    baseline: BaselineComparison | None = None
    requirements: list[RequirementStatus] = field(default_factory=list)
    cases: list[CaseResult]


def shown(value: Any) -> Any:
    """A record as the JSON report shows it (orjson's `default` for the records, with
    OPT_PASSTHROUGH_DATACLASS): a dataclass as its fields, a `SentRequest` as it was
    sent (`as_shown`). Other values are left to the caller's encoder (TypeError)."""
    if isinstance(value, SentRequest):
        return value.as_shown()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    raise TypeError(f"{type(value).__name__} is not a report record")


def as_data(value: Any) -> Any:
    """A record (or any value holding records) as plain JSON data, recursively."""
    if isinstance(value, dict):
        return {key: as_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_data(item) for item in value]
    if isinstance(value, SentRequest) or (is_dataclass(value) and not isinstance(value, type)):
        return as_data(shown(value))
    return value


def dump_report(report: Report) -> bytes:
    """`report` as compact JSON bytes (what `load_report` reads), raising TypeError for a
    value JSON cannot carry (a lone surrogate)."""
    import orjson

    return orjson.dumps(report, default=shown, option=orjson.OPT_PASSTHROUGH_DATACLASS)


def load_report(data: bytes | str) -> Report:
    """A JSON report read back into the records (pydantic checks it against them); a
    run's `request` in any shape a report has shown it in."""
    import orjson
    from pydantic import TypeAdapter

    document = orjson.loads(data)
    for case in document.get("cases", []) if isinstance(document, dict) else []:
        for run in case.get("runs", []) if isinstance(case, dict) else []:
            if isinstance(run, dict):
                run["request"] = SentRequest.shown(run.get("request"))
    return TypeAdapter(Report).validate_python(document)


def report_schema() -> dict[str, Any]:
    """The JSON Schema of `Report` (schemas/report.schema.json is this, checked in)."""
    import json

    from pydantic import TypeAdapter

    schema = TypeAdapter(Report).json_schema()
    if "#/$defs/SentRequest" not in json.dumps(schema):  # shown as sent, not as held
        schema.get("$defs", {}).pop("SentRequest", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://agui-conformance.dev/schemas/report.schema.json"
    return schema


if __name__ == "__main__":  # python -m agui_conformance.model > schemas/report.schema.json
    import json

    print(json.dumps(report_schema(), indent=2, sort_keys=True))
