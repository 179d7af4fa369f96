"""How long and how much the reference agent's server waits for and holds per client.

uvicorn bounds keep-alive idleness, concurrency, the accept backlog and the size
of a request head, but sets no deadline on reading a request head or on writing
to a client that does not read. `GuardedH11Protocol` adds both to uvicorn's h11
protocol; the body deadline is the app's (`AgentConfig.body_seconds`).

The values, documented in the README and `agui-conformance serve --help`:

- request head (request line and headers): within HEADER_SECONDS of the
  connection opening or of the previous response ending, else the connection
  is closed; the rest of a body left unread after a response, likewise;
- request body: within BODY_SECONDS of the head, else 408 (`app`);
- a write that cannot proceed (the client reads nothing and every buffer is
  full) for WRITE_SECONDS ends the response and closes the connection;
- an idle kept-alive connection is closed after KEEP_ALIVE_SECONDS;
- over CONCURRENCY connections or running requests, a new request gets 503;
- a request head over MAX_HEAD_BYTES gets 400;
- on shutdown, requests still running after SHUTDOWN_SECONDS are cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_SECONDS = 10.0
BODY_SECONDS = 20.0
WRITE_SECONDS = 30.0
KEEP_ALIVE_SECONDS = 5
CONCURRENCY = 512
BACKLOG = 2048
MAX_HEAD_BYTES = 16 * 1024
SHUTDOWN_SECONDS = 5

# The peer owes us bytes while our side is between responses and theirs is before
# or inside a request it has not finished sending.
_OURS_WAITING = (h11.IDLE, h11.DONE)
_THEIRS_OWING = (h11.IDLE, h11.SEND_BODY)


@dataclass(frozen=True)
class Limits:
    header_seconds: float = HEADER_SECONDS
    write_seconds: float = WRITE_SECONDS
    keep_alive_seconds: int = KEEP_ALIVE_SECONDS
    concurrency: int = CONCURRENCY
    backlog: int = BACKLOG
    max_head_bytes: int = MAX_HEAD_BYTES
    shutdown_seconds: int = SHUTDOWN_SECONDS

    def uvicorn_options(self) -> dict[str, Any]:
        """Keyword arguments for `uvicorn.Config` enforcing these limits."""
        return {
            "http": protocol_for(self),
            # asyncio's loop even where uvloop is installed: the deadlines here and the
            # behaviour at the descriptor limit (a pause in accepting, then answers) are
            # asyncio's; on uvloop a client was dropped unanswered in a slowloris flood
            "loop": "asyncio",
            "timeout_keep_alive": self.keep_alive_seconds,
            "limit_concurrency": self.concurrency,
            "backlog": self.backlog,
            "h11_max_incomplete_event_size": self.max_head_bytes,
            "timeout_graceful_shutdown": self.shutdown_seconds,
        }


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on the client's bytes and on our writes."""

    limits: ClassVar[Limits] = Limits()
    _client_timer: asyncio.TimerHandle | None = None
    _write_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_client()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_client()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_client()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_client_clock()
        self._stop_write_clock()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self._later(self.limits.write_seconds, self._write_expired)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._stop_write_clock()

    def timeout_keep_alive_handler(self) -> None:
        if self.transport.get_write_buffer_size():
            _reset(self.transport)  # close() would wait for a reader that is not there
            return
        super().timeout_keep_alive_handler()

    def _owed(self) -> bool:
        return self.conn.our_state in _OURS_WAITING and self.conn.their_state in _THEIRS_OWING

    def _watch_client(self) -> None:
        """Start the clock when the client owes us bytes; stop it when it has sent them.

        Not restarted by each byte: a client trickling a head in never resets it."""
        if self.transport.is_closing():
            return
        if not self._owed():
            self._stop_client_clock()
        elif self._client_timer is None:
            self._client_timer = self._later(self.limits.header_seconds, self._client_expired)

    def _client_expired(self) -> None:
        self._client_timer = None
        if self._owed():
            _reset(self.transport)

    def _write_expired(self) -> None:
        self._write_timer = None
        _reset(self.transport)

    def _later(self, seconds: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self.loop.call_later(seconds, callback)

    def _stop_client_clock(self) -> None:
        if self._client_timer is not None:
            self._client_timer.cancel()
            self._client_timer = None

    def _stop_write_clock(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None


def _reset(transport: asyncio.Transport) -> None:
    """Close with a reset: what we buffered, and what the kernel holds unsent, go now
    (a plain close would leave the kernel feeding that reply to the stalled reader).
    The app sees a disconnect."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def protocol_for(limits: Limits) -> type[GuardedH11Protocol]:
    """The guarded protocol class enforcing `limits` (uvicorn takes a class)."""
    if limits == GuardedH11Protocol.limits:
        return GuardedH11Protocol

    class Configured(GuardedH11Protocol):
        pass

    Configured.limits = limits
    return Configured
