"""Reading recorded streams: format detection, lazy reading, payloads and framing hits."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agui_conformance import recording as recording_module
from agui_conformance.recording import CHUNK, NotARecording, Payload, detect, open_recording
from tests.shared_data import shared_path

RUN = [
    {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
    {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
]


def read(source: Any, fmt: str = "auto") -> tuple[str, list[Payload]]:
    recording = open_recording(source, fmt)
    return recording.format, list(recording.payloads)


def events(payloads: list[Payload]) -> list[Any]:
    return [orjson.loads(p.data) for p in payloads]


def sse(evts: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in evts)


def jsonl(evts: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in evts)


class TrickleReader(io.RawIOBase):
    """A binary file object that returns at most `step` bytes per read, counting them."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = data
        self._step = step
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        chunk = self._data[self.consumed : self.consumed + n]
        self.consumed += len(chunk)
        return chunk


# ---------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"data: {}\n\n", "sse"),
        (b": keep-alive\n\ndata: {}\n\n", "sse"),
        (b"event: message\ndata: {}\n\n", "sse"),
        (b"id: 1\ndata: {}\n\n", "sse"),
        (b"retry: 10\n\n", "sse"),
        (b"\xef\xbb\xbfdata: {}\n\n", "sse"),
        (b"\n\n  data: {}\n\n", "sse"),
        (b'{"type":"RUN_STARTED"}\n{"type":"RUN_FINISHED"}\n', "jsonl"),
        (b'{"type":"RUN_STARTED"}', "jsonl"),
        (b'\xef\xbb\xbf{"type":"RUN_STARTED"}\n', "jsonl"),
        (b'[{"type":"RUN_STARTED"}]', "json"),
        (b'[\n  {"type":"RUN_STARTED"}\n]\n', "json"),
        (b'{"name":"x","stream":[{"type":"A"}]}', "json"),
        (b'{"name":"x","events":[{"type":"A"}]}\n', "json"),
        (b'{\n  "name": "x",\n  "stream": []\n}\n', "json"),
        (b'{"name": "x",\n "stream": []}\n', "json"),
        (b'{"type": "BROKEN",\n{"type":"RUN_FINISHED"}\n', "jsonl"),
        (b"hello\nworld\n", "jsonl"),
        (b"", "jsonl"),
    ],
)
def test_detect(head: bytes, expected: str) -> None:
    assert detect(head, complete=True) == expected
    assert open_recording(head).format == expected


@pytest.mark.parametrize(
    "raw",
    [
        b'{"stream": "not a list"}\n',
        b'{"hello": 1}',
        b'\xef\xbb\xbf  {"config": {"a": [1]}}\n\n',
        b'{\n  "hello": 1\n}\n',  # pretty-printed: detected as a JSON document
    ],
)
def test_a_json_object_that_is_no_event_and_holds_none_is_not_a_recording(raw: bytes) -> None:
    with pytest.raises(NotARecording, match="neither a `type`"):
        list(open_recording(raw).payloads)


def test_a_json_object_in_a_forced_jsonl_recording_is_one_event() -> None:
    assert [p.data for p in open_recording(b'{"hello": 1}', "jsonl")] == [b'{"hello": 1}']


@pytest.mark.parametrize("fmt", ["auto", "sse", "jsonl", "json"])
def test_binary_data_is_not_a_recording(fmt: str) -> None:
    with pytest.raises(NotARecording, match=r"binary data \(a NUL byte at offset 5\)"):
        open_recording(b"data:\x00\x01\x02\n\n", fmt)


def test_a_nul_byte_after_the_first_chunk_is_the_agents_payload() -> None:
    raw = jsonl(RUN) + b" " * CHUNK + b'{"type":"X\x00"}\n'
    assert len(list(open_recording(raw).payloads)) == len(RUN) + 1


def test_detect_without_the_whole_first_line_guesses_by_first_character() -> None:
    assert detect(b'{"type":"TEXT_MESSAGE_CONTENT","delta":"aaaa') == "jsonl"
    assert detect(b'[{"type":"TEXT_MESSAGE_CONTENT","delta":"aaaa') == "json"


def test_first_line_longer_than_a_chunk() -> None:
    big = {"type": "CUSTOM", "name": "x", "value": "v" * (3 * CHUNK)}
    assert read(jsonl([big, *RUN]))[0] == "jsonl"
    fixture = orjson.dumps({"name": "big", "stream": [big, *RUN]})  # minified, one line
    fmt, payloads = read(fixture)
    assert fmt == "json" and events(payloads) == [big, *RUN]


@pytest.mark.parametrize("step", [1, 3, 7, 4096])
def test_detection_with_short_reads(step: int) -> None:
    for data, expected in (
        (sse(RUN), "sse"),
        (jsonl(RUN), "jsonl"),
        (json.dumps({"stream": RUN}, indent=2).encode(), "json"),
    ):
        fmt, payloads = read(TrickleReader(data, step))
        assert fmt == expected and events(payloads) == RUN


