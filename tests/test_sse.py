"""The incremental SSE parser: WHATWG parsing, framing findings, chunking invariance."""

from __future__ import annotations

import re
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agui_conformance.hits import Hit
from agui_conformance.sse import Frame, SSEParser

Item = Frame | Hit


def parse(raw: bytes, cuts: list[int] | None = None) -> list[Item]:
    """Feed `raw` split at `cuts` (or whole), then close."""
    parser = SSEParser()
    out: list[Item] = []
    previous = 0
    for cut in [*sorted(cuts or []), len(raw)]:
        out += parser.feed(raw[previous:cut])
        previous = cut
    out += parser.close()
    return out


def frames(items: list[Item]) -> list[Frame]:
    return [item for item in items if isinstance(item, Frame)]


def hits(items: list[Item], rule: str | None = None) -> list[Hit]:
    return [i for i in items if isinstance(i, Hit) and (rule is None or i.rule == rule)]


def payloads(raw: bytes) -> list[bytes]:
    return [frame.data for frame in frames(parse(raw))]


# ---------------------------------------------------------------- WHATWG parsing


def test_one_event() -> None:
    items = parse(b'data: {"type":"RUN_STARTED"}\n\n')
    assert items == [Frame(0, b'{"type":"RUN_STARTED"}', 0, 1)]


def test_frames_are_indexed_and_located() -> None:
    raw = b"data: a\n\n: ping\n\nevent: x\ndata: b\n\ndata: c\n\n"
    assert frames(parse(raw)) == [
        Frame(0, b"a", 0, 1),
        Frame(1, b"b", raw.index(b"event"), 1),
        Frame(2, b"c", raw.rindex(b"data"), 1),
    ]


def test_multi_line_data_is_joined_with_lf() -> None:
    items = parse(b'data: {"type":\ndata: "X"}\n\n')
    assert items == [Frame(0, b'{"type":\n"X"}', 0, 2)]


def test_only_one_leading_space_is_stripped() -> None:
    assert payloads(b"data:x\n\ndata:  x\n\ndata: \n\n") == [b"x", b" x", b""]


def test_a_data_line_without_colon_is_an_empty_data_line() -> None:
    assert frames(parse(b"data\ndata\n\n")) == [Frame(0, b"\n", 0, 2)]


def test_other_fields_and_comments_are_ignored_without_findings() -> None:
    raw = (
        b": keep-alive\n\nevent: message\nid: 7\nretry: 1000\ndata: {}\n\n"
        b"id: 8\n\nretry: 5\n\n:\n\n"
    )
    items = parse(raw)
    assert hits(items) == []
    assert payloads(raw) == [b"{}"]


def test_unknown_field_names_are_legal() -> None:
    items = parse(b"foo: bar\nx\ndata: {}\n\n")
    assert hits(items) == []
    assert payloads(b"foo: bar\nx\ndata: {}\n\n") == [b"{}"]


def test_blocks_without_data_dispatch_nothing() -> None:
    assert parse(b"event: a\n\n\n\n\n") == []


def test_empty_and_blank_streams() -> None:
    assert parse(b"") == []
    assert parse(b"\n\n\n") == []


def test_data_is_bytes_the_validator_can_load() -> None:
    raw = 'data: {"value":"héllo 👋"}\n\n'.encode()
    assert hits(parse(raw)) == []
    assert payloads(raw) == ['{"value":"héllo 👋"}'.encode()]


# ---------------------------------------------------------------- line endings


def test_crlf_is_reported_once_and_still_parsed() -> None:
    raw = b"data: a\r\n\r\ndata: b\r\n\r\n"
    items = parse(raw)
    assert payloads(raw) == [b"a", b"b"]
    [hit] = hits(items)
    assert hit.rule == "sse-line-ending" and hit.index == 0
    assert "CRLF at byte 7" in hit.message


def test_cr_only_line_endings() -> None:
    raw = b"data: a\rdata: b\r\rdata: c\r\r"
    items = parse(raw)
    assert frames(items) == [Frame(0, b"a\nb", 0, 2), Frame(1, b"c", 17, 1)]
    [hit] = hits(items)
    assert hit.rule == "sse-line-ending" and "CR at byte 7" in hit.message


def test_line_ending_counts_and_first_index() -> None:
    parser = SSEParser()
    out = parser.feed(b"data: a\n\ndata: b\r\n\r\ndata: c\r\r")
    out += parser.close()
    assert parser.line_endings == (2, 2)
    [hit] = hits(out)
    assert hit.index == 1  # the first CRLF belongs to the second event


