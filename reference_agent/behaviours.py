"""Deterministic behaviours of the reference agent: a RunAgentInput in, events out.

No model, no network, no clock, no randomness: the same input always gives
the same stream, so any client can drive it and any finding is reproducible.
The behaviour is chosen from the last user message (commands listed in
`COMMANDS`); the default is an echo streamed token by token. A run whose last
message is a tool result continues with that result; a run carrying `resume`
entries answers the interrupt it resumes. Unrecognised input material is
stripped first (`inputs`), so nothing the agent restates from the input (the
history in MESSAGES_SNAPSHOT) carries an unknown role or member.

Every stream produced here must pass the validator with zero findings
(tests/test_reference_agent.py proves it for each command).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from agui_conformance.hits import Hit
from reference_agent.arguments import TooLarge, example_for
from reference_agent.inputs import Unstrippable, strip_unrecognised

Event = dict[str, Any]
PROTOCOL_VERSION = "1.1"
USAGE = {
    "provider": "reference",
    "model": "echo-1",
    "inputTokens": 12,
    "outputTokens": 8,
    "totalTokens": 20,
}

COMMANDS: dict[str, str] = {
    "(anything else)": "echo the message back, streamed token by token (text triad)",
    "chunks": "reply in the chunked form (TEXT_MESSAGE_CHUNK)",
    "multi": "two assistant messages in one run",
    "steps": "a reply wrapped in two steps",
    "reason": "a reasoning span with a reasoning message and an encrypted value, then the answer",
    "tool": "call the first frontend tool offered in `tools` and finish with it pending",
    "tool: NAME": "call the frontend tool NAME (must be offered in `tools`)",
    "backend": "call the agent's own `lookup` tool and answer it with TOOL_CALL_RESULT",
    "state": "STATE_DELTA on the input state, then STATE_SNAPSHOT and more deltas",
    "messages": "a reply, then a MESSAGES_SNAPSHOT consistent with it",
    "activity": "ACTIVITY_SNAPSHOT then ACTIVITY_DELTA",
    "subagent": "a subagent invocation with attributed content",
    "interrupt": "finish with an interrupt outcome (resume it in the next run)",
    "cancel": "stop early and finish with the cancelled outcome",
    "error": "fail inside the run: RUN_ERROR with a safe message and a code",
    "passthrough": "RAW and CUSTOM events around a reply",
    "long N": "a reply of N content deltas (1..100000)",
    "slow": "a reply whose deltas are spaced by 50 ms",
    "everything": "one run that emits every event type the reference agent can",
    "(what is my X?)": "answer from the history: the VALUE an earlier user message gave as "
    "`my X is VALUE`",
}


@dataclass
class Plan:
    """What the server streams: events, and an optional delay before each.

    `events` may be produced as they are read (`long N`): iterate them once.
    `input` is the run input as the agent kept it (unrecognised material
    stripped); `stripped` names what went, as JSON Pointers.
    """

    events: Iterable[Event] = field(default_factory=list)
    delay: float = 0.0  # seconds between events
    input: dict[str, Any] = field(default_factory=dict)
    stripped: list[str] = field(default_factory=list)


class Ids:
    """Deterministic ids derived from the run id (fresh per run, stable per input)."""

    def __init__(self, run_id: str) -> None:
        self.base = hashlib.sha1(run_id.encode("utf-8", "replace")).hexdigest()[:10]
        self.n = 0

    def __call__(self, kind: str) -> str:
        self.n += 1
        return f"{kind}-{self.base}-{self.n}"


def last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(
                    p.get("text", "")
                    for p in content
                    if isinstance(p, dict) and p.get("type") == "text"
                )
    return ""


def tokens(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text) or [""]


class Run:
    """Builds one run's events."""

    def __init__(self, run_input: dict[str, Any]) -> None:
        self.input = run_input
        self.thread_id = str(run_input["threadId"])
        self.run_id = str(run_input["runId"])
        self.ids = Ids(self.run_id)
        self.events: list[Event] = [
            {
                "type": "RUN_STARTED",
                "threadId": self.thread_id,
                "runId": self.run_id,
                "protocolVersion": PROTOCOL_VERSION,
            }
        ]

    def emit(self, *events: Event) -> None:
        self.events.extend(events)

    def text(self, text: str, *, owner: str | None = None) -> str:
        mid = self.ids("msg")
        tag = {"subagentRunId": owner} if owner else {}
        self.emit({"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant", **tag})
        for token in tokens(text):
            self.emit({"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": token})
        self.emit({"type": "TEXT_MESSAGE_END", "messageId": mid})
        return mid

    def snapshot(self) -> Event:
        """A MESSAGES_SNAPSHOT of the input history plus everything this run streamed."""
        history = [
            m
            for m in self.input.get("messages", [])
            if isinstance(m, dict) and m.get("role") != "activity"
        ]
        built: dict[str, dict[str, Any]] = {}
        lanes: dict[str, str] = {}  # chunk kind -> open id

        def message(mid: str, role: str, owner: Any = None) -> dict[str, Any]:
            if mid not in built:
                built[mid] = {"id": mid, "role": role, "content": ""}
                if owner:
                    built[mid]["subagentRunId"] = owner
            return built[mid]

        calls: dict[str, dict[str, Any]] = {}
        for event in self.events:
            kind = event["type"]
            if kind in ("TEXT_MESSAGE_START", "REASONING_MESSAGE_START"):
                role = "reasoning" if kind.startswith("REASONING") else "assistant"
                message(event["messageId"], role, event.get("subagentRunId"))
            elif kind in ("TEXT_MESSAGE_CONTENT", "REASONING_MESSAGE_CONTENT"):
                built[event["messageId"]]["content"] += event["delta"]
            elif kind in ("TEXT_MESSAGE_CHUNK", "REASONING_MESSAGE_CHUNK"):
                role = "reasoning" if kind.startswith("REASONING") else "assistant"
                mid = event.get("messageId") or lanes[kind]
                lanes[kind] = mid
                message(mid, role)["content"] += event.get("delta", "")
            elif kind in ("TOOL_CALL_START", "TOOL_CALL_CHUNK") and event.get("toolCallId"):
                parent = message(event["parentMessageId"], "assistant")
                call = {
                    "id": event["toolCallId"],
                    "type": "function",
                    "function": {"name": event["toolCallName"], "arguments": ""},
                }
                calls[event["toolCallId"]] = call
                lanes["TOOL_CALL_CHUNK"] = event["toolCallId"]
                parent.setdefault("toolCalls", []).append(call)
                call["function"]["arguments"] += event.get("delta", "")
            elif kind in ("TOOL_CALL_ARGS", "TOOL_CALL_CHUNK"):
                cid = event.get("toolCallId") or lanes["TOOL_CALL_CHUNK"]
                calls[cid]["function"]["arguments"] += event.get("delta", "")
            elif kind == "TOOL_CALL_RESULT":
                built[event["messageId"]] = {
                    "id": event["messageId"],
                    "role": "tool",
                    "toolCallId": event["toolCallId"],
                    "content": event["content"],
                }
        return {"type": "MESSAGES_SNAPSHOT", "messages": [*history, *built.values()]}

    def finished(self, outcome: dict[str, Any] | None = None, **extra: Any) -> Event:
        """The RUN_FINISHED event ending this run (not emitted)."""
        event: Event = {"type": "RUN_FINISHED", "threadId": self.thread_id, "runId": self.run_id}
        if outcome is not None:
            event["outcome"] = outcome
        event.update(extra)
        event.setdefault("usage", [USAGE])
        return event

    def finish(self, outcome: dict[str, Any] | None = None, **extra: Any) -> list[Event]:
        self.emit(self.finished(outcome, **extra))
        return self.events


