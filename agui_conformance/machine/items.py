"""Streamed items: text messages, reasoning messages and tool calls.

Owns the open-content-close discipline (STRM-*), both spellings (explicit
START/CONTENT/END and the chunked form with its lanes, CHUNK-*), reopening
(TEXT-002/003, TOOL-003/004), ownership of continuations (SUB-015) and
message/tool-call id uniqueness (ID-002/003). Knows nothing of I/O.
"""

from __future__ import annotations

from typing import Any

import orjson

from agui_conformance.clip import listing
from agui_conformance.machine.context import (
    REASONING,
    TEXT,
    TOOL_RESULT,
    Context,
    Item,
    Lane,
    owner_of,
    text,
)
from agui_conformance.machine.jsontext import parses_as_json
from agui_conformance.machine.tables import ITEM_TRANSITIONS, Action, ItemState

FAMILY_NAMES = {"text": "text message", "reasoning": "reasoning message", "tool": "tool call"}
FAMILY_KIND = {"text": TEXT, "reasoning": REASONING}
ID_KEY = {"text": "messageId", "reasoning": "messageId", "tool": "toolCallId"}
CONTINUATION_FAMILY = {
    "TEXT_MESSAGE_CONTENT": "text",
    "TEXT_MESSAGE_END": "text",
    "TOOL_CALL_ARGS": "tool",
    "TOOL_CALL_END": "tool",
    "REASONING_MESSAGE_CONTENT": "reasoning",
    "REASONING_MESSAGE_END": "reasoning",
}


def _item(ctx: Context, family: str, item_id: str) -> Item:
    key = (family, item_id)
    item = ctx.items.get(key)
    if item is None:
        item = Item(family=family, id=item_id)
        ctx.items[key] = item
    return item


def _step(ctx: Context, item: Item, action: str, index: int, type_: str) -> bool:
    """Apply one table transition; report the rule it breaks. True if accepted."""
    nxt, rule = ITEM_TRANSITIONS.get((item.state, action), (item.state, "item-not-open"))
    if rule is not None:
        what = FAMILY_NAMES[item.family]
        if rule == "item-already-open":
            msg = (
                f"{type_} opens {what} `{item.id}`, which is already open "
                f"(since event {item.opened_at})."
            )
        elif rule == "item-not-open":
            state = "was closed" if item.state == ItemState.CLOSED else "was never opened"
            if item.state == ItemState.ABSENT and item.run >= 0:
                state = "was opened in an earlier run"
            msg = f"{type_} for {what} `{item.id}`, which is not open (it {state})."
        else:  # chunk-mixed-spelling
            how = "a chunk" if item.state == ItemState.OPEN_CHUNK else "an explicit START"
            msg = (
                f"{type_} continues {what} `{item.id}`, which was opened by {how}; "
                "the two spellings never mix."
            )
        ctx.hit(rule, index, msg, "/" + ID_KEY[item.family])
        return False
    ctx.set_state(item, nxt)
    return True


def _claim_message_id(ctx: Context, kind: str, mid: str, index: int, type_: str) -> bool:
    """ID-002: an id names one message; a different kind under a used id is reuse.

    Returns False when the id was reused (and reported)."""
    seen = ctx.message_kinds.get(mid)
    if seen is None:
        ctx.message_kinds[mid] = kind
        return True
    if seen != kind:
        ctx.hit(
            "message-id-reused",
            index,
            f"{type_} uses messageId `{mid}` for a {kind}, but that id already names a {seen}.",
            "/messageId",
        )
        return False
    return True


def _check_owner(ctx: Context, item: Item, event: dict[str, Any], index: int) -> None:
    """SUB-015: a tagged continuation carries its opener's subagentRunId."""
    tag = owner_of(event)
    if tag is not None and tag != item.owner:
        opener = f"`{item.owner}`" if item.owner else "the parent agent (untagged)"
        ctx.hit(
            "subagent-owner-mismatch",
            index,
            f"{event.get('type')} is attributed to `{tag}`, but {FAMILY_NAMES[item.family]} "
            f"`{item.id}` was opened by {opener}.",
            "/subagentRunId",
        )