def test_forced_format_wins() -> None:
    data = jsonl(RUN)
    fmt, payloads = read(data, "sse")
    assert fmt == "sse" and payloads == []  # no data: lines in it
    assert read(sse(RUN), "jsonl")[0] == "jsonl"


def test_unknown_format_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        open_recording(b"", "yaml")


# ---------------------------------------------------------------- SSE


def test_sse_payloads_and_framing_hits() -> None:
    raw = b"\xef\xbb\xbfdata: " + orjson.dumps(RUN[0]) + b"\r\n\r\ndata: " + orjson.dumps(RUN[1])
    recording = open_recording(raw)
    assert recording.format == "sse"
    assert recording.hits == []  # nothing read yet
    payloads = list(recording.payloads)
    assert events(payloads) == RUN
    assert [p.index for p in payloads] == [0, 1]
    assert [h.rule for h in recording.hits] == ["sse-bom", "sse-line-ending", "sse-truncated-frame"]


def test_sse_comments_and_fields_carry_no_events() -> None:
    raw = b": hi\n\nevent: x\nid: 1\n" + sse(RUN)
    fmt, payloads = read(raw)
    assert fmt == "sse" and events(payloads) == RUN


# ---------------------------------------------------------------- JSONL


def test_jsonl_blank_lines_crlf_and_last_line() -> None:
    raw = b'\n{"type":"A"}\r\n\n   \n{"type":"B"}\n{"type":"C"}'
    fmt, payloads = read(raw)
    assert fmt == "jsonl"
    assert payloads == [
        Payload(0, b'{"type":"A"}'),
        Payload(1, b'{"type":"B"}'),
        Payload(2, b'{"type":"C"}'),
    ]


def test_jsonl_undecodable_lines_are_still_payloads() -> None:
    raw = b'{"type":"A"}\nnot json\n\xff\xfe\n{"type":"B"}\n'
    _, payloads = read(raw)
    assert [p.data for p in payloads] == [
        b'{"type":"A"}',
        b"not json",
        b"\xff\xfe",
        b'{"type":"B"}',
    ]


def test_jsonl_bom_is_dropped() -> None:
    fmt, payloads = read(b"\xef\xbb\xbf" + jsonl(RUN))
    assert fmt == "jsonl" and events(payloads) == RUN


def test_jsonl_lines_spanning_many_chunks() -> None:
    big = {"type": "CUSTOM", "name": "x", "value": "v" * (5 * CHUNK + 17)}
    stream = [RUN[0], big, big, RUN[1]]
    _, payloads = read(TrickleReader(jsonl(stream), 1000))
    assert events(payloads) == stream


def test_payload_is_a_named_tuple() -> None:
    index, data = Payload(3, b"{}")
    assert (index, data) == (3, b"{}")


# ---------------------------------------------------------------- JSON documents


def test_json_array_and_fixture_objects() -> None:
    for doc in (RUN, {"name": "n", "stream": RUN}, {"events": RUN}, {"stream": RUN, "events": []}):
        fmt, payloads = read(json.dumps(doc, indent=2).encode())
        assert fmt == "json" and events(payloads) == RUN


def test_json_document_elements_are_reserialised() -> None:
    _, payloads = read(b'[ {"type" : "A",\n "x": [1, 2.5, null]} ]')
    assert payloads == [Payload(0, b'{"type":"A","x":[1,2.5,null]}')]


def test_json_element_that_is_not_an_object_is_still_a_payload() -> None:
    _, payloads = read(b'[1, "two", {"type": "A"}]')
    assert [p.data for p in payloads] == [b"1", b'"two"', b'{"type":"A"}']


def test_json_broken_document_is_one_payload() -> None:
    raw = b'{\n  "stream": [\n    {"type": "A"}\n'
    fmt, payloads = read(raw, "json")
    assert fmt == "json" and payloads == [Payload(0, raw)]


def test_json_object_without_a_stream_is_one_event() -> None:
    fmt, payloads = read(b'{\n  "type": "RUN_STARTED",\n  "threadId": "t"\n}\n')
    assert fmt == "json" and events(payloads) == [{"type": "RUN_STARTED", "threadId": "t"}]


def test_official_corpus_fixture() -> None:
    folder = shared_path("agui-spec", "1.1", "conformance", "streams")
    fixture = folder / "conformant-run-is-quiet.json"
    expected = json.loads(fixture.read_text())["stream"]
    fmt, payloads = read(str(fixture))
    assert fmt == "json" and events(payloads) == expected


# ---------------------------------------------------------------- sources


