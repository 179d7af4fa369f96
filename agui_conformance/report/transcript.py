"""The annotated wire transcript and timeline of one run, ready to render.

Owns turning a `RunRecord` into rows (one per event, with runs of content
deltas of one item collapsed into a single row unless one of them broke a
rule), the findings attached to each row, the findings grouped (same rule,
same message once ids and numbers are set aside) and the binned timeline.
Knows no HTML; the templates only print what this builds.

Bounded whatever the run holds: at most `MAX_ROWS` rows, at most
`FULL_PER_RULE` findings of one rule shown in full on the rows (the rest as
a bare mark), at most `MAX_GROUPS` groups with `WHERE` places each; what is
left out is counted, for the page to say.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

from agui_conformance.model import Finding, RunRecord

# Content-carrying events that collapse into one row per item and run of deltas.
DELTAS = {
    "TEXT_MESSAGE_CONTENT": "messageId",
    "TEXT_MESSAGE_CHUNK": "messageId",
    "TOOL_CALL_ARGS": "toolCallId",
    "TOOL_CALL_CHUNK": "toolCallId",
    "REASONING_MESSAGE_CONTENT": "messageId",
    "REASONING_MESSAGE_CHUNK": "messageId",
}
PREVIEW = 300  # characters of an event's JSON shown on its row
JOINED = 4_000  # characters of a collapsed run's joined deltas
BINS = 60
MAX_ROWS = 2_000  # rows of one run's transcript
FULL_PER_RULE = 20  # findings of one rule shown in full on the rows of one run
MAX_GROUPS = 100  # groups of findings listed per run
WHERE = 10  # event indexes listed per group
# What varies between occurrences of one mistake: quoted or backticked text, numbers.
_VARYING = re.compile(r"`[^`]*`|'[^']*'|\"[^\"]*\"|\d[\d,.]*")


@dataclass
class Row:
    first: int
    last: int
    kind: str
    at_ms: float | None
    until_ms: float | None
    text: str
    findings: list[Finding] = field(default_factory=list)  # shown in full
    item: str = ""
    marks: list[Finding] = field(default_factory=list)  # past FULL_PER_RULE: the rule only

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    @property
    def collapsed(self) -> bool:
        return self.last > self.first


@dataclass
class Timeline:
    bins: list[int]
    total_ms: float
    first_event_ms: float | None
    longest_gap_ms: float
    gap_at_ms: float | None

    @property
    def peak(self) -> int:
        return max(self.bins, default=0) or 1


def _preview(event: Any) -> str:
    if isinstance(event, str):
        text = event
    else:
        try:
            text = orjson.dumps(event).decode()
        except TypeError:
            text = repr(event)
    return text if len(text) <= PREVIEW else text[:PREVIEW] + " …"


def _kind(event: Any) -> str:
    if isinstance(event, dict) and isinstance(event.get("type"), str):
        return str(event["type"])
    return "(not an event)" if not isinstance(event, str) else "(undecodable)"


def _delta_key(event: Any) -> tuple[str, str] | None:
    """(family, item id) for a collapsible content delta, else None."""
    if not isinstance(event, dict):
        return None
    kind = event.get("type")
    if kind not in DELTAS or not isinstance(event.get("delta"), str):
        return None
    item = event.get(DELTAS[kind])
    family = kind.split("_")[0]
    return (family, item if isinstance(item, str) else "")


def rows(run: RunRecord, limit: int = MAX_ROWS) -> list[Row]:
    """One row per event, at most `limit`; consecutive deltas of one item with no finding
    share a row. A row shows its first `FULL_PER_RULE` findings of each rule in full
    (counted over the run), the rest as marks."""
    by_index: defaultdict[int, list[Finding]] = defaultdict(list)
    for finding in run.findings:
        if finding.index is not None:
            by_index[finding.index].append(finding)
    times = run.eventTimesMs
    out: list[Row] = []
    shown: dict[str, int] = {}
    open_key: tuple[str, str] | None = None
    joined: list[str] = []
    size = 0
    for index, event in enumerate(run.events):
        at = times[index] if index < len(times) else None
        key = _delta_key(event)
        hits = by_index.get(index, [])
        if key is not None and not hits and key == open_key and out:
            row = out[-1]
            row.last, row.until_ms = index, at
            if size < JOINED:
                delta = event["delta"]
                joined.append(delta)
                size += len(delta)
                row.text = "".join(joined)[:JOINED] + (" …" if size > JOINED else "")
            continue
        if len(out) >= limit:
            break
        if key is not None and not hits:
            open_key = key
            joined = [event["delta"]]
            size = len(event["delta"])
            shown_text = "".join(joined)[:JOINED]
            out.append(Row(index, index, _kind(event), at, at, shown_text, item=key[1]))
            continue
        open_key = None
        row = Row(index, index, _kind(event), at, at, _preview(event))
        for finding in hits:
            count = shown.get(finding.rule, 0) + 1
            shown[finding.rule] = count
            (row.findings if count <= FULL_PER_RULE else row.marks).append(finding)
        out.append(row)
    return out


def events_left_out(run: RunRecord, shown: list[Row]) -> int:
    """Events validated but on no row: past the rows' cap, or not kept in the record."""
    on_rows = shown[-1].last + 1 if shown else 0
    return max(0, len(run.events) - on_rows) + _omitted(run)


