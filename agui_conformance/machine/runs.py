"""The run lifecycle: RUN_STARTED, RUN_FINISHED, RUN_ERROR and the end of
the stream.

Owns identity echo (LIFE-002..004, ID-001), version declarations (VER-*),
what must be closed before RUN_FINISHED (STRM-003, STEP-003, REAS-002,
SUB-008), outcomes (pending tool calls, interrupts, cancelled), usage
arithmetic and truncation. The phase table itself lives in `tables`.
"""

from __future__ import annotations

import re
from typing import Any

from agui_conformance.clip import code, listing, literal
from agui_conformance.machine import items, standalone
from agui_conformance.machine.context import Context, Run, text
from agui_conformance.machine.tables import ItemState, Phase

PUBLISHED_VERSIONS = frozenset({"1.0", "1.1"})
VALIDATOR_VERSION = (1, 1)
_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


def _number(digits: str) -> tuple[int, str]:
    """Decimal digits without a leading zero as a key that orders as their value, never
    an int: a hostile 100,000-digit minor is past what int() converts (ValueError)."""
    return len(digits), digits


_VALIDATOR_KEY = tuple(_number(str(n)) for n in VALIDATOR_VERSION)


def run_started(ctx: Context, event: dict[str, Any], index: int) -> None:
    items.close_all_lanes(ctx, index)
    run_id = text(event.get("runId"))
    thread_id = text(event.get("threadId"))
    run = Run(number=len(ctx.runs), started_at=index, run_id=run_id, thread_id=thread_id)
    ctx.runs.append(run)
    ctx.run = run
    if run_id is not None:
        if run_id in ctx.run_ids:
            ctx.hit(
                "identity-run-id-reused",
                index,
                f"RUN_STARTED reuses runId `{run_id}` of the run started at event "
                f"{ctx.run_ids[run_id]}.",
                "/runId",
            )
        else:
            ctx.run_ids[run_id] = index
    _thread_echo(ctx, event, index)
    _version(ctx, event, index, run)
    _input_echo(ctx, event, index)


def _input_echo(ctx: Context, event: dict[str, Any], index: int) -> None:
    """LIFE-001 / INPUT-012: the requested run's input echo reflects what was sent."""
    req = ctx.request
    echo = event.get("input")
    if req is None or not isinstance(echo, dict) or text(event.get("runId")) != req.run_id:
        return  # a replayed run's echo is its own input
    if (
        req.has_forwarded_props
        and "forwardedProps" in echo
        and echo["forwardedProps"] != req.forwarded_props
    ):
        ctx.hit(
            "forwarded-props-altered",
            index,
            "RUN_STARTED.input echoes forwardedProps different from what the client sent; "
            "forwardedProps passes through untouched.",
            "/input/forwardedProps",
        )
    problems = []
    for key, sent in (("threadId", req.thread_id), ("runId", req.run_id)):
        if echo.get(key) != sent:
            problems.append(f"{key} {literal(echo.get(key))} (sent {literal(sent)})")
    messages = echo.get("messages")
    if isinstance(messages, list):
        ids = tuple(m.get("id") for m in messages if isinstance(m, dict))
        if ids != req.message_ids:
            got = listing(ids, show=literal, limit=5)
            sent_ids = listing(req.message_ids, show=literal, limit=5)
            problems.append(f"message ids [{got}] (sent [{sent_ids}])")
    if req.has_forwarded_props and "forwardedProps" not in echo:
        problems.append("no forwardedProps (the client sent some)")
    if problems:
        ctx.hit(
            "run-input-echo-mismatch",
            index,
            "RUN_STARTED.input does not reflect the input that started the run: "
            + "; ".join(problems)
            + ".",
            "/input",
        )


def _thread_echo(ctx: Context, event: dict[str, Any], index: int) -> None:
    req = ctx.request
    thread_id = text(event.get("threadId"))
    if req is None or req.thread_id is None or thread_id is None:
        return
    if thread_id != req.thread_id:
        ctx.hit(
            "identity-thread-id-echo",
            index,
            f"{event.get('type')} carries threadId `{thread_id}`, but the input's threadId "
            f"is `{req.thread_id}`.",
            "/threadId",
        )


