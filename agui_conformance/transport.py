"""HTTP transport: one POST, the raw answer with the arrival time of every frame.

Owns the wire: headers (auth values redacted from everything it returns, the
response's as the request's: `redact.redact_headers`),
`Accept: text/event-stream` as the SSE binding says (a caller asking for the
protobuf binding sends its own `Accept`), deadlines for connect, first byte, idle
gap and total run, a cap on body size, and the framing of what arrived, read by
the parser the answer's `Content-Type` selects (`reader_for`: the protobuf media
type gets `protobuf.reader.FrameReader`, anything else `sse.SSEParser`; both turn
bytes into the same JSON event payloads). It knows nothing of rules: the runner
feeds the frames to the validator. A stalled, endless, unreachable or crashing
agent ends as a recorded `ending` (never a hang, never our error): `unreachable`
when no connection could be made, `reset` when the connection failed before any
answer (after one retry on a fresh connection, as browsers retry a kept-alive
connection the server closed). Only a request we could not make at all (an
unsupported scheme, a proxy of ours) is a `harness_error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from agui_conformance.headers import media_type
from agui_conformance.hits import Hit
from agui_conformance.protobuf import MEDIA_TYPE as PROTOBUF_MEDIA_TYPE
from agui_conformance.redact import REDACTED as REDACTED  # re-exported: callers keep working
from agui_conformance.redact import SECRET_WORDS as SECRET_WORDS
from agui_conformance.redact import is_secret as is_secret
from agui_conformance.redact import redact_headers as redact_headers
from agui_conformance.redact import redact_url as redact_url
from agui_conformance.sse import SSEParser

SSE_ACCEPT = "text/event-stream"
# Endings the agent chose (it closed the body, or broke it); every other ending is a cut
# of ours (a deadline, the size cap, a hang-up on purpose) or a failure before any answer.
AGENT_ENDINGS = frozenset({"complete", "lingered", "disconnected", "undecodable"})
DEADLINE_ENDINGS = frozenset({"first-byte-timeout", "idle-timeout", "total-timeout"})


@dataclass(frozen=True)
class Deadlines:
    """Seconds. The spec sets none (SPEC-NOTES §7 A-33): these are safe defaults."""

    connect: float = 5.0
    first_byte: float = 15.0
    idle: float = 30.0
    total: float = 120.0
    linger: float = 5.0  # after a terminal event, how long the body may stay open


def reader_for(content_type: str) -> Any:
    """The frame parser a consumer picks by the answer's `Content-Type` (media type only:
    case and parameters aside): the protobuf binding's frame reader for its media type,
    the SSE parser for anything else. Both have `feed`, `take_event` and `close`, and
    yield frames whose data is one JSON event, and `Hit`s for framing problems."""
    if media_type(content_type) == PROTOBUF_MEDIA_TYPE:
        from agui_conformance.protobuf.reader import FrameReader  # the codec, only when used

        return FrameReader()
    return SSEParser()


@dataclass(slots=True)
class TimedFrame:
    index: int
    at: float  # seconds since the request was sent
    data: bytes


@dataclass
class Exchange:
    """One HTTP exchange as it happened on the wire."""

    url: str
    request_headers: dict[str, str]
    body: bytes
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    frames: list[TimedFrame] = field(default_factory=list)
    framing: list[Hit] = field(default_factory=list)
    raw_prefix: bytes = b""  # the first bytes of the body (error pages, diagnostics)
    size: int = 0
    first_byte_at: float | None = None
    ended_at: float = 0.0
    ending: str = "complete"  # complete | first-byte-timeout | idle-timeout | total-timeout
    #                           | too-large | disconnected | lingered | undecodable
    #                           | client-closed | unreachable | reset
    failure: str | None = None  # what the network said, for `unreachable` and `reset`
    retried: bool = False  # the request failed before any answer and was sent again
    undecodable: str | None = None  # why the body's Content-Encoding could not be decoded
    harness_error: str | None = None
    silence: float = 0.0  # longest stretch with no byte at all while a run was active (s)
    silence_after: int | None = None  # index of the last frame before that stretch
    # a fatal framing hit ended the reading (protobuf: an undecodable or oversized frame):
    # the stream's end was never seen, so it is not judged
    stopped: bool = False
    # the whole body as it arrived (after any Content-Encoding), kept only when asked
    # (`exchange(keep_body=True)`: `record` saves a protobuf answer byte for byte)
    raw_body: bytearray | None = None

    @property
    def content_type(self) -> str:
        return media_type(self.response_headers.get("content-type", ""))


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One verified TLS context for every client (loading CA certificates takes ~20 ms)."""
    return ssl.create_default_context()


