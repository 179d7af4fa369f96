"""The live proxy (issue 18): transparent to the bytes, judged like `run`, off the path.

Real sockets throughout: the reference agent and small hostile agents on uvicorn, the proxy
on uvicorn in front of them, httpx clients reading raw bytes."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from agui_conformance.model import as_data
from agui_conformance.proxy import book as book_module
from agui_conformance.proxy.app import forwarded
from agui_conformance.proxy.book import Book, kind_of, parsed_request
from agui_conformance.proxy.serve import ProxyConfig, running
from agui_conformance.proxy.tap import REQUEST_CAP, Budget, Tap
from agui_conformance.report.json_report import report_to_json
from agui_conformance.runner import examine
from agui_conformance.transport import exchange
from reference_agent.app import AgentConfig
from reference_agent.faults import FAULT_HEADER, FAULTS
from reference_agent.server import running_agent, spawned_agent
from tests.hostile_agents import conformant_run, free_port, serve_app, sse

OWN = {True: "minimal-input", False: "probe-malformed-json"}  # a fault's case, by input
SLOW_FRAMINGS = {"stall", "hang"}  # 45 s of silence: compared over a read window
# each hop's own (RFC 9110 §7.6.1), and the time of day: not compared
PER_HOP = {"date", "connection", "keep-alive", "transfer-encoding"}
JSON = {"Content-Type": "application/json"}
TOOLS = [
    {"name": "show_card", "description": "a card", "parameters": {"type": "object"}},
]


def _request(command: str, tools: bool, run: str = "run-1") -> dict[str, Any]:
    request: dict[str, Any] = {
        "threadId": "thread-1",
        "runId": run,
        "protocolVersion": "1.1",
        "state": {"counter": 1},
        "messages": [{"id": "user-1", "role": "user", "content": command}],
    }
    if tools:
        request["tools"] = TOOLS
    return request


def _cases() -> list[tuple[str | None, bytes]]:
    """(fault, body): normal behaviour and every fault, each with its own command, and an
    invalid body (the faults about refusals)."""
    out: list[tuple[str | None, bytes]] = [(None, orjson.dumps(_request("hello", False)))]
    out.append((None, b'{"threadId": 1}'))
    for fault in FAULTS.values():
        out.append((fault.name, orjson.dumps(_request(fault.command, fault.needs_tools))))
        out.append((fault.name, b'{"threadId": 1}'))
    return out


async def _raw(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    fault: str | None,
    window: float,
    accept: str = "text/event-stream",
) -> tuple[int | None, list[tuple[str, str]], bytes]:
    """Status, headers and the raw body bytes read within `window` seconds (None and
    nothing when no answer came in it), asking with `accept`."""
    headers = {"Content-Type": "application/json", "Accept": accept}
    if fault is not None:
        headers[FAULT_HEADER] = fault
    got = bytearray()
    status: int | None = None
    shown: list[tuple[str, str]] = []
    try:
        async with (
            asyncio.timeout(window),
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            status = response.status_code
            shown = [(k.lower(), v) for k, v in response.headers.multi_items()]
            shown = [(k, v) for k, v in shown if k not in PER_HOP]
            async for chunk in response.aiter_raw():
                got += chunk
    except TimeoutError:
        pass
    return status, shown, bytes(got)


@pytest.fixture(scope="module")
def agents() -> Iterator[tuple[str, str]]:
    """Two identical reference agents, each in its own process (one direct, one behind the
    proxy: each sees the same history, so stateful behaviours answer alike)."""
    with (
        spawned_agent("--allow-faults") as direct,
        spawned_agent("--allow-faults") as behind,
    ):
        yield direct.url, behind.url


@pytest.mark.slow
def test_bytes_through_the_proxy_equal_bytes_direct_for_every_fault(
    agents: tuple[str, str],
) -> None:
    direct, behind = agents
    with running(ProxyConfig(upstream=behind, port=0)) as (proxied, _):

        async def both(fault: str | None, body: bytes) -> tuple[Any, Any]:
            slow = fault is not None and FAULTS[fault].framing in SLOW_FRAMINGS
            window = 3.0 if slow else 30.0
            async with httpx.AsyncClient(timeout=40) as client:
                one = await _raw(client, direct, body, fault, window)
                two = await _raw(client, proxied, body, fault, window)
            return one, two

        async def main() -> list[tuple[Any, Any]]:
            # in order (some faults share memory across threads: the two agents must see
            # the same sequence); then the 45 s silences at once, over a read window
            cases = _cases()
            slow = [n for n, (f, _) in enumerate(cases) if f and FAULTS[f].framing in SLOW_FRAMINGS]
            out: dict[int, tuple[Any, Any]] = {}
            for n, case in enumerate(cases):
                if n not in slow:
                    out[n] = await both(*case)
            waits = await asyncio.gather(*(both(*cases[n]) for n in slow))
            out.update(zip(slow, waits, strict=True))
            return [out[n] for n in range(len(cases))]

        results = asyncio.run(main())
    compared = 0
    for (fault, body), (one, two) in zip(_cases(), results, strict=True):
        assert one[0] == two[0], (fault, body, one[0], two[0])
        assert one[1] == two[1], (fault, body)
        assert one[2] == two[2], (fault, body, one[2][:300], two[2][:300])
        compared += len(one[2])
    assert compared > 20_000  # real streams were compared, not empty bodies
    assert len(_cases()) == 2 * len(FAULTS) + 2


PROTO_ACCEPT = "application/vnd.ag-ui.event+proto, text/event-stream"
PROTO_FAULTS = [f.name for f in FAULTS.values() if f.name.startswith("proto-")]


def test_bytes_through_the_proxy_equal_bytes_direct_for_every_protobuf_fault(
    agents: tuple[str, str],
) -> None:
    """Every `proto-` fault mode, asked for protobuf as a client of the binding asks: the
    status, headers and body bytes through the proxy are those sent directly (binary
    bodies, broken frames and a body cut inside a frame included)."""
    direct, behind = agents
    assert len(PROTO_FAULTS) >= 7
    with running(ProxyConfig(upstream=behind, port=0)) as (proxied, _):

        async def main() -> list[tuple[Any, Any]]:
            out = []
            async with httpx.AsyncClient(timeout=40) as client:
                for fault in PROTO_FAULTS:
                    for body in (orjson.dumps(_request("hello", False)), b'{"threadId": 1}'):
                        one = await _raw(client, direct, body, fault, 30.0, PROTO_ACCEPT)
                        two = await _raw(client, proxied, body, fault, 30.0, PROTO_ACCEPT)
                        out.append((one, two))
            return out

        results = asyncio.run(main())
    binary = 0
    for fault, (one, two) in zip([f for f in PROTO_FAULTS for _ in (0, 1)], results, strict=True):
        assert one[0] == two[0], (fault, one[0], two[0])
        assert one[1] == two[1], fault
        assert one[2] == two[2], (fault, one[2][:300], two[2][:300])
        binary += one[2][:1] == b"\x00"  # a protobuf body: its first length's high byte
    assert binary >= len(PROTO_FAULTS) - 1  # real frames compared (wrong-type ones too)


def test_the_proxy_finds_what_the_runner_finds_on_protobuf_exchanges(
    agents: tuple[str, str],
) -> None:
    """Every `proto-` fault through the proxy asked for protobuf, read by the runner's own
    transport: the proxy's findings are `runner.examine`'s on that exchange, and each fault
    that shows on a single protobuf run draws its rule."""
    _, behind = agents
    single_run = {"proto-wrong-content-type", "proto-little-endian", "proto-undecodable-frame"}
    single_run.add("proto-truncated")
    with running(ProxyConfig(upstream=behind, port=0)) as (proxied, book):

        async def one(index: int, fault: str) -> tuple[Any, Any]:
            request = _request("hello", False, f"run-proto-{index}")
            request["threadId"] = f"thread-proto-{index}"
            headers = {FAULT_HEADER: fault, "Accept": PROTO_ACCEPT}
            return request, await exchange(proxied, orjson.dumps(request), headers=headers)

        async def main() -> list[tuple[Any, Any]]:
            return await asyncio.gather(*(one(i, f) for i, f in enumerate(PROTO_FAULTS)))

        sent = asyncio.run(main())
        for (request, record), fault in zip(sent, PROTO_FAULTS, strict=True):
            ours = examine(record, request, orjson.dumps(request), "run", "spec")[0]
            theirs = _judged(book, request["runId"]).runs[0]
            expected = sorted((f.rule, f.index) for f in ours.findings)
            assert sorted((f.rule, f.index) for f in theirs.findings) == expected, fault
            assert theirs.outcome == ours.outcome, fault
            assert sorted(theirs.exercised) == sorted(ours.exercised), fault
            if fault in single_run:
                assert FAULTS[fault].rule in {f.rule for f in theirs.findings}, fault
            else:  # shows on the negotiation case, the `both` pair, or an SSE-only Accept
                assert not [f for f in theirs.findings if f.level.value == "error"], fault


def _judged(book: Book, run: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for case in list(book.cases):
            request = case.runs[0].request.input if case.runs else None
            if isinstance(request, dict) and request.get("runId") == run:
                return case
        time.sleep(0.02)
    raise AssertionError(f"the proxy judged no exchange of run {run}")


@pytest.mark.parametrize("profile", ["spec", "cometchat"])
def test_the_proxy_finds_what_the_runner_finds_on_the_same_exchange(
    agents: tuple[str, str], profile: str
) -> None:
    """Every fault (and normal behaviour) through the proxy, read by the runner's own
    transport: the proxy's findings are the runner's on that exchange (`runner.examine`),
    rule and event index. Stalls are left out: the runner cuts them at its deadlines, the
    proxy leaves that to the front end."""
    _, behind = agents
    faults = [None, *(f.name for f in FAULTS.values() if f.profile == profile)]
    faults = [f for f in faults if f is None or FAULTS[f].framing not in SLOW_FRAMINGS]
    with running(ProxyConfig(upstream=behind, port=0, profile=profile)) as (proxied, book):

        async def one(index: int, fault: str | None, valid: bool) -> tuple[Any, Any]:
            spec = FAULTS.get(fault or "")
            command = spec.command if spec else "hello"
            request = _request(command, bool(spec and spec.needs_tools), f"run-{index}-{valid}")
            request["threadId"] = f"thread-{index}" if valid else index  # invalid: a number
            body = orjson.dumps(request)
            headers = {FAULT_HEADER: fault} if fault else {}
            record = await exchange(proxied, body, headers=headers)
            return request, record

        async def main() -> list[tuple[Any, Any]]:
            sends = [one(i, f, v) for i, f in enumerate(faults) for v in (True, False)]
            return await asyncio.gather(*sends)

        sent = asyncio.run(main())
        seen = set()
        tried = [(f, v) for f in faults for v in (True, False)]
        for (request, record), (fault, valid) in zip(sent, tried, strict=True):
            body = orjson.dumps(request)
            expect = "run" if valid else "lenient"  # what the proxy makes of an invalid input
            ours = examine(record, request, body, expect, profile)[0]
            case = _judged(book, request["runId"])
            assert case.expect == expect
            theirs = case.runs[0]
            expected = sorted((f.rule, f.index) for f in ours.findings)
            assert sorted((f.rule, f.index) for f in theirs.findings) == expected, fault
            assert theirs.outcome == ours.outcome, fault
            assert sorted(theirs.exercised) == sorted(ours.exercised), fault
            shows = fault is not None and FAULTS[fault].case == OWN[valid]
            if shows and not FAULTS[fault].options:  # the fault shows on this input
                assert FAULTS[fault].rule in {f.rule for f in theirs.findings}, fault
            seen |= {f.rule for f in theirs.findings}
    assert len(seen) >= (10 if profile == "spec" else 1)


# ---------------------------------------------------------------- disconnects


class Upstream:
    """A test agent that records when its stream was abandoned by the client."""

    def __init__(self, silent_after_first: bool) -> None:
        self.left = threading.Event()
        self.silent = silent_after_first

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/")
        async def run(request: Request) -> StreamingResponse:
            body = orjson.loads(await request.body())
            events = conformant_run(body)

            async def stream() -> AsyncIterator[bytes]:
                try:
                    yield sse(events[0])
                    for n in range(10_000):
                        await asyncio.sleep(30 if self.silent else 0.01)
                        delta = {**events[2], "delta": f"{n} "}
                        yield sse(delta)
                finally:
                    self.left.set()  # cancelled (client gone) or closed

            return StreamingResponse(stream(), media_type="text/event-stream")

        return app


@pytest.mark.parametrize("silent", [False, True], ids=["streaming", "silent-agent"])
def test_a_client_disconnect_reaches_the_upstream(silent: bool) -> None:
    upstream = Upstream(silent_after_first=silent)
    with (
        serve_app(upstream.app()) as url,
        running(ProxyConfig(upstream=url, port=0)) as (
            proxied,
            book,
        ),
    ):
        body = orjson.dumps(_request("hello", False, "run-left"))
        with httpx.Client(timeout=10) as client:
            with client.stream("POST", proxied, content=body) as response:
                first = next(response.iter_raw())
                assert first.startswith(b"data: ")
            started = time.monotonic()
            assert upstream.left.wait(5), "the upstream never saw the client leave"
            assert time.monotonic() - started < 5
        case = _judged(book, "run-left")
        assert case.runs[0].outcome == "left"
        assert case.status == "inconclusive"  # a stream the front end cut is no evidence


def test_an_upstream_breaking_mid_answer_breaks_the_client_connection_too() -> None:
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> StreamingResponse:
        body = orjson.loads(await request.body())

        async def stream() -> AsyncIterator[bytes]:
            yield sse(conformant_run(body)[0])
            raise RuntimeError("the model call failed")

        return StreamingResponse(stream(), media_type="text/event-stream")

    with serve_app(app) as url, running(ProxyConfig(upstream=url, port=0)) as (proxied, book):
        body = orjson.dumps(_request("hello", False, "run-broken"))
        for target in (url, proxied):
            with (
                httpx.Client(timeout=10) as client,
                pytest.raises(httpx.RemoteProtocolError),
                client.stream("POST", target, content=body) as response,
            ):
                for _ in response.iter_raw():
                    pass
        case = _judged(book, "run-broken")
        assert "transport-deadline" in {f.rule for f in case.runs[0].findings}
        assert case.status == "failed"


# ---------------------------------------------------------------- off the path


class SlowBook(Book):
    """A validator that takes 1 s per exchange."""

    def judge(self, tap: Tap) -> Any:
        time.sleep(1.0)
        return super().judge(tap)


@pytest.mark.slow
def test_a_slow_validator_does_not_delay_forwarding() -> None:
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> StreamingResponse:
        body = orjson.loads(await request.body())

        async def stream() -> AsyncIterator[bytes]:
            for event in conformant_run(body):
                yield sse(event)

        return StreamingResponse(stream(), media_type="text/event-stream")

    with serve_app(app) as url:
        slow = SlowBook(url, budget=Budget(limit=2_000))  # room for about 2 exchanges
        with running(ProxyConfig(upstream=url, port=0), book=slow) as (proxied, book):
            started = time.monotonic()
            with httpx.Client(timeout=10) as client:
                for n in range(8):
                    body = orjson.dumps(_request("hello", False, f"run-{n}"))
                    direct = client.post(url, content=body).content
                    assert client.post(proxied, content=body).content == direct
            took = time.monotonic() - started
            assert took < 4.0, took  # judging alone takes 8 s
        # on exit every ended exchange was judged or counted as dropped
        assert book.counts["dropped"] >= 1
        assert book.counts["judged"] + book.counts["dropped"] == 8
        report = book.report()
        notes = [c for c in report.cases if c.id == "proxy-not-judged"]
        assert notes and "dropped" in notes[0].reason
        dropped = [c for c in report.cases if "validator fell behind" in c.reason]
        assert dropped and all(c.status == "inconclusive" for c in dropped)


def test_a_validator_that_raises_never_breaks_the_traffic(agents: tuple[str, str]) -> None:
    class Broken(Book):
        def judge(self, tap: Tap) -> Any:
            raise ValueError("a bug of ours")

    direct, behind = agents
    lines: list[str] = []
    broken = Broken(behind, on_line=lines.append)
    with running(ProxyConfig(upstream=behind, port=0), book=broken) as (proxied, book):
        body = orjson.dumps(_request("hello", False, "run-x"))
        with httpx.Client(timeout=10) as client:
            assert (
                client.post(proxied, content=body).content
                == client.post(direct, content=body).content
            )
    assert book.counts["failed-to-judge"] == 1
    assert any("could not judge" in line for line in lines)


# ---------------------------------------------------------------- what it shows


def test_auth_passes_through_and_is_never_shown() -> None:
    token = "s3cr3t-token-value-1234"
    lines: list[str] = []
    with (
        running_agent(AgentConfig(token=token)) as agent,
        running(ProxyConfig(upstream=agent.url, port=0), on_line=lines.append) as (proxied, book),
    ):
        body = orjson.dumps(_request("hello", False, "run-auth"))
        with httpx.Client(timeout=10) as client:
            auth = {**JSON, "Authorization": f"Bearer {token}"}
            ok = client.post(proxied, content=body, headers=auth)
            assert ok.status_code == 200  # the agent got the header
            denied = client.post(proxied, content=body, headers=JSON)
            assert denied.status_code == 401
            page = client.get(proxied + "_agui/").text
            data = client.get(proxied + "_agui/report.json").text
        case = _judged(book, "run-auth")
        assert case.runs[0].requestHeaders["authorization"] == "***"
        assert "run-auth" in page and "run-auth" in data
        shown = "\n".join([*lines, page, data, report_to_json(book.report())])
        assert token not in shown


def test_each_exchange_gets_one_line_with_its_verdict_rules_and_user_agent(
    agents: tuple[str, str],
) -> None:
    _, behind = agents
    lines: list[str] = []
    with running(ProxyConfig(upstream=behind, port=0), on_line=lines.append) as (proxied, book):
        body = orjson.dumps(_request("hello", False, "run-line"))
        # a C1 control (CSI, which terminals read as ESC [) as obs-text: valid HTTP for h11
        # and httptools alike, unprintable on a terminal
        agent = b"CometChat/4.2 \x9b31m"
        headers = {**JSON, FAULT_HEADER: "no-run-started", "User-Agent": agent}
        with httpx.Client(timeout=10) as client:
            client.post(proxied, content=body, headers=headers)
            client.get(proxied + "health")  # no run: no line, counted
        _judged(book, "run-line")
    assert len(lines) == 1
    line = lines[0]
    assert "FAILED" in line and "run run-line" in line and "thread thread-1" in line
    assert "lifecycle-first-event" in line and "CometChat/4.2" in line
    assert "\x9b" not in line and "\\x9b" in line  # printable, shown escaped
    assert book.counts["other"] == 1


def _until_judged(book: Book, count: int = 1) -> None:
    deadline = time.monotonic() + 10
    while len(book.cases) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_protobuf_answer_is_forwarded_unchanged_and_judged_decoded() -> None:
    """The protobuf binding's frames pass through byte for byte; the side validation reads
    them with the frame reader (by the answer's Content-Type) and judges the run's events:
    here a run that leaves its message open, split across chunks mid-frame."""
    from agui_conformance.protobuf import encode_event, frame

    def body_for(request: dict[str, Any]) -> bytes:
        events = conformant_run(request)
        del events[3]  # TEXT_MESSAGE_END: the message stays open
        return b"".join(frame(encode_event(e)) for e in events)

    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> StreamingResponse:
        data = body_for(orjson.loads(await request.body()))

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), 7):  # frames split across chunks
                yield data[start : start + 7]

        return StreamingResponse(chunks(), media_type="application/vnd.ag-ui.event+proto")

    with serve_app(app) as url, running(ProxyConfig(upstream=url, port=0)) as (proxied, book):
        sent = _request("hello", False, "run-proto")
        accept = {"Accept": "application/vnd.ag-ui.event+proto, text/event-stream"}
        with httpx.Client(timeout=10) as client:
            got = client.post(proxied, content=orjson.dumps(sent), headers=accept).content
        assert got == body_for(sent)
        _until_judged(book)
        (case,) = book.cases
        assert book.counts["protobuf"] == 1 and book.counts["judged"] == 1
        (run,) = case.runs
        assert [e["type"] for e in run.events] == [
            "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "RUN_FINISHED"
        ]  # fmt: skip
        assert case.status == "failed"
        assert {f.rule for f in run.findings} == {"item-open-at-finish"}
        assert "proto-content-type-inexact" in run.exercised


def test_protobuf_sent_to_an_sse_only_front_end_is_its_finding() -> None:
    from agui_conformance.protobuf import encode_event, frame

    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        events = conformant_run(orjson.loads(await request.body()))
        data = b"".join(frame(encode_event(e)) for e in events)
        return Response(data, media_type="application/vnd.ag-ui.event+proto")

    with serve_app(app) as url, running(ProxyConfig(upstream=url, port=0)) as (proxied, book):
        body = orjson.dumps(_request("hello", False, "run-sse-only"))
        with httpx.Client(timeout=10) as client:
            client.post(proxied, content=body, headers={"Accept": "text/event-stream"})
        _until_judged(book)
        (case,) = book.cases
        assert {f.rule for f in case.findings} == {"proto-not-admitted"}


def test_a_gzip_answer_is_forwarded_compressed_and_judged_decoded() -> None:
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        body = orjson.loads(await request.body())
        packed = gzip.compress(b"".join(sse(e) for e in conformant_run(body)), mtime=0)
        headers = {"Content-Encoding": "gzip"}
        return Response(packed, media_type="text/event-stream", headers=headers)

    with serve_app(app) as url, running(ProxyConfig(upstream=url, port=0)) as (proxied, book):
        body = orjson.dumps(_request("hello", False, "run-gzip"))
        with httpx.Client(timeout=10) as client:
            with client.stream("POST", proxied, content=body) as via:
                raw_via = b"".join(via.iter_raw())
            with client.stream("POST", url, content=body) as direct:
                assert raw_via == b"".join(direct.iter_raw())
        case = _judged(book, "run-gzip")
        assert case.status == "passed" and case.runs[0].outcome == "finished"
        assert len(case.runs[0].events) == 5


def test_the_front_ends_invalid_input_is_noted_beside_not_against_the_agent(
    agents: tuple[str, str],
) -> None:
    _, behind = agents
    with running(ProxyConfig(upstream=behind, port=0)) as (proxied, book):
        request = _request("hello", False, "run-bad")
        request["messages"][0]["role"] = "wizard"
        with httpx.Client(timeout=10) as client:
            answer = client.post(proxied, content=orjson.dumps(request), headers=JSON)
        case = _judged(book, "run-bad") if answer.status_code == 200 else None
        if case is None:  # refused: judged as a refusal, the request quoted
            deadline = time.monotonic() + 10
            while not book.cases and time.monotonic() < deadline:
                time.sleep(0.02)
            (case,) = book.cases
        assert case.expect == "lenient"
        assert "does not match the schema" in case.reason
        assert not any(f.rule.startswith("schema-") and f.index is None for f in case.findings)


# ---------------------------------------------------------------- units


def test_hop_by_hop_headers_are_not_forwarded() -> None:
    headers = [
        (b"connection", b"keep-alive, x-private"),
        (b"keep-alive", b"timeout=5"),
        (b"transfer-encoding", b"chunked"),
        (b"x-private", b"1"),
        (b"authorization", b"Bearer abc"),
        (b"x-trace", b"1"),
        (b"x-trace", b"2"),
    ]
    assert forwarded(headers) == [
        (b"authorization", b"Bearer abc"),
        (b"x-trace", b"1"),
        (b"x-trace", b"2"),
    ]


def test_a_request_over_the_cap_is_forwarded_but_not_parsed() -> None:
    tap = Tap("POST", "/", {})
    tap.add_request(b"{" + b" " * REQUEST_CAP + b"}")
    assert not tap.request_complete and len(tap.request_body) == REQUEST_CAP
    assert parsed_request(tap) is None
    tap.response_headers = {"content-type": "text/event-stream"}
    assert kind_of(tap, None) == "run"  # an event stream is judged, without the request


def test_traffic_that_is_no_run_is_not_judged() -> None:
    tap = Tap("GET", "/info", {})
    assert kind_of(tap, None) == "other"
    tap = Tap("POST", "/graphql", {})
    tap.response_headers = {"content-type": "application/json"}
    assert kind_of(tap, {"query": "{ agents }"}) == "other"
    assert kind_of(tap, {"threadId": "t", "messages": []}) == "run"


def test_the_budget_drops_instead_of_holding_more() -> None:
    budget = Budget(limit=10)
    tap = Tap("POST", "/", {})
    tap.add(b"12345", budget)
    tap.add(b"123456", budget)  # over: dropped from judging
    tap.add(b"1", budget)
    assert tap.dropped and tap.kept == 5 and tap.size == 12 and budget.held == 5


def test_keep_bounds_the_cases_kept() -> None:
    assert book_module.KEEP == 200
    small = Book("http://127.0.0.1:9/", keep=3)
    for n in range(5):
        tap = Tap("POST", "/", {})
        tap.add_request(orjson.dumps(_request("hello", False, f"run-{n}")))
        tap.status = 200
        tap.response_headers = {"content-type": "text/event-stream"}
        tap.add(
            b"".join(sse(e) for e in conformant_run(_request("hi", False, f"run-{n}"))),
            small.budget,
        )
        tap.end("complete")
        small.take(tap)
    assert [c.runs[0].request.input["runId"] for c in small.cases] == ["run-2", "run-3", "run-4"]


# ---------------------------------------------------------------- the command


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_command_prints_lines_and_writes_the_reports_when_stopped(
    agents: tuple[str, str], tmp_path: Path, stop: signal.Signals
) -> None:
    _, behind = agents
    port = free_port()
    html, data = tmp_path / "proxy.html", tmp_path / "proxy.json"
    command = [
        sys.executable, "-m", "agui_conformance.cli", "proxy", "--upstream", behind,
        "--listen", f"127.0.0.1:{port}", "--html", str(html), "--json", str(data),
        "--agent-header", "X-Api-Key: env:PROXY_TEST_KEY",
    ]  # fmt: skip
    env = {**os.environ, "PROXY_TEST_KEY": "key-value-never-shown-42"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "_agui/report.json", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, "no proxy"
                time.sleep(0.1)
        body = orjson.dumps(_request("hello", False, "run-cli"))
        headers = {**JSON, FAULT_HEADER: "no-run-started"}
        assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 200
        time.sleep(0.5)  # judged on the side
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    text = out.decode()
    assert process.returncode == 0, err.decode()[-2000:]
    assert "FAILED" in text and "run run-cli" in text and "lifecycle-first-event" in text
    assert "1 exchange(s) judged: 1 failed" in text
    report = orjson.loads(data.read_bytes())
    assert report["cases"][0]["runs"][0]["requestHeaders"]["x-api-key"] == "***"
    assert "run-cli" in html.read_text(encoding="utf-8")
    shown = text + err.decode() + data.read_text() + html.read_text(encoding="utf-8")
    assert "key-value-never-shown-42" not in shown


def test_a_bad_listen_address_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agui_conformance.cli", "proxy", "--upstream",
         "http://127.0.0.1:9/", "--listen", "nowhere"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "HOST:PORT" in done.stderr


def test_a_large_request_body_is_forwarded_whole_and_judged_without_it() -> None:
    """A body of several receive() messages, over the kept cap: every byte reaches the
    agent (it answers their hash), the run is judged without the request."""
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> StreamingResponse:
        received = await request.body()
        digest = hashlib.sha256(received).hexdigest()
        events = conformant_run({"threadId": "t-big", "runId": digest})

        async def stream() -> AsyncIterator[bytes]:
            for event in events:
                yield sse(event)

        return StreamingResponse(stream(), media_type="text/event-stream")

    request = _request("x" * (REQUEST_CAP + 1000), False, "run-big")
    body = orjson.dumps(request)
    with serve_app(app) as url, running(ProxyConfig(upstream=url, port=0)) as (proxied, book):
        with httpx.Client(timeout=20) as client:
            answer = client.post(proxied, content=body, headers=JSON).content
        assert hashlib.sha256(body).hexdigest().encode() in answer
        deadline = time.monotonic() + 10
        while not book.cases and time.monotonic() < deadline:
            time.sleep(0.02)
        (case,) = book.cases
        assert case.runs[0].outcome == "finished"
        sent = case.runs[0].request  # not parsed: its first bytes only
        assert sent.input is None and sent.size is None
        shown = sent.body
        assert isinstance(shown, str) and shown.startswith('{"threadId"') and len(shown) <= 500
        assert as_data(case.runs[0])["request"] == shown  # the report's shape


def test_the_live_page_asked_right_after_a_run_shows_it(agents: tuple[str, str]) -> None:
    class Deliberate(Book):
        def judge(self, tap: Tap) -> Any:
            time.sleep(0.3)
            return super().judge(tap)

    _, behind = agents
    with running(ProxyConfig(upstream=behind, port=0), book=Deliberate(behind)) as (proxied, _):
        body = orjson.dumps(_request("hello", False, "run-page"))
        with httpx.Client(timeout=10) as client:
            client.post(proxied, content=body, headers=JSON)
            report = orjson.loads(client.get(proxied + "_agui/report.json").content)
    assert report["summary"]["cases"] == {"passed": 1}
    assert "run-page" in report["cases"][0]["title"]


def test_a_failed_exchange_in_the_report_has_a_curl_reproducer_and_no_suite_command(
    agents: tuple[str, str],
) -> None:
    from agui_conformance.report.html import case_view

    _, behind = agents
    with running(ProxyConfig(upstream=behind, port=0)) as (proxied, book):
        body = orjson.dumps(_request("hello", False, "run-repro"))
        with httpx.Client(timeout=10) as client:
            client.post(proxied, content=body, headers={**JSON, FAULT_HEADER: "no-run-started"})
        _judged(book, "run-repro")
        report = book.report()
    view = case_view(report.cases[0], report)
    assert report.cases[0].status == "failed"
    assert "run-repro" in view.curl and behind in view.curl
    assert view.command == ""  # no `run -k proxy-1`: that case does not exist in the suite


def test_the_request_reaches_the_agent_byte_for_byte() -> None:
    """INPUT-012: forwardedProps (a null inside, odd spacing, key order) and every other byte
    of the body, and the front end's own headers, arrive as sent."""
    seen: list[tuple[bytes, dict[str, str], str]] = []
    app = FastAPI()

    @app.post("/{path:path}")
    async def run(request: Request, path: str) -> StreamingResponse:
        where = f"{request.url.path}?{request.url.query}"
        seen.append((await request.body(), dict(request.headers), where))

        async def stream() -> AsyncIterator[bytes]:
            for event in conformant_run({"threadId": "t", "runId": "r"}):
                yield sse(event)

        return StreamingResponse(stream(), media_type="text/event-stream")

    body = (
        b'{ "threadId":"t",  "runId":"r","messages":[],\n'
        b' "forwardedProps": {"z": null, "a": [1.0, 1e2, "\\u00e9"], "b": {}} }'
    )
    headers = {**JSON, "X-Trace": "abc", "Authorization": "Bearer tok-123456"}
    with (
        serve_app(app) as url,
        running(ProxyConfig(upstream=url, port=0)) as (proxied, _),
        httpx.Client(timeout=10) as client,
    ):
        client.post(proxied + "sub/path?x=1", content=body, headers=headers)
    (received, got, where) = seen[0]
    assert where == "/sub/path?x=1"  # the path appended to --upstream, the query kept
    assert received == body
    assert got["x-trace"] == "abc" and got["authorization"] == "Bearer tok-123456"
    assert got["content-length"] == str(len(body))


def test_an_address_in_use_is_a_tool_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "agui_conformance.cli", "proxy", "--upstream",
             "http://127.0.0.1:9/", "--listen", f"127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"could not listen on 127.0.0.1:{port}" in done.stderr
