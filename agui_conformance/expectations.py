"""A case's own behaviour expectations, judged on the run its request started.

A case file (cases/*.yaml) may state what the agent must do, beyond speaking the protocol:

- `expect_tool_call: {name, arguments}`: call the tool `name`; with `arguments` (a JSON
  Schema), with arguments that schema accepts. The arguments are the TOOL_CALL_ARGS (or
  TOOL_CALL_CHUNK) deltas of the call joined, or, for a call streamed without any, the
  arguments a MESSAGES_SNAPSHOT of the run gives it; a call only a snapshot holds counts
  too. Calls the input's history already held are not this run's.
- `expect_state: [POINTER, ...]`: each JSON Pointer is present in the final state the
  agent reported: the input's `state` (absent: `{}`), replaced by each STATE_SNAPSHOT and
  amended by each STATE_DELTA, a delta that does not apply skipped as a consumer does.
- `expect_outcome: success | interrupt | cancelled`: the run's RUN_FINISHED carries that
  outcome (absent means success; an outcome type the schema does not describe reads as
  success, as a consumer strips it).

These are the case author's assertions, not requirements of the spec: an unmet one is
`case-expectation-unmet` (category and strength `case`), which fails the case but does not
lower the conformance level. Only a run that finished (RUN_FINISHED, the body closed) can
meet or miss one; a RUN_ERROR stays the agent's own error and no answer stays unresponsive
(agui_conformance.evidence). Pure: reads recorded exchanges, never sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agui_conformance.hits import Hit
from agui_conformance.jsonpatch import PatchError, SizeExceeded, apply_patch, copy_value
from agui_conformance.jsonsize import DEFAULT_MAX_STATE_BYTES, SizeBudget, json_size
from agui_conformance.model import RunRecord
from agui_conformance.transport import Exchange

RULE = "case-expectation-unmet"
TOKEN = "expectation"  # the trigger token of a judged run (rules/triggers.yaml)
SPEC = "https://docs.ag-ui.com/spec/1.1"
Outcome = Literal["success", "interrupt", "cancelled"]
OUTCOMES: tuple[str, ...] = ("success", "interrupt", "cancelled")
_POINTER = re.compile(r"(/([^~/]|~[01])*)*")
SHOWN = 5  # tool names listed when the expected one was not called


class ToolCallExpectation(BaseModel):
    """`expect_tool_call`: the tool the agent must call, and optionally its arguments."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="The tool's name, as the call names it.")
    arguments: dict[str, Any] | bool | None = Field(
        default=None,
        description="A JSON Schema (2020-12 unless `$schema` says otherwise) that the call's "
        "arguments must match.",
    )

    @field_validator("arguments")
    @classmethod
    def _a_schema(cls, value: dict[str, Any] | bool | None) -> dict[str, Any] | bool | None:
        if value is None:
            return value
        validator = jsonschema.validators.validator_for(value, default=_DEFAULT)
        try:
            validator.check_schema(value)
        except jsonschema.SchemaError as err:
            where = "/".join(str(p) for p in err.absolute_path)
            raise ValueError(
                f"`arguments` is not a JSON Schema: {err.message}"
                + (f" (at {where})" if where else "")
            ) from None
        return value


_DEFAULT = jsonschema.Draft202012Validator


def check_pointer(pointer: str) -> str:
    """`pointer` if it is a JSON Pointer (RFC 6901), else ValueError."""
    if not isinstance(pointer, str) or not _POINTER.fullmatch(pointer):
        raise ValueError(
            f"{pointer!r} is not a JSON Pointer: it starts with `/`, and `~` is followed by "
            "`0` or `1` (e.g. `/cart/items`, `/a~1b` for the member `a/b`)"
        )
    return pointer


@dataclass(frozen=True)
class Expectations:
    """What a case states the agent must do (see the module docstring)."""

    tool_call: ToolCallExpectation | None = None
    state: tuple[str, ...] = ()
    outcome: str | None = None

    def __bool__(self) -> bool:
        return self.tool_call is not None or bool(self.state) or self.outcome is not None