def new_client(deadlines: Deadlines, max_connections: int = 20) -> httpx.AsyncClient:
    timeout = httpx.Timeout(deadlines.total, connect=deadlines.connect)
    limits = httpx.Limits(max_connections=max_connections)
    return httpx.AsyncClient(timeout=timeout, limits=limits, verify=ssl_context())


def _terminal(data: bytes) -> bool:
    if b"RUN_" not in data:
        return False
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return isinstance(event, dict) and event.get("type") in ("RUN_FINISHED", "RUN_ERROR")


async def exchange(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    deadlines: Deadlines | None = None,
    max_bytes: int = 16 << 20,
    secret_headers: frozenset[str] = frozenset(),
    client: httpx.AsyncClient | None = None,
    stop_after: int | None = None,
    keep_body: bool = False,
) -> Exchange:
    """POST `body` to `url` and record the answer, within the deadlines (`keep_body`: the
    answer's bytes too, in `Exchange.raw_body`)."""
    deadlines = deadlines or Deadlines()
    given = headers or {}
    named = {name.lower() for name in given}
    defaults = {"Content-Type": "application/json", "Accept": SSE_ACCEPT}
    # a header the caller gave wins over ours whatever its case: never both on the wire
    sent = {k: v for k, v in defaults.items() if k.lower() not in named} | given
    record = Exchange(url=url, request_headers=redact_headers(sent, secret_headers), body=body)
    if keep_body:
        record.raw_body = bytearray()
    own = client is None
    http = client or new_client(deadlines)
    start = time.monotonic()
    deadline = _Deadline(start + deadlines.total)
    retry: httpx.AsyncClient | None = None
    try:
        try:
            await _stream(
                http, url, body, sent, record, deadlines, max_bytes, start, stop_after, deadline
            )
        except httpx.TransportError as err:
            if _no_answer(record, err) != "retry":
                raise
            # Failed before any answer on a connection that may have been kept alive and
            # closed by the agent (uvicorn drops one after a 500): once more, on a fresh one.
            record.retried = True
            retry = new_client(deadlines, max_connections=1)
            start = time.monotonic()
            await _stream(
                retry, url, body, sent, record, deadlines, max_bytes, start, stop_after, deadline
            )
    except asyncio.CancelledError:
        if not deadline.expired():
            raise
        if deadline.total_hit:
            record.ending = "total-timeout"
        elif record.status is None:
            record.ending = "first-byte-timeout"  # no headers in time
    except httpx.TransportError as err:
        kind = _no_answer(record, err)
        if kind == "ours":
            record.harness_error = f"{type(err).__name__}: {err}"
        elif kind == "answered":
            record.ending = "disconnected"
        else:
            record.ending = "unreachable" if kind == "unreachable" else "reset"
            record.failure = describe_failure(err)
    finally:
        deadline.stop()
        record.response_headers = redact_headers(record.response_headers, secret_headers)
        record.ended_at = time.monotonic() - start
        if own:
            await http.aclose()
        if retry is not None:
            await retry.aclose()
    return record


def _no_answer(record: Exchange, err: httpx.TransportError) -> str:
    """What a transport failure means: `answered` (it came mid-body: the agent dropped the
    stream), `ours` (we could not make the request: scheme, proxy, our own protocol use),
    `unreachable` (no connection), `retry` (failed before an answer, not yet retried) or
    `reset` (failed before an answer again)."""
    if record.status is not None:
        return "answered"
    if isinstance(err, httpx.UnsupportedProtocol | httpx.ProxyError | httpx.LocalProtocolError):
        return "ours"
    if isinstance(err, httpx.ConnectError | httpx.ConnectTimeout):
        return "unreachable"
    return "reset" if record.retried else "retry"


def describe_failure(err: BaseException) -> str:
    """A network failure in words a person can act on (httpx's own text is often empty)."""
    text = str(err).strip()
    cause = err.__cause__ or err.__context__
    while not text and cause is not None:
        text = str(cause).strip()
        cause = cause.__cause__ or cause.__context__
    known = {
        "ConnectError": "the connection could not be made",
        "ConnectTimeout": "the connection was not accepted in time",
        "ReadError": "the connection failed while waiting for the answer",
        "WriteError": "the connection failed while the request was being sent",
        "RemoteProtocolError": "the agent closed the connection without an answer",
        "ReadTimeout": "no answer in time",
        "WriteTimeout": "the request could not be sent in time",
        "PoolTimeout": "no connection was free in time",
    }
    said = known.get(type(err).__name__, "the connection failed")
    return f"{said} ({type(err).__name__}{': ' + text[:200] if text else ''})"


