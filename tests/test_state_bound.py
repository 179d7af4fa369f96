"""The rebuilt state is bounded (issue "Bounded everywhere", item 1).

A 6 KB recording whose STATE_DELTAs `copy`/`move` the state into itself doubles
it with every delta: 22 deltas took 86 s and 8.6 GB and were called conformant,
40 were killed. The state and the activities the machine rebuilds now share a
budget (`max_state_bytes`, 8 MiB of JSON by default); past it, one
`state-too-large` finding and no more tracking for the rest of the stream.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agui_conformance.jsonpatch import PatchError, SizeExceeded, apply_patch
from agui_conformance.jsonsize import COPY_FACTOR, DEFAULT_MAX_STATE_BYTES, SizeBudget, json_size
from agui_conformance.machine import SequenceMachine
from agui_conformance.model import Finding
from agui_conformance.validator import StreamValidator, validate_events
from tests.bounded_run import run_cli

START = {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"}
FINISH = {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}
DOUBLE = [
    {"op": "copy", "from": "/items", "path": "/copy"},
    {"op": "move", "from": "/copy", "path": "/items/-"},
]


def _doubling(deltas: int) -> list[dict[str, Any]]:
    """The reproduction: a small snapshot, then deltas that each double it."""
    snapshot = {"items": [f"item {n}: {'x' * 20}" for n in range(40)]}
    events: list[dict[str, Any]] = [START, {"type": "STATE_SNAPSHOT", "snapshot": snapshot}]
    events += [{"type": "STATE_DELTA", "delta": DOUBLE} for _ in range(deltas)]
    return [*events, FINISH]


def _rules(findings: list[Finding]) -> list[tuple[str, int | None]]:
    return [(f.rule, f.index) for f in findings]


@pytest.mark.slow
@pytest.mark.parametrize("deltas", [22, 40])
def test_a_doubling_recording_is_validated_in_bounded_time_and_memory(
    tmp_path: Path, deltas: int
) -> None:
    path = tmp_path / "doubling.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in _doubling(deltas)) + b"\n")
    assert path.stat().st_size < 8_000
    done = run_cli(["validate", str(path), "--format", "json"], timeout=60)
    assert not done.timed_out and done.returncode == 0, done.stderr[-2000:]
    assert done.peak_rss < 512 << 20, done.peak_rss
    report = orjson.loads(done.stdout)
    findings = report["cases"][0]["runs"][0]["findings"]
    found = [f for f in findings if f["rule"] == "state-too-large"]
    assert len(found) == 1 and found[0]["level"] == "info"
    assert "8,388,608 bytes" in found[0]["message"]


def test_past_the_bound_state_rules_fall_silent() -> None:
    """The delta that would pass the bound is the finding; a later delta that does not
    apply (it would be state-delta-not-applicable) is not judged: the state is unknown."""
    events = _doubling(12)
    bad = {"type": "STATE_DELTA", "delta": [{"op": "remove", "path": "/nowhere"}]}
    events.insert(-1, bad)
    unbounded = validate_events(events, max_state_bytes=1 << 40)
    assert _rules(unbounded.findings) == [("state-delta-not-applicable", 14)]
    bounded = validate_events(events, max_state_bytes=20_000)
    assert _rules(bounded.findings) == [("state-too-large", 5)]  # the 4th doubling
    finding = bounded.findings[0]
    assert finding.pointer == "/delta/0" and "20,000 bytes" in finding.message
    assert finding.category == "state"


def test_the_default_bound_is_8_mib_and_a_negative_one_is_refused() -> None:
    assert DEFAULT_MAX_STATE_BYTES == 8 * 1024 * 1024
    with pytest.raises(ValueError, match="max_state_bytes"):
        StreamValidator(max_state_bytes=-1)


def test_a_snapshot_past_the_bound_is_not_tracked() -> None:
    events = [START, {"type": "STATE_SNAPSHOT", "snapshot": {"big": "x" * 5_000}}]
    events += [{"type": "STATE_DELTA", "delta": [{"op": "remove", "path": "/nowhere"}]}, FINISH]
    result = validate_events(events, max_state_bytes=4_000)
    assert _rules(result.findings) == [("state-too-large", 1)]
    assert result.findings[0].pointer == "/snapshot"


def test_an_input_state_past_the_bound_is_reported_at_the_first_delta() -> None:
    request = {"threadId": "t", "runId": "r", "state": {"big": "x" * 5_000}, "messages": []}
    delta = {"type": "STATE_DELTA", "delta": [{"op": "remove", "path": "/nowhere"}]}
    result = validate_events([START, delta, delta, FINISH], request=request, max_state_bytes=4_000)
    assert _rules(result.findings) == [("state-too-large", 1)]
    assert "RunAgentInput.state" in result.findings[0].message


def test_activities_share_the_budget() -> None:
    snap = {"type": "ACTIVITY_SNAPSHOT", "messageId": "a1", "activityType": "plan"}
    events: list[dict[str, Any]] = [START, {**snap, "content": {"steps": ["one", "two"]}}]
    grow = [
        {"op": "copy", "from": "/steps", "path": "/c"},
        {"op": "move", "from": "/c", "path": "/steps/-"},
    ]
    delta = {"type": "ACTIVITY_DELTA", "messageId": "a1", "activityType": "plan", "patch": grow}
    events += [delta] * 12
    events += [{**delta, "patch": [{"op": "remove", "path": "/nowhere"}]}, FINISH]
    unbounded = validate_events(events, max_state_bytes=1 << 40)
    assert _rules(unbounded.findings) == [("activity-delta-not-applicable", 14)]
    bounded = validate_events(events, max_state_bytes=2_000)
    [finding] = bounded.findings
    assert finding.rule == "state-too-large" and "ACTIVITY_DELTA of `a1`" in finding.message


def test_a_copy_rolled_back_again_and_again_runs_out_of_its_allowance() -> None:
    """Each delta copies half the bound and then fails a test: the state never grows,
    but the copying would repeat with every event; it counts, rolled back or not."""
    snapshot = {"half": "x" * 5_000}
    loop = [
        {"op": "copy", "from": "/half", "path": "/again"},
        {"op": "test", "path": "/half", "value": "not this"},
    ]
    events = [START, {"type": "STATE_SNAPSHOT", "snapshot": snapshot}]
    events += [{"type": "STATE_DELTA", "delta": loop}] * 100
    result = validate_events([*events, FINISH], max_state_bytes=10_100)
    rules = [f.rule for f in result.findings]
    # 8 x 10,100 bytes of copying allows 16 copies of 5,002 bytes; the 17th is the finding
    assert rules == ["state-patch-test-failed"] * 16 + ["state-too-large"]
    assert "`copy` operations would have copied" in result.findings[-1].message


def test_the_fast_path_accounts_as_the_full_path() -> None:
    """Plain patches near the bound: the fast path applies them or hands them over, and
    both paths end with the same account (and the same findings)."""
    events: list[dict[str, Any]] = [START, {"type": "STATE_SNAPSHOT", "snapshot": {"a": []}}]
    for n in range(60):
        events.append(
            {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "/a/-", "value": "y" * n}]}
        )
        if n % 7 == 0:
            events.append({"type": "STATE_DELTA", "delta": [{"op": "remove", "path": "/a/0"}]})
    events.append(FINISH)
    outcomes = []
    for fast in (True, False):
        validator = StreamValidator(fast=fast, max_state_bytes=1_500)
        validator.feed_payloads([orjson.dumps(e) for e in events])
        ctx = validator._machine._ctx
        outcomes.append((validator.result().findings, ctx.budget.used, ctx.state_size))
        if fast:
            assert validator.fast_handled > 50
    assert outcomes[0] == outcomes[1]
    assert [f.rule for f in outcomes[0][0]] == ["state-too-large"]


def test_a_failed_test_names_a_huge_value_without_serialising_it() -> None:
    doc = {"big": list(range(100_000))}
    with pytest.raises(PatchError) as caught:
        apply_patch(doc, [{"op": "test", "path": "/big", "value": 1}])
    assert "an array of 100,000 items" in caught.value.reason
    assert len(caught.value.reason) < 200


# ---------------------------------------------------------------- properties

_PATHS = ["", "/s", "/s/0", "/t", "/t/k", "/s/-", "/t/new"]


@st.composite
def _amplifying_ops(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["copy", "move", "add"]))
    if kind == "add":
        value = draw(st.sampled_from([0, "v" * 30, [1, 2, 3], {"k": "x" * 10}]))
        return {
            "op": "add",
            "path": draw(st.sampled_from(["/s/-", "/t/-", "/s/0/-"])),
            "value": value,
        }
    return {
        "op": kind,
        "from": draw(st.sampled_from(_PATHS)),
        "path": draw(st.sampled_from(_PATHS)),
    }


_PATCHES = st.lists(st.lists(_amplifying_ops(), min_size=1, max_size=3), min_size=1, max_size=10)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patches=_PATCHES, bound=st.integers(min_value=0, max_value=4_000))
def test_random_amplifying_patches_stay_within_the_bound(
    patches: list[list[dict[str, Any]]], bound: int
) -> None:
    """Random copy, move and add-at-`-` sequences: the bounded run never holds more than
    the bound nor copies more than its allowance, finishes quickly, and its findings
    before the bound stopped tracking are exactly those of an unbounded run."""
    snapshot = {"s": [["x" * 20]], "t": {"k": ["y"]}}
    events = [START, {"type": "STATE_SNAPSHOT", "snapshot": snapshot}]
    events += [{"type": "STATE_DELTA", "delta": patch} for patch in patches]
    events.append(FINISH)

    started = time.monotonic()
    machine = SequenceMachine(max_state_bytes=bound)
    ctx = machine._ctx
    for index, event in enumerate(events):
        machine.feed(event, index)
        assert ctx.budget.used <= bound
        assert ctx.budget.copied <= COPY_FACTOR * bound
        if ctx.state_known:
            assert ctx.budget.used == ctx.state_size == json_size(ctx.state, 1 << 62)
    assert time.monotonic() - started < 10  # generous: a hostile input must not stall

    bounded = validate_events(events, max_state_bytes=bound)
    unbounded = validate_events(events, max_state_bytes=1 << 40)
    trips = [f.index for f in bounded.findings if f.rule == "state-too-large"]
    assert len(trips) <= 1
    if not trips:
        assert bounded.findings == unbounded.findings
        return
    before = [f for f in unbounded.findings if f.index is not None and f.index < trips[0]]
    assert [f for f in bounded.findings if f.index is not None and f.index < trips[0]] == before
    later = [f.rule for f in bounded.findings if f.index is not None and f.index > trips[0]]
    assert not [r for r in later if r.startswith("state-")]


@settings(max_examples=300, deadline=None)
@given(patches=_PATCHES, bound=st.integers(min_value=0, max_value=3_000))
def test_the_account_is_exact_whatever_the_patches(
    patches: list[list[dict[str, Any]]], bound: int
) -> None:
    """After every patch, applied, failed or refused, the budget holds exactly the size
    of the document it accounts (never re-measured by the applier)."""
    doc: Any = {"s": [["x" * 20]], "t": {"k": ["y"]}}
    budget = SizeBudget(limit=max(bound, json_size(doc, 1 << 62)))
    budget.used = json_size(doc, 1 << 62)
    for patch in patches:
        try:
            doc = apply_patch(doc, patch, budget=budget)
        except SizeExceeded:
            pass
        except PatchError:
            pass
        assert budget.used == json_size(doc, 1 << 62) <= budget.limit


def test_validate_takes_the_bound_as_an_option(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from agui_conformance.cli import main

    path = tmp_path / "doubling.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in _doubling(22)) + b"\n")

    def trip(*options: str) -> dict[str, Any]:
        done = CliRunner().invoke(main, ["validate", str(path), "--format", "json", *options])
        assert done.exit_code == 0, done.output
        report = orjson.loads(done.stdout)
        findings = report["cases"][0]["runs"][0]["findings"]
        [found] = [f for f in findings if f["rule"] == "state-too-large"]
        return found  # type: ignore[no-any-return]

    default, small = trip(), trip("--max-state-bytes", "4000")
    assert "8,388,608 bytes" in default["message"] and "4,000 bytes" in small["message"]
    assert small["index"] < default["index"]
    refused = CliRunner().invoke(main, ["validate", str(path), "--max-state-bytes", "-1"])
    assert refused.exit_code == 2
