"""Fast paths: the common, valid case of the highest-volume events, inline.

A typical stream is mostly deltas, item opens and closes, tool results and
state patches, nearly all of them well formed and in order. Each function here
handles exactly that case for one event type, checking the event's shape itself
(so the schema check is skipped too), and declines anything else: an
unusual field, an id seen before, an open chunk lane, a subagent tag, a request
that knows the id. The caller then takes the full path (schema + `feed`), which
is the authority; `tests/test_fast_path.py` feeds generated streams through both
and asserts the same hits and the same machine memory.

A fast path returns True when it handled the event (such an event raises no
hit), or False when it declined and changed nothing. It is only called inside
an active run with no chunk lane open (so no lane to close), so the machine's
own event count (which only tells whether a stream was empty) need not see it.
A fresh message id is one `message_kinds` does not hold (the machine starts
with the request's message ids there).

`feed_batch` is the loop that runs them: parse each payload, try its type's
fast path, else hand the event to the caller's full path. The deltas
(*_CONTENT, TOOL_CALL_ARGS: over half of a typical stream) are checked inline
in the loop itself, since even one function call per event is a measurable
share of the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from agui_conformance.machine.context import TEXT, TOOL_RESULT, Context, Item
from agui_conformance.machine.tables import ItemState, Phase
from agui_conformance.patch_fast import DEFER, apply_plain

FastPath = Callable[[Context, dict[str, Any], int], bool]

_OPEN = ItemState.OPEN
_CLOSED = ItemState.CLOSED
_ACTIVE = Phase.ACTIVE
_ROLES = frozenset({"developer", "system", "assistant", "user"})
_TEXT_START_KEYS = frozenset({"type", "messageId", "role", "name"})
_TOOL_START_KEYS = frozenset({"type", "toolCallId", "toolCallName", "parentMessageId"})
_RESULT_KEYS = frozenset({"type", "messageId", "toolCallId", "content", "role"})


def _end(family: str, key: str) -> FastPath:
    """*_END closing an item its explicit START opened."""

    def fast(ctx: Context, event: dict[str, Any], index: int) -> bool:
        if len(event) != 2:
            return False
        item_id = event.get(key)
        if type(item_id) is not str or not item_id:
            return False
        opened = ctx.open_items[family]
        item = opened.get(item_id)
        if item is None or item.state != _OPEN:
            return False
        item.state = _CLOSED
        del opened[item_id]
        item.closed_at = index
        return True

    return fast


def text_start(ctx: Context, event: dict[str, Any], index: int) -> bool:
    """TEXT_MESSAGE_START of a new message, no tool call open (no interleaving)."""
    if not event.keys() <= _TEXT_START_KEYS:
        return False
    mid = event.get("messageId")
    if type(mid) is not str or not mid or mid in ctx.message_kinds or ctx.open_items["tool"]:
        return False
    role = event.get("role")
    name = event.get("name")
    if (role is not None or "role" in event) and (type(role) is not str or role not in _ROLES):
        return False
    if (name is not None or "name" in event) and type(name) is not str:
        return False
    key = ("text", mid)
    run = ctx.run
    if key in ctx.items or run is None:
        return False
    # positional, as measurably cheaper: family, id, state, owner, role, name, parent,
    # lane, opened_at, closed_at, run
    ctx.items[key] = Item("text", mid, _OPEN, None, role, name, None, None, index, -1, run.number)
    ctx.message_kinds[mid] = TEXT
    ctx.open_items["text"][mid] = ctx.items[key]
    ctx.message_owner[mid] = None
    run.streamed_messages.setdefault(mid, index)
    return True


def tool_start(ctx: Context, event: dict[str, Any], index: int) -> bool:
    """TOOL_CALL_START of a new call, no text message open, parent untagged."""
    if not event.keys() <= _TOOL_START_KEYS or ctx.open_items["text"]:
        return False
    cid = event.get("toolCallId")
    name = event.get("toolCallName")
    if type(cid) is not str or not cid or type(name) is not str:
        return False
    parent = event.get("parentMessageId")
    if (parent is not None or "parentMessageId" in event) and (
        type(parent) is not str or ctx.message_owner.get(parent) is not None
    ):
        return False
    key = ("tool", cid)
    run = ctx.run
    if key in ctx.items or run is None or ctx.known_calls.get(cid, name) != name:
        return False
    item = Item("tool", cid, _OPEN, None, None, name, parent, None, index, -1, run.number)
    item.listed_in = run.number
    ctx.items[key] = item
    ctx.known_calls[cid] = name
    ctx.open_items["tool"][cid] = item
    run.calls.append(item)
    return True


def tool_result(ctx: Context, event: dict[str, Any], index: int) -> bool:
    """TOOL_CALL_RESULT (text content) answering a closed call of this stream."""
    if not event.keys() <= _RESULT_KEYS:
        return False
    mid = event.get("messageId")
    if type(mid) is not str or not mid or mid in ctx.message_kinds:  # a fresh id
        return False
    cid = event.get("toolCallId")
    if type(cid) is not str or not cid or type(event.get("content")) is not str:
        return False
    if len(event) == 5 and event["role"] != "tool":  # the four required fields, and `role`
        return False
    call = ctx.items.get(("tool", cid))
    if call is None or call.state != _CLOSED or call.parent == mid:
        return False
    if ctx.request is not None and call.name in ctx.request.frontend_tools:
        return False
    ctx.message_kinds[mid] = TOOL_RESULT
    call.answered = True
    return True


def _delta(owned: bool) -> FastPath:
    """STATE_DELTA of plain operations that apply (`patch_fast`), on a known state.

    A patch `apply_plain` takes is schema-valid and applies as `apply_patch` would.
    `owned`: the event was parsed here and nothing else holds it, so its values
    move into the state instead of being copied."""

    def fast(ctx: Context, event: dict[str, Any], index: int) -> bool:
        if len(event) != 2 or not ctx.state_known:
            return False
        used = ctx.budget.used
        state = apply_plain(ctx.state, event.get("delta"), copy=not owned, budget=ctx.budget)
        if state is DEFER:
            return False
        ctx.state = state
        ctx.state_size += ctx.budget.used - used
        return True

    return fast


# Continuations of an item its explicit START opened: (family, id field, whether
# the item keeps the text: tool calls keep their arguments).
DELTAS: dict[str, tuple[str, str, bool]] = {
    "TEXT_MESSAGE_CONTENT": ("text", "messageId", False),
    "TOOL_CALL_ARGS": ("tool", "toolCallId", True),
    "REASONING_MESSAGE_CONTENT": ("reasoning", "messageId", False),
}

FAST_PATHS: dict[str, FastPath] = {
    "TEXT_MESSAGE_END": _end("text", "messageId"),
    "TOOL_CALL_END": _end("tool", "toolCallId"),
    "REASONING_MESSAGE_END": _end("reasoning", "messageId"),
    "TEXT_MESSAGE_START": text_start,
    "TOOL_CALL_START": tool_start,
    "TOOL_CALL_RESULT": tool_result,
    "STATE_DELTA": _delta(owned=False),
}
# For events parsed by `feed_batch` itself, which nothing else holds.
FAST_PATHS_OWNED: dict[str, FastPath] = {**FAST_PATHS, "STATE_DELTA": _delta(owned=True)}


def feed_batch(
    ctx: Context,
    payloads: Iterable[Any],
    first: int,
    full: Callable[[Any, int], None],
    not_json: Callable[[Any, Exception, int], None],
    loads: Callable[[Any], Any] = orjson.loads,
    enabled: bool = True,
) -> int:
    """Feed consecutive payloads, the first at event index `first`; returns how
    many the fast paths took. The rest go to `full(event, index)`, or to
    `not_json(payload, error, index)` when `loads` rejects them. Pass
    `loads=as_is` to feed events that are already parsed; `enabled=False` sends
    every event to `full` (to test that both paths agree)."""
    open_items = ctx.open_items
    paths = (FAST_PATHS_OWNED if loads is orjson.loads else FAST_PATHS) if enabled else {}
    deltas = DELTAS if enabled else {}
    handled = 0
    quiet = ctx.phase == _ACTIVE and not ctx.lanes  # only the full path changes either
    for index, data in enumerate(payloads, first):
        try:
            event = loads(data)
        except (orjson.JSONDecodeError, TypeError, ValueError) as err:
            not_json(data, err, index)
            continue
        if type(event) is dict:
            try:
                type_: Any = event["type"]
                delta = deltas.get(type_)
                if delta is not None:
                    # *_CONTENT / TOOL_CALL_ARGS continuing an item its explicit START
                    # opened: exactly these three fields, the delta a string (the id
                    # names an open item, so it is one too), in an active run with
                    # no chunk lane open.
                    if quiet and len(event) == 3:
                        item = open_items[delta[0]].get(event[delta[1]])
                        text = event["delta"]
                        if item is not None and item.state == _OPEN and type(text) is str:
                            if delta[2]:
                                item.args.append(text)
                            handled += 1
                            continue
                    path = None
                else:
                    path = paths.get(type_) if quiet else None
            except (KeyError, TypeError):  # no `type`, an unhashable one, a missing field
                path = None
            if path is not None and path(ctx, event, index):
                handled += 1
                continue
        full(event, index)
        quiet = ctx.phase == _ACTIVE and not ctx.lanes
    return handled


def as_is(event: Any) -> Any:
    """`loads` for events that are already parsed."""
    return event
