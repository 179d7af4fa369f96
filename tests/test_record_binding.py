"""`record --binding sse|protobuf`: a protobuf answer saved as its raw body (which `validate`
recognises), the secrets it echoes scrubbed frame by frame, or the body refused when a secret
sits in bytes that do not decode (https://docs.ag-ui.com/spec/1.1/basic/transports/http-protobuf)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from agui_conformance.cli import main
from agui_conformance.protobuf import MEDIA_TYPE, encode_event, frame
from tests.hostile_agents import serve_app

REQUEST = Path(__file__).resolve().parents[1] / "examples" / "request.json"
TOKEN = "tok-9d1e6b35c2"
PROTO_ACCEPT = f"{MEDIA_TYPE}, text/event-stream"


def _record(url: str, out: Path, *extra: str) -> tuple[int, str]:
    args = ["record", url, "--input", str(REQUEST), "-o", str(out), *extra]
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


def _validate(path: Path) -> tuple[int, dict[str, Any]]:
    """validate's JSON report of one recording, as its run's findings, exercised rules,
    event count and conformance (no error-level finding)."""
    args = ["validate", str(path), "--input", str(REQUEST), "--format", "json"]
    result = CliRunner().invoke(main, args)
    [run] = json.loads(result.stdout)["cases"][0]["runs"]
    return result.exit_code, {
        "findings": run["findings"],
        "exercised": run["exercised"],
        "events": len(run["events"]) + run["eventsOmitted"],
        "conformant": not any(f["level"] == "error" for f in run["findings"]),
    }


def _verdict(report: dict[str, Any]) -> tuple[Any, ...]:
    rules = sorted((f["rule"], f["level"], f["index"]) for f in report["findings"])
    # the binding's own framing rules are exercised only by a protobuf body
    judged = sorted(r for r in report["exercised"] if not r.startswith(("proto-", "sse-")))
    return report["conformant"], rules, report["events"], judged


@pytest.mark.parametrize("fault", [None, "double-terminal"])
def test_a_protobuf_recording_validates_as_the_sse_recording_of_the_same_run(
    tmp_path: Path, fault: str | None
) -> None:
    from reference_agent.app import AgentConfig
    from reference_agent.server import running_agent

    with running_agent(AgentConfig(fault=fault)) as agent:
        code, said = _record(agent.url, tmp_path / "run.bin", "--binding", "protobuf")
        assert code == 0, said
        assert "a protobuf body of" in said
        code, said = _record(agent.url, tmp_path / "run.jsonl", "--binding", "sse")
        assert code == 0, said
    body = (tmp_path / "run.bin").read_bytes()
    assert body[:1] == b"\x00"  # length-prefixed frames, not text
    sidecar = json.loads((tmp_path / "run.bin.timing.json").read_text())
    assert sidecar["format"] == "proto" and sidecar["requestHeaders"]["Accept"] == PROTO_ACCEPT
    assert sidecar["responseHeaders"]["content-type"] == MEDIA_TYPE
    proto_code, proto = _validate(tmp_path / "run.bin")
    sse_code, sse = _validate(tmp_path / "run.jsonl")
    assert proto_code == sse_code == (0 if fault is None else 1)
    assert _verdict(proto) == _verdict(sse)
    assert "proto-frame-undecodable" in proto["exercised"]
    assert "proto-frame-undecodable" not in sse["exercised"]
    assert (fault is None) == (proto["findings"] == [])


def _echoing(tail: bytes = b"", split: bool = False) -> FastAPI:
    """Answers protobuf (frames written with the codec) echoing the request's Authorization
    value in a TEXT_MESSAGE_CONTENT (split over two deltas when `split`); `tail`: bytes after
    the last frame, formatted with the value."""
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        said = request.headers.get("authorization", "")
        body = json.loads(await request.body())
        ids = {"threadId": body["threadId"], "runId": body["runId"]}
        half = len(said) // 2
        deltas = [said[:half], said[half:]] if split else [f"you sent {said}"]
        events = [
            {"type": "RUN_STARTED", **ids, "protocolVersion": "1.1"},
            {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
            *({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": d} for d in deltas),
            {"type": "TEXT_MESSAGE_END", "messageId": "m"},
            {"type": "RUN_FINISHED", **ids},
        ]

        async def stream() -> AsyncIterator[bytes]:
            for event in events:
                yield frame(encode_event(event))
            if tail:
                yield tail.replace(b"SECRET", said.encode())

        return StreamingResponse(stream(), media_type=MEDIA_TYPE)

    return app


def _record_with_token(app: FastAPI, out: Path) -> tuple[int, str]:
    """`record --binding protobuf` of `app`, sending the token as the agent's auth header."""
    with serve_app(app) as url:
        return _record(
            url, out, "--binding", "protobuf", "--agent-header", f"Authorization: Bearer {TOKEN}"
        )


