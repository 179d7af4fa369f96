"""The runner against real sockets: the reference agent under every profile, every
fault mode, and hostile servers written here (never answers, one byte a second,
closes mid-frame, an HTML 500, an endless body). Each ends as its finding
within the deadlines; nothing hangs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from agui_conformance.cases import Case, load_cases
from agui_conformance.cli import main
from agui_conformance.model import Level, Report, ToolInfo, as_data
from agui_conformance.report.html import to_html
from agui_conformance.rules import PROFILES
from agui_conformance.runner import CaseResult, RunnerConfig, run_suite
from agui_conformance.transport import Deadlines
from reference_agent.app import AgentConfig
from reference_agent.faults import FAULTS
from reference_agent.server import running_agent

FAST = Deadlines(connect=2.0, first_byte=1.0, idle=1.0, total=3.0, linger=1.0)


def suite(
    url: str, cases: list[Case] | None = None, fail_on: Level = Level.ERROR, **kw: object
) -> list[CaseResult]:
    cfg = RunnerConfig(url=url, **kw)  # type: ignore[arg-type]
    return asyncio.run(run_suite(cases or list(load_cases()), cfg, fail_on))


@pytest.mark.parametrize("profile", PROFILES)
def test_reference_agent_passes_every_case_under_every_profile(profile: str) -> None:
    with running_agent() as agent:
        results = suite(agent.url, profile=profile)
    statuses = {r.id: r.status for r in results}
    assert set(statuses.values()) <= {"passed", "not-applicable"}, [
        (r.id, [f.rule for f in r.findings]) for r in results if r.status != "passed"
    ]
    assert statuses["auth-missing"] == "not-applicable"


def test_auth_probes_against_a_guarded_agent() -> None:
    with running_agent(AgentConfig(token="tok-123")) as agent:
        results = suite(
            agent.url,
            headers={"Authorization": "Bearer tok-123"},
            auth_required=True,
            behaviour=True,  # the opt-in history check too: every case applies
        )
    assert {r.status for r in results} == {"passed"}
    assert all("tok-123" not in json.dumps(as_data(r)) for r in results), (
        "the auth value leaked into a result"
    )


def _fault_cases(command: str, tools: bool) -> list[Case]:
    request: dict[str, object] = {
        "threadId": "${thread}",
        "runId": "${run}",
        "protocolVersion": "1.1",
        "state": {"counter": 1},
        "messages": [{"id": "${id}", "role": "user", "content": command}],
    }
    if tools:
        request["tools"] = [
            {
                "name": "show_card",
                "description": "a card",
                "parameters": {"type": "object", "properties": {}},
            }
        ]
    return [Case(id="fault-probe", title="the fault's own command", request=request)]


@pytest.mark.parametrize("name", sorted(n for n, f in FAULTS.items() if not f.live))
def test_every_fault_fails_the_suite_naming_its_rule(name: str) -> None:
    fault = FAULTS[name]
    cases = [*load_cases(), *_fault_cases(fault.command, fault.needs_tools)]
    with running_agent(AgentConfig(fault=name)) as agent:
        results = suite(agent.url, cases=cases, profile="strict", fail_on=Level.INFO)
    rules = {f.rule for r in results for f in r.findings}
    assert fault.rule in rules, (name, sorted(rules))
    failing = [r for r in results if r.status == "failed"]
    assert failing and any(fault.rule in {f.rule for f in r.findings} for r in failing)


# ------------------------------------------------------------------ hostile servers


RECEIVED: dict[int, bytes] = {}  # socket fileno -> the request it read (for echoing ids)


def echoed_run_started(sock: socket.socket) -> bytes:
    """RUN_STARTED with the thread and run ids of the request this socket read."""
    body = RECEIVED.get(sock.fileno(), b"").partition(b"\r\n\r\n")[2]
    try:
        request = json.loads(body)
    except ValueError:
        request = {}
    event = {
        "type": "RUN_STARTED",
        "threadId": request.get("threadId", "t"),
        "runId": request.get("runId", "r"),
        "protocolVersion": "1.1",
    }
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def _read_request(sock: socket.socket) -> bytes:
    """The request: headers, then the body up to its Content-Length (bounded)."""
    data = sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = min(int(value.strip()), 1 << 20)
    while len(body) < length:
        more = sock.recv(65536)
        if not more:
            break
        body += more
        data += more
    return data


@contextlib.contextmanager
def hostile(handler: Callable[[socket.socket], None]) -> Iterator[str]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(10)
            with contextlib.suppress(OSError):
                # the request (headers + a small body)
                RECEIVED[self.request.fileno()] = _read_request(self.request)
                handler(self.request)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
RUN_STARTED = b'data: {"type":"RUN_STARTED","threadId":"t","runId":"r","protocolVersion":"1.1"}\n\n'


def never_answers(sock: socket.socket) -> None:
    time.sleep(8)


def one_byte_a_second(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD + echoed_run_started(sock))
    for _ in range(8):
        time.sleep(0.5)
        sock.sendall(b":")


def closes_mid_frame(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD + RUN_STARTED + b'data: {"type":"TEXT_MESSAGE_START","mess')


def html_500(sock: socket.socket) -> None:
    page = (
        b"<!DOCTYPE html><html><body><h1>Internal Server Error</h1>"
        b"Traceback (most recent call last)</body></html>"
    )
    sock.sendall(
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\n"
        b"Content-Length: " + str(len(page)).encode() + b"\r\nConnection: close\r\n\r\n" + page
    )


def endless(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD + echoed_run_started(sock))
    chunk = (
        b'data: {"type":"CUSTOM","name":"com.example.flood","value":"' + b"x" * 60_000 + b'"}\n\n'
    )
    for _ in range(2000):  # bounded: at most ~120 MB, the harness stops far earlier
        sock.sendall(chunk)


def empty_stream(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD)  # and closes: an event stream without any event


def compressed_flood(sock: socket.socket) -> None:
    """gzip, flushed per event, of an endless stream: ~100 bytes on the wire per 60 KB event
    (a decompression bomb; the size cap counts decoded bytes)."""
    import zlib

    encoder = zlib.compressobj(wbits=31)
    head = SSE_HEAD.replace(b"Connection:", b"Content-Encoding: gzip\r\nConnection:")
    started = echoed_run_started(sock)
    sock.sendall(head + encoder.compress(started) + encoder.flush(zlib.Z_SYNC_FLUSH))
    chunk = (
        b'data: {"type":"CUSTOM","name":"com.example.flood","value":"' + b"x" * 60_000 + b'"}\n\n'
    )
    for _ in range(20_000):  # bounded: ~1.2 GB decoded, the harness stops far earlier
        sock.sendall(encoder.compress(chunk) + encoder.flush(zlib.Z_SYNC_FLUSH))


# name, handler, the rules it must draw, the case's status. A cut of ours (the size cap)
# draws the harness's info finding alone: the half-read frame and the missing terminal
# event are not the agent's; a deadline cut is agent-unresponsive alone.
HOSTILE = [
    ("never-answers", never_answers, {"agent-unresponsive"}, "failed"),
    ("empty-stream", empty_stream, {"stream-truncated"}, "failed"),
    ("compressed-flood", compressed_flood, {"transport-too-large"}, "inconclusive"),
    ("one-byte-a-second", one_byte_a_second, {"agent-unresponsive"}, "failed"),
    ("closes-mid-frame", closes_mid_frame, {"stream-truncated"}, "failed"),
    ("html-500", html_500, {"http-status"}, "failed"),
    ("endless-body", endless, {"transport-too-large"}, "inconclusive"),
]


@pytest.mark.parametrize(
    ("name", "handler", "expected", "status"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
def test_hostile_server_ends_as_a_finding_within_the_deadlines(
    name: str, handler: Callable[[socket.socket], None], expected: set[str], status: str
) -> None:
    case = next(c for c in load_cases() if c.id == "minimal-input")
    import tracemalloc

    tracemalloc.start()
    started = time.monotonic()
    with hostile(handler) as url:
        results = suite(url, cases=[case], deadlines=FAST, max_bytes=2 << 20)
    elapsed = time.monotonic() - started
    html = to_html(Report(tool=ToolInfo(version="0"), target=url, profile="spec", cases=results))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rules = {f.rule for f in results[0].findings}
    assert expected <= rules, (name, rules)
    assert results[0].status == status, (name, results[0].status, results[0].reason)
    if status == "inconclusive" or "agent-unresponsive" in expected:  # our cut: only ours
        assert rules == expected, (name, rules)
    assert elapsed < FAST.total + 3, f"{name} took {elapsed:.1f} s"
    assert peak < 64 << 20, f"{name} peaked at {peak / 1e6:.0f} MB"
    assert all(f'class="finding" data-rule="{rule}"' in html for rule in expected)


def test_refused_connection_mid_suite_is_the_agents_failure_not_ours() -> None:
    """Past preflight (which ends a run on an unreachable target with exit 2), an agent
    that stops accepting connections is unresponsive: a failed case, never passed, never
    our harness error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    case = next(c for c in load_cases() if c.id == "minimal-input")
    result = suite(f"http://127.0.0.1:{port}/", cases=[case], deadlines=FAST)[0]
    assert result.status == "failed"
    assert [f.rule for f in result.findings] == ["agent-unresponsive"]
    assert "No connection could be made" in result.findings[0].message
    assert result.runs[0].exercised == []