def test_sources_path_str_bytes_and_file_objects(tmp_path: Path) -> None:
    file = tmp_path / "run.jsonl"
    file.write_bytes(jsonl(RUN))
    for source in (str(file), file, file.read_bytes(), bytearray(file.read_bytes())):
        assert events(read(source)[1]) == RUN
    with file.open("rb") as handle:
        assert events(read(handle)[1]) == RUN
        assert not handle.closed  # the caller's file is the caller's to close


def test_a_path_is_closed_after_reading_or_on_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "run.sse"
    file.write_bytes(sse(RUN))
    handles: list[Any] = []

    def tracking_open(path: Any, mode: str) -> Any:
        handle = open(path, mode)  # noqa: SIM115
        handles.append(handle)
        return handle

    monkeypatch.setattr(recording_module, "open", tracking_open, raising=False)
    with open_recording(file) as recording:  # stopped early
        next(recording.payloads)
    assert handles[-1].closed
    assert len(list(open_recording(str(file)).payloads)) == 2  # read to the end
    assert handles[-1].closed


def test_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        open_recording(tmp_path / "absent.jsonl")


# ---------------------------------------------------------------- laziness


def big_jsonl(n: int) -> bytes:
    lines = (
        orjson.dumps({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"token {i}"})
        for i in range(n)
    )
    return b"\n".join(lines) + b"\n"


def test_jsonl_is_read_lazily() -> None:
    data = big_jsonl(20_000)
    reader = TrickleReader(data, CHUNK)
    recording = open_recording(reader)
    first = next(recording.payloads)
    assert first.index == 0
    assert reader.consumed <= 2 * CHUNK < len(data)


def test_jsonl_memory_stays_bounded(tmp_path: Path) -> None:
    file = tmp_path / "big.jsonl"
    file.write_bytes(big_jsonl(200_000))
    tracemalloc.start()
    try:
        count = sum(1 for _ in open_recording(str(file)).payloads)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 2_000_000, peak  # a chunk or two, not the 14 MB file


# ---------------------------------------------------------------- properties

keys = st.sampled_from(["type", "a", "b", "delta", "é", "👋", "", "\n", '"'])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
json_events = st.lists(st.dictionaries(keys, json_values, min_size=1, max_size=4), max_size=6)


@settings(max_examples=150)
@given(json_events, st.sampled_from(["sse", "jsonl", "json-array", "json-fixture"]))
def test_events_round_trip_through_every_format(evts: list[dict[str, Any]], kind: str) -> None:
    if kind == "sse":
        raw = sse(evts)
    elif kind == "jsonl":
        raw = jsonl(evts)
    elif kind == "json-array":
        raw = orjson.dumps(evts, option=orjson.OPT_INDENT_2)
    else:
        raw = orjson.dumps({"name": "x", "stream": evts}, option=orjson.OPT_INDENT_2)
    recording = open_recording(raw, "json" if kind.startswith("json-") else kind)
    payloads = list(recording.payloads)
    assert events(payloads) == evts
    assert [p.index for p in payloads] == list(range(len(evts)))
    assert recording.hits == []


@settings(max_examples=300)
@given(st.binary(max_size=400), st.sampled_from(["auto", "sse", "jsonl", "json"]))
def test_arbitrary_bytes_never_raise(raw: bytes, fmt: str) -> None:
    """Whatever the bytes: payloads, or NotARecording (binary data, a JSON object that is
    no event), never another exception."""
    try:
        recording = open_recording(raw, fmt)
        for payload in recording.payloads:
            assert isinstance(payload.data, bytes)
    except NotARecording:
        assert b"\x00" in raw or raw.lstrip(b"\xef\xbb\xbf \t\r\n\x0b\x0c").startswith(b"{")
        return
    assert recording.format in ("sse", "jsonl", "json")


_LINE_PARTS = st.sampled_from(
    # \x01 and \x1f: below the space but not whitespace (a line they start is no blank one)
    [
        *(b'{"type":"A"}', b"", b" ", b"\t", b"\r", b"  \r", b"x", b' {"a":1}', b"\x0b"),
        *(b"\xff", b"\x01", b"\x1f{}"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_LINE_PARTS, max_size=3).map(b"".join), max_size=12), st.integers(1, 9))
def test_jsonl_lines_at_any_chunk_size(lines: list[bytes], step: int) -> None:
    """Blank lines (empty or whitespace, after a trailing CR is dropped) carry no
    event wherever the chunks split them; the rest are payloads, numbered in order."""
    raw = b"\n".join(lines)
    expected = []
    for line in raw.split(b"\n"):
        line = line[:-1] if line.endswith(b"\r") else line
        if line and not line.isspace():
            expected.append(line)
    recording = open_recording(TrickleReader(raw, step), "jsonl")
    batches = list(recording.batches)
    assert [d for _, batch in batches for d in batch] == expected
    starts = [start for start, _ in batches]
    sizes = [len(batch) for _, batch in batches]
    assert starts == [sum(sizes[:k]) for k in range(len(sizes))]
