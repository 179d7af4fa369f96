"""The machine's memory: what is open, who owns it, what the client holds.

Owns the records the family modules read and write. Linear in the stream:
every record is updated in place; nothing copies the whole state per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agui_conformance.hits import Hit
from agui_conformance.jsonsize import SizeBudget
from agui_conformance.machine.tables import ItemState, Phase

# Message kinds for ID-002: one id names one message.
TEXT = "text"
REASONING = "reasoning"
TOOL_RESULT = "tool result"
ACTIVITY = "activity"

ROLE_KIND: dict[str, str] = {
    "developer": TEXT,
    "system": TEXT,
    "assistant": TEXT,
    "user": TEXT,
    "tool": TOOL_RESULT,
    "reasoning": REASONING,
    "activity": ACTIVITY,
}


@dataclass(slots=True)
class Item:
    """A streamed text message, reasoning message or tool call."""

    family: str  # "text" | "reasoning" | "tool"
    id: str
    state: str = ItemState.ABSENT
    owner: str | None = None  # subagentRunId of the opener
    role: str | None = None  # text: explicit role of the opener (None = assistant)
    name: str | None = None  # text: speaker name; tool: toolCallName
    parent: str | None = None  # tool: parentMessageId
    lane: str | None = None  # chunk lane it was opened in
    opened_at: int = -1
    closed_at: int = -1
    run: int = -1  # run number of the (last) opener
    args: list[str] = field(default_factory=list)  # tool: streamed argument text
    answered: bool = False  # tool: a TOOL_CALL_RESULT answered it
    listed_in: int = -1  # tool: the run whose call order lists it


@dataclass(slots=True)
class Lane:
    """The open chunk stream of one owner (None = the parent agent)."""

    item: Item


@dataclass(slots=True)
class Activity:
    content: Any  # None once the size budget ran out (no longer tracked)
    owner: str | None
    activity_type: str | None
    size: int = 0  # its content's share of the size budget


@dataclass(slots=True)
class Run:
    """One run of the stream, from RUN_STARTED to its terminal event."""

    number: int
    started_at: int
    run_id: str | None
    thread_id: str | None
    version: str | None = None
    open_steps: dict[tuple[str | None, str], int] = field(default_factory=dict)
    open_spans: dict[str, int] = field(default_factory=dict)
    active_subagents: dict[str, int] = field(default_factory=dict)
    finished_subagents: set[str] = field(default_factory=set)
    announced_subagents: set[str] = field(default_factory=set)
    tagged_first: dict[str, int] = field(default_factory=dict)  # unannounced tags
    suspended: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    calls: list[Item] = field(default_factory=list)  # tool calls started, call order
    streamed_messages: dict[str, int] = field(default_factory=dict)  # id -> first index
    snapshot_seen: bool = False


@dataclass(slots=True)
class Request:
    """What the machine needs from the RunAgentInput."""

    thread_id: str | None
    run_id: str | None
    version: str | None
    state: Any
    has_state: bool
    frontend_tools: frozenset[str]
    message_kinds: dict[str, str]
    message_roles: dict[str, str]
    tool_calls: dict[str, str]  # toolCallId -> name, from assistant messages
    answered_calls: frozenset[str]  # toolCallIds answered by tool messages
    message_ids: tuple[str, ...] = ()  # in input order
    forwarded_props: Any = None
    has_forwarded_props: bool = False


@dataclass(slots=True)
class Context:
    """Everything the families share."""

    request: Request | None
    out: list[Hit] = field(default_factory=list)
    phase: str = Phase.BEFORE
    run: Run | None = None
    runs: list[Run] = field(default_factory=list)
    run_ids: dict[str, int] = field(default_factory=dict)
    items: dict[tuple[str, str], Item] = field(default_factory=dict)  # (family, id)
    # family -> the open items by id, in opening order (OPEN and OPEN_CHUNK)
    open_items: dict[str, dict[str, Item]] = field(
        default_factory=lambda: {"text": {}, "reasoning": {}, "tool": {}}
    )
    lanes: dict[str | None, Lane] = field(default_factory=dict)
    message_kinds: dict[str, str] = field(default_factory=dict)
    known_calls: dict[str, str] = field(default_factory=dict)
    message_owner: dict[str, str | None] = field(default_factory=dict)
    state: Any = None
    state_known: bool = False  # is the consumer's state baseline known?
    # The state's and the activities' sizes in all, against `max_state_bytes`.
    budget: SizeBudget = field(default_factory=SizeBudget)
    state_size: int = 0  # the state's share of the budget
    input_state_untracked: int = 0  # the size of a request state too large to track
    activities: dict[str, Activity] = field(default_factory=dict)
    ended_subagents: set[str] = field(default_factory=set)  # across runs (CHUNK-009)
    encrypted_refs: list[tuple[int, str, str]] = field(default_factory=list)
    span_ids: set[str] = field(default_factory=set)
    restreamed: list[tuple[int, int, str]] = field(default_factory=list)  # run, index, id
    newer_producer: bool = False
    reported_keys: set[str] = field(default_factory=set)

    def set_state(self, item: Item, state: str) -> None:
        """Move an item to `state`, keeping the per-family set of open items."""
        item.state = state
        if state in (ItemState.OPEN, ItemState.OPEN_CHUNK):
            self.open_items[item.family][item.id] = item
        else:
            self.open_items[item.family].pop(item.id, None)

    def hit(self, rule: str, index: int | None, message: str, pointer: str | None = None) -> None:
        self.out.append(Hit(rule, index, message, pointer))

    def once(self, key: str) -> bool:
        """True the first time `key` is seen (for findings reported once per stream)."""
        if key in self.reported_keys:
            return False
        self.reported_keys.add(key)
        return True


def text(value: object) -> str | None:
    """The value if it is a string, else None (the schema reports the rest)."""
    return value if isinstance(value, str) else None


def owner_of(event: dict[str, Any]) -> str | None:
    return text(event.get("subagentRunId"))