# ------------------------------------------------------------------ the CLI


def test_run_command_against_the_reference_agent(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    outcome = CliRunner().invoke(
        main, ["run", "--json", str(report), "--html", str(tmp_path / "r.html")]
    )
    assert outcome.exit_code == 0, outcome.output
    assert "target: the reference agent" in outcome.output
    data = json.loads(report.read_text())
    assert {c["status"] for c in data["cases"]} <= {"passed", "not-applicable"}
    assert len(data["cases"]) == len(load_cases()) + 2  # + generated-inputs, capabilities


def test_run_command_fails_on_a_faulty_agent_and_hides_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGENT_TOKEN", "Bearer very-secret-value")
    report = tmp_path / "report.json"
    with running_agent(AgentConfig(fault="wrong-run-id", token="very-secret-value")) as agent:
        outcome = CliRunner().invoke(
            main,
            [
                "run",
                "--agent-url",
                agent.url,
                "--agent-header",
                "Authorization: env:AGENT_TOKEN",
                "--json",
                str(report),
                "--html",
                str(tmp_path / "r.html"),
                "-k",
                "minimal",
            ],
        )
    # the credentials pass the preflight; the fault breaks identity-run-id-echo -> exit 1
    assert outcome.exit_code == 1, outcome.output
    assert "identity-run-id-echo" in report.read_text()
    assert "very-secret-value" not in outcome.output
    assert "very-secret-value" not in report.read_text()
    assert "very-secret-value" not in (tmp_path / "r.html").read_text()


def test_run_command_bad_header_is_a_usage_error() -> None:
    outcome = CliRunner().invoke(main, ["run", "--agent-header", "no-colon-here"])
    assert outcome.exit_code == 2
    assert "Name: value" in outcome.output


# ------------------------------------------------------------------ generated inputs


def test_generated_inputs_pass_against_the_reference_agent() -> None:
    from agui_conformance.generated import run_generated

    with running_agent() as agent:
        result = run_generated(RunnerConfig(url=agent.url), examples=40, seed=11)
    assert result.status == "passed", (result.reason, result.findings)


def test_generated_failure_is_shrunk_with_seed_and_curl_reproducer() -> None:
    from agui_conformance.generated import run_generated

    with running_agent(AgentConfig(fault="no-protocol-version", token="zz-secret")) as agent:
        cfg = RunnerConfig(url=agent.url, headers={"Authorization": "Bearer zz-secret"})
        first = run_generated(cfg, examples=10, seed=99)
        again = run_generated(cfg, examples=10, seed=99)
    assert first.status == "failed"
    assert "seed 99" in first.reason and "--seed 99" in first.reason
    curl = first.runs[0].reproducer
    assert curl is not None and curl.startswith("curl -N -X POST")
    assert "$AGUI_AUTHORIZATION" in curl and "zz-secret" not in curl
    assert "zz-secret" not in json.dumps(as_data(first))
    assert {f.rule for f in first.findings} == {"version-missing"}
    # shrunk: the minimal input is as small as the strategy allows
    minimal = first.runs[0].request.input
    assert minimal is not None
    assert len(minimal["messages"]) == 1 and set(minimal) <= {
        "threadId",
        "runId",
        "messages",
        "protocolVersion",
    }
    # same seed, same minimal example (ids aside)
    strip = {k: v for k, v in minimal.items() if k not in ("threadId", "runId")}
    other = {
        k: v
        for k, v in (again.runs[0].request.input or {}).items()
        if k not in ("threadId", "runId")
    }
    assert strip == other


def test_generated_inputs_are_valid_run_agent_inputs() -> None:
    from hypothesis import HealthCheck, given, settings

    from agui_conformance.schema import get_checker
    from agui_conformance.strategies import run_agent_inputs

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(run_agent_inputs())
    def check(body: dict[str, object]) -> None:
        assert get_checker().check_input(body) == []

    check()


def test_junit_report_names_rules_and_skips_not_applicable(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    junit = tmp_path / "junit.xml"
    with running_agent(AgentConfig(fault="no-protocol-version")) as agent:
        outcome = CliRunner().invoke(
            main,
            [
                "run",
                "--agent-url",
                agent.url,
                "--examples",
                "0",
                "--junit",
                str(junit),
                "--no-html",
            ],
        )
    assert outcome.exit_code == 1
    suite_el = ET.parse(junit).getroot().find("testsuite")
    assert suite_el is not None
    assert int(suite_el.get("tests", "0")) == len(load_cases())
    assert int(suite_el.get("skipped", "0")) == 3  # auth probes, the opt-in history check
    failures = suite_el.findall("testcase/failure")
    assert failures and int(suite_el.get("failures", "0")) == len(failures)
    assert {f.get("type") for f in failures} == {"version-missing"}
    assert all("fix: " in (f.text or "") for f in failures)


RUN_FINISHED = b'data: {"type":"RUN_FINISHED","threadId":"t","runId":"r"}\n\n'


def pause_then_finish(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD + RUN_STARTED)
    time.sleep(1.0)
    sock.sendall(RUN_FINISHED)


def pause_with_comments(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD + RUN_STARTED)
    for _ in range(5):
        time.sleep(0.2)
        sock.sendall(b": keep-alive\n\n")
    sock.sendall(RUN_FINISHED)


def test_transport_measures_silence_and_comments_break_it() -> None:
    """The keep-alive check reads the longest stretch with no byte at all: a silent pause
    counts, the same pause filled with SSE comments does not."""
    from agui_conformance.transport import exchange

    patient = Deadlines(connect=2.0, first_byte=2.0, idle=4.0, total=8.0, linger=1.0)
    with hostile(pause_then_finish) as url:
        silent = asyncio.run(exchange(url, b"{}", deadlines=patient))
    with hostile(pause_with_comments) as url:
        chatty = asyncio.run(exchange(url, b"{}", deadlines=patient))
    assert silent.ending == chatty.ending == "complete"
    assert len(silent.frames) == len(chatty.frames) == 2
    assert silent.silence >= 0.9 and silent.silence_after == 0
    assert chatty.silence < 0.6


def headers_then_nothing(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD)
    time.sleep(3)


def started_then_silent(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD + RUN_STARTED)
    time.sleep(3)


def finished_then_open(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD + RUN_STARTED + RUN_FINISHED)
    time.sleep(3)


def comments_forever(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD + RUN_STARTED)
    for _ in range(40):
        time.sleep(0.1)
        sock.sendall(b": still here\n\n")


def slow_but_steady(sock: socket.socket) -> None:
    """An event every 0.3 s for 1.5 s: never idle for the 0.6 s deadline, though the
    stream outlives the deadline many times over (the deadline must move with each byte)."""
    sock.sendall(SSE_HEAD + RUN_STARTED)
    for _ in range(5):
        time.sleep(0.3)
        sock.sendall(b": tick\n\n")
    sock.sendall(RUN_FINISHED)


TIGHT = Deadlines(connect=1.0, first_byte=0.6, idle=0.6, total=2.0, linger=0.3)
ENDINGS = [
    (never_answers, "first-byte-timeout", 0.6),  # no headers
    (headers_then_nothing, "first-byte-timeout", 0.6),  # headers, no body
    (started_then_silent, "idle-timeout", 0.6),
    (finished_then_open, "lingered", 0.3),
    (comments_forever, "total-timeout", 2.0),
    (slow_but_steady, "complete", 1.5),
]


@pytest.mark.parametrize(("handler", "ending", "after"), ENDINGS, ids=[e[1] for e in ENDINGS])
def test_each_deadline_ends_the_exchange_on_time(
    handler: Callable[[socket.socket], None], ending: str, after: float
) -> None:
    from agui_conformance.transport import exchange

    with hostile(handler) as url:
        record = asyncio.run(exchange(url, b"{}", deadlines=TIGHT))
    assert record.ending == ending
    assert after - 0.05 <= record.ended_at < after + 0.5, record.ended_at
    assert record.harness_error is None


def custom_then_silent(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD + b'data: {"type":"CUSTOM","name":"x","value":1}\n\n')
    time.sleep(3)


def comment_then_silent(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD + b": hello\n\n")
    time.sleep(3)


@pytest.mark.parametrize("handler", [custom_then_silent, comment_then_silent])
def test_the_idle_deadline_takes_over_after_the_first_byte(
    handler: Callable[[socket.socket], None],
) -> None:
    """A first byte that is not a run event (an event, a comment) still ends the first-byte
    wait: a shorter idle deadline applies from then on."""
    from agui_conformance.transport import exchange

    patient_start = Deadlines(connect=1.0, first_byte=2.5, idle=0.4, total=4.0, linger=0.3)
    with hostile(handler) as url:
        record = asyncio.run(exchange(url, b"{}", deadlines=patient_start))
    assert record.ending == "idle-timeout"
    assert record.ended_at < 1.0, record.ended_at


def test_a_cancellation_from_outside_is_not_taken_for_a_deadline() -> None:
    """The read deadline absorbs only its own cancellation: a caller's timeout around the
    exchange still cancels it, even while a read is pending."""
    from agui_conformance.transport import exchange

    async def impatient(url: str) -> None:
        await asyncio.wait_for(exchange(url, b"{}", deadlines=TIGHT), timeout=0.3)

    with hostile(started_then_silent) as url, pytest.raises(TimeoutError):
        asyncio.run(impatient(url))


def finished_and_closed(sock: socket.socket) -> None:
    sock.sendall(SSE_HEAD + RUN_STARTED + RUN_FINISHED)


CLOSINGS = [  # (closing takes, ending, closed): the linger deadline is 0.3 s, the total 2 s
    (TIGHT.linger * 2, "complete", True),
    (TIGHT.total * 3, "total-timeout", False),  # a close that hangs: the total still holds
]


@pytest.mark.parametrize("shared_client", [True, False], ids=["shared-client", "own-client"])
@pytest.mark.parametrize(("takes", "ending", "closes"), CLOSINGS, ids=["slow", "hangs"])
def test_only_the_total_deadline_applies_while_the_response_closes(
    monkeypatch: pytest.MonkeyPatch, shared_client: bool, takes: float, ending: str, closes: bool
) -> None:
    """The body ended in time; closing the response is local work, so a wait deadline that
    falls due while it runs must neither cut the close short (the connection would never go
    back to the pool) nor report the stream as lingering, nor leave a cancellation pending
    on the caller's task. A close that never ends is still cut at the total deadline."""
    import httpx

    from agui_conformance.transport import exchange, new_client

    closed: list[bool] = []
    original = httpx.Response.aclose

    async def slow_close(self: httpx.Response) -> None:
        stream_close = self.stream.aclose  # type: ignore[union-attr]

        async def slowly() -> None:  # after the response is marked closed, as in httpx
            await asyncio.sleep(takes)
            await stream_close()
            closed.append(True)

        self.stream.aclose = slowly  # type: ignore[union-attr]
        await original(self)

    monkeypatch.setattr(httpx.Response, "aclose", slow_close)

    async def main(url: str) -> tuple[str, int, float]:
        if shared_client:
            async with new_client(TIGHT) as client:
                record = await exchange(url, b"{}", deadlines=TIGHT, client=client)
        else:
            record = await exchange(url, b"{}", deadlines=TIGHT)
        await asyncio.sleep(0.05)  # a cancellation left pending would land here
        return record.ending, len(record.frames), record.ended_at

    with hostile(finished_and_closed) as url:
        got_ending, frames, ended_at = asyncio.run(main(url))
    assert (got_ending, frames) == (ending, 2)
    assert ended_at < min(takes, TIGHT.total) + 0.5, ended_at
    assert closed == ([True] if closes else [])


COMPRESSED_RUN = (
    b'data: {"type":"RUN_STARTED","threadId":"t","runId":"r","protocolVersion":"1.1"}\n\n'
    b'data: {"type":"TEXT_MESSAGE_START","messageId":"m","role":"assistant"}\n\n'
    b'data: {"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"hi \xc3\xa9"}\n\n'
    b'data: {"type":"TEXT_MESSAGE_END","messageId":"m"}\n\n'
    b'data: {"type":"RUN_FINISHED","threadId":"t","runId":"r"}\n\n'
)


def _deflate(data: bytes) -> bytes:
    import zlib

    return zlib.compress(data)


def _gzip_flushed_per_event(data: bytes) -> bytes:
    """gzip as a streaming server writes it: one sync-flushed block per event."""
    import zlib

    encoder = zlib.compressobj(wbits=31)
    events = [e + b"\n\n" for e in data.split(b"\n\n") if e]
    return b"".join(encoder.compress(e) + encoder.flush(zlib.Z_SYNC_FLUSH) for e in events) + (
        encoder.flush()
    )


def _compressed(coding: str, body: bytes) -> Callable[[socket.socket], None]:
    def handler(sock: socket.socket) -> None:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            f"Content-Encoding: {coding}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode() + body)

    return handler


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", _gzip_flushed_per_event),
        ("GZIP", _gzip_flushed_per_event),  # codings are case-insensitive
        ("deflate", _deflate),
        ("identity", lambda body: body),
    ],
    ids=["gzip", "gzip-upper-case", "deflate", "identity"],
)
def test_a_compressed_stream_is_read_as_its_clients_read_it(
    coding: str, encode: Callable[[bytes], bytes]
) -> None:
    """HTTP clients (browsers, httpx, undici) ask for gzip and decode a Content-Encoding
    transparently, and so does the harness: SSE framing is checked on the decoded body, so
    a compressed answer draws no finding."""
    import asyncio

    from agui_conformance.runner import judge
    from agui_conformance.transport import exchange

    request = {"threadId": "t", "runId": "r", "messages": []}
    with hostile(_compressed(coding, encode(COMPRESSED_RUN))) as url:
        record = asyncio.run(exchange(url, b"{}", deadlines=TIGHT))
    assert (record.ending, record.framing, len(record.frames)) == ("complete", [], 5)
    assert record.raw_prefix == COMPRESSED_RUN  # what the report shows: the decoded body
    assert record.size == len(COMPRESSED_RUN)  # the size cap counts decoded bytes
    assert judge(record, request, "run", "spec") == []