# ------------------------------------------------------------------ behaviours


def echo(run: Run, text: str) -> list[Event]:
    run.text(f"You said: {text}" if text else "Hello! Send me a message.")
    return run.finish()


def chunks(run: Run, text: str) -> list[Event]:
    """Reasoning, a tool call and text, all in the chunked form."""
    rid, cid, mid = run.ids("reasoning"), run.ids("call"), run.ids("msg")
    run.emit({"type": "REASONING_MESSAGE_CHUNK", "messageId": rid, "delta": "Chunks "})
    run.emit({"type": "REASONING_MESSAGE_CHUNK", "delta": "are compact."})
    run.emit(
        {
            "type": "TOOL_CALL_CHUNK",
            "toolCallId": cid,
            "toolCallName": "lookup",
            "parentMessageId": mid,
            "delta": '{"query": ',
        }
    )
    run.emit({"type": "TOOL_CALL_CHUNK", "delta": '"chunks"}'})
    run.emit(
        {
            "type": "TOOL_CALL_RESULT",
            "messageId": run.ids("toolmsg"),
            "toolCallId": cid,
            "content": [{"type": "text", "text": "found 1"}],
        }
    )
    parts = tokens("Streaming in the chunked form.")
    run.emit(
        {"type": "TEXT_MESSAGE_CHUNK", "messageId": mid, "role": "assistant", "delta": parts[0]}
    )
    run.emit(*({"type": "TEXT_MESSAGE_CHUNK", "delta": p} for p in parts[1:]))
    return run.finish()


