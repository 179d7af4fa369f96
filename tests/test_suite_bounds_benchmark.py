"""benchmarks/suite_bounds.py still runs (one case; its numbers are for reading in
benchmarks/README.md, never pass/fail)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "suite_bounds.py"


@pytest.mark.slow
def test_suite_bounds_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--agents", "64k", "--", "-k", "minimal-input"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "reference agent (baseline)" in done.stdout and "endless 64k" in done.stdout
    assert "killed" not in done.stdout and "traceback" not in done.stdout, done.stdout
