"""The response body's framing (`proxy/body.py`): every body the agent frames, in any
chunking the network makes of it, comes out byte for byte, with h11 (the general HTTP/1.1
parser) as the oracle; a broken framing is an error, never a silent end."""

from __future__ import annotations

import itertools

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agui_conformance.proxy.body import BodyError, BodyReader

HEAD = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"


def chunked(pieces: list[bytes], ext: bool, trailers: list[bytes]) -> bytes:
    out = b"".join(
        b"%x%s\r\n%s\r\n" % (len(p), b";name=value" if ext else b"", p) for p in pieces if p
    )
    return out + b"0\r\n" + b"".join(t + b"\r\n" for t in trailers) + b"\r\n"


def splits(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def h11_body(wire: bytes) -> bytes:
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("host", "x")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(HEAD + wire)
    got = b""
    while type(event := conn.next_event()) is not h11.EndOfMessage:
        if type(event) is h11.Data:
            got += event.data
    return got


def read_all(reader: BodyReader, parts: list[bytes]) -> bytes:
    return b"".join(reader.feed(part) for part in parts)


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.binary(max_size=300), max_size=12),
    ext=st.booleans(),
    trailers=st.lists(st.sampled_from([b"x-trace: 1", b"Server-Timing: a;dur=2"]), max_size=2),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=30),
    after=st.binary(max_size=20),
)
def test_a_chunked_body_in_any_chunking_is_read_as_h11_reads_it(
    pieces: list[bytes], ext: bool, trailers: list[bytes], cuts: list[int], after: bytes
) -> None:
    wire = chunked(pieces, ext, trailers)
    reader = BodyReader(chunked=True)
    got = read_all(reader, splits(wire + after, cuts))
    assert got == b"".join(pieces) == h11_body(wire)
    assert reader.done and reader.rest == after  # what follows the body is not the body's


@settings(max_examples=100, deadline=None)
@given(
    body=st.binary(max_size=500),
    cuts=st.lists(st.integers(0, 600)),
    after=st.binary(max_size=9),
)
def test_a_content_length_body_ends_at_its_length(
    body: bytes, cuts: list[int], after: bytes
) -> None:
    reader = BodyReader(length=len(body))
    assert read_all(reader, splits(body + after, cuts)) == body
    assert reader.done and reader.rest == after


def test_a_body_delimited_by_the_close_is_everything_until_it() -> None:
    reader = BodyReader()
    assert read_all(reader, [b"data: 1\n\n", b"data: 2\n\n"]) == b"data: 1\n\ndata: 2\n\n"
    assert not reader.done and reader.close()


@pytest.mark.parametrize(
    "cut", [b"5\r\nhel", b"5\r\nhello\r\n", b"5\r\nhello\r\n0\r\n", b"5\r", b""]
)
def test_a_chunked_or_sized_body_cut_short_is_not_whole(cut: bytes) -> None:
    reader = BodyReader(chunked=True)
    reader.feed(cut)
    assert not reader.close()
    sized = BodyReader(length=10)
    sized.feed(b"12345")
    assert not sized.close()


@pytest.mark.parametrize(
    "wire",
    [
        b"zz\r\nhello\r\n",  # a size that is no number
        b"-5\r\nhello\r\n",
        b"5\r\nhelloXX",  # the data not ended by CRLF
        b"5 5\r\nhello\r\n",
        b"1" * 17 + b"\r\n",  # more hex digits than any size
    ],
)
def test_a_broken_chunk_is_an_error(wire: bytes) -> None:
    with pytest.raises(BodyError):
        BodyReader(chunked=True).feed(wire)


def test_a_size_line_that_never_ends_is_an_error_past_16_kib() -> None:
    reader = BodyReader(chunked=True)
    reader.feed(b"5;" + b"x" * 8000)
    with pytest.raises(BodyError):
        reader.feed(b"x" * 9000)


def test_no_body_is_done_at_once() -> None:
    reader = BodyReader(length=0)
    assert reader.done and reader.feed(b"junk") == b"" and reader.rest == b"junk"
