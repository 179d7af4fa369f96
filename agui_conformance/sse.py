"""Incremental Server-Sent Events parser over raw bytes, with framing findings.

Owns the WHATWG SSE line/field algorithm as the AG-UI HTTP+SSE binding uses
it: lines end at LF, CRLF or CR; a line is `field:value` (one leading space
of the value stripped; a line without a colon is a field with an empty
value); `data` values are joined with LF; a blank line dispatches; comments
(`:`) and the `event:`, `id:`, `retry:` fields are legal and ignored, as are
other unknown fields; one leading BOM is stripped. Chunk boundaries can fall
anywhere (mid-line, mid-CRLF, mid-character) without changing the output,
and `Frame.offset` is exact whatever the chunking.

Framing findings (`Hit`s, with the rule ids of the catalog):

- `sse-line-ending`: a CR or CRLF line ending (the binding requires LF).
  Reported once per stream, at the first one; `line_endings` counts them all.
- `sse-not-utf8`: bytes that are not UTF-8, once per event block. The payload
  is then decoded with U+FFFD replacement, as WHATWG parsers do, so the
  validator still sees the event.
- `sse-bom`: a leading byte-order mark (stripped).
- `sse-missing-data-prefix`: a line that is evidently a lost payload: an
  unknown field whose name starts like JSON (`{`, `[`, `"`, `}`, `]`,
  possibly indented: a raw JSON line or the continuation of pretty-printed
  JSON), or a misspelt `data` field (`Data:`, `data :`, a stray BOM). WHATWG
  consumers ignore such lines, so the payload never arrives. Other unknown
  field names are legal SSE and never reported. Once per stream, at the
  first one; `missing_prefix_lines` counts them all.
- `sse-truncated-frame` (at `close()`): the body ended while an event's data
  was pending (data lines without the closing blank line), or in the middle
  of a line that could be a cut `data:` line (anything but a comment or an
  `event:`/`id:`/`retry:` field). The pending data IS dispatched as a
  `Frame` (WHATWG consumers would discard it) so the validator still checks
  the event; the hit, right after that frame, says it was truncated.

Whether a payload holds exactly one JSON event is the validator's question
(`sse-data-not-one-event`), not this module's. Never raises on any bytes.

Hits are emitted in stream order with one exception of timing, not of
content: a `sse-line-ending` hit follows the output of the line whose ending
it reports (for a CR at the very end of a chunk, the next chunk says whether
it was CR or CRLF). Memory is bounded by the largest single event: complete
lines are consumed as they arrive and only the current line and the current
event's data lines are held.
"""

from __future__ import annotations

from dataclasses import dataclass

from agui_conformance.hits import Hit

__all__ = ["Frame", "SSEParser"]

_BOM = b"\xef\xbb\xbf"
_IGNORED_FIELDS = frozenset({b"event", b"id", b"retry"})
_PAYLOAD_STARTS = frozenset(b'{["}]')  # ints: how a JSON payload line or its continuation starts
_LF = 0x0A
_PREVIEW = 60


@dataclass(slots=True)  # not frozen: a frozen dataclass takes 6x as long to make, per event
class Frame:
    """One dispatched SSE event that carried data."""

    index: int  # 0-based among frames with data (= the event index for the validator)
    data: bytes  # the joined data payload, UTF-8 (invalid bytes replaced by U+FFFD)
    offset: int  # stream byte offset of the first line of the event block (BOM included)
    data_lines: int  # how many data lines were joined