def multi(run: Run, text: str) -> list[Event]:
    run.text("First message.")
    run.text("Second message.")
    return run.finish()


def steps(run: Run, text: str) -> list[Event]:
    run.emit({"type": "STEP_STARTED", "stepName": "plan"})
    run.emit({"type": "STEP_FINISHED", "stepName": "plan"})
    run.emit({"type": "STEP_STARTED", "stepName": "answer"})
    run.text("Planned, then answered.")
    run.emit({"type": "STEP_FINISHED", "stepName": "answer"})
    return run.finish()


def reason(run: Run, text: str) -> list[Event]:
    span, rid = run.ids("span"), run.ids("reasoning")
    run.emit({"type": "REASONING_START", "messageId": span})
    run.emit({"type": "REASONING_MESSAGE_START", "messageId": rid, "role": "reasoning"})
    for token in tokens("The user wants a short answer."):
        run.emit({"type": "REASONING_MESSAGE_CONTENT", "messageId": rid, "delta": token})
    run.emit({"type": "REASONING_MESSAGE_END", "messageId": rid})
    run.emit(
        {
            "type": "REASONING_ENCRYPTED_VALUE",
            "subtype": "message",
            "entityId": rid,
            "encryptedValue": "cmVmZXJlbmNlLWFnZW50",
            "encryptedValueType": "reference.opaque",
        }
    )
    run.emit({"type": "REASONING_END", "messageId": span})
    run.text("Here is my answer after thinking.")
    return run.finish()


def frontend_tool(run: Run, text: str) -> list[Event]:
    tools = [t for t in run.input.get("tools") or [] if isinstance(t, dict) and "name" in t]
    wanted = text.split(":", 1)[1].strip() if ":" in text else None
    tool = (
        next((t for t in tools if t["name"] == wanted), None)
        if wanted
        else (tools[0] if tools else None)
    )
    if tool is None:
        offered = ", ".join(t["name"] for t in tools) or "none"
        run.text(f"I cannot call that tool: it was not offered (offered: {offered}).")
        return run.finish()
    try:
        args = json.dumps(example_for(tool.get("parameters") or {"type": "object"}, tool["name"]))
    except TooLarge as err:  # a schema asking for gigabytes: decline, build nothing
        run.text(f"I cannot call {tool['name']}: {err}.")
        return run.finish()
    mid, cid = run.ids("msg"), run.ids("call")
    run.emit({"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant"})
    run.emit(
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": f"Calling {tool['name']}."}
    )
    run.emit({"type": "TEXT_MESSAGE_END", "messageId": mid})
    run.emit(
        {
            "type": "TOOL_CALL_START",
            "toolCallId": cid,
            "toolCallName": tool["name"],
            "parentMessageId": mid,
        }
    )
    half = len(args) // 2
    for part in (args[:half], args[half:]):
        if part:
            run.emit({"type": "TOOL_CALL_ARGS", "toolCallId": cid, "delta": part})
    run.emit({"type": "TOOL_CALL_END", "toolCallId": cid})
    return run.finish({"type": "success", "pendingToolCallIds": [cid]})