def _opened(ctx: Context, item: Item, event: dict[str, Any], index: int) -> None:
    assert ctx.run is not None
    item.opened_at = index
    item.run = ctx.run.number
    if item.family == "tool":
        if item.listed_in != ctx.run.number:  # a reopen keeps its place in call order
            item.listed_in = ctx.run.number
            ctx.run.calls.append(item)
        item.answered = False
    else:
        ctx.run.streamed_messages.setdefault(item.id, index)
        req = ctx.request
        if req is not None and item.id in req.message_kinds:
            ctx.restreamed.append((ctx.run.number, index, item.id))


def _reopen_checks(ctx: Context, item: Item, event: dict[str, Any], index: int) -> None:
    """TEXT-003 / TOOL-004: a reopen agrees with what it reopens."""
    type_ = str(event.get("type"))
    tag = owner_of(event)
    if item.family == "tool":
        name = text(event.get("toolCallName"))
        parent = text(event.get("parentMessageId"))
        problems = []
        if name is not None and item.name is not None and name != item.name:
            problems.append(f"toolCallName `{name}` (was `{item.name}`)")
        if parent is not None and item.parent is not None and parent != item.parent:
            problems.append(f"parentMessageId `{parent}` (was `{item.parent}`)")
        if tag != item.owner and tag is not None:
            problems.append(f"subagentRunId `{tag}` (was `{item.owner}`)")
        if problems:
            ctx.hit(
                "tool-call-reopen-mismatch",
                index,
                f"{type_} reopens tool call `{item.id}` with a different "
                + ", ".join(problems)
                + ".",
            )
        return
    if item.family != "text":
        return
    role = text(event.get("role"))
    name = text(event.get("name"))
    problems = []
    if role is not None and role != (item.role or "assistant"):
        problems.append(f"role `{role}` (was `{item.role or 'assistant'}`)")
    if name is not None and item.name is not None and name != item.name:
        problems.append(f"name `{name}` (was `{item.name}`)")
    if tag is not None and tag != item.owner:
        problems.append(f"subagentRunId `{tag}` (was `{item.owner}`)")
    if problems:
        ctx.hit(
            "text-reopen-mismatch",
            index,
            f"{type_} reopens message `{item.id}` with a different " + ", ".join(problems) + ".",
        )
        return
    omitted = []
    if role is None and item.role not in (None, "assistant"):
        omitted.append(f"role (was `{item.role}`; omitted means assistant)")
    if name is None and item.name is not None:
        omitted.append(f"name (was `{item.name}`)")
    if tag is None and item.owner is not None:
        omitted.append(f"subagentRunId (was `{item.owner}`)")
    if omitted:
        ctx.hit(
            "text-reopen-field-omitted",
            index,
            f"{type_} reopens message `{item.id}` without " + ", ".join(omitted) + ".",
        )


def _set_opener_fields(item: Item, event: dict[str, Any]) -> None:
    item.owner = owner_of(event)
    if item.family == "tool":
        item.name = text(event.get("toolCallName"))
        item.parent = text(event.get("parentMessageId"))
    elif item.family == "text":
        item.role = text(event.get("role"))
        item.name = text(event.get("name"))


# ---------------------------------------------------------------- explicit spelling


def start(ctx: Context, family: str, event: dict[str, Any], index: int) -> None:
    item_id = text(event.get(ID_KEY[family]))
    if item_id is None:
        return  # the schema reports the missing id
    item = _open(ctx, family, item_id, event, index, Action.START)
    if item is not None:
        _opened(ctx, item, event, index)
        if family == "tool":
            _parent_owner(ctx, item, event, index)


def _open(
    ctx: Context, family: str, item_id: str, event: dict[str, Any], index: int, action: str
) -> Item | None:
    """Open (or reopen) an item in either spelling. None if the opener is rejected."""
    type_ = str(event.get("type"))
    item = _item(ctx, family, item_id)
    was = item.state
    if family == "tool":
        _tool_identity(ctx, item, event, index)
    else:
        _claim_message_id(ctx, FAMILY_KIND[family], item_id, index, type_)
    if was == ItemState.CLOSED:
        _reopen_checks(ctx, item, event, index)
    elif was == ItemState.ABSENT and family == "text" and ctx.request is not None:
        _reopen_input_message(ctx, item, event, index)
    other = {"text": "tool", "tool": "text"}.get(family)
    if other is not None and ctx.open_items[other] and was != ItemState.OPEN:
        open_id = next(iter(ctx.open_items[other]))
        ctx.hit(
            "legacy-interleaving",
            index,
            f"{type_} opens {FAMILY_NAMES[family]} `{item_id}` while {FAMILY_NAMES[other]} "
            f"`{open_id}` is still open; older clients reject interleaved text and tool calls.",
        )
    if not _step(ctx, item, action, index, type_):
        return None
    if was == ItemState.ABSENT:
        _set_opener_fields(item, event)
        if family == "text":
            ctx.message_owner[item_id] = item.owner
    return item


