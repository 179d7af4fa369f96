"""The CLI as a benchmark's child process, and waiting on it: its exit status and
resource usage, killed at a deadline (shared by suite_bounds.py and validate_bounds.py;
run as scripts, they import it from their own folder)."""

from __future__ import annotations

import os
import resource
import subprocess
import time

# A child running the CLI of the tree named as its first argument (so a benchmark can
# measure another checkout too), under the address-space limit LIMIT (setrlimit).
CLI = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    "from agui_conformance.cli import main; sys.exit(main())"
)
LIMIT = 4 << 30


def wait_bounded(
    child: subprocess.Popen[bytes], started: float, deadline_s: float, poll_s: float
) -> tuple[int, resource.struct_rusage, bool]:
    """(wait status, the child's rusage, whether it was killed at `deadline_s` after
    `started`, a time.monotonic reading)."""
    killed = False
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > deadline_s:
            child.kill()
            killed = True
            pid, status, usage = os.wait4(child.pid, 0)
            break
        time.sleep(poll_s)
    return status, usage, killed