def backend_tool(run: Run, text: str) -> list[Event]:
    mid, cid = run.ids("msg"), run.ids("call")
    run.emit({"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant"})
    run.emit({"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": "Looking that up."})
    run.emit({"type": "TEXT_MESSAGE_END", "messageId": mid})
    run.emit(
        {
            "type": "TOOL_CALL_START",
            "toolCallId": cid,
            "toolCallName": "lookup",
            "parentMessageId": mid,
        }
    )
    run.emit({"type": "TOOL_CALL_ARGS", "toolCallId": cid, "delta": '{"query": "reference"}'})
    run.emit({"type": "TOOL_CALL_END", "toolCallId": cid})
    run.emit(
        {
            "type": "TOOL_CALL_RESULT",
            "messageId": run.ids("toolmsg"),
            "toolCallId": cid,
            "content": '{"found": 3}',
            "role": "tool",
        }
    )
    run.text("The lookup found 3 results.")
    return run.finish()


def state(run: Run, text: str) -> list[Event]:
    current = run.input.get("state", {})
    if isinstance(current, dict):
        # Before our first snapshot, deltas amend the state the client sent (STATE-001).
        op = "replace" if "counter" in current else "add"
        value = current.get("counter", 0) + 1 if isinstance(current.get("counter"), int) else 1
        run.emit({"type": "STATE_DELTA", "delta": [{"op": op, "path": "/counter", "value": value}]})
        snapshot = {**current, "counter": value, "items": []}
    else:
        # Any other JSON value (an array, a string, a number) keeps its type (schema
        # `State`): an array grows by a delta on the sent state, then each is restated.
        if isinstance(current, list):
            grow = [{"op": "add", "path": "/-", "value": "alpha"}]
            run.emit({"type": "STATE_DELTA", "delta": grow})
            current = [*current, "alpha"]
        run.emit({"type": "STATE_SNAPSHOT", "snapshot": current})
        run.text("State kept.")
        return run.finish()
    run.emit({"type": "STATE_SNAPSHOT", "snapshot": snapshot})
    for item in ("alpha", "beta"):
        run.emit(
            {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "/items/-", "value": item}]}
        )
    run.text("State updated.")
    return run.finish()


def recall(run: Run, text: str) -> list[Event]:
    """Answer "what is my X?" from an earlier user message of the history saying
    "my X is VALUE": the history is the conversation (INPUT-002)."""
    asked = re.search(r"what\s+is\s+my\s+([\w -]{1,40}?)\s*\?", text, re.I)
    wanted = asked.group(1).strip() if asked else ""
    said = None
    if wanted:
        pattern = re.compile(rf"\bmy\s+{re.escape(wanted)}\s+is\s+([^\s,;!?]+)", re.I)
        for message in run.input.get("messages", [])[:-1]:
            if isinstance(message, dict) and message.get("role") == "user":
                found = pattern.search(last_user_text([message]))
                said = found.group(1).rstrip(".") if found else said
    run.text(said or f"I do not know your {wanted or 'answer'}: no earlier message says it.")
    return run.finish()


def messages_snapshot(run: Run, text: str) -> list[Event]:
    run.text("This reply is restated in a snapshot.")
    run.emit(run.snapshot())
    return run.finish()


