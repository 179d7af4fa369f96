"""The forwarder: an ASGI app that passes every request to the upstream agent and streams
every answer byte back as it arrives, handing a copy to the judging side (`proxy.tap`).

Owns the sockets of the proxy: the request forwarded as received (hop-by-hop headers
dropped, the `--agent-header` ones set), the answer's status and headers (hop-by-hop ones
dropped) and its body as raw bytes, never decoded or altered (INPUT-012:
https://docs.ag-ui.com/spec/1.1/basic/run-input#forwardedprops), each chunk sent on as soon as it is
read. A front end that leaves is noticed while the agent is still silent, and the upstream
stream is closed then (the agent sees the disconnect). An upstream that fails mid-answer
fails the client's connection the same way (no clean end the agent did not send). The live
page `/_agui/` and `/_agui/report.json` show the judged exchanges. Never knows rules.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from agui_conformance.proxy.book import Book
from agui_conformance.proxy.tap import Tap
from agui_conformance.proxy.upstream import Headers, ReadTimeout, Upstream, UpstreamError
from agui_conformance.transport import describe_failure

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# RFC 9110 §7.6.1: meaningful for one connection only, never forwarded (plus `host`, which
# the client to the upstream sets, and the names a `Connection` header lists)
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
PAGE = "/_agui"


class ClientLeft(Exception):
    """The front end hung up while its request was still being sent."""


def forwarded(headers: Headers, drop: frozenset[bytes] = frozenset()) -> Headers:
    """`headers` without hop-by-hop ones (and `drop`), duplicates and order kept."""
    listed = {
        name.strip().lower()
        for key, value in headers
        if key.lower() == b"connection"
        for name in value.split(b",")
    }
    gone = HOP_BY_HOP | listed | drop
    return [(key, value) for key, value in headers if key.lower() not in gone]


class ProxyApp:
    """`ASGI app(scope, receive, send)` forwarding to `upstream`."""

    def __init__(
        self,
        upstream: str,
        book: Book,
        *,
        agent_headers: dict[str, str] | None = None,
        connect_timeout: float = 5.0,
        idle_timeout: float = 300.0,
    ) -> None:
        self.upstream = upstream
        self.book = book
        self.agent_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in (agent_headers or {}).items()
        ]
        self._set = frozenset(k for k, _ in self.agent_headers)
        # no redirect followed (the front end's to see), a connect deadline and an idle
        # deadline between two reads of the answer
        self.client = Upstream(connect_timeout, idle_timeout)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == PAGE or path.startswith(PAGE + "/"):
            await self._page(path, send)
            return
        await self._forward(scope, receive, send)

    # ------------------------------------------------------------ forwarding

    def _url(self, scope: Scope) -> str:
        path: str = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
        base = self.upstream if path in ("", "/") else self.upstream.rstrip("/") + path
        query: bytes = scope.get("query_string", b"")
        return base + ("?" + query.decode("latin-1") if query else "")

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = forwarded(list(scope["headers"]), self._set | {b"host"}) + self.agent_headers
        tap = Tap(method=scope["method"], path=scope["path"], request_headers=_texts(headers))
        first = await receive()
        if first["type"] == "http.disconnect":
            return
        chunk: bytes = first.get("body", b"")
        tap.add_request(chunk)
        more = bool(first.get("more_body"))
        sent = asyncio.Event()  # the whole request was read: only a hang-up can come next
        content: bytes | AsyncIterator[bytes] = chunk
        if more:
            content = self._rest(chunk, receive, tap, sent)
        else:
            sent.set()
        request = (scope["method"], self._url(scope), headers, content)
        work = asyncio.ensure_future(self._exchange(request, send, tap))
        watch = asyncio.ensure_future(_left(receive, sent))
        try:
            done, _ = await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
            if work not in done and not tap.ended_at:
                # the front end left mid-answer: close the upstream stream
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
                tap.end("client-closed")
            else:
                await work  # the answer was complete: the hang-up is its end
        except ClientLeft:
            tap.end("client-closed")
        finally:
            watch.cancel()
            if not tap.ended_at:
                tap.end("client-closed")
            self.book.hand_over(tap)

    async def _rest(
        self, head: bytes, receive: Receive, tap: Tap, sent: asyncio.Event
    ) -> AsyncIterator[bytes]:
        if head:
            yield head
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientLeft
            chunk: bytes = message.get("body", b"")
            tap.add_request(chunk)
            if chunk:
                yield chunk
            if not message.get("more_body"):
                sent.set()
                return

    async def _exchange(
        self, request: tuple[str, str, Headers, bytes | AsyncIterator[bytes]], send: Send, tap: Tap
    ) -> None:
        try:
            response = await self.client.send(*request)
        except UpstreamError as err:
            await self._unanswered(err, send, tap)
            return
        try:
            tap.status = response.status
            raw = response.headers
            tap.response_headers = _texts(raw)
            start = {"type": "http.response.start", "status": response.status}
            start["headers"] = forwarded(raw)
            await send(start)
            budget = self.book.budget
            read = response.read
            try:
                while chunk := await read():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    tap.add(chunk, budget)
            except ReadTimeout as err:
                tap.failure = describe_failure(err)
                tap.end("idle-timeout")
                return  # the answer left incomplete: uvicorn fails the client's connection
            except UpstreamError as err:
                tap.failure = describe_failure(err)
                tap.end("disconnected")
                return  # as above: the front end sees the break the agent made
            except OSError:  # the front end is gone (uvicorn: ClientDisconnected)
                tap.end("client-closed")
                return
            tap.end("complete")
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    async def _unanswered(self, err: UpstreamError, send: Send, tap: Tap) -> None:
        """No answer from the upstream: a 502 (504 past the deadline) says so to the front
        end; the exchange is judged as the unanswered run it is."""
        timeout = isinstance(err, ReadTimeout)
        tap.failure = describe_failure(err)
        tap.end("first-byte-timeout" if timeout else "unreachable")
        text = f"agui-conformance proxy: no answer from the agent: {tap.failure}\n"
        await send(
            {
                "type": "http.response.start",
                "status": 504 if timeout else 502,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": text.encode(), "more_body": False})

    # ------------------------------------------------------------ the live page

    async def _page(self, path: str, send: Send) -> None:
        await self.book.settled()
        report = self.book.report()
        if path.endswith("/report.json"):
            from agui_conformance.report.json_report import report_to_json

            body = (await asyncio.to_thread(report_to_json, report)).encode()
            kind = b"application/json"
        else:
            from agui_conformance.report.html import to_html

            body = (await asyncio.to_thread(to_html, report)).encode()
            kind = b"text/html; charset=utf-8"
        headers = [(b"content-type", kind), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _texts(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}


async def _left(receive: Receive, sent: asyncio.Event) -> None:
    """Returns when the front end has hung up, once its request was read (until then the
    request's own reader sees a hang-up)."""
    await sent.wait()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
