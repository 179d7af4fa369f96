"""What the live proxy adds to a stream: not a test, a report.

Four processes: an upstream agent (this script with `--serve-upstream`) that streams valid
AG-UI runs and stamps each event with the moment it was written (`time.monotonic_ns()`,
one clock for every process on the machine; each stream at its own phase of the gap, as
independent users' streams are), `agui-conformance proxy` in front of it
(judging every run, as it does for users), a bare TCP relay in front of it (this script with
`--serve-relay`: bytes in, the same bytes out, no HTTP; the floor any proxy in Python on
asyncio pays for the extra hop), and this process as the client. In the same run, in turns,
the client reads the same streams directly, through the proxy and through the relay, at each
level of concurrency; per event, the latency is arrival minus stamp. Added time to first
byte and added per-event delay (p50, p99) are each path's numbers minus the direct ones.
Target: under 1 ms p99 per event at 50 concurrent streams.

    python benchmarks/proxy_overhead.py [--streams 1,50] [--events 100] [--gap-ms 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import h11
import httpx
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------- the upstream


def upstream_app(events: int, gap: float) -> FastAPI:
    app = FastAPI()

    def frame(event: dict[str, Any]) -> bytes:
        return b"data: " + orjson.dumps(event) + b"\n\n"

    @app.post("/")
    async def run(request: Request) -> StreamingResponse:
        body = orjson.loads(await request.body())
        thread, run_id = body["threadId"], body["runId"]
        message = f"m-{run_id}"

        async def stream() -> AsyncIterator[bytes]:
            yield frame({"type": "RUN_STARTED", "threadId": thread, "runId": run_id})
            yield frame({"type": "TEXT_MESSAGE_START", "messageId": message, "role": "assistant"})
            # streams of real users do not tick together: each starts at its own phase
            await asyncio.sleep(gap * (zlib.crc32(run_id.encode()) % 1000) / 1000)
            for _ in range(events):
                await asyncio.sleep(gap)
                stamp = str(time.monotonic_ns())
                yield frame({"type": "TEXT_MESSAGE_CONTENT", "messageId": message, "delta": stamp})
            yield frame({"type": "TEXT_MESSAGE_END", "messageId": message})
            yield frame({"type": "RUN_FINISHED", "threadId": thread, "runId": run_id})

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


def serve_upstream(port: int, events: int, gap: float) -> None:
    import uvicorn

    app = upstream_app(events, gap)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------- the floor: a bare relay


class _Pipe(asyncio.Protocol):
    """One side of a TCP relay: what it receives, the other side's transport writes (no
    flow control: the streams here are small)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None
        self.peer.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            self.peer.close()


class _Front(_Pipe):
    """The client's side: reading waits until the upstream connection is open."""

    def __init__(self, upstream_port: int) -> None:
        super().__init__()
        self.upstream_port = upstream_port
        self.opening: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.pause_reading()
        self.opening = asyncio.ensure_future(self._open())

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        back_transport, back = await loop.create_connection(_Pipe, "127.0.0.1", self.upstream_port)
        assert self.transport is not None
        back.peer, self.peer = self.transport, back_transport
        self.transport.resume_reading()


