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

import copy
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agui_conformance.hits import Hit
from agui_conformance.machine import fast
from agui_conformance.machine.shapes import DECLINED, ENVELOPE
from agui_conformance.model import Finding
from agui_conformance.schema import get_checker
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


def _both(
    events: list[Any],
    request: Any = None,
    *,
    payloads: bool = False,
    from_json: bool = False,
    owned: bool = False,
) -> _Recording:
    """Run the stream down both paths; assert they agree; return the fast validator.
    `payloads`: as JSON text (parsed by the validator); `from_json`: as events parsed from
    JSON text by the caller, `owned` too: given to the validator to keep (what
    `validate_recording` feeds); else as the objects given."""
    runs = []
    for fast_paths in (True, False):
        validator = _Recording(request=request, fast=fast_paths)
        if from_json or owned:
            parsed = [json.loads(json.dumps(e)) for e in events]
            validator.feed_events(parsed, from_json=True, owned=owned)
        elif payloads:
            validator.feed_payloads([json.dumps(e).encode() for e in events])  # big ints too
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
    _both(stream, request_, from_json=True)
    _both(stream, request_, owned=True)


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
    [
        ("timestamp", 1),
        ("timestamp", 1.5),
        ("timestamp", 2**53),
        ("timestamp", True),
        ("timestamp", "1733500000000"),
        ("subagentRunId", "sub-x"),
        ("metadata", {"k": 1}),
        ("metadata", {"app.k": 1}),
        ("metadata", {"ag-ui": {}}),
        ("metadata", []),
        ("metadata", None),
        ("rawEvent", 0),
        ("rawEvent", None),
        ("rawEvent", {"event": "on_chat_model_stream"}),
        ("usage", [{"inputTokens": 1}]),
    ]
)


# Envelope members real producers put on every event (pydantic-ai and llama-index stamp
# each one, LangGraph attaches the provider's event): valid ones, and near misses.
_VALID_ENVELOPE = st.fixed_dictionaries(
    {},
    optional={
        "timestamp": st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
        "rawEvent": st.sampled_from([0, "", [], {"event": "on_chat_model_stream", "data": {}}]),
        "metadata": st.dictionaries(
            st.sampled_from(["app.trace", "acme/x", "vendor:k"]), st.none() | st.integers(-9, 9)
        ),
    },
)
_ANY_ENVELOPE = st.fixed_dictionaries(
    {},
    optional={
        "timestamp": st.sampled_from(
            [0, 2**53 - 1, 2**53, 1 - 2**53, -(2**53), 2**64, 1.0, 1.5, True, None, "1"]
        ),
        "rawEvent": st.sampled_from([None, 0, {"a": 1}]),
        "metadata": st.sampled_from([None, [], {}, {"k": 1}, {"ag-ui": 1}, {"app.k": None}]),
    },
)


@st.composite
def enveloped_streams(draw: st.DrawFn, envelope: st.SearchStrategy[dict[str, Any]]) -> list[Any]:
    """A legal stream whose events carry envelope members: every event, or some."""
    events: list[Any] = draw(valid_streams())
    every = draw(st.booleans())
    return [
        {**event, **draw(envelope)} if every or draw(st.booleans()) else event for event in events
    ]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(enveloped_streams(_VALID_ENVELOPE))
def test_timestamped_and_metadata_streams_agree_and_stay_valid(events: list[Any]) -> None:
    quick = _both(events, payloads=True)
    assert quick.result().findings == []
    assert _both(events, from_json=True).fast_handled == quick.fast_handled
    assert _both(events, owned=True).fast_handled == quick.fast_handled


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(enveloped_streams(_ANY_ENVELOPE))
def test_streams_with_bad_envelope_members_agree(events: list[Any]) -> None:
    _both(events)
    _both(events, payloads=True)
    _both(events, from_json=True)
    _both(events, owned=True)


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


def _benchmark_shapes() -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from validate_throughput import SHAPES

    return SHAPES  # type: ignore[no-any-return]


@pytest.mark.parametrize("shape", sorted(_benchmark_shapes()))
def test_a_typical_stream_is_mostly_fast(shape: str) -> None:
    """The point of the fast paths: a realistic stream seldom needs the full path, with or
    without timestamps, metadata or the provider's raw events on every event."""
    make, share = _benchmark_shapes()[shape]
    events = list(make(2_000))
    quick = _both(events, payloads=True)
    assert quick.result().findings == []
    assert quick.fast_handled / len(events) > share
    assert _both(events, from_json=True).fast_handled == quick.fast_handled
    parsed = _both(events, owned=True)  # how validate_recording feeds a recording
    assert parsed.fast_handled == quick.fast_handled


# ------------------------------------------------ the fast paths' key sets vs the schema


def _schema_properties() -> dict[str, set[str]]:
    checker = get_checker()
    return {t: set(d["properties"]) for t, d in checker.event_definitions().items()}


