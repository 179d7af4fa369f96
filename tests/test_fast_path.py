"""The fast paths (`machine.fast`) agree with the full path on every stream.

The full path (schema check, then `SequenceMachine.feed`) is the authority. A
validator built with `fast=False` takes it for every event; the default one
lets the fast paths take the common valid events. Both must report the same
findings and end with the same machine memory, on the rule fixtures (which are
full of near misses), on the official corpus, on legal streams from the
protocol model, and on those streams mutated (events dropped, repeated, moved,
retagged, ids swapped, fields emptied), where the fast paths must decline.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agui_conformance.hits import Hit
from agui_conformance.model import Finding
from agui_conformance.validator import StreamValidator
from tests.shared_data import shared_path
from tests.stream_model import valid_streams

FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def _memory(validator: StreamValidator) -> dict[str, Any]:
    ctx = validator._machine._ctx
    memory = dataclasses.asdict(ctx)
    memory.pop("out")
    memory["state order"] = repr(ctx.state)  # dict equality ignores member order
    return memory


class _Recording(StreamValidator):
    """Keeps every hit, including those the profile does not report."""

    def __init__(self, **kwargs: Any) -> None:
        self.hits: list[tuple[Any, ...]] = []
        super().__init__(**kwargs)

    def _to_findings(self, hits: list[Hit]) -> list[Finding]:
        self.hits += [(h.rule, h.index, h.message, h.pointer) for h in hits]
        return super()._to_findings(hits)


def _both(events: list[Any], request: Any = None, *, payloads: bool = False) -> _Recording:
    """Run the stream down both paths; assert they agree; return the fast validator."""
    runs = []
    for fast in (True, False):
        validator = _Recording(request=request, fast=fast)
        if payloads:
            validator.feed_payloads([orjson.dumps(e) for e in events])
        else:
            for event in events:
                validator.feed_event(event)
        validator.close()
        runs.append(validator)
    quick, full = runs
    assert full.fast_handled == 0
    assert quick.hits == full.hits
    assert _memory(quick) == _memory(full)
    return quick


def _fixture_streams() -> list[Any]:
    cases = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for kind in ("violations", "passes"):
            for case in data.get(kind) or []:
                if "stream" in case:
                    name = f"{path.stem}:{kind}:{case.get('name', '')}"
                    cases.append(pytest.param(case["stream"], case.get("input"), id=name))
    return cases


@pytest.mark.parametrize(("stream", "request_"), _fixture_streams())
def test_rule_fixtures_agree(stream: list[Any], request_: Any) -> None:
    _both(stream, request_)
    _both(stream, request_, payloads=True)


def test_official_corpus_agrees() -> None:
    streams = shared_path("agui-spec", "1.1", "conformance", "streams")
    count = 0
    for path in sorted(streams.rglob("*.json")):
        fixture = orjson.loads(path.read_bytes())
        stream = fixture.get("stream") if isinstance(fixture, dict) else None
        if isinstance(stream, list):
            _both(stream, fixture.get("input"))
            count += 1
    assert count > 20


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_streams())
def test_legal_streams_agree_and_take_the_fast_path(events: list[dict[str, Any]]) -> None:
    quick = _both(events)
    assert quick.result().findings == []


_EXTRA = st.sampled_from(
    [("timestamp", 1), ("subagentRunId", "sub-x"), ("metadata", {"k": 1}), ("rawEvent", 0)]
)


@st.composite
def mutated_streams(draw: st.DrawFn) -> list[Any]:
    events: list[Any] = [dict(e) for e in draw(valid_streams())]
    ids = sorted(
        {v for e in events for k, v in e.items() if k in ("messageId", "toolCallId")} | {""}
    )
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not events:
            break
        at = draw(st.integers(min_value=0, max_value=len(events) - 1))
        how = draw(st.sampled_from(["drop", "repeat", "move", "extra", "id", "empty", "path"]))
        event = dict(events[at])
        if how == "drop":
            del events[at]
            continue
        if how == "repeat":
            events.insert(draw(st.integers(0, len(events))), event)
            continue
        if how == "move":
            del events[at]
            events.insert(draw(st.integers(0, len(events))), event)
            continue
        if how == "extra":
            key, value = draw(_EXTRA)
            event[key] = value
        elif how == "id":
            for key in ("messageId", "toolCallId", "parentMessageId"):
                if key in event:
                    event[key] = draw(st.sampled_from(ids))
        elif how == "empty":
            key = draw(st.sampled_from(sorted(event)))
            event[key] = draw(st.sampled_from(["", None, 7, [], {}]))
        elif event.get("type") == "STATE_DELTA" and isinstance(event.get("delta"), list):
            op = {"op": draw(st.sampled_from(["add", "remove", "replace", "move", "test"]))}
            op["path"] = draw(st.sampled_from(["", "/", "/a", "/a/0", "/a/-", "/~1", "/x/y"]))
            if op["op"] != "remove":
                op["value"] = draw(st.sampled_from([1, None, {"b": []}, [1]]))
            event["delta"] = [*event["delta"], op]
        events[at] = event
    return events


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_streams())
def test_mutated_streams_agree(events: list[Any]) -> None:
    _both(events)


def test_a_typical_stream_is_mostly_fast() -> None:
    """The point of the fast paths: a realistic stream seldom needs the full path."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from validate_throughput import mixed_stream

    events = list(mixed_stream(2_000))
    quick = _both(events, payloads=True)
    assert quick.result().findings == []
    assert quick.fast_handled / len(events) > 0.99


RS = {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}
RF = {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}