def serve_relay(port: int, upstream_port: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Front(upstream_port), "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# ---------------------------------------------------------------- processes


@contextlib.contextmanager
def spawned(command: list[str], ready: str) -> Iterator[subprocess.Popen[bytes]]:
    """`command` in its own process, its output to a file; up once `ready` answers."""
    handle, name = tempfile.mkstemp(prefix="proxy-bench-", suffix=".log")
    with os.fdopen(handle, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(ready, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = Path(name).read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{command[:4]} did not start:\n{log}") from None
                time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        Path(name).unlink(missing_ok=True)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(pid: int) -> float:
    """CPU time of `pid`'s live child processes (the proxy's judging process)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return total


# ---------------------------------------------------------------- the client


class _Stream(asyncio.Protocol):
    """One stream, read as the measuring instrument should: each chunk stamped with its
    arrival in `data_received` and kept, nothing parsed until every stream of the turn has
    ended (so no stream's work delays another's reading). The request says
    `Connection: close`: each stream is one user's connection, ended by the server."""

    def __init__(self, request: bytes, done: asyncio.Future[None]) -> None:
        self.request = request
        self.done = done
        self.sent = 0
        self.arrivals: list[tuple[int, bytes]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.sent = time.monotonic_ns()
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.arrivals.append((time.monotonic_ns(), data))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


def request_bytes(host: str, port: int, run: str) -> bytes:
    body = orjson.dumps(
        {
            "threadId": f"t-{run}",
            "runId": run,
            "messages": [{"id": "u", "role": "user", "content": "hi"}],
        }
    )
    head = (
        f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def one_stream(host: str, port: int, run: str) -> _Stream:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    transport, stream = await loop.create_connection(
        lambda: _Stream(request_bytes(host, port, run), done), host, port
    )
    try:
        await asyncio.wait_for(done, 120)
    finally:
        transport.close()
    return stream


def events_of(stream: _Stream) -> tuple[float, list[tuple[int, float]]]:
    """Time to first byte (ms), and each stamped event as (stamp ns, latency ms): the
    answer parsed by h11 chunk by chunk, a frame dated by the chunk that completed it."""
    conn = h11.Connection(h11.CLIENT)
    head = [("Host", "x"), ("Content-Length", "0")]
    conn.send(h11.Request(method="POST", target="/", headers=head))
    conn.send(h11.EndOfMessage())
    stamped: list[tuple[int, float]] = []
    pending = b""
    for at, chunk in stream.arrivals:
        conn.receive_data(chunk)
        while (event := conn.next_event()) not in (h11.NEED_DATA, h11.PAUSED):
            if isinstance(event, h11.Data):
                pending += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        *frames, pending = pending.split(b"\n\n")
        for frame in frames:
            event = orjson.loads(frame[6:])
            if event.get("type") == "TEXT_MESSAGE_CONTENT":
                stamp = int(event["delta"])
                stamped.append((stamp, (at - stamp) / 1e6))
    if not stream.arrivals:
        raise RuntimeError("a stream ended without a byte")
    return (stream.arrivals[0][0] - stream.sent) / 1e6, stamped


async def measure(
    url: str, users: int, rounds_per_user: int, stream_time: float, burst: bool
) -> tuple[list[float], list[float], int]:
    """`users` concurrent users. Burst: each sends one stream, all at the same moment (every
    stream also ends within one gap of the others). Steady (the default): each user sends
    `rounds_per_user` streams back to back, user i starting i/users of a stream's time after
    the first, so starts and ends are spread as independent users' are; only events stamped
    while every user was streaming count. Returns TTFBs, latencies (ms), all events read."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    tag = f"{time.monotonic_ns()}"

    async def user(n: int) -> list[_Stream]:
        if burst:
            return [await one_stream(host, port, f"{tag}-{n}")]
        await asyncio.sleep(n * stream_time / users)
        return [await one_stream(host, port, f"{tag}-{n}-{k}") for k in range(rounds_per_user)]

    began = time.monotonic_ns()
    streams = [s for each in await asyncio.gather(*(user(n) for n in range(users))) for s in each]
    ttfbs: list[float] = []
    latencies: list[float] = []
    total = 0
    # steady: the window in which every user has a stream open (all started, none finished)
    low = began + int(stream_time * 1e9) if not burst else 0
    high = began + int((rounds_per_user * stream_time) * 1e9) if not burst else 1 << 62
    for stream in streams:
        ttfb, stamped = events_of(stream)
        ttfbs.append(ttfb)
        total += len(stamped)
        latencies.extend(lat for stamp, lat in stamped if low <= stamp < high)
    return ttfbs, latencies, total


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", default="1,50", help="concurrency levels, comma-separated")
    parser.add_argument("--events", type=int, default=100, help="stamped events per stream")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="upstream gap between events")
    parser.add_argument("--rounds", type=int, default=3, help="turns per path and level")
    parser.add_argument(
        "--burst",
        action="store_true",
        help="every user's one stream at the same moment (starts and ends together) instead of "
        "steady traffic (users' streams back to back, starts spread)",
    )
    parser.add_argument(
        "--per-user", type=int, default=3, help="streams per user, back to back (steady traffic)"
    )
    parser.add_argument("--serve-upstream", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-relay", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream, args.events, args.gap_ms / 1000)
        return
    if args.serve_relay:
        serve_relay(*args.serve_relay)
        return
    levels = [int(n) for n in args.streams.split(",")]
    up, px, rl = free_port(), free_port(), free_port()
    upstream = f"http://127.0.0.1:{up}/"
    proxy = f"http://127.0.0.1:{px}/"
    relay = f"http://127.0.0.1:{rl}/"
    me = [sys.executable, __file__, "--events", str(args.events), "--gap-ms", str(args.gap_ms)]
    proxy_cmd = [sys.executable, "-m", "agui_conformance.cli", "proxy", "--upstream", upstream]
    with (
        spawned([*me, "--serve-upstream", str(up)], upstream + "docs"),
        spawned([*proxy_cmd, "--listen", f"127.0.0.1:{px}"], proxy + "_agui/report.json") as p,
        spawned([*me, "--serve-relay", str(rl), str(up)], relay + "docs") as r,
    ):
        paths = {"direct": (upstream, 0), "proxy": (proxy, p.pid), "relay": (relay, r.pid)}
        stream_time = args.events * args.gap_ms / 1000
        for url, _ in paths.values():
            asyncio.run(measure(url, 2, 1, stream_time, True))
        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(
            f"{args.events} stamped events per stream, {args.gap_ms:g} ms apart; "
            f"{args.rounds} round(s) per path and level, in turns; "
            + (
                "burst: every stream starts at once"
                if args.burst
                else f"steady: {args.per_user} streams per user back to back, starts spread, "
                "events counted while every user streams"
            )
            + "; proxy judging every run; "
            f"{os.cpu_count()} CPUs, load average {load}"
        )
        print(
            f"{'streams':>7} | {'path':>5} | {'TTFB p50 direct':>15} | {'added TTFB p50':>14} | "
            f"{'event p50 direct':>16} | {'added p50':>9} | {'event p99 direct':>16} | "
            f"{'added p99':>9} | CPU/event"
        )
        worst: dict[str, float] = {}  # the largest added p99 at 50 streams or more, per path
        for streams in levels:
            seen: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in paths}
            cpu = dict.fromkeys(paths, 0.0)
            judging = 0.0  # the proxy's judging child process
            forwarded = dict.fromkeys(paths, 0)
            burst = args.burst or streams == 1
            for _ in range(args.rounds):
                for name, (url, pid) in paths.items():
                    before = cpu_seconds(pid) if pid else 0.0
                    child = children_cpu_seconds(pid) if name == "proxy" else 0.0
                    ttfb, lat, total = asyncio.run(
                        measure(url, streams, args.per_user, stream_time, burst)
                    )
                    if pid:
                        cpu[name] += cpu_seconds(pid) - before
                    if name == "proxy":
                        time.sleep(0.2)  # the last runs judged
                        judging += children_cpu_seconds(pid) - child
                    seen[name][0].extend(ttfb)
                    seen[name][1].extend(lat)
                    forwarded[name] += total
            direct = seen["direct"]
            for name in ("proxy", "relay"):
                through = seen[name]
                added_ttfb = pct(through[0], 50) - pct(direct[0], 50)
                added50 = pct(through[1], 50) - pct(direct[1], 50)
                added99 = pct(through[1], 99) - pct(direct[1], 99)
                if streams >= 50:
                    worst[name] = max(worst.get(name, -1e9), added99)
                per_event = cpu[name] / max(1, forwarded[name]) * 1e6
                judged = judging / max(1, forwarded[name]) * 1e6 if name == "proxy" else 0
                print(
                    f"{streams:>7} | {name:>5} | {pct(direct[0], 50):>12.2f} ms | "
                    f"{added_ttfb:>11.2f} ms | {pct(direct[1], 50):>13.3f} ms | "
                    f"{added50:>6.3f} ms | {pct(direct[1], 99):>13.3f} ms | "
                    f"{added99:>6.3f} ms | {per_event:.0f} µs"
                    + (f" (+ {judged:.0f} µs judging)" if name == "proxy" else "")
                )
        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(f"load average at the end: {load}")
        if any(level >= 50 for level in levels):
            floor, ours = worst["relay"], worst["proxy"]
            if abs(floor) >= 1.0:  # the bare relay itself moved the p99 by a millisecond
                met = f"not judged here: the machine's noise (bare relay: {floor:+.3f} ms)"
            else:
                met = "met" if ours < 1.0 else "NOT met"
            print(f"target (< 1 ms added p99 per event at 50 streams): {met} ({ours:+.3f} ms)")


if __name__ == "__main__":
    main()