def events_total(run: RunRecord) -> int:
    return len(run.events) + _omitted(run)


def _omitted(run: RunRecord) -> int:
    omitted = getattr(run, "eventsOmitted", 0)  # not kept by the runner or the recording
    return omitted if isinstance(omitted, int) else 0


def stream_findings(run: RunRecord) -> list[Finding]:
    """Findings about the exchange as a whole (no event index), the first
    `FULL_PER_RULE` of each rule."""
    shown: dict[str, int] = {}
    out = []
    for finding in run.findings:
        if finding.index is None:
            shown[finding.rule] = shown.get(finding.rule, 0) + 1
            if shown[finding.rule] <= FULL_PER_RULE:
                out.append(finding)
    return out


@dataclass
class Group:
    """Occurrences of one mistake: one rule, one message once ids and numbers are set
    aside. `first` is the first occurrence; `where` the first `WHERE` event indexes."""

    first: Finding
    count: int = 0
    where: list[int] = field(default_factory=list)
    at_events: int = 0  # occurrences with an event index (the rest are about the stream)

    @property
    def whole_stream(self) -> bool:
        return self.count > self.at_events

    @property
    def more(self) -> int:
        """Occurrences at events that `where` does not list."""
        return self.at_events - len(self.where)


def pattern(message: str) -> str:
    """A message with what varies between occurrences (ids, values, numbers) set aside."""
    return _VARYING.sub("…", message)


def groups(findings: list[Finding]) -> list[Group]:
    """The findings grouped, the most severe first, then in stream order."""
    found: dict[tuple[str, str], Group] = {}
    for finding in findings:
        key = (finding.rule, pattern(finding.message))
        group = found.get(key)
        if group is None:
            group = found[key] = Group(finding)
        group.count += 1
        if finding.index is not None:
            group.at_events += 1
            if len(group.where) < WHERE:
                group.where.append(finding.index)
    last = 1 << 62
    return sorted(
        found.values(),
        key=lambda g: (-g.first.level.rank, g.where[0] if g.where else last),
    )


def timeline(run: RunRecord) -> Timeline:
    total = float(run.timing.get("totalMs") or 0.0)
    times = run.eventTimesMs
    span = max(total, times[-1] if times else 0.0) or 1.0
    bins = [0] * BINS
    for at in times:
        bins[min(BINS - 1, int(at / span * BINS))] += 1
    gap, gap_at = 0.0, None
    previous = times[0] if times else None
    for at in times[1:]:
        if previous is not None and at - previous > gap:
            gap, gap_at = at - previous, previous
        previous = at
    first = run.timing.get("firstEventMs")
    return Timeline(
        bins=bins,
        total_ms=span,
        first_event_ms=float(first) if isinstance(first, int | float) else None,
        longest_gap_ms=round(gap, 1),
        gap_at_ms=gap_at,
    )
