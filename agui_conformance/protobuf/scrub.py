"""Secrets out of a recorded HTTP + Protobuf body, frame by frame, or a refusal.

Owns what `record` writes when the agent answered protobuf: the body as it came
(4-byte big-endian lengths, each followed by one `ag_ui.Event` message), so that
`validate` reads it as the agent sent it. A body can echo what the user gave as a
secret (an Authorization value in a TEXT_MESSAGE_CONTENT), as an SSE stream can:

- a frame whose event decodes and carries a secret (alone, or split across the
  deltas of one message or tool call, joined as reports join them) is decoded,
  scrubbed and encoded again, framed with its new length; every other frame
  keeps the agent's exact bytes;
- a secret in bytes that do not decode (an undecodable frame, a frame declaring
  more than the reader's cap, an event type newer than the wire schema, a frame
  the body ends inside, or whatever follows a broken frame, since the lengths
  after it mean nothing) cannot be scrubbed without changing what the recording
  shows, so the body is refused (`SecretInBody`) and nothing is written.

Knows nothing of HTTP or files: bytes in, bytes out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agui_conformance.protobuf import DEFAULT_MAX_FRAME, HEADER_SIZE, frame, frame_length

if TYPE_CHECKING:
    from agui_conformance.redact import Secrets

__all__ = ["SecretInBody", "scrubbed_body"]


class SecretInBody(ValueError):
    """A secret the user gave sits in protobuf bytes that cannot be scrubbed."""


def scrubbed_body(body: bytes, secrets: Secrets) -> bytes:
    """`body` with the secrets scrubbed from its decodable frames (see the module's doc);
    `SecretInBody` when one remains anywhere in the bytes to be written."""
    if not secrets:
        return body
    from agui_conformance.protobuf import Undecodable, Unencodable
    from agui_conformance.protobuf.codec import decode_event, encode_event

    frames, rest = _split(body)
    events: list[Any] = []
    for index, payload in enumerate(frames):
        try:
            events.append(decode_event(payload))
        except Undecodable:  # fatal, as the reader says: what follows is not framed
            rest = b"".join(_framed(frames[index:])) + rest
            frames = frames[:index]
            break
    scrubbed = secrets.events(list(events))
    out = bytearray()
    for number, (payload, before, after) in enumerate(
        zip(frames, events, scrubbed, strict=True), 1
    ):
        if after is before or after == before:
            out += frame(payload)
            continue
        try:
            out += frame(encode_event(after, lossy=True))
        except Unencodable as err:  # pragma: no cover - a decoded event encodes again
            raise SecretInBody(f"frame {number} cannot be encoded again: {err}") from None
    out += rest
    _refuse_what_remains(bytes(out), len(out) - len(rest), secrets)
    return bytes(out)


def _split(body: bytes) -> tuple[list[bytes], bytes]:
    """The whole frames at the start of `body` (their message bytes) and what follows them:
    a frame the body ends inside, or one that declares more than the reader's cap."""
    frames: list[bytes] = []
    at = 0
    while len(body) - at >= HEADER_SIZE:
        size = frame_length(body[at : at + HEADER_SIZE])
        end = at + HEADER_SIZE + size
        if size > DEFAULT_MAX_FRAME or end > len(body):
            break
        frames.append(body[at + HEADER_SIZE : end])
        at = end
    return frames, body[at:]


def _framed(payloads: list[bytes]) -> list[bytes]:
    return [frame(payload) for payload in payloads]


def _refuse_what_remains(out: bytes, framed: int, secrets: Secrets) -> None:
    for value in secrets.values:
        needle = value.encode("utf-8", "surrogatepass")
        at = out.find(needle)
        if at < 0:
            continue
        where = (
            "in bytes after the last frame that decodes (a broken, oversized or cut frame)"
            if at >= framed
            else "in a frame no known event type decodes it to (newer than the wire schema)"
        )
        raise SecretInBody(f"the protobuf body carries a secret you gave {where}")
