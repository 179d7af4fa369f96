"""The AG-UI HTTP + Protobuf binding: media type, framing, and the event codec.

Spec: https://docs.ag-ui.com/spec/1.1/basic/transports/http-protobuf

This module is free of the protobuf runtime, so importing it (for the media
type, `frame`, the exceptions) costs nothing; `decode_event`/`encode_event`
load `codec` (and protobuf) on first use. `FrameReader` lives in `reader`.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agui_conformance.protobuf.codec import decode_event, encode_event

__all__ = [
    "DEFAULT_MAX_FRAME",
    "HEADER_SIZE",
    "MEDIA_TYPE",
    "Undecodable",
    "Unencodable",
    "decode_event",
    "encode_event",
    "frame",
]

MEDIA_TYPE = "application/vnd.ag-ui.event+proto"
HEADER_SIZE = 4  # the frame's length: an unsigned 32-bit big-endian integer
DEFAULT_MAX_FRAME = 16 << 20  # 16 MiB: a larger declared length ends the stream as a finding
_HEADER = struct.Struct(">I")


class Undecodable(ValueError):
    """A frame's bytes are not an AG-UI `Event` message (fatal to the stream)."""


class Unencodable(ValueError):
    """An event the wire schema cannot carry as it is (it would not decode back the same)."""


def frame(payload: bytes) -> bytes:
    """One frame: the 4-byte big-endian length of `payload`, then `payload`."""
    if len(payload) > 0xFFFFFFFF:
        raise ValueError(f"a frame holds at most 4 GiB - 1 bytes, not {len(payload)}")
    return _HEADER.pack(len(payload)) + payload


def frame_length(header: bytes) -> int:
    """The payload length a 4-byte frame header declares."""
    return int(_HEADER.unpack(header)[0])


def first_frame(head: bytes) -> bytes | None:
    """The message bytes of the whole frame `head` starts with (a declared length within
    `DEFAULT_MAX_FRAME` that `head` holds entirely), or None: how a body is recognised as
    protobuf before it is read as such."""
    if len(head) < HEADER_SIZE:
        return None
    size = frame_length(head[:HEADER_SIZE])
    if size > DEFAULT_MAX_FRAME or len(head) < HEADER_SIZE + size:
        return None
    return bytes(head[HEADER_SIZE : HEADER_SIZE + size])


def __getattr__(name: str) -> Any:
    if name in ("decode_event", "encode_event"):
        from agui_conformance.protobuf import codec

        return getattr(codec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
