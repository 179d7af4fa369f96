"""Standalone families: state, activity, messages snapshots, steps, reasoning
spans and encrypted values, subagents, passthrough.

Owns the reconstructed state (RFC 6902 deltas applied atomically, in place),
activities, step and span bookkeeping, subagent invocations and the
snapshot consistency checks. Knows nothing of I/O.
"""

from __future__ import annotations

import re
from typing import Any

from agui_conformance.clip import listing
from agui_conformance.jsonpatch import PatchError, SizeExceeded, apply_patch, copy_value
from agui_conformance.jsonsize import COPY_FACTOR, json_size
from agui_conformance.machine import items
from agui_conformance.machine.context import (
    ACTIVITY,
    ROLE_KIND,
    Activity,
    Context,
    owner_of,
    text,
)
from agui_conformance.machine.jsontext import loads_or_none

PATCH_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})
_PREFIXED = re.compile(r"[./:]")


_NEEDS = {"add": "value", "replace": "value", "test": "value", "move": "from", "copy": "from"}


def _known_ops(patch: list[Any]) -> list[dict[str, Any]] | None:
    """The operations a consumer applies: unknown ops dropped (the schema reports
    them); None when an operation is malformed, which is fatal, so nothing applies."""
    ops = []
    for op in patch:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            return None
        kind = op.get("op")
        if kind not in PATCH_OPS:
            continue
        need = _NEEDS.get(kind)
        if need is not None and (
            need not in op or (need == "from" and not isinstance(op[need], str))
        ):
            return None
        ops.append(op)
    return ops


# ---------------------------------------------------------------- state


def input_state(ctx: Context, state: Any) -> None:
    """The request's state is the baseline, if it fits the size budget."""
    budget = ctx.budget
    size = json_size(state, budget.room)
    if size > budget.room:
        budget.exceeded = True
        ctx.input_state_untracked = size
        return
    ctx.state = state
    ctx.state_known = True
    ctx.state_size = size
    budget.used += size


def state_snapshot(ctx: Context, event: dict[str, Any], index: int) -> None:
    if "snapshot" not in event:
        return
    if ctx.run is not None:
        ctx.run.snapshot_seen = True
    budget = ctx.budget
    if budget.exceeded:
        return  # no longer tracked
    budget.used -= ctx.state_size
    ctx.state, ctx.state_size, ctx.state_known = None, 0, False
    state = copy_value(event["snapshot"])
    size = json_size(state, budget.room)
    if size > budget.room:
        _stop_tracking(ctx, index, f"STATE_SNAPSHOT is {size:,} bytes of JSON or more", "/snapshot")
        return
    ctx.state, ctx.state_size, ctx.state_known = state, size, True
    budget.used += size


def state_delta(ctx: Context, event: dict[str, Any], index: int) -> None:
    patch = event.get("delta")
    if not isinstance(patch, list):
        return  # malformed: the schema reports it
    if not ctx.state_known:
        if ctx.input_state_untracked and ctx.once("state-too-large"):
            _stop_tracking(
                ctx,
                index,
                f"RunAgentInput.state is {ctx.input_state_untracked:,} bytes of JSON or more",
                "/delta",
            )
        return  # baseline unknown: no request, no snapshot yet, or no longer tracked
    ops = _known_ops(patch)
    if ops is None:
        return
    used = ctx.budget.used
    try:
        ctx.state = apply_patch(ctx.state, ops, budget=ctx.budget)
    except SizeExceeded as err:
        _stop_tracking(ctx, index, _too_large("STATE_DELTA", err), _op_pointer("/delta", err))
        return
    except PatchError as err:
        pointer = _op_pointer("/delta", err)
        if err.test_failed:
            ctx.hit(
                "state-patch-test-failed",
                index,
                f"STATE_DELTA's test operation failed ({err.reason}); the patch is skipped.",
                pointer,
            )
        elif not any(r.snapshot_seen for r in ctx.runs) and ctx.request is not None:
            ctx.hit(
                "state-delta-input-baseline",
                index,
                f"STATE_DELTA does not apply to the state the client sent ({err.reason}); "
                "before the first STATE_SNAPSHOT deltas amend RunAgentInput.state.",
                pointer,
            )
        else:
            ctx.hit(
                "state-delta-not-applicable",
                index,
                f"STATE_DELTA does not apply to the current state ({err.reason}); consumers "
                "skip it and keep the previous state.",
                pointer,
            )
        return
    ctx.state_size += ctx.budget.used - used


