"""The reference agent's HTTP + Protobuf body: the same events, as length-prefixed frames.

https://docs.ag-ui.com/spec/1.1/basic/transports/http-protobuf: a producer that supports
the binding SHOULD answer it whenever the request's `Accept` admits the media type with a
positive quality (`*/*` and `application/*` included), and MUST answer SSE otherwise. A
request with no `Accept` at all gets SSE (as the official TypeScript encoder does: a client
that says nothing is most likely a script reading text). Each event is encoded with the
suite's own codec (`agui_conformance.protobuf`, lossy as official encoders are: members the
wire schema has no field for are dropped) and framed with its 4-byte big-endian length, one
frame per write. The protobuf fault modes (`faults.py`, framing `proto-*`) break one
negotiation or framing rule each.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

from starlette.requests import Request

from agui_conformance.negotiation import admits_protobuf
from agui_conformance.protobuf import MEDIA_TYPE, Unencodable, encode_event, frame
from reference_agent.stream import Event, paced, safe

__all__ = ["MEDIA_TYPE", "content_type", "frames", "wants_protobuf"]

log = logging.getLogger("reference_agent")

GARBAGE = b"\xff\xff\xff\xff"  # fault proto-undecodable-frame: no protobuf message parses it
MISLABELLED = "application/x-protobuf"  # fault proto-wrong-content-type


def wants_protobuf(accept: str | None, framing: str | None, enabled: bool = True) -> bool:
    """Whether this request gets the protobuf binding."""
    if framing == "proto-to-sse-client":
        return True  # the fault: protobuf whatever the client admits
    if not enabled or accept is None:
        return False
    if framing == "proto-named-only":  # the fault: wildcards not honoured
        return MEDIA_TYPE in accept.lower() and admits_protobuf(accept)
    return admits_protobuf(accept)


def content_type(framing: str | None) -> str:
    return MISLABELLED if framing == "proto-wrong-content-type" else MEDIA_TYPE


def encode(event: Event, framing: str | None, position: int) -> bytes:
    """One event as one frame (b"" for an event the wire schema has no arm for: dropped,
    as an official encoder cannot send it either)."""
    try:
        payload = encode_event(event, lossy=True)
    except Unencodable as err:
        log.warning("an event the protobuf wire schema cannot carry was dropped: %s", err)
        return b""
    if framing == "proto-undecodable-frame" and position == 1:
        payload = GARBAGE
    if framing == "proto-little-endian":
        return len(payload).to_bytes(4, "little") + payload
    return frame(payload)


def _stepped(events: Iterator[Event]) -> Iterator[Event]:
    """Fault proto-extra-step: the run's events inside a step, on this binding only."""
    for event in events:
        yield event
        if event.get("type") == "RUN_STARTED":
            yield {"type": "STEP_STARTED", "stepName": "protobuf"}
            break
    held: Event | None = None
    for event in events:
        if held is not None:
            yield held
        held = event
    if held is not None:
        if held.get("type") == "RUN_FINISHED":
            yield {"type": "STEP_FINISHED", "stepName": "protobuf"}
        yield held


async def frames(
    events: Iterator[Event], delay: float, framing: str | None, request: Request
) -> AsyncIterator[bytes]:
    """The body: one frame per event, written as it is made (as `stream.sse`)."""
    made = safe(events)
    if framing == "proto-extra-step":
        made = _stepped(made)
    held = b""  # fault proto-truncated: each frame waits for the next, the last is cut
    async for position, event in paced(made, delay, request):
        data = encode(event, framing, position)
        if framing == "proto-truncated":
            data, held = held, data
        if data:
            yield data
    if held:
        yield held[:-3]
