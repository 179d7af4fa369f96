"""Preflight: one request before the suite, so that a wrong URL, a wrong path or missing
credentials end in one line naming the fix, not in a report full of harness errors.

Owns checking an agent URL before any I/O (scheme, host, port) and one POST of a minimal
valid `RunAgentInput`, read no further than its headers and the first 4 KiB of its body,
within the connect and first-byte deadlines. It judges only what makes a suite run
meaningless and is the user's to fix (nothing reachable there, a page that is not the
agent, credentials missing or rejected); whatever an agent may do wrong (no answer in time,
a 5xx, another status or content type) is left for the suite to report as a finding.
URLs in its messages are redacted (`transport.redact_url`); header values never appear.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import uuid
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx
import orjson

from agui_conformance.headers import media_type
from agui_conformance.transport import SSE_ACCEPT, Deadlines, is_secret, redact_url, ssl_context

PREFIX = 4096  # body bytes read at most, to tell an HTML page from anything else
_HOST_PORT = re.compile(r"(?:\[[^\]]*\]|[^:]*)(?::(?P<port>.*))?")


@dataclass(frozen=True)
class Problem:
    """Why the suite should not run: `kind` for programs, `message` (one line: the problem
    and the fix) for people."""

    kind: str  # bad-url | dns | refused | connect-timeout | tls | connect | not-found
    #            | method-not-allowed | auth-missing | auth-rejected | html
    message: str


@dataclass
class _Seen:
    """What the preflight request got before it stopped (or was stopped)."""

    tcp: bool = False  # the TCP connection is up
    connected: bool = False  # and TLS too, for https
    status: int | None = None
    content_type: str = ""
    coding: str = ""
    prefix: bytes = b""


def check_url(url: str) -> Problem | None:
    """A Problem when `url` cannot be an agent endpoint: not http(s), no host, a port
    outside 1-65535, or something httpx will not parse. No I/O."""
    try:
        parts = urlsplit(url)
    except ValueError as err:
        return Problem("bad-url", f"the URL is not valid ({err})")  # not shown: unredactable
    if parts.scheme.lower() not in ("http", "https"):
        return Problem(
            "bad-url",
            f"{_shown(url, parts)!r} is not an http:// or https:// URL "
            "(e.g. https://agent.example.com/agui)",
        )
    port_problem = _check_port(parts)
    if port_problem is not None:
        return port_problem
    if not parts.hostname:
        return Problem(
            "bad-url", f"{redact_url(url)!r} names no host (e.g. http://127.0.0.1:8000/)"
        )
    try:
        httpx.URL(url)
    except httpx.InvalidURL as err:
        return Problem("bad-url", f"{redact_url(url)!r} is not a valid URL ({err})")
    return None


def _check_port(parts: SplitResult) -> Problem | None:
    match = _HOST_PORT.fullmatch(parts.netloc.rpartition("@")[2])
    text = match.group("port") if match else None
    if not text:  # no port, or an empty one (`host:`): the scheme's default
        return None
    if not text.isascii() or not text.isdigit():
        return Problem("bad-url", f"the URL's port {text!r} is not a number (1-65535)")
    if not 1 <= int(text) <= 65535:
        return Problem("bad-url", f"the URL's port {int(text)} is out of range (1-65535)")
    return None


def _shown(url: str, parts: SplitResult) -> str:
    """The URL as it may be shown; a URL that cannot be redacted is shown by its scheme."""
    try:
        return redact_url(url)
    except ValueError:
        return f"{parts.scheme}:…"


async def preflight(
    url: str,
    headers: dict[str, str],
    deadlines: Deadlines,
    *,
    auth_required: bool,
    secret_headers: frozenset[str] = frozenset(),
) -> Problem | None:
    """POST one minimal run to `url` with the user's headers; a Problem when the suite
    would be pointless there, None when the suite should run (and judge what it finds).

    The whole exchange is bounded by the connect plus the first-byte deadline: an agent
    that sends no headers by then is the suite's finding, not a preflight problem."""
    problem = check_url(url)
    if problem is not None:
        return problem
    seen = _Seen()
    try:
        async with asyncio.timeout(deadlines.connect + deadlines.first_byte):
            await _send(url, headers, deadlines, seen)
    except TimeoutError:
        if not seen.connected:
            return _connect_timeout(url, deadlines, seen)
    except httpx.ConnectTimeout:
        return _connect_timeout(url, deadlines, seen)
    except httpx.ConnectError as err:
        return _connect_problem(url, err)
    except httpx.TransportError:
        pass  # after the connection: the agent's doing, for the suite to report
    return _judge(url, seen, headers, auth_required, secret_headers)