def _op_pointer(member: str, err: PatchError) -> str:
    return f"{member}/{err.op_index}" if err.op_index is not None else member


def _too_large(what: str, err: SizeExceeded) -> str:
    op = f"its operation {err.op_index}" if err.op_index is not None else "it"
    if err.copied:
        return (
            f"{what}: with {op}, `copy` operations would have copied {err.size:,} bytes of "
            f"JSON in this stream, more than {COPY_FACTOR} times the size bound"
        )
    by = f" (its operation {err.op_index})" if err.op_index is not None else ""
    return f"{what}{by} would make the rebuilt state {err.size:,} bytes of JSON or more"


def _stop_tracking(ctx: Context, index: int, what: str, pointer: str) -> None:
    """The size budget ran out: report it once and forget the state and every
    activity's content for the rest of the stream (a half-tracked document would
    only make false findings)."""
    budget = ctx.budget
    ctx.hit(
        "state-too-large",
        index,
        f"{what}, past the validator's bound of {budget.limit:,} bytes for the state and "
        "activities of one stream (max_state_bytes; the spec sets no limit). The validator "
        "stops tracking them here: later STATE_* and ACTIVITY_* content is not checked.",
        pointer,
    )
    budget.exceeded = True
    budget.used = 0
    ctx.state, ctx.state_size, ctx.state_known = None, 0, False
    for act in ctx.activities.values():
        act.content, act.size = None, 0


# ---------------------------------------------------------------- activity


def activity_snapshot(ctx: Context, event: dict[str, Any], index: int) -> None:
    mid = text(event.get("messageId"))
    content = event.get("content")
    if mid is None or not isinstance(content, dict):
        return
    items._claim_message_id(ctx, ACTIVITY, mid, index, "ACTIVITY_SNAPSHOT")
    tag = owner_of(event)
    existing = ctx.activities.get(mid)
    if existing is not None and event.get("replace") is False:
        if tag is not None and tag != existing.owner:
            owner = f"`{existing.owner}`" if existing.owner else "the parent agent"
            ctx.hit(
                "activity-owner-mismatch",
                index,
                f"ACTIVITY_SNAPSHOT (replace: false) for `{mid}` is attributed to `{tag}`, "
                f"but the activity belongs to {owner}.",
                "/subagentRunId",
            )
        return  # replace:false keeps the existing content
    kind = text(event.get("activityType"))
    budget = ctx.budget
    if existing is not None:
        budget.used -= existing.size
    ctx.activities[mid] = Activity(None, tag, kind)
    if budget.exceeded:
        return  # no longer tracked
    copy = copy_value(content)
    size = json_size(copy, budget.room)
    if size > budget.room:
        what = f"ACTIVITY_SNAPSHOT of `{mid}` is {size:,} bytes of JSON or more"
        _stop_tracking(ctx, index, what, "/content")
        return
    ctx.activities[mid] = Activity(copy, tag, kind, size)
    budget.used += size


