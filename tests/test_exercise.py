"""What counts as exercising a rule (rules/triggers.yaml) is consistent with the rules."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agui_conformance.exercise import (
    NESTED,
    REQUEST_KEYS,
    StreamTokens,
    _nested_keys,
    exchange_tokens,
    exercised,
    stream_tokens,
    triggers,
)
from agui_conformance.expectations import TOKEN as EXPECTATION
from agui_conformance.rules import catalog
from agui_conformance.schema import get_checker

from .test_rule_fixtures import ALL

FIXED = {
    "stream", "sse", "proto", "request", "valid-input", "probe", "survival", "auth-probe", "http",
    "multi-run", "parts", "reopen:text", "reopen:tool", "request:history", "capabilities",
    "differential", "isolation", "overlap", "state-types", "history", "expectation",
    "accept:sse-only", "accept:protobuf", "negotiation:protobuf", "binding-pair",
}  # fmt: skip
PREFIXES = ("field:", "key:", "outcome:", "refusal:", "run-error:")


def test_every_rule_has_triggers_and_nothing_else_does() -> None:
    assert set(triggers()) == set(catalog())
    assert all(triggers()[rule] for rule in catalog())


def test_trigger_tokens_are_ones_the_runner_produces() -> None:
    known = FIXED | {f"request:{k}" for k in REQUEST_KEYS} | set(get_checker().event_types())
    for rule, alternatives in triggers().items():
        for alternative in alternatives:
            for token in alternative:
                assert token in known or token.startswith(PREFIXES), (rule, token)


VIOLATIONS = [
    pytest.param(rule, case, id=f"{rule}:{case['name']}")
    for rule, data in ALL.items()
    for case in data.get("violations", [])
    if "stream" in case
]


@pytest.mark.parametrize(("rule", "case"), VIOLATIONS)
def test_a_stream_that_breaks_a_rule_exercises_it(rule: str, case: dict[str, Any]) -> None:
    """Where a rule fires, its trigger holds: "not exercised" is never claimed of a stream
    that could have broken the rule."""
    tokens = exchange_tokens("run", 200, case["stream"], case.get("input"))
    if case.get("expectations"):
        tokens.add(EXPECTATION)  # the runner adds it to a finished run it judged against them
    assert rule in exercised(tokens), (rule, sorted(tokens))


def test_a_plain_text_run_does_not_exercise_tool_or_subagent_rules() -> None:
    stream = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "hi"},
        {"type": "TEXT_MESSAGE_END", "messageId": "m"},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]
    done = set(exercised(exchange_tokens("run", 200, stream, {"messages": []})))
    assert {"lifecycle-first-event", "item-not-open", "identity-run-id-echo"} <= done
    assert not {"tool-args-not-json", "subagent-already-active", "frontend-tool-answered"} & done
    assert "input-rejection-5xx" not in done and "auth-not-enforced" not in done


def test_probes_exercise_only_the_input_handling_rules() -> None:
    done = set(exercised(exchange_tokens("reject", 400)))
    assert "input-rejection-5xx" in done and "lifecycle-first-event" not in done
    assert set(exercised(exchange_tokens("unauthorized", 401))) >= {"auth-not-enforced"}


def test_the_binding_served_and_the_accept_sent_are_tokens() -> None:
    """A protobuf answer exercises the protobuf rules, not the SSE framing ones; the Accept
    decides which negotiation rule the run exercised."""
    stream = [{"type": "RUN_STARTED", "threadId": "t", "runId": "r"}]
    binary = exchange_tokens("run", 200, stream, None, None, "protobuf", True)
    assert {"proto", "accept:protobuf"} <= binary and not {"sse", "accept:sse-only"} & binary
    assert "proto-content-type-inexact" in exercised(binary)
    text = exchange_tokens("run", 200, stream, None, None, "sse", False)
    assert {"sse", "accept:sse-only"} <= text and "proto" not in text
    assert "proto-not-admitted" in exercised(text)
    assert "proto-content-type-inexact" not in exercised(text)
    other = exchange_tokens("run", 200, [], None, None, None, True)  # JSON: no binding
    assert not {"accept:protobuf", "accept:sse-only", "proto", "sse"} & other


def test_hostile_events_never_raise() -> None:
    junk: list[Any] = [None, 1, "x", [], {"type": 5}, {"type": "RUN_FINISHED", "outcome": []}]
    deep: Any = {}
    for _ in range(10_000):
        deep = {"a": deep}
    junk.append({"type": "MESSAGES_SNAPSHOT", "messages": [deep]})
    assert "stream" in exchange_tokens("run", 200, junk, ["not", "a", "request"])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_inverted_index_agrees_with_the_definition(data: st.DataObject) -> None:
    """`exercised` counts tokens through an index; it must equal "some alternative of the
    rule is a subset of the tokens", in triggers.yaml order."""
    universe = sorted({token for alts in triggers().values() for alt in alts for token in alt})
    alternatives = sorted({alt for alts in triggers().values() for alt in alts}, key=sorted)
    tokens = data.draw(st.sets(st.sampled_from([*universe, "noise", "key:other"])))
    for alternative in data.draw(st.lists(st.sampled_from(alternatives), max_size=4)):
        tokens |= alternative  # whole alternatives too, so that rules hold
    naive = [rule for rule, alts in triggers().items() if any(alt <= tokens for alt in alts)]
    assert exercised(tokens) == naive


