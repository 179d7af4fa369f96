"""The reference agent stays bounded against hostile clients ("Bounded everywhere", 10-13).

Tool schemas cannot amplify a request into gigabytes; a client that trickles its
head or body, or never reads, is cut off by a deadline; a client leaving mid-body
costs one log line. The heavy checks run `agui-conformance serve` in a subprocess
and read its memory from /proc; all traffic goes to 127.0.0.1 in bounded loops.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import resource
import socket
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from agui_conformance.validator import validate_recording
from reference_agent import behaviours, faults
from reference_agent.app import AgentConfig
from reference_agent.limits import (
    BODY_SECONDS,
    CONCURRENCY,
    HEADER_SECONDS,
    KEEP_ALIVE_SECONDS,
    MAX_HEAD_BYTES,
    WRITE_SECONDS,
    Limits,
)
from reference_agent.server import RunningAgent, running_agent, spawned_agent

SSE = {"Content-Type": "application/json", "Accept": "text/event-stream"}
MB = 1 << 20


@pytest.fixture(autouse=True)
def bounded() -> Iterator[None]:
    """Every test here: under 60 s, and under 512 MB more RSS in this process at its peak
    (the peak is reset first where Linux allows: earlier tests in this worker don't count)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        peak = "VmHWM"
    except OSError:
        peak = "VmRSS"  # no reset: the peak so far is not this test's
    before = memory_mb(os.getpid())["VmRSS"]
    start = time.monotonic()
    yield
    assert time.monotonic() - start < 60
    assert memory_mb(os.getpid())[peak] - before < 512


def request_for(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "threadId": f"thread-{uuid.uuid4()}",
        "runId": f"run-{uuid.uuid4()}",
        "messages": [{"id": f"user-{uuid.uuid4()}", "role": "user", "content": text}],
        **extra,
    }


def raw_post(body: bytes, extra: bytes = b"") -> bytes:
    head = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Accept: text/event-stream\r\n" + extra + b"Content-Length: %d\r\n\r\n" % len(body)
    )
    return head + body


