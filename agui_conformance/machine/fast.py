"""Fast paths: the common, valid case of the highest-volume events, inline.

A typical stream is mostly deltas, item opens and closes, tool results, steps,
RAW events and state patches, nearly all of them well formed and in order. Each
function here handles exactly that case for one event type, checking the
event's shape itself (so the schema check is skipped too), and declines anything
else: an unusual field, an id seen before, an open chunk lane, a subagent tag,
a request that knows the id. The caller then takes the full path (schema +
`feed`), which is the authority; `tests/test_fast_path.py` feeds generated
streams through both and asserts the same hits and the same machine memory.

Which members an event may carry is not written here but derived from the
schema the checker compiled (`shapes`): `OWN_MEMBERS` names the members each
fast path reads itself and the schema it takes each to have; besides them only
valid envelope members (`timestamp`, `rawEvent`, `metadata`) are accepted. Real
producers put those on every event (pydantic-ai and llama-index stamp each one,
LangGraph attaches the provider's event), so they must not cost the full path.
`build_table` makes the table of fast paths that fit the schema, once.

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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import orjson

from agui_conformance.machine.context import TEXT, TOOL_RESULT, Context, Item
from agui_conformance.machine.shapes import Kind, Shape, build_shapes
from agui_conformance.machine.tables import ItemState, Phase
from agui_conformance.patch_fast import DEFER, apply_plain

FastPath = Callable[[Context, dict[str, Any], int], bool]

_OPEN = ItemState.OPEN
_CLOSED = ItemState.CLOSED
_ACTIVE = Phase.ACTIVE
_STRING: Kind = ("string",)
_CONTENT: Kind = ("oneOf", (_STRING, ("array", ("ref", "ContentPart"))))

# The members each fast path reads and checks itself, and the schema it takes each to
# have (`shapes`): a member whose schema changed is no longer accepted. Besides these,
# an event may carry the envelope members `shapes.ENVELOPE` (timestamp, rawEvent, metadata).
OWN_MEMBERS: dict[str, dict[str, Kind]] = {
    etype: {"type": ("const", etype), **members}
    for etype, members in {
        "TEXT_MESSAGE_START": {"messageId": _STRING, "role": ("enum", None), "name": _STRING},
        "TEXT_MESSAGE_CONTENT": {"messageId": _STRING, "delta": _STRING},
        "TEXT_MESSAGE_END": {"messageId": _STRING},
        "TOOL_CALL_START": {
            "toolCallId": _STRING,
            "toolCallName": _STRING,
            "parentMessageId": _STRING,
        },
        "TOOL_CALL_ARGS": {"toolCallId": _STRING, "delta": _STRING},
        "TOOL_CALL_END": {"toolCallId": _STRING},
        "TOOL_CALL_RESULT": {
            "messageId": _STRING,
            "toolCallId": _STRING,
            "content": _CONTENT,  # taken when a string; parts go the full path
            "role": ("const", "tool"),
        },
        "REASONING_MESSAGE_CONTENT": {"messageId": _STRING, "delta": _STRING},
        "REASONING_MESSAGE_END": {"messageId": _STRING},
        "STATE_DELTA": {"delta": ("ref", "JsonPatch")},  # `apply_plain` checks it whole
        "STEP_STARTED": {"stepName": _STRING},
        "STEP_FINISHED": {"stepName": _STRING},
        "RAW": {"event": ("any",), "source": _STRING},  # only in events parsed here
    }.items()
}


# `Item` is built positionally: measured 0.85 us against 1.4 us with keywords, once per
# START. This fence fails on import when its leading fields are no longer these.
_ITEM_FIELDS = (
    "family", "id", "state", "owner", "role", "name", "parent", "lane", "opened_at",
    "closed_at", "run",
)  # fmt: skip
if tuple(f.name for f in fields(Item))[: len(_ITEM_FIELDS)] != _ITEM_FIELDS:
    raise ImportError("machine.fast builds Item positionally: update it to Item's fields")


def _end(family: str, key: str, shape: Shape) -> FastPath:
    """*_END closing an item its explicit START opened."""

    stamped, extras_ok, (low, high) = shape.stamped.issuperset, shape.extras_ok, shape.timestamp

    def fast(ctx: Context, event: dict[str, Any], index: int) -> bool:
        if len(event) != 2:
            if stamped(event):  # `extras_ok` inline for the common extra, a timestamp
                stamp = event.get("timestamp")
                if type(stamp) is not int or not low <= stamp <= high:
                    return False
            elif not extras_ok(event):
                return False
        item_id = event.get(key)
        if type(item_id) is not str or not item_id:
            return False
        item = ctx.open_items[family].get(item_id)
        if item is None or item.state != _OPEN:
            return False
        ctx.set_state(item, _CLOSED)
        item.closed_at = index
        return True

    return fast


def _text_start(shape: Shape) -> FastPath:
    """TEXT_MESSAGE_START of a new message, no tool call open (no interleaving)."""
    role_kind = shape.kinds.get("role", ())
    roles = frozenset(role_kind[1]) if "role" in shape.own else frozenset()
    fits, extras_ok = shape.own.issuperset, shape.extras_ok
    stamped, (low, high) = shape.stamped.issuperset, shape.timestamp

    def fast(ctx: Context, event: dict[str, Any], index: int) -> bool:
        if not fits(event):
            if stamped(event):  # `extras_ok` inline for the common extra, a timestamp
                stamp = event.get("timestamp")
                if type(stamp) is not int or not low <= stamp <= high:
                    return False
            elif not extras_ok(event):
                return False
        mid = event.get("messageId")
        opened = ctx.open_items
        if type(mid) is not str or not mid or mid in ctx.message_kinds or opened["tool"]:
            return False
        role = event.get("role")
        if (role is not None or "role" in event) and (type(role) is not str or role not in roles):
            return False
        name = event.get("name")
        if (name is not None or "name" in event) and type(name) is not str:
            return False
        key = ("text", mid)
        run = ctx.run
        items = ctx.items
        if key in items or run is None:
            return False
        # family, id, state, owner, role, name, parent, lane, opened_at, closed_at, run
        item = Item("text", mid, _OPEN, None, role, name, None, None, index, -1, run.number)
        items[key] = item
        ctx.message_kinds[mid] = TEXT
        opened["text"][mid] = item  # created OPEN: registered as `set_state` does
        ctx.message_owner[mid] = None
        run.streamed_messages.setdefault(mid, index)
        return True

    return fast


def _tool_start(shape: Shape) -> FastPath:
    """TOOL_CALL_START of a new call, no text message open, parent untagged."""

    fits, extras_ok = shape.own.issuperset, shape.extras_ok
    stamped, (low, high) = shape.stamped.issuperset, shape.timestamp

    def fast(ctx: Context, event: dict[str, Any], index: int) -> bool:
        if not fits(event):
            if stamped(event):  # `extras_ok` inline for the common extra, a timestamp
                stamp = event.get("timestamp")
                if type(stamp) is not int or not low <= stamp <= high:
                    return False
            elif not extras_ok(event):
                return False
        opened = ctx.open_items
        if opened["text"]:
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
        items = ctx.items
        known = ctx.known_calls
        if key in items or run is None or known.get(cid, name) != name:
            return False
        number = run.number
        item = Item("tool", cid, _OPEN, None, None, name, parent, None, index, -1, number)
        item.listed_in = number
        items[key] = item
        known[cid] = name
        opened["tool"][cid] = item  # created OPEN: registered as `set_state` does
        run.calls.append(item)
        return True

    return fast


def _tool_result(shape: Shape) -> FastPath:
    """TOOL_CALL_RESULT (text content) answering a closed call of this stream."""

    fits, extras_ok = shape.own.issuperset, shape.extras_ok
    stamped, (low, high) = shape.stamped.issuperset, shape.timestamp

    def fast(ctx: Context, event: dict[str, Any], index: int) -> bool:
        if not fits(event):
            if stamped(event):  # `extras_ok` inline for the common extra, a timestamp
                stamp = event.get("timestamp")
                if type(stamp) is not int or not low <= stamp <= high:
                    return False
            elif not extras_ok(event):
                return False
        mid = event.get("messageId")
        kinds = ctx.message_kinds
        if type(mid) is not str or not mid or mid in kinds:  # a fresh id
            return False
        cid = event.get("toolCallId")
        if type(cid) is not str or not cid or type(event.get("content")) is not str:
            return False
        if event.get("role", "tool") != "tool":
            return False
        call = ctx.items.get(("tool", cid))
        if call is None or call.state != _CLOSED or call.parent == mid:
            return False
        request = ctx.request
        if request is not None and call.name in request.frontend_tools:
            return False
        kinds[mid] = TOOL_RESULT
        call.answered = True
        return True

    return fast


def _delta(shape: Shape, owned: bool) -> FastPath:
    """STATE_DELTA of plain operations that apply (`patch_fast`), on a known state.

    A patch `apply_plain` takes is schema-valid and applies as `apply_patch` would.
    `owned`: the event was parsed here and nothing else holds it, so its values
    move into the state instead of being copied."""

    stamped, extras_ok, (low, high) = shape.stamped.issuperset, shape.extras_ok, shape.timestamp
    copy = not owned

    def fast(ctx: Context, event: dict[str, Any], index: int) -> bool:
        if len(event) != 2:
            if stamped(event):  # `extras_ok` inline for the common extra, a timestamp
                stamp = event.get("timestamp")
                if type(stamp) is not int or not low <= stamp <= high:
                    return False
            elif not extras_ok(event):
                return False
        if not ctx.state_known:
            return False
        budget = ctx.budget
        used = budget.used
        state = apply_plain(ctx.state, event.get("delta"), copy=copy, budget=budget)
        if state is DEFER:
            return False
        ctx.state = state
        ctx.state_size += budget.used - used
        return True

    return fast


def _step(started: bool, shape: Shape) -> FastPath:
    """STEP_STARTED of a step of the parent agent not open, STEP_FINISHED of one open."""

    def fast(ctx: Context, event: dict[str, Any], index: int) -> bool:
        if len(event) != 2 and not shape.extras_ok(event):
            return False
        name = event.get("stepName")
        run = ctx.run
        if type(name) is not str or run is None:
            return False
        key = (None, name)
        if started:
            if key in run.open_steps:
                return False
            run.open_steps[key] = index
        elif run.open_steps.pop(key, None) is None:
            return False
        return True

    return fast


def _raw(shape: Shape) -> FastPath:
    """RAW: it opens, closes and changes nothing; its `event` any JSON value."""

    own = shape.own

    def fast(ctx: Context, event: dict[str, Any], index: int) -> bool:
        if (not event.keys() <= own and not shape.extras_ok(event)) or "event" not in event:
            return False
        source = event.get("source")
        return type(source) is str or (source is None and "source" not in event)

    return fast


# Continuations of an item its explicit START opened: (family, id field, whether
# the item keeps the text: tool calls keep their arguments).
_DELTA_FAMILIES: dict[str, tuple[str, str, bool]] = {
    "TEXT_MESSAGE_CONTENT": ("text", "messageId", False),
    "TOOL_CALL_ARGS": ("tool", "toolCallId", True),
    "REASONING_MESSAGE_CONTENT": ("reasoning", "messageId", False),
}
# Delta entries in `FastTable.deltas`: family, id field, keeps text, the shape, and the
# shape's `timestamp` bounds (for the inline check of a timestamped delta).
Delta = tuple[str, str, bool, Shape, int, int]


@dataclass(frozen=True, slots=True)
class FastTable:
    """The fast paths of one schema version, by event type: for events parsed here
    (`owned`, every value in them JSON and held by no one else) and for events handed in."""

    paths: Mapping[str, FastPath]
    deltas: Mapping[str, Delta]
    paths_owned: Mapping[str, FastPath]
    deltas_owned: Mapping[str, Delta]
    shapes: Mapping[str, Shape]  # of parsed events (the widest)
    # for events parsed from JSON text that someone else holds (values JSON, not ours)
    paths_json: Mapping[str, FastPath]
    deltas_json: Mapping[str, Delta]


_MAKERS: dict[str, Callable[[Shape, bool], FastPath]] = {
    "TEXT_MESSAGE_END": lambda s, _: _end("text", "messageId", s),
    "TOOL_CALL_END": lambda s, _: _end("tool", "toolCallId", s),
    "REASONING_MESSAGE_END": lambda s, _: _end("reasoning", "messageId", s),
    "TEXT_MESSAGE_START": lambda s, _: _text_start(s),
    "TOOL_CALL_START": lambda s, _: _tool_start(s),
    "TOOL_CALL_RESULT": lambda s, _: _tool_result(s),
    "STATE_DELTA": _delta,
    "STEP_STARTED": lambda s, _: _step(True, s),
    "STEP_FINISHED": lambda s, _: _step(False, s),
    "RAW": lambda s, _: _raw(s),
}


def _paths(
    shapes: Mapping[str, Shape], owned: bool
) -> tuple[dict[str, FastPath], dict[str, Delta]]:
    paths = {t: make(shapes[t], owned) for t, make in _MAKERS.items() if t in shapes}
    deltas: dict[str, Delta] = {
        t: (*spec, shapes[t], *shapes[t].timestamp)
        for t, spec in _DELTA_FAMILIES.items()
        if t in shapes
    }
    return paths, deltas


def build_table(definitions: Mapping[str, Any], defs: Mapping[str, Any]) -> FastTable:
    """The fast paths that fit the event `definitions` (type -> definition, local
    `$ref`s into `defs`); a type whose schema no longer fits has none."""
    parsed = build_shapes(definitions, defs, OWN_MEMBERS, parsed=True)
    held = build_shapes(definitions, defs, OWN_MEMBERS, parsed=False)
    paths, deltas = _paths(held, owned=False)
    paths_owned, deltas_owned = _paths(parsed, owned=True)
    paths_json, deltas_json = _paths(parsed, owned=False)
    return FastTable(paths, deltas, paths_owned, deltas_owned, parsed, paths_json, deltas_json)


_NONE = FastTable({}, {}, {}, {}, {}, {}, {})
_TABLES: dict[int, tuple[Any, FastTable]] = {}


def table_for(definitions: Mapping[str, Any], defs: Mapping[str, Any]) -> FastTable:
    """`build_table`, once per definitions object (the schema checker's live for good)."""
    cached = _TABLES.get(id(definitions))
    if cached is None or cached[0] is not definitions:
        cached = _TABLES[id(definitions)] = (definitions, build_table(definitions, defs))
    return cached[1]


class Unparsed:
    """A payload `parse_all` could not parse, in its place among the events."""

    __slots__ = ("data", "error")

    def __init__(self, data: Any, error: Exception) -> None:
        self.data = data
        self.error = error


def parse_all(payloads: Iterable[Any], loads: Callable[[Any], Any] = orjson.loads) -> list[Any]:
    """The payloads parsed, in order; one that `loads` rejects becomes an `Unparsed`."""
    payloads = payloads if isinstance(payloads, list) else list(payloads)
    try:
        return list(map(loads, payloads))  # the common case, in C
    except (orjson.JSONDecodeError, TypeError, ValueError):
        pass
    events: list[Any] = []
    for data in payloads:
        try:
            events.append(loads(data))
        except (orjson.JSONDecodeError, TypeError, ValueError) as err:
            events.append(Unparsed(data, err.with_traceback(None)))  # no cycle via its frame
    return events


def feed_batch(
    ctx: Context,
    events: Iterable[Any],
    first: int,
    full: Callable[[Any, int], None],
    not_json: Callable[[Any, Exception, int], None],
    table: FastTable = _NONE,
    *,
    from_json: bool = False,
    owned: bool = False,
) -> int:
    """Feed consecutive events, the first at event index `first`; returns how many the
    fast paths of `table` took. The rest go to `full(event, index)`, or, for an
    `Unparsed` payload (`parse_all`), to `not_json(payload, error, index)`.
    `from_json=True`: the events were parsed from JSON text, so every value in them is
    JSON; `owned=True` (implies `from_json`): also held by nobody else, so their values
    may move into the machine's memory uncopied. Without a `table` every event goes to
    `full` (to test that both paths agree)."""
    open_items = ctx.open_items
    if owned:
        paths, deltas = table.paths_owned, table.deltas_owned
    elif from_json:
        paths, deltas = table.paths_json, table.deltas_json
    else:
        paths, deltas = table.paths, table.deltas
    # per delta type: the open items of its family (never replaced, only changed), its id
    # field, whether it keeps the text, its shape and `timestamp` bounds
    # one lookup per event: a delta type's tuple, or another type's fast path
    inline: dict[str, Any] = {**paths, **{t: (open_items[d[0]], *d[1:]) for t, d in deltas.items()}}
    handled = 0
    quiet = ctx.phase == _ACTIVE and not ctx.lanes  # only the full path changes either
    for index, event in enumerate(events, first):
        if type(event) is dict:
            try:
                type_: Any = event["type"]
                delta = inline.get(type_)
                if type(delta) is tuple:
                    # *_CONTENT / TOOL_CALL_ARGS continuing an item its explicit START
                    # opened: exactly these three fields, or these and envelope members
                    # (inline: one valid `timestamp`), the delta a string (the id names
                    # an open item, so it is one too), in an active run with no chunk
                    # lane open.
                    if quiet and (
                        (size := len(event)) == 3
                        or (
                            size == 4
                            and type(stamp := event.get("timestamp")) is int
                            and delta[4] <= stamp <= delta[5]
                        )
                        or delta[3].extras_ok(event)
                    ):
                        item = delta[0].get(event[delta[1]])
                        text = event["delta"]
                        if item is not None and item.state == _OPEN and type(text) is str:
                            if delta[2]:
                                item.args.append(text)
                            handled += 1
                            continue
                    path = None
                else:
                    path = delta if quiet else None
            except (KeyError, TypeError):  # no `type`, an unhashable one, a missing field
                path = None
            if path is not None and path(ctx, event, index):
                handled += 1
                continue
        elif type(event) is Unparsed:
            not_json(event.data, event.error, index)
            continue
        full(event, index)
        quiet = ctx.phase == _ACTIVE and not ctx.lanes
    return handled