def judge(expected: Expectations, request: Any, events: Iterable[tuple[int, Any]]) -> list[Hit]:
    """The hits of the expectations a finished run did not meet. `events`: the run's
    decoded events with their stream indexes (other values are skipped); the hits name
    the last RUN_FINISHED."""
    stream = [(i, e) for i, e in events if isinstance(e, dict)]
    finish = next((p for p in reversed(stream) if p[1].get("type") == "RUN_FINISHED"), None)
    if finish is None:
        return []  # not a finished run: nothing met or missed
    index = finish[0]
    started = max(
        (pos for pos, (_, e) in enumerate(stream) if e.get("type") == "RUN_STARTED"), default=0
    )
    run = [e for _, e in stream[started:]]  # the requested run: the stream's last
    out: list[str] = []
    if expected.tool_call is not None:
        missed = _tool_call_missed(expected.tool_call, request, run)
        if missed:
            out.append(missed)
    if expected.state:
        missed = _state_missed(expected.state, request, [e for _, e in stream])
        if missed:
            out.append(missed)
    if expected.outcome is not None:
        got = outcome_of(finish[1])
        if got != expected.outcome:
            shown = f"`{got}`" if finish[1].get("outcome") is not None else "none (success)"
            shown = got if got.startswith("a malformed") else shown
            out.append(
                f"The case expects the run to finish with the `{expected.outcome}` outcome; "
                f"its RUN_FINISHED carries {shown} ({SPEC}/events/lifecycle#run_finished)."
            )
    return [Hit(RULE, index, text) for text in out]


# ------------------------------------------------------------------ outcome


def outcome_of(finish: dict[str, Any]) -> str:
    """The outcome a consumer reads from a RUN_FINISHED: `success` when absent (or null),
    or for an outcome type the schema does not describe (stripped); the type otherwise;
    `a malformed outcome (...)` when it is no object with a string `type`."""
    outcome = finish.get("outcome")
    if outcome is None:
        return "success"
    kind = outcome.get("type") if isinstance(outcome, dict) else None
    if not isinstance(kind, str):
        return f"a malformed outcome ({_preview(outcome)})"
    return kind if kind in OUTCOMES else "success"


# ------------------------------------------------------------------ tool calls


@dataclass
class _Call:
    id: str
    name: str
    arguments: str


def calls_of(request: Any, run: list[dict[str, Any]]) -> list[_Call]:
    """The tool calls the run made: streamed (arguments joined from their deltas), or held
    only by a MESSAGES_SNAPSHOT of the run (a streamed call without arguments takes the
    snapshot's); calls of the input's history left out."""
    from agui_conformance.cases import assistant_messages  # cases imports this module

    history = _history_call_ids(request)
    calls: dict[str, _Call] = {}
    for message in assistant_messages(run):
        for call in message.get("toolCalls", ()):
            function = call.get("function", {})
            calls[call["id"]] = _Call(call["id"], function.get("name", ""), function["arguments"])
    for event in run:
        if event.get("type") != "MESSAGES_SNAPSHOT" or not isinstance(event.get("messages"), list):
            continue
        for cid, name, arguments in _snapshot_calls(event["messages"]):
            known = calls.get(cid)
            if known is None:
                calls[cid] = _Call(cid, name, arguments)
            elif not known.arguments.strip():
                known.arguments = arguments
    return [c for c in calls.values() if c.id not in history]


def _snapshot_calls(messages: list[Any]) -> Iterator[tuple[str, str, str]]:
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        tool_calls = message.get("toolCalls")
        for call in tool_calls if isinstance(tool_calls, list) else ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(call.get("id"), str):
                name, arguments = function.get("name"), function.get("arguments")
                yield (
                    call["id"],
                    name if isinstance(name, str) else "",
                    arguments if isinstance(arguments, str) else "",
                )


def _history_call_ids(request: Any) -> set[str]:
    messages = request.get("messages") if isinstance(request, dict) else None
    return {cid for cid, _, _ in _snapshot_calls(messages if isinstance(messages, list) else [])}


def _tool_call_missed(
    expected: ToolCallExpectation, request: Any, run: list[dict[str, Any]]
) -> str | None:
    calls = calls_of(request, run)
    named = [c for c in calls if c.name == expected.name]
    if not named:
        names = list(dict.fromkeys(repr(c.name) for c in calls))
        made = (
            f"it called {', '.join(names[:SHOWN])}" + (" and more" if len(names) > SHOWN else "")
            if names
            else "it called no tool"
        )
        return (
            f"The case expects a call to the tool `{expected.name}`; the run finished without "
            f"one ({made}) ({SPEC}/events/tool-calls#tool_call_start)."
        )
    if expected.arguments is None:
        return None
    reasons = []
    for call in named:
        reason = arguments_mismatch(expected.arguments, call.arguments)
        if reason is None:
            return None
        reasons.append(f"call {call.id!r}: {reason}")
    more = f" ({len(reasons) - 1} more call(s) of it missed too)" if len(reasons) > 1 else ""
    return (
        f"The case expects a call to `{expected.name}` whose arguments match its schema; "
        f"no call of it did: {reasons[0]}{more} ({SPEC}/events/tool-calls#tool_call_args)."
    )


