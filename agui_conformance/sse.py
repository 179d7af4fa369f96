"""Incremental Server-Sent Events parser over raw bytes, with framing findings.

Owns the WHATWG SSE line/field algorithm as the AG-UI HTTP+SSE binding uses
it: lines end at LF, CRLF or CR; `data:` lines are joined with LF; a blank
line dispatches; comments (`:`) and `event:`, `id:`, `retry:` fields are
legal and ignored; one leading BOM is stripped. Chunk boundaries can fall
anywhere (mid-line, mid-CRLF, mid-character) without changing the result.
Memory is bounded by the largest single event, never the whole stream.

Framing findings (hits) it reports: CR/CRLF line endings (`sse-line-ending`,
once), bytes that are not UTF-8 (`sse-not-utf8`), a BOM (`sse-bom`), a
payload line without a field name such as a bare JSON object
(`sse-missing-data-prefix`), and a body ending mid-event
(`sse-truncated-frame`). Whether a payload holds exactly one JSON event is
the validator's question, not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass

from agui_conformance.hits import Hit

_FIELDS = frozenset({b"data", b"event", b"id", b"retry"})
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Frame:
    """One dispatched SSE event that carried data."""

    index: int  # 0-based among frames with data (= the event index)
    data: bytes  # the joined data payload
    offset: int  # byte offset where the event block started
    data_lines: int  # how many data: lines were joined


class SSEParser:
    """Feed bytes as they arrive; get frames and framing hits in stream order."""

    def __init__(self) -> None:
        self._buf = b""
        self._consumed = 0  # stream offset of _buf[0]
        self._started = False
        self._pending_cr = False  # the previous chunk ended with CR
        self._data: list[bytes] = []
        self._block_start: int | None = None
        self._block_has_lines = False
        self._frames = 0
        self._reported_eol = False
        self._reported_prefix = False
        self._eol_pending = False
        self._eol_hit: Hit | None = None
        self._line_at = 0  # stream offset of the line being parsed
        self._closed = False

    @property
    def frames(self) -> int:
        return self._frames

    def feed(self, chunk: bytes) -> list[Frame | Hit]:
        out: list[Frame | Hit] = []
        if self._closed or not chunk:
            return out
        if not self._started:
            self._buf += chunk
            if len(self._buf) < 3 and _BOM.startswith(self._buf):
                return out  # wait: could still be a BOM
            self._started = True
            if self._buf.startswith(_BOM):
                out.append(Hit("sse-bom", 0, "The stream starts with a UTF-8 byte-order mark."))
                self._buf = self._buf[3:]
                self._consumed = 3
            chunk, self._buf = self._buf, b""
        if self._pending_cr:
            self._pending_cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]  # the LF of a CRLF split across chunks
                self._consumed += 1
        self._buf += chunk
        self._lines(out)
        return out

    def close(self) -> list[Frame | Hit]:
        out: list[Frame | Hit] = []
        if self._closed:
            return out
        self._closed = True
        if not self._started and self._buf:
            self._started = True
            if self._buf.startswith(_BOM):
                out.append(Hit("sse-bom", 0, "The stream starts with a UTF-8 byte-order mark."))
                self._buf = self._buf[3:]
        if self._buf:
            self._line_at = self._consumed
            self._line(self._buf, out)  # an unterminated last line
            self._buf = b""
        if self._data or self._block_has_lines:
            had_data = bool(self._data)
            frame_index = self._frames
            self._dispatch(out)
            if had_data:
                out.append(
                    Hit(
                        "sse-truncated-frame",
                        frame_index,
                        "The body ended inside an event (no blank line after its last data line).",
                    )
                )
        return out

    # ------------------------------------------------------------ internals

    def _lines(self, out: list[Frame | Hit]) -> None:
        buf = self._buf
        start = 0
        size = len(buf)
        while start < size:
            lf = buf.find(b"\n", start)
            cr = buf.find(b"\r", start, lf if lf >= 0 else size)
            if cr >= 0:
                if cr == size - 1:
                    # CR at the end of the buffer: a line end; a following LF may
                    # arrive in the next chunk and belongs to it.
                    self._eol(cr)
                    self._line_at = self._consumed + start
                    self._line(buf[start:cr], out)
                    self._pending_cr = True
                    start = size
                    break
                self._eol(cr)
                self._line_at = self._consumed + start
                self._line(buf[start:cr], out)
                start = cr + 2 if buf[cr + 1 : cr + 2] == b"\n" else cr + 1
                continue
            if lf < 0:
                break
            self._line_at = self._consumed + start
            self._line(buf[start:lf], out)
            start = lf + 1
        self._consumed += start
        self._buf = buf[start:]

    def _eol(self, at: int) -> None:
        if not self._reported_eol:
            self._reported_eol = True
            self._eol_hit = Hit(
                "sse-line-ending",
                self._frames,
                f"CR or CRLF line ending at byte {self._consumed + at}; the AG-UI SSE binding "
                "requires LF only.",
            )
            self._eol_pending = True

    def _line(self, line: bytes, out: list[Frame | Hit]) -> None:
        if self._eol_pending and self._eol_hit is not None:
            self._eol_pending = False
            out.append(self._eol_hit)
        if not line:
            self._dispatch(out)
            return
        if self._block_start is None:
            self._block_start = self._line_at
        self._block_has_lines = True
        if line.startswith(b":"):
            return  # a comment
        colon = line.find(b":")
        name = line if colon < 0 else line[:colon]
        value = b"" if colon < 0 else line[colon + 1 :]
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name not in _FIELDS and not self._reported_prefix and name[:1] in (b"{", b"["):
            self._reported_prefix = True
            out.append(
                Hit(
                    "sse-missing-data-prefix",
                    self._frames,
                    f"A payload line without an SSE field name: {line[:60]!r}; consumers "
                    "ignore it, so the event is lost.",
                )
            )
            # other unknown fields are ignored, as WHATWG says

    def _dispatch(self, out: list[Frame | Hit]) -> None:
        if self._data:
            data = b"\n".join(self._data)
            index = self._frames
            self._frames += 1
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as err:
                out.append(
                    Hit(
                        "sse-not-utf8",
                        index,
                        f"Event {index} is not valid UTF-8 ({err.reason} at byte {err.start}).",
                    )
                )
                data = data.decode("utf-8", errors="replace").encode("utf-8")
            out.append(Frame(index, data, self._block_start or 0, len(self._data)))
        self._data = []
        self._block_start = None
        self._block_has_lines = False