def activity_delta(ctx: Context, event: dict[str, Any], index: int) -> None:
    mid = text(event.get("messageId"))
    patch = event.get("patch")
    if mid is None:
        return
    act = ctx.activities.get(mid)
    if act is None:
        ctx.hit(
            "activity-delta-without-snapshot",
            index,
            f"ACTIVITY_DELTA patches activity `{mid}`, which no ACTIVITY_SNAPSHOT in this "
            "stream created.",
            "/messageId",
        )
        return
    tag = owner_of(event)
    if tag is not None and tag != act.owner:
        owner = f"`{act.owner}`" if act.owner else "the parent agent"
        ctx.hit(
            "activity-owner-mismatch",
            index,
            f"ACTIVITY_DELTA for `{mid}` is attributed to `{tag}`, but the activity "
            f"belongs to {owner}.",
            "/subagentRunId",
        )
    new_type = text(event.get("activityType"))
    if new_type is not None and act.activity_type is not None and new_type != act.activity_type:
        ctx.hit(
            "activity-retyped",
            index,
            f"ACTIVITY_DELTA retypes activity `{mid}` from `{act.activity_type}` to `{new_type}`.",
            "/activityType",
        )
        act.activity_type = new_type
    if not isinstance(patch, list):
        return
    ops = _known_ops(patch)
    if ops is None or act.content is None:
        return  # malformed (fatal), or no longer tracked
    used = ctx.budget.used
    try:
        # a result that is not an object is undone: activity content is always one
        act.content = apply_patch(act.content, ops, budget=ctx.budget, accept=_is_object)
    except SizeExceeded as err:
        what = _too_large(f"ACTIVITY_DELTA of `{mid}`", err)
        _stop_tracking(ctx, index, what, _op_pointer("/patch", err))
        return
    except PatchError as err:
        if err.rejected is not None:
            ctx.hit(
                "activity-content-not-object",
                index,
                f"ACTIVITY_DELTA would make activity `{mid}`'s content a "
                f"{err.rejected}; activity content is always an object.",
                "/patch",
            )
        elif not err.test_failed:
            ctx.hit(
                "activity-delta-not-applicable",
                index,
                f"ACTIVITY_DELTA does not apply to activity `{mid}` ({err.reason}).",
                _op_pointer("/patch", err),
            )
        return
    act.size += ctx.budget.used - used


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


# ---------------------------------------------------------------- messages snapshot


def messages_snapshot(ctx: Context, event: dict[str, Any], index: int) -> None:
    items.close_all_lanes(ctx, index)  # a run-level event closes every chunk stream
    messages = event.get("messages")
    if not isinstance(messages, list):
        return
    ids: dict[str, int] = {}
    call_ids: dict[str, int] = {}
    snapshot_calls: dict[str, Any] = {}
    for pos, msg in enumerate(messages):
        if not isinstance(msg, dict):
            continue
        mid = text(msg.get("id"))
        role = text(msg.get("role"))
        if mid is not None:
            if mid in ids:
                ctx.hit(
                    "messages-snapshot-duplicate-id",
                    index,
                    f"MESSAGES_SNAPSHOT lists message `{mid}` twice "
                    f"(entries {ids[mid]} and {pos}).",
                    f"/messages/{pos}/id",
                )
            else:
                ids[mid] = pos
            kind = ROLE_KIND.get(role or "")
            if kind is not None:
                seen = ctx.message_kinds.get(mid)
                if seen is not None and seen != kind:
                    ctx.hit(
                        "message-id-reused",
                        index,
                        f"MESSAGES_SNAPSHOT restates `{mid}` as a {kind}, "
                        f"but that id names a {seen}.",
                        f"/messages/{pos}/id",
                    )
                else:
                    ctx.message_kinds[mid] = kind
        _encrypted_type_check(ctx, msg, index, f"/messages/{pos}")
        calls = msg.get("toolCalls")
        if isinstance(calls, list):
            for cpos, call in enumerate(calls):
                if not isinstance(call, dict):
                    continue
                _encrypted_type_check(ctx, call, index, f"/messages/{pos}/toolCalls/{cpos}")
                cid = text(call.get("id"))
                if cid is None:
                    continue
                if cid in call_ids:
                    ctx.hit(
                        "snapshot-duplicate-tool-call-id",
                        index,
                        f"MESSAGES_SNAPSHOT lists tool call `{cid}` twice.",
                        f"/messages/{pos}/toolCalls/{cpos}/id",
                    )
                else:
                    call_ids[cid] = pos
                    snapshot_calls[cid] = call
                fn = call.get("function")
                if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                    ctx.known_calls.setdefault(cid, fn["name"])
        if role == "tool":
            _snapshot_tool_message(ctx, msg, index, pos)
        _file_providers(ctx, msg.get("content"), index, f"/messages/{pos}/content")
    _snapshot_vs_input(ctx, ids, index)
    _snapshot_vs_stream(ctx, ids, snapshot_calls, call_ids, index)


