"""Load on the reference agent, loopback only and bounded: not a test, a report.

Starts `agui-conformance serve` in its own process on a free 127.0.0.1 port,
then for each of R rounds fires C concurrent runs of E events each (`long E-4`:
RUN_STARTED, a text message of E-4 deltas, RUN_FINISHED) and reads every stream
to its end. Prints runs/s, events/s, p50/p99 time to first event, errors (must
be 0), and the server's
resident memory after each round (should not grow round over round).

    python benchmarks/reference_agent_load.py [--concurrency 200] [--events 500] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reference_agent.server import spawned_agent


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one_run(client: httpx.AsyncClient, url: str, deltas: int) -> tuple[float, int]:
    body = {
        "threadId": f"t-{uuid.uuid4()}",
        "runId": f"r-{uuid.uuid4()}",
        "messages": [{"id": "u1", "role": "user", "content": f"long {deltas}"}],
    }
    start = time.perf_counter()
    first: float | None = None
    events = 0
    async with client.stream(
        "POST",
        url,
        content=orjson.dumps(body),
        headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
    ) as response:
        if response.status_code != 200:
            raise RuntimeError(f"status {response.status_code}")
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                events += 1
                if first is None:
                    first = time.perf_counter() - start
    if first is None or events != deltas + 4:
        raise RuntimeError(f"incomplete stream: {events} events")
    return first, events


async def round_(url: str, concurrency: int, deltas: int) -> tuple[float, list[float], int, int]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(60.0, connect=10.0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        start = time.perf_counter()
        results = await asyncio.gather(
            *(one_run(client, url, deltas) for _ in range(concurrency)), return_exceptions=True
        )
        elapsed = time.perf_counter() - start
    ttfe = [r[0] for r in results if isinstance(r, tuple)]
    events = sum(r[1] for r in results if isinstance(r, tuple))
    errors = sum(1 for r in results if isinstance(r, BaseException))
    return elapsed, ttfe, events, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--events", type=int, default=500, help="events per run")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with spawned_agent() as server:
        url = server.url
        print(f"reference agent pid {server.pid} on {url}; {os.cpu_count()} cores")
        print(f"{args.concurrency} concurrent runs x {args.events} events, {args.rounds} rounds")
        for n in range(1, args.rounds + 1):
            measured = asyncio.run(round_(url, args.concurrency, args.events - 4))
            elapsed, ttfe, events, errors = measured
            runs = len(ttfe)
            p50 = statistics.median(ttfe) * 1000 if ttfe else float("nan")
            p99 = (statistics.quantiles(ttfe, n=100)[98] * 1000) if len(ttfe) >= 2 else p50
            print(
                f"round {n}: {runs / elapsed:7.1f} runs/s  {events / elapsed:9.0f} events/s  "
                f"TTFE p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  errors {errors}  "
                f"server RSS {rss_mb(server.pid):6.1f} MB"
            )


if __name__ == "__main__":
    main()
