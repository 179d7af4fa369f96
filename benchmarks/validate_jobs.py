"""`validate` over many recordings: 1, 2 and N worker processes (`--jobs`), whole process.

Not a test: prints a table. Writes --files recordings of --events events each (the
shapes of `validate_throughput.py` in turn: timestamped, pydantic-ai-like,
LangGraph-like, SDK-like, so the set looks like what real agents record), then runs
`agui-conformance validate DIR --jobs J` as a separate process for every J, in turns
(a busy spell of a shared machine hits every J alike), --rounds times. Reports the median
wall time, events/s and the speed-up against --jobs 1 measured in the same run, the CPU
time the command and its workers used (what the pool costs beyond the work), then the
room the machine leaves for parallel work at that moment (a pure CPU loop in 1 and in J
processes at once: J x t1 / tJ, about J when idle, about 1 when other work takes the
CPUs), and checks that every J printed the same report and exit code.

    python benchmarks/validate_jobs.py [--files 100] [--events 2000] [--rounds 3] [--jobs 1,2,N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate_startup import ours_command
from validate_throughput import (
    langgraph_stream,
    pydantic_ai_stream,
    sdk_stream,
    timestamped_stream,
    write_jsonl,
)

SHAPES: list[tuple[str, Callable[[int], Iterator[dict[str, Any]]]]] = [
    ("timestamped", timestamped_stream),
    ("pydantic-ai", pydantic_ai_stream),
    ("langgraph", langgraph_stream),
    ("sdk", sdk_stream),
]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def write_recordings(folder: Path, files: int, events: int) -> int:
    """`files` recordings of about `events` events each; the events written in all."""
    total = 0
    for n in range(files):
        _, stream = SHAPES[n % len(SHAPES)]
        total += write_jsonl(stream(events), folder / f"run-{n:04d}.jsonl")
    return total


def one_run(folder: Path, jobs: int) -> tuple[float, float, int, bytes]:
    """(wall seconds, CPU seconds of the process and its workers, exit code, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*ours_command(), "validate", str(folder), "--jobs", str(jobs)],
        capture_output=True,
        timeout=600,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode, done.stdout


SPIN = "for _ in range(10_000_000): pass"


def parallel_room(jobs: int) -> float:
    """The speed-up a perfectly parallel job could get right now: a pure CPU loop in one
    process, then in `jobs` processes at once (the same loop each), as jobs x t1 / tJ. On
    an idle machine it is about `jobs`; when the CPUs are taken by others, about 1."""

    def spin(count: int) -> float:
        started = time.perf_counter()
        children = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(count)]
        for child in children:
            child.wait(timeout=120)
        return time.perf_counter() - started

    one = statistics.median(spin(1) for _ in range(3))
    many = statistics.median(spin(jobs) for _ in range(3))
    return jobs * one / many


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", default="1,2,N", help="comma-separated; N = the CPU count")
    args = parser.parse_args()
    cpus = cpu_count()
    jobs = list(dict.fromkeys(cpus if j == "N" else int(j) for j in args.jobs.split(",")))
    if 1 not in jobs:
        jobs.insert(0, 1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        total = write_recordings(folder, args.files, args.events)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"{args.files} recordings, {total:,} events ({', '.join(s for s, _ in SHAPES)} "
            f"in turn); {cpus} CPUs, load average {load:.2f} at the start"
        )
        times: dict[int, list[float]] = {j: [] for j in jobs}
        cpu: dict[int, list[float]] = {j: [] for j in jobs}
        outputs: dict[int, set[tuple[int, bytes]]] = {j: set() for j in jobs}
        for round_ in range(args.rounds):
            order = jobs[round_ % len(jobs) :] + jobs[: round_ % len(jobs)]
            for j in order:
                seconds, used, code, out = one_run(folder, j)
                times[j].append(seconds)
                cpu[j].append(used)
                outputs[j].add((code, out))
        base = statistics.median(times[1])
        print(f"{'--jobs':>7}  {'median s':>9}  {'events/s':>11}  {'speed-up':>8}  {'CPU s':>6}")
        for j in jobs:
            median = statistics.median(times[j])
            used = statistics.median(cpu[j])
            print(
                f"{j:>7}  {median:>9.3f}  {total / median:>11,.0f}  {base / median:>7.2f}x"
                f"  {used:>6.2f}"
            )
        for j in jobs[1:]:
            print(f"room for parallel work now, {j} processes: {parallel_room(j):.2f}x")
        reports = {frozenset(o) for o in outputs.values()}
        codes = sorted({code for o in outputs.values() for code, _ in o})
        same = len(reports) == 1 and all(len(o) == 1 for o in outputs.values())
        print(f"same report and exit code ({codes}) for every --jobs: {'yes' if same else 'NO'}")
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