def test_fast_path_key_sets_are_the_schema_properties() -> None:
    """Each fast path accepts exactly its schema's members but those it leaves to the
    full path on purpose (`DECLINED`); its own members all still have the schema the
    fast path reads them with. A schema change fails here until the fast path is taught."""
    checker = get_checker()
    table = fast.table_for(checker.event_definitions(), checker.event_defs())
    properties = _schema_properties()
    assert set(table.shapes) == set(fast.OWN_MEMBERS)
    for etype, shape in table.shapes.items():
        assert shape.accepted | DECLINED == properties[etype], etype
        assert shape.own == set(fast.OWN_MEMBERS[etype]), etype
        assert set(shape.envelope) == set(ENVELOPE), etype
        assert not shape.accepted & DECLINED, etype
    assert set(table.paths_owned) | set(table.deltas_owned) == set(fast.OWN_MEMBERS)


def test_events_handed_in_take_only_members_whose_values_are_checked_whole() -> None:
    """An object handed in may hold Python values that are no JSON at all, which only the
    schema reports: its fast paths take no member of any JSON value (RAW's `event`,
    `rawEvent`, `metadata`), but still a `timestamp`."""
    checker = get_checker()
    table = fast.table_for(checker.event_definitions(), checker.event_defs())
    assert "RAW" not in table.paths and "RAW" in table.paths_owned
    for etype, (*_, shape, low, high) in table.deltas.items():
        assert set(shape.envelope) == {"timestamp"}, etype
        assert (low, high) == (-(2**53) + 1, 2**53 - 1)
    stream = [
        RS,
        {**_tm("m1")[0], "rawEvent": {1, 2}},
        {**_tm("m1")[1], "metadata": {"app.k": (1, 2)}},
        {"type": "RAW", "event": {3}},
        _tm("m1")[2],
        RF,
    ]
    quick = _both(stream)
    assert quick.fast_handled == 1  # the END
    assert quick.hits  # the schema reports the values that are no JSON


def _changed(etype: str, member: str, schema: Any) -> dict[str, Any]:
    checker = get_checker()
    definitions = copy.deepcopy(dict(checker.event_definitions()))
    definitions[etype]["properties"][member] = schema
    return definitions


def test_a_new_schema_member_is_declined() -> None:
    definitions = _changed("TEXT_MESSAGE_CONTENT", "tokenCount", {"type": "integer"})
    shape = fast.build_table(definitions, get_checker().event_defs()).shapes["TEXT_MESSAGE_CONTENT"]
    assert "tokenCount" not in shape.accepted
    assert not shape.extras_ok({"type": "TEXT_MESSAGE_CONTENT", "tokenCount": 3})


def test_a_changed_envelope_member_is_declined() -> None:
    definitions = _changed("TOOL_CALL_END", "timestamp", {"type": "string"})
    table = fast.build_table(definitions, get_checker().event_defs())
    shape = table.shapes["TOOL_CALL_END"]
    assert "timestamp" not in shape.accepted and shape.timestamp == (1, 0)
    assert table.shapes["TOOL_CALL_ARGS"].timestamp == (-(2**53) + 1, 2**53 - 1)


def test_a_changed_required_member_drops_the_fast_path() -> None:
    tighter = {"type": "string", "minLength": 1}
    definitions = _changed("TEXT_MESSAGE_CONTENT", "messageId", tighter)
    table = fast.build_table(definitions, get_checker().event_defs())
    assert "TEXT_MESSAGE_CONTENT" not in table.deltas
    definitions = _changed("TEXT_MESSAGE_START", "role", {"type": "string"})
    table = fast.build_table(definitions, get_checker().event_defs())
    assert "role" not in table.shapes["TEXT_MESSAGE_START"].accepted
    assert "TEXT_MESSAGE_START" in table.paths  # role is optional: only events with one decline


def test_the_roles_a_start_takes_come_from_the_schema() -> None:
    checker = get_checker()
    shape = fast.table_for(checker.event_definitions(), checker.event_defs()).shapes[
        "TEXT_MESSAGE_START"
    ]
    roles = checker.event_defs()["TextMessageRole"]["enum"]
    assert shape.kinds["role"] == ("enum", tuple(roles))


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
    "an end, a start, a result and a call start with a timestamp and no id": (
        [
            RS,
            *_tm("m1"),
            *_tc("c1"),
            {"type": "TEXT_MESSAGE_END", "timestamp": 1},
            {"type": "TEXT_MESSAGE_START", "role": "assistant", "timestamp": 1},
            {"type": "TOOL_CALL_START", "toolCallName": "f", "timestamp": 1},
            {"type": "TOOL_CALL_RESULT", "toolCallId": "c1", "content": "x", "timestamp": 1},
            {"type": "TOOL_CALL_END", "timestamp": 2**53},
            RF,
        ],
        None,
    ),
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
