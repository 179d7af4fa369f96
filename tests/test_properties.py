"""Properties: the validator never raises, and legal streams draw nothing."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agui_conformance import validate_events, validate_payloads
from agui_conformance.recording import NotARecording
from agui_conformance.validator import validate_recording
from tests.stream_model import valid_streams

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
EVENT_TYPES = [
    "RUN_STARTED",
    "RUN_FINISHED",
    "RUN_ERROR",
    "TEXT_MESSAGE_START",
    "TEXT_MESSAGE_CONTENT",
    "TEXT_MESSAGE_END",
    "TEXT_MESSAGE_CHUNK",
    "TOOL_CALL_START",
    "TOOL_CALL_ARGS",
    "TOOL_CALL_END",
    "TOOL_CALL_CHUNK",
    "TOOL_CALL_RESULT",
    "STATE_SNAPSHOT",
    "STATE_DELTA",
    "MESSAGES_SNAPSHOT",
    "ACTIVITY_SNAPSHOT",
    "ACTIVITY_DELTA",
    "RAW",
    "CUSTOM",
    "STEP_STARTED",
    "STEP_FINISHED",
    "REASONING_START",
    "REASONING_MESSAGE_START",
    "REASONING_MESSAGE_CONTENT",
    "REASONING_MESSAGE_END",
    "REASONING_MESSAGE_CHUNK",
    "REASONING_END",
    "REASONING_ENCRYPTED_VALUE",
    "SUBAGENT_STARTED",
    "SUBAGENT_FINISHED",
    "SUBAGENT_ERROR",
]
KEYS = [
    "messageId",
    "toolCallId",
    "toolCallName",
    "delta",
    "role",
    "subagentRunId",
    "runId",
    "threadId",
    "outcome",
    "snapshot",
    "patch",
    "content",
    "stepName",
    "messages",
    "name",
]
# Event-shaped objects with hostile field values reach deep into the machine.
eventish = st.builds(
    lambda t, fields: {"type": t, **fields},
    st.sampled_from(EVENT_TYPES),
    st.dictionaries(
        st.sampled_from(KEYS), json_values | st.sampled_from(["m1", "c1", "s1"]), max_size=5
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_values | eventish, max_size=25), json_values)
def test_arbitrary_json_never_raises(events: list[object], request: object) -> None:
    result = validate_events(events, request=request if isinstance(request, dict) else None)
    assert result.events == len(events)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=60), max_size=10))
def test_arbitrary_payload_bytes_never_raise(payloads: list[bytes]) -> None:
    validate_payloads(payloads)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["auto", "sse", "jsonl", "json"]))
def test_arbitrary_recording_bytes_never_raise(raw: bytes, fmt: str) -> None:
    """Any bytes are judged, or refused as not a recording (binary data: the CLI's exit
    2); nothing else is raised."""
    with contextlib.suppress(NotARecording):
        validate_recording(raw, fmt=fmt)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_streams())
def test_streams_from_the_protocol_model_draw_no_findings(events: list[dict[str, object]]) -> None:
    result = validate_events(events)
    assert not result.findings, result.findings


def test_deeply_nested_value_is_a_finding_not_a_crash() -> None:
    deep: object = "x"
    for _ in range(5000):
        deep = [deep]
    events = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
        {"type": "CUSTOM", "name": "com.example.deep", "value": deep},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]
    validate_events(events)


def test_huge_string_is_validated() -> None:
    events = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
        {"type": "TEXT_MESSAGE_CHUNK", "messageId": "m", "delta": "x" * 5_000_000},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]
    assert not validate_events(events).findings
