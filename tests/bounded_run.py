"""Run `agui-conformance` in a child process under an address-space limit and a
deadline, and measure that child alone (its peak RSS from `wait4`, its wall time).

For the tests of hostile inputs: a run that would eat the machine dies at the
limit instead (and the test fails), a run that would stall is killed at the
deadline (and the test fails).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CLI = "import sys; from agui_conformance.cli import main; sys.exit(main())"


@dataclass
class Outcome:
    returncode: int  # negative: killed by that signal (-9 at the deadline)
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int  # bytes
    timed_out: bool


def run_cli(args: list[str], *, timeout: float = 60.0, address_space: int = 3 << 30) -> Outcome:
    """`agui-conformance ARGS` in a child limited to `address_space` bytes and `timeout`
    seconds."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    with tempfile.TemporaryDirectory() as tmp:
        out, err = Path(tmp, "out"), Path(tmp, "err")
        with out.open("wb") as stdout, err.open("wb") as stderr:
            started = time.monotonic()
            child = subprocess.Popen(
                [sys.executable, "-c", CLI, *args],
                stdout=stdout,
                stderr=stderr,
                preexec_fn=limit,  # only setrlimit between fork and exec
            )
            timed_out = False
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() - started > timeout:
                    child.kill()
                    timed_out = True
                    pid, status, usage = os.wait4(child.pid, 0)
                    break
                time.sleep(0.05)
            seconds = time.monotonic() - started
            child.returncode = os.waitstatus_to_exitcode(status)  # for Popen's own bookkeeping
        return Outcome(
            returncode=os.waitstatus_to_exitcode(status),
            stdout=out.read_text("utf-8", "replace"),
            stderr=err.read_text("utf-8", "replace"),
            seconds=seconds,
            peak_rss=usage.ru_maxrss * 1024,  # kilobytes on Linux
            timed_out=timed_out,
        )
