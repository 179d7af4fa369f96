"""Transition tables: the protocol's order, readable top to bottom.

Theory of operation
-------------------
A stream is a sequence of runs. The *run phase* says where the stream is
between runs; every event is first classified (`classify`) and looked up in
`RUN_TRANSITIONS`: (phase, event class) -> (next phase, rule broken or None).
An event that breaks a lifecycle rule is reported and then ignored by every
other family, exactly as a consumer would reject it; the phase still moves
so that one mistake is reported once, not at every following event.

Inside an active run, streamed items (text messages, reasoning messages,
tool calls) follow the open-content-close discipline in `ITEM_TRANSITIONS`:
(item state, action) -> (next state, rule broken or None). The chunked form
is the same discipline with the START and END synthesized, so an item also
remembers which spelling opened it (CHUNK-001).

Lanes (which chunk stream an id-less chunk continues), subagent ownership
and everything else that does not fit a table lives in the family modules,
next to the table entries they use.
"""

from __future__ import annotations

from typing import Final


class Phase:
    """Where the stream is, between and inside runs (plain strings: hashing an
    Enum member runs Python code, and this table is consulted for every event)."""

    BEFORE: Final = "before"  # nothing yet
    ACTIVE: Final = "active"  # RUN_STARTED seen, no terminal yet
    FINISHED: Final = "finished"  # RUN_FINISHED closed the run; a late RUN_ERROR may follow
    ERRORED: Final = "errored"  # RUN_ERROR closed the run (or followed RUN_FINISHED)


class EventClass:
    STARTED: Final = "RUN_STARTED"
    FINISHED: Final = "RUN_FINISHED"
    ERROR: Final = "RUN_ERROR"
    OTHER: Final = "other"


def classify(event_type: str) -> str:
    if event_type == "RUN_STARTED":
        return EventClass.STARTED
    if event_type == "RUN_FINISHED":
        return EventClass.FINISHED
    if event_type == "RUN_ERROR":
        return EventClass.ERROR
    return EventClass.OTHER


# (phase, event class) -> (next phase, rule id broken or None, event accepted?)
# "accepted" = the event takes effect (families process it); a rejected event
# is reported and otherwise ignored.
RUN_TRANSITIONS: dict[tuple[str, str], tuple[str, str | None, bool]] = {
    # The stream opens with RUN_STARTED, or RUN_ERROR for a run that failed
    # before it began (LIFE-005; corpus run-error-first-run-continues).
    (Phase.BEFORE, EventClass.STARTED): (Phase.ACTIVE, None, True),
    (Phase.BEFORE, EventClass.ERROR): (Phase.ERRORED, None, True),
    (Phase.BEFORE, EventClass.FINISHED): (Phase.FINISHED, "lifecycle-first-event", False),
    (Phase.BEFORE, EventClass.OTHER): (Phase.BEFORE, "lifecycle-first-event", False),
    # Inside a run: anything but a nested RUN_STARTED (LIFE-020).
    (Phase.ACTIVE, EventClass.STARTED): (Phase.ACTIVE, "lifecycle-nested-run", False),
    (Phase.ACTIVE, EventClass.FINISHED): (Phase.FINISHED, None, True),
    (Phase.ACTIVE, EventClass.ERROR): (Phase.ERRORED, None, True),
    (Phase.ACTIVE, EventClass.OTHER): (Phase.ACTIVE, None, True),
    # After RUN_FINISHED: a new run, or one late RUN_ERROR (LIFE-016/017).
    (Phase.FINISHED, EventClass.STARTED): (Phase.ACTIVE, None, True),
    (Phase.FINISHED, EventClass.ERROR): (Phase.ERRORED, None, True),
    (Phase.FINISHED, EventClass.FINISHED): (Phase.FINISHED, "lifecycle-event-after-finish", False),
    (Phase.FINISHED, EventClass.OTHER): (Phase.FINISHED, "lifecycle-event-after-finish", False),
    # After RUN_ERROR: only a new run (LIFE-018).
    (Phase.ERRORED, EventClass.STARTED): (Phase.ACTIVE, None, True),
    (Phase.ERRORED, EventClass.ERROR): (Phase.ERRORED, "lifecycle-event-after-error", False),
    (Phase.ERRORED, EventClass.FINISHED): (Phase.ERRORED, "lifecycle-event-after-error", False),
    (Phase.ERRORED, EventClass.OTHER): (Phase.ERRORED, "lifecycle-event-after-error", False),
}


class ItemState:
    """A streamed item's state within the stream."""

    ABSENT: Final = "absent"  # never opened
    OPEN: Final = "open"  # opened by *_START
    OPEN_CHUNK: Final = "open-chunk"  # opened by a *_CHUNK (its END is synthesized)
    CLOSED: Final = "closed"  # ended; may be reopened (closed, not sealed)


