"""Preflight: one request before the suite, on real sockets (no mocked transport).

Each test serves a canned answer from an asyncio server on a free loopback port (or the
reference agent) and checks what `preflight` makes of it: a Problem naming the fix, or None
when the suite should run and judge."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
from collections.abc import Awaitable, Callable

import orjson
import pytest

from agui_conformance.preflight import Problem, check_url, preflight
from agui_conformance.transport import Deadlines
from reference_agent.app import AgentConfig
from reference_agent.server import running_agent

FAST = Deadlines(connect=1.0, first_byte=0.5)
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


def canned(response: bytes, seen: list[tuple[bytes, bytes]] | None = None) -> Handler:
    """Answer every request with `response` (status line, headers and body as bytes)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        if seen is not None:
            seen.append(request)
        writer.write(response)
        await writer.drain()
        writer.close()

    return handle


def answer(status: str, content_type: str | None = "text/plain", body: bytes = b"") -> bytes:
    typed = f"Content-Type: {content_type}\r\n" if content_type else ""
    head = f"HTTP/1.1 {status}\r\n{typed}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


def check(
    handler: Handler,
    *,
    path: str = "/",
    scheme: str = "http",
    headers: dict[str, str] | None = None,
    auth_required: bool = False,
    deadlines: Deadlines = FAST,
) -> tuple[Problem | None, float]:
    """Serve `handler` on a free loopback port, preflight it; the result and its duration."""

    async def main() -> tuple[Problem | None, float]:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        start = time.monotonic()
        async with server:
            problem = await preflight(
                f"{scheme}://127.0.0.1:{port}{path}",
                headers or {},
                deadlines,
                auth_required=auth_required,
            )
            return problem, time.monotonic() - start

    return asyncio.run(main())


def at(url: str, deadlines: Deadlines = FAST) -> Problem | None:
    return asyncio.run(preflight(url, {}, deadlines, auth_required=False))


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- the URL, before any I/O


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("notaurl", "is not an http:// or https:// URL"),
        ("ftp://agent.example.com/", "is not an http:// or https:// URL"),
        ("http:///agui", "names no host"),
        ("http://127.0.0.1:99999/", "port 99999 is out of range (1-65535)"),
        ("http://127.0.0.1:0/", "port 0 is out of range"),
        ("http://127.0.0.1:eighty/", "port 'eighty' is not a number"),
        ("http://[::1/", "the URL is not valid"),
    ],
)
def test_bad_urls_are_problems_before_any_io(url: str, says: str) -> None:
    problem = check_url(url)
    assert problem is not None and problem.kind == "bad-url"
    assert says in problem.message
    assert at(url) == problem  # preflight checks the URL first


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/", "https://agent.example.com/agui", "http://[::1]:8000/"]
)
def test_good_urls_pass(url: str) -> None:
    assert check_url(url) is None


def test_url_credentials_never_shown() -> None:
    problem = check_url("ftp://user:hunter2@agent.example.com/?api_key=k3y")
    assert problem is not None
    assert "hunter2" not in problem.message and "k3y" not in problem.message
    problem = check_url("http://user:hunter2@agent.example.com:99999/")
    assert problem is not None and "hunter2" not in problem.message


# ---------------------------------------------------------------- nothing there


def test_refused_connection() -> None:
    port = free_port()
    problem = at(f"http://user:hunter2@127.0.0.1:{port}/agui?token=k3y")
    assert problem is not None and problem.kind == "refused", problem
    assert f"connection refused by 127.0.0.1:{port}" in problem.message
    assert "is the agent running" in problem.message
    assert "hunter2" not in problem.message and "k3y" not in problem.message
    assert "\n" not in problem.message


def test_dns_failure() -> None:
    # RFC 6761: .invalid never resolves, and resolvers answer so locally
    problem = at("http://agent.invalid/agui", deadlines=Deadlines(connect=2.0, first_byte=0.5))
    assert problem is not None, "agent.invalid resolved"
    assert problem.kind in ("dns", "connect-timeout"), problem  # a resolver that hangs
    if problem.kind == "dns":
        assert "'agent.invalid' does not resolve" in problem.message


def test_tls_to_a_plain_http_server() -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)  # a TLS ClientHello; answered in plain HTTP
        writer.write(answer("400 Bad Request"))
        await writer.drain()
        writer.close()

    problem, _ = check(plain, scheme="https")
    assert problem is not None and problem.kind == "tls", problem
    assert "use http://" in problem.message


def test_tls_handshake_that_never_finishes() -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)

    problem, took = check(mute, scheme="https", deadlines=Deadlines(connect=0.3, first_byte=0.3))
    assert problem is not None and problem.kind == "tls", problem
    assert "did not finish within 0.3 s" in problem.message
    assert took < 2


# ---------------------------------------------------------------- something else there


def test_the_request_is_a_minimal_run_with_the_users_headers() -> None:
    seen: list[tuple[bytes, bytes]] = []
    problem, _ = check(
        canned(answer("200 OK", "text/event-stream"), seen),
        path="/agui",
        headers={"X-Trace": "t-1"},
    )
    assert problem is None
    ((head, body),) = seen
    lines = head.decode().lower().split("\r\n")
    assert lines[0] == "post /agui http/1.1"
    assert {"accept: text/event-stream", "content-type: application/json", "x-trace: t-1"} <= set(
        lines
    )
    sent = orjson.loads(body)
    assert sent["messages"] == [{"id": "preflight-1", "role": "user", "content": "hello"}]
    assert sent["threadId"] and sent["runId"] and sent["threadId"] != sent["runId"]


