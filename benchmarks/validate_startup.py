"""Whole-process `validate`: start-up, and a long timestamped recording, next to the peer.

Not a test: prints a table. Runs, as separate processes and in turns (so a busy spell hits
both), `agui-conformance validate FILE` and `ag-ui-validate FILE` (0.4.0, when installed:
pip install ag-ui-validate==0.4.0) on:
  * a 4-event conformant recording (start-up is all there is to it);
  * the same 4 events with a finding (a missing `protocolVersion`: the rule catalog loads);
  * the timestamped 200,000-event stream of `validate_throughput.py` (--events).
Reports the median wall time of --rounds runs of each, and the ratio. Both run with
their bytecode cached, as after any `pip install` (a fresh PYTHONPYCACHEPREFIX, one
warm-up run each: with PYTHONDONTWRITEBYTECODE set, as on the development machine,
every run would compile every module first).

    python benchmarks/validate_startup.py [--rounds 5] [--events 200000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate_throughput import timestamped_stream, write_jsonl

FOUR = [
    {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
    {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
    {"type": "TEXT_MESSAGE_END", "messageId": "m"},
    {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
]


def ours_command() -> list[str]:
    found = shutil.which("agui-conformance", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "agui_conformance.cli"]


def peer_command() -> list[str] | None:
    found = shutil.which("ag-ui-validate", path=str(Path(sys.executable).parent))
    found = found or shutil.which("ag-ui-validate")
    return [found] if found else None


def wall(command: list[str], timeout: float, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout, env=env
    )
    return time.perf_counter() - start


def median_in_turns(
    commands: list[list[str]], rounds: int, timeout: float, env: dict[str, str]
) -> list[float]:
    for command in commands:
        wall(command, timeout, env)  # warm-up: bytecode written, files in the page cache
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(rounds):
        for i, command in enumerate(commands):
            times[i].append(wall(command, timeout, env))
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--no-peer", action="store_true", help="skip ag-ui-validate")
    args = parser.parse_args()
    ours = ours_command()
    peer = None if args.no_peer else peer_command()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        four = Path(tmp) / "four.jsonl"
        write_jsonl(iter(FOUR), four)
        finding = Path(tmp) / "four-finding.jsonl"
        write_jsonl(
            iter([{k: v for k, v in FOUR[0].items() if k != "protocolVersion"}, *FOUR[1:]]), finding
        )
        stamped = Path(tmp) / "timestamped.jsonl"
        n = write_jsonl(timestamped_stream(args.events), stamped)
        print(f"median of {args.rounds} whole-process runs each, taken in turns")
        print(f"{'recording':<28} {'agui-conformance':>17} {'ag-ui-validate':>15} {'ratio':>8}")
        for label, path, timeout in (
            ("4 events, conformant", four, 60.0),
            ("4 events, one finding", finding, 60.0),
            (f"{n:,} events, timestamped", stamped, 600.0),
        ):
            commands = [[*ours, "validate", str(path)]]
            if peer is not None:
                commands.append([*peer, str(path)])
            medians = median_in_turns(commands, args.rounds, timeout, env)
            mine = medians[0]
            if peer is None:
                print(f"{label:<28} {mine:>16.3f}s {'not run':>15} {'-':>8}")
            else:
                theirs = medians[1]
                print(f"{label:<28} {mine:>16.3f}s {theirs:>14.3f}s {theirs / mine:>7.2f}x")
        if peer is None and not args.no_peer:
            print("ag-ui-validate not installed (pip install ag-ui-validate==0.4.0)")
        print("ratio: the peer's time / ours (above 1: agui-conformance is faster)")


if __name__ == "__main__":
    main()