def _reopen_input_message(ctx: Context, item: Item, event: dict[str, Any], index: int) -> None:
    """A START for a message the input holds reopens it: same role (TEXT-003)."""
    req = ctx.request
    assert req is not None
    role = req.message_roles.get(item.id)
    if role is None or role not in ("developer", "system", "assistant", "user"):
        return
    item.role = role
    _reopen_checks(ctx, item, event, index)


def _tool_identity(ctx: Context, item: Item, event: dict[str, Any], index: int) -> None:
    """ID-003: a new call does not take an existing call's id (reopening aside)."""
    if item.state != ItemState.ABSENT:
        return
    name = text(event.get("toolCallName"))
    known = ctx.known_calls.get(item.id)
    if known is not None and name is not None and name != known:
        ctx.hit(
            "tool-call-id-reused",
            index,
            f"{event.get('type')} starts a `{name}` call with toolCallId `{item.id}`, which "
            f"already names a `{known}` call in the input history.",
            "/toolCallId",
        )
    if name is not None:
        ctx.known_calls[item.id] = name


def _parent_owner(ctx: Context, item: Item, event: dict[str, Any], index: int) -> None:
    """TOOL-001 / SUB-017: a tool call is attributed like its parent message."""
    if item.parent is None or item.parent not in ctx.message_owner:
        return  # a parent never streamed materialises as an assistant message (§7 A-15)
    parent_owner = ctx.message_owner[item.parent]
    if parent_owner == item.owner:
        return
    if parent_owner is not None and item.owner is not None:
        ctx.hit(
            "tool-call-parent-owner-mismatch",
            index,
            f"Tool call `{item.id}` is attributed to `{item.owner}` but its parent message "
            f"`{item.parent}` belongs to `{parent_owner}`.",
            "/subagentRunId",
        )
    else:
        call = f"`{item.owner}`" if item.owner else "the parent agent"
        msg = f"`{parent_owner}`" if parent_owner else "the parent agent"
        ctx.hit(
            "tool-call-parent-owner-partial",
            index,
            f"Tool call `{item.id}` is attributed to {call} but its parent message "
            f"`{item.parent}` to {msg}.",
            "/subagentRunId",
        )


def content(ctx: Context, family: str, event: dict[str, Any], index: int) -> None:
    item_id = event.get(ID_KEY[family])
    if not isinstance(item_id, str):
        return
    item = ctx.items.get((family, item_id))
    if item is not None and item.state == ItemState.OPEN:
        # The common case, kept short: a delta for an open explicit item.
        tag = event.get("subagentRunId")
        if tag is not None and tag != item.owner:
            _check_owner(ctx, item, event, index)
        if family == "tool":
            delta = event.get("delta")
            if isinstance(delta, str):
                item.args.append(delta)
        return
    item = _item(ctx, family, item_id)
    if not _step(ctx, item, Action.CONTENT, index, str(event.get("type"))):
        return
    _check_owner(ctx, item, event, index)
    if family == "tool":
        delta = event.get("delta")
        if isinstance(delta, str):
            item.args.append(delta)


def end(ctx: Context, family: str, event: dict[str, Any], index: int) -> None:
    item_id = text(event.get(ID_KEY[family]))
    if item_id is None:
        return
    item = _item(ctx, family, item_id)
    if not _step(ctx, item, Action.END, index, str(event.get("type"))):
        return
    item.closed_at = index
    _check_owner(ctx, item, event, index)


