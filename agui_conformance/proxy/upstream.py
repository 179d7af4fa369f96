"""The proxy's client to the upstream agent: HTTP/1.1 over an `asyncio.Protocol`; h11 writes
the request and parses the answer's head, `body.BodyReader` the answer's body.

Why not httpx here (the runner's client): forwarding one SSE event through httpx cost the
proxy ~60 µs of CPU in the read path alone (anyio's cancel scope and timer for every read,
reading paused and resumed with two `epoll_ctl` calls, httpcore's layers), which at 50
streams queued events behind each other (benchmarks/README.md, `proxy_overhead.py`). Here
the bytes the socket delivers are parsed in `data_received` and handed to the one waiting
forwarder; the idle deadline is one timer per connection that re-arms itself when it fires
early (moving it is a float assignment per read, as `transport._Deadline` does).

Owns: the connection (TLS verified with `transport.ssl_context`; a small keep-alive pool,
idle connections dropped after `KEEPALIVE` seconds), the request as given (headers in
order; the body as given, with `Content-Length` when it came whole and had none, chunked
when it streams in), the answer's status, raw headers and body as the agent sent it (the
transfer coding removed, the content coding kept), and backpressure: past `HIGH` bytes not
yet forwarded, reading from the agent pauses. Errors carry the names of httpx's (so
`transport.describe_failure` words them alike): ConnectError, ConnectTimeout, ReadTimeout,
ReadError, WriteError, RemoteProtocolError. Knows nothing of ASGI, taps or rules.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import cast
from urllib.parse import urlsplit

import h11

from agui_conformance.proxy.body import BodyError, BodyReader
from agui_conformance.transport import ssl_context

Headers = list[tuple[bytes, bytes]]
HIGH = 1 << 20  # bytes read from the agent and not yet forwarded: reading pauses past it
KEEPALIVE = 5.0  # seconds an idle connection is kept for the next request (httpx's default)
IDLE_KEPT = 100  # idle connections kept per origin
INCOMPLETE = "peer closed connection without sending complete message body"


class UpstreamError(Exception):
    """The exchange with the agent failed; the class name says how (as httpx's would)."""


class ConnectError(UpstreamError):
    pass


class ConnectTimeout(UpstreamError):
    pass


class ReadTimeout(UpstreamError):
    pass


class ReadError(UpstreamError):
    pass


class WriteError(UpstreamError):
    pass


class RemoteProtocolError(UpstreamError):
    pass


class _Wire(asyncio.Protocol):
    """One connection: bytes in, h11 events out, body bytes queued for one reader."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.conn = h11.Connection(h11.CLIENT)
        self.transport: asyncio.Transport | None = None
        self.head: h11.Response | None = None
        self.method = b"POST"
        self.reader: BodyReader | None = None  # the body's framing, once the head is in
        self.keep_alive = False  # the agent allows another request on this connection
        self.body: deque[bytes] = deque()
        self.queued = 0  # bytes in `body`
        self.ended = False  # the answer's body is complete
        self.error: UpstreamError | None = None
        self.lost = False
        self.paused = False  # reading paused (backpressure)
        self.waiter: asyncio.Future[None] | None = None
        self.drained: asyncio.Future[None] | None = None  # writing paused: set on resume
        self.idle = 0.0  # idle deadline (seconds) while an answer is awaited; 0: none
        self.last = 0.0  # loop time of the last read
        self.timer: asyncio.TimerHandle | None = None
        self.idle_since = 0.0  # in the pool since (monotonic)

    # ------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (uvloop's are not subclasses of asyncio.Transport)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.last = self.loop.time()
        if self.reader is not None:
            self._body(data)
            return
        conn = self.conn  # the head: h11 parses the status line and the headers
        try:
            conn.receive_data(data)
            while (event := conn.next_event()) is not h11.NEED_DATA:
                if type(event) is h11.Response:
                    self.head = event
                    self.reader = self._reader_for(event)
                    self._body(conn.trailing_data[0])
                    return
                if event is h11.PAUSED or type(event) is h11.ConnectionClosed:
                    break
                # InformationalResponse (1xx): skipped, as httpcore does
        except h11.RemoteProtocolError as err:
            self._fail(RemoteProtocolError(str(err)))

    def _reader_for(self, head: h11.Response) -> BodyReader:
        """The body's framing (RFC 9112 §6.3; h11 has checked the headers: a
        Transfer-Encoding is chunked, a Content-Length is one number)."""
        length: int | None = None
        chunked = False
        close = head.http_version != b"1.1"
        for name, value in head.headers:
            if name == b"transfer-encoding":
                chunked = True
            elif name == b"content-length":
                length = int(value)
            elif name == b"connection" and b"close" in value.lower():
                close = True
        self.keep_alive = not close
        if self.method == b"HEAD" or head.status_code in (204, 304):
            return BodyReader(length=0)
        return BodyReader(chunked=True) if chunked else BodyReader(length=length)

    def _body(self, data: bytes) -> None:
        reader = self.reader
        assert reader is not None
        try:
            piece = reader.feed(data) if data else b""
        except BodyError as err:
            self._fail(RemoteProtocolError(str(err)))
            return
        if piece:
            self.body.append(piece)
            self.queued += len(piece)
            if self.queued > HIGH and not self.paused and self.transport is not None:
                self.paused = True
                self.transport.pause_reading()
        if reader.done:
            self.ended = True
        self._wake()

    def eof_received(self) -> bool | None:
        if self.reader is not None:
            if self.reader.close():
                self.ended = True  # a body delimited by the close
            elif not self.ended:
                self._fail(RemoteProtocolError(INCOMPLETE))
            self._wake()
            return None
        if not self.ended:
            self._fail(RemoteProtocolError("the agent closed the connection without an answer"))
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.ended and self.error is None:
            if exc is None:
                self.error = RemoteProtocolError("the agent closed the connection")
            else:
                self.error = ReadError(str(exc) or type(exc).__name__)
        self._stop_timer()
        self._wake()
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def pause_writing(self) -> None:
        if self.drained is None or self.drained.done():
            self.drained = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    # ------------------------------------------------------------ waiting

    def _fail(self, error: UpstreamError) -> None:
        if self.error is None:
            self.error = error
        if self.transport is not None:
            self.transport.abort()
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _on_timer(self) -> None:
        self.timer = None
        if not self.idle:
            return
        now = self.loop.time()
        if self.paused or self.body:  # the forwarder is behind, not the agent: no timeout
            self.last = now
        due = self.last + self.idle
        if now >= due:
            self._fail(ReadTimeout(f"no byte from the agent in {self.idle:g} s"))
        else:
            self.timer = self.loop.call_at(due, self._on_timer)

    def watch(self, idle: float) -> None:
        """Start the idle deadline: `idle` seconds without a byte fail the answer."""
        self.idle, self.last = idle, self.loop.time()
        self._stop_timer()
        self.timer = self.loop.call_at(self.last + idle, self._on_timer)

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    async def wait(self) -> None:
        """Until something arrived (bytes, the end, an error)."""
        self.waiter = self.loop.create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    async def write(self, data: bytes) -> None:
        if self.lost or self.transport is None or self.transport.is_closing():
            raise WriteError("the connection closed while the request was being sent")
        self.transport.write(data)
        if self.drained is not None and not self.drained.done():
            await self.drained
        self.last = self.loop.time()  # progress: the idle deadline counts from here

    def take(self) -> bytes:
        """Every body byte received and not yet taken (b"": none)."""
        body = self.body
        if not body:
            return b""
        chunk = body.popleft() if len(body) == 1 else b"".join(body)
        body.clear()
        self.queued = 0
        if self.paused and self.transport is not None:
            self.paused = False
            self.last = self.loop.time()  # the agent's silence counts from here
            self.transport.resume_reading()
        return chunk

    def close(self) -> None:
        self._stop_timer()
        if self.transport is not None:
            self.transport.close()

    @property
    def alive(self) -> bool:
        """Open, and nothing went wrong on it."""
        transport = self.transport
        return (
            not self.lost
            and self.error is None
            and transport is not None
            and not transport.is_closing()
        )

    @property
    def whole(self) -> bool:
        """Both messages of the exchange complete, the connection fit for another."""
        reader = self.reader
        return (
            self.alive
            and self.keep_alive
            and self.conn.our_state is h11.DONE
            and reader is not None
            and reader.done
            and not reader.rest
        )


class Answer:
    """The agent's answer: status, raw headers, and its body as it arrives."""

    def __init__(self, wire: _Wire, pool: Upstream, origin: tuple[str, str, int]) -> None:
        assert wire.head is not None
        self._wire = wire
        self._pool = pool
        self._origin = origin
        self.status: int = wire.head.status_code
        self.headers: Headers = [(k, v) for k, v in wire.head.headers.raw_items()]
        self._closed = False

    async def read(self) -> bytes:
        """The body bytes that arrived since the last read (as one piece); b"" once the
        body ended. Raises the `UpstreamError` that ended it early."""
        wire = self._wire
        while not wire.body:
            if wire.ended:
                return b""
            if wire.error is not None:
                raise wire.error
            await wire.wait()
        return wire.take()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        wire = self._wire
        wire.idle = 0.0
        wire._stop_timer()
        if wire.ended and not wire.body and wire.whole:
            self._pool._keep(self._origin, wire)
        else:
            wire.close()  # a stream left before its end: the agent sees the disconnect