def test_404_wrong_path() -> None:
    problem, _ = check(canned(answer("404 Not Found")), path="/wrong")
    assert problem is not None and problem.kind == "not-found"
    assert "is the agent mounted at another path?" in problem.message


def test_405_endpoint_without_post() -> None:
    problem, _ = check(canned(answer("405 Method Not Allowed")))
    assert problem is not None and problem.kind == "method-not-allowed"
    assert "does not take POST" in problem.message and "another path" in problem.message


@pytest.mark.parametrize("status", ["401 Unauthorized", "403 Forbidden"])
def test_auth_required_but_not_given(status: str) -> None:
    problem, _ = check(canned(answer(status)))
    assert problem is not None and problem.kind == "auth-missing"
    assert problem.message.endswith(
        "the agent requires auth: pass --agent-header 'Authorization: env:VAR' and --auth-required"
    )
    problem, _ = check(canned(answer(status)), auth_required=True)
    assert problem is not None and problem.message.endswith("'Authorization: env:VAR'")


def test_credentials_rejected_names_the_header_never_its_value() -> None:
    headers = {"Authorization": "Bearer wr0ng-secret", "X-Trace": "visible"}
    problem, _ = check(canned(answer("401 Unauthorized")), headers=headers, auth_required=True)
    assert problem is not None and problem.kind == "auth-rejected"
    assert "credentials given (Authorization)" in problem.message
    assert "wr0ng-secret" not in problem.message


def test_credentials_rejected_by_the_reference_agent() -> None:
    with running_agent(AgentConfig(token="right")) as agent:
        wrong = {"Authorization": "Bearer wrong"}
        problem = asyncio.run(preflight(agent.url, wrong, FAST, auth_required=True))
        assert problem is not None and problem.kind == "auth-rejected"
        right = {"Authorization": "Bearer right"}
        assert asyncio.run(preflight(agent.url, right, FAST, auth_required=True)) is None


def test_html_login_page() -> None:
    page = b"<!DOCTYPE html><html><body><form>Sign in</form></body></html>"
    problem, _ = check(canned(answer("200 OK", "text/html; charset=utf-8", page)))
    assert problem is not None and problem.kind == "html"
    assert "HTML page" in problem.message and "not an event stream" in problem.message


@pytest.mark.parametrize(
    ("content_type", "headers", "body"),
    [
        ("text/plain", "", b"\n  <!doctype html>\n<p>front end</p>"),
        (None, "", b"\xef\xbb\xbf<HTML><body>proxy</body></HTML>"),
        (None, "Content-Encoding: gzip\r\n", gzip.compress(b"<!doctype html><p>x</p>", mtime=0)),
    ],
    ids=["text-plain", "no-type-bom-uppercase", "gzip"],
)
def test_html_told_by_its_body(content_type: str | None, headers: str, body: bytes) -> None:
    raw = answer("200 OK", content_type, body).replace(b"\r\n\r\n", f"\r\n{headers}\r\n".encode())
    problem, _ = check(canned(raw))
    assert problem is not None and problem.kind == "html", problem


# ---------------------------------------------------------------- the suite's to judge


def test_silent_server_is_not_a_preflight_problem() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(10)

    problem, took = check(silent)
    assert problem is None
    assert took < FAST.connect + FAST.first_byte + 0.5


def test_headers_then_a_silent_body_is_bounded_too() -> None:
    async def stalls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(10)

    problem, took = check(stalls)
    assert problem is None and took < FAST.connect + FAST.first_byte + 0.5


def test_an_endless_body_is_never_read_whole() -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        while True:
            writer.write(b"x" * 65536)
            await writer.drain()

    problem, took = check(endless, deadlines=Deadlines(connect=1.0, first_byte=5.0))
    assert problem is None and took < 2


@pytest.mark.parametrize(
    "response",
    [
        answer("500 Internal Server Error", "text/html", b"<html>oops</html>"),
        answer("400 Bad Request", "application/problem+json", b"{}"),
        answer("200 OK", "application/json", b'{"not": "a stream"}'),
        answer("200 OK", "text/event-stream", b"data: {}\n\n"),
    ],
    ids=["500", "400", "200-json", "200-sse"],
)
def test_what_the_suite_judges_is_not_a_preflight_problem(response: bytes) -> None:
    assert check(canned(response))[0] is None


def test_the_reference_agent_passes() -> None:
    with running_agent() as agent:
        assert asyncio.run(preflight(agent.url, {}, FAST, auth_required=False)) is None


def test_credentials_in_the_url_are_named_as_sent() -> None:
    async def main() -> Problem | None:
        server = await asyncio.start_server(canned(answer("401 Unauthorized")), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            url = f"http://user:hunter2@127.0.0.1:{port}/"
            return await preflight(url, {"Authorization": "Bearer b"}, FAST, auth_required=True)

    problem = asyncio.run(main())
    assert problem is not None and problem.kind == "auth-rejected"
    assert "(Authorization, the URL's user:password, sent as Basic auth)" in problem.message
    assert "hunter2" not in problem.message and "Bearer b" not in problem.message
