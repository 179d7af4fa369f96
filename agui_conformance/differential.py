"""Absent is empty: the same input sent with an optional member missing and with it empty.

The run input's `tools`, `context` and `state` are optional, and the spec says what a
missing one means: no tools, no context, the empty object
(https://docs.ag-ui.com/spec/1.1/basic/run-input#tools, #context, #state). An agent must
serve the two spellings alike. A differential case (`differential:` in cases/*.yaml) sends
its input with the member absent and with it empty, each on a fresh thread, and this
module compares the two answers by the *kind* of outcome only (a finished run, RUN_ERROR, a
4xx, a 5xx, no run, no answer), never by text, so a nondeterministic agent is judged on
what it did rather than on what it said.

The finding (`input-absent-not-empty`) is a difference with one side finished: the agent
shows it can serve the input, and one spelling of "nothing" breaks it. Both sides failing
is not this rule (the agent fails either way, and each run's own rules say how); a side
the harness could not judge (a cut, a harness error) decides nothing. The runner sends a
difference once more before it counts, and it counts only if it holds in the same
direction, so one flaky failure is not blamed on a member.

Owns the comparison; pure: reads recorded outcomes (`RunRecord`s), never sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agui_conformance.evidence import last_lifecycle, run_error_message
from agui_conformance.hits import Hit
from agui_conformance.model import RunRecord

RULE = "input-absent-not-empty"
SPEC = "https://docs.ag-ui.com/spec/1.1/basic/run-input"

# What a missing member means, as the spec words it, and its empty spelling.
EMPTY: dict[str, Any] = {"tools": [], "context": [], "state": {}}
MEANING = {"tools": "an empty list", "context": "an empty list", "state": "the empty object `{}`"}
SPELLED = {"tools": "`tools: []`", "context": "`context: []`", "state": "`state: {}`"}
# The inventory rows that say a missing member is its empty value (cases' requirements).
REQUIREMENT = {"tools": "INPUT-008", "context": "INPUT-010", "state": "INPUT-011"}
# A failed run's own findings, which a confirmed difference explains (`likely_cause`).
FAILURE_RULES = frozenset({"http-status", "input-valid-rejected", "run-error-on-valid-input"})

Kind = Literal[
    "finished",
    "run-error",
    "refused-4xx",
    "refused-5xx",
    "refused-other",
    "no-run",
    "no-answer",
    "unjudged",
]
# Kinds of an exchange the agent completed: only a pair of these exercises the rule.
COMPLETED: frozenset[str] = frozenset(
    {"finished", "run-error", "refused-4xx", "refused-5xx", "refused-other", "no-run"}
)
FAILED: frozenset[str] = (COMPLETED | {"no-answer"}) - {"finished"}
Direction = Literal["absent", "empty"]  # the side that failed while the other finished


@dataclass(frozen=True)
class Side:
    """What one side of a pair showed: its outcome kind, and what to quote of it."""

    kind: Kind
    status: int | None = None
    error: str = ""  # the RUN_ERROR message and code, quoted
    index: int | None = None  # the RUN_ERROR event's index


def side(outcome: str | None, status: int | None, events: Sequence[Any] = ()) -> Side:
    """The kind of an exchange from its outcome (agui_conformance.evidence.outcome)."""
    if outcome == "finished":
        return Side("finished", status)
    if outcome == "run-error":
        last = last_lifecycle(list(events))
        if last is None:
            return Side("run-error", status)
        return Side("run-error", status, run_error_message(last[1]), last[0])
    if outcome == "refused":
        code = status or 0
        if 400 <= code < 500:
            return Side("refused-4xx", status)
        return Side("refused-5xx" if code >= 500 else "refused-other", status)
    if outcome == "no-run":
        return Side("no-run", status)
    if outcome == "unresponsive":
        return Side("no-answer", status)
    return Side("unjudged", status)  # cut, left, harness-error: no evidence either way


def sides(absent: RunRecord, empty: RunRecord) -> tuple[Side, Side]:
    """The kinds of a recorded pair."""
    return (
        side(absent.outcome, absent.status, absent.events),
        side(empty.outcome, empty.status, empty.events),
    )


def with_empty(request: dict[str, Any], member: str) -> dict[str, Any]:
    """`request` with `member` spelled empty."""
    return {**request, member: EMPTY[member]}


def failing(absent: Side, empty: Side) -> Direction | None:
    """Which side failed while the other finished; None when they agree or cannot be told
    apart (both finished, both failed, or a side the harness could not judge)."""
    if absent.kind == "finished" and empty.kind in FAILED:
        return "empty"
    if empty.kind == "finished" and absent.kind in FAILED:
        return "absent"
    return None


def compared(absent: Side, empty: Side) -> bool:
    """Both sides were answered and completed: the pair exercised the rule."""
    return absent.kind in COMPLETED and empty.kind in COMPLETED


def judge(member: str, pairs: Sequence[tuple[Side, Side]]) -> tuple[Hit, Direction] | None:
    """The finding for `member` over its (absent, empty) pairs, the first as sent and any
    after it a repeat: a difference that held in every pair, in the same direction, with
    the side it is about."""
    if not pairs:
        return None
    directions = {failing(absent, empty) for absent, empty in pairs}
    if len(directions) != 1:
        return None
    (direction,) = directions
    if direction is None:
        return None
    absent, empty = pairs[0]
    text = f"With `{member}` absent {describe(absent)}; with {SPELLED[member]} {describe(empty)}."
    if len(pairs) > 1:
        text += " Sent again, each on a fresh thread, the pair differed the same way."
    text += f" A missing `{member}` must be treated exactly as {MEANING[member]} ({SPEC}#{member})."
    index = (absent if direction == "absent" else empty).index
    return Hit(RULE, index, text), direction


def likely_cause(member: str, direction: Direction) -> str:
    """The note a failed run's own finding (`FAILURE_RULES`) gets when the difference on
    `member` held: the other spelling of the same input was served, so the spelling is the
    likely cause, and the requirement it breaks."""
    if direction == "absent":
        other, cause = f"with {SPELLED[member]}", f"the missing `{member}`"
    else:
        other, cause = f"without `{member}`", f"the empty {SPELLED[member]}"
    return (
        f" The same input {other} was served (the run finished): {cause} is the likely "
        f"cause. {REQUIREMENT[member]}: a missing `{member}` must be treated exactly as "
        f"{MEANING[member]} ({SPEC}#{member})."
    )


def describe(one: Side) -> str:
    """What one side showed, as the middle of a sentence."""
    if one.kind == "finished":
        return "the run finished"
    if one.kind == "run-error":
        return f"the run ended in RUN_ERROR ({one.error or 'no message'})"
    if one.kind in ("refused-4xx", "refused-5xx"):
        return f"the input was refused with HTTP {one.status}, no run"
    if one.kind == "refused-other":
        return f"the request was answered HTTP {one.status}, no run"
    if one.kind == "no-run":
        return f"the answer (HTTP {one.status}) held no run that ended"
    if one.kind == "no-answer":
        return "the agent did not answer, or the run did not end, within the deadlines"
    return "the harness could not judge the answer"