def arguments_mismatch(schema: dict[str, Any] | bool, text: str) -> str | None:
    """Why the arguments `text` (JSON; empty or blank reads as `{}`, as clients run a call
    streamed without arguments) do not match `schema`, or None when they do."""
    try:
        value = orjson.loads(text) if text.strip() else {}
    except orjson.JSONDecodeError:
        return f"its arguments are not JSON ({_preview(text)})"
    validator = jsonschema.validators.validator_for(schema, default=_DEFAULT)(schema)
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    except RecursionError:
        return "its arguments are nested too deeply to check against the schema"
    if error is None:
        return None
    where = "".join(f"/{p}" for p in error.absolute_path) or "the arguments"
    return f"{where}: {error.message[:200]} (arguments {_preview(value)})"


# ------------------------------------------------------------------ state


def final_state(
    request: Any, events: Iterable[dict[str, Any]], limit: int = DEFAULT_MAX_STATE_BYTES
) -> tuple[bool, bool, Any]:
    """(reported, known, state): whether the agent reported state at all (a STATE_SNAPSHOT
    or STATE_DELTA), whether the final state is known (within `limit` bytes of JSON, the
    validator's bound), and that state: the input's `state` (absent: `{}`), replaced by each
    snapshot and amended by each delta; a delta that does not apply is skipped, as a
    consumer does (its own rules report it)."""
    sent = request.get("state", {}) if isinstance(request, dict) else {}
    budget = SizeBudget(limit=limit)
    budget.used = json_size(sent, limit)
    known = budget.used <= limit
    state = copy_value(sent) if known else None
    reported = False
    for event in events:
        kind = event.get("type")
        if kind == "STATE_SNAPSHOT" and "snapshot" in event:
            reported = True
            budget.used = json_size(event["snapshot"], limit)
            known = budget.used <= limit
            state = copy_value(event["snapshot"]) if known else None  # deltas apply in place
        elif kind == "STATE_DELTA" and isinstance(event.get("delta"), list):
            reported = True
            if not known:
                continue
            try:
                state = apply_patch(state, event["delta"], budget=budget)
            except SizeExceeded:
                known, state = False, None
            except PatchError:
                continue
    return reported, known, state


def present(doc: Any, pointer: str) -> bool:
    """Whether `pointer` (RFC 6901) names a value in `doc`."""
    if not pointer:
        return True
    node = doc
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif (
            isinstance(node, list)
            and token.isdigit()
            and (token == "0" or not token.startswith("0"))
            and int(token) < len(node)
        ):
            node = node[int(token)]
        else:
            return False
    return True


def _state_missed(
    pointers: tuple[str, ...], request: Any, events: list[dict[str, Any]]
) -> str | None:
    reported, known, state = final_state(request, events)
    wanted = ", ".join(f"`{p}`" for p in pointers)
    if not reported:
        return (
            f"The case expects {wanted} in the state the agent reports; the run reported no "
            f"state (no STATE_SNAPSHOT or STATE_DELTA) ({SPEC}/events/state)."
        )
    if not known:
        return None  # past the validator's bound (state-too-large): not judged
    missing = [p for p in pointers if not present(state, p)]
    if not missing:
        return None
    shown = ", ".join(f"`{p}`" for p in missing)
    return (
        f"The case expects {shown} in the final state the agent reported (the input's "
        f"`state`, then the run's snapshots and deltas); that state holds no such value: "
        f"{_preview(state)} ({SPEC}/events/state)."
    )


def _preview(value: Any, limit: int = 120) -> str:
    try:
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------ a case's run


_WANTED = (b"TOOL_CALL", b"STATE_", b"MESSAGES_SNAPSHOT", b"RUN_")


def decoded(record: Exchange) -> Iterator[tuple[int, Any]]:
    """The events an expectation reads, every frame of the exchange (not only those a
    report keeps), decoded with their indexes; the rest never parsed."""
    for frame in record.frames:
        data = frame.data
        if not any(marker in data for marker in _WANTED):
            continue
        try:
            yield frame.index, orjson.loads(data)
        except orjson.JSONDecodeError:
            continue


def apply(
    expected: Expectations, run: RunRecord, record: Exchange, request: Any, profile: str
) -> None:
    """Judge `expected` on a case's run: only a finished run meets or misses it (and is
    then exercised); the unmet ones join the run's findings."""
    if not expected or run.outcome != "finished":
        return
    from agui_conformance.behaviour import findings
    from agui_conformance.exercise import exercised

    hits = judge(expected, request, decoded(record))
    run.exercised += exercised({TOKEN})
    if hits:
        run.findings = [*run.findings, *findings(hits, profile)]
