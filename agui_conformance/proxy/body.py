"""The framing of an HTTP/1.1 response body, I/O-free: bytes from the socket in, the body's
own bytes out (RFC 9112 §6.3 and §7.1: https://www.rfc-editor.org/rfc/rfc9112#section-7.1).

The proxy's client (`upstream`) lets h11 parse the status line and headers, then hands the
body to this reader: h11's general event machinery cost ~7 times as much per chunk as this
loop (measured on one SSE event per chunk, the shape of an agent's stream), and the body is
where every event passes. Three framings: chunked (sizes, extensions ignored, trailers read
and dropped), a `Content-Length`, or until the connection closes. A malformed chunk is a
`BodyError`; bytes after the body's end are kept in `rest` (a connection with any is not
reused). Knows nothing of sockets or of what the body carries.
"""

from __future__ import annotations

import re

LINE_CAP = 16 * 1024  # a chunk-size or trailer line (h11's own limit on an incomplete event)
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")

SIZE, DATA, DATA_END, TRAILER, DONE = range(5)


class BodyError(Exception):
    """The body's framing is broken (the agent's doing)."""


class BodyReader:
    """One response body. `feed(data)` returns its body bytes in `data` (b"" for none);
    `done` once the body ended; `close()` at end of input says whether it was whole."""

    __slots__ = ("_buf", "_left", "_state", "chunked", "done", "rest", "until_close")

    def __init__(self, *, chunked: bool = False, length: int | None = None) -> None:
        self.chunked = chunked
        self.until_close = not chunked and length is None
        self._left = length or 0  # bytes of body (or of the current chunk) still to come
        self._state = SIZE if chunked else DATA
        self._buf = b""  # an incomplete line (chunked only)
        self.done = not chunked and length == 0
        if self.done:
            self._state = DONE
        self.rest = b""

    def feed(self, data: bytes) -> bytes:
        if self.done:
            self.rest += data
            return b""
        if self.until_close:
            return data
        if not self.chunked:
            if len(data) < self._left:
                self._left -= len(data)
                return data
            body, self.rest = data[: self._left], data[self._left :]
            self._left, self.done, self._state = 0, True, DONE
            return body
        return self._chunks(self._buf + data if self._buf else data)

    def _chunks(self, buf: bytes) -> bytes:
        out: list[bytes] = []
        pos, end = 0, len(buf)
        while pos < end:
            state = self._state
            if state == DATA:
                take = min(self._left, end - pos)
                out.append(buf[pos : pos + take])
                pos += take
                self._left -= take
                if not self._left:
                    self._state = DATA_END
            elif state == DATA_END:
                if end - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise BodyError("a chunk's data did not end with CRLF")
                pos += 2
                self._state = SIZE
            else:  # SIZE or TRAILER: a line
                stop = buf.find(b"\r\n", pos)
                if stop < 0:
                    if end - pos > LINE_CAP:
                        raise BodyError("a chunk-size or trailer line over 16 KiB")
                    break
                line, pos = buf[pos:stop], stop + 2
                if state == TRAILER:
                    if not line:  # the empty line after the last chunk and its trailers
                        self.done, self._state = True, DONE
                        self.rest = buf[pos:]
                        pos = end
                    continue
                size = line.split(b";", 1)[0].strip(b" \t")
                if not _HEX.fullmatch(size):
                    raise BodyError(f"a chunk size that is not hexadecimal: {line[:40]!r}")
                self._left = int(size, 16)
                self._state = DATA if self._left else TRAILER
        self._buf = buf[pos:] if pos < end and not self.done else b""
        if len(out) == 1:
            return out[0]
        return b"".join(out)

    def close(self) -> bool:
        """The connection closed: whether the body was whole (a body delimited by the close
        ends here)."""
        if self.until_close:
            self.done = True
        return self.done