def test_crlf_split_across_chunks_is_one_line_ending() -> None:
    raw = b"data: a\r\n\r\n"
    for cut in range(len(raw) + 1):
        items = parse(raw, [cut])
        assert frames(items) == [Frame(0, b"a", 0, 1)]
        assert len(hits(items)) == 1
        assert "CRLF at byte 7" in hits(items)[0].message


def test_lf_only_streams_report_nothing() -> None:
    parser = SSEParser()
    parser.feed(b"data: a\n\n" * 100)
    assert parser.close() == [] and parser.findings == [] and parser.line_endings == (0, 0)


# ---------------------------------------------------------------- BOM


def test_leading_bom_is_stripped_and_reported() -> None:
    raw = b"\xef\xbb\xbfdata: {}\n\n"
    items = parse(raw)
    assert items[0] == Hit("sse-bom", 0, "The stream starts with a UTF-8 byte-order mark.")
    assert frames(items) == [Frame(0, b"{}", 3, 1)]  # offsets count the BOM's bytes


def test_bom_split_across_chunks() -> None:
    raw = b"\xef\xbb\xbfdata: {}\n\n"
    for cuts in ([1], [2], [1, 2], [3], [1, 2, 3]):
        assert parse(raw, cuts) == parse(raw)


def test_a_second_bom_is_not_stripped() -> None:
    raw = b"\xef\xbb\xbf\xef\xbb\xbfdata: {}\n\n"
    items = parse(raw)
    assert len(hits(items, "sse-bom")) == 1
    assert payloads(raw) == []  # WHATWG: the field name is now "\ufeffdata"
    assert len(hits(items, "sse-missing-data-prefix")) == 1


def test_a_stream_that_is_a_partial_bom() -> None:
    items = parse(b"\xef\xbb")
    assert hits(items, "sse-bom") == []
    assert all(isinstance(item, Hit) for item in items)


# ---------------------------------------------------------------- missing data prefix


def test_raw_json_line_without_data_prefix() -> None:
    raw = b'data: {"type":"A"}\n\n{"type":"B"}\n\ndata: {"type":"C"}\n\n'
    items = parse(raw)
    [hit] = hits(items)
    assert hit.rule == "sse-missing-data-prefix" and hit.index == 1
    assert "byte 20" in hit.message and '{"type":"B"}' in hit.message
    assert payloads(raw) == [b'{"type":"A"}', b'{"type":"C"}']


def test_pretty_printed_continuation_lines_are_lost_payload() -> None:
    raw = b'data: {\n  "type": "A"\n}\n\n'
    items = parse(raw)
    assert [h.rule for h in hits(items)] == ["sse-missing-data-prefix"]
    assert payloads(raw) == [b"{"]


def test_misspelt_data_field_names() -> None:
    for raw in (b"Data: {}\n\n", b"DATA: {}\n\n", b"data : {}\n\n", b" data: {}\n\n"):
        items = parse(raw)
        assert [h.rule for h in hits(items)] == ["sse-missing-data-prefix"], raw
        assert frames(items) == []


def test_missing_prefix_is_reported_once_per_stream_and_counted() -> None:
    parser = SSEParser()
    out = parser.feed(b'{"a":1}\n\n{"a":2}\n\n[1]\n\n')
    out += parser.close()
    assert len(hits(out)) == 1
    assert parser.missing_prefix_lines == 3


def test_no_false_positive_on_legal_lines() -> None:
    legal = (
        b": {not a payload, a comment}\n\n"
        b"event: {weird but legal}\n\n"
        b"id: [1]\n\n"
        b"retry: 10\n\n"
        b"type: RUN_STARTED\n\n"
        b"data: {}\n\n"
        b"data: }\n\n"
    )
    assert hits(parse(legal)) == []


# ---------------------------------------------------------------- truncation


def test_body_ending_without_blank_line_dispatches_and_reports() -> None:
    raw = b"data: a\n\ndata: b\n"
    items = parse(raw)
    assert items[-2] == Frame(1, b"b", 9, 1)
    assert items[-1].rule == "sse-truncated-frame" and items[-1].index == 1  # type: ignore[union-attr]