def _version(ctx: Context, event: dict[str, Any], index: int, run: Run) -> None:
    if "protocolVersion" not in event:
        ctx.hit(
            "version-missing",
            index,
            'RUN_STARTED does not declare protocolVersion (a 1.1 producer declares "1.1").',
            "/protocolVersion",
        )
        return
    version = text(event.get("protocolVersion"))
    if version is None:
        return  # wrong JSON type: the schema reports it
    run.version = version
    req = ctx.request
    if (
        req is not None
        and req.version is not None
        and version == req.version
        and version not in PUBLISHED_VERSIONS
    ):
        ctx.hit(
            "version-echoed",
            index,
            f"RUN_STARTED declares protocolVersion `{version}`, an echo of the input's "
            "declaration rather than the producer's own version.",
            "/protocolVersion",
        )
        return  # an echo says nothing about the producer's own version
    match = _VERSION.match(version)
    if match is None:
        ctx.hit(
            "version-format",
            index,
            f'protocolVersion `{version}` is not a published MAJOR.MINOR identifier (e.g. "1.1").',
            "/protocolVersion",
        )
        return
    declared = (_number(match.group(1)), _number(match.group(2)))
    if declared > _VALIDATOR_KEY:
        ctx.newer_producer = True
        if ctx.once(f"newer:{version}"):
            ctx.hit(
                "version-newer-than-validator",
                index,
                f"The producer declares protocolVersion {version}, newer than this "
                "validator's 1.1; unknown material is reported as warnings.",
                "/protocolVersion",
            )


def run_finished(ctx: Context, event: dict[str, Any], index: int) -> None:
    run = ctx.run
    items.close_all_lanes(ctx, index)
    if run is None:
        return
    run_id = text(event.get("runId"))
    if run_id is not None and run.run_id is not None and run_id != run.run_id:
        ctx.hit(
            "lifecycle-run-id-mismatch",
            index,
            f"RUN_FINISHED names runId `{run_id}`, but the run started as `{run.run_id}`.",
            "/runId",
        )
    thread_id = text(event.get("threadId"))
    if ctx.request is not None and ctx.request.thread_id is not None:
        _thread_echo(ctx, event, index)
    elif thread_id is not None and run.thread_id is not None and thread_id != run.thread_id:
        ctx.hit(
            "lifecycle-thread-id-mismatch",
            index,
            f"RUN_FINISHED names threadId `{thread_id}`, but the run started on `{run.thread_id}`.",
            "/threadId",
        )
    _open_at_finish(ctx, run, index)
    items.check_args_json(ctx, run.calls)
    outcome = event.get("outcome")
    outcome_type = outcome.get("type") if isinstance(outcome, dict) else None
    if outcome is not None and not isinstance(outcome, dict):
        outcome_type = None  # malformed: the schema reports it; read as absent
    if outcome_type == "cancelled" and "result" in event:
        ctx.hit(
            "lifecycle-cancelled-with-result",
            index,
            "RUN_FINISHED with a cancelled outcome carries a result.",
            "/result",
        )
    _pending_calls(ctx, run, outcome, outcome_type, index)
    interrupt_ids = _interrupts(ctx, outcome, outcome_type, index)
    _suspended(ctx, run, outcome_type, interrupt_ids, index)
    usage(ctx, event, index)
    _release(ctx, run)


def _open_at_finish(ctx: Context, run: Run, index: int) -> None:
    still_open = [item for opened in ctx.open_items.values() for item in opened.values()]
    for item in sorted(still_open, key=lambda it: it.opened_at):
        if item.state == ItemState.OPEN:
            what = items.FAMILY_NAMES[item.family]
            ctx.hit(
                "item-open-at-finish",
                index,
                f"RUN_FINISHED while {what} `{item.id}` (opened at event {item.opened_at}) "
                "is still open.",
            )
    for (owner, name), at in run.open_steps.items():
        whose = f" of subagent `{owner}`" if owner else ""
        ctx.hit(
            "step-open-at-finish",
            index,
            f"RUN_FINISHED while step `{name}`{whose} (started at event {at}) is still open.",
        )
    for span, at in run.open_spans.items():
        ctx.hit(
            "reasoning-span-open-at-finish",
            index,
            f"RUN_FINISHED while reasoning span `{span}` (started at event {at}) is still open.",
        )
    for sid, at in run.active_subagents.items():
        ctx.hit(
            "subagent-active-at-finish",
            index,
            f"RUN_FINISHED while subagent invocation `{sid}` (started at event {at}) is "
            "still active.",
        )