class _Deadline:
    """Every deadline of one exchange on one timer: the total, and the current wait (for
    the headers, the first byte, the next byte, the body's end after a terminal event).

    Moving the wait later is a float assignment (`when`), once per chunk; the timer, when
    it fires early, re-arms itself for the new time, so a stream of N chunks arms it a few
    times, not N. When it fires late it cancels the task; `expired` then tells that
    cancellation from anybody else's (as `asyncio.timeout` does, by the task's cancel
    count), and `total_hit` which deadline it was.

    Once the response is closing (`response.is_closed`: the body ended, or we hung up),
    only the total deadline still applies: closing is local work, and a wait deadline
    landing in it would cut it short (the connection never back in the pool) and report
    a stream that ended in time as timed out."""

    __slots__ = (
        "_cancelling",
        "_fired",
        "_handle",
        "_loop",
        "_task",
        "response",
        "total_at",
        "total_hit",
        "when",
    )

    def __init__(self, total_at: float) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._cancelling = task.cancelling()
        self._fired = False
        self.total_at = total_at
        self.total_hit = False
        self.when = total_at
        self._handle: asyncio.TimerHandle | None = None  # armed by the first `at`
        self.response: httpx.Response | None = None  # set once its headers are in

    def at(self, when: float) -> None:
        """The current wait ends at `when` (loop clock, = time.monotonic)."""
        self.when = when
        handle = self._handle
        if handle is None:
            if not self._fired:
                self._handle = self._loop.call_at(min(when, self.total_at), self._fire)
        elif handle.when() > when:  # earlier than armed: re-arm now
            handle.cancel()
            self._handle = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        due = min(self.when, self.total_at)
        now = self._loop.time()
        if now < self.total_at and (now < due or self._closing()):
            self._handle = self._loop.call_at(due if now < due else self.total_at, self._fire)
            return
        self._handle = None
        self._fired = True
        self.total_hit = now >= self.total_at
        self._task.cancel()

    def _closing(self) -> bool:
        return self.response is not None and self.response.is_closed

    def expired(self) -> bool:
        """Called on CancelledError: whether it was this deadline's (then absorbed)."""
        if not self._fired or self._task.uncancel() > self._cancelling:
            return False
        self._fired = False  # absorbed once
        return True

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


async def _stream(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    record: Exchange,
    deadlines: Deadlines,
    max_bytes: int,
    start: float,
    stop_after: int | None,
    deadline: _Deadline,
) -> None:
    request = http.build_request("POST", url, content=body, headers=headers)
    deadline.at(start + deadlines.first_byte)  # for the response's headers
    response = await http.send(request, stream=True)
    deadline.response = response
    async with contextlib.aclosing(response):
        record.status = response.status_code
        record.response_headers = {k.lower(): v for k, v in response.headers.items()}
        await _read(response, record, deadlines, max_bytes, start, stop_after, deadline)


