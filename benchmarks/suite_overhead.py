"""The suite's own overhead against the reference agent: not a test, a report.

Serves the reference agent from its own process (its CPU time read from /proc;
or measures any agent already running, given its URL and process id)
and, in this process, gets the same answers from it three ways, in turns, round
after round:

- bare: the exact requests of a suite round (captured in a warm-up round), sent
  one after another with the same HTTP client (httpx), each body read and dropped;
- transport: the same requests through `transport.exchange`: SSE framing,
  deadlines, arrival times, no checks;
- suite: the suite itself: every case, then N generated inputs.

Differences of this process's CPU time split the suite's work: our transport
layer is transport - bare; decoding the events (`runner._events`, orjson), our
checks (`runner.judge`), the report's records (`runner._record`) and request
building (`build_body`, `follow_up`) are timed by thread CPU time (a call inside
another timed one counts for the outer); the rest of a suite round is extra
connections, the runner's bookkeeping and a colder HTTP client (cases), or
hypothesis drawing inputs (generated). "Our code" is the transport layer,
decoding, the checks, the records and request building; the HTTP client and
hypothesis are libraries, reported beside it, and so is all the suite adds
(suite - bare). Receiving and decoding alone (transport layer + decoding) is
printed too: what any Python client that checks nothing would still pay.
Target: our code under 10% of the agent's own CPU time.

    python benchmarks/suite_overhead.py [--rounds 15] [--examples 25]
    python benchmarks/suite_overhead.py --agent-url URL --agent-pid PID   # another agent
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from agui_conformance import aio, generated, runner, transport
from agui_conformance.cases import load_cases
from reference_agent.server import spawned_agent

Request = tuple[bytes, dict[str, str], int | None]  # body, headers, stop_after

checks = {"decode": 0.0, "judge": 0.0, "record": 0.0, "build": 0.0}
_timing: list[str] = []  # the timed call running now: a nested one counts for the outer
captured: list[Request] = []


def thread_timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        if _timing:
            return fn(*args, **kwargs)
        _timing.append(name)
        start = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            checks[name] += time.thread_time() - start
            _timing.pop()

    return timed


_exchange = transport.exchange


async def capturing_exchange(url: str, body: bytes, **kwargs: Any) -> transport.Exchange:
    captured.append((body, dict(kwargs.get("headers") or {}), kwargs.get("stop_after")))
    return await _exchange(url, body, **kwargs)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bare(url: str, requests: list[Request]) -> None:
    async with transport.new_client(transport.Deadlines()) as client:
        for body, headers, _ in requests:
            sent = {"Content-Type": "application/json", "Accept": transport.SSE_ACCEPT, **headers}
            with contextlib.suppress(httpx.TransportError):  # an agent that drops a request
                async with client.stream("POST", url, content=body, headers=sent) as response:
                    async for _chunk in response.aiter_raw():
                        pass


async def through_transport(url: str, requests: list[Request]) -> int:
    """The same requests through our transport; returns how many events arrived."""
    events = 0
    async with transport.new_client(transport.Deadlines()) as client:
        for body, headers, stop_after in requests:
            record = await transport.exchange(
                url, body, headers=headers, client=client, stop_after=stop_after
            )
            events += len(record.frames)
    return events


class Meter:
    """CPU of this process and of the agent, wall time, and our checks, per phase."""

    def __init__(self, agent_pid: int) -> None:
        self.pid = agent_pid
        self.samples: dict[str, list[dict[str, float]]] = {}

    def measure(self, phase: str, work: Callable[[], Any]) -> None:
        before_checks = checks["judge"] + checks["record"]
        before_build, before_decode = checks["build"], checks["decode"]
        agent, wall, cpu = cpu_seconds(self.pid), time.perf_counter(), time.process_time()
        work()
        sample = {
            "cpu": time.process_time() - cpu,
            "wall": time.perf_counter() - wall,
            "agent": cpu_seconds(self.pid) - agent,
            "checks": checks["judge"] + checks["record"] - before_checks,
            "build": checks["build"] - before_build,
            "decode": checks["decode"] - before_decode,
        }
        self.samples.setdefault(phase, []).append(sample)

    def median(self, phase: str, key: str) -> float:
        return statistics.median(s[key] for s in self.samples[phase])

    def mean(self, phase: str, key: str) -> float:
        return statistics.fmean(s[key] for s in self.samples[phase])

    def diff(self, phase: str, minus: str, key: str = "cpu") -> float:
        """Median over rounds of the per-round difference (rounds ran in turns)."""
        pairs = zip(self.samples[phase], self.samples[minus], strict=True)
        return statistics.median(a[key] - b[key] for a, b in pairs)

    def ours_per_round(self, kind: str) -> list[float]:
        """Our code in each round: transport - bare, plus checks, records and building."""
        rounds = zip(
            self.samples[f"{kind}: suite"],
            self.samples[f"{kind}: transport"],
            self.samples[f"{kind}: bare"],
            strict=True,
        )
        return [t["cpu"] - b["cpu"] + s["decode"] + s["checks"] + s["build"] for s, t, b in rounds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--examples", type=int, default=25)
    parser.add_argument(
        "--agent-url", help="Measure against an agent already running here, not the reference one"
    )
    parser.add_argument("--agent-pid", type=int, help="Its process id (its CPU is read from /proc)")
    args = parser.parse_args()
    if (args.agent_url is None) != (args.agent_pid is None):
        parser.error("--agent-url and --agent-pid go together")
    runner.judge = thread_timed("judge", runner.judge)  # type: ignore[assignment]
    runner._events = thread_timed("decode", runner._events)  # type: ignore[assignment]
    runner._record = thread_timed("record", runner._record)  # type: ignore[assignment]
    runner.build_body = thread_timed("build", runner.build_body)  # type: ignore[assignment]
    runner.follow_up = thread_timed("build", runner.follow_up)  # type: ignore[assignment]
    runner.exchange = capturing_exchange  # type: ignore[assignment]

    cases = list(load_cases())
    reference = args.agent_url is None
    with spawned_agent() if reference else contextlib.nullcontext() as server:
        url = server.url if server else args.agent_url
        pid = server.pid if server else args.agent_pid
        cfg = runner.RunnerConfig(url=url)

        def suite_cases() -> None:
            results = aio.run(runner.run_suite(cases, cfg))
            if reference:  # another agent may fail cases: its cost is what is measured
                assert {r.status for r in results} <= {"passed", "not-applicable"}

        def suite_generated() -> None:
            result = generated.run_generated(cfg, args.examples, seed=1)
            if reference:
                assert result.status == "passed", result.reason

        suite_cases()  # warm-up, and the requests the replays send
        case_requests = list(captured)
        captured.clear()
        suite_generated()
        generated_requests = list(captured)
        events = {
            "cases": asyncio.run(through_transport(url, case_requests)),
            "generated": asyncio.run(through_transport(url, generated_requests)),
        }
        meter = Meter(pid)
        for _ in range(args.rounds):
            meter.measure("cases: bare", lambda: asyncio.run(bare(url, case_requests)))
            meter.measure(
                "cases: transport", lambda: asyncio.run(through_transport(url, case_requests))
            )
            meter.measure("cases: suite", suite_cases)
            meter.measure("generated: bare", lambda: asyncio.run(bare(url, generated_requests)))
            meter.measure(
                "generated: transport",
                lambda: asyncio.run(through_transport(url, generated_requests)),
            )
            meter.measure("generated: suite", suite_generated)
    exchanges = {"cases": len(case_requests), "generated": len(generated_requests)}
    report(meter, args, len(cases), exchanges, events)


def report(
    meter: Meter,
    args: argparse.Namespace,
    n_cases: int,
    exchanges: dict[str, int],
    events: dict[str, int],
) -> None:
    ms = 1000.0
    print(
        f"{args.rounds} rounds in turns (bare, transport, suite); per round, medians "
        f"(the agent's CPU: a mean, /proc counts 10 ms ticks)."
    )
    ours_total = agent_total = floor_total = 0.0
    for kind in ("cases", "generated"):
        suite, trans, bare_ = f"{kind}: suite", f"{kind}: transport", f"{kind}: bare"
        measured = meter.mean(suite, "agent")
        agent = measured or 0.01 / args.rounds  # /proc counts 10 ms ticks: a short run reads 0
        layer = meter.diff(trans, bare_)
        decoded = meter.median(suite, "decode")
        checked = meter.median(suite, "checks")
        built = meter.median(suite, "build")
        rest = meter.diff(suite, trans) - decoded - checked - built
        ours = layer + decoded + checked + built
        ours_total += ours
        floor_total += layer + decoded
        agent_total += agent
        n = max(events[kind], 1)
        title = f"{n_cases} cases" if kind == "cases" else f"{args.examples} generated inputs"
        print(f"\n{title}: {exchanges[kind]} exchanges, {events[kind]} events")
        if not measured:
            print("  (the agent's CPU read 0 ticks: one is assumed, shares are lower bounds)")
        rows = [
            ("the agent's CPU", agent),
            ("the HTTP client (httpx), bare", meter.median(bare_, "cpu")),
            ("ours: transport (SSE framing, deadlines)", layer),
            ("ours: decoding events (orjson)", decoded),
            ("ours: checks + report records", checked),
            ("ours: building requests", built),
            ("our code", ours),
        ]
        for label, value in rows:
            print(f"  {label:42} {value * ms:7.1f} ms  {value * 1e6 / n:6.1f} us/event")
        rounds = meter.ours_per_round(kind)
        spread = ""
        if len(rounds) > 1:
            low, _, high = statistics.quantiles(rounds, n=4)
            spread = f"  (rounds' quartiles {100 * low / agent:.0f}-{100 * high / agent:.0f}%)"
        print(f"  our code / the agent's CPU                 {100 * ours / agent:6.1f}%{spread}")
        print(
            f"  of which receiving and decoding alone (no checks): "
            f"{100 * (layer + decoded) / agent:.1f}%"
        )
        other = (
            "connections for concurrent and cut runs, the runner's bookkeeping, the HTTP "
            "client running colder between our checks"
            if kind == "cases"
            else "hypothesis choosing the inputs, a library"
        )
        print(f"  the rest of a suite round ({other}): {rest * ms:.1f} ms")
        added = meter.diff(suite, bare_)
        print(
            f"  all the suite adds to a bare client's CPU: {added * ms:.1f} ms"
            f" = {100 * added / agent:.0f}% of the agent's"
        )
        bare_wall, suite_wall = meter.median(bare_, "wall"), meter.median(suite, "wall")
        print(
            f"  wall: bare {bare_wall * ms:.0f} ms, suite {suite_wall * ms:.0f} ms "
            f"(+{100 * (suite_wall / bare_wall - 1):.0f}%)"
        )
    share = 100 * ours_total / agent_total
    print(f"\nour code over the whole suite: {share:.1f}% of the agent's CPU (target: under 10%)")
    floor = 100 * floor_total / agent_total
    print(f"receiving and decoding the events alone, no checks: {floor:.1f}% of the agent's CPU")


if __name__ == "__main__":
    main()
