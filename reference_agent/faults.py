"""Fault modes: each breaks exactly one rule of the catalog, and nothing else.

A fault is a pure transformation of a correct run (its events, as a stream
read once, or how they are framed on the wire). `agui-conformance serve --fault NAME` applies one to
every run; with `--allow-faults`, the request header `X-AGUI-Fault: NAME`
applies one to that request only. tests/test_reference_agent.py checks that
each fault yields its own rule id and nothing unrelated.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

Event = dict[str, Any]
FAULT_HEADER = "X-AGUI-Fault"


@dataclass(frozen=True)
class Fault:
    name: str
    rule: str
    description: str
    events: Callable[[Iterator[Event], dict[str, Any]], Iterator[Event]] | None = None
    framing: str | None = None  # crlf | no-data-prefix | buffered | stall | hang
    #                             | 500-on-bad-input | refuse-resume | proto-* (binary.py)
    command: str = "hello"  # the user message that exercises it best
    needs_tools: bool = False
    profile: str = "spec"  # the profile under which the rule applies
    also: frozenset[str] = frozenset()  # info notes that explain the same problem
    live: bool = False  # only visible in the live exchange (timing, status): judge with the runner
    case: str = "minimal-input"  # the scenario case that shows a live fault
    options: tuple[str, ...] = ()  # `run` options that case needs (an opt-in check)


def _first(
    events: Iterator[Event], wanted: Callable[[Event], bool], change: Callable[[Event], Event]
) -> Iterator[Event]:
    """The stream with its first event matching `wanted` changed (on a copy)."""
    for event in events:
        if wanted(event):
            yield change(copy.deepcopy(event))
            yield from events
            return
        yield event


def _after_first(
    events: Iterator[Event], wanted: Callable[[Event], bool], extra: Callable[[Event], Event]
) -> Iterator[Event]:
    """The stream with `extra(e)` inserted after its first event `e` matching `wanted`."""
    for event in events:
        yield event
        if wanted(event):
            yield extra(event)
            yield from events
            return


def _last(events: Iterator[Event], change: Callable[[Event], Event]) -> Iterator[Event]:
    """The stream with its last event changed (on a copy): one event held back."""
    held: Event | None = None
    for event in events:
        if held is not None:
            yield held
        held = event
    if held is not None:
        yield change(copy.deepcopy(held))


def _is(type_: str) -> Callable[[Event], bool]:
    return lambda event: str(event["type"]) == type_


def _any(_: Event) -> bool:
    return True


def _no_run_started(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    next(events, None)
    yield from events


def _double_terminal(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    last: Event | None = None
    for last in events:
        yield last
    if last is not None:
        yield copy.deepcopy(last)


def _content_after_end(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    def late(end: Event) -> Event:
        return {"type": "TEXT_MESSAGE_CONTENT", "messageId": end["messageId"], "delta": "!"}

    return _after_first(events, _is("TEXT_MESSAGE_END"), late)


def _renamed(key: str, value: Callable[[Any], Any]) -> Callable[[Event], Event]:
    def change(event: Event) -> Event:
        if event["type"] in ("RUN_STARTED", "RUN_FINISHED") and key in event:
            return {**event, key: value(event[key])}
        return event

    return change


def _wrong_run_id(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    return map(_renamed("runId", lambda run_id: f"{run_id}-agent"), events)


def _wrong_thread_id(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    return map(_renamed("threadId", lambda _: "agent-minted-thread"), events)


def _unclosed_message(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    return (e for e in events if e["type"] != "TEXT_MESSAGE_END")


def _unclosed_tool_call(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    return (e for e in events if e["type"] != "TOOL_CALL_END")


def _patch_ignores_input_state(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    def change(delta: Event) -> Event:
        return {**delta, "delta": [{"op": "replace", "path": "/missing/counter", "value": 1}]}

    return _first(events, _is("STATE_DELTA"), change)


def _bad_patch(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    snapshot = False

    def later_delta(event: Event) -> bool:
        nonlocal snapshot
        kind = str(event["type"])
        snapshot = snapshot or kind == "STATE_SNAPSHOT"
        return snapshot and kind == "STATE_DELTA"

    def change(delta: Event) -> Event:
        return {**delta, "delta": [{"op": "remove", "path": "/not-there"}]}

    return _first(events, later_delta, change)


def _snake_case(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    def change(start: Event) -> Event:
        if "threadId" in start:
            start["thread_id"] = start.pop("threadId")
        return start

    return _first(events, _any, change)


def _missing_from_snapshot(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    def change(snap: Event) -> Event:
        snap["messages"] = [m for m in snap["messages"] if m.get("role") != "assistant"]
        return snap

    return _first(events, _is("MESSAGES_SNAPSHOT"), change)


HOLD_LIMIT = 1000  # events held back between a tool call's start and its result


def _tool_args_dropped(events: Iterator[Event], run_input: dict[str, Any]) -> Iterator[Event]:
    """No TOOL_CALL_ARGS; a MESSAGES_SNAPSHOT carrying the arguments before the result.

    From the first TOOL_CALL_START to the first TOOL_CALL_RESULT the events are
    held back (at most HOLD_LIMIT); without a result they go out unchanged."""
    held: list[Event] = []
    for event in events:
        if not held and event["type"] != "TOOL_CALL_START":
            yield event
            continue
        if event["type"] != "TOOL_CALL_RESULT":
            held.append(event)
            if len(held) > HOLD_LIMIT:
                break
            continue
        yield from (e for e in held if e["type"] != "TOOL_CALL_ARGS")
        yield _snapshot_with_args(held, run_input)
        yield event
        yield from (e for e in events if e["type"] != "TOOL_CALL_ARGS")
        return
    yield from held
    yield from events


def _snapshot_with_args(held: list[Event], run_input: dict[str, Any]) -> Event:
    start = held[0]
    args = "".join(e["delta"] for e in held if e["type"] == "TOOL_CALL_ARGS")
    return {
        "type": "MESSAGES_SNAPSHOT",
        "messages": [
            *[m for m in run_input.get("messages", []) if m.get("role") != "activity"],
            {
                "id": start["parentMessageId"],
                "role": "assistant",
                "content": "Looking that up.",
                "toolCalls": [
                    {
                        "id": start["toolCallId"],
                        "type": "function",
                        "function": {"name": start["toolCallName"], "arguments": args},
                    }
                ],
            },
        ],
    }


def _answers_frontend_tool(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    answered = False

    def result(end: Event) -> Event:
        nonlocal answered
        answered = True
        return {
            "type": "TOOL_CALL_RESULT",
            "messageId": f"fabricated-{end['toolCallId']}",
            "toolCallId": end["toolCallId"],
            "content": "done",
        }

    def change(last: Event) -> Event:
        return {**last, "outcome": {"type": "success"}} if answered else last

    return _last(_after_first(events, _is("TOOL_CALL_END"), result), change)


def _raw_exception(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    """The run ends in RUN_ERROR carrying a Python traceback (a run that would have
    finished crashes instead; one that already errs leaks its traceback)."""
    traceback = (
        'Traceback (most recent call last):\n  File "agent.py", line 42, in run\n'
        "KeyError: 'messages'"
    )

    def change(last: Event) -> Event:
        if last["type"] == "RUN_ERROR":
            return {**last, "message": traceback}
        return {"type": "RUN_ERROR", "message": traceback, "code": "internal"}

    return _last(events, change)


def _no_protocol_version(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    def change(start: Event) -> Event:
        start.pop("protocolVersion", None)
        return start

    return _first(events, _any, change)


def _null_optional(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    return _first(events, _is("TEXT_MESSAGE_START"), lambda start: {**start, "name": None})


def _nested_run(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    return _after_first(events, _any, copy.deepcopy)


def _unknown_event(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    return _after_first(events, _any, lambda _: {"type": "AGENT_THINKING", "status": "busy"})


def _unclosed_step(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    return _after_first(events, _any, lambda _: {"type": "STEP_STARTED", "stepName": "forgotten"})


def _pending_wrong(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    def change(last: Event) -> Event:
        return {**last, "outcome": {"type": "success", "pendingToolCallIds": ["never-made"]}}

    return _last(events, change)


# ------------------------------------------------------------------ behaviour faults
# What real stacks get wrong across runs: each keeps something in process memory that
# belongs in the run input. Their state is this process's, guarded by one lock.

_LOCK = threading.Lock()
REMEMBERED = 1000  # threads whose frontend calls are remembered; notes in working memory
_PAUSED: dict[str, set[str]] = {}  # thread -> the frontend calls this process made there
_MEMORY: list[str] = []  # "working memory": the last user message of every run, any thread
_BUSY: dict[str, int] = {}  # thread -> its runs streaming now


def _last_user(run_input: dict[str, Any]) -> list[dict[str, Any]]:
    users = [m for m in run_input.get("messages") or [] if isinstance(m, dict)]
    return [m for m in users if m.get("role") == "user"][-1:]


def _failed(events: Iterator[Event], message: str, code: str) -> Iterator[Event]:
    """RUN_STARTED, then RUN_ERROR: the run fails before doing anything."""
    started = next(events, None)
    if started is not None:
        yield started
    yield {"type": "RUN_ERROR", "message": message, "code": code}


def _continuation_in_memory(events: Iterator[Event], run_input: dict[str, Any]) -> Iterator[Event]:
    """Keeps the frontend calls it made in process memory, per thread, and fails a tool
    result for a call it does not hold (a restart, another replica, a rebuilt history)."""
    thread = str(run_input.get("threadId"))
    messages = [m for m in run_input.get("messages") or [] if isinstance(m, dict)]
    if messages and messages[-1].get("role") == "tool":
        with _LOCK:
            held = messages[-1].get("toolCallId") in _PAUSED.get(thread, ())
        if not held:
            yield from _failed(events, "No paused run holds this tool call.", "session_not_found")
            return
    for event in events:
        if event["type"] == "TOOL_CALL_START" and isinstance(event.get("toolCallId"), str):
            with _LOCK:
                _PAUSED.setdefault(thread, set()).add(event["toolCallId"])
                while len(_PAUSED) > REMEMBERED:
                    del _PAUSED[next(iter(_PAUSED))]
        yield event


def _shared_memory(events: Iterator[Event], run_input: dict[str, Any]) -> Iterator[Event]:
    """A "working memory" kept per process, not per thread: every run's last user message
    goes in, and every STATE_SNAPSHOT carries it all, whichever thread wrote it."""
    note = next((m.get("content") for m in _last_user(run_input)), None)
    with _LOCK:
        if isinstance(note, str) and note:
            _MEMORY.append(note)
            del _MEMORY[:-REMEMBERED]
    for event in events:
        if event["type"] == "STATE_SNAPSHOT" and isinstance(event.get("snapshot"), dict):
            with _LOCK:
                memory = list(_MEMORY[-20:])
            event = {**event, "snapshot": {**event["snapshot"], "workingMemory": memory}}
        yield event


def _objectified(value: Any) -> Any:
    if isinstance(value, list):
        return {str(i): _objectified(v) for i, v in enumerate(value)}
    if isinstance(value, dict):
        return {k: _objectified(v) for k, v in value.items()}
    return value


def _array_to_object(events: Iterator[Event], _: dict[str, Any]) -> Iterator[Event]:
    """State through an object model: every array in a STATE_SNAPSHOT becomes an object
    keyed by index (`["a","b"]` -> `{"0":"a","1":"b"}`)."""
    for event in events:
        if event["type"] == "STATE_SNAPSHOT" and "snapshot" in event:
            event = {**event, "snapshot": _objectified(event["snapshot"])}
        yield event


def _busy_empty(events: Iterator[Event], run_input: dict[str, Any]) -> Iterator[Event]:
    """A run arriving while another run of its thread streams gets a 200 event stream
    that ends with no event (the runtime drops it silently)."""
    thread = str(run_input.get("threadId"))
    with _LOCK:
        if _BUSY.get(thread):
            return
        _BUSY[thread] = _BUSY.get(thread, 0) + 1
    try:
        yield from events
    finally:
        with _LOCK:
            _BUSY[thread] -= 1
            if not _BUSY[thread]:
                del _BUSY[thread]


def _empty_history_error(events: Iterator[Event], run_input: dict[str, Any]) -> Iterator[Event]:
    """Reads the last user message unguarded: an empty history fails the run."""
    if run_input.get("messages"):
        yield from events
        return
    yield from _failed(events, "There is no user message to answer.", "empty_history")


def _drops_history(events: Iterator[Event], run_input: dict[str, Any]) -> Iterator[Event]:
    """Passes only the last user message to its model: the run is planned again from it."""
    from reference_agent import behaviours

    return iter(behaviours.plan({**run_input, "messages": _last_user(run_input)}).events)


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in [
        Fault("no-run-started", "lifecycle-first-event", "omit RUN_STARTED", _no_run_started),
        Fault(
            "double-terminal",
            "lifecycle-event-after-finish",
            "send RUN_FINISHED twice",
            _double_terminal,
        ),
        Fault(
            "content-after-end",
            "item-not-open",
            "TEXT_MESSAGE_CONTENT after TEXT_MESSAGE_END",
            _content_after_end,
        ),
        Fault(
            "wrong-run-id", "identity-run-id-echo", "answer with a runId of its own", _wrong_run_id
        ),
        Fault(
            "wrong-thread-id",
            "identity-thread-id-echo",
            "answer with a threadId of its own",
            _wrong_thread_id,
        ),
        Fault(
            "unclosed-message",
            "item-open-at-finish",
            "never send TEXT_MESSAGE_END",
            _unclosed_message,
        ),
        Fault(
            "unclosed-tool-call",
            "item-open-at-finish",
            "never send TOOL_CALL_END",
            _unclosed_tool_call,
            command="tool",
            needs_tools=True,
        ),
        Fault(
            "patch-ignores-input-state",
            "state-delta-input-baseline",
            "first delta computed against a state the client never sent",
            _patch_ignores_input_state,
            command="state",
        ),
        Fault(
            "non-applying-patch",
            "state-delta-not-applicable",
            "a delta after the snapshot that does not apply",
            _bad_patch,
            command="state",
        ),
        Fault("snake-case-keys", "snake-case-key", "RUN_STARTED with thread_id", _snake_case),
        Fault(
            "streamed-id-missing-from-snapshot",
            "snapshot-missing-streamed-id",
            "MESSAGES_SNAPSHOT omits the streamed reply",
            _missing_from_snapshot,
            command="messages",
        ),
        Fault(
            "tool-args-dropped",
            "snapshot-tool-args-differ",
            "stream a tool call without TOOL_CALL_ARGS; the snapshot has the arguments",
            _tool_args_dropped,
            command="backend",
        ),
        Fault(
            "answers-frontend-tool",
            "frontend-tool-answered",
            "answer its own call to a frontend tool",
            _answers_frontend_tool,
            command="tool",
            needs_tools=True,
        ),
        Fault(
            "raw-exception",
            "run-error-raw-exception",
            "a traceback in RUN_ERROR.message",
            _raw_exception,
            command="error",
        ),
        Fault(
            "no-protocol-version",
            "version-missing",
            "RUN_STARTED without protocolVersion",
            _no_protocol_version,
        ),
        Fault(
            "null-optional",
            "schema-null-optional",
            "send `name: null` on TEXT_MESSAGE_START",
            _null_optional,
        ),
        Fault("nested-run", "lifecycle-nested-run", "RUN_STARTED twice", _nested_run),
        Fault("unknown-event", "event-type-unknown", "an invented event type", _unknown_event),
        Fault("unclosed-step", "step-open-at-finish", "a step never finished", _unclosed_step),
        Fault(
            "pending-wrong",
            "pending-tool-calls-wrong",
            "pendingToolCallIds names a call never made",
            _pending_wrong,
        ),
        Fault("crlf", "sse-line-ending", "frame SSE with CRLF line endings", framing="crlf"),
        Fault(
            "buffered",
            "transport-buffered",
            "hold every event back and send them in one burst at the end",
            framing="buffered",
            profile="cometchat",
            live=True,
        ),
        Fault(
            "stall-before-first-byte",
            "agent-unresponsive",
            "answer nothing for 45 s (longer than the first-byte deadline)",
            framing="stall",
            live=True,
        ),
        Fault(
            "hang",
            "agent-unresponsive",
            "send RUN_STARTED, then nothing for 45 s (longer than the idle deadline), then close",
            framing="hang",
            live=True,
        ),
        Fault(
            "500-on-bad-input",
            "input-rejection-5xx",
            "answer invalid input with 500 instead of a 4xx",
            framing="500-on-bad-input",
            live=True,
            case="probe-malformed-json",
        ),
        Fault(
            "refuses-unknown-resume",
            "resume-unknown-interrupt-refused",
            "answer 422 to a resume list naming an interrupt it never raised",
            framing="refuse-resume",
            live=True,
            case="resume-unknown-interrupt",
        ),
        Fault(
            "missing-data-prefix",
            "sse-missing-data-prefix",
            "send one extra event without the `data:` prefix",
            framing="no-data-prefix",
        ),
        Fault(
            "continuation-in-memory",
            "stateless-continuation-refused",
            "keep frontend calls in process memory; RUN_ERROR for a tool result it did not hold",
            _continuation_in_memory,
            live=True,
            case="stateless-continuation",
        ),
        Fault(
            "shared-memory",
            "thread-state-leaked",
            "a working memory shared by every thread, restated in each STATE_SNAPSHOT",
            _shared_memory,
            command="state",
            live=True,
            case="thread-isolation-sequential",
        ),
        Fault(
            "array-to-object",
            "state-type-changed",
            "every array in a STATE_SNAPSHOT becomes an object keyed by index",
            _array_to_object,
            command="state",
            live=True,
            case="state-json-types-array",
        ),
        Fault(
            "busy-empty-200",
            "overlapping-run-unanswered",
            "answer a run on a thread whose run still streams with an empty 200 event stream",
            _busy_empty,
            live=True,
            case="overlapping-runs",
        ),
        Fault(
            "empty-history-error",
            "empty-history-run-error",
            "RUN_ERROR for an input with `messages: []`",
            _empty_history_error,
            live=True,
            case="empty-history",
        ),
        Fault(
            "drops-history",
            "history-not-honoured",
            "answer from the last user message only, as if the history were not sent",
            _drops_history,
            live=True,
            case="history-honoured",
            options=("--behaviour",),
        ),
        # The HTTP + Protobuf binding (reference_agent.binary): judged on protobuf runs
        Fault(
            "proto-to-sse-client",
            "proto-not-admitted",
            "answer protobuf to every request, `Accept: text/event-stream` included",
            framing="proto-to-sse-client",
            live=True,
        ),
        Fault(
            "proto-wrong-content-type",
            "proto-content-type-inexact",
            "send protobuf frames under Content-Type application/x-protobuf",
            framing="proto-wrong-content-type",
            live=True,
            options=("--binding", "protobuf"),
        ),
        Fault(
            "proto-little-endian",
            "proto-frame-undecodable",
            "write each frame's length header little-endian (a 40-byte frame declares 640 MiB)",
            framing="proto-little-endian",
            live=True,
            options=("--binding", "protobuf"),
        ),
        Fault(
            "proto-undecodable-frame",
            "proto-frame-undecodable",
            "send the second frame's message as bytes no protobuf message parses",
            framing="proto-undecodable-frame",
            live=True,
            options=("--binding", "protobuf"),
        ),
        Fault(
            "proto-truncated",
            "stream-truncated",
            "end the body inside the last frame (its last 3 bytes never sent)",
            framing="proto-truncated",
            live=True,
            options=("--binding", "protobuf"),
        ),
        Fault(
            "proto-named-only",
            "proto-not-served",
            "answer protobuf only when Accept names its media type (*/* and application/* get SSE)",
            framing="proto-named-only",
            live=True,
            case="binding-negotiation",
        ),
        Fault(
            "proto-extra-step",
            "proto-binding-differs",
            "wrap the run in a step on the protobuf binding only",
            framing="proto-extra-step",
            live=True,
            options=("--binding", "both"),
        ),
    ]
}


def apply(
    fault: Fault | None, events: Iterable[Event], run_input: dict[str, Any]
) -> Iterator[Event]:
    """`events` as `fault` breaks them, made as they are read (nothing is listed up front:
    a fault holds back at most one event, or HOLD_LIMIT around a tool result). Where
    the stream has nothing for the fault to break (e.g. no tool call), it goes as is."""
    if fault is None or fault.events is None:
        return iter(events)
    return fault.events(iter(events), run_input)