def test_a_corrupt_compressed_stream_is_a_finding_not_a_crash() -> None:
    import asyncio
    import gzip

    from agui_conformance.runner import judge
    from agui_conformance.transport import exchange

    good = gzip.compress(COMPRESSED_RUN)
    corrupt = good[:40] + bytes(b ^ 0x5A for b in good[40:])
    with hostile(_compressed("gzip", corrupt)) as url:
        record = asyncio.run(exchange(url, b"{}", deadlines=TIGHT))
    assert record.ending == "undecodable"
    assert record.harness_error is None
    findings = judge(record, {"threadId": "t", "runId": "r", "messages": []}, "run", "spec")
    assert any("gzip" in f.message and "decoded" in f.message for f in findings), findings


def test_a_redirect_says_where_it_points_without_secrets() -> None:
    """The harness follows no redirect (a POSTed run is not replayed elsewhere, nor its
    auth header sent there): the finding names the target, credentials redacted."""
    from agui_conformance.live import check_exchange
    from agui_conformance.transport import Exchange

    record = Exchange(
        url="http://agent.test/agui",
        request_headers={},
        body=b"{}",
        status=307,
        response_headers={"location": "https://user:pw@agent.test/agui/?api_key=s3cret"},
    )
    (hit,) = check_exchange(record, "run")
    assert hit.rule == "http-status"
    assert "answered 307: a redirect to 'https://***@agent.test/agui/?api_key=***'" in hit.message
    assert "s3cret" not in hit.message and "pw" not in hit.message


