"""Protobuf bodies over a real socket, from agents that write them awkwardly: the frames a
client reads do not depend on how the agent's writes were cut, and a fatal frame lets the
client stop reading at once (every wait has a deadline)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from agui_conformance.hits import Hit
from agui_conformance.protobuf import MEDIA_TYPE, encode_event, frame
from agui_conformance.protobuf.reader import FrameReader
from agui_conformance.sse import Frame
from tests.hostile_agents import serve_app
from tests.proto_events import EVERY_TYPE

BODY = b"".join(frame(encode_event(e)) for e in EVERY_TYPE)
TIMEOUT = httpx.Timeout(10.0)


def _writer(pieces: list[bytes], pause: float = 0.0) -> FastAPI:
    app = FastAPI()

    @app.post("/")
    async def run() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for piece in pieces:
                yield piece
                await asyncio.sleep(pause)

        return StreamingResponse(body(), media_type=MEDIA_TYPE)

    return app


def _read(url: str) -> tuple[list[Any], list[Hit], int]:
    reader = FrameReader()
    out: list[Frame | Hit] = []
    with httpx.Client(timeout=TIMEOUT) as client:
        with client.stream("POST", url, json={}, headers={"accept": MEDIA_TYPE}) as response:
            assert response.headers["content-type"] == MEDIA_TYPE
            for chunk in response.iter_raw():
                out += reader.feed(chunk)
                if reader.stopped:
                    break
        out += reader.close()
    events = [orjson.loads(item.data) for item in out if isinstance(item, Frame)]
    return events, [item for item in out if isinstance(item, Hit)], reader.bytes_seen


def test_frames_written_in_three_byte_pieces_read_the_same() -> None:
    odd = [BODY[i : i + 3] for i in range(0, len(BODY), 3)]  # headers and messages split
    with serve_app(_writer(odd)) as url:
        events, hits, _ = _read(url)
    assert events == EVERY_TYPE and hits == []


def test_frames_coalesced_into_one_write_read_the_same() -> None:
    with serve_app(_writer([BODY])) as url:
        events, hits, _ = _read(url)
    assert events == EVERY_TYPE and hits == []


def test_a_fatal_frame_ends_the_read_before_the_body_does() -> None:
    first = frame(encode_event(EVERY_TYPE[1]))
    broken = frame(b"\x0a\x05ab")
    rest = [frame(encode_event(EVERY_TYPE[2]))] * 200  # the agent keeps writing, slowly
    with serve_app(_writer([first, broken, *rest], pause=0.01)) as url:
        events, hits, seen = _read(url)
    assert events == [EVERY_TYPE[1]]
    assert [h.rule for h in hits] == ["proto-frame-undecodable"]
    assert seen < len(first) + len(broken) + sum(map(len, rest))
