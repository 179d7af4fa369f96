"""Recorded streams: files, bytes or stdin in, raw event payloads out.

Owns reading what `agui-conformance validate` is given and detecting its
format from the first non-blank bytes:

- `sse`: an SSE capture (starts with `data:`, `:`, `event:`, `id:` or
  `retry:`, optionally after a BOM); parsed by `sse.SSEParser`, whose framing
  hits are collected in `Recording.hits` as the payloads are read.
- `jsonl`: one JSON value per line (blank lines carry no event). Read in
  chunks: a 200,000-line file is never held whole, nor parsed here.
- `json`: one JSON document: an array of events, or an object with a
  `stream` array (the official corpus fixture format) or an `events` array.
  The document is parsed whole (it must be), and each element re-serialised
  with orjson to become its payload.
- `proto`: an HTTP + Protobuf body (4-byte big-endian length, then one
  `ag_ui.Event` message, repeated); read by `protobuf.reader.FrameReader`, each
  event re-serialised as JSON, framing hits in `Recording.hits`. Detected when
  the input starts with a NUL byte (a length below 16 MiB does) and its first
  frame decodes as an event; the protobuf runtime is loaded only then.

Payloads are raw bytes: parsing and judging them is the validator's job, so
a line that is not JSON is still a payload (the validator reports
`event-not-json`). A leading BOM is dropped silently in JSONL and JSON
recordings (a file artefact; orjson refuses it); in SSE captures the parser
reports it (`sse-bom`), as it belongs to the agent's stream. Never raises on
the content of a recording; what is no recording at all raises `NotARecording`
(binary data that is no protobuf body: a NUL byte in the first chunk, which no
SSE, JSONL or JSON text holds, unless the input is detected or named as
`proto`; or, when the format is detected or `json`, a whole document that is a
JSON object with neither a `type` nor a `stream`/`events` array). An unknown
`fmt` is a caller error (ValueError) and an unreadable file raises OSError.

Also owns writing what `record` captured (`save`): the events as JSONL (or, for
a protobuf answer, its body as it came, frame for frame) and the timing sidecar
beside it (`OUT.timing.json`: status, headers, the arrival time of every event,
framing findings). A recording is made to be shared, so both
files pass through `redact`: the URL redacted, headers by name (the transport
did), and the user's secret values scrubbed from the events (a changed event is
re-serialised; every other line keeps the agent's exact bytes; a protobuf frame
likewise, or the body is refused: `protobuf.scrub`) and the sidecar.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from os import PathLike
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import orjson

from agui_conformance.hits import Hit
from agui_conformance.lines import LineCounter, LineIndex
from agui_conformance.sse import Frame, SSEParser

if TYPE_CHECKING:
    from agui_conformance.redact import Secrets
    from agui_conformance.transport import Exchange

__all__ = [
    "CHUNK",
    "FORMATS",
    "Batch",
    "NotARecording",
    "Payload",
    "Readable",
    "Recording",
    "Source",
    "detect",
    "open_recording",
    "save",
]

CHUNK = 1 << 16
FORMATS = ("auto", "sse", "jsonl", "json", "proto")
_SSE_STARTS = (b"data:", b":", b"event:", b"id:", b"retry:")
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n\x0b\x0c"


class NotARecording(ValueError):
    """The input is not a recorded stream at all (binary data, a JSON object that is no
    event and holds no event list): the user's mistake, never the agent's finding."""


class Readable(Protocol):
    """A binary file object (`sys.stdin.buffer`, `open(path, "rb")`, `io.BytesIO`)."""

    def read(self, size: int = -1, /) -> bytes | None: ...


Source = Readable | bytes | bytearray | memoryview | str | PathLike[str]


class Payload(NamedTuple):
    """One event's raw JSON bytes, not yet parsed."""

    index: int  # type: ignore[assignment]  # shadows tuple.index(), on purpose: the event index
    data: bytes


# Consecutive payloads: the event index of the first, and their bytes.
Batch = tuple[int, list[bytes]]


