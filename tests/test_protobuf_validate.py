"""`validate` on HTTP + Protobuf bodies: detected by itself, and judged exactly as the SSE
capture of the same events (CONS-007: the same verdict whichever way an event arrived).

Spec: https://docs.ag-ui.com/spec/1.1/basic/processing#every-transport-answers-the-same-way
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from agui_conformance.protobuf import Unencodable, encode_event, frame
from agui_conformance.recording import NotARecording, open_recording
from agui_conformance.validator import ValidationResult, validate_recording
from tests.proto_events import CLEAN_RUN, EVERY_TYPE
from tests.test_rule_fixtures import ALL


def sse_body(events: list[Any]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events)


def proto_body(events: list[Any]) -> bytes:
    return b"".join(frame(encode_event(e)) for e in events)


def verdict(result: ValidationResult) -> list[tuple[str, int | None, str]]:
    return [(f.rule, f.index, f.level.value) for f in result.findings]


def _encodable(stream: list[Any]) -> bool:
    try:
        proto_body(stream)
    except (Unencodable, AttributeError, TypeError):
        return False
    return True


# every rule fixture's event stream the wire schema can carry as it is
STREAMS = [
    pytest.param(case["stream"], case.get("input"), case.get("profile", "spec"),
                 id=f"{rule}:{kind}:{pos}")
    for rule, data in ALL.items()
    for kind in ("violations", "passes")
    for pos, case in enumerate(data.get(kind) or [])
    if isinstance(case.get("stream"), list) and case["stream"]
    and all(isinstance(e, dict) for e in case["stream"]) and _encodable(case["stream"])
]  # fmt: skip


def test_enough_fixture_streams_are_compared() -> None:
    assert len(STREAMS) >= 250  # 257 of the 288 fixture streams on 2026-12-07


@pytest.mark.parametrize(("stream", "request_", "profile"), STREAMS)
def test_same_verdict_on_sse_and_protobuf(stream: list[Any], request_: Any, profile: str) -> None:
    sse = validate_recording(sse_body(stream), fmt="sse", request=request_, profile=profile)
    proto = validate_recording(proto_body(stream), request=request_, profile=profile)
    assert verdict(proto) == verdict(sse)
    assert proto.events == sse.events


def test_a_protobuf_body_is_detected() -> None:
    body = proto_body(EVERY_TYPE)
    recording = open_recording(body)
    assert recording.format == "proto"
    assert [orjson.loads(p.data) for p in recording.payloads] == EVERY_TYPE
    result = validate_recording(body)
    assert "proto-frame-undecodable" in result.exercised
    assert "sse-bom" not in result.exercised


def test_clean_run_passes_on_protobuf() -> None:
    assert validate_recording(proto_body(CLEAN_RUN)).findings == []


def test_fatal_frame_stops_judging_the_end() -> None:
    """After an undecodable frame the rest is unseen: no stream-truncated guess."""
    body = proto_body(CLEAN_RUN[:2]) + frame(b"\x0a\x05ab") + proto_body(CLEAN_RUN[2:])
    assert [f.rule for f in validate_recording(body).findings] == ["proto-frame-undecodable"]


def test_other_binary_is_still_no_recording() -> None:
    for data in (b"\x00\xff\xfe not a stream \x00", frame(b"\x0a\x05ab"), b"\x89PNG\r\n\x00\x00"):
        with pytest.raises(NotARecording, match="--stream-format proto"):
            open_recording(data)
    result = validate_recording(frame(b"\x0a\x05ab"), fmt="proto")  # named: judged
    assert [f.rule for f in result.findings] == ["proto-frame-undecodable"]


def test_large_first_frame_is_detected_across_chunks() -> None:
    big = {"type": "STATE_SNAPSHOT", "snapshot": {"blob": "x" * 200_000}}
    body = proto_body([CLEAN_RUN[0], big, CLEAN_RUN[-1]])
    assert open_recording(body).format == "proto"
    assert open_recording(proto_body([big])).format == "proto"


def test_cli_validates_a_protobuf_recording(tmp_path: Path) -> None:
    path = tmp_path / "run.bin"
    path.write_bytes(proto_body(CLEAN_RUN[:-1]))  # no RUN_FINISHED: stream-truncated
    done = subprocess.run(
        [sys.executable, "-m", "agui_conformance.cli", "validate", str(path), "--format", "json"],
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    [run] = orjson.loads(done.stdout)["cases"][0]["runs"]
    assert [f["rule"] for f in run["findings"]] == ["stream-truncated"]
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01\x02\x03 not frames")
    done = subprocess.run(
        [sys.executable, "-m", "agui_conformance.cli", "validate", str(garbage)],
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2 and b"is not a recording" in done.stderr