class Action:
    START: Final = "start"  # TEXT_MESSAGE_START, TOOL_CALL_START, REASONING_MESSAGE_START
    CONTENT: Final = "content"  # *_CONTENT, TOOL_CALL_ARGS
    END: Final = "end"  # *_END
    CHUNK_OPEN: Final = "chunk-open"  # a chunk that opens (or reopens) the item
    CHUNK_CONTINUE: Final = "chunk-continue"  # a chunk continuing the lane's open item
    CHUNK_CLOSE: Final = "chunk-close"  # the lane's chunk stream closed (synthesized END)


# (state, action) -> (next state, rule id broken or None)
ITEM_TRANSITIONS: dict[tuple[str, str], tuple[str, str | None]] = {
    (ItemState.ABSENT, Action.START): (ItemState.OPEN, None),
    (ItemState.ABSENT, Action.CONTENT): (ItemState.ABSENT, "item-not-open"),
    (ItemState.ABSENT, Action.END): (ItemState.ABSENT, "item-not-open"),
    (ItemState.ABSENT, Action.CHUNK_OPEN): (ItemState.OPEN_CHUNK, None),
    (ItemState.OPEN, Action.START): (ItemState.OPEN, "item-already-open"),
    (ItemState.OPEN, Action.CONTENT): (ItemState.OPEN, None),
    (ItemState.OPEN, Action.END): (ItemState.CLOSED, None),
    (ItemState.OPEN, Action.CHUNK_OPEN): (ItemState.OPEN, "chunk-mixed-spelling"),
    (ItemState.OPEN_CHUNK, Action.START): (ItemState.OPEN_CHUNK, "chunk-mixed-spelling"),
    (ItemState.OPEN_CHUNK, Action.CONTENT): (ItemState.OPEN_CHUNK, "chunk-mixed-spelling"),
    (ItemState.OPEN_CHUNK, Action.END): (ItemState.OPEN_CHUNK, "chunk-mixed-spelling"),
    (ItemState.OPEN_CHUNK, Action.CHUNK_CONTINUE): (ItemState.OPEN_CHUNK, None),
    (ItemState.OPEN_CHUNK, Action.CHUNK_CLOSE): (ItemState.CLOSED, None),
    # Closed, not sealed: a new START (or an opening chunk) reopens (TEXT-002, TOOL-003).
    (ItemState.CLOSED, Action.START): (ItemState.OPEN, None),
    (ItemState.CLOSED, Action.CONTENT): (ItemState.CLOSED, "item-not-open"),
    (ItemState.CLOSED, Action.END): (ItemState.CLOSED, "item-not-open"),
    (ItemState.CLOSED, Action.CHUNK_OPEN): (ItemState.OPEN_CHUNK, None),
}

# Events that close an open chunk stream in their lane (CHUNK-007, §7 A-21):
# message, tool-call, step, state, CUSTOM and reasoning events. RAW,
# ACTIVITY_*, REASONING_ENCRYPTED_VALUE and SUBAGENT_STARTED do not; run-level
# events (RUN_*, MESSAGES_SNAPSHOT) close every lane; a subagent's terminal
# closes its own lane.
LANE_CLOSERS: frozenset[str] = frozenset(
    {
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
        "STEP_STARTED",
        "STEP_FINISHED",
        "STATE_SNAPSHOT",
        "STATE_DELTA",
        "CUSTOM",
        "REASONING_START",
        "REASONING_END",
        "REASONING_MESSAGE_START",
        "REASONING_MESSAGE_CONTENT",
        "REASONING_MESSAGE_END",
    }
)
ALL_LANE_CLOSERS: frozenset[str] = frozenset(
    {"RUN_STARTED", "RUN_FINISHED", "RUN_ERROR", "MESSAGES_SNAPSHOT"}
)

# Event types whose `subagentRunId` is not allowed (schema) and which belong
# to the run, not to an owner.
RUN_SCOPED: frozenset[str] = frozenset(
    {"RUN_STARTED", "RUN_FINISHED", "RUN_ERROR", "MESSAGES_SNAPSHOT"}
)
SUBAGENT_LIFECYCLE: frozenset[str] = frozenset(
    {"SUBAGENT_STARTED", "SUBAGENT_FINISHED", "SUBAGENT_ERROR"}
)


def _by_type() -> dict[str, dict[str, tuple[str, str | None, bool]]]:
    """RUN_TRANSITIONS re-keyed for one dict lookup per event: phase -> type -> row."""
    table: dict[str, dict[str, tuple[str, str | None, bool]]] = {}
    for (phase, klass), row in RUN_TRANSITIONS.items():
        table.setdefault(phase, {})[klass] = row
    return table


RUN_TRANSITIONS_BY_TYPE = _by_type()
