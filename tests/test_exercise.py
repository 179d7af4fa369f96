"""What counts as exercising a rule (rules/triggers.yaml) is consistent with the rules."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agui_conformance.exercise import REQUEST_KEYS, exchange_tokens, exercised, triggers
from agui_conformance.rules import catalog
from agui_conformance.schema import get_checker

from .test_rule_fixtures import ALL

FIXED = {
    "stream", "sse", "request", "valid-input", "probe", "survival", "auth-probe", "http",
    "multi-run", "parts", "reopen:text", "reopen:tool", "request:history", "capabilities",
}  # fmt: skip
PREFIXES = ("field:", "key:", "outcome:")


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
