"""benchmarks/validate_bounds.py still runs (tiny sizes; its numbers are for reading in
benchmarks/README.md, never pass/fail)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "validate_bounds.py"


@pytest.mark.slow
def test_validate_bounds_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--lines", "1000"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "invalid lines, html" in done.stdout and "size account" in done.stdout
    assert "killed" not in done.stdout, done.stdout