async def _send(url: str, headers: dict[str, str], deadlines: Deadlines, seen: _Seen) -> None:
    token = uuid.uuid4().hex
    body = {
        "threadId": f"preflight-thread-{token}",
        "runId": f"preflight-run-{token}",
        "messages": [{"id": "preflight-1", "role": "user", "content": "hello"}],
    }
    sent = {"Content-Type": "application/json", "Accept": SSE_ACCEPT, **headers}

    tls = urlsplit(url).scheme.lower() == "https"
    connected = "connection.start_tls.complete" if tls else "connection.connect_tcp.complete"

    async def trace(name: str, info: Any) -> None:  # httpcore's connection events
        seen.tcp = seen.tcp or name == "connection.connect_tcp.complete"
        seen.connected = seen.connected or name == connected

    timeout = httpx.Timeout(deadlines.first_byte, connect=deadlines.connect)
    async with (
        httpx.AsyncClient(timeout=timeout, verify=ssl_context()) as client,
        client.stream(
            "POST", url, content=orjson.dumps(body), headers=sent, extensions={"trace": trace}
        ) as response,
    ):
        seen.connected = True
        seen.status = response.status_code
        seen.content_type = media_type(response.headers.get("content-type", ""))
        seen.coding = response.headers.get("content-encoding", "").strip().lower()
        if seen.status != 200 or seen.content_type in (SSE_ACCEPT, "text/html"):
            return  # the headers decide; the body is never read
        async for chunk in response.aiter_raw():
            seen.prefix += chunk
            if len(seen.prefix) >= PREFIX:
                break


def _judge(
    url: str,
    seen: _Seen,
    headers: dict[str, str],
    auth_required: bool,
    secret_headers: frozenset[str],
) -> Problem | None:
    shown = redact_url(url)
    status = seen.status
    if status == 404:
        return Problem(
            "not-found",
            f"{shown} answered 404 Not Found to a POST: is the agent mounted at another path?",
        )
    if status == 405:
        return Problem(
            "method-not-allowed",
            f"{shown} answered 405 Method Not Allowed: the endpoint does not take POST; "
            "is the agent mounted at another path?",
        )
    if status in (401, 403):
        given = sorted(h for h in headers if is_secret(h, secret_headers))
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            # httpx sends them as Basic auth, in place of any Authorization header
            given.append("the URL's user:password, sent as Basic auth")
        if given:
            return Problem(
                "auth-rejected",
                f"{shown} answered {status} to the credentials given ({', '.join(given)}): "
                "check their values, and that the agent reads that header",
            )
        fix = "pass --agent-header 'Authorization: env:VAR'" + (
            "" if auth_required else " and --auth-required"
        )
        return Problem("auth-missing", f"{shown} answered {status}: the agent requires auth: {fix}")
    if status == 200 and (seen.content_type == "text/html" or _is_html(seen)):
        return Problem(
            "html",
            f"{shown} answered 200 with an HTML page (a login page, a front end, a proxy?), "
            "not an event stream: point --agent-url at the agent's AG-UI endpoint",
        )
    return None


def _is_html(seen: _Seen) -> bool:
    """Whether the body's first bytes are an HTML document (decoded when gzip or deflate;
    another coding is not sniffed)."""
    data = seen.prefix
    if seen.coding in ("gzip", "x-gzip", "deflate"):
        try:  # wbits 47: a zlib or gzip header, detected; at most PREFIX bytes out
            data = zlib.decompressobj(47).decompress(data, PREFIX)
        except zlib.error:
            return False
    elif seen.coding not in ("", "identity"):
        return False
    head = data.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    host = parts.hostname or ""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _connect_timeout(url: str, deadlines: Deadlines, seen: _Seen) -> Problem:
    if seen.tcp:  # connected, but the TLS handshake never finished
        return Problem(
            "tls",
            f"the TLS handshake with {_host_port(url)} did not finish within "
            f"{deadlines.connect:g} s ({redact_url(url)}): use http:// if the agent does not "
            "speak TLS",
        )
    return Problem(
        "connect-timeout",
        f"no connection to {_host_port(url)} within {deadlines.connect:g} s "
        f"({redact_url(url)}): check the host and port, and any firewall, VPN or proxy",
    )


def _connect_problem(url: str, err: httpx.ConnectError) -> Problem:
    """DNS, a refusal, TLS or something else, told apart by the exception underneath."""
    shown, where = redact_url(url), _host_port(url)
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "verify_message", None) or cause.reason or str(cause)
            return Problem(
                "tls",
                f"TLS with {where} failed ({reason}) ({shown}): check the agent's "
                "certificate, or use http:// if it does not speak TLS",
            )
        if isinstance(cause, socket.gaierror):
            return Problem(
                "dns",
                f"the host {urlsplit(url).hostname!r} does not resolve ({shown}): "
                "check the host name in the URL",
            )
        if isinstance(cause, ConnectionRefusedError):
            return Problem(
                "refused",
                f"connection refused by {where} ({shown}): is the agent running, "
                "and listening on that host and port?",
            )
        cause = cause.__cause__ or cause.__context__
    return Problem("connect", f"cannot connect to {where} ({shown}): {err or type(err).__name__}")