def _pending_calls(ctx: Context, run: Run, outcome: Any, outcome_type: Any, index: int) -> None:
    unanswered = [c for c in run.calls if not c.answered]
    if outcome_type in ("interrupt", "cancelled"):
        return
    pending = outcome.get("pendingToolCallIds") if isinstance(outcome, dict) else None
    if isinstance(pending, list) and pending:
        expected = [c.id for c in unanswered]
        if pending != expected:
            ctx.hit(
                "pending-tool-calls-wrong",
                index,
                f"pendingToolCallIds is [{listing(pending, show=literal)}], but the unanswered "
                f"calls of this run, in call order, are [{listing(expected, show=literal)}].",
                "/outcome/pendingToolCallIds",
            )
        return
    if not unanswered:
        return
    req = ctx.request
    if req is None:
        ids = listing([c.id for c in unanswered])
        ctx.hit(
            "pending-tool-calls-undeclared",
            index,
            f"The run leaves tool call(s) {ids} unanswered without pendingToolCallIds.",
            "/outcome",
        )
        return
    frontend = [c for c in unanswered if c.name in req.frontend_tools]
    other = [c for c in unanswered if c.name not in req.frontend_tools]
    if frontend:
        ids = listing(frontend, show=lambda c: f"{code(c.id)} ({literal(c.name)})")
        ctx.hit(
            "pending-tool-calls-missing",
            index,
            f"The run leaves frontend tool call(s) {ids} pending without listing them in "
            "pendingToolCallIds.",
            "/outcome",
        )
    for call in other:
        ctx.hit(
            "tool-call-unadvertised-unanswered",
            index,
            f"Tool call `{call.id}` names `{call.name}`, which is not among the frontend tools "
            "the client offered, and the agent did not answer it with TOOL_CALL_RESULT.",
        )


def _interrupts(ctx: Context, outcome: Any, outcome_type: Any, index: int) -> set[str]:
    ids: set[str] = set()
    if outcome_type != "interrupt" or not isinstance(outcome, dict):
        return ids
    interrupts = outcome.get("interrupts")
    if not isinstance(interrupts, list):
        return ids
    req = ctx.request
    run = ctx.run
    for pos, intr in enumerate(interrupts):
        if not isinstance(intr, dict):
            continue
        iid = text(intr.get("id"))
        if iid is not None:
            if iid in ids:
                ctx.hit(
                    "interrupt-id-duplicate",
                    index,
                    f"Interrupt id `{iid}` appears twice on the outcome.",
                    f"/outcome/interrupts/{pos}/id",
                )
            ids.add(iid)
        call_id = text(intr.get("toolCallId"))
        if req is not None and run is not None and call_id is not None:
            call = next((c for c in run.calls if c.id == call_id), None)
            if call is not None and call.name in req.frontend_tools:
                ctx.hit(
                    "frontend-tool-interrupt",
                    index,
                    f"The run ends with an interrupt about frontend tool call `{call_id}` "
                    f"({call.name}); a run stopping on frontend calls finishes as success.",
                    f"/outcome/interrupts/{pos}/toolCallId",
                )
    return ids


def _suspended(
    ctx: Context, run: Run, outcome_type: Any, interrupt_ids: set[str], index: int
) -> None:
    for sid, (at, ids) in run.suspended.items():
        if outcome_type != "interrupt":
            ctx.hit(
                "subagent-suspended-not-interrupted",
                index,
                f"Subagent `{sid}` finished suspended (event {at}) but the run does not end "
                "with an interrupt outcome.",
                "/outcome",
            )
            continue
        missing = [i for i in ids if i not in interrupt_ids]
        if missing:
            ctx.hit(
                "subagent-suspended-not-interrupted",
                index,
                f"Subagent `{sid}` finished suspended on interrupt(s) "
                f"[{listing(missing, show=literal)}] (event {at}) "
                "that the run's interrupt outcome does not carry.",
                "/outcome/interrupts",
            )


