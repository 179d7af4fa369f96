"""Peak memory and time of `agui-conformance validate` on hostile recordings, each run
in its own child process (its peak RSS read with wait4), next to the same command on
a tiny conformant recording (the baseline: the interpreter and its imports), so the
numbers read as a ratio to what any validation costs.

    python benchmarks/validate_bounds.py [--lines 1000000] [--tree PATH] [--before PATH]

Recordings: LINES invalid lines (`--format text`, `json`, `html`), and a 6 KB stream
whose STATE_DELTAs double the state with `copy`/`move` (22 and 40 deltas). Then, in
this process, what the state's size account costs: 20,000 plain patches of a growing
state (the fast path, `apply_plain`) and 20,000 general ones (`apply_patch`, with a
`move` and a small `copy`), each with and without a budget, best of 5, as a ratio. `--tree`
runs the checkout at PATH instead of this one; `--before PATH` runs that checkout too
(e.g. `git worktree add /tmp/before <commit>`) and prints both side by side. Every
child runs under a 4 GB address-space limit and a 120 s deadline: a run that would eat
the machine or stall shows as "killed".
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from children import CLI, LIMIT, wait_bounded

HERE = Path(__file__).resolve().parents[1]
DEADLINE = 120.0


@dataclass
class Measure:
    seconds: float
    peak_mb: float
    output_bytes: int
    status: str  # "exit N" or "killed"


def _run(tree: Path, args: list[str], output: Path) -> Measure:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

    output.unlink(missing_ok=True)
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", CLI, str(tree), *args, "-o", str(output)],
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=limit,  # only setrlimit between fork and exec
    )
    status, usage, killed = wait_bounded(child, started, DEADLINE, 0.02)
    child.returncode = os.waitstatus_to_exitcode(status)
    code = child.returncode
    return Measure(
        seconds=time.monotonic() - started,
        peak_mb=usage.ru_maxrss / 1024,
        output_bytes=output.stat().st_size if output.exists() else 0,
        status="killed" if killed or code < 0 else f"exit {code}",
    )


def _recordings(folder: Path, lines: int) -> dict[str, Path]:
    invalid = folder / "invalid.jsonl"
    with invalid.open("w") as out:
        for n in range(lines):
            out.write(f"not json {n}\n")
    start = {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"}
    finish = {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}
    double = [
        {"op": "copy", "from": "/items", "path": "/copy"},
        {"op": "move", "from": "/copy", "path": "/items/-"},
    ]
    snapshot = {"items": [f"item {n}: {'x' * 20}" for n in range(40)]}
    paths = {"invalid": invalid}
    for deltas in (22, 40):
        events = [start, {"type": "STATE_SNAPSHOT", "snapshot": snapshot}]
        events += [{"type": "STATE_DELTA", "delta": double}] * deltas + [finish]
        path = folder / f"doubling-{deltas}.jsonl"
        path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
        paths[f"doubling-{deltas}"] = path
    tiny = folder / "tiny.jsonl"
    tiny.write_bytes(orjson.dumps(start) + b"\n" + orjson.dumps(finish) + b"\n")
    paths["tiny"] = tiny
    return paths


def measure(tree: Path, paths: dict[str, Path], folder: Path) -> dict[str, Measure]:
    plan = [
        ("baseline: 2 valid events, text", "tiny", "text"),
        (f"{paths['invalid'].stat().st_size >> 20} MB invalid lines, text", "invalid", "text"),
        ("invalid lines, json", "invalid", "json"),
        ("invalid lines, html", "invalid", "html"),
        ("doubling state, 22 deltas, json", "doubling-22", "json"),
        ("doubling state, 40 deltas, json", "doubling-40", "json"),
    ]
    out = {}
    for label, source, fmt in plan:
        target = folder / f"out.{fmt}"
        out[label] = _run(tree, ["validate", str(paths[source]), "--format", fmt], target)
    return out


def _patches(n: int) -> tuple[list[list[dict[str, object]]], list[list[dict[str, object]]]]:
    plain = [
        [
            {"op": "add", "path": "/items/-", "value": {"id": i, "text": "x" * 20}},
            {"op": "replace", "path": "/items/0/text", "value": f"v{i}"},
        ]
        for i in range(n)
    ]
    general = [
        [
            {"op": "add", "path": "/items/-", "value": {"id": i, "text": "x" * 20}},
            {"op": "copy", "from": "/items/0", "path": "/last"},
            {"op": "move", "from": "/last", "path": "/moved"},
        ]
        for i in range(n)
    ]
    return plain, general


def accounting(n: int = 20_000, rounds: int = 5) -> None:
    """Time of n patches with a size budget over the same without one."""
    from agui_conformance.jsonpatch import apply_patch
    from agui_conformance.jsonsize import SizeBudget
    from agui_conformance.patch_fast import apply_plain

    plain, general = _patches(n)

    def run(kind: str, budgeted: bool) -> float:
        doc: dict[str, object] = {"items": [{"id": -1, "text": ""}]}
        budget = SizeBudget(limit=1 << 40) if budgeted else None
        started = time.perf_counter()
        if kind == "plain":
            for patch in plain:
                apply_plain(doc, patch, copy=False, budget=budget)  # as a recording does
        else:
            for patch in general:
                doc = apply_patch(doc, patch, budget=budget)
        return time.perf_counter() - started

    print(f"size account, {n:,} patches (best of {rounds}):")
    for kind in ("plain", "general"):
        best = {flag: min(run(kind, flag) for _ in range(rounds)) for flag in (False, True)}
        print(
            f"  {kind:8s} without {best[False] * 1e3:7.1f} ms, with {best[True] * 1e3:7.1f} ms"
            f" = {best[True] / best[False]:.2f}x"
        )


def _line(label: str, m: Measure, base: Measure) -> str:
    ratio = m.peak_mb / base.peak_mb if base.peak_mb else 0.0
    return (
        f"{label:38s} {m.seconds:7.2f} s {m.peak_mb:8.1f} MB ({ratio:5.1f}x baseline) "
        f"output {m.output_bytes / 1e6:8.2f} MB  {m.status}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--tree", type=Path, default=HERE)
    parser.add_argument("--before", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = _recordings(folder, args.lines)
        trees = [("before", args.before)] if args.before else []
        trees.append(("this tree" if args.before else str(args.tree), args.tree))
        for name, tree in trees:
            assert tree is not None
            results = measure(tree.resolve(), paths, folder)
            base = next(iter(results.values()))
            print(f"== {name} ({tree})")
            for label, m in results.items():
                print(_line(label, m, base))
    accounting()


if __name__ == "__main__":
    main()