async def _read(
    response: httpx.Response,
    record: Exchange,
    deadlines: Deadlines,
    max_bytes: int,
    start: float,
    stop_after: int | None,
    deadline: _Deadline,
) -> None:
    """The body, chunk by chunk, into frames with their arrival times: the hot loop of a
    suite run (one pass per chunk, one chunk per event from most agents).

    A body with a Content-Encoding (the client asks for gzip, as browsers and httpx do) is
    decoded first, as clients decode it: SSE is framed on the decoded body, and the size
    cap counts decoded bytes."""
    parser = reader_for(response.headers.get("content-type", ""))
    take_event = parser.take_event
    frames = record.frames
    append = frames.append
    monotonic = time.monotonic
    terminal_seen = False
    wait = deadlines.first_byte
    size = 0
    last_byte_at = silence = 0.0
    silence_after: int | None = None
    deadline.at(monotonic() + wait)
    coding = response.headers.get("content-encoding", "").strip().lower()
    body = response.aiter_raw() if coding in ("", "identity") else response.aiter_bytes()
    try:
        async for chunk in body:
            clock = monotonic()
            now = clock - start
            if record.first_byte_at is None:
                record.first_byte_at = now
                wait = deadlines.idle  # the first-byte deadline gives way to the idle one
                deadline.at(clock + wait)
            elif not terminal_seen and now - last_byte_at > silence:
                silence = now - last_byte_at  # comments count: they keep it alive
                silence_after = len(frames) - 1 if frames else None
            last_byte_at = now
            size += len(chunk)
            if size <= 4096:
                record.raw_prefix += chunk
            elif len(record.raw_prefix) < 4096:
                record.raw_prefix += chunk[: 4096 - len(record.raw_prefix)]
            if size > max_bytes:
                record.ending = "too-large"
                break
            if record.raw_body is not None:
                record.raw_body += chunk
            if stop_after is not None and len(frames) >= stop_after:
                record.ending = "client-closed"  # we hung up on purpose (a user leaving)
                return
            data = take_event(chunk)
            if data is not None:  # one chunk, one event: the usual case
                append(TimedFrame(len(frames), now, data))
                if b"RUN_" in data:
                    terminal_seen = _ends_run(data, terminal_seen)
                    wait = deadlines.linger if terminal_seen else deadlines.idle
                    deadline.at(clock + wait)
                    continue
            else:
                terminal_seen = framed(parser.feed(chunk), record, now, terminal_seen)
                wait = deadlines.linger if terminal_seen else deadlines.idle
                deadline.at(clock + wait)
                continue
            deadline.when = clock + wait  # only ever later: the armed timer re-arms itself
    except httpx.DecodingError as err:
        record.ending = "undecodable"
        record.undecodable = f"Content-Encoding {coding}: {err}"
    except asyncio.CancelledError:
        if not deadline.expired():
            raise
        if deadline.total_hit:
            record.ending = "total-timeout"
        elif terminal_seen:
            record.ending = "lingered"
        elif record.first_byte_at is None:
            record.ending = "first-byte-timeout"
        else:
            record.ending = "idle-timeout"
    finally:
        record.size = size
        record.silence = silence
        record.silence_after = silence_after
        record.stopped = bool(getattr(parser, "stopped", False))
    if record.ending not in AGENT_ENDINGS:
        return  # we cut the body (cap, deadline, hung up): its last partial frame is ours
    framed(parser.close(), record, monotonic() - start, terminal_seen)


def framed(items: Iterable[Any], record: Exchange, at: float, ended: bool) -> bool:
    """A parser's output (`feed` or `close`) into `record`: frames timed `at` (seconds since
    the request), framing hits; returns whether a run has ended after them (`ended`: before
    them). The one place the runner's transport and the proxy's book turn parsed bytes into
    an exchange."""
    for item in items:
        if isinstance(item, Hit):
            record.framing.append(item)
        else:
            record.frames.append(TimedFrame(item.index, at, item.data))
            if b"RUN_" in item.data:
                ended = _ends_run(item.data, ended)
    return ended


def _ends_run(data: bytes, ended: bool) -> bool:
    """Whether a run has ended after this frame (given whether it had before): a terminal
    event ends it, a RUN_STARTED opens the next."""
    if ended:
        return b"RUN_STARTED" not in data or _terminal(data)
    return _terminal(data)


def parse_header(text: str) -> tuple[str, str]:
    """'Name: value' -> (name, value); raises ValueError on anything else."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"header {text!r} is not 'Name: value'")
    return name.strip(), value.strip()


def headers_from_specs(specs: Iterable[str]) -> dict[str, str]:
    """'Name: value' options to headers; a value `env:VAR` is read from the environment so
    secrets stay off command lines. Raises ValueError naming the bad option."""
    headers: dict[str, str] = {}
    for spec in specs:
        name, value = parse_header(spec)
        if value.startswith("env:"):
            var = value[4:]
            if var not in os.environ:
                raise ValueError(f"header {name}: environment variable {var} is not set")
            value = os.environ[var]
        headers[name] = value
    return headers


def env_refs(specs: Iterable[str]) -> dict[str, str]:
    """Header name -> the environment variable its value came from (`Name: env:VAR`), so
    reproducers can read the same variable."""
    refs: dict[str, str] = {}
    for spec in specs:
        name, value = parse_header(spec)
        if value.startswith("env:"):
            refs[name] = value[4:]
    return refs


def event_times_ms(record: Exchange) -> list[float]:
    """Each frame's arrival in milliseconds since the request, to 0.1 ms (rounded half up:
    `int` is cheaper than `round` on long streams)."""
    return [int(frame.at * 10_000 + 0.5) / 10 for frame in record.frames]


def summary(record: Exchange) -> dict[str, Any]:
    """Timings in milliseconds, for reports."""
    return {
        "status": record.status,
        "firstByteMs": None
        if record.first_byte_at is None
        else round(record.first_byte_at * 1000, 1),
        "firstEventMs": round(record.frames[0].at * 1000, 1) if record.frames else None,
        "totalMs": round(record.ended_at * 1000, 1),
        "events": len(record.frames),
        "bytes": record.size,
        "ending": record.ending,
        **({"failure": record.failure} if record.failure else {}),
        **({"retried": True} if record.retried else {}),
    }