def test_judging_never_mutates_the_decoded_events_the_report_keeps() -> None:
    """Frames are parsed once per exchange and shared by the validator and the report: the
    validator must never change them (state and activity patches work on copies)."""

    from agui_conformance.runner import _events, judge
    from agui_conformance.transport import Exchange, TimedFrame

    stream = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
        {"type": "STATE_SNAPSHOT", "snapshot": {"cart": {"items": []}}},
        {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "/cart/items/-",
                                           "value": {"sku": "a", "qty": 1}}]},
        {"type": "STATE_DELTA", "delta": [{"op": "replace", "path": "/cart/items/0/qty",
                                           "value": 2}]},
        {"type": "ACTIVITY_SNAPSHOT", "messageId": "act", "activityType": "plan",
         "content": {"steps": [{"done": False}]}},
        {"type": "ACTIVITY_DELTA", "messageId": "act", "activityType": "plan",
         "patch": [{"op": "replace", "path": "/steps/0/done", "value": True}]},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]  # fmt: skip
    frames = [TimedFrame(i, i / 100, orjson.dumps(e)) for i, e in enumerate(stream)]
    record = Exchange(
        url="http://agent.test/", request_headers={}, body=b"", status=200,
        response_headers={"content-type": "text/event-stream"}, frames=frames,
        ended_at=0.1, first_byte_at=0.0,
    )  # fmt: skip
    events = _events(record)
    request = {"threadId": "t", "runId": "r", "messages": []}
    assert judge(record, request, "run", "spec", events=events) == []
    assert events == stream