class SSEParser:
    """Feed bytes as they arrive; get frames and framing hits in stream order."""

    __slots__ = (
        "_block_at",
        "_block_utf8",
        "_closed",
        "_cr",
        "_cr_index",
        "_cr_pending",
        "_crlf",
        "_data",
        "_frames",
        "_head",
        "_hits",
        "_line_at",
        "_partial",
        "_pos",
        "_prefix_lines",
        "_started",
    )

    def __init__(self) -> None:
        self._head = b""  # first bytes, held until we know whether they are a BOM
        self._started = False
        self._closed = False
        self._pos = 0  # stream offset just past the last byte scanned (raw, BOM included)
        self._partial: list[bytes] = []  # pieces of the current unterminated line
        self._line_at = 0  # stream offset where the current line starts
        self._cr_pending = False  # the last byte scanned was a CR: an LF may follow
        self._cr_index = 0  # event index to blame for that CR
        self._data: list[bytes] = []  # data values of the current event block
        self._block_at = -1  # stream offset of the block's first line (-1: no line yet)
        self._block_utf8 = False  # sse-not-utf8 already reported for this block
        self._frames = 0
        self._cr = 0
        self._crlf = 0
        self._prefix_lines = 0
        self._hits: list[Hit] = []

    # ------------------------------------------------------------ public

    @property
    def frames(self) -> int:
        """How many frames (events with data) have been dispatched."""
        return self._frames

    @property
    def findings(self) -> list[Hit]:
        """Every framing hit emitted so far, in emission order."""
        return list(self._hits)

    @property
    def line_endings(self) -> tuple[int, int]:
        """How many (CR, CRLF) line endings were seen; LF endings are not counted."""
        return self._cr, self._crlf

    @property
    def missing_prefix_lines(self) -> int:
        """How many lines looked like payloads without a `data:` field name."""
        return self._prefix_lines

    @property
    def settled(self) -> int:
        """Stream offset before which no future frame can start (the current event block's
        first line, else the current line): what lies before it is settled."""
        return self._block_at if self._block_at >= 0 else self._line_at

    @property
    def bytes_seen(self) -> int:
        """Stream bytes scanned so far (BOM included)."""
        return self._pos

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[Frame | Hit]:
        """Parse the next bytes of the body; returns frames and hits they complete."""
        out: list[Frame | Hit] = []
        if self._closed or not chunk:
            return out
        data = bytes(chunk)
        payload = self.take_event(data)
        if payload is not None:
            out.append(Frame(self._frames - 1, payload, self._pos - len(data), 1))
            return out
        if not self._started:
            data = self._head + data
            if len(data) < len(_BOM) and _BOM.startswith(data):
                self._head = data  # could still become a BOM
                return out
            self._head = b""
            data = self._start(data, out)
        if data:
            self._scan(data, out)
        return out

    def take_event(self, chunk: bytes) -> bytes | None:
        """The usual chunk in one step: if `chunk` is exactly one `data: ...` line and its
        blank line, ASCII (so valid UTF-8), arriving where a new event may start, consume
        it as one frame and return its payload; else consume nothing and return None (then
        `feed` it). The frame `feed` would have made is `Frame(frames - 1, payload,
        bytes_seen - len(chunk), 1)`."""
        if (
            chunk[-2:] == b"\n\n"
            and chunk.startswith(b"data: ")
            and chunk.find(b"\n") == len(chunk) - 2
            and self._block_at < 0  # implies no data pending
            and self._started
            and not self._partial
            and not self._cr_pending
            and not self._closed
            and b"\r" not in chunk
            and chunk.isascii()
        ):
            self._frames += 1
            self._pos = self._line_at = self._pos + len(chunk)
            return chunk[6:-2]
        return None

    def close(self) -> list[Frame | Hit]:
        """End of body: the last line, a pending event, truncation."""
        out: list[Frame | Hit] = []
        if self._closed:
            return out
        self._closed = True
        if not self._started and self._head:
            data = self._start(self._head, out)
            self._head = b""
            if data:
                self._scan(data, out)
        if self._cr_pending:
            self._cr_pending = False
            self._ending(False, self._pos - 1, self._cr_index, out)
        cut_line: bytes | None = None
        if self._partial:
            line = b"".join(self._partial)
            self._partial = []
            if _may_hold_data(line):
                cut_line = line
            self._line(line, self._line_at, out)
        if self._data:
            index = self._frames
            self._dispatch(out)
            self._hit(
                Hit(
                    "sse-truncated-frame",
                    index,
                    f"The body ended inside event {index}: its last data line is not followed "
                    "by a blank line, so WHATWG consumers discard it (checked here anyway).",
                ),
                out,
            )
        elif cut_line is not None:
            self._hit(
                Hit(
                    "sse-truncated-frame",
                    self._frames,
                    f"The body ended in the middle of a line at byte {self._line_at}: "
                    f"{_show(cut_line)}.",
                ),
                out,
            )
        return out

    # ------------------------------------------------------------ scanning

    def _start(self, data: bytes, out: list[Frame | Hit]) -> bytes:
        self._started = True
        if data.startswith(_BOM):
            self._hit(Hit("sse-bom", 0, "The stream starts with a UTF-8 byte-order mark."), out)
            self._pos = self._line_at = len(_BOM)
            return data[len(_BOM) :]
        return data

    def _scan(self, chunk: bytes, out: list[Frame | Hit]) -> None:
        base = self._pos
        size = len(chunk)
        self._pos = base + size
        pos = 0
        if self._cr_pending:
            self._cr_pending = False
            crlf = chunk[0] == _LF
            self._ending(crlf, base - 1, self._cr_index, out)
            if crlf:
                pos = 1
                self._line_at = base + 1
        cr = chunk.find(b"\r", pos)
        if cr < 0:
            self._scan_lf(chunk, pos, base, out)
            return
        lf = chunk.find(b"\n", pos)
        while True:
            if 0 <= lf < pos:
                lf = chunk.find(b"\n", pos)
            if 0 <= cr < pos:
                cr = chunk.find(b"\r", pos)
            if cr >= 0 and (lf < 0 or cr < lf):
                index = self._frames
                self._complete(chunk[pos:cr], self._line_at, out)
                if cr + 1 == size:  # CR or CRLF? the next chunk (or close) tells
                    self._cr_pending = True
                    self._cr_index = index
                    self._line_at = base + size
                    return
                crlf = chunk[cr + 1] == _LF
                pos = cr + 2 if crlf else cr + 1
                self._line_at = base + pos
                self._ending(crlf, base + cr, index, out)
            elif lf >= 0:
                self._complete(chunk[pos:lf], self._line_at, out)
                pos = lf + 1
                self._line_at = base + pos
            else:
                break
        if pos < size:
            self._partial.append(chunk[pos:])

    def _scan_lf(self, chunk: bytes, pos: int, base: int, out: list[Frame | Hit]) -> None:
        """The common case: no CR in this chunk, so split on LF in one C call."""
        size = len(chunk)
        if pos >= size:
            return
        if chunk.find(b"\n", pos) < 0:
            self._partial.append(chunk[pos:] if pos else chunk)
            return
        segments = (chunk[pos:] if pos else chunk).split(b"\n")
        tail = segments.pop()
        line = self._line
        first = segments[0]
        self._complete(first, self._line_at, out)
        at = base + pos + len(first) + 1
        for segment in segments[1:]:
            line(segment, at, out)
            at += len(segment) + 1
        self._line_at = at
        if tail:
            self._partial.append(tail)

    def _complete(self, segment: bytes, at: int, out: list[Frame | Hit]) -> None:
        """A line ends in this chunk: the held pieces of it, then `segment`. A long `data`
        line (one that came in pieces) has only its value joined: one copy of the payload,
        not a join and then a slice."""
        pieces = self._partial
        if not pieces:
            self._line(segment, at, out)
            return
        self._partial = []
        pieces.append(segment)
        first = pieces[0]
        if len(first) > 5 and first.startswith(b"data:"):  # as `_line` reads a data line
            if self._block_at < 0:
                self._block_at = at
            value = memoryview(first)[6 if first[5] == 0x20 else 5 :]
            self._data.append(b"".join([value, *pieces[1:]]))
            return
        self._line(b"".join(pieces), at, out)

    # ------------------------------------------------------------ lines and events

    def _line(self, line: bytes, at: int, out: list[Frame | Hit]) -> None:
        if not line:
            self._dispatch(out)
            return
        if self._block_at < 0:
            self._block_at = at
        if line.startswith(b"data:"):
            self._data.append(line[6:] if line[5:6] == b" " else line[5:])
            return
        if line[0] == 0x3A:  # ':' a comment
            if not line.isascii():
                self._check_text(line, at, out)
            return
        colon = line.find(b":")
        if colon < 0:
            name, value = line, b""
        else:
            name = line[:colon]
            value = line[colon + 2 :] if line[colon + 1 : colon + 2] == b" " else line[colon + 1 :]
        if name == b"data":  # `data` without a colon: an empty data line
            self._data.append(value)
            return
        if not line.isascii():
            self._check_text(line, at, out)
        if name in _IGNORED_FIELDS:
            return
        self._unknown_field(name, line, at, out)

    def _unknown_field(self, name: bytes, line: bytes, at: int, out: list[Frame | Hit]) -> None:
        """Unknown fields are legal and ignored, unless the line is evidently a lost payload."""
        bare = name.lstrip(b" \t")
        misspelt = name.replace(_BOM, b"").strip().lower() == b"data"
        if not misspelt and (not bare or bare[0] not in _PAYLOAD_STARTS):
            return
        self._prefix_lines += 1
        if self._prefix_lines > 1:
            return
        if misspelt:
            message = (
                f"Line at byte {at} uses the field name {_show(name)}, not `data`: SSE field names "
                "are exact, so consumers ignore the line and its payload is lost "
                "(reported once per stream)."
            )
        else:
            message = (
                f"Line at byte {at} is a payload without the `data:` field name: "
                f"{_show(line)}; SSE consumers ignore it, so it is lost "
                "(reported once per stream)."
            )
        self._hit(Hit("sse-missing-data-prefix", self._frames, message), out)

    def _check_text(self, line: bytes, at: int, out: list[Frame | Hit]) -> None:
        if self._block_utf8:
            return
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as err:
            self._block_utf8 = True
            self._hit(
                Hit(
                    "sse-not-utf8",
                    self._frames,
                    f"Byte {at + err.start} of the stream is not valid UTF-8 ({err.reason}).",
                ),
                out,
            )

    def _dispatch(self, out: list[Frame | Hit]) -> None:
        data = self._data
        if data:
            payload = data[0] if len(data) == 1 else b"\n".join(data)
            index = self._frames
            self._frames = index + 1
            if not payload.isascii():
                try:
                    payload.decode("utf-8")
                except UnicodeDecodeError as err:
                    if not self._block_utf8:
                        self._hit(
                            Hit(
                                "sse-not-utf8",
                                index,
                                f"Event {index}'s data is not valid UTF-8 ({err.reason} at byte "
                                f"{err.start} of the payload); read with U+FFFD replacement.",
                            ),
                            out,
                        )
                    payload = payload.decode("utf-8", "replace").encode("utf-8")
            out.append(Frame(index, payload, self._block_at, len(data)))
            self._data = []
        self._block_at = -1
        self._block_utf8 = False

    def _ending(self, crlf: bool, at: int, index: int, out: list[Frame | Hit]) -> None:
        if crlf:
            self._crlf += 1
        else:
            self._cr += 1
        if self._cr + self._crlf == 1:
            kind = "CRLF" if crlf else "CR"
            self._hit(
                Hit(
                    "sse-line-ending",
                    index,
                    f"Line ending {kind} at byte {at}: the AG-UI SSE binding requires LF only "
                    "(reported once per stream).",
                ),
                out,
            )

    def _hit(self, hit: Hit, out: list[Frame | Hit]) -> None:
        self._hits.append(hit)
        out.append(hit)


def _may_hold_data(line: bytes) -> bool:
    """Whether an unterminated last line could be (part of) a lost data line."""
    if line.startswith(b":"):
        return False
    colon = line.find(b":")
    return (line if colon < 0 else line[:colon]) not in _IGNORED_FIELDS


def _show(raw: bytes) -> str:
    """A short, printable quotation of raw bytes for a message."""
    text = raw[:_PREVIEW].decode("utf-8", "replace")
    return repr(text + "…" if len(raw) > _PREVIEW else text)
