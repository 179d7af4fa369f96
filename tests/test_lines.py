"""Line numbers of a recording's events: one implementation (`recording` fills a
`lines.LineIndex`), which SARIF regions and `validate`'s `path:line` both read."""

from __future__ import annotations

import io
import re

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from agui_conformance.lines import LineCounter, LineIndex
from agui_conformance.recording import open_recording
from agui_conformance.validator import validate_recording

EVENT = b'{"type":"CUSTOM","name":"n","value":1}'


class Trickle(io.RawIOBase):
    """A binary file object returning at most `step` bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step = data, step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        out, self._data = self._data[:n], self._data[n:]
        return out


def _lines(raw: bytes, fmt: str = "auto", step: int | None = None) -> dict[int, int | None]:
    recording = open_recording(raw if step is None else Trickle(raw, step), fmt)
    payloads = list(recording.payloads)
    return {p.index: recording.lines.get(p.index) for p in payloads}


def test_line_index_keeps_runs_and_answers_lookups() -> None:
    index = LineIndex()
    index.add_run(0, 1, 1000)  # JSONL without blank lines: one run
    index.add(1000, 1003)
    index.add(1001, 1006)
    index.add(1002, 1009)  # SSE blocks of three lines: one run of step 3
    index.add(1003, 1010)
    assert [index.get(i) for i in (0, 999, 1000, 1001, 1002, 1003)] == [
        1, 1000, 1003, 1006, 1009, 1010,
    ]  # fmt: skip
    assert index.get(1004) is None and index.get(None) is None and index.get(-1) is None
    assert len(index._starts) == 3  # the runs, not one entry per event


def test_jsonl_lines_skip_blank_lines_and_a_bom_line() -> None:
    raw = b"\xef\xbb\xbf\n" + EVENT + b"\n\n  \n" + EVENT + b"\r\n" + EVENT
    assert _lines(raw) == {0: 2, 1: 5, 2: 6}


def test_sse_lines_with_every_line_ending() -> None:
    raw = (
        b"\xef\xbb\xbf: hello\r\n\r\n"  # BOM and a comment: lines 1-2
        b"event: x\rdata: " + EVENT + b"\r\r"  # lines 3-5 (CR endings)
        b"data: " + EVENT + b"\n\n"  # lines 6-7
        b"id: 1\r\ndata: " + EVENT + b"\r\n\r\n"  # lines 8-10
    )
    assert _lines(raw) == {0: 3, 1: 6, 2: 8}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"\n", b"\r", b"\r\n"]),
            st.integers(0, 2),  # comment lines before the block
            st.booleans(),  # an event: line
        ),
        min_size=1,
        max_size=8,
    ),
    st.integers(1, 40),
)
def test_sse_lines_at_any_chunking(blocks: list[tuple[bytes, int, bool]], step: int) -> None:
    """An event's line is its block's first line (a comment in the block included)."""
    raw, expected, line = b"", {}, 1
    for index, (end, comments, named) in enumerate(blocks):
        expected[index] = line
        lines = [b": c"] * comments + ([b"event: e"] if named else []) + [b"data: " + EVENT]
        raw += b"".join(part + end for part in lines) + end  # the blank line ends the block
        line += len(lines) + 1
    assert _lines(raw, "sse", step) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([EVENT, b"", b"  ", b"\r"]), max_size=30), st.integers(1, 50))
def test_jsonl_lines_at_any_chunking(lines: list[bytes], step: int) -> None:
    raw = b"\n".join(lines)
    expected, index = {}, 0
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.strip():
            expected[index] = number
            index += 1
    assert _lines(raw, "jsonl", step) == expected


def test_line_counter_counts_a_crlf_split_between_settles() -> None:
    counter = LineCounter()
    counter.feed(b"a\r")
    counter.settle(2)
    counter.feed(b"\nb\n")
    assert counter.line_at(4) == 2 and counter.line_at(5) == 3


def test_validate_recording_gives_lines_only_for_events_findings_name() -> None:
    stray = b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"x"}'
    start = b'{"type":"RUN_STARTED","threadId":"t","runId":"r","protocolVersion":"1.1"}'
    result = validate_recording(b"\xef\xbb\xbf\n" + start + b"\n\n" + stray + b"\n")
    assert {f.rule: f.index for f in result.findings}["item-not-open"] == 1
    assert result.lines == {1: 4}


def test_a_json_document_has_no_lines() -> None:
    stray = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x"}
    result = validate_recording(orjson.dumps([stray]))
    assert result.findings and result.lines == {}


def test_no_second_line_splitter_in_the_cli() -> None:
    from pathlib import Path

    cli = (Path(__file__).resolve().parents[1] / "agui_conformance" / "cli.py").read_text()
    assert not re.search(r"splitlines|SSEParser|enumerate\(handle", cli)