def events_of(content: bytes) -> list[dict[str, Any]]:
    return [
        orjson.loads(line[len(b"data: ") :])
        for line in content.split(b"\n")
        if line.startswith(b"data: ")
    ]


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of process `pid`, in MB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def address(url: str) -> tuple[str, int]:
    parsed = httpx.URL(url)
    return parsed.host, int(parsed.port or 80)


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Does the server close `sock` within `within` seconds (whatever it sends first)?"""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
    return False


@contextlib.contextmanager
def health_watch(url: str) -> Iterator[list[float]]:
    """GET /health every 0.2 s while the block runs; yields the latencies (inf: failed)."""
    latencies: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            start = time.monotonic()
            try:
                httpx.get(url + "health", timeout=10).raise_for_status()
                latencies.append(time.monotonic() - start)
            except httpx.HTTPError:
                latencies.append(float("inf"))
            stop.wait(0.2)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield latencies
    finally:
        stop.set()
        thread.join(timeout=15)


# ------------------------------------------------------------ 10. tool-schema amplification


def nested_arrays(levels: int, size: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "array", "minItems": size, "items": schema}
    return schema


def deep_object(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}, "required": ["x"]}
    return schema


AMPLIFIERS = {
    "huge_string": {"type": "string", "minLength": 10**9},
    "huge_array": {"type": "array", "minItems": 1e9, "items": {"type": "string"}},
    "nested_arrays": nested_arrays(4, 1000),
    "deep_object": deep_object(100),
}


def amplifying_tool(name: str) -> dict[str, Any]:
    parameters = {"type": "object", "properties": {"p": AMPLIFIERS[name]}, "required": ["p"]}
    return {"name": name, "description": "asks for a lot", "parameters": parameters}


@pytest.mark.slow
def test_tool_schemas_cannot_amplify_a_request() -> None:
    """A 300-byte request offering a tool with minLength 1e9 once got a 1 GB reply, took
    the server to 3.4 GB and stalled /health for 7 s. Now the agent declines the call
    in a small valid stream, and the server stays small and responsive meanwhile."""
    with spawned_agent() as served:
        # a ceiling on the server, so that an unbounded agent fails here, not the machine
        resource.prlimit(served.pid, resource.RLIMIT_AS, (3 << 30, 3 << 30))
        before = memory_mb(served.pid)
        replies: dict[str, tuple[int, bytes]] = {}
        bodies = {
            name: request_for(f"tool: {name}", tools=[amplifying_tool(name)]) for name in AMPLIFIERS
        }

        def run(name: str) -> None:
            got = bytearray()
            with httpx.stream(
                "POST", served.url, content=orjson.dumps(bodies[name]), headers=SSE, timeout=20
            ) as response:
                for chunk in response.iter_raw():
                    got += chunk
                    if len(got) > MB:
                        break  # enough to fail: nothing this big is right
            replies[name] = (response.status_code, bytes(got))

        with health_watch(served.url) as latencies:
            threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in AMPLIFIERS]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=25)
        assert served.process.poll() is None, "the server died"
        after = memory_mb(served.pid)
    assert set(replies) == set(AMPLIFIERS), "a request was not answered within 25 s"
    for name, (status, content) in replies.items():
        assert status == 200 and len(content) < 64 * 1024, (name, status, len(content))
        result = validate_recording(content, fmt="sse", request=bodies[name])
        assert result.findings == [], (name, result.findings)
        said = "".join(e.get("delta", "") for e in events_of(content))
        assert said.startswith(f"I cannot call {name}: "), (name, said)
    assert latencies and max(latencies) < 2.0, latencies
    assert after["VmHWM"] - before["VmRSS"] < 200, (before, after)


def test_arguments_within_the_budget_are_still_generated() -> None:
    from reference_agent.arguments import MAX_ARGUMENT_CHARS, TooLarge, example_for

    fits = {"type": "array", "minItems": 100, "items": {"type": "string", "minLength": 100}}
    assert len(example_for(fits)) == 100
    just_fits = {"type": "string", "minLength": MAX_ARGUMENT_CHARS - 2}
    assert len(example_for(just_fits)) == MAX_ARGUMENT_CHARS - 2
    tracemalloc.start()
    try:
        for schema in AMPLIFIERS.values():
            with pytest.raises(TooLarge):
                example_for(schema)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MB, peak


# ------------------------------------------------------------ 11. head and body deadlines


@pytest.mark.slow
def test_a_normal_request_is_answered_during_a_slowloris_attack() -> None:
    """The server out of file descriptors, held by connections sending half a head:
    a normal request once timed out after 40 s. The head deadline frees them."""
    with spawned_agent() as served:
        resource.prlimit(served.pid, resource.RLIMIT_NOFILE, (128, 128))
        host, port = address(served.url)
        attackers: list[socket.socket] = []
        try:
            for _ in range(200):  # more than the server has descriptors for
                sock = socket.create_connection((host, port), timeout=5)
                sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                attackers.append(sock)
            time.sleep(0.5)
            start = time.monotonic()
            body = request_for("hello")
            response = httpx.post(served.url, content=orjson.dumps(body), headers=SSE, timeout=25)
            waited = time.monotonic() - start
            assert response.status_code == 200
            assert validate_recording(response.content, fmt="sse", request=body).findings == []
            assert waited < HEADER_SECONDS + 8, waited
            assert closed_by_server(attackers[0], within=2.0)
        finally:
            for sock in attackers:
                sock.close()


@pytest.fixture
def quick() -> Iterator[RunningAgent]:
    """The agent with one-second deadlines (the defaults are seconds long)."""
    limits = Limits(header_seconds=1.0, write_seconds=1.0, concurrency=8)
    with running_agent(AgentConfig(token="t0ken", body_seconds=1.0), limits=limits) as agent:
        yield agent


AUTH = b"Authorization: Bearer t0ken\r\n"


def test_a_head_trickled_in_is_cut_off(quick: RunningAgent) -> None:
    with socket.create_connection(address(quick.url), timeout=5) as sock:
        start = time.monotonic()
        for byte in itertools.islice(itertools.cycle(b"POST / HTTP/1.1\r\nX-A: b\r\n"), 30):
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            if closed_by_server(sock, within=0.2):
                break
        assert time.monotonic() - start < 3.0
        assert closed_by_server(sock, within=1.0)


def test_a_connection_that_sends_nothing_is_closed(quick: RunningAgent) -> None:
    with socket.create_connection(address(quick.url), timeout=5) as sock:
        assert closed_by_server(sock, within=3.0)


def test_a_body_trickled_in_gets_408(quick: RunningAgent) -> None:
    body = orjson.dumps(request_for("hello"))
    with socket.create_connection(address(quick.url), timeout=5) as sock:
        sock.sendall(raw_post(body, AUTH)[: -len(body) // 2])
        start = time.monotonic()
        sock.settimeout(5)
        reply = sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 408 "), reply
        assert b"connection: close" in reply.lower()
        assert time.monotonic() - start < 3.0
        assert closed_by_server(sock, within=2.0)


def test_the_rest_of_a_body_after_a_refusal_has_a_deadline_too(quick: RunningAgent) -> None:
    """A 401 answers before the body is read; trickling the rest of it (which would keep
    resetting the keep-alive timer) does not hold the connection open."""
    body = orjson.dumps(request_for("hello"))
    with socket.create_connection(address(quick.url), timeout=5) as sock:
        sock.sendall(raw_post(body)[: -len(body) // 2])  # no token: 401
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 401 ")
        start = time.monotonic()
        for _ in range(20):
            try:
                sock.sendall(b" ")
            except OSError:
                break
            if closed_by_server(sock, within=0.3):
                break
        assert time.monotonic() - start < 3.0
        assert closed_by_server(sock, within=1.0)


def test_over_the_concurrency_limit_a_request_gets_503(quick: RunningAgent) -> None:
    idle = [socket.create_connection(address(quick.url), timeout=5) for _ in range(8)]
    try:
        time.sleep(0.2)
        response = httpx.get(quick.url + "health", timeout=5)
        assert response.status_code == 503
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 5
    while httpx.get(quick.url + "health", timeout=5).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_the_limits_are_documented() -> None:
    from click.testing import CliRunner

    from agui_conformance.cli import main

    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for text in (help_text, readme):
        for value in (
            f"{HEADER_SECONDS:g} s",
            f"{BODY_SECONDS:g} s",
            f"{WRITE_SECONDS:g} s",
            "keep-alive",
            f"{KEEP_ALIVE_SECONDS} s",
            f"{CONCURRENCY}",
            f"{MAX_HEAD_BYTES // 1024} KiB",
        ):
            assert value in text, value


# ------------------------------------------------------------ 12. disconnects


@pytest.mark.slow
def test_a_client_leaving_mid_body_costs_one_log_line() -> None:
    """Each once logged a 62-line ClientDisconnect traceback."""
    clients = 200
    with spawned_agent() as served:
        host, port = address(served.url)
        body = orjson.dumps(request_for("hello"))
        before = served.log.read_bytes().count(b"\n")
        for _ in range(clients):
            with socket.create_connection((host, port), timeout=5) as sock:
                sock.sendall(raw_post(body)[: -len(body) // 2])
                time.sleep(0.005)
        deadline = time.monotonic() + 10
        lines = 0
        while time.monotonic() < deadline:
            lines = served.log.read_bytes().count(b"\n") - before
            if lines >= clients:
                break
            time.sleep(0.1)
        time.sleep(0.5)  # anything still coming
        log = served.log.read_bytes()
        assert httpx.get(served.url + "health", timeout=5).status_code == 200
    assert b"Traceback" not in log
    assert log.count(b"\n") - before <= clients + 2, log[-2000:].decode(errors="replace")


# ------------------------------------------------------------ 13. stalled readers


@pytest.mark.slow
def test_stalled_readers_hold_little_memory() -> None:
    """50 clients that never read a `long 100000` reply once took the server from
    85 MB to 1.36 GB: every event was made up front. Now a reader that does not
    read holds the generation back."""
    with spawned_agent() as served:
        host, port = address(served.url)
        request = raw_post(orjson.dumps(request_for("long 100000")))
        time.sleep(0.5)
        before = memory_mb(served.pid)
        readers: list[socket.socket] = []
        try:
            for _ in range(50):
                sock = socket.create_connection((host, port), timeout=5)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.sendall(request)
                readers.append(sock)
            with health_watch(served.url) as latencies:
                time.sleep(4)
            during = memory_mb(served.pid)
        finally:
            for sock in readers:
                sock.close()
        body = request_for("long 1000")
        response = httpx.post(served.url, content=orjson.dumps(body), headers=SSE, timeout=20)
    assert during["VmHWM"] - before["VmRSS"] < 100, (before, during)
    assert latencies and max(latencies) < 2.0, latencies
    assert response.status_code == 200
    assert validate_recording(response.content, fmt="sse", request=body).findings == []


def test_a_write_that_cannot_proceed_ends_the_response(quick: RunningAgent) -> None:
    full = 100_000 * 60  # a `long 100000` reply is longer than this
    with socket.create_connection(address(quick.url), timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(raw_post(orjson.dumps(request_for("long 100000")), AUTH))
        time.sleep(3)  # read nothing: the server's write stalls, then its deadline passes
        got, ended = 0, False
        deadline = time.monotonic() + 5
        sock.settimeout(1)
        try:
            while not ended and time.monotonic() < deadline:
                chunk = sock.recv(65536)
                got += len(chunk)
                ended = not chunk
        except ConnectionResetError:  # what the server does: reset, dropping the rest
            ended = True
        except TimeoutError:  # stalled and never closed
            pass
    assert ended and got < full, (ended, got)


@pytest.mark.parametrize("name", sorted(n for n, f in faults.FAULTS.items() if f.events))
def test_faults_break_a_long_run_without_listing_it(name: str) -> None:
    """Every event transform reads the run as a stream: the first events of a
    `long 100000` run come out without the other 100000 being made."""
    tracemalloc.start()
    try:
        plan = behaviours.plan(request_for("long 100000"))
        events = faults.apply(faults.FAULTS[name], plan.events, plan.input)
        first = list(itertools.islice(events, 10))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(first) == 10
    assert peak < 2 * MB, peak