class Upstream:
    """Sends requests to one or more origins and keeps their idle connections."""

    def __init__(self, connect_timeout: float, idle_timeout: float) -> None:
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self._idle: dict[tuple[str, str, int], list[_Wire]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def aclose(self) -> None:
        for wires in self._idle.values():
            for wire in wires:
                wire.close()
        self._idle.clear()

    def _keep(self, origin: tuple[str, str, int], wire: _Wire) -> None:
        wire.conn = h11.Connection(h11.CLIENT)  # the next exchange, from a clean state
        wire.head, wire.reader, wire.ended, wire.keep_alive = None, None, False, False
        wire.idle_since = time.monotonic()
        kept = self._idle.setdefault(origin, [])
        if len(kept) >= IDLE_KEPT:
            wire.close()
            return
        kept.append(wire)

    def _reuse(self, origin: tuple[str, str, int]) -> _Wire | None:
        kept = self._idle.get(origin)
        now = time.monotonic()
        while kept:
            wire = kept.pop()
            if wire.alive and now - wire.idle_since < KEEPALIVE:
                return wire
            wire.close()
        return None

    async def _connect(self, origin: tuple[str, str, int]) -> _Wire:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl_context()
            tls = self._ssl
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, wire = await loop.create_connection(
                    lambda: _Wire(loop), host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise ConnectTimeout(f"no connection in {self.connect_timeout:g} s") from None
        except OSError as err:  # refused, unresolvable, TLS failures
            raise ConnectError(str(err) or type(err).__name__) from err
        return wire

    async def send(
        self, method: str, url: str, headers: Headers, body: bytes | AsyncIterator[bytes]
    ) -> Answer:
        """Send the request; return once the answer's status and headers are in (the idle
        deadline applies from the request sent to the headers, and between two reads)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ConnectError(f"not an http(s) URL: {url}")
        port = parts.port or (443 if scheme == "https" else 80)
        origin = (scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default = parts.port is None or port == (443 if scheme == "https" else 80)
        host = parts.netloc.rsplit("@", 1)[-1] if not default else parts.hostname
        if ":" in host and not host.startswith("[") and default:
            host = f"[{host}]"  # an IPv6 literal
        framing: Headers = []
        names = {k.lower() for k, _ in headers}
        if isinstance(body, bytes):
            if body and b"content-length" not in names:
                framing = [(b"content-length", str(len(body)).encode())]
        elif b"content-length" not in names:
            framing = [(b"transfer-encoding", b"chunked")]
        request = h11.Request(
            method=method,
            target=target.encode("latin-1"),
            headers=[(b"host", host.encode("idna")), *headers, *framing],
        )
        wire = self._reuse(origin) or await self._connect(origin)
        wire.method = request.method
        try:
            wire.watch(self.idle_timeout)  # no byte either way for that long: it fails
            await self._send_request(wire, request, body)
            while wire.head is None:
                if wire.error is not None:
                    raise wire.error
                await wire.wait()
        except BaseException:
            wire.close()
            raise
        return Answer(wire, self, origin)

    async def _send_request(
        self, wire: _Wire, request: h11.Request, body: bytes | AsyncIterator[bytes]
    ) -> None:
        conn = wire.conn
        try:
            head = conn.send(request)
            if isinstance(body, bytes):
                data = conn.send(h11.Data(data=body)) if body else b""
                end = conn.send(h11.EndOfMessage())
                await wire.write((head or b"") + (data or b"") + (end or b""))
                return
            await wire.write(head or b"")
            async for chunk in body:
                if chunk:
                    await wire.write(conn.send(h11.Data(data=chunk)) or b"")
                if wire.head is not None:  # answered before the body was all sent
                    return
            await wire.write(conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError as err:  # the front end's body disagreed with its length
            raise WriteError(str(err)) from None
        except WriteError:
            if wire.head is None and wire.error is None:
                raise
            # the agent answered (or failed) before taking the whole body: its answer counts
