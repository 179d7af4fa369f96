"""A generative model of legal AG-UI 1.1 streams, for property tests.

Every stream it draws is one a conforming producer could emit: runs in
sequence, each a random mix of feature blocks (text in both spellings,
reasoning with spans and encrypted values, agent and frontend tool calls,
steps, state snapshots and deltas that apply, activities, subagents with
attributed content, CUSTOM and RAW), sometimes interleaved, closed in order,
ending with the outcome the blocks call for. The validator must find nothing.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

Event = dict[str, Any]

_words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=12
)


class _Ids:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.n = 0

    def __call__(self, kind: str) -> str:
        self.n += 1
        return f"{self.prefix}-{kind}{self.n}"


@st.composite
def text_block(draw: st.DrawFn, ids: _Ids, owner: str | None = None) -> list[Event]:
    mid = ids("m")
    tag = {"subagentRunId": owner} if owner else {}
    deltas = draw(st.lists(_words, min_size=0, max_size=4))
    if draw(st.booleans()):
        role = draw(st.sampled_from(["assistant", "user", "system", "developer"]))
        events = [{"type": "TEXT_MESSAGE_START", "messageId": mid, "role": role, **tag}]
        events += [{"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": d} for d in deltas]
        events.append({"type": "TEXT_MESSAGE_END", "messageId": mid})
        return events
    first = {
        "type": "TEXT_MESSAGE_CHUNK",
        "messageId": mid,
        "delta": deltas[0] if deltas else "",
        **tag,
    }
    return [first] + [{"type": "TEXT_MESSAGE_CHUNK", "delta": d, **tag} for d in deltas[1:]]


@st.composite
def reasoning_block(draw: st.DrawFn, ids: _Ids) -> list[Event]:
    span, mid = ids("rs"), ids("rm")
    events: list[Event] = [{"type": "REASONING_START", "messageId": span}]
    for d in [None, *draw(st.lists(_words, max_size=3))]:
        if d is None:
            events.append(
                {"type": "REASONING_MESSAGE_START", "messageId": mid, "role": "reasoning"}
            )
        else:
            events.append({"type": "REASONING_MESSAGE_CONTENT", "messageId": mid, "delta": d})
    events.append({"type": "REASONING_MESSAGE_END", "messageId": mid})
    if draw(st.booleans()):
        events.append(
            {
                "type": "REASONING_ENCRYPTED_VALUE",
                "subtype": "message",
                "entityId": mid,
                "encryptedValue": "QUJDRA==",
                "encryptedValueType": "anthropic.redacted_thinking",
            }
        )
    events.append({"type": "REASONING_END", "messageId": span})
    return events


@st.composite
def tool_block(draw: st.DrawFn, ids: _Ids, pending: list[str]) -> list[Event]:
    cid, parent = ids("c"), ids("m")
    args = draw(st.dictionaries(st.sampled_from("abc"), st.integers(), max_size=3))
    text = json.dumps(args)
    cut = draw(st.integers(min_value=0, max_value=len(text)))
    parts = [p for p in (text[:cut], text[cut:]) if p]
    name = draw(st.sampled_from(["lookup", "show_card"]))
    if draw(st.booleans()):
        events: list[Event] = [
            {
                "type": "TOOL_CALL_START",
                "toolCallId": cid,
                "toolCallName": name,
                "parentMessageId": parent,
            }
        ]
        events += [{"type": "TOOL_CALL_ARGS", "toolCallId": cid, "delta": p} for p in parts]
        events.append({"type": "TOOL_CALL_END", "toolCallId": cid})
    else:
        first = {
            "type": "TOOL_CALL_CHUNK",
            "toolCallId": cid,
            "toolCallName": name,
            "parentMessageId": parent,
            "delta": parts[0] if parts else "",
        }
        events = [first] + [{"type": "TOOL_CALL_CHUNK", "delta": p} for p in parts[1:]]
    if draw(st.booleans()):
        events.append(
            {
                "type": "TOOL_CALL_RESULT",
                "messageId": ids("tr"),
                "toolCallId": cid,
                "content": draw(st.sampled_from(["ok", [{"type": "text", "text": "ok"}]])),
            }
        )
    else:
        pending.append(cid)
    return events


@st.composite
def state_block(draw: st.DrawFn, ids: _Ids) -> list[Event]:
    events: list[Event] = [{"type": "STATE_SNAPSHOT", "snapshot": {"items": [], "n": 0}}]
    count = 0
    for value in draw(st.lists(st.integers(), max_size=4)):
        op = draw(st.sampled_from(["add", "replace", "test", "noop"]))
        if op == "add":
            delta = [{"op": "add", "path": "/items/-", "value": value}]
            count += 1
        elif op == "replace":
            delta = [{"op": "replace", "path": "/n", "value": value}]
        elif op == "test":
            delta = (
                [{"op": "test", "path": "/items", "value": list(range(0))}] if count == 0 else []
            )
        else:
            delta = []
        events.append({"type": "STATE_DELTA", "delta": delta})
    return events


@st.composite
def activity_block(draw: st.DrawFn, ids: _Ids) -> list[Event]:
    aid = ids("act")
    events: list[Event] = [
        {
            "type": "ACTIVITY_SNAPSHOT",
            "messageId": aid,
            "activityType": "search",
            "content": {"found": 0},
        }
    ]
    for n in draw(st.lists(st.integers(min_value=0), max_size=3)):
        events.append(
            {
                "type": "ACTIVITY_DELTA",
                "messageId": aid,
                "activityType": "search",
                "patch": [{"op": "replace", "path": "/found", "value": n}],
            }
        )
    return events


@st.composite
def subagent_block(draw: st.DrawFn, ids: _Ids) -> list[Event]:
    sid = ids("sub")
    events: list[Event] = [{"type": "SUBAGENT_STARTED", "subagentRunId": sid, "name": "researcher"}]
    events += draw(text_block(ids, owner=sid))
    if draw(st.booleans()):
        events += [
            {"type": "STEP_STARTED", "stepName": "search", "subagentRunId": sid},
            {"type": "STEP_FINISHED", "stepName": "search", "subagentRunId": sid},
        ]
    events.append(
        {"type": "SUBAGENT_FINISHED", "subagentRunId": sid, "outcome": {"type": "success"}}
    )
    return events


@st.composite
def misc_block(draw: st.DrawFn, ids: _Ids) -> list[Event]:
    return [
        draw(
            st.sampled_from(
                [
                    {"type": "CUSTOM", "name": "com.example.ping", "value": None},
                    {"type": "RAW", "event": {"provider": "x"}, "source": "openai"},
                ]
            )
        )
    ]


@st.composite
def run_events(draw: st.DrawFn, ids: _Ids, thread: str, run_id: str) -> list[Event]:
    pending: list[str] = []
    body: list[Event] = []
    step = draw(st.booleans())
    if step:
        body.append({"type": "STEP_STARTED", "stepName": "work"})
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        kind = draw(
            st.sampled_from(["text", "reasoning", "tool", "state", "activity", "sub", "misc"])
        )
        if kind == "text":
            body += draw(text_block(ids))
        elif kind == "reasoning":
            body += draw(reasoning_block(ids))
        elif kind == "tool":
            body += draw(tool_block(ids, pending))
        elif kind == "state":
            body += draw(state_block(ids))
        elif kind == "activity":
            body += draw(activity_block(ids))
        elif kind == "sub":
            body += draw(subagent_block(ids))
        else:
            body += draw(misc_block(ids))
    if step:
        body.append({"type": "STEP_FINISHED", "stepName": "work"})
    start = {"type": "RUN_STARTED", "threadId": thread, "runId": run_id, "protocolVersion": "1.1"}
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        return [
            start,
            *body[: draw(st.integers(0, len(body)))],
            {"type": "RUN_ERROR", "message": "The model is unavailable."},
        ]
    outcome: dict[str, Any] = {"type": "success"}
    if pending:
        outcome["pendingToolCallIds"] = pending
    finish: Event = {
        "type": "RUN_FINISHED",
        "threadId": thread,
        "runId": run_id,
        "outcome": outcome,
    }
    return [start, *body, finish]


@st.composite
def valid_streams(draw: st.DrawFn) -> list[Event]:
    """One to three runs on one thread, each legal on its own and in sequence."""
    events: list[Event] = []
    for n in range(draw(st.integers(min_value=1, max_value=3))):
        events += draw(run_events(_Ids(f"r{n}"), "thread-1", f"run-{n}"))
    return events
