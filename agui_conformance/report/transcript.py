"""The annotated wire transcript and timeline of one run, ready to render.

Owns turning a `RunRecord` into rows (one per event, with runs of content
deltas of one item collapsed into a single row unless one of them broke a
rule), the findings attached to each row, and the binned timeline. Knows no
HTML; the templates only print what this builds.
"""

from __future__ import annotations

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


@dataclass
class Row:
    first: int
    last: int
    kind: str
    at_ms: float | None
    until_ms: float | None
    text: str
    findings: list[Finding] = field(default_factory=list)
    item: str = ""

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


def rows(run: RunRecord) -> list[Row]:
    """One row per event; consecutive deltas of one item with no finding share a row."""
    by_index: defaultdict[int, list[Finding]] = defaultdict(list)
    for finding in run.findings:
        if finding.index is not None:
            by_index[finding.index].append(finding)
    times = run.eventTimesMs
    out: list[Row] = []
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
        if key is not None and not hits:
            open_key = key
            joined = [event["delta"]]
            size = len(event["delta"])
            shown = "".join(joined)[:JOINED]
            out.append(Row(index, index, _kind(event), at, at, shown, item=key[1]))
            continue
        open_key = None
        out.append(Row(index, index, _kind(event), at, at, _preview(event), list(hits)))
    return out


def stream_findings(run: RunRecord) -> list[Finding]:
    """Findings about the exchange as a whole (no event index)."""
    return [f for f in run.findings if f.index is None]


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