def check_args_json(ctx: Context, calls: list[Item]) -> None:
    """TOOL-002 (info) for the closed calls of a run, judged when it ends (a reopen may
    append). The common case, every argument text JSON, is one pass in C."""
    closed = [call for call in calls if call.state == ItemState.CLOSED]
    texts = ["".join(call.args) for call in closed]
    try:
        for _ in map(orjson.loads, filter(str.strip, texts)):
            pass
        return
    except (orjson.JSONDecodeError, TypeError, ValueError):
        pass
    for item, args in zip(closed, texts, strict=True):
        if args.strip() and not parses_as_json(args):
            ctx.hit(
                "tool-args-not-json",
                item.closed_at,
                f"The arguments streamed for tool call `{item.id}` ({item.name or '?'}) do not "
                f"parse as JSON: {args[:80]!r}{'…' if len(args) > 80 else ''}",
            )


# ---------------------------------------------------------------- chunked spelling


def _close_lane(ctx: Context, lane_key: str | None, index: int) -> None:
    lane = ctx.lanes.pop(lane_key, None)
    if lane is None:
        return
    item = lane.item
    if item.state == ItemState.OPEN_CHUNK:
        ctx.set_state(item, ItemState.CLOSED)
        item.closed_at = index


def close_lane_for(ctx: Context, event: dict[str, Any], index: int) -> None:
    """A lane-closing event closes the open chunk stream of its own lane."""
    if not ctx.lanes:
        return
    tag = owner_of(event)
    family = CONTINUATION_FAMILY.get(str(event.get("type")))
    if family is not None:
        # An explicit continuation of the lane's own chunk item is a spelling
        # mix (CHUNK-001), reported by the handler: it does not close the lane.
        item_id = text(event.get(ID_KEY[family]))
        for lane in ctx.lanes.values():
            if lane.item.family == family and lane.item.id == item_id:
                return
    if tag is None and family is not None:
        # An untagged continuation belongs to its opener's owner.
        item_id = text(event.get(ID_KEY[family]))
        opener = ctx.items.get((family, item_id)) if item_id else None
        if opener is not None:
            tag = opener.owner
    _close_lane(ctx, tag, index)


def close_all_lanes(ctx: Context, index: int) -> None:
    for key in list(ctx.lanes):
        _close_lane(ctx, key, index)


def close_owner_lane(ctx: Context, owner: str, index: int) -> None:
    _close_lane(ctx, owner, index)


def chunk(ctx: Context, family: str, event: dict[str, Any], index: int) -> None:
    """TEXT_MESSAGE_CHUNK, REASONING_MESSAGE_CHUNK, TOOL_CALL_CHUNK."""
    type_ = str(event.get("type"))
    key = ID_KEY[family]
    item_id = text(event.get(key))
    tag = owner_of(event)
    if item_id is None:
        _idless_chunk(ctx, family, event, index, tag)
        return
    # A chunk with an id continues an open chunk stream carrying that id ...
    existing = ctx.items.get((family, item_id))
    if existing is not None and existing.state == ItemState.OPEN_CHUNK:
        lane = ctx.lanes.get(existing.lane)
        if lane is not None and lane.item is existing:
            _continue(ctx, existing, event, index)
            return
    # ... otherwise it opens a new item in its lane (closing the lane's stream first).
    if existing is not None and existing.state == ItemState.OPEN:
        _step(ctx, existing, Action.CHUNK_OPEN, index, type_)
        return
    if family == "tool" and text(event.get("toolCallName")) is None:
        ctx.hit(
            "chunk-missing-tool-name",
            index,
            f"{type_} opens tool call `{item_id}` without toolCallName.",
            "/toolCallName",
        )
        return
    _close_lane(ctx, tag, index)
    item = _open(ctx, family, item_id, event, index, Action.CHUNK_OPEN)
    if item is None:
        return
    item.lane = tag
    ctx.lanes[tag] = Lane(item)
    _opened(ctx, item, event, index)
    if family == "tool":
        _parent_owner(ctx, item, event, index)
        delta = event.get("delta")
        if isinstance(delta, str):
            item.args.append(delta)