def test_body_ending_mid_data_line() -> None:
    items = parse(b'data: a\n\ndata: {"type"')
    assert frames(items)[-1] == Frame(1, b'{"type"', 9, 1)
    assert [h.rule for h in hits(items)] == ["sse-truncated-frame"]


def test_body_ending_mid_field_name() -> None:
    items = parse(b"data: a\n\nda")
    assert len(frames(items)) == 1
    [hit] = hits(items)
    assert hit.rule == "sse-truncated-frame" and hit.index == 1 and "byte 9" in hit.message


def test_harmless_endings_are_not_truncation() -> None:
    for raw in (
        b"data: a\n\n: keep-alive",  # a comment without its LF
        b"data: a\n\n: keep-alive\n",
        b"data: a\n\nevent: done\n",  # a block with no data
        b"data: a\n\nid: 9",
        b"data: a\n\n\n",
    ):
        assert hits(parse(raw)) == [], raw


def test_truncated_cr_line() -> None:
    items = parse(b"data: a\r")
    assert frames(items) == [Frame(0, b"a", 0, 1)]
    assert [h.rule for h in hits(items)] == ["sse-line-ending", "sse-truncated-frame"]


# ---------------------------------------------------------------- UTF-8


def test_invalid_utf8_in_data_is_reported_and_replaced() -> None:
    raw = b'data: {"v":"\xff\xfe"}\n\ndata: {}\n\n'
    items = parse(raw)
    [hit] = hits(items)
    assert hit.rule == "sse-not-utf8" and hit.index == 0
    assert frames(items)[0].data == '{"v":"\ufffd\ufffd"}'.encode()


def test_invalid_utf8_reported_once_per_frame() -> None:
    raw = b"data: \xff\ndata: \xfe\n\ndata: ok\n\ndata: \xc3\n\n"
    assert [(h.rule, h.index) for h in hits(parse(raw))] == [
        ("sse-not-utf8", 0),
        ("sse-not-utf8", 2),
    ]


def test_invalid_utf8_outside_data() -> None:
    raw = b": caf\xe9\ndata: {}\n\nevent: \xff\n\ndata: {}\n\n"
    items = parse(raw)
    assert [(h.rule, h.index) for h in hits(items)] == [("sse-not-utf8", 0), ("sse-not-utf8", 1)]
    assert "Byte 5 of the stream" in hits(items)[0].message
    assert payloads(raw) == [b"{}", b"{}"]


def test_multibyte_character_split_across_chunks() -> None:
    raw = "data: \u00e9\U0001f44b\n\n".encode()
    for cut in range(len(raw) + 1):
        assert parse(raw, [cut]) == [Frame(0, "\u00e9\U0001f44b".encode(), 0, 1)]


# ---------------------------------------------------------------- API behaviour


def test_feed_after_close_and_close_twice() -> None:
    parser = SSEParser()
    parser.feed(b"data: a\n")
    assert len(parser.close()) == 2
    assert parser.close() == []
    assert parser.feed(b"\ndata: b\n\n") == []


def test_findings_and_counters() -> None:
    parser = SSEParser()
    out = parser.feed(b"\xef\xbb\xbfdata: a\r\n\r\n{x}\n\n")
    out += parser.close()
    assert parser.findings == hits(out)
    assert parser.frames == 1
    assert parser.bytes_seen == 19


def test_accepts_bytearray_and_memoryview() -> None:
    parser = SSEParser()
    out = parser.feed(bytearray(b"data: a\n\n")) + parser.feed(memoryview(b"data: b\n\n"))
    assert [f.data for f in frames(out)] == [b"a", b"b"]


def test_memory_is_bounded_by_the_largest_event() -> None:
    event = (
        b'data: {"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"' + b"x" * 200 + b'"}\n\n'
    )
    raw = event * 25_000  # about 6 MB
    parser = SSEParser()
    tracemalloc.start()
    try:
        for start in range(0, len(raw), 65536):
            parser.feed(raw[start : start + 65536])
        parser.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parser.frames == 25_000
    assert peak < 1_000_000, peak  # a chunk or two, never the stream


def test_a_huge_event_in_tiny_chunks() -> None:
    raw = b"data: " + b"x" * 1_000_000 + b"\n\n"
    parser = SSEParser()
    out: list[Item] = []
    for start in range(0, len(raw), 97):
        out += parser.feed(raw[start : start + 97])
    out += parser.close()
    assert frames(out) == [Frame(0, b"x" * 1_000_000, 0, 1)]