def activity(run: Run, text: str) -> list[Event]:
    aid = run.ids("activity")
    run.emit(
        {
            "type": "ACTIVITY_SNAPSHOT",
            "messageId": aid,
            "activityType": "search",
            "content": {"query": text or "reference", "found": 0},
        }
    )
    run.emit(
        {
            "type": "ACTIVITY_DELTA",
            "messageId": aid,
            "activityType": "search",
            "patch": [{"op": "replace", "path": "/found", "value": 3}],
        }
    )
    run.text("Search finished.")
    return run.finish()


def subagent(run: Run, text: str) -> list[Event]:
    sid = run.ids("sub")
    run.emit(
        {
            "type": "SUBAGENT_STARTED",
            "subagentRunId": sid,
            "name": "researcher",
            "description": "Looks things up",
        }
    )
    run.emit({"type": "STEP_STARTED", "stepName": "research", "subagentRunId": sid})
    run.text("Researcher here: found it.", owner=sid)
    run.emit({"type": "STEP_FINISHED", "stepName": "research", "subagentRunId": sid})
    run.emit(
        {
            "type": "SUBAGENT_FINISHED",
            "subagentRunId": sid,
            "outcome": {"type": "success"},
            "result": {"summary": "found it"},
        }
    )
    failing = run.ids("sub")
    run.emit(
        {
            "type": "SUBAGENT_STARTED",
            "subagentRunId": failing,
            "name": "checker",
            "parentSubagentRunId": sid,
        }
    )
    run.emit(
        {
            "type": "SUBAGENT_ERROR",
            "subagentRunId": failing,
            "message": "The checker could not reach its source.",
            "code": "unavailable",
        }
    )
    run.text("The researcher found it; the checker failed, so it is unverified.")
    return run.finish()


def interrupt(run: Run, text: str) -> list[Event]:
    run.text("I need your approval first.")
    return run.finish(
        {
            "type": "interrupt",
            "interrupts": [
                {
                    "id": f"approve-{run.ids.base}",
                    "reason": "approval",
                    "message": "Proceed?",
                    "responseSchema": {
                        "type": "object",
                        "properties": {"approved": {"type": "boolean"}},
                    },
                }
            ],
        }
    )


def resumed(run: Run, entries: list[Any]) -> list[Event]:
    summary = ", ".join(
        f"{e.get('interruptId')}: {e.get('status')}" for e in entries if isinstance(e, dict)
    )
    run.text(f"Resumed with {summary}.")
    return run.finish()


def cancel(run: Run, text: str) -> list[Event]:
    run.text("Stopping early.")
    return run.finish({"type": "cancelled"})


def error(run: Run, text: str) -> list[Event]:
    mid = run.ids("msg")
    run.emit({"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant"})
    run.emit({"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": "Working"})
    run.emit(
        {
            "type": "RUN_ERROR",
            "message": "The agent could not finish this request.",
            "code": "reference_failure",
            "usage": [USAGE],
        }
    )
    return run.events


def passthrough(run: Run, text: str) -> list[Event]:
    run.emit({"type": "RAW", "event": {"provider_event": "start"}, "source": "reference"})
    run.emit({"type": "CUSTOM", "name": "com.agui-conformance.reference.hello", "value": {"n": 1}})
    run.text("Passed through.")
    return run.finish()


def long(run: Run, text: str) -> Iterator[Event]:
    """N content deltas, made as they are read: a client that does not read holds
    back the generation, not a list of every event."""
    match = re.search(r"long\s+(\d+)", text)
    digits = match.group(1).lstrip("0") if match else "100"
    count = min(max(int(digits or "0") if len(digits) <= 6 else 100_000, 1), 100_000)
    mid = run.ids("msg")
    run.emit({"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant"})
    deltas = (
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": f"{i} "} for i in range(count)
    )
    end = {"type": "TEXT_MESSAGE_END", "messageId": mid}
    return itertools.chain(run.events, deltas, (end, run.finished()))


