"""The reference agent's SSE body: events encoded and sent one by one, as they are made.

Nothing is made ahead of the socket: the server awaits each write, and a client
that stops reading stops the generation once the socket buffers are full (the
server ends such a write after `limits.WRITE_SECONDS`). A failure while making
the next event (a bug of ours) ends the stream with a safe RUN_ERROR.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
from starlette.requests import Request

Event = dict[str, Any]
log = logging.getLogger("reference_agent")

STALL_SECONDS = 45.0  # fault modes stall and hang: longer than every default deadline
#                        (first byte 15 s, idle 30 s), so they end as unresponsive
BUFFER_SECONDS = 1.0  # fault mode buffered: the burst comes after this
FAILED: Event = {
    "type": "RUN_ERROR",
    "message": "The agent failed unexpectedly.",
    "code": "internal",
}
_CHECK_EVERY = 64  # events between checks for a departed client


def encode(event: Event, framing: str | None) -> bytes:
    payload = orjson.dumps(event)
    if framing == "crlf":
        return b"data: " + payload + b"\r\n\r\n"
    return b"data: " + payload + b"\n\n"


def safe(events: Iterator[Event]) -> Iterator[Event]:
    """`events`, ended by a RUN_ERROR if making the next one fails."""
    while True:
        try:
            event = next(events)
        except StopIteration:
            return
        except Exception:
            log.exception("the run failed while streaming")
            yield dict(FAILED)
            return
        yield event


async def paced(
    events: Iterator[Event], delay: float, request: Request
) -> AsyncIterator[tuple[int, Event]]:
    """`events` with their positions, `delay` seconds apart, as a body writes them: the
    loop gets a turn between events, and the run stops once the client has left."""
    for position, event in enumerate(events):
        if delay and position:
            await asyncio.sleep(delay)
        if position % _CHECK_EVERY == _CHECK_EVERY - 1 and await request.is_disconnected():
            return  # the client left: stop working for nobody
        yield position, event
        await asyncio.sleep(0)  # let the server notice a departed client between events


async def sse(
    events: Iterator[Event], delay: float, framing: str | None, request: Request
) -> AsyncIterator[bytes]:
    made = safe(events)
    if framing == "buffered":
        await asyncio.sleep(BUFFER_SECONDS)  # a proxy holding the body back
        burst = bytearray()
        for position, event in enumerate(made):
            burst += encode(event, None)
            if position % 1024 == 1023:
                await asyncio.sleep(0)  # a long run: let the loop serve others meanwhile
        yield bytes(burst)
        return
    if framing == "hang":
        first = next(made, None)
        if first is not None:
            yield encode(first, None)
        await asyncio.sleep(STALL_SECONDS)
        return
    async for position, event in paced(made, delay, request):
        yield encode(event, framing)
        if framing == "no-data-prefix" and position == 0:
            # one extra event written without `data:`: consumers drop the line
            lost = {"type": "CUSTOM", "name": "com.agui-conformance.lost", "value": 1}
            yield orjson.dumps(lost) + b"\n\n"