def _snapshot_tool_message(ctx: Context, msg: dict[str, Any], index: int, pos: int) -> None:
    """TOOL-013: no fabricated tool message for a frontend call of this run."""
    req = ctx.request
    call_id = text(msg.get("toolCallId"))
    if req is None or call_id is None or ctx.run is None:
        return
    if call_id in req.answered_calls or text(msg.get("id")) in req.message_kinds:
        return  # the client's own answer, restated
    call = next((c for c in ctx.run.calls if c.id == call_id), None)
    if call is not None and call.name in req.frontend_tools:
        ctx.hit(
            "frontend-tool-answered",
            index,
            f"MESSAGES_SNAPSHOT carries a tool message answering frontend tool call "
            f"`{call_id}` ({call.name}); only the client answers frontend tools.",
            f"/messages/{pos}",
        )


def _snapshot_vs_input(ctx: Context, ids: dict[str, int], index: int) -> None:
    """MSGS-001: omitting an input message deletes it at the consumer."""
    req = ctx.request
    if req is None:
        return
    dropped = [
        mid
        for mid, kind in req.message_kinds.items()
        if kind not in (ACTIVITY, "reasoning") and mid not in ids
    ]
    if dropped:
        shown = listing(dropped, limit=5)
        ctx.hit(
            "messages-snapshot-drops-input",
            index,
            f"MESSAGES_SNAPSHOT omits {len(dropped)} message(s) the client sent ({shown}); "
            "a client that replaces its message list with the snapshot no longer shows them.",
            "/messages",
        )


def _snapshot_vs_stream(
    ctx: Context,
    ids: dict[str, int],
    calls: dict[str, Any],
    call_pos: dict[str, int],
    index: int,
) -> None:
    """Advisory: what this run streamed shows up, unchanged, in its snapshot."""
    run = ctx.run
    if run is None:
        return
    missing = [mid for mid in run.streamed_messages if mid not in ids]
    for call in run.calls:
        if call.id not in calls:
            missing.append(call.id)
            continue
        fn = calls[call.id].get("function")
        snap_args = fn.get("arguments") if isinstance(fn, dict) else None
        if not isinstance(snap_args, str):
            continue
        streamed = "".join(call.args)
        if streamed == snap_args:
            continue
        ok_a, a = loads_or_none(streamed)
        ok_b, b = loads_or_none(snap_args)
        if ok_a and ok_b and a == b:
            continue
        if not streamed and not snap_args.strip():
            continue
        detail = (
            "no TOOL_CALL_ARGS were streamed" if not streamed else f"streamed {streamed[:60]!r}"
        )
        effect = (
            " A client that runs frontend tools from the stream runs it with empty arguments."
            if not streamed
            else " A client that runs frontend tools from the stream uses the streamed ones."
        )
        ctx.hit(
            "snapshot-tool-args-differ",
            index,
            f"Tool call `{call.id}`: {detail}, but the snapshot reports arguments "
            f"{snap_args[:60]!r}.{effect}",
            f"/messages/{call_pos[call.id]}/toolCalls",
        )
    if missing:
        shown = listing(missing, limit=5)
        ctx.hit(
            "snapshot-missing-streamed-id",
            index,
            f"MESSAGES_SNAPSHOT omits {len(missing)} id(s) streamed earlier in this run ({shown}).",
            "/messages",
        )


def _encrypted_type_check(ctx: Context, obj: dict[str, Any], index: int, pointer: str) -> None:
    """REAS-010: encryptedValueType never travels without encryptedValue."""
    if "encryptedValueType" in obj and "encryptedValue" not in obj:
        ctx.hit(
            "encrypted-value-type-without-value",
            index,
            "encryptedValueType is sent without the encryptedValue it describes.",
            pointer + "/encryptedValueType",
        )


def _file_providers(ctx: Context, parts: Any, index: int, pointer: str) -> None:
    """INPUT-005: a file source's provider is a lowercase vendor id."""
    if not isinstance(parts, list):
        return
    for pos, part in enumerate(parts):
        if not isinstance(part, dict):
            continue
        source = part.get("source")
        if not isinstance(source, dict) or source.get("type") != "file":
            continue
        provider = source.get("provider")
        if isinstance(provider, str) and provider != provider.lower():
            ctx.hit(
                "file-provider-not-lowercase",
                index,
                f"File source provider `{provider}` is not a lowercase vendor id "
                f"(use `{provider.lower()}`).",
                f"{pointer}/{pos}/source/provider",
            )