def slow(run: Run, text: str) -> list[Event]:
    run.text("This reply arrives slowly, one token at a time.")
    return run.finish()


def tool_result_followup(run: Run, message: dict[str, Any]) -> list[Event]:
    content = message.get("content")
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    outcome = "failed" if message.get("error") else "returned"
    run.text(f"The tool {outcome}: {content}")
    return run.finish()


def everything(run: Run, text: str) -> list[Event]:
    """One run emitting every event type this agent can (bar RUN_ERROR)."""
    run.emit({"type": "STEP_STARTED", "stepName": "everything"})
    for build in (reason, state, activity, subagent, passthrough, chunks, backend_tool):
        sub = Run(run.input)
        sub.ids = run.ids
        build(sub, text)
        run.emit(*sub.events[1:-1])
    run.text("And a snapshot.")
    run.emit(run.snapshot())
    run.emit({"type": "STEP_FINISHED", "stepName": "everything"})
    return run.finish()


DISPATCH: list[tuple[re.Pattern[str], Callable[[Run, str], Iterable[Event]]]] = [
    (re.compile(r"^\s*chunks\b", re.I), chunks),
    (re.compile(r"^\s*multi\b", re.I), multi),
    (re.compile(r"^\s*steps\b", re.I), steps),
    (re.compile(r"^\s*reason\b", re.I), reason),
    (re.compile(r"^\s*tool\b", re.I), frontend_tool),
    (re.compile(r"^\s*backend\b", re.I), backend_tool),
    (re.compile(r"^\s*state\b", re.I), state),
    (re.compile(r"^\s*messages\b", re.I), messages_snapshot),
    (re.compile(r"^\s*activity\b", re.I), activity),
    (re.compile(r"^\s*subagent\b", re.I), subagent),
    (re.compile(r"^\s*interrupt\b", re.I), interrupt),
    (re.compile(r"^\s*cancel\b", re.I), cancel),
    (re.compile(r"^\s*error\b", re.I), error),
    (re.compile(r"^\s*passthrough\b", re.I), passthrough),
    (re.compile(r"^\s*long\b", re.I), long),
    (re.compile(r"^\s*slow\b", re.I), slow),
    (re.compile(r"^\s*everything\b", re.I), everything),
    (re.compile(r"^\s*what\s+is\s+my\b", re.I), recall),
]


def plan(
    run_input: dict[str, Any], *, agent: str | None = None, hits: list[Hit] | None = None
) -> Plan:
    """The events the reference agent streams for this input, as named agent `agent`.

    The input must hold no malformed known value (the app refuses those);
    unrecognised material is stripped here, before anything reads the input.
    `hits` are the schema checker's hits for `run_input`, when known. Raises
    `Unstrippable` when stripping cannot make the input valid.
    """
    kept = strip_unrecognised(run_input, hits)
    if kept.leftover:
        raise Unstrippable(kept.leftover)
    events, delay = _dispatch(Run(kept.run_input), agent)
    return Plan(events, delay, kept.run_input, kept.removed)


def _dispatch(run: Run, agent: str | None) -> tuple[Iterable[Event], float]:
    """A resume answers its interrupt, a tool result is followed up; otherwise the
    last user message picks the behaviour. A named agent reads that message as
    its own command's argument; the history itself is left as the client sent it.
    """
    messages = [m for m in run.input.get("messages", []) if isinstance(m, dict)]
    resume = run.input.get("resume")
    if isinstance(resume, list) and resume:
        return resumed(run, resume), 0.0
    if messages and messages[-1].get("role") == "tool":
        return tool_result_followup(run, messages[-1]), 0.0
    text = last_user_text(messages)
    if agent is not None:
        text = f"{agent} {text}".strip()
    for pattern, behaviour in DISPATCH:
        if pattern.search(text):
            return behaviour(run, text), 0.05 if behaviour is slow else 0.0
    return echo(run, text), 0.0
