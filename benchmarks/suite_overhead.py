"""The suite's own overhead against the reference agent: not a test, a report.

Starts `agui-conformance serve` in its own process (so its work is not ours),
runs every case R times, and splits the wall time into: time inside our
checks (`runner.judge`: live checks + validation of every event; `runner._record`: the
report's transcript record and what each exchange exercised), other CPU
time of this process (HTTP client, SSE parsing, case building), and the rest,
waiting on the agent. Target: our checks add under 10% to the agent's time.

    python benchmarks/suite_overhead.py [--rounds 3] [--examples 25]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agui_conformance import runner
from agui_conformance.cases import load_cases
from reference_agent.server import spawned_agent

spent = {"judge": 0.0, "record": 0.0}
_judge = runner.judge
_record = runner._record
_events = runner._events


def timed_events(*args: Any, **kwargs: Any) -> Any:
    start = time.thread_time()
    try:
        return _events(*args, **kwargs)
    finally:
        spent["judge"] += time.thread_time() - start  # parsing the frames is part of checking


def timed_judge(*args: Any, **kwargs: Any) -> Any:
    start = time.thread_time()
    try:
        return _judge(*args, **kwargs)
    finally:
        spent["judge"] += time.thread_time() - start


def timed_record(*args: Any, **kwargs: Any) -> Any:
    start = time.thread_time()
    try:
        return _record(*args, **kwargs)
    finally:
        spent["record"] += time.thread_time() - start


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--examples", type=int, default=25)
    args = parser.parse_args()
    runner.judge = timed_judge  # type: ignore[assignment]
    runner._record = timed_record  # type: ignore[assignment]
    runner._events = timed_events  # type: ignore[assignment]

    with spawned_agent() as server:
        url = server.url
        cases = list(load_cases())
        cfg = runner.RunnerConfig(url=url)
        agent_start = cpu_seconds(server.pid)
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(args.rounds):
            before = spent["judge"] + spent["record"], cpu_seconds(server.pid)
            results = asyncio.run(runner.run_suite(cases, cfg))
            assert {r.status for r in results} <= {"passed", "not-applicable"}
            if args.examples:
                generated = runner.run_generated(cfg, args.examples, seed=1)
                assert generated.status == "passed", generated.reason
            ours = spent["judge"] + spent["record"] - before[0]
            theirs = cpu_seconds(server.pid) - before[1]
            print(f"  round: ours {ours:.3f} s, agent {theirs:.3f} s")
        wall = time.perf_counter() - wall_start
        cpu = time.process_time() - cpu_start
        agent = cpu_seconds(server.pid) - agent_start
    judge = spent["judge"] + spent["record"]
    share = 100 * judge / max(agent, 1e-9)
    print(f"{args.rounds} rounds of {len(cases)} cases + {args.examples} generated inputs")
    print(f"  wall time                      {wall:7.2f} s")
    print(f"  the agent's own CPU time       {agent:7.2f} s")
    print(f"  our checks + report records    {judge:7.2f} s  = {share:5.1f}% of the agent's time")
    print(f"    (parse + judge {spent['judge']:.2f} s, report records {spent['record']:.2f} s)")
    print(
        f"  the rest of the client's CPU   {cpu - judge:7.2f} s  (HTTP client, SSE framing, "
        "request building, hypothesis)"
    )


if __name__ == "__main__":
    main()
