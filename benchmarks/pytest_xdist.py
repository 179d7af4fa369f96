"""Does pytest-xdist's `-n 2` make `pytest --agent-url` faster?

The plugin runs the selected cases once per test run through the engine (one worker
runs it, the others wait for its Report), so `-n` only adds workers that start, collect
and wait; the agent's work is made parallel by `--agui-concurrency` (default 4). This
measures the wall time of a whole `pytest --agent-url URL` run, defaults otherwise
(25 generated inputs), against the reference agent and against the same agent delaying
every POST by 0.5 s, serially, with `-n 2`, and with `--agui-concurrency 8`.

    python benchmarks/pytest_xdist.py
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reference_agent.app import create_app
from tests.hostile_agents import serve_app


def delayed(app: Any, seconds: float) -> Any:
    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            await asyncio.sleep(seconds)
        await app(scope, receive, send)

    return wrapped


def timed(url: str, *extra: str) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as here:
        clock = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--agent-url", url,
             "--agui-seed", "1", *extra],
            cwd=here, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - clock
    return seconds, done.stdout.strip().splitlines()[-1]


def main() -> None:
    for label, app in (
        ("reference agent", create_app()),
        ("reference agent + 0.5 s per POST", delayed(create_app(), 0.5)),
    ):
        with serve_app(app) as url:
            for extra in ((), ("-n", "2"), ("--agui-concurrency", "8")):
                seconds, last = timed(url, *extra)
                shown = " ".join(extra) or "serial"
                print(f"{label:34} {shown:22} {seconds:6.1f} s   {last}", flush=True)


if __name__ == "__main__":
    main()
