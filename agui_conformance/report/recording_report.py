"""A recorded stream as a compliance `Report`: the HTML view of `validate`.

Owns turning one recording (and, when `record` left one beside it, its timing
sidecar: status, headers, arrival time of every event) plus the validator's
findings into a one-case `Report`, so a recording gets the same annotated
transcript, matrix and verdict as a live run.

Bounded in memory whatever the recording's length: it is read once more, one
event at a time; the report keeps the first `MAX_EVENTS` events (at most
`MAX_KEPT_BYTES` of them) and counts the rest (`eventsOmitted`), and the
rules the stream exercised come from the validator's own pass
(`ValidationResult.exercised`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from agui_conformance.model import (
    CaseResult,
    Report,
    RunRecord,
    ToolInfo,
    ValidationResult,
    fail_level,
)
from agui_conformance.recording import Source, open_recording

MAX_EVENTS = 2_000  # events a report keeps, as the live runner does; the rest are counted
MAX_KEPT_BYTES = 4 << 20  # payload bytes it keeps in all (a few huge events stop it sooner)


@dataclass
class _Read:
    """One pass over a recording: its first events and how many there were."""

    kept: list[Any] = field(default_factory=list)
    total: int = 0
    _kept_bytes: int = 0

    def add(self, data: bytes) -> None:
        self.total += 1
        if len(self.kept) >= MAX_EVENTS or self._kept_bytes >= MAX_KEPT_BYTES:
            return
        try:
            event: Any = orjson.loads(data)
        except orjson.JSONDecodeError:
            event = data[:2000].decode("utf-8", "replace")
        self.kept.append(event)
        self._kept_bytes += len(data)


def _read(source: Source, fmt: str) -> _Read:
    read = _Read()
    with open_recording(source, fmt) as recording:
        for payload in recording:
            read.add(payload.data)
    return read


def _sidecar(path: str | None) -> dict[str, Any]:
    """The timing sidecar `record` writes beside a recording (empty when there is none)."""
    if path is None:
        return {}
    try:
        data = orjson.loads(Path(f"{path}.timing.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def recording_report(
    source: Source,
    name: str,
    result: ValidationResult,
    *,
    request: Any = None,
    fmt: str = "auto",
    fail_on: str = "error",
    path: str | None = None,
) -> Report:
    from agui_conformance import __version__
    from agui_conformance.transport import redact_headers, redact_url

    read = _read(source, fmt)
    events = read.kept
    side = _sidecar(path)
    times = side.get("eventTimesMs")
    times = times[: len(events)] if isinstance(times, list) and len(times) == read.total else []
    threshold = fail_level(fail_on)
    bad = any(f.level.rank >= threshold.rank for f in result.findings)
    run = RunRecord(
        request=request if request is not None else {},
        requestHeaders=redact_headers(dict(side.get("requestHeaders") or {})),
        status=side.get("status"),
        responseHeaders=dict(side.get("responseHeaders") or {}),
        timing={k: side[k] for k in ("firstEventMs", "totalMs") if k in side},
        events=events,
        eventTimesMs=times,
        eventsOmitted=read.total - len(events),
        findings=result.findings,
        exercised=result.exercised,  # the validator's pass over every event
    )
    origin = f" from {redact_url(str(side['url']))}" if side.get("url") else ""
    case = CaseResult(
        id="recording",
        title=f"Recorded stream {name}{origin}",
        requirements=[],
        expect="recording",
        status="failed" if bad else "passed",
        runs=[run],
    )
    return Report(
        tool=ToolInfo(version=__version__),
        target=name,
        profile=result.profile,
        failOn=fail_on,
        command=f"agui-conformance validate {name}"
        + (" --input REQUEST.json" if request is not None else ""),
        cases=[case],
    )