# ---------------------------------------------------------------- properties


def reference_frames(raw: bytes) -> list[tuple[bytes, int]]:
    """A plain WHATWG reading (plus this parser's choice to dispatch a truncated
    event): (payload, data lines) per event. Written for clarity, not speed."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode("utf-8", "replace")
    *lines, last = re.split("\r\n|\r|\n", text)
    if last:
        lines.append(last)
    events: list[tuple[bytes, int]] = []
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                events.append(("\n".join(data).encode(), len(data)))
            data = []
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
    if data:
        events.append(("\n".join(data).encode(), len(data)))
    return events


SSE_PIECES = st.sampled_from(
    [
        b"data: ",
        b"data:",
        b"data",
        b":",
        b": ping",
        b"event: x",
        b"id: 1",
        b"retry: 5",
        b'{"type":"A"}',
        b"Data: ",
        b"  }",
        b"\n",
        b"\n",
        b"\n\n",
        b"\r\n",
        b"\r",
        b"\xef\xbb\xbf",
        b'data: {"type":"B"}\n\n',  # a whole event: the parser's one-chunk fast path
        b"\xc3\xa9",
        b"\xf0\x9f\x91\x8b",
        b"\xff",
        b"\xc3",
        b" ",
        b"x",
    ]
)
sse_streams = st.lists(SSE_PIECES, max_size=40).map(b"".join) | st.binary(max_size=200)


@st.composite
def streams_and_cuts(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    raw = draw(sse_streams)
    cuts = draw(st.lists(st.integers(0, len(raw)), max_size=12))
    return raw, cuts


@settings(max_examples=400)
@given(streams_and_cuts())
def test_chunk_boundaries_never_matter(case: tuple[bytes, list[int]]) -> None:
    raw, cuts = case
    assert parse(raw, cuts) == parse(raw)


@settings(max_examples=400)
@given(sse_streams)
def test_cuts_after_every_blank_line_equal_whole(raw: bytes) -> None:
    """Chunks that end where events end, as agents send them: the fast path for a chunk
    holding exactly one `data:` line must give what the line-by-line path gives."""
    cuts = [at + 2 for at in range(len(raw)) if raw[at : at + 2] == b"\n\n"]
    assert parse(raw, cuts) == parse(raw, list(range(len(raw))))


def test_one_event_per_chunk_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = [b'data: {"type":"A"}\n\n', b'data: {"type":"B"}\n\n']
    parser = SSEParser()
    parser.feed(b": hello\n\n")

    def no_line_scan(*args: object) -> None:
        raise AssertionError("the line-by-line path ran")

    monkeypatch.setattr(SSEParser, "_scan", no_line_scan)
    out = [item for chunk in chunks for item in parser.feed(chunk)]
    assert out == [Frame(0, b'{"type":"A"}', 9, 1), Frame(1, b'{"type":"B"}', 29, 1)]
    assert parser.bytes_seen == 49


@settings(max_examples=300)
@given(sse_streams)
def test_byte_by_byte_equals_whole(raw: bytes) -> None:
    assert parse(raw, list(range(len(raw)))) == parse(raw)


@settings(max_examples=400)
@given(sse_streams)
def test_frames_match_a_reference_whatwg_reading(raw: bytes) -> None:
    items = parse(raw)
    got = frames(items)
    assert [(f.data, f.data_lines) for f in got] == reference_frames(raw)
    assert [f.index for f in got] == list(range(len(got)))
    for frame in got:
        frame.data.decode("utf-8")  # always valid UTF-8 for the validator
        assert 0 <= frame.offset < max(len(raw), 1)


@settings(max_examples=300)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=8))
def test_arbitrary_bytes_never_raise(raw: bytes, cuts: list[int]) -> None:
    items = parse(raw, [min(c, len(raw)) for c in cuts])
    for item in items:
        assert isinstance(item, (Frame, Hit))
    for rule in ("sse-line-ending", "sse-bom", "sse-missing-data-prefix", "sse-truncated-frame"):
        assert len(hits(items, rule)) <= 1


@given(sse_streams)
def test_frame_offsets_point_at_their_block(raw: bytes) -> None:
    """An offset is where a line starts: the stream start, after the BOM or after an EOL."""
    for frame in frames(parse(raw)):
        before = raw[: frame.offset]
        assert frame.offset == 0 or before.endswith((b"\n", b"\r", b"\xef\xbb\xbf"))