@pytest.mark.parametrize("junk", [True, False], ids=["junk-frames", "objects-only"])
def test_judging_in_batches_equals_judging_frame_by_frame(junk: bool) -> None:
    """`judge` feeds runs of decoded objects as batches; a frame that is not JSON, one that
    is not an object, and a gap in the frame indexes break a run, and the findings stay
    exactly those of feeding every frame on its own."""

    from agui_conformance.runner import _events, judge
    from agui_conformance.transport import Exchange, TimedFrame
    from agui_conformance.validator import StreamValidator

    events = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "hi"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "x", "delta": "stray"},
        {"type": "TEXT_MESSAGE_END", "messageId": "m"},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]
    payloads = [orjson.dumps(e) for e in events]
    indexes = [0, 1, 2, 4, 5, 6]  # 3 is missing: a gap inside a run of objects
    if junk:
        payloads[2:2] = [b"{not json", b"[1, 2]"]
        indexes = [0, 1, 2, 3, 4, 6, 7, 8]
    frames = [TimedFrame(i, i / 100, p) for i, p in zip(indexes, payloads, strict=True)]
    record = Exchange(
        url="http://agent.test/", request_headers={}, body=b"", status=200,
        response_headers={"content-type": "text/event-stream"}, frames=frames,
        ended_at=0.1, first_byte_at=0.0,
    )  # fmt: skip
    request = {"threadId": "t", "runId": "r", "messages": []}
    batched = judge(record, request, "run", "spec", events=_events(record))

    one_by_one = StreamValidator(request=request, framing="sse", check_request=False)
    from agui_conformance import live

    one_by_one.add_hits(live.check_exchange(record, "run"))
    for frame in frames:
        one_by_one.feed_payload(frame.data, frame.index)
    one_by_one.add_hits(record.framing)
    one_by_one.close()
    expected = one_by_one.result().findings
    assert [(f.rule, f.index) for f in batched] == [(f.rule, f.index) for f in expected]
    assert ("sse-data-not-one-event" in {f.rule for f in batched}) is junk
    assert any(f.index == indexes[-3] for f in batched)  # the stray delta, after the gap