def usage(ctx: Context, event: dict[str, Any], index: int) -> None:
    entries = event.get("usage")
    if not isinstance(entries, list):
        return
    seen: dict[tuple[Any, Any], int] = {}
    for pos, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        key = (entry.get("provider"), entry.get("model"))
        if key in seen:
            ctx.hit(
                "usage-duplicate-entry",
                index,
                f"usage has two entries for provider {literal(key[0])} and model "
                f"{literal(key[1])} "
                f"(entries {seen[key]} and {pos}).",
                f"/usage/{pos}",
            )
        else:
            seen[key] = pos
        _usage_sums(ctx, entry, index, pos)


def _count(entry: dict[str, Any], key: str) -> int | None:
    value = entry.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _usage_sums(ctx: Context, entry: dict[str, Any], index: int, pos: int) -> None:
    inp = _count(entry, "inputTokens")
    out = _count(entry, "outputTokens")
    total = _count(entry, "totalTokens")
    problems = []
    if inp is not None and out is not None and total is not None and total != inp + out:
        problems.append(f"totalTokens {total} != inputTokens {inp} + outputTokens {out}")
    cached = _count(entry, "cachedInputTokens")
    written = _count(entry, "cacheWriteInputTokens")
    if inp is not None and (cached is not None or written is not None):
        cache = (cached or 0) + (written or 0)
        if cache > inp:
            problems.append(
                f"cachedInputTokens + cacheWriteInputTokens = {cache} > inputTokens {inp}"
            )
    reasoning = _count(entry, "reasoningTokens")
    if reasoning is not None and out is not None and reasoning > out:
        problems.append(f"reasoningTokens {reasoning} > outputTokens {out}")
    for problem in problems:
        ctx.hit("usage-arithmetic", index, f"usage entry {pos}: {problem}.", f"/usage/{pos}")


def run_error(ctx: Context, event: dict[str, Any], index: int) -> None:
    items.close_all_lanes(ctx, index)
    message = text(event.get("message"))
    if message:
        from agui_conformance.agent_errors import raw_exception  # compiled on first RUN_ERROR

        kind = raw_exception(message)
        if kind is not None:
            ctx.hit(
                "run-error-raw-exception",
                index,
                f"RUN_ERROR.message looks like raw exception text: {kind}.",
                "/message",
            )
    usage(ctx, event, index)
    if ctx.run is not None and ctx.phase == Phase.ACTIVE:
        _release(ctx, ctx.run)  # RUN_ERROR abandons whatever was open


def _release(ctx: Context, run: Run) -> None:
    """Run-scoped tracking does not cross a run boundary (LIFE-022)."""
    for opened in ctx.open_items.values():
        for item in list(opened.values()):
            ctx.set_state(item, ItemState.CLOSED)
    ctx.lanes.clear()
    run.open_steps.clear()
    run.open_spans.clear()
    run.active_subagents.clear()
    for call in run.calls:
        call.args = []  # argument text is only compared within its run
    run.calls = []
    run.streamed_messages = {}


def end_of_stream(ctx: Context, events: int) -> None:
    """Checks that need the whole stream: truncation, the requested run, refs."""
    if ctx.phase == Phase.ACTIVE or (ctx.phase == Phase.BEFORE and events > 0):
        ctx.hit(
            "stream-truncated",
            None,
            "The stream ended without RUN_FINISHED or RUN_ERROR: a truncated run has no outcome.",
        )
    req = ctx.request
    if req is not None and req.run_id is not None and ctx.runs:
        last = ctx.runs[-1]
        if last.run_id is not None and last.run_id != req.run_id:
            where = " (it is not the last run)" if req.run_id in ctx.run_ids else ""
            ctx.hit(
                "identity-run-id-echo",
                last.started_at,
                f"The stream's last run has runId `{last.run_id}`, but the input's runId is "
                f"`{req.run_id}`{where}.",
                "/runId",
            )
    if req is not None and ctx.runs:
        last_number = ctx.runs[-1].number
        for run_number, index, mid in ctx.restreamed:
            if run_number < last_number:
                ctx.hit(
                    "history-restreamed",
                    index,
                    f"A replayed run streams message `{mid}`, which the input already holds; "
                    "restate history with MESSAGES_SNAPSHOT.",
                    "/messageId",
                )
    standalone.check_encrypted_refs(ctx)