def tool_result_parts(ctx: Context, event: dict[str, Any], index: int) -> None:
    _file_providers(ctx, event.get("content"), index, "/content")


# ---------------------------------------------------------------- steps


def step_started(ctx: Context, event: dict[str, Any], index: int) -> None:
    name = text(event.get("stepName"))
    if name is None or ctx.run is None:
        return
    key = (owner_of(event), name)
    if key in ctx.run.open_steps:
        ctx.hit(
            "step-already-open",
            index,
            f"STEP_STARTED `{name}` while that step is open "
            f"(since event {ctx.run.open_steps[key]}).",
            "/stepName",
        )
        return
    ctx.run.open_steps[key] = index


def step_finished(ctx: Context, event: dict[str, Any], index: int) -> None:
    name = text(event.get("stepName"))
    if name is None or ctx.run is None:
        return
    tag = owner_of(event)
    if ctx.run.open_steps.pop((tag, name), None) is None:
        owner = f" for subagent `{tag}`" if tag else ""
        others = [o for (o, n) in ctx.run.open_steps if n == name]
        extra = (
            " (a step of that name is open for another owner: steps are per owner)"
            if others
            else ""
        )
        ctx.hit(
            "step-not-open",
            index,
            f"STEP_FINISHED `{name}`{owner} closes no open step{extra}.",
            "/stepName",
        )


# ---------------------------------------------------------------- reasoning spans, encrypted values


def reasoning_start(ctx: Context, event: dict[str, Any], index: int) -> None:
    mid = text(event.get("messageId"))
    if mid is None or ctx.run is None:
        return
    ctx.span_ids.add(mid)
    if mid in ctx.run.open_spans:
        ctx.hit(
            "reasoning-span-already-open",
            index,
            f"REASONING_START `{mid}` while that span is open "
            f"(since event {ctx.run.open_spans[mid]}).",
            "/messageId",
        )
        return
    ctx.run.open_spans[mid] = index


def reasoning_end(ctx: Context, event: dict[str, Any], index: int) -> None:
    mid = text(event.get("messageId"))
    if mid is None or ctx.run is None:
        return
    if ctx.run.open_spans.pop(mid, None) is None:
        ctx.hit(
            "reasoning-span-not-open",
            index,
            f"REASONING_END `{mid}` closes no open reasoning span.",
            "/messageId",
        )


def encrypted_value(ctx: Context, event: dict[str, Any], index: int) -> None:
    subtype = text(event.get("subtype"))
    entity = text(event.get("entityId"))
    if subtype in ("message", "tool-call") and entity is not None:
        ctx.encrypted_refs.append((index, subtype, entity))
    etype = text(event.get("encryptedValueType"))
    if etype is not None and not _PREFIXED.search(etype):
        ctx.hit(
            "encrypted-value-type-unprefixed",
            index,
            f"encryptedValueType `{etype}` has no provider prefix.",
            "/encryptedValueType",
        )


def check_encrypted_refs(ctx: Context) -> None:
    """REAS-007, judged at the end: the entity may be streamed after the value."""
    for index, subtype, entity in ctx.encrypted_refs:
        if subtype == "tool-call":
            known = entity in ctx.known_calls or ("tool", entity) in ctx.items
            what = "tool call"
        else:
            kind = ctx.message_kinds.get(entity)
            known = (kind is not None and kind != ACTIVITY) or entity in ctx.span_ids
            what = "message" if kind != ACTIVITY else "message (it is an activity)"
        if not known:
            ctx.hit(
                "encrypted-value-unknown-entity",
                index,
                f"REASONING_ENCRYPTED_VALUE names {what} `{entity}`, which the consumer does "
                "not know.",
                "/entityId",
            )


# ---------------------------------------------------------------- subagents


def note_attribution(ctx: Context, event: dict[str, Any], index: int) -> None:
    """Remember the first event attributed to an unannounced invocation."""
    tag = owner_of(event)
    run = ctx.run
    if tag is None or run is None or tag in run.announced_subagents:
        return
    run.tagged_first.setdefault(tag, index)


