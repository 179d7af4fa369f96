"""The schema checker: every rule it owns, valid shapes of all 31 events, hostile input.

Each violation test sends the smallest event that breaks exactly one rule and
asserts the rule id *and* the JSON pointer, so a hit for an unrelated reason
cannot pass as coverage. The corpus tests compare our verdicts with the
official schema's on every event and input of the official corpus.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import timeit
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from agui_conformance.hits import Hit
from agui_conformance.schema import SchemaChecker, get_checker, schema_dir
from agui_conformance.schema_kinds import kind_of
from tests.shared_data import shared_path, shared_root

CHECKER = get_checker()

# ------------------------------------------------------------------ valid events

PNG = "iVBORw0KGgo="
ALL_PARTS: list[dict[str, Any]] = [
    {"type": "text", "text": "look", "id": "p0", "metadata": {"source": "search"}},
    {"type": "image", "source": {"type": "data", "value": PNG, "mimeType": "image/png"}},
    {"type": "audio", "source": {"type": "url", "value": "https://x.test/a.mp3"}, "id": "p2"},
    {
        "type": "video",
        "source": {"type": "url", "value": "https://x.test/v", "mimeType": "video/mp4"},
    },
    {
        "type": "document",
        "source": {
            "type": "file",
            "value": "file-abc",
            "provider": "openai",
            "mimeType": "application/pdf",
        },
        "metadata": 7,
    },
]
ALL_MESSAGES: list[dict[str, Any]] = [
    {"id": "d1", "role": "developer", "content": "be brief", "name": "dev"},
    {"id": "s1", "role": "system", "content": "you are helpful", "metadata": {"k": None}},
    {
        "id": "a1",
        "role": "assistant",
        "toolCalls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "search", "arguments": '{"q":"x"}'},
                "encryptedValue": "enc",
                "encryptedValueType": "openai.encrypted_content",
                "metadata": {"a": 1},
            }
        ],
        "subagentRunId": "sub1",
    },
    {"id": "u1", "role": "user", "content": ALL_PARTS, "name": "ana"},
    {"id": "u2", "role": "user", "content": "hello"},
    {"id": "t1", "role": "tool", "content": ALL_PARTS[:2], "toolCallId": "c1", "error": "partial"},
    {"id": "t2", "role": "tool", "content": "42", "toolCallId": "c2"},
    {
        "id": "act1",
        "role": "activity",
        "activityType": "search",
        "content": {"found": 3, "x": None},
    },
    {"id": "r1", "role": "reasoning", "content": "", "encryptedValue": "opaque"},
    {"id": "a2", "role": "assistant", "content": "done", "encryptedValueType": "x.y"},
]
FULL_INPUT: dict[str, Any] = {
    "threadId": "t1",
    "runId": "r1",
    "protocolVersion": "1.1",
    "parentRunId": "r0",
    "state": {"count": 1},
    "messages": ALL_MESSAGES,
    "tools": [
        {"name": "search", "description": "web search", "parameters": {"type": "object"}},
        {"name": "noop", "description": "no arguments", "metadata": {"ui": "hidden"}},
    ],
    "context": [{"description": "locale", "value": "de-DE"}],
    "forwardedProps": [1, 2],
    "resume": [
        {"interruptId": "i1", "status": "resolved", "payload": {"ok": True}, "metadata": {}},
        {"interruptId": "i2", "status": "cancelled"},
    ],
}
INTERRUPT = {
    "id": "i1",
    "reason": "approval",
    "message": "Delete 3 files?",
    "toolCallId": "c1",
    "responseSchema": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
    "expiresAt": "2026-01-01T00:00:00Z",
    "metadata": {"k": 1},
    "subagentRunId": "sub1",
}
USAGE = {
    "provider": "openai",
    "model": "gpt-4o",
    "inputTokens": 10,
    "outputTokens": 5,
    "totalTokens": 15,
    "reasoningTokens": 2,
    "cachedInputTokens": 3,
    "cacheWriteInputTokens": 0,
}
COMMON = {"timestamp": 1732492800000, "rawEvent": {"provider": "x"}, "metadata": {"k": None}}

VALID_EVENTS: list[dict[str, Any]] = [
    {"type": "TEXT_MESSAGE_START", "messageId": "m1"},
    {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "user", "name": "ana", **COMMON},
    {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": ""},
    {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "hi", "subagentRunId": "s1"},
    {"type": "TEXT_MESSAGE_END", "messageId": "m1", "metadata": {"k": None}},
    {"type": "TEXT_MESSAGE_CHUNK"},
    {
        "type": "TEXT_MESSAGE_CHUNK",
        "messageId": "m1",
        "role": "assistant",
        "delta": "x",
        "name": "n",
    },
    {
        "type": "TOOL_CALL_START",
        "toolCallId": "c1",
        "toolCallName": "search",
        "parentMessageId": "m1",
    },
    {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": '{"q":'},
    {"type": "TOOL_CALL_END", "toolCallId": "c1"},
    {"type": "TOOL_CALL_CHUNK"},
    {
        "type": "TOOL_CALL_CHUNK",
        "toolCallId": "c1",
        "toolCallName": "s",
        "parentMessageId": "m",
        "delta": "",
    },
    {"type": "TOOL_CALL_RESULT", "messageId": "tr1", "toolCallId": "c1", "content": "ok"},
    {
        "type": "TOOL_CALL_RESULT",
        "messageId": "tr1",
        "toolCallId": "c1",
        "content": ALL_PARTS,
        "role": "tool",
    },
    {"type": "TOOL_CALL_RESULT", "messageId": "tr1", "toolCallId": "c1", "content": []},
    {"type": "STATE_SNAPSHOT", "snapshot": {"a": 1}},
    {"type": "STATE_SNAPSHOT", "snapshot": None},
    {"type": "STATE_SNAPSHOT", "snapshot": 0},
    {"type": "STATE_SNAPSHOT", "snapshot": [1, "x"]},
    {"type": "STATE_DELTA", "delta": []},
    {
        "type": "STATE_DELTA",
        "delta": [
            {"op": "add", "path": "/a", "value": None},
            {"op": "remove", "path": "/b", "value": "leftover member is legal (RFC 6902 §4)"},
            {"op": "replace", "path": "", "value": {}},
            {"op": "move", "from": "/a", "path": "/c~1d"},
            {"op": "copy", "from": "/c~0", "path": "/e", "comment": "extra"},
            {"op": "test", "path": "/e", "value": 1},
        ],
    },
    {"type": "MESSAGES_SNAPSHOT", "messages": []},
    {"type": "MESSAGES_SNAPSHOT", "messages": ALL_MESSAGES, **COMMON},
    {"type": "ACTIVITY_SNAPSHOT", "messageId": "a1", "activityType": "search", "content": {}},
    {
        "type": "ACTIVITY_SNAPSHOT",
        "messageId": "a1",
        "activityType": "s",
        "content": {"x": [1]},
        "replace": False,
    },
    {
        "type": "ACTIVITY_DELTA",
        "messageId": "a1",
        "activityType": "s",
        "patch": [{"op": "add", "path": "/x", "value": 2}],
    },
    {"type": "RAW", "event": None},
    {"type": "RAW", "event": {"any": "thing"}, "source": "openai"},
    {"type": "CUSTOM", "name": "com.example.x", "value": None},
    {"type": "CUSTOM", "name": "com.example.x", "value": [1, {"a": None}]},
    {"type": "RUN_STARTED", "threadId": "t1", "runId": "r1"},
    {
        "type": "RUN_STARTED",
        "threadId": "t1",
        "runId": "r1",
        "protocolVersion": "1.1",
        "parentRunId": "r0",
        "input": FULL_INPUT,
        **COMMON,
    },
    {"type": "RUN_FINISHED", "threadId": "t1", "runId": "r1"},
    {
        "type": "RUN_FINISHED",
        "threadId": "t1",
        "runId": "r1",
        "result": 0,
        "outcome": {"type": "success", "pendingToolCallIds": ["c1"]},
        "usage": [USAGE, {}],
    },
    {
        "type": "RUN_FINISHED",
        "threadId": "t1",
        "runId": "r1",
        "outcome": {
            "type": "interrupt",
            "interrupts": [INTERRUPT, {"id": "i2", "reason": "input"}],
        },
    },
    {
        "type": "RUN_FINISHED",
        "threadId": "t1",
        "runId": "r1",
        "outcome": {"type": "cancelled"},
        "usage": [],
    },
    {"type": "RUN_ERROR", "message": "boom"},
    {"type": "RUN_ERROR", "message": "boom", "code": "rate_limit", "usage": [USAGE]},
    {"type": "STEP_STARTED", "stepName": "plan"},
    {"type": "STEP_FINISHED", "stepName": "plan", "subagentRunId": "s1"},
    {"type": "REASONING_START", "messageId": "rs1"},
    {"type": "REASONING_MESSAGE_START", "messageId": "rm1", "role": "reasoning"},
    {"type": "REASONING_MESSAGE_CONTENT", "messageId": "rm1", "delta": ""},
    {"type": "REASONING_MESSAGE_END", "messageId": "rm1"},
    {"type": "REASONING_MESSAGE_CHUNK"},
    {"type": "REASONING_MESSAGE_CHUNK", "messageId": "rm1", "delta": "think"},
    {"type": "REASONING_END", "messageId": "rs1"},
    {
        "type": "REASONING_ENCRYPTED_VALUE",
        "subtype": "message",
        "entityId": "rm1",
        "encryptedValue": "x",
    },
    {
        "type": "REASONING_ENCRYPTED_VALUE",
        "subtype": "tool-call",
        "entityId": "c1",
        "encryptedValue": "x",
        "encryptedValueType": "anthropic.redacted_thinking",
    },
    {"type": "SUBAGENT_STARTED", "subagentRunId": "s1", "name": "researcher"},
    {
        "type": "SUBAGENT_STARTED",
        "subagentRunId": "s2",
        "name": "r",
        "description": "d",
        "parentSubagentRunId": "s1",
        "parentToolCallId": "c1",
        "parentMessageId": "m1",
    },
    {"type": "SUBAGENT_FINISHED", "subagentRunId": "s1"},
    {
        "type": "SUBAGENT_FINISHED",
        "subagentRunId": "s1",
        "result": False,
        "outcome": {"type": "success"},
    },
    {
        "type": "SUBAGENT_FINISHED",
        "subagentRunId": "s1",
        "outcome": {"type": "suspended", "interruptIds": []},
    },
    {"type": "SUBAGENT_ERROR", "subagentRunId": "s1", "message": "failed", "code": "x"},
    {"type": "CUSTOM", "name": "x", "value": 1, "timestamp": -(2**53 - 1)},
    {"type": "CUSTOM", "name": "x", "value": 1, "timestamp": 2**53 - 1},
]


def _hits(event: Any) -> list[Hit]:
    return CHECKER.check_event(event, 3)


def test_checker_knows_the_31_event_types() -> None:
    types = CHECKER.event_types()
    assert isinstance(types, frozenset)
    assert len(types) == 31
    assert {"TEXT_MESSAGE_START", "SUBAGENT_ERROR", "REASONING_ENCRYPTED_VALUE"} <= types


def test_get_checker_is_cached_and_schemas_are_found() -> None:
    assert get_checker() is get_checker("1.1") is CHECKER
    assert (schema_dir("1.1") / "events.schema.json").is_file()


def test_valid_examples_cover_every_event_type() -> None:
    assert {e["type"] for e in VALID_EVENTS} == CHECKER.event_types()


@pytest.mark.parametrize("event", VALID_EVENTS, ids=lambda e: e["type"])
def test_valid_event_has_no_hits(event: dict[str, Any]) -> None:
    assert _hits(event) == []


def test_run_agent_input_with_every_role_part_and_source_is_valid() -> None:
    assert {m["role"] for m in ALL_MESSAGES} == {
        "developer",
        "system",
        "assistant",
        "user",
        "tool",
        "activity",
        "reasoning",
    }
    assert CHECKER.check_input(FULL_INPUT) == []
    assert CHECKER.check_input({"threadId": "t", "runId": "r", "messages": []}) == []


# ------------------------------------------------------------------ one test per rule

RUN = {"type": "RUN_FINISHED", "threadId": "t1", "runId": "r1"}
RESULT = {"type": "TOOL_CALL_RESULT", "messageId": "tr1", "toolCallId": "c1"}

VIOLATIONS: list[tuple[str, Any, str]] = [
    ("event-not-object", ["TEXT_MESSAGE_START"], ""),
    ("event-not-object", "RUN_STARTED", ""),
    ("event-not-object", None, ""),
    ("event-type-missing", {"messageId": "m1"}, ""),
    ("event-type-missing", {"type": 7, "messageId": "m1"}, "/type"),
    ("event-type-unknown", {"type": "FUTURE_EVENT", "payload": 1}, "/type"),
    ("event-type-retired", {"type": "THINKING_START"}, "/type"),
    ("event-type-retired", {"type": "THINKING_TEXT_MESSAGE_CONTENT", "delta": "x"}, "/type"),
    ("snake-case-key", {"type": "RUN_STARTED", "thread_id": "t1", "runId": "r1"}, "/thread_id"),
    ("snake-case-key", {"type": "TEXT_MESSAGE_END", "message_id": "m1"}, "/message_id"),
    (
        "snake-case-key",
        {**RESULT, "content": "x", "toolCallId": "c1", "tool_call_id": "c1"},
        "/tool_call_id",
    ),
    (
        "schema-unknown-property",
        {"type": "TEXT_MESSAGE_START", "messageId": "m1", "futureProp": True},
        "/futureProp",
    ),
    (
        "schema-unknown-property",
        {
            "type": "MESSAGES_SNAPSHOT",
            "messages": [{"id": "u", "role": "user", "content": "x", "extra": 1}],
        },
        "/messages/0/extra",
    ),
    ("schema-missing-field", {"type": "SUBAGENT_STARTED", "subagentRunId": "s1"}, "/name"),
    ("schema-missing-field", {"type": "RUN_ERROR", "code": "x"}, "/message"),
    ("schema-missing-field", {"type": "STATE_SNAPSHOT"}, "/snapshot"),
    ("schema-missing-field", {"type": "CUSTOM", "name": "x"}, "/value"),
    ("schema-missing-field", {"type": "RAW"}, "/event"),
    (
        "schema-null-optional",
        {"type": "TEXT_MESSAGE_START", "messageId": "m1", "name": None},
        "/name",
    ),
    ("schema-null-optional", {**RUN, "result": None}, "/result"),
    ("schema-null-optional", {**RUN, "outcome": None}, "/outcome"),
    (
        "schema-null-optional",
        {"type": "CUSTOM", "name": "x", "value": 1, "rawEvent": None},
        "/rawEvent",
    ),
    ("schema-unknown-member", {**RUN, "outcome": {"type": "paused"}}, "/outcome"),
    (
        "schema-unknown-member",
        {"type": "STATE_DELTA", "delta": [{"op": "increment", "path": "/n", "value": 1}]},
        "/delta/0",
    ),
    (
        "schema-unknown-member",
        {**RESULT, "content": [{"type": "hologram", "data": "x"}]},
        "/content/0",
    ),
    (
        "schema-unknown-member",
        {**RESULT, "content": [{"type": "image", "source": {"type": "ipfs", "value": "Qm"}}]},
        "/content/0/source",
    ),
    (
        "schema-unknown-member",
        {
            "type": "REASONING_ENCRYPTED_VALUE",
            "subtype": "thought",
            "entityId": "e",
            "encryptedValue": "x",
        },
        "/subtype",
    ),
    (
        "schema-unknown-member",
        {"type": "SUBAGENT_FINISHED", "subagentRunId": "s1", "outcome": {"type": "paused"}},
        "/outcome",
    ),
    (
        "retired-content-part",
        {**RESULT, "content": [{"type": "binary", "mimeType": "image/png", "data": PNG}]},
        "/content/0",
    ),
    (
        "timestamp-not-integer",
        {"type": "CUSTOM", "name": "x", "value": 1, "timestamp": 1732492800.5},
        "/timestamp",
    ),
    (
        "timestamp-not-integer",
        {"type": "CUSTOM", "name": "x", "value": 1, "timestamp": "1732492800"},
        "/timestamp",
    ),
    (
        "timestamp-not-integer",
        {"type": "CUSTOM", "name": "x", "value": 1, "timestamp": 2**53},
        "/timestamp",
    ),
    (
        "timestamp-not-integer",
        {"type": "CUSTOM", "name": "x", "value": 1, "timestamp": True},
        "/timestamp",
    ),
    ("run-scoped-attribution", {**RUN, "subagentRunId": "s1"}, "/subagentRunId"),
    (
        "run-scoped-attribution",
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "subagentRunId": "s"},
        "/subagentRunId",
    ),
    (
        "run-scoped-attribution",
        {"type": "RUN_ERROR", "message": "x", "subagentRunId": "s"},
        "/subagentRunId",
    ),
    (
        "run-scoped-attribution",
        {"type": "MESSAGES_SNAPSHOT", "messages": [], "subagentRunId": "s"},
        "/subagentRunId",
    ),
    (
        "metadata-not-object",
        {"type": "CUSTOM", "name": "x", "value": 1, "metadata": None},
        "/metadata",
    ),
    (
        "metadata-not-object",
        {"type": "TEXT_MESSAGE_END", "messageId": "m", "metadata": "x"},
        "/metadata",
    ),
    (
        "metadata-not-object",
        {
            "type": "MESSAGES_SNAPSHOT",
            "messages": [{"id": "s", "role": "system", "content": "x", "metadata": []}],
        },
        "/messages/0/metadata",
    ),
    (
        "metadata-not-object",
        {
            **RUN,
            "outcome": {
                "type": "interrupt",
                "interrupts": [{"id": "i", "reason": "r", "metadata": None}],
            },
        },
        "/outcome/interrupts/0/metadata",
    ),
    (
        "metadata-not-object",
        {
            "type": "MESSAGES_SNAPSHOT",
            "messages": [
                {
                    "id": "a",
                    "role": "assistant",
                    "toolCalls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                            "metadata": 1,
                        }
                    ],
                }
            ],
        },
        "/messages/0/toolCalls/0/metadata",
    ),
    ("run-finished-outcome-invalid", {**RUN, "outcome": [{"type": "success"}]}, "/outcome"),
    (
        "run-finished-outcome-invalid",
        {**RUN, "outcome": {"type": "interrupt", "interrupts": []}},
        "/outcome/interrupts",
    ),
    (
        "run-finished-outcome-invalid",
        {**RUN, "outcome": {"type": "interrupt"}},
        "/outcome/interrupts",
    ),
    (
        "run-finished-outcome-invalid",
        {**RUN, "outcome": {"type": "success", "interrupts": [{"id": "i1", "reason": "x"}]}},
        "/outcome/interrupts",
    ),
    (
        "run-finished-outcome-invalid",
        {**RUN, "outcome": {"type": "cancelled", "reason": "user"}},
        "/outcome/reason",
    ),
    ("run-finished-outcome-invalid", {**RUN, "outcome": {"type": 1}}, "/outcome/type"),
    (
        "run-finished-outcome-invalid",
        {**RUN, "outcome": {"type": "interrupt", "interrupts": [{"id": "i1"}]}},
        "/outcome/interrupts/0/reason",
    ),
    (
        "subagent-outcome-invalid",
        {
            "type": "SUBAGENT_FINISHED",
            "subagentRunId": "s1",
            "outcome": {"type": "success", "interruptIds": ["i1"]},
        },
        "/outcome/interruptIds",
    ),
    (
        "subagent-outcome-invalid",
        {"type": "SUBAGENT_FINISHED", "subagentRunId": "s1", "outcome": "success"},
        "/outcome",
    ),
    (
        "subagent-outcome-invalid",
        {
            "type": "SUBAGENT_FINISHED",
            "subagentRunId": "s1",
            "outcome": {"type": "suspended", "interruptIds": "i1"},
        },
        "/outcome/interruptIds",
    ),
    (
        "text-role-invalid",
        {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "narrator"},
        "/role",
    ),
    (
        "text-role-invalid",
        {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "tool"},
        "/role",
    ),
    ("text-role-invalid", {"type": "TEXT_MESSAGE_CHUNK", "messageId": "m1", "role": 1}, "/role"),
    (
        "reasoning-role-invalid",
        {"type": "REASONING_MESSAGE_START", "messageId": "rm1", "role": "assistant"},
        "/role",
    ),
    ("reasoning-role-invalid", {"type": "REASONING_MESSAGE_START", "messageId": "rm1"}, "/role"),
    (
        "reasoning-role-invalid",
        {"type": "REASONING_MESSAGE_START", "messageId": "rm1", "role": None},
        "/role",
    ),
    ("tool-result-content-invalid", {**RESULT, "content": {"temp": 21}}, "/content"),
    ("tool-result-content-invalid", {**RESULT, "content": 21}, "/content"),
    ("tool-result-content-invalid", {**RESULT, "content": None}, "/content"),
    (
        "tool-result-content-invalid",
        {**RESULT, "content": ["plain string in a list"]},
        "/content/0",
    ),
    ("tool-result-content-invalid", {**RESULT, "content": "x", "role": "assistant"}, "/role"),
    (
        "usage-invalid",
        {**RUN, "usage": [{"provider": "openai", "model": "gpt-4o", "inputTokens": -1}]},
        "/usage/0/inputTokens",
    ),
    ("usage-invalid", {**RUN, "usage": [{"inputTokens": 1.5}]}, "/usage/0/inputTokens"),
    ("usage-invalid", {**RUN, "usage": [{"inputTokens": 1, "costUsd": 0.01}]}, "/usage/0/costUsd"),
    ("usage-invalid", {**RUN, "usage": {"inputTokens": 1}}, "/usage"),
    (
        "usage-invalid",
        {"type": "RUN_ERROR", "message": "x", "usage": [{"totalTokens": 2**53}]},
        "/usage/0/totalTokens",
    ),
    (
        "usage-invalid",
        {"type": "SUBAGENT_FINISHED", "subagentRunId": "s1", "usage": [{"inputTokens": 1}]},
        "/usage",
    ),
    (
        "usage-invalid",
        {"type": "SUBAGENT_ERROR", "subagentRunId": "s1", "message": "m", "usage": []},
        "/usage",
    ),
    (
        "state-patch-malformed",
        {"type": "STATE_DELTA", "delta": {"op": "add", "path": "/a", "value": 1}},
        "/delta",
    ),
    (
        "state-patch-malformed",
        {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "/a"}]},
        "/delta/0/value",
    ),
    (
        "state-patch-malformed",
        {"type": "STATE_DELTA", "delta": [{"op": "move", "path": "/a"}]},
        "/delta/0/from",
    ),
    (
        "state-patch-malformed",
        {"type": "STATE_DELTA", "delta": [{"op": "remove", "path": "a"}]},
        "/delta/0/path",
    ),
    (
        "state-patch-malformed",
        {"type": "STATE_DELTA", "delta": [{"op": "remove", "path": "/a~2"}]},
        "/delta/0/path",
    ),
    (
        "state-patch-malformed",
        {"type": "STATE_DELTA", "delta": [{"op": "remove", "path": 3}]},
        "/delta/0/path",
    ),
    ("state-patch-malformed", {"type": "STATE_DELTA", "delta": [{"path": "/a"}]}, "/delta/0/op"),
    ("state-patch-malformed", {"type": "STATE_DELTA", "delta": ["add"]}, "/delta/0"),
    ("state-patch-malformed", {"type": "STATE_DELTA", "delta": None}, "/delta"),
    (
        "state-patch-malformed",
        {"type": "ACTIVITY_DELTA", "messageId": "a", "activityType": "s", "patch": {"op": "add"}},
        "/patch",
    ),
    (
        "schema-wrong-type",
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": 42},
        "/delta",
    ),
    (
        "schema-wrong-type",
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": None, "delta": "x"},
        "/messageId",
    ),
    (
        "schema-wrong-type",
        {"type": "ACTIVITY_SNAPSHOT", "messageId": "a", "activityType": "s", "content": "text"},
        "/content",
    ),
    (
        "schema-wrong-type",
        {
            "type": "ACTIVITY_SNAPSHOT",
            "messageId": "a",
            "activityType": "s",
            "content": {},
            "replace": "no",
        },
        "/replace",
    ),
    ("schema-wrong-type", {"type": "MESSAGES_SNAPSHOT", "messages": {}}, "/messages"),
    (
        "schema-wrong-type",
        {
            "type": "MESSAGES_SNAPSHOT",
            "messages": [
                {
                    "id": "a",
                    "role": "assistant",
                    "toolCalls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": {"q": 1}},
                        }
                    ],
                }
            ],
        },
        "/messages/0/toolCalls/0/function/arguments",
    ),
    (
        "schema-wrong-type",
        {
            "type": "TOOL_CALL_RESULT",
            "messageId": "m",
            "toolCallId": "c",
            "content": [{"type": "text", "text": 5}],
        },
        "/content/0/text",
    ),
    (
        "schema-wrong-type",
        {**RUN, "outcome": {"type": "interrupt", "interrupts": [INTERRUPT]}, "threadId": 1},
        "/threadId",
    ),
    (
        "schema-wrong-type",
        {
            "type": "RUN_STARTED",
            "threadId": "t",
            "runId": "r",
            "input": {
                "threadId": "t",
                "runId": "r",
                "messages": [{"id": "x", "role": "user", "content": {"text": "hi"}}],
            },
        },
        "/input/messages/0/content",
    ),
]


@pytest.mark.parametrize(
    ("rule", "event", "pointer"),
    VIOLATIONS,
    ids=[f"{rule}-{i}" for i, (rule, _, _) in enumerate(VIOLATIONS)],
)
def test_violation_gives_exactly_its_rule(rule: str, event: Any, pointer: str) -> None:
    hits = _hits(event)
    assert [(h.rule, h.pointer) for h in hits] == [(rule, pointer)], hits
    hit = hits[0]
    assert hit.index == 3
    assert hit.message[:1].isupper() or hit.message.startswith("`")


def test_every_schema_rule_is_exercised() -> None:
    owned = {
        "event-not-object",
        "event-type-missing",
        "event-type-unknown",
        "event-type-retired",
        "snake-case-key",
        "schema-unknown-property",
        "schema-missing-field",
        "schema-null-optional",
        "schema-unknown-member",
        "retired-content-part",
        "timestamp-not-integer",
        "run-scoped-attribution",
        "metadata-not-object",
        "run-finished-outcome-invalid",
        "subagent-outcome-invalid",
        "text-role-invalid",
        "reasoning-role-invalid",
        "tool-result-content-invalid",
        "usage-invalid",
        "state-patch-malformed",
        "schema-wrong-type",
    }
    assert {rule for rule, _, _ in VIOLATIONS} == owned


def test_messages_name_the_field_and_the_value() -> None:
    (hit,) = _hits({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": 42})
    assert hit.message == "TEXT_MESSAGE_CONTENT.delta must be a string, got integer 42."
    (hit,) = _hits({"type": "RUN_STARTED", "thread_id": "t1", "runId": "r1"})
    assert hit.message == "`thread_id` is not an AG-UI field; did you mean `threadId`?"
    (hit,) = _hits({"type": "FUTURE_EVENT"})
    assert "FUTURE_EVENT" in hit.message
    (hit,) = _hits({"type": "text_message_start", "messageId": "m"})
    assert hit.rule == "event-type-unknown" and "TEXT_MESSAGE_START" in hit.message
    (hit,) = _hits({"type": "THINKING_END"})
    assert "REASONING_END" in hit.message
    (hit,) = _hits(["x"])
    assert "array" in hit.message


def test_snake_case_key_suppresses_only_its_own_missing_field() -> None:
    hits = _hits({"type": "RUN_STARTED", "thread_id": "t1"})
    assert [(h.rule, h.pointer) for h in hits] == [
        ("snake-case-key", "/thread_id"),
        ("schema-missing-field", "/runId"),
    ]


def test_one_hit_per_problem_ranked_root_causes_first() -> None:
    event = {
        "type": "MESSAGES_SNAPSHOT",
        "messages": [
            {"id": "a", "role": "user", "content": [{"type": "text", "text": 5}], "name": None},
            {"id": "b", "role": "narrator", "content": "x"},
            {"id": "c", "role": "tool", "content": "x", "tool_call_id": "c1"},
            {"id": "d", "role": "system", "content": "x", "extra": True},
        ],
    }
    hits = _hits(event)
    assert [(h.rule, h.pointer) for h in hits] == [
        ("snake-case-key", "/messages/2/tool_call_id"),
        ("schema-wrong-type", "/messages/0/content/0/text"),
        ("schema-null-optional", "/messages/0/name"),
        ("schema-unknown-member", "/messages/1"),
        ("schema-unknown-property", "/messages/3/extra"),
    ]


def test_null_in_required_any_json_positions_is_legal() -> None:
    assert _hits({"type": "RAW", "event": None}) == []
    assert _hits({"type": "CUSTOM", "name": "x", "value": None}) == []
    assert _hits({"type": "STATE_SNAPSHOT", "snapshot": None}) == []
    add = {"type": "STATE_DELTA", "delta": [{"op": "test", "path": "/a", "value": None}]}
    assert _hits(add) == []


def test_content_part_metadata_is_any_non_null_json() -> None:
    part = {"type": "text", "text": "x", "metadata": "a string is fine here"}
    assert _hits({**RESULT, "content": [part]}) == []
    hits = _hits({**RESULT, "content": [{**part, "metadata": None}]})
    assert [(h.rule, h.pointer) for h in hits] == [("schema-null-optional", "/content/0/metadata")]


def test_encrypted_value_type_alone_is_schema_valid() -> None:
    """The official schema has no dependentRequired: REAS-010 is checked elsewhere."""
    message = {"id": "a", "role": "assistant", "encryptedValueType": "x.y"}
    assert _hits({"type": "MESSAGES_SNAPSHOT", "messages": [message]}) == []


# ------------------------------------------------------------------ run input

INPUT_VIOLATIONS: list[tuple[str, Any, str]] = [
    ("schema-wrong-type", [], ""),
    ("schema-wrong-type", "body", ""),
    ("schema-missing-field", {"threadId": "t", "runId": "r"}, "/messages"),
    ("snake-case-key", {"thread_id": "t", "runId": "r", "messages": []}, "/thread_id"),
    (
        "schema-unknown-property",
        {"threadId": "t", "runId": "r", "messages": [], "extra": 1},
        "/extra",
    ),
    (
        "schema-null-optional",
        {"threadId": "t", "runId": "r", "messages": [], "state": None},
        "/state",
    ),
    (
        "schema-null-optional",
        {"threadId": "t", "runId": "r", "messages": [], "tools": None},
        "/tools",
    ),
    ("schema-wrong-type", {"threadId": "t", "runId": 1, "messages": []}, "/runId"),
    (
        "schema-unknown-member",
        {
            "threadId": "t",
            "runId": "r",
            "messages": [{"id": "x", "role": "narrator", "content": "x"}],
        },
        "/messages/0",
    ),
    (
        "schema-unknown-member",
        {
            "threadId": "t",
            "runId": "r",
            "messages": [{"id": "x", "role": "user", "content": [{"type": "hologram"}]}],
        },
        "/messages/0/content/0",
    ),
    (
        "retired-content-part",
        {
            "threadId": "t",
            "runId": "r",
            "messages": [
                {
                    "id": "x",
                    "role": "user",
                    "content": [{"type": "binary", "mimeType": "image/png", "url": "u"}],
                }
            ],
        },
        "/messages/0/content/0",
    ),
    (
        "schema-missing-field",
        {"threadId": "t", "runId": "r", "messages": [{"id": "x", "role": "tool", "content": "x"}]},
        "/messages/0/toolCallId",
    ),
    (
        "schema-missing-field",
        {"threadId": "t", "runId": "r", "messages": [], "tools": [{"name": "f"}]},
        "/tools/0/description",
    ),
    (
        "schema-missing-field",
        {"threadId": "t", "runId": "r", "messages": [{"id": "x", "content": "x"}]},
        "/messages/0/role",
    ),
    (
        "schema-wrong-type",
        {
            "threadId": "t",
            "runId": "r",
            "messages": [],
            "resume": [{"interruptId": "i", "status": "abandoned"}],
        },
        "/resume/0/status",
    ),
    (
        "schema-null-optional",
        {
            "threadId": "t",
            "runId": "r",
            "messages": [],
            "resume": [{"interruptId": "i", "status": "resolved", "payload": None}],
        },
        "/resume/0/payload",
    ),
    (
        "metadata-not-object",
        {
            "threadId": "t",
            "runId": "r",
            "messages": [],
            "tools": [{"name": "f", "description": "d", "metadata": None}],
        },
        "/tools/0/metadata",
    ),
    (
        "schema-wrong-type",
        {
            "threadId": "t",
            "runId": "r",
            "messages": [],
            "context": [{"description": "d", "value": {"a": 1}}],
        },
        "/context/0/value",
    ),
    (
        "schema-missing-field",
        {
            "threadId": "t",
            "runId": "r",
            "messages": [
                {
                    "id": "u",
                    "role": "user",
                    "content": [{"type": "image", "source": {"type": "data", "value": PNG}}],
                }
            ],
        },
        "/messages/0/content/0/source/mimeType",
    ),
]


@pytest.mark.parametrize(
    ("rule", "run_input", "pointer"),
    INPUT_VIOLATIONS,
    ids=[f"{rule}-{i}" for i, (rule, _, _) in enumerate(INPUT_VIOLATIONS)],
)
def test_invalid_input_gives_exactly_its_rule(rule: str, run_input: Any, pointer: str) -> None:
    hits = CHECKER.check_input(run_input)
    assert [(h.rule, h.pointer) for h in hits] == [(rule, pointer)], hits
    assert hits[0].index is None


# ------------------------------------------------------------------ hostile input


class _Weird:
    def __repr__(self) -> str:
        raise RuntimeError("repr must never be called")


GARBAGE: list[Any] = [
    None,
    True,
    0,
    -1.5,
    math.nan,
    math.inf,
    "",
    "x" * 10_000,
    b"bytes",
    (1, 2),
    {1, 2},
    [],
    [{}],
    {},
    {"type": None},
    {"type": ["TEXT"]},
    {"type": {"a": 1}},
    {"type": ""},
    {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": _Weird()},
    {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", 1: 2},
    {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", (1, 2): 2},
    {"type": "CUSTOM", "name": "x", "value": {1, 2}, "rawEvent": {3}},
    {"type": "CUSTOM", "name": "x", "value": math.nan, "timestamp": math.nan},
    {"type": "CUSTOM", "name": "x", "value": 1, "timestamp": 10**400},
    {"type": "CUSTOM", "name": "x", "value": 1, "timestamp": -(10**400)},
    {"type": "RUN_FINISHED", "threadId": "t", "runId": "r", "outcome": {"type": ["interrupt"]}},
    {"type": "RUN_FINISHED", "threadId": "t", "runId": "r", "outcome": {"type": _Weird()}},
    {"type": "STATE_DELTA", "delta": [{"op": _Weird(), "path": _Weird()}]},
    {"type": "MESSAGES_SNAPSHOT", "messages": [None, 1, "x", [], {"role": None}, {"role": 5}]},
    {
        "type": "TOOL_CALL_RESULT",
        "messageId": "m",
        "toolCallId": "c",
        "content": [None, {"type": None}, {}],
    },
    _Weird(),
]


@pytest.mark.parametrize("value", GARBAGE, ids=lambda v: type(v).__name__)
def test_garbage_never_raises(value: Any) -> None:
    hits = CHECKER.check_event(value, 0)
    assert all(isinstance(h, Hit) for h in hits)
    for h in hits:
        assert isinstance(h.message, str) and isinstance(h.pointer, str)
    assert all(isinstance(h, Hit) for h in CHECKER.check_input(value))
    assert all(isinstance(h, Hit) for h in CHECKER.check_input({"threadId": value}))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    etype=st.sampled_from([*sorted(CHECKER.event_types()), "THINKING_START", "X", ""]),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "messageId",
                "delta",
                "role",
                "content",
                "outcome",
                "usage",
                "metadata",
                "messages",
                "timestamp",
                "snapshot",
                "patch",
                "input",
                "thread_id",
                "subagentRunId",
                "name",
                "value",
                "event",
                "subtype",
                "toolCallId",
                "threadId",
                "runId",
                "rawEvent",
            ]
        ),
        json_values,
        max_size=6,
    ),
)
def test_arbitrary_events_never_raise(etype: str, fields: dict[str, Any]) -> None:
    event = {"type": etype, **fields}
    hits = CHECKER.check_event(event, 1)
    assert all(isinstance(h, Hit) and h.index == 1 for h in hits)
    assert len({(h.rule, h.pointer) for h in hits}) == len(hits)
    assert all(
        h.pointer is not None and (h.pointer == "" or h.pointer.startswith("/")) for h in hits
    )
    assert CHECKER.check_input({"threadId": "t", "runId": "r", **fields}) is not None


def _nested(depth: int, leaf: Any = None) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def _nested_dict(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["k"] = {}
        node = node["k"]
    return root


@pytest.mark.parametrize("where", ["value", "rawEvent", "metadata", "extra", "delta", "timestamp"])
def test_deeply_nested_values_are_fast_and_safe(where: str) -> None:
    deep = _nested(10_000) if where != "metadata" else _nested_dict(10_000)
    base = {"type": "CUSTOM", "name": "x", "value": 1}
    start = time.perf_counter()
    hits = CHECKER.check_event({**base, where: deep}, 0)
    assert time.perf_counter() - start < 0.5
    expected = {
        "value": [],
        "rawEvent": [],
        "metadata": [],
        "extra": [("schema-unknown-property", "/extra")],
        "delta": [("schema-unknown-property", "/delta")],
        "timestamp": [("timestamp-not-integer", "/timestamp")],
    }[where]
    assert [(h.rule, h.pointer) for h in hits] == expected


def test_deep_values_in_described_positions() -> None:
    deep = _nested(10_000)
    cases = [
        ({"type": "STATE_DELTA", "delta": deep}, ("state-patch-malformed", "/delta/0")),
        (
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": deep},
            ("schema-wrong-type", "/delta"),
        ),
        ({"type": "MESSAGES_SNAPSHOT", "messages": deep}, ("schema-wrong-type", "/messages/0")),
        ({"type": deep}, ("event-type-missing", "/type")),
    ]
    for event, expected in cases:
        start = time.perf_counter()
        hits = CHECKER.check_event(event, 0)
        assert time.perf_counter() - start < 0.5
        assert [(h.rule, h.pointer) for h in hits] == [expected]
    assert CHECKER.check_input({"threadId": "t", "runId": "r", "messages": [], "state": deep}) == []


def test_huge_strings_and_lists_are_cheap() -> None:
    big = "x" * 50_000_000
    many = list(range(2_000_000))
    cases = [
        ({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": big}, []),
        (
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": big, "delta": [big]},
            [("schema-wrong-type", "/delta")],
        ),
        (
            {"type": "CUSTOM", "name": "x", "value": many, "timestamp": many},
            [("timestamp-not-integer", "/timestamp")],
        ),
        (
            {
                "type": "STATE_DELTA",
                "delta": [{"op": "add", "path": "no-slash" + big, "value": big}],
            },
            [("state-patch-malformed", "/delta/0/path")],
        ),
        ({"type": big}, [("event-type-unknown", "/type")]),
        (
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": many},
            [("schema-wrong-type", "/delta")],
        ),
    ]
    for event, expected in cases:
        start = time.perf_counter()
        hits = CHECKER.check_event(event, 0)
        assert time.perf_counter() - start < 1.0, expected
        assert [(h.rule, h.pointer) for h in hits] == expected
        assert all(len(h.message) < 400 for h in hits)


def test_many_problems_in_one_event_are_capped() -> None:
    event = {"type": "TEXT_MESSAGE_END", "messageId": "m", **{f"extra{i}": i for i in range(5000)}}
    hits = CHECKER.check_event(event, 0)
    assert 0 < len(hits) <= 64


def test_fast_path_is_fast_for_valid_events() -> None:
    event = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "hello"}
    number = 20_000
    per_event = timeit.timeit(lambda: CHECKER.check_event(event, 0), number=number) / number
    assert per_event < 25e-6, f"{per_event * 1e6:.2f} µs per valid event"


def test_a_fresh_checker_equals_the_cached_one() -> None:
    fresh = SchemaChecker("1.1")
    for event in VALID_EVENTS[:5]:
        assert fresh.check_event(event, 0) == []
    for rule, event, pointer in VIOLATIONS[:10]:
        assert [(h.rule, h.pointer) for h in fresh.check_event(event, 3)] == [(rule, pointer)]


# ------------------------------------------------------------------ official corpus


def _corpus_files() -> list[Path | None]:
    folder = shared_root() / "agui-spec" / "1.1" / "conformance" / "streams"
    files: list[Path | None] = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return files or [None]  # one placeholder, so the test runs and skips (or fails on CI)


@pytest.fixture(scope="module")
def official_validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    schema = json.loads(shared_path("agui-spec", "1.1", "schema.json").read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry().with_resource(
        schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012)
    )
    root = Draft202012Validator(schema, registry=registry)
    run_input = Draft202012Validator(
        {"$ref": f"{schema['$id']}#/$defs/RunAgentInput"}, registry=registry
    )
    return root, run_input


def _our_root_validator() -> Draft202012Validator:
    folder = schema_dir("1.1")
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.schema.json"))]
    registry: Registry[Any] = Registry().with_resources(
        (d["$id"], Resource.from_contents(d, default_specification=DRAFT202012)) for d in docs
    )
    root = next(d for d in docs if d["$id"].endswith("/events.schema.json"))
    return Draft202012Validator(root, registry=registry)


OUR_ROOT = _our_root_validator()


@pytest.mark.corpus
@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.stem if p else "corpus")
def test_corpus_verdicts_agree_with_the_official_schema(
    path: Path | None, official_validators: tuple[Draft202012Validator, Draft202012Validator]
) -> None:
    streams = shared_path("agui-spec", "1.1", "conformance", "streams")
    assert path is not None and path.parent == streams
    fixture = json.loads(path.read_text(encoding="utf-8"))
    official_root, official_input = official_validators
    for index, event in enumerate(fixture["stream"]):
        theirs = official_root.is_valid(event)
        ours = not CHECKER.check_event(event, index)
        assert theirs == ours == OUR_ROOT.is_valid(event), (
            f"{path.stem}[{index}]: official {'accepts' if theirs else 'rejects'}, "
            f"we say {CHECKER.check_event(event, index)}"
        )
    if "input" in fixture:
        theirs = official_input.is_valid(fixture["input"])
        ours = not CHECKER.check_input(fixture["input"])
        assert theirs == ours, f"{path.stem} input: official {theirs}, ours {ours}"


@pytest.mark.corpus
def test_corpus_malformed_field_is_reported_precisely() -> None:
    path = shared_path(
        "agui-spec", "1.1", "conformance", "streams", "malformed-known-field-fatal.json"
    )
    stream = json.loads(path.read_text(encoding="utf-8"))["stream"]
    hits = [h for i, e in enumerate(stream) for h in CHECKER.check_event(e, i)]
    assert [(h.rule, h.index, h.pointer) for h in hits] == [("schema-wrong-type", 2, "/delta")]


def test_python_jsonschema_loads_only_to_explain_a_failure() -> None:
    """The fast path is jsonschema-rs; python-jsonschema (~60-80 ms to import) only explains
    failures, so a conformant stream never loads it, and a failing one still gets explained."""
    import subprocess
    import sys

    code = """