def tokens_by_definition(events: list[Any]) -> set[str]:
    """stream_tokens read literally, one event at a time: the reference the whole-stream
    version must agree with."""
    out = {"stream"}
    opened: dict[str, set[str]] = {"text": set(), "tool": set()}
    runs = 0
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            continue
        kind = event["type"]
        out.add(kind)
        out.update(f"field:{key}" for key in event)
        if kind == "RUN_STARTED":
            runs += 1
        if kind == "RUN_FINISHED":
            outcome = event.get("outcome")
            if isinstance(outcome, dict) and isinstance(outcome.get("type"), str):
                out.add(f"outcome:{outcome['type']}")
        if kind in ("TEXT_MESSAGE_START", "TOOL_CALL_START"):
            family = "text" if kind == "TEXT_MESSAGE_START" else "tool"
            item = event.get("messageId" if family == "text" else "toolCallId")
            if isinstance(item, str):
                if item in opened[family]:
                    out.add(f"reopen:{family}")
                opened[family].add(item)
        if kind in NESTED:
            _nested_keys(event, out)
    if runs > 1:
        out.add("multi-run")
    return out


KINDS = st.sampled_from(
    [
        "RUN_STARTED",
        "RUN_FINISHED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "STATE_DELTA",
        "MESSAGES_SNAPSHOT",
        "CUSTOM",
    ]
)
VALUES = st.recursive(
    st.none() | st.integers() | st.text(max_size=3) | KINDS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["type", "id", "content", "x"]), inner, max_size=3)
    ),
    max_leaves=8,
)
EVENTS = st.fixed_dictionaries(
    {"type": KINDS | VALUES},
    optional={
        "messageId": st.sampled_from(["m1", "m2"]) | VALUES,
        "toolCallId": st.sampled_from(["t1", "t2"]) | VALUES,
        "outcome": st.fixed_dictionaries({"type": st.sampled_from(["success", "interrupt"])})
        | VALUES,
        "delta": VALUES,
        "messages": VALUES,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENTS | VALUES, max_size=12))
def test_stream_tokens_agree_with_the_definition(events: list[Any]) -> None:
    assert stream_tokens(events) == tokens_by_definition(events)


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENTS | VALUES, max_size=16), st.lists(st.integers(0, 16), max_size=4))
def test_stream_tokens_in_batches_agree_with_the_definition(
    events: list[Any], cuts: list[int]
) -> None:
    """A recording's tokens, read in batches cut anywhere, are those of the whole stream
    read one event at a time: a second run or a reopened item in a later batch counts."""
    tokens = StreamTokens()
    bounds = [0, *sorted(cut for cut in cuts if cut <= len(events)), len(events)]
    for start, end in pairwise(bounds):
        tokens.add(events[start:end])
    assert tokens.tokens == tokens_by_definition(events)


def test_stream_tokens_see_nested_members_and_parts_beside_flat_events() -> None:
    """Within one batch, a result with parts and one with text content: the walk of the
    first and the union of the second both count."""
    flat = {"type": "TOOL_CALL_RESULT", "messageId": "r1", "toolCallId": "c1", "content": "x"}
    parts = {
        "type": "TOOL_CALL_RESULT",
        "messageId": "r2",
        "toolCallId": "c2",
        "content": [{"type": "text", "text": "y", "metadata": {"provider": "p"}}],
    }
    tokens = StreamTokens()
    tokens.add([flat, parts, dict(flat, messageId="r3")])
    assert {"key:messageId", "key:metadata", "key:provider", "parts"} <= tokens.tokens
    assert tokens.tokens == tokens_by_definition([flat, parts, dict(flat, messageId="r3")])
