"""Incremental reader of an HTTP + Protobuf body: length-prefixed frames in, events out.

Spec: https://docs.ag-ui.com/spec/1.1/basic/transports/http-protobuf#framing

Owns the framing: each frame is a 4-byte unsigned big-endian length and that
many bytes of one `ag_ui.Event` message; frames abut. Chunk boundaries can
fall anywhere (inside a header, inside a message, between frames) without
changing the output, and several frames in one chunk are read in one call.
Each decoded event becomes a `sse.Frame` whose `data` is the event as compact
JSON (what an SSE `data:` payload would carry), so the validator downstream is
the same for both bindings and never knows which one it reads.

Framing findings (`Hit`s, with the rule ids of the catalog), in stream order:

- `proto-unknown-event` (never an error): a valid message whose envelope arm
  this schema predates. The binding drops the frame with a warning; no `Frame`,
  and the event index does not advance. Reported once per stream, at the first
  one; `unknown_events` counts them all.
- `proto-frame-too-large`: a header declares more than `max_frame` bytes. The
  reader stops there (it would otherwise have to buffer the declared size).
- `proto-frame-undecodable`: a frame's bytes are no event message, or its
  length prefix is little-endian (the swapped length frames a message that
  decodes). Fatal to the stream: nothing after it is read.
- `stream-truncated` (at `close()`): the body ended inside a frame (in its
  header or its message). The spec calls that a truncated run, so it is the
  general truncation rule, with a message that says where the frame was cut;
  the cut frame's event is lost (it cannot be decoded in part).

`stopped` tells the caller that a fatal hit ended the reading: what the stream
held after it was never seen, so whole-stream checks (a missing terminal
event) say nothing about the producer.

Memory is bounded by the largest frame (at most `max_frame`). Never raises on
any bytes. Decoding needs the protobuf runtime (loaded on first use).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from agui_conformance.hits import Hit
from agui_conformance.protobuf import DEFAULT_MAX_FRAME, HEADER_SIZE, Undecodable, frame_length
from agui_conformance.sse import Frame

__all__ = ["FrameReader"]

Decoder = Callable[[bytes], "dict[str, Any] | None"]


class FrameReader:
    """Feed bytes as they arrive; get frames and framing hits in stream order."""

    __slots__ = (
        "_buffer",
        "_closed",
        "_decode",
        "_frames",
        "_hits",
        "_max",
        "_pos",
        "_start",
        "_stopped",
        "_unknown",
    )

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, decode: Decoder | None = None) -> None:
        if decode is None:
            from agui_conformance.protobuf.codec import decode_event

            decode = decode_event
        self._decode = decode
        self._max = max_frame
        self._buffer = bytearray()  # unread bytes, starting at stream offset `_start`
        self._start = 0
        self._pos = 0  # stream bytes fed so far
        self._frames = 0
        self._unknown = 0
        self._stopped = False  # a fatal hit: nothing more is read
        self._closed = False
        self._hits: list[Hit] = []

    # ------------------------------------------------------------ public

    @property
    def frames(self) -> int:
        """How many events have been decoded (frames of unknown events not counted)."""
        return self._frames

    @property
    def findings(self) -> list[Hit]:
        """Every framing hit emitted so far, in emission order."""
        return list(self._hits)

    @property
    def unknown_events(self) -> int:
        """How many frames carried an event type newer than the wire schema (dropped)."""
        return self._unknown

    @property
    def bytes_seen(self) -> int:
        """Stream bytes fed so far."""
        return self._pos

    @property
    def settled(self) -> int:
        """Stream offset before which no future frame can start."""
        return self._start

    @property
    def stopped(self) -> bool:
        """Whether a fatal framing finding ended the reading."""
        return self._stopped

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[Frame | Hit]:
        """Read the next bytes of the body; returns the frames and hits they complete."""
        out: list[Frame | Hit] = []
        if self._closed or not chunk:
            return out
        self._pos += len(chunk)
        if self._stopped:
            return out
        self._buffer += chunk
        self._drain(out)
        return out

    def take_event(self, chunk: bytes) -> bytes | None:
        """No one-step fast path for this binding: always None (then `feed` the chunk)."""
        return None

    def close(self) -> list[Frame | Hit]:
        """End of body: a frame left incomplete is a truncated run."""
        out: list[Frame | Hit] = []
        if self._closed:
            return out
        self._closed = True
        if self._stopped or not self._buffer:
            return out
        held = len(self._buffer)
        if held < HEADER_SIZE:
            where = f"inside the 4-byte length header of frame {self._frames} ({held} of 4 bytes)"
        else:
            size = frame_length(bytes(self._buffer[:HEADER_SIZE]))
            where = (
                f"inside frame {self._frames}: {held - HEADER_SIZE} of its {size} declared "
                "message bytes arrived"
            )
        self._buffer.clear()
        if held >= HEADER_SIZE and size > self._max:  # waited for a little-endian length
            self._stop(self._too_large(size, self._start), out)
            return out
        self._hit(
            Hit(
                "stream-truncated",
                None,
                f"The body ended at byte {self._pos}, {where}: a truncated run "
                "(the cut frame's event is lost).",
            ),
            out,
        )
        return out

    # ------------------------------------------------------------ frames

    def _drain(self, out: list[Frame | Hit]) -> None:
        buffer = self._buffer
        at = 0
        end = len(buffer)
        while end - at >= HEADER_SIZE:
            header = bytes(buffer[at : at + HEADER_SIZE])
            size = frame_length(header)
            offset = self._start + at
            if size > self._max:
                swapped = int.from_bytes(header, "little")
                if swapped <= self._max and end - at - HEADER_SIZE < swapped:
                    break  # little-endian? wait for the bytes it would frame
                if swapped <= self._max and self._little_endian(buffer, at, swapped, offset, out):
                    return
                self._stop(self._too_large(size, offset), out)
                return
            if end - at - HEADER_SIZE < size:
                break
            payload = bytes(buffer[at + HEADER_SIZE : at + HEADER_SIZE + size])
            at += HEADER_SIZE + size
            if not self._one(payload, offset, out):
                return
        if at:
            del buffer[:at]
            self._start += at

    def _little_endian(
        self, buffer: bytearray, at: int, size: int, offset: int, out: list[Frame | Hit]
    ) -> bool:
        """Whether the frame at `at` decodes when its length is read little-endian: a
        byte-order bug of the producer, reported as such (fatal)."""
        payload = bytes(buffer[at + HEADER_SIZE : at + HEADER_SIZE + size])
        try:
            if self._decode(payload) is None:
                return False
        except Undecodable:
            return False
        declared = frame_length(bytes(buffer[at : at + HEADER_SIZE]))
        self._stop(
            Hit(
                "proto-frame-undecodable",
                self._frames,
                f"The frame at byte {offset} has a little-endian length prefix: read as "
                f"the binding requires (big-endian) it declares {declared} bytes, read "
                f"little-endian it frames a {size}-byte event; the stream is not "
                "read further.",
            ),
            out,
        )
        return True

    def _too_large(self, size: int, offset: int) -> Hit:
        return Hit(
            "proto-frame-too-large",
            self._frames,
            f"The frame at byte {offset} declares {size} bytes, above the {self._max}-byte "
            "limit; the stream is not read further.",
        )

    def _one(self, payload: bytes, offset: int, out: list[Frame | Hit]) -> bool:
        """Decode one frame's message; False when it ended the reading."""
        try:
            event = self._decode(payload)
        except Undecodable as err:
            self._stop(
                Hit(
                    "proto-frame-undecodable",
                    self._frames,
                    f"The frame at byte {offset} ({len(payload)} bytes) does not decode: "
                    f"{err}; the stream is not read further.",
                ),
                out,
            )
            return False
        if event is None:
            self._unknown += 1
            if self._unknown == 1:
                self._hit(
                    Hit(
                        "proto-unknown-event",
                        self._frames,
                        f"The frame at byte {offset} carries an event type this wire schema "
                        "does not know; it is dropped (reported once per stream).",
                    ),
                    out,
                )
            return True
        out.append(Frame(self._frames, orjson.dumps(event), offset, 1))
        self._frames += 1
        return True

    def _stop(self, hit: Hit, out: list[Frame | Hit]) -> None:
        self._stopped = True
        self._buffer.clear()
        self._hit(hit, out)

    def _hit(self, hit: Hit, out: list[Frame | Hit]) -> None:
        self._hits.append(hit)
        out.append(hit)