import sys
from agui_conformance import validate_events
ok = [{"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
      {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}]
assert validate_events(ok).findings == []
print("jsonschema" in sys.modules)
bad = [ok[0], {"type": "TEXT_MESSAGE_START", "messageId": 5}, ok[1]]
print(sorted({f.rule for f in validate_events(bad).findings}))
print("jsonschema" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, rules, after = out.stdout.splitlines()
    assert before == "False"
    assert rules == "['schema-wrong-type']", rules  # explained: the member and its type
    assert after == "True"


# ------------------------------------------- simple events: checked without compiling


def _near_values(kind: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """Values a member of this kind may take, and values just outside it."""
    misses = [None, 1.0, True, "", [], {"a": 1}, 7]
    tag = kind[0]
    if tag == "string":
        return st.sampled_from(["t", "", *misses])
    if tag in ("const", "enum"):
        values = [kind[1]] if tag == "const" else list(kind[1])
        return st.sampled_from([*values, "other", *misses])
    if tag == "integer":
        low, high = kind[1], kind[2]
        return st.sampled_from([0, low, high, low - 1, high + 1, 2**64, 1.0, 1.5, True, None])
    return st.sampled_from(["x", False, None, 0, {"a": 1}, [1], ""])


@st.composite
def _near_events(draw: st.DrawFn) -> dict[str, Any]:
    """An event of a known type: its schema's members (mostly), values near the edges of
    what the schema allows, now and then a member it does not describe."""
    checker = get_checker()
    etype = draw(st.sampled_from(sorted(checker.event_types())))
    properties = checker.event_definitions()[etype]["properties"]
    defs = checker.event_defs()
    optional = {
        name: _near_values(kind_of(sub, defs)) for name, sub in properties.items() if name != "type"
    }
    members = draw(st.fixed_dictionaries({}, optional=optional))  # type: ignore[arg-type]
    if draw(st.integers(0, 9)) == 0:
        members["thread_id"] = "t"
    return {**members, "type": etype}


@settings(max_examples=800, deadline=None)
@given(_near_events())
def test_a_simple_event_passes_only_what_the_compiled_schema_passes(event: dict[str, Any]) -> None:
    """The member-by-member check of simple events (no compiled validator) never accepts
    an event the compiled validator of its type rejects."""
    checker = get_checker()
    simple = checker._simple[event["type"]]
    if simple is not None and simple(event):
        compiled = checker._fast.get(event["type"]) or checker._compile(event["type"])
        assert compiled.is_valid(event), event


def test_common_events_are_checked_without_compiling() -> None:
    checker = get_checker()
    for event in (
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant", "timestamp": 5},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
        {"type": "STEP_STARTED", "stepName": "s", "rawEvent": "x"},
    ):
        assert checker._simple[event["type"]](event), event
    for event in (
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r", "outcome": {"type": "success"}},
        {"type": "STEP_STARTED", "stepName": "s", "rawEvent": {"a": 1}},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "timestamp": 1.0},
    ):
        assert not checker._simple[event["type"]](event), event
        assert checker.check_event(event, 0) == []  # the compiled validator decides


def test_validating_a_simple_stream_does_not_import_jsonschema_rs() -> None:
    code = (
        "import sys; from agui_conformance.validator import validate_events; "
        "r = validate_events([{'type': 'RUN_STARTED', 'threadId': 't', 'runId': 'r', "
        "'protocolVersion': '1.1'}, {'type': 'RUN_FINISHED', 'threadId': 't', 'runId': 'r'}]); "
        "assert not r.findings, r.findings; print('jsonschema_rs' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
