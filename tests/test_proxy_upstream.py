"""The proxy's own client to the upstream (`proxy/upstream.py`) against small hostile
servers on raw sockets: every way an answer can fail has its error and its deadline, a body
is read as the agent framed it, connections are reused only when whole, and a reader that
falls behind pauses the agent instead of buffering without bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import orjson
import pytest

from agui_conformance.proxy import upstream as upstream_module
from agui_conformance.proxy.serve import ProxyConfig, running
from agui_conformance.proxy.upstream import (
    ConnectError,
    ReadTimeout,
    RemoteProtocolError,
    Upstream,
    UpstreamError,
)
from tests.hostile_agents import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The request head and its body (by Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    length = next((int(x.split(b":")[1]) for x in lines if x.startswith(b"content-length:")), 0)
    if b"transfer-encoding: chunked" in lines:
        body = b""
        while size := int((await reader.readline()).strip(), 16):
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
        return head, body
    return head, await reader.readexactly(length)


async def serving(handler: Handler) -> tuple[str, asyncio.Server]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}/run", server


def run(test: Callable[[], Awaitable[None]], limit: float = 20.0) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(limit):
            await test()

    asyncio.run(bounded())


async def body_of(client: Upstream, url: str, body: bytes = b"{}") -> tuple[int, bytes]:
    answer = await client.send("POST", url, [(b"content-type", b"application/json")], body)
    got = bytearray()
    try:
        while data := await answer.read():
            got += data
    finally:
        await answer.aclose()
    return answer.status, bytes(got)


def test_a_refused_connection_is_a_connect_error_and_a_502_through_the_proxy() -> None:
    url = f"http://127.0.0.1:{free_port()}/"

    async def direct() -> None:
        with pytest.raises(ConnectError):
            await Upstream(2, 2).send("POST", url, [], b"{}")

    run(direct)
    with running(ProxyConfig(upstream=url, port=0)) as (proxied, _), httpx.Client() as client:
        answer = client.post(proxied, content=b'{"threadId": "t", "runId": "r"}')
    assert answer.status_code == 502
    assert "the connection could not be made (ConnectError" in answer.text


def test_headers_that_never_come_end_at_the_idle_deadline_as_a_504() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(30)

    async def direct() -> None:
        url, server = await serving(silent)
        async with server:
            started = time.monotonic()
            with pytest.raises(ReadTimeout):
                await Upstream(2, 0.3).send("POST", url, [], b"{}")
            assert 0.25 < time.monotonic() - started < 2

    run(direct)


def test_silence_mid_body_ends_at_the_idle_deadline_and_steady_bytes_never_do() -> None:
    async def dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(SSE_HEAD)
        for n in range(8):  # 0.8 s in all, never 0.3 s apart
            writer.write(chunk(b"data: %d\n\n" % n))
            await writer.drain()
            await asyncio.sleep(0.1)
        await asyncio.sleep(30)  # then silence

    async def direct() -> None:
        url, server = await serving(dribble)
        async with server:
            answer = await Upstream(2, 0.3).send("POST", url, [], b"{}")
            got = bytearray()
            started = time.monotonic()
            with pytest.raises(ReadTimeout):
                while data := await answer.read():
                    got += data
            await answer.aclose()
            assert got == b"".join(b"data: %d\n\n" % n for n in range(8))
            assert 0.9 < time.monotonic() - started < 2.5

    run(direct)


def test_a_body_delimited_by_the_close_is_read_whole() -> None:
    async def old_style(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
        writer.write(b"data: {}\n\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"data: {}\n\n")
        writer.close()

    async def direct() -> None:
        url, server = await serving(old_style)
        async with server:
            assert await body_of(Upstream(2, 2), url) == (200, b"data: {}\n\n" * 2)

    run(direct)


@pytest.mark.parametrize("how", ["closed", "reset"])
def test_a_chunked_body_cut_short_is_an_error_not_an_end(how: str) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(SSE_HEAD + chunk(b"data: {}\n\n"))
        await writer.drain()
        await asyncio.sleep(0.05)
        if how == "reset":
            writer.transport.abort()
        else:
            writer.close()

    async def direct() -> None:
        url, server = await serving(cut)
        async with server:
            with pytest.raises(UpstreamError) as caught:
                await body_of(Upstream(2, 2), url)
            assert isinstance(caught.value, RemoteProtocolError | upstream_module.ReadError)

    run(direct)


def test_a_whole_answer_leaves_its_connection_for_the_next_request_a_closed_one_does_not() -> None:
    seen: list[int] = []

    async def keeps(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(id(writer))
        while True:
            try:
                _, body = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            if body == b"last":  # answered, then the connection closed while idle
                writer.close()
                return

    async def direct() -> None:
        url, server = await serving(keeps)
        async with server:
            client = Upstream(2, 2)
            assert await body_of(client, url, b"one") == (200, b"one")
            assert await body_of(client, url, b"last") == (200, b"last")
            assert len(seen) == 1  # the same connection twice
            await asyncio.sleep(0.1)  # the close reaches the idle connection
            assert await body_of(client, url, b"after") == (200, b"after")
            assert len(seen) == 2  # a new one: the closed one was not reused
            await client.aclose()

    run(direct)


def test_a_streamed_request_body_goes_chunked_and_an_early_answer_still_counts() -> None:
    got: list[bytes] = []

    async def echo_or_refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if b"x-refuse" in head:  # answers at once, never reads the body, closes
            writer.write(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        assert b"transfer-encoding: chunked" in head.lower()
        body = b""
        while size := int((await reader.readline()).strip(), 16):
            body += await reader.readexactly(size)
            await reader.readline()
        got.append(body)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def pieces(count: int, size: int) -> AsyncIterator[bytes]:
        for n in range(count):
            yield bytes([65 + n % 26]) * size
            await asyncio.sleep(0)

    async def direct() -> None:
        url, server = await serving(echo_or_refuse)
        async with server:
            client = Upstream(2, 5)
            answer = await client.send("POST", url, [], pieces(3, 10))
            assert answer.status == 200 and await answer.read() == b"ok"
            await answer.aclose()
            assert got == [b"A" * 10 + b"B" * 10 + b"C" * 10]
            answer = await client.send("POST", url, [(b"x-refuse", b"1")], pieces(64, 1 << 20))
            assert answer.status == 413
            await answer.aclose()

    run(direct, limit=30)


def test_a_reader_that_falls_behind_pauses_the_agent_and_is_no_idle_agent() -> None:
    size = 32 << 20

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size)
        block = b"x" * (1 << 20)
        for _ in range(size >> 20):
            writer.write(block)
            await writer.drain()

    async def direct() -> None:
        url, server = await serving(flood)
        async with server:
            answer = await Upstream(2, 0.3).send("POST", url, [], b"{}")
            # the agent could send it all by now; the wait is ours, not the agent's silence:
            # past the idle deadline, it is no timeout
            await asyncio.sleep(0.8)
            held = answer._wire.queued
            assert held <= upstream_module.HIGH + (1 << 18), held
            total = 0
            while data := await answer.read():
                total += len(data)
            assert total == size  # and the rest comes once read

    run(direct)


def test_the_proxy_reports_an_upstream_silent_mid_answer_as_an_idle_timeout() -> None:
    async def stalls() -> None:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            _, body = await read_request(reader)
            request = orjson.loads(body)
            started = {"type": "RUN_STARTED", "threadId": request["threadId"], "runId": "r-idle"}
            writer.write(SSE_HEAD + chunk(b"data: " + orjson.dumps(started) + b"\n\n"))
            await writer.drain()
            await asyncio.sleep(30)

        url, server = await serving(handler)
        async with server:
            cfg = ProxyConfig(upstream=url, port=0, idle_timeout=0.5)
            body = orjson.dumps({"threadId": "t", "runId": "r-idle", "messages": []})

            def through() -> str:
                with running(cfg) as (proxied, book), httpx.Client(timeout=10) as client:
                    with (
                        pytest.raises(httpx.RemoteProtocolError),  # the break is passed on
                        client.stream("POST", proxied, content=body) as answer,
                    ):
                        for _ in answer.iter_raw():
                            pass
                    deadline = time.monotonic() + 10
                    while not book.cases and time.monotonic() < deadline:
                        time.sleep(0.02)
                    return book.cases[0].runs[0].outcome

            assert await asyncio.to_thread(through) == "unresponsive"  # the idle deadline

    run(stalls)


def test_the_client_runs_on_uvloop_too() -> None:
    """uvicorn runs on uvloop when it is installed and asked for; uvloop's transports are
    not subclasses of asyncio's."""
    uvloop = pytest.importorskip("uvloop")

    async def answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, body = await read_request(reader)
        writer.write(SSE_HEAD + chunk(body) + chunk(body) + b"0\r\n\r\n")
        await writer.drain()

    async def direct() -> None:
        url, server = await serving(answers)
        async with server:
            assert await body_of(Upstream(2, 2), url, b"data: {}\n\n") == (200, b"data: {}\n\n" * 2)

    uvloop.run(direct())


@pytest.mark.parametrize("method", ["HEAD", "POST"])
def test_an_answer_without_a_body_ends_at_its_head(method: str) -> None:
    """RFC 9112 §6.3: the answer to a HEAD, and a 204, have no body whatever their headers
    say; waiting for one would hang until the idle deadline."""

    async def bodiless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head, _ = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            status = b"200 OK" if head.startswith(b"HEAD") else b"204 No Content"
            writer.write(b"HTTP/1.1 %s\r\ncontent-length: 10\r\n\r\n" % status)
            await writer.drain()

    async def direct() -> None:
        url, server = await serving(bodiless)
        async with server:
            client = Upstream(2, 5)
            for _ in range(2):  # and the connection serves the next request
                answer = await client.send(method, url, [], b"")
                assert await answer.read() == b""
                await answer.aclose()
            await client.aclose()

    run(direct, limit=4)