# A crash ends every run in RUN_ERROR, which also refuses the resume case's tolerated input.
# the raw-exception fault answers every run with RUN_ERROR: on valid inputs that is also the
# agent's own failure (agent-error), and on the tolerated inputs (resume, unusable parts,
# unresolvable file handles) a refusal
BLEEDS = {
    "raw-exception": {
        "resume-unknown-interrupt-refused",
        "input-unusable-part-refused",
        "input-file-handle-refused",
        "input-unknown-member-refused",
        "run-error-on-valid-input",
        "stateless-continuation-refused",
        "empty-history-run-error",
    }
}


@pytest.mark.parametrize("name", sorted(n for n, f in FAULTS.items() if not f.live))
def test_a_fault_served_to_the_whole_suite_breaks_only_its_rule(name: str) -> None:
    """`serve --fault NAME` against every case: runs the fault cannot break are served
    as they are, so nothing but its own rule (and its declared notes) shows up."""
    fault = FAULTS[name]
    with running_agent(AgentConfig(fault=name)) as agent:
        results = suite(agent.url, cases=list(load_cases()), profile=fault.profile)
    rules = {f.rule for r in results for f in r.findings}
    assert rules - {fault.rule} - fault.also - BLEEDS.get(name, set()) == set(), rules


def test_running_a_coroutine_never_formats_its_result() -> None:
    """`asyncio.run` may format the main task's repr, result included, on its way out; a
    suite's results are big, so `aio.run` keeps the result out of the task."""
    from agui_conformance import aio

    formatted: list[bool] = []

    class Big:
        def __repr__(self) -> str:
            formatted.append(True)
            return "Big()"

    async def produce() -> Big:
        return Big()

    result = aio.run(produce())
    assert isinstance(result, Big)
    assert formatted == []
