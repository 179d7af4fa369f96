"""Decode and encode parity with the official TypeScript encoder (`@ag-ui/encoder` 1.0.0),
on a body it wrote (tests/fixtures/protobuf/README.md says how it was made).

Spec: https://docs.ag-ui.com/spec/1.1/basic/transports/http-protobuf#the-wire-schema
"""

from __future__ import annotations

from pathlib import Path

import orjson

from agui_conformance.hits import Hit
from agui_conformance.protobuf import encode_event, frame
from agui_conformance.protobuf.reader import FrameReader
from agui_conformance.sse import Frame

HERE = Path(__file__).parent / "fixtures" / "protobuf"
BODY = (HERE / "official-encoder-1.0.0.bin").read_bytes()
EVENTS = orjson.loads((HERE / "official-encoder-1.0.0.events.json").read_bytes())


def test_the_fixture_covers_every_event_type() -> None:
    assert len({e["type"] for e in EVENTS}) == 31


def test_frames_of_the_official_encoder_decode_to_its_input() -> None:
    reader = FrameReader()
    out = reader.feed(BODY) + reader.close()
    assert not [item for item in out if isinstance(item, Hit)]
    assert [orjson.loads(f.data) for f in out if isinstance(f, Frame)] == EVENTS


def test_our_encoder_writes_the_official_bytes() -> None:
    """Byte for byte, frame by frame (field order, packed lengths, Struct entries)."""
    at = 0
    for event in EVENTS:
        ours = frame(encode_event(event))
        assert BODY[at : at + len(ours)] == ours, event["type"]
        at += len(ours)
    assert at == len(BODY)