@pytest.mark.parametrize("split", [False, True])
def test_a_secret_echoed_inside_a_frame_is_scrubbed_and_the_rest_kept(
    tmp_path: Path, split: bool
) -> None:
    out = tmp_path / "run.bin"
    code, said = _record_with_token(_echoing(split=split), out)
    assert code == 0, said
    body = out.read_bytes()
    for text in (body, (tmp_path / "run.bin.timing.json").read_bytes(), said.encode()):
        assert TOKEN.encode() not in text
    code, report = _validate(out)
    assert report["findings"] == [], report
    # the frames that carried no secret keep the agent's bytes: RUN_STARTED comes first
    start = {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"}
    first = frame(encode_event(start))
    assert first in body
    from agui_conformance.recording import open_recording

    events = [json.loads(p.data) for p in open_recording(out).payloads]
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == ("***" if split else "you sent ***")
    assert code == 0


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(b"\x00\x00\x01\x00 SECRET", id="cut-frame"),
        pytest.param(b"\x00\x00\x00\x0a\xff\xffSECRET", id="undecodable-frame"),
    ],
)
def test_a_secret_in_bytes_that_do_not_decode_is_refused_and_nothing_written(
    tmp_path: Path, tail: bytes
) -> None:
    out = tmp_path / "run.bin"
    code, said = _record_with_token(_echoing(tail=tail), out)
    assert code == 2, said
    assert said.startswith("Error: nothing written: the protobuf body carries a secret")
    assert "--binding sse" in said and TOKEN not in said
    assert not out.exists() and not (tmp_path / "run.bin.timing.json").exists()


def test_the_same_bytes_without_a_secret_are_written_as_they_came(tmp_path: Path) -> None:
    out = tmp_path / "run.bin"
    tail = b"\x00\x00\x01\x00 cut short"
    with serve_app(_echoing(tail=tail)) as url:
        code, said = _record(url, out, "--binding", "protobuf")
    assert code == 0, said
    assert out.read_bytes().endswith(tail)
    code, report = _validate(out)
    assert code == 1 and [f["rule"] for f in report["findings"]] == ["stream-truncated"]


def test_an_agent_without_protobuf_is_recorded_as_jsonl(tmp_path: Path) -> None:
    from tests.hostile_agents import agent, conformant_run

    out = tmp_path / "run.jsonl"
    with serve_app(agent(conformant_run)) as url:
        code, said = _record(url, out, "--binding", "protobuf")
    assert code == 0, said and "protobuf body" not in said
    assert json.loads(out.read_text().splitlines()[0])["type"] == "RUN_STARTED"
    assert json.loads((tmp_path / "run.jsonl.timing.json").read_text())["format"] == "jsonl"


def test_a_secret_in_an_event_type_newer_than_the_wire_schema_is_refused() -> None:
    from agui_conformance.protobuf import decode_event
    from agui_conformance.protobuf.scrub import SecretInBody, scrubbed_body
    from agui_conformance.redact import Secrets

    secret = TOKEN.encode()
    inner = b"\x0a" + bytes([len(secret)]) + secret  # a message: field 1, a string
    future = b"\x9a\x06" + bytes([len(inner)]) + inner  # arm 99, which the schema predates
    assert decode_event(future) is None  # a valid message of an arm we do not know
    start = frame(encode_event({"type": "RUN_STARTED", "threadId": "t", "runId": "r"}))
    with pytest.raises(SecretInBody, match="newer than the wire schema"):
        scrubbed_body(start + frame(future), Secrets([TOKEN]))
    clean = start + frame(future.replace(secret, b"x" * len(secret)))
    assert scrubbed_body(clean, Secrets([TOKEN])) == clean  # no secret: bytes as they came
