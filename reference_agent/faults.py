"""Fault modes: each breaks exactly one rule of the catalog, and nothing else.

A fault is a pure transformation of a correct run (its events, or how they
are framed on the wire). `agui-conformance serve --fault NAME` applies one to
every run; with `--allow-faults`, the request header `X-AGUI-Fault: NAME`
applies one to that request only. tests/test_reference_agent.py checks that
each fault yields its own rule id and nothing unrelated.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Event = dict[str, Any]
FAULT_HEADER = "X-AGUI-Fault"


@dataclass(frozen=True)
class Fault:
    name: str
    rule: str
    description: str
    events: Callable[[list[Event], dict[str, Any]], list[Event]] | None = None
    framing: str | None = None  # crlf | no-data-prefix | buffered | stall | hang
    #                             | 500-on-bad-input | refuse-resume
    command: str = "hello"  # the user message that exercises it best
    needs_tools: bool = False
    profile: str = "spec"  # the profile under which the rule applies
    also: frozenset[str] = frozenset()  # info notes that explain the same problem
    live: bool = False  # only visible in the live exchange (timing, status): judge with the runner
    case: str = "minimal-input"  # the scenario case that shows a live fault


def _first(events: list[Event], type_: str) -> int:
    return next(i for i, e in enumerate(events) if e["type"] == type_)


def _no_run_started(events: list[Event], _: dict[str, Any]) -> list[Event]:
    return events[1:]


def _double_terminal(events: list[Event], _: dict[str, Any]) -> list[Event]:
    return [*events, copy.deepcopy(events[-1])]


def _content_after_end(events: list[Event], _: dict[str, Any]) -> list[Event]:
    end = _first(events, "TEXT_MESSAGE_END")
    late = {"type": "TEXT_MESSAGE_CONTENT", "messageId": events[end]["messageId"], "delta": "!"}
    return [*events[: end + 1], late, *events[end + 1 :]]


def _wrong_run_id(events: list[Event], _: dict[str, Any]) -> list[Event]:
    out = copy.deepcopy(events)
    for event in out:
        if event["type"] in ("RUN_STARTED", "RUN_FINISHED"):
            event["runId"] = event["runId"] + "-agent"
    return out


def _wrong_thread_id(events: list[Event], _: dict[str, Any]) -> list[Event]:
    out = copy.deepcopy(events)
    for event in out:
        if event["type"] in ("RUN_STARTED", "RUN_FINISHED"):
            event["threadId"] = "agent-minted-thread"
    return out


def _unclosed_message(events: list[Event], _: dict[str, Any]) -> list[Event]:
    return [e for e in events if e["type"] != "TEXT_MESSAGE_END"]


def _unclosed_tool_call(events: list[Event], _: dict[str, Any]) -> list[Event]:
    return [e for e in events if e["type"] != "TOOL_CALL_END"]


def _patch_ignores_input_state(events: list[Event], _: dict[str, Any]) -> list[Event]:
    out = copy.deepcopy(events)
    delta = out[_first(out, "STATE_DELTA")]
    delta["delta"] = [{"op": "replace", "path": "/missing/counter", "value": 1}]
    return out


def _bad_patch(events: list[Event], _: dict[str, Any]) -> list[Event]:
    out = copy.deepcopy(events)
    snap = _first(out, "STATE_SNAPSHOT")
    later = next(i for i in range(snap + 1, len(out)) if out[i]["type"] == "STATE_DELTA")
    out[later]["delta"] = [{"op": "remove", "path": "/not-there"}]
    return out


def _snake_case(events: list[Event], _: dict[str, Any]) -> list[Event]:
    out = copy.deepcopy(events)
    start = out[0]
    start["thread_id"] = start.pop("threadId")
    return out


def _missing_from_snapshot(events: list[Event], _: dict[str, Any]) -> list[Event]:
    out = copy.deepcopy(events)
    snap = out[_first(out, "MESSAGES_SNAPSHOT")]
    snap["messages"] = [m for m in snap["messages"] if m.get("role") != "assistant"]
    return out


def _tool_args_dropped(events: list[Event], run_input: dict[str, Any]) -> list[Event]:
    out = [e for e in events if e["type"] != "TOOL_CALL_ARGS"]
    start = out[_first(out, "TOOL_CALL_START")]
    args = "".join(e["delta"] for e in events if e["type"] == "TOOL_CALL_ARGS")
    snapshot = {
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
    result = _first(out, "TOOL_CALL_RESULT")
    return [*out[:result], snapshot, *out[result:]]


def _answers_frontend_tool(events: list[Event], _: dict[str, Any]) -> list[Event]:
    out = copy.deepcopy(events)
    end = _first(out, "TOOL_CALL_END")
    call_id = out[end]["toolCallId"]
    result = {
        "type": "TOOL_CALL_RESULT",
        "messageId": f"fabricated-{call_id}",
        "toolCallId": call_id,
        "content": "done",
    }
    out.insert(end + 1, result)
    out[-1]["outcome"] = {"type": "success"}
    return out


def _raw_exception(events: list[Event], _: dict[str, Any]) -> list[Event]:
    """The run ends in RUN_ERROR carrying a Python traceback (a run that would have
    finished crashes instead; one that already errs leaks its traceback)."""
    out = copy.deepcopy(events)
    traceback = (
        'Traceback (most recent call last):\n  File "agent.py", line 42, in run\n'
        "KeyError: 'messages'"
    )
    if out[-1]["type"] == "RUN_ERROR":
        out[-1]["message"] = traceback
    else:
        out[-1] = {"type": "RUN_ERROR", "message": traceback, "code": "internal"}
    return out


def _no_protocol_version(events: list[Event], _: dict[str, Any]) -> list[Event]:
    out = copy.deepcopy(events)
    del out[0]["protocolVersion"]
    return out


def _null_optional(events: list[Event], _: dict[str, Any]) -> list[Event]:
    out = copy.deepcopy(events)
    out[_first(out, "TEXT_MESSAGE_START")]["name"] = None
    return out


def _nested_run(events: list[Event], _: dict[str, Any]) -> list[Event]:
    return [events[0], copy.deepcopy(events[0]), *events[1:]]


def _unknown_event(events: list[Event], _: dict[str, Any]) -> list[Event]:
    return [events[0], {"type": "AGENT_THINKING", "status": "busy"}, *events[1:]]


def _unclosed_step(events: list[Event], _: dict[str, Any]) -> list[Event]:
    return [events[0], {"type": "STEP_STARTED", "stepName": "forgotten"}, *events[1:]]


def _pending_wrong(events: list[Event], _: dict[str, Any]) -> list[Event]:
    out = copy.deepcopy(events)
    out[-1]["outcome"] = {"type": "success", "pendingToolCallIds": ["never-made"]}
    return out


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
    ]
}


def apply(fault: Fault | None, events: list[Event], run_input: dict[str, Any]) -> list[Event]:
    if fault is None or fault.events is None:
        return events
    try:
        return fault.events(events, run_input)
    except (StopIteration, KeyError, IndexError):
        return events  # nothing here for this fault to break (e.g. no tool call): serve as is