def _idless_chunk(
    ctx: Context, family: str, event: dict[str, Any], index: int, tag: str | None
) -> None:
    type_ = str(event.get("type"))
    key = ID_KEY[family]
    if tag is not None:
        lane = ctx.lanes.get(tag)
        if lane is not None and lane.item.family == family:
            _continue(ctx, lane.item, event, index)
            return
        if tag in ctx.ended_subagents:
            ctx.hit(
                "chunk-after-owner-finished",
                index,
                f"{type_} continues a chunk stream of subagent `{tag}`, whose invocation has "
                "already finished.",
                "/subagentRunId",
            )
            return
    else:
        parent = ctx.lanes.get(None)
        if parent is not None and parent.item.family == family:
            _continue(ctx, parent.item, event, index)
            return
        candidates = [ln for k, ln in ctx.lanes.items() if ln.item.family == family]
        if len(candidates) == 1:
            _continue(ctx, candidates[0].item, event, index)
            return
        if len(candidates) > 1:
            ids = listing([c.item.id for c in candidates])
            ctx.hit(
                "chunk-ambiguous-continuation",
                index,
                f"Untagged {type_} without {key} could continue any of {ids} "
                "(several subagents are streaming).",
                "/" + key,
            )
            return
    ctx.hit(
        "chunk-missing-id",
        index,
        f"{type_} has no {key} and there is no open {FAMILY_NAMES[family]} chunk stream "
        "in its lane to continue (the first chunk, and any chunk after an event that "
        "closed the stream, must carry the id).",
        "/" + key,
    )


def _continue(ctx: Context, item: Item, event: dict[str, Any], index: int) -> None:
    type_ = str(event.get("type"))
    _check_owner(ctx, item, event, index)
    conflicts = []
    if item.family == "text":
        role = text(event.get("role"))
        if role is not None and role != (item.role or "assistant"):
            conflicts.append(f"role `{role}` (opened as `{item.role or 'assistant'}`)")
        name = text(event.get("name"))
        if name is not None and item.name is not None and name != item.name:
            conflicts.append(f"name `{name}` (opened as `{item.name}`)")
    elif item.family == "tool":
        name = text(event.get("toolCallName"))
        if name is not None and name != item.name:
            conflicts.append(f"toolCallName `{name}` (opened as `{item.name}`)")
        parent = text(event.get("parentMessageId"))
        if parent is not None and item.parent is not None and parent != item.parent:
            conflicts.append(f"parentMessageId `{parent}` (opened as `{item.parent}`)")
    if conflicts:
        ctx.hit(
            "chunk-conflicting-field",
            index,
            f"{type_} continues `{item.id}` with " + ", ".join(conflicts) + ".",
        )
    if item.family == "tool":
        delta = event.get("delta")
        if isinstance(delta, str):
            item.args.append(delta)


# ---------------------------------------------------------------- tool results


def tool_result(ctx: Context, event: dict[str, Any], index: int) -> None:
    mid = text(event.get("messageId"))
    call_id = text(event.get("toolCallId"))
    fresh = mid is None or _claim_message_id(ctx, TOOL_RESULT, mid, index, "TOOL_CALL_RESULT")
    if call_id is None:
        return
    call = ctx.items.get(("tool", call_id))
    if call is None or call.state == ItemState.ABSENT:
        req = ctx.request
        if req is None or call_id not in req.tool_calls:
            ctx.hit(
                "tool-result-unknown-call",
                index,
                f"TOOL_CALL_RESULT answers toolCallId `{call_id}`, which no tool call in this "
                "stream" + (" or in the input history" if req is not None else "") + " started.",
                "/toolCallId",
            )
        return
    if fresh and mid is not None and call.parent is not None and mid == call.parent:
        ctx.hit(
            "message-id-reused",
            index,
            f"TOOL_CALL_RESULT reuses messageId `{mid}`, the id of the assistant message that "
            "made the call; a tool result is a message of its own.",
            "/messageId",
        )
    if call.state in (ItemState.OPEN, ItemState.OPEN_CHUNK):
        ctx.hit(
            "tool-result-while-open",
            index,
            f"TOOL_CALL_RESULT for `{call_id}` arrives while the call is still open "
            "(no TOOL_CALL_END yet).",
            "/toolCallId",
        )
    call.answered = True
    req = ctx.request
    if req is not None and call.name in req.frontend_tools:
        ctx.hit(
            "frontend-tool-answered",
            index,
            f"The agent answered its own call to frontend tool `{call.name}` (`{call_id}`); "
            "the client runs frontend tools and sends the result in the next run.",
            "/toolCallId",
        )