def _tm(mid: str, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"type": "TEXT_MESSAGE_START", "messageId": mid, **extra},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": "hi"},
        {"type": "TEXT_MESSAGE_END", "messageId": mid},
    ]


def _tc(cid: str, parent: str | None = None, name: str = "f") -> list[dict[str, Any]]:
    start = {"type": "TOOL_CALL_START", "toolCallId": cid, "toolCallName": name}
    if parent is not None:
        start["parentMessageId"] = parent
    return [
        start,
        {"type": "TOOL_CALL_ARGS", "toolCallId": cid, "delta": "{}"},
        {"type": "TOOL_CALL_END", "toolCallId": cid},
    ]


def _result(mid: str, cid: str) -> dict[str, Any]:
    return {"type": "TOOL_CALL_RESULT", "messageId": mid, "toolCallId": cid, "content": "ok"}


_USER_INPUT = {
    "threadId": "t",
    "runId": "r",
    "messages": [
        {"id": "u1", "role": "user", "content": "hi"},
        {
            "id": "a0",
            "role": "assistant",
            "toolCalls": [
                {"id": "old", "type": "function", "function": {"name": "g", "arguments": "{}"}}
            ],
        },
    ],
    "tools": [{"name": "front", "description": "d", "parameters": {"type": "object"}}],
}

# Each stream makes one fast path meet the condition under which it must decline.
NEAR_MISSES: dict[str, tuple[list[dict[str, Any]], Any]] = {
    "text start while a tool call is open": (
        [RS, _tc("c1")[0], *_tm("m1"), *_tc("c1")[1:], RF],
        None,
    ),
    "tool start while a text message is open": (
        [RS, _tm("m1")[0], *_tc("c1"), *_tm("m1")[1:], RF],
        None,
    ),
    "text start reusing a tool result's id": (
        [RS, *_tc("c1"), _result("x", "c1"), *_tm("x"), RF],
        None,
    ),
    "text start reusing a reasoning id": (
        [
            RS,
            {"type": "REASONING_MESSAGE_START", "messageId": "x", "role": "reasoning"},
            {"type": "REASONING_MESSAGE_END", "messageId": "x"},
            *_tm("x"),
            RF,
        ],
        None,
    ),
    "text start restating an input message": ([RS, *_tm("u1", role="user"), RF], _USER_INPUT),
    "text start restating it with another role": ([RS, *_tm("u1"), RF], _USER_INPUT),
    "tool start reusing an input call id": ([RS, *_tc("old", name="h"), RF], _USER_INPUT),
    "tool start under a subagent's parent": (
        [
            RS,
            {"type": "SUBAGENT_STARTED", "subagentRunId": "s1", "name": "n"},
            *_tm("m1", subagentRunId="s1"),
            *_tc("c1", parent="m1"),
            {"type": "SUBAGENT_FINISHED", "subagentRunId": "s1"},
            RF,
        ],
        None,
    ),
    "tool start reopening a closed call": ([RS, *_tc("c1"), *_tc("c1", name="g"), RF], None),
    "result for an open call": ([RS, *_tc("c1")[:2], _result("r1", "c1"), _tc("c1")[2], RF], None),
    "result reusing the parent's id": (
        [RS, *_tc("c1", parent="p0"), _result("p0", "c1"), RF],
        None,
    ),
    "result for a frontend tool": (
        [RS, *_tc("c1", name="front"), _result("r1", "c1"), RF],
        _USER_INPUT,
    ),
    "result reusing an id twice": (
        [RS, *_tc("c1"), *_tc("c2"), _result("r1", "c1"), _result("r1", "c2"), RF],
        None,
    ),
    "content for a closed message": ([RS, *_tm("m1"), _tm("m1")[1], RF], None),
    "end twice": ([RS, *_tm("m1"), _tm("m1")[2], RF], None),
    "content in a chunk lane's message": (
        [
            RS,
            {"type": "TEXT_MESSAGE_CHUNK", "messageId": "m1", "delta": "a"},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "b"},
            RF,
        ],
        None,
    ),
    "events after the run finished": ([RS, _tm("m1")[0], RF, *_tm("m1")[1:]], None),
    "delta that does not apply": (
        [
            RS,
            {"type": "STATE_SNAPSHOT", "snapshot": {"a": [1]}},
            {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "/a/-", "value": 2}]},
            {"type": "STATE_DELTA", "delta": [{"op": "replace", "path": "/b", "value": 2}]},
            {
                "type": "STATE_DELTA",
                "delta": [
                    {"op": "add", "path": "/c", "value": 1},
                    {"op": "remove", "path": "/a/5"},
                ],
            },
            RF,
        ],
        None,
    ),
    "delta amending the input state": (
        [RS, {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "/n", "value": 1}]}, RF],
        {**_USER_INPUT, "state": {}},
    ),
    "delta with a bad pointer": (
        [
            RS,
            {"type": "STATE_SNAPSHOT", "snapshot": {}},
            {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "n", "value": 1}]},
            RF,
        ],
        None,
    ),
}


@pytest.mark.parametrize(("stream", "request_"), NEAR_MISSES.values(), ids=NEAR_MISSES.keys())
def test_near_misses_agree(stream: list[dict[str, Any]], request_: Any) -> None:
    _both(stream, request_)


@pytest.mark.parametrize("role", [["user"], {"r": 1}, 3, None])
def test_unhashable_role_on_a_start_takes_the_full_path(role: Any) -> None:
    """A role that is a list or object must not crash the fast path (found by hypothesis)."""
    stream = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": role},
        {"type": "TEXT_MESSAGE_END", "messageId": "m"},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]
    _both(stream)