def subagent_started(ctx: Context, event: dict[str, Any], index: int) -> None:
    sid = text(event.get("subagentRunId"))
    run = ctx.run
    if sid is None or run is None:
        return
    if sid in run.active_subagents:
        ctx.hit(
            "subagent-already-active",
            index,
            f"SUBAGENT_STARTED `{sid}` while that invocation is active "
            f"(since event {run.active_subagents[sid]}).",
            "/subagentRunId",
        )
        return
    if sid in run.finished_subagents:
        ctx.hit(
            "subagent-id-reused",
            index,
            f"SUBAGENT_STARTED reuses `{sid}`, the id of an invocation already "
            "finished in this run.",
            "/subagentRunId",
        )
    elif sid in run.tagged_first:
        ctx.hit(
            "subagent-announced-late",
            index,
            f"SUBAGENT_STARTED `{sid}` comes after event {run.tagged_first[sid]}, which is "
            "already attributed to it.",
            "/subagentRunId",
        )
    parent = text(event.get("parentSubagentRunId"))
    if parent is not None and parent not in run.announced_subagents:
        ctx.hit(
            "subagent-parent-unknown",
            index,
            f"SUBAGENT_STARTED `{sid}` names parent invocation `{parent}`, which was not "
            "announced in this run.",
            "/parentSubagentRunId",
        )
    run.active_subagents[sid] = index
    run.announced_subagents.add(sid)
    run.tagged_first.pop(sid, None)
    ctx.ended_subagents.discard(sid)


def subagent_ended(ctx: Context, event: dict[str, Any], index: int) -> None:
    sid = text(event.get("subagentRunId"))
    run = ctx.run
    if sid is None or run is None:
        return
    items.close_owner_lane(ctx, sid, index)
    if run.active_subagents.pop(sid, None) is None:
        why = "already finished" if sid in run.finished_subagents else "never announced"
        ctx.hit(
            "subagent-not-active",
            index,
            f"{event.get('type')} for `{sid}`, an invocation that was {why}.",
            "/subagentRunId",
        )
        return
    run.finished_subagents.add(sid)
    ctx.ended_subagents.add(sid)
    outcome = event.get("outcome")
    if (
        isinstance(outcome, dict)
        and outcome.get("type") == "suspended"
        and isinstance(outcome.get("interruptIds"), list)
    ):
        ids = [i for i in outcome["interruptIds"] if isinstance(i, str)]
        run.suspended[sid] = (index, ids)
    elif isinstance(outcome, dict) and outcome.get("type") == "suspended":
        run.suspended[sid] = (index, [])


# ---------------------------------------------------------------- passthrough, metadata


def custom(ctx: Context, event: dict[str, Any], index: int) -> None:
    name = text(event.get("name"))
    if name is not None and not _PREFIXED.search(name) and ctx.once(f"custom:{name}"):
        ctx.hit(
            "custom-name-unprefixed",
            index,
            f"CUSTOM event name `{name}` has no vendor prefix; unprefixed names are reserved "
            "for the protocol.",
            "/name",
        )


def metadata_is_quiet(meta: dict[Any, Any]) -> bool:
    """True when `metadata` (an object) draws no finding from `metadata`: every key
    carries a prefix and none is the reserved `ag-ui`."""
    for key in meta:
        if type(key) is not str or key == "ag-ui" or not _PREFIXED.search(key):
            return False
    return True


def metadata(ctx: Context, event: dict[str, Any], index: int) -> None:
    meta = event.get("metadata")
    if not isinstance(meta, dict):
        return
    for key in meta:
        if key == "ag-ui":
            ctx.hit(
                "metadata-reserved-key",
                index,
                "metadata uses the `ag-ui` key, which is reserved for the protocol.",
                "/metadata/ag-ui",
            )
        elif not _PREFIXED.search(key) and ctx.once(f"meta:{key}"):
            ctx.hit(
                "metadata-key-unprefixed",
                index,
                f"metadata key `{key}` has no vendor or application prefix.",
                f"/metadata/{key}",
            )