@dataclass(eq=False)
class Recording:
    """A recorded stream. Read it once, as `payloads` (one at a time) or as
    `batches` (runs of consecutive payloads, cheaper per event); `hits` is
    complete after that."""

    format: str  # "sse" | "jsonl" | "json" | "proto"
    batches: Iterator[Batch]
    hits: list[Hit] = field(default_factory=list)
    # a fatal framing hit ended the reading (protobuf): the rest of the stream was not seen
    stopped: bool = False
    # the line each event starts on (JSONL, SSE), filled as batches are read; empty for
    # a JSON document. A leading BOM is on line 1, as in an editor.
    lines: LineIndex = field(default_factory=LineIndex)
    _payloads: Iterator[Payload] | None = field(default=None, repr=False)

    @property
    def payloads(self) -> Iterator[Payload]:
        if self._payloads is None:
            self._payloads = _unbatch(self.batches)
        return self._payloads

    def __iter__(self) -> Iterator[Payload]:
        return self.payloads

    def close(self) -> None:
        """Stop reading early and release the file (done by itself at the end)."""
        for reader in (self._payloads, self.batches):
            close = getattr(reader, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_recording(source: Source, fmt: str = "auto") -> Recording:
    """Open a path, bytes or binary file object (e.g. `sys.stdin.buffer`) as a recording.

    A path is opened here (OSError if it cannot be) and closed when the payloads
    are exhausted or `Recording.close()` is called; a file object is read, never closed.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    chunks = _chunks(source)
    head, complete = _read_head(chunks)
    kind = detect(head, complete=complete) if fmt == "auto" else fmt
    if kind != "proto":
        _refuse_binary(head)
    if kind != "sse" and head.startswith(_BOM):
        head = head[len(_BOM) :]
    if complete and fmt == "auto" and kind == "jsonl":
        _refuse_document(head.strip(_WHITESPACE))
    rest = _prepend(head, chunks)
    recording = Recording(format=kind, batches=iter(()))
    if kind == "sse":
        recording.batches = _sse(rest, recording.hits, recording.lines)
    elif kind == "proto":
        recording.batches = _proto(rest, recording)
    elif kind == "json":
        recording.batches = _json(rest)
    else:
        recording.batches = _jsonl(rest, recording.lines)
    return recording


def _refuse_binary(head: bytes) -> None:
    nul = head.find(b"\x00", 0, CHUNK)
    if nul >= 0:
        raise NotARecording(
            f"binary data (a NUL byte at offset {nul}), not an SSE capture, JSONL or JSON, "
            "nor a protobuf body whose first frame decodes as an event (to read it as one "
            "anyway, and see why it does not, pass --stream-format proto)"
        )


def _refuse_document(text: bytes) -> None:
    """A whole input that is one JSON value: refused when it is an object that is neither
    an event nor a recording (a single-line JSONL event or a fixture passes)."""
    if not text.startswith(b"{"):
        return
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return  # broken JSON is an agent's payload (event-not-json)
    if isinstance(value, dict) and "type" not in value and _events_of(value) is None:
        raise NotARecording(_NOT_EVENTS)


_NOT_EVENTS = (
    "a JSON object with neither a `type` (an event) nor a `stream` or `events` array (a recording)"
)


def detect(head: bytes, *, complete: bool = False) -> str:
    """The format of a recording from its first bytes: "sse", "jsonl", "json" or "proto".

    `head` should hold at least the first non-blank line and the first non-blank
    byte after it (`open_recording` reads that much; for input starting with a NUL
    byte, its whole first frame); `complete=True` says it is the whole input. With
    less, the guess is by first character.
    """
    if head.startswith(b"\x00") and _first_frame_decodes(head):
        return "proto"
    text = head[len(_BOM) :] if head.startswith(_BOM) else head
    text = text.lstrip(_WHITESPACE)
    if text.startswith(_SSE_STARTS):
        return "sse"
    if not text.startswith((b"{", b"[")):
        return "jsonl"  # not JSON at all: each line will be reported as such
    newline = text.find(b"\n")
    if newline < 0 and not complete:
        return "json" if text.startswith(b"[") else "jsonl"  # guess: first line unseen
    first = text if newline < 0 else text[:newline]
    after = b"" if newline < 0 else text[newline + 1 :].lstrip(_WHITESPACE)
    try:
        value = orjson.loads(first)
    except orjson.JSONDecodeError:
        if not after:
            return "jsonl"  # one broken line: a payload either way
        if text.startswith(b"["):
            return "json"  # an array spread over lines
        return "jsonl" if after.startswith(b"{") else "json"  # broken first event / pretty doc
    if after:
        return "jsonl"  # several values, one per line
    if isinstance(value, list) or (isinstance(value, dict) and _events_of(value) is not None):
        return "json"
    return "jsonl"


# ---------------------------------------------------------------- reading


def _chunks(source: Source) -> Iterator[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        for start in range(0, len(data), CHUNK):
            yield data[start : start + CHUNK]
        return
    if isinstance(source, (str, PathLike)):
        handle = open(source, "rb")  # noqa: SIM115 - closed in finally, lazily
        try:
            yield from _read(handle)
        finally:
            handle.close()
        return
    yield from _read(source)


def _read(handle: Readable) -> Iterator[bytes]:
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            return
        yield bytes(chunk)


def _first_frame_decodes(head: bytes) -> bool:
    """Whether `head` starts with a whole protobuf frame that decodes as an event (or an
    event type newer than the wire schema)."""
    from agui_conformance.protobuf import Undecodable, first_frame

    payload = first_frame(head)
    if payload is None:
        return False
    from agui_conformance.protobuf.codec import decode_event

    try:
        decode_event(payload)
    except Undecodable:
        return False
    return True


def _frame_head_done(head: bytearray) -> bool:
    """Input starting with a NUL byte (a protobuf length): whether its first frame (or
    as much of it as the frame cap allows) has been read."""
    from agui_conformance.protobuf import DEFAULT_MAX_FRAME, HEADER_SIZE, frame_length

    if len(head) < HEADER_SIZE:
        return False
    return len(head) >= HEADER_SIZE + min(
        frame_length(bytes(head[:HEADER_SIZE])), DEFAULT_MAX_FRAME
    )


def _read_head(chunks: Iterator[bytes]) -> tuple[bytes, bool]:
    """Enough of the start to detect the format: the first non-blank line and the first
    non-blank byte after it, or for input starting with a NUL byte its first frame (or
    everything, when shorter). True when it is everything."""
    head = bytearray()
    scan = 0  # where to look next for the end of the first line
    line_end = -1
    for chunk in chunks:
        head += chunk
        if head[:1] == b"\x00":
            if _frame_head_done(head):
                return bytes(head), False
            continue
        start = _first_content(head)
        if start < 0:
            continue
        if head.startswith(_SSE_STARTS, start):
            return bytes(head), False
        if line_end < 0:
            line_end = head.find(b"\n", max(scan, start))
            scan = len(head)
            if line_end < 0:
                continue
        if _first_content(head, line_end + 1) >= 0:
            return bytes(head), False
    return bytes(head), True


def _first_content(buf: bytearray, start: int = 0) -> int:
    """Index of the first non-whitespace byte at or after `start` (a leading BOM skipped)."""
    if start == 0 and buf.startswith(_BOM):
        start = len(_BOM)
    size = len(buf)
    while start < size and buf[start] in _WHITESPACE:
        start += 1
    return start if start < size else -1


def _prepend(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from rest


def _unbatch(batches: Iterator[Batch]) -> Iterator[Payload]:
    for start, batch in batches:
        for offset, data in enumerate(batch):
            yield Payload(start + offset, data)


def _sse(chunks: Iterable[bytes], hits: list[Hit], lines: LineIndex) -> Iterator[Batch]:
    parser = SSEParser()
    counter = LineCounter()
    for chunk in chunks:
        counter.feed(chunk)
        items = parser.feed(chunk)
        yield from _frames(items, hits, lines, counter)
        counter.settle(parser.settled)
    yield from _frames(parser.close(), hits, lines, counter)


def _proto(chunks: Iterable[bytes], recording: Recording) -> Iterator[Batch]:
    from agui_conformance.protobuf.reader import FrameReader

    reader = FrameReader()
    for chunk in chunks:
        yield from _frames(reader.feed(chunk), recording.hits, None, None)
        if reader.stopped:
            break
    yield from _frames(reader.close(), recording.hits, None, None)
    recording.stopped = reader.stopped


def _frames(
    items: list[Frame | Hit],
    hits: list[Hit],
    lines: LineIndex | None,
    counter: LineCounter | None,
) -> Iterator[Batch]:
    """The frames of one parser call, in runs of consecutive indexes; hits aside. Without
    `lines` (a binary body) no line numbers are kept."""
    start, batch = 0, list[bytes]()
    for item in items:
        if isinstance(item, Frame):
            if lines is not None and counter is not None:
                lines.add(item.index, counter.line_at(item.offset))
            if batch and item.index != start + len(batch):
                yield start, batch
                batch = []
            if not batch:
                start = item.index
            batch.append(item.data)
        else:
            hits.append(item)
    if batch:
        yield start, batch


def _jsonl(chunks: Iterable[bytes], numbers: LineIndex) -> Iterator[Batch]:
    """One batch per chunk: its complete, non-blank lines, a trailing CR dropped; the line
    each starts on goes to `numbers`."""
    index = 0
    number = 1  # the line lines[0] is (or, between chunks, the line being read)
    pieces: list[bytes] = []  # the current line, when it spans chunks
    for chunk in chunks:
        lines = chunk.split(b"\n")
        if len(lines) == 1:
            pieces.append(chunk)
            continue
        if pieces:
            pieces.append(lines[0])
            lines[0] = b"".join(pieces)
            pieces = []
        tail = lines.pop()
        if tail:
            pieces.append(tail)
        if b"\r" in chunk or lines[0].endswith(b"\r"):  # the first may end in a CR read before
            lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
        # a blank line is empty or starts with whitespace (bytes <= 0x20), so the least
        # line is one if any is: one C pass, no per-line test in the usual chunk
        least = min(lines)
        if not least or least[0] <= 0x20:
            batch: list[bytes] = []
            for offset, line in enumerate(lines):
                if line and not line.isspace():
                    numbers.add(index + len(batch), number + offset)
                    batch.append(line)
        else:
            batch = lines  # no blank line in this chunk: no per-line test needed
            numbers.add_run(index, number, len(batch))
        number += len(lines)
        if batch:
            yield index, batch
            index += len(batch)
    line = b"".join(pieces)
    if line.endswith(b"\r"):
        line = line[:-1]
    if line and not line.isspace():
        numbers.add(index, number)
        yield index, [line]


_JSON_BATCH = 1024


def _json(chunks: Iterable[bytes]) -> Iterator[Batch]:
    raw = b"".join(chunks)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        yield 0, [raw]  # the validator reports it as not JSON, with the position
        return
    events = _events_of(document) if isinstance(document, dict) else document
    if isinstance(document, dict) and events is None and "type" not in document:
        raise NotARecording(_NOT_EVENTS)
    if not isinstance(events, list):
        yield 0, [orjson.dumps(document)]  # one event, as a document
        return
    del document, raw
    for start in range(0, len(events), _JSON_BATCH):
        yield start, [orjson.dumps(event) for event in events[start : start + _JSON_BATCH]]


def _events_of(document: dict[str, object]) -> list[object] | None:
    """The event list of a fixture-like object (`stream`, else `events`), if any."""
    for key in ("stream", "events"):
        value = document.get(key)
        if isinstance(value, list):
            return value
    return None


def save(recorded: Exchange, url: str, output: str, headers: Mapping[str, str]) -> str:
    """Write `recorded` to `output` and its timing sidecar to `output.timing.json`, with the
    secrets of `url` and `headers` scrubbed; the format written: "proto" (a protobuf
    answer whose body was kept: its bytes, frame for frame, see `protobuf.scrub`, which
    raises `SecretInBody` before anything is written) or "jsonl" (the events)."""
    from pathlib import Path

    from agui_conformance.protobuf import MEDIA_TYPE
    from agui_conformance.redact import redact_url, secrets_of
    from agui_conformance.transport import event_times_ms, summary

    secrets = secrets_of(url, headers)
    binary = recorded.raw_body is not None and recorded.content_type == MEDIA_TYPE
    if binary:
        from agui_conformance.protobuf.scrub import scrubbed_body

        data = scrubbed_body(bytes(recorded.raw_body or b""), secrets)
    else:
        lines = [frame.data.replace(b"\n", b" ") for frame in recorded.frames]
        if secrets:
            lines = _scrubbed(lines, secrets)
        data = b"".join(line + b"\n" for line in lines)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    sidecar = {
        **summary(recorded),
        "url": redact_url(url),
        "format": "proto" if binary else "jsonl",
        "requestHeaders": recorded.request_headers,
        "responseHeaders": recorded.response_headers,
        "eventTimesMs": event_times_ms(recorded),
        "framing": [
            {"rule": h.rule, "index": h.index, "message": h.message} for h in recorded.framing
        ],
    }
    text = orjson.dumps(secrets.value(sidecar), option=orjson.OPT_INDENT_2)
    Path(f"{output}.timing.json").write_bytes(text)
    return "proto" if binary else "jsonl"


def _scrubbed(lines: list[bytes], secrets: Secrets) -> list[bytes]:
    """JSONL lines with the secrets scrubbed from their events (deltas joined per message,
    as in reports); a line whose event did not change keeps its bytes."""
    events: list[Any] = []
    for line in lines:
        try:
            events.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            events.append(None)  # not JSON: scrubbed as text
    scrubbed = secrets.events(list(events))
    out = []
    for line, before, after in zip(lines, events, scrubbed, strict=True):
        if before is None:
            out.append(_scrub_line(line, secrets))
        elif after == before:
            out.append(line)
        else:
            try:
                out.append(orjson.dumps(after, option=orjson.OPT_NON_STR_KEYS))
            except TypeError:  # deeper than orjson writes: the line's text, scrubbed
                out.append(_scrub_line(line, secrets))
    return out


def _scrub_line(line: bytes, secrets: Secrets) -> bytes:
    text = line.decode("utf-8", "replace")
    scrubbed = secrets.text(text)
    return line if scrubbed == text else scrubbed.encode()
