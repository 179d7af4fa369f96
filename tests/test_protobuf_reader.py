"""The protobuf frame reader: frames across chunk boundaries, several per chunk, and
each framing failure as its finding.

Spec: https://docs.ag-ui.com/spec/1.1/basic/transports/http-protobuf#framing (CONS-017)
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from agui_conformance.hits import Hit
from agui_conformance.protobuf import frame
from agui_conformance.protobuf.codec import encode_event
from agui_conformance.protobuf.reader import FrameReader
from agui_conformance.sse import Frame
from tests.proto_events import EVERY_TYPE

BODY = b"".join(frame(encode_event(e)) for e in EVERY_TYPE)
FUTURE = frame(b"\x82\x02\x02\x0a\x00")  # arm 32: an event type newer than the schema


def _read(chunks: list[bytes], **kwargs: int) -> list[Frame | Hit]:
    reader = FrameReader(**kwargs)
    out: list[Frame | Hit] = []
    for chunk in chunks:
        out += reader.feed(chunk)
    return out + reader.close()


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def test_whole_body_gives_every_event_in_order() -> None:
    out = _read([BODY])
    assert all(isinstance(item, Frame) for item in out)
    assert [orjson.loads(f.data) for f in out if isinstance(f, Frame)] == EVERY_TYPE
    assert [f.index for f in out if isinstance(f, Frame)] == list(range(len(EVERY_TYPE)))
    offsets = [f.offset for f in out if isinstance(f, Frame)]
    assert offsets[0] == 0 and offsets[1] == 4 + len(encode_event(EVERY_TYPE[0]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(BODY) + len(FUTURE)), max_size=40))
def test_same_output_whatever_the_chunking(cuts: list[int]) -> None:
    first = len(frame(encode_event(EVERY_TYPE[0])))
    body = BODY[:first] + FUTURE + BODY[first:]
    whole = _read([body])
    assert _read(_split(body, cuts)) == whole


def test_byte_at_a_time() -> None:
    assert _read([bytes([b]) for b in BODY]) == _read([BODY])


def test_frame_above_the_cap_stops_the_stream() -> None:
    first = frame(encode_event(EVERY_TYPE[1]))
    content = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x" * 300}
    big = frame(encode_event(content))
    out = _read([first + big + first], max_frame=100)
    assert [type(i).__name__ for i in out] == ["Frame", "Hit"]
    hit = out[1]
    assert isinstance(hit, Hit) and hit.rule == "proto-frame-too-large" and hit.index == 1
    assert f"byte {len(first)}" in hit.message


def test_a_declared_length_is_refused_before_its_bytes_arrive() -> None:
    reader = FrameReader()
    out = reader.feed(b"\xff\xff\xff\xff")  # 4 GiB declared: never buffered
    assert [h.rule for h in out if isinstance(h, Hit)] == ["proto-frame-too-large"]
    assert reader.feed(b"more") == [] and reader.close() == []


def test_little_endian_length_prefix_is_named() -> None:
    payload = encode_event(EVERY_TYPE[1])
    little = len(payload).to_bytes(4, "little") + payload
    for chunks in ([little + little], [little[:5], little[5:] + little]):
        out = _read(chunks)
        assert [type(i).__name__ for i in out] == ["Hit"]
        hit = out[0]
        assert isinstance(hit, Hit) and hit.rule == "proto-frame-undecodable"
        assert "little-endian" in hit.message
    out = _read([little[:-1]])  # cut before the swapped length arrived: too large
    assert [i.rule for i in out if isinstance(i, Hit)] == ["proto-frame-too-large"]


def test_undecodable_frame_is_fatal() -> None:
    good = frame(encode_event(EVERY_TYPE[1]))
    out = _read([good, frame(b"\x0a\x05ab"), good])
    assert [type(i).__name__ for i in out] == ["Frame", "Hit"]
    hit = out[1]
    assert isinstance(hit, Hit) and hit.rule == "proto-frame-undecodable" and hit.index == 1
    assert "not read further" in hit.message


def test_body_ending_mid_frame_is_truncation() -> None:
    good = frame(encode_event(EVERY_TYPE[1]))
    for cut in (1, 3, 4, len(good) - 1):
        out = _read([good, good[:cut]])
        rules = [i.rule for i in out if isinstance(i, Hit)]
        assert rules == ["stream-truncated"], cut
        assert "truncated run" in out[-1].message  # type: ignore[union-attr]
    assert _read([good]) == _read([good[:3], good[3:]])  # a clean end: no hit


def test_unknown_event_is_dropped_with_one_warning() -> None:
    good = frame(encode_event(EVERY_TYPE[1]))
    out = _read([good, FUTURE, FUTURE, good])
    assert [type(i).__name__ for i in out] == ["Frame", "Hit", "Frame"]
    assert out[1].rule == "proto-unknown-event"  # type: ignore[union-attr]
    assert [f.index for f in out if isinstance(f, Frame)] == [0, 1]


def test_an_empty_frame_is_undecodable() -> None:
    out = _read([frame(b"")])
    assert [i.rule for i in out if isinstance(i, Hit)] == ["proto-frame-undecodable"]


def test_fast_path_declines() -> None:
    assert FrameReader().take_event(BODY) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=6))
def test_arbitrary_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    """Hostile bodies: frames, hits, nothing else, and the same whatever the chunking."""
    whole = _read([data], max_frame=1 << 10)
    assert all(isinstance(item, (Frame, Hit)) for item in whole)
    assert _read(_split(data, cuts), max_frame=1 << 10) == whole


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(EVERY_TYPE), st.integers(min_value=0), st.integers(0, 255))
def test_a_corrupted_frame_is_an_event_or_one_hit(
    event: dict[str, Any], where: int, byte: int
) -> None:
    """One byte of a valid message changed: it still decodes (to some event, or is dropped
    as unknown), or it is reported undecodable; never an exception."""
    payload = bytearray(encode_event(event))
    payload[where % len(payload)] = byte
    out = _read([frame(bytes(payload))])
    assert len(out) <= 1
    if out and isinstance(out[0], Hit):
        assert out[0].rule in ("proto-frame-undecodable", "proto-unknown-event")
