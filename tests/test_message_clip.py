"""Every finding message is bounded (issue "Bounded everywhere", item 3).

`pending-tool-calls-undeclared` listed every unanswered id: 989 KB on one line.
Lists in messages now name their first items and say how many they left out,
and every message is cut to `clip.MAX_MESSAGE` characters where the validator
makes its findings.
"""

from __future__ import annotations

from typing import Any

from agui_conformance.clip import MAX_MESSAGE, clip_text, code, listing, literal
from agui_conformance.report.text import to_text
from agui_conformance.validator import validate_events

START = {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"}
FINISH = {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}


def _unanswered_calls(count: int, id_length: int = 40) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [START]
    for n in range(count):
        call = f"call-{n:06d}-".ljust(id_length, "x")
        events.append({"type": "TOOL_CALL_START", "toolCallId": call, "toolCallName": "lookup"})
        events.append({"type": "TOOL_CALL_END", "toolCallId": call})
    return [*events, FINISH]


def test_pending_tool_calls_undeclared_names_ten_ids_and_counts_the_rest() -> None:
    """The reproduction: 22,000 calls left unanswered, no request (about 1 MB of ids)."""
    result = validate_events(_unanswered_calls(22_000))
    [finding] = [f for f in result.findings if f.rule == "pending-tool-calls-undeclared"]
    assert len(finding.message) <= 1_000
    assert "`call-000000-" in finding.message and "`call-000009-" in finding.message
    assert "`call-000010-" not in finding.message
    assert "… and 21,990 more" in finding.message
    assert max(len(line) for line in to_text(result).splitlines()) < 2_500


def test_every_message_is_capped_where_findings_are_made() -> None:
    """A message that no list clipping reaches (one id of a megabyte) is cut centrally."""
    huge = "h" * 1_000_000
    events = [
        START,
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": huge, "delta": "x"},
        {"type": "TOOL_CALL_START", "toolCallId": huge, "toolCallName": huge},
        {"type": "TOOL_CALL_END", "toolCallId": huge},
        FINISH,
    ]
    result = validate_events(events)
    assert result.findings
    assert all(len(f.message) <= MAX_MESSAGE for f in result.findings)
    cut = [f for f in result.findings if f.message.endswith("more characters)")]
    assert cut and all("… (" in f.message for f in cut)


def test_pending_tool_calls_wrong_lists_both_sides_clipped() -> None:
    events = _unanswered_calls(500)
    declared = [f"other-{n}" for n in range(5_000)]
    events[-1] = {**FINISH, "outcome": {"type": "success", "pendingToolCallIds": declared}}
    result = validate_events(events)
    [finding] = [f for f in result.findings if f.rule == "pending-tool-calls-wrong"]
    assert "… and 4,990 more]" in finding.message and "… and 490 more]" in finding.message
    assert len(finding.message) < 2_000


def test_clip_text_says_how_much_it_left_out() -> None:
    assert clip_text("short") == "short"
    clipped = clip_text("x" * 10_000, 100)
    assert len(clipped) <= 100 and clipped.endswith(" more characters)")
    left = int(clipped.split("(")[1].split(" ")[0].replace(",", ""))
    assert left == 10_000 - clipped.index("…")


def test_listing_names_the_first_items_each_cut() -> None:
    assert listing(["a", "b"]) == "`a`, `b`"
    assert listing([str(n) for n in range(12)], limit=3) == "`0`, `1`, `2` … and 9 more"
    assert len(code("y" * 500)) < 100
    assert literal("id") == "'id'" and literal({"a": 1}) == "{…1 members}"
    assert listing([1, None], show=literal) == "1, None"
