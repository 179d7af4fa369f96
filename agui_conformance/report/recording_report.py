"""A recorded stream as a compliance `Report`: the HTML view of `validate`.

Owns turning one recording (and, when `record` left one beside it, its timing
sidecar: status, headers, arrival time of every event) plus the validator's
findings into a one-case `Report`, so a recording gets the same annotated
transcript, matrix and verdict as a live run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from agui_conformance.exercise import exercised, request_tokens, stream_tokens
from agui_conformance.model import CaseResult, Level, Report, RunRecord, ToolInfo, ValidationResult
from agui_conformance.recording import Source, open_recording

MAX_EVENTS = 1_000_000  # a report of more would be useless to read; the rest is summarised


def _events(source: Source, fmt: str) -> tuple[list[Any], str]:
    events: list[Any] = []
    with open_recording(source, fmt) as recording:
        for payload in recording:
            if len(events) >= MAX_EVENTS:
                break
            try:
                events.append(orjson.loads(payload.data))
            except orjson.JSONDecodeError:
                events.append(payload.data[:2000].decode("utf-8", "replace"))
        return events, recording.format


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

    events, kind = _events(source, fmt)
    side = _sidecar(path)
    tokens = stream_tokens(events) | request_tokens(request)
    if kind == "sse":
        tokens.add("sse")
    times = side.get("eventTimesMs")
    threshold = Level.INFO if fail_on == "never" else Level(fail_on)
    bad = any(f.level.rank >= threshold.rank for f in result.findings)
    run = RunRecord(
        request=request if request is not None else {},
        requestHeaders=redact_headers(dict(side.get("requestHeaders") or {})),
        status=side.get("status"),
        responseHeaders=dict(side.get("responseHeaders") or {}),
        timing={k: side[k] for k in ("firstEventMs", "totalMs") if k in side},
        events=events,
        eventTimesMs=times if isinstance(times, list) and len(times) == len(events) else [],
        findings=result.findings,
        exercised=exercised(tokens),
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
