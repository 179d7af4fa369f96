"""The client-side reconstruction of a stream (follow-up inputs, the report's assembled view)."""

from __future__ import annotations

from agui_conformance.cases import assistant_messages


def test_text_and_tool_calls_in_both_spellings() -> None:
    events = [
        {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "Hel"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "lo"},
        {"type": "TEXT_MESSAGE_END", "messageId": "m1"},
        {
            "type": "TOOL_CALL_START",
            "toolCallId": "c1",
            "toolCallName": "f",
            "parentMessageId": "m1",
        },
        {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": '{"a":'},
        {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": "1}"},
        {"type": "TOOL_CALL_END", "toolCallId": "c1"},
        # a chunked call: the id on every chunk, the name on the first only
        {"type": "TOOL_CALL_CHUNK", "toolCallId": "c2", "toolCallName": "g", "delta": '{"b"'},
        {"type": "TOOL_CALL_CHUNK", "toolCallId": "c2", "delta": ":2}"},
        {"type": "TOOL_CALL_CHUNK", "delta": ""},
        {"type": "TOOL_CALL_RESULT", "messageId": "t1", "toolCallId": "c1", "content": "ok"},
    ]
    m1, other, tool = assistant_messages(events)
    assert m1["content"] == "Hello"
    assert m1["toolCalls"][0]["function"] == {"name": "f", "arguments": '{"a":1}'}
    assert other["toolCalls"][0]["function"] == {"name": "g", "arguments": '{"b":2}'}
    assert "content" not in other
    assert tool == {"id": "t1", "role": "tool", "toolCallId": "c1", "content": "ok"}


def test_hostile_ids_and_deltas_are_ignored_not_raised() -> None:
    events = [
        {"type": "TEXT_MESSAGE_START", "messageId": ["not", "hashable"]},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": {"x": 1}, "delta": 5},
        {"type": "TOOL_CALL_ARGS", "toolCallId": [], "delta": None},
        {"type": "TOOL_CALL_START", "toolCallId": "c", "toolCallName": 7},
        {"type": "TOOL_CALL_ARGS", "toolCallId": "c", "delta": {"no": "string"}},
    ]
    (message,) = assistant_messages(events)
    assert message["toolCalls"][0]["function"] == {"name": "", "arguments": ""}
