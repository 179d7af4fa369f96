"""Every benchmark still runs (tiny sizes, no timing asserted: the numbers are for reading,
in benchmarks/README.md, never pass/fail)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

SMALL = [
    ("suite_overhead.py", ["--rounds", "2", "--examples", "2"], "our code over the whole suite"),
    (
        "validate_throughput.py",
        ["--events", "2000", "--deltas", "200", "--no-peer"],
        "timestamped vs plain",
    ),
    ("validate_startup.py", ["--rounds", "1", "--events", "2000", "--no-peer"], "4 events"),
    ("report_render.py", ["--events", "200", "--rounds", "1"], "events"),
    (
        "validate_jobs.py",
        ["--files", "4", "--events", "100", "--rounds", "1"],
        "same report and exit code ([0]) for every --jobs: yes",
    ),
    (
        "reference_agent_load.py",
        ["--concurrency", "5", "--events", "20", "--rounds", "1"],
        "errors 0",
    ),
    (
        "proxy_overhead.py",
        ["--streams", "1,3", "--events", "5", "--rounds", "1", "--gap-ms", "5"],
        "load average at the end",
    ),
    (
        "suite_latency.py",
        ["--latencies", "0", "--examples", "1", "--concurrency", "1,2"],
        "verdict: PASS in every run",
    ),
]


@pytest.mark.parametrize(("script", "args", "expected"), SMALL, ids=[s[0] for s in SMALL])
def test_benchmark_runs(script: str, args: list[str], expected: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert expected in done.stdout, done.stdout[-2000:]
