"""The sequence machine: feed events one at a time, get hits back.

I/O-free and linear in the stream. `feed(event, index)` takes one event that
is already a JSON object (the schema checker reports everything else) and
returns the rule hits it causes; `close()` returns what only the end of the
stream can tell. `feed_batch` runs many payloads through the fast paths
(`fast`) and hands back only the events that need `feed`. The lifecycle
order is the table in `tables`; each event type is dispatched to its
family's handler through `HANDLERS`.

It knows nothing of schemas, HTTP or levels: it decides *which rule broke
where*; the validator decides how much that matters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agui_conformance.hits import Hit
from agui_conformance.jsonpatch import copy_value
from agui_conformance.jsonsize import DEFAULT_MAX_STATE_BYTES, SizeBudget
from agui_conformance.machine import fast, items, runs, standalone
from agui_conformance.machine.context import ROLE_KIND, Context, Request, text
from agui_conformance.machine.tables import (
    LANE_CLOSERS,
    RUN_SCOPED,
    RUN_TRANSITIONS_BY_TYPE,
    SUBAGENT_LIFECYCLE,
    EventClass,
)

Handler = Callable[[Context, dict[str, Any], int], None]


def _family(handler: Callable[[Context, str, dict[str, Any], int], None], fam: str) -> Handler:
    return lambda ctx, ev, i: handler(ctx, fam, ev, i)


def _tool_result(ctx: Context, event: dict[str, Any], index: int) -> None:
    items.tool_result(ctx, event, index)
    standalone.tool_result_parts(ctx, event, index)


def _ignore(ctx: Context, event: dict[str, Any], index: int) -> None:
    """RAW stands aside: it opens, closes and changes nothing."""


HANDLERS: dict[str, Handler] = {
    "RUN_STARTED": runs.run_started,
    "RUN_FINISHED": runs.run_finished,
    "RUN_ERROR": runs.run_error,
    "TEXT_MESSAGE_START": _family(items.start, "text"),
    "TEXT_MESSAGE_CONTENT": _family(items.content, "text"),
    "TEXT_MESSAGE_END": _family(items.end, "text"),
    "TEXT_MESSAGE_CHUNK": _family(items.chunk, "text"),
    "REASONING_MESSAGE_START": _family(items.start, "reasoning"),
    "REASONING_MESSAGE_CONTENT": _family(items.content, "reasoning"),
    "REASONING_MESSAGE_END": _family(items.end, "reasoning"),
    "REASONING_MESSAGE_CHUNK": _family(items.chunk, "reasoning"),
    "TOOL_CALL_START": _family(items.start, "tool"),
    "TOOL_CALL_ARGS": _family(items.content, "tool"),
    "TOOL_CALL_END": _family(items.end, "tool"),
    "TOOL_CALL_CHUNK": _family(items.chunk, "tool"),
    "TOOL_CALL_RESULT": _tool_result,
    "STATE_SNAPSHOT": standalone.state_snapshot,
    "STATE_DELTA": standalone.state_delta,
    "MESSAGES_SNAPSHOT": standalone.messages_snapshot,
    "ACTIVITY_SNAPSHOT": standalone.activity_snapshot,
    "ACTIVITY_DELTA": standalone.activity_delta,
    "STEP_STARTED": standalone.step_started,
    "STEP_FINISHED": standalone.step_finished,
    "REASONING_START": standalone.reasoning_start,
    "REASONING_END": standalone.reasoning_end,
    "REASONING_ENCRYPTED_VALUE": standalone.encrypted_value,
    "SUBAGENT_STARTED": standalone.subagent_started,
    "SUBAGENT_FINISHED": standalone.subagent_ended,
    "SUBAGENT_ERROR": standalone.subagent_ended,
    "CUSTOM": standalone.custom,
    "RAW": _ignore,
}

# Identifier fields that should never be the empty string (§7 A-35).
ID_FIELDS = ("threadId", "runId", "messageId", "toolCallId")


def build_request(run_input: Any) -> Request | None:
    """Extract what the rules need from a RunAgentInput (tolerant of bad shapes)."""
    if not isinstance(run_input, dict):
        return None
    kinds: dict[str, str] = {}
    roles: dict[str, str] = {}
    calls: dict[str, str] = {}
    answered: set[str] = set()
    messages = run_input.get("messages")
    for msg in messages if isinstance(messages, list) else []:
        if not isinstance(msg, dict):
            continue
        mid, role = text(msg.get("id")), text(msg.get("role"))
        if mid is not None and role in ROLE_KIND:
            kinds[mid] = ROLE_KIND[role]
            roles[mid] = role
        if role == "tool" and text(msg.get("toolCallId")) is not None:
            answered.add(msg["toolCallId"])
        tool_calls = msg.get("toolCalls")
        for call in tool_calls if isinstance(tool_calls, list) else []:
            if isinstance(call, dict) and isinstance(call.get("id"), str):
                fn = call.get("function")
                name = fn.get("name") if isinstance(fn, dict) else None
                calls[call["id"]] = name if isinstance(name, str) else ""
    tools = run_input.get("tools")
    frontend = frozenset(
        t["name"]
        for t in (tools if isinstance(tools, list) else [])
        if isinstance(t, dict) and isinstance(t.get("name"), str)
    )
    has_state = "state" in run_input
    return Request(
        thread_id=text(run_input.get("threadId")),
        run_id=text(run_input.get("runId")),
        version=text(run_input.get("protocolVersion")),
        state=copy_value(run_input["state"]) if has_state else {},
        has_state=has_state,
        frontend_tools=frontend,
        message_kinds=kinds,
        message_roles=roles,
        tool_calls=calls,
        answered_calls=frozenset(answered),
        message_ids=tuple(
            m["id"]
            for m in (messages if isinstance(messages, list) else [])
            if isinstance(m, dict) and isinstance(m.get("id"), str)
        ),
        forwarded_props=run_input.get("forwardedProps"),
        has_forwarded_props="forwardedProps" in run_input,
    )


class SequenceMachine:
    """Validates the order and consistency of one stream of AG-UI events."""

    def __init__(
        self, run_input: Any = None, *, max_state_bytes: int = DEFAULT_MAX_STATE_BYTES
    ) -> None:
        """`max_state_bytes`: the most the rebuilt state and activity contents may
        add up to, in bytes of JSON (`jsonsize`); past it they are no longer
        tracked (`state-too-large`)."""
        if max_state_bytes < 0:
            raise ValueError(f"max_state_bytes must be 0 or more, not {max_state_bytes}")
        request = build_request(run_input)
        self._ctx = Context(request=request, budget=SizeBudget(limit=max_state_bytes))
        self._events = 0
        self._closed = False
        self._fast: fast.FastTable | None = None
        if request is not None:
            standalone.input_state(self._ctx, request.state)
            self._ctx.message_kinds.update(request.message_kinds)
            self._ctx.known_calls.update(request.tool_calls)
            for mid, role in request.message_roles.items():
                if role == "assistant":
                    self._ctx.message_owner.setdefault(mid, None)

    @property
    def newer_producer(self) -> bool:
        """True once a RUN_STARTED declared a 1.x minor newer than 1.1."""
        return self._ctx.newer_producer

    def feed(self, event: dict[str, Any], index: int) -> list[Hit]:
        """Process one event (a JSON object). Returns the hits it causes."""
        ctx = self._ctx
        ctx.out = []
        self._events += 1
        type_ = event.get("type")
        handler = HANDLERS.get(type_) if isinstance(type_, str) else None
        if handler is None:
            # Unknown or missing type: consumers drop it (the schema reports it).
            return ctx.out
        assert isinstance(type_, str)
        rows = RUN_TRANSITIONS_BY_TYPE[ctx.phase]
        nxt, rule, accepted = rows.get(type_) or rows[EventClass.OTHER]
        if rule is not None:
            ctx.hit(rule, index, self._lifecycle_message(rule, type_))
        if not accepted:
            ctx.phase = nxt
            return ctx.out
        self._common(event, index, type_)
        handler(ctx, event, index)
        ctx.phase = nxt
        return ctx.out

    def feed_batch(
        self,
        payloads: Iterable[Any],
        first: int,
        full: Callable[[Any, int], None],
        not_json: Callable[[Any, Exception, int], None],
        *,
        parsed: bool = False,
        from_json: bool = False,
        owned: bool = False,
    ) -> int:
        """Parse and feed consecutive payloads through the fast paths (`fast`).

        The common, valid events are handled inline (no hit, no schema check
        needed); every other event goes to `full(event, index)`, whose job is to
        check its schema and call `feed`, and every payload that is not JSON to
        `not_json(payload, error, index)`. `parsed=True` takes events instead of
        payloads; `from_json=True` says those events were parsed from JSON text (every
        value JSON), `owned=True` that they are also the machine's to keep and change
        (what it parses itself is). Returns how many events the fast paths took."""
        events = payloads if parsed else fast.parse_all(payloads)
        table = self._fast
        if table is None:
            return fast.feed_batch(self._ctx, events, first, full, not_json)
        owned = owned or not parsed  # payloads are parsed here: no one else holds them
        return fast.feed_batch(
            self._ctx, events, first, full, not_json, table, from_json=from_json, owned=owned
        )

    def enable_fast_paths(self, definitions: Mapping[str, Any], defs: Mapping[str, Any]) -> None:
        """Let `feed_batch` take the common valid events inline: the fast paths that fit
        the event `definitions` (type -> its schema; local `$ref`s point into `defs`),
        from which they take the members they accept (`shapes`)."""
        self._fast = fast.table_for(definitions, defs)

    def disable_fast_paths(self) -> None:
        """Send every event of `feed_batch` down the full path (the default)."""
        self._fast = None

    def _common(self, event: dict[str, Any], index: int, type_: str) -> None:
        ctx = self._ctx
        if "" in event.values():
            for key in ID_FIELDS:
                if event.get(key) == "" and ctx.once(f"empty:{key}"):
                    ctx.hit("identity-empty-id", index, f"{type_} has an empty {key}.", f"/{key}")
        if ctx.lanes and type_ in LANE_CLOSERS:
            items.close_lane_for(ctx, event, index)  # run-level events close all lanes
        if "subagentRunId" in event and type_ not in SUBAGENT_LIFECYCLE and type_ not in RUN_SCOPED:
            standalone.note_attribution(ctx, event, index)
        if "metadata" in event:
            standalone.metadata(ctx, event, index)

    @staticmethod
    def _lifecycle_message(rule: str, type_: str) -> str:
        return {
            "lifecycle-first-event": f"The stream opens with {type_}; it must open with "
            "RUN_STARTED (or RUN_ERROR).",
            "lifecycle-nested-run": "RUN_STARTED while the previous run is still active.",
            "lifecycle-event-after-finish": f"{type_} after RUN_FINISHED closed the run.",
            "lifecycle-event-after-error": f"{type_} after RUN_ERROR closed the run.",
        }[rule]

    def close(self) -> list[Hit]:
        """End of stream. Returns the hits only the whole stream can tell."""
        ctx = self._ctx
        ctx.out = []
        if self._closed:
            return ctx.out
        self._closed = True
        runs.end_of_stream(ctx, self._events)
        self._unannounced()
        return ctx.out

    def _unannounced(self) -> None:
        ctx = self._ctx
        for run in ctx.runs:
            for sid, index in run.tagged_first.items():
                if ctx.once(f"unannounced:{sid}"):
                    ctx.hit(
                        "subagent-unannounced",
                        index,
                        f"Events are attributed to subagent `{sid}`, which is never announced "
                        "with SUBAGENT_STARTED.",
                        "/subagentRunId",
                    )

    @property
    def phase(self) -> str:
        return self._ctx.phase


__all__ = ["EventClass", "SequenceMachine", "build_request"]
