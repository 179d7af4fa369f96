"""Validator throughput, as ratios against baselines run in the same process.

Not a test: prints a table. Measures, on one generated JSONL file:
  * parse-only baseline: orjson.loads of every line (the floor for any validator);
  * agui-conformance: the full pipeline (parse, per-type schema, sequence machine);
  * ag-ui-validate 0.4.0, the peer, when it is installed (pip install ag-ui-validate==0.4.0);
and, separately, N STATE_DELTA events growing one state (linear time is the target:
doubling N should roughly double the time), and peak memory against stream length.

    python benchmarks/validate_throughput.py [--events 200000] [--deltas 10000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agui_conformance.validator import validate_recording


def mixed_stream(n_events: int, grow: bool = True) -> Iterator[dict[str, Any]]:
    """A realistic mixed run: text, tool calls, state deltas on a growing state.

    With grow=False the deltas replace instead of add, so the state (which the
    validator must hold) stays the same size and memory reflects the validator.
    """
    yield {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"}
    yield {"type": "STATE_SNAPSHOT", "snapshot": {"log": [], "counters": {}}}
    produced, block = 2, 0
    while produced < n_events - 1:
        block += 1
        mid, cid = f"m{block}", f"c{block}"
        batch: list[dict[str, Any]] = [
            {"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant"},
            *(
                {"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": f"token {i} "}
                for i in range(10)
            ),
            {"type": "TEXT_MESSAGE_END", "messageId": mid},
            {
                "type": "TOOL_CALL_START",
                "toolCallId": cid,
                "toolCallName": "lookup",
                "parentMessageId": mid,
            },
            {"type": "TOOL_CALL_ARGS", "toolCallId": cid, "delta": '{"q": '},
            {"type": "TOOL_CALL_ARGS", "toolCallId": cid, "delta": f'"item {block}"}}'},
            {"type": "TOOL_CALL_END", "toolCallId": cid},
            {
                "type": "TOOL_CALL_RESULT",
                "messageId": f"tr{block}",
                "toolCallId": cid,
                "content": "found",
            },
            {
                "type": "STATE_DELTA",
                "delta": [
                    {"op": "add", "path": "/log/-", "value": {"block": block}},
                    {"op": "add", "path": f"/counters/k{block}", "value": block},
                ]
                if grow
                else [
                    {"op": "replace", "path": "/counters", "value": {"last": block}},
                ],
            },
        ]
        if produced + len(batch) > n_events - 1:
            break  # never cut a block: the stream must stay valid
        produced += len(batch)
        yield from batch
    for _ in range(n_events - 1 - produced):
        yield {"type": "STATE_DELTA", "delta": []}
    yield {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}


def delta_stream(n_deltas: int) -> Iterator[dict[str, Any]]:
    yield {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"}
    yield {"type": "STATE_SNAPSHOT", "snapshot": {"items": []}}
    for i in range(n_deltas):
        yield {
            "type": "STATE_DELTA",
            "delta": [
                {"op": "add", "path": "/items/-", "value": {"id": i, "text": "x" * 20}},
                {"op": "replace", "path": "/items/0/text", "value": f"v{i}"},
            ],
        }
    yield {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}


def long_message_stream(n_events: int) -> Iterator[dict[str, Any]]:
    """One run, one text message of n_events - 4 deltas: nothing to remember per event."""
    yield {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"}
    yield {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"}
    for i in range(n_events - 4):
        yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"token {i} "}
    yield {"type": "TEXT_MESSAGE_END", "messageId": "m"}
    yield {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}


def write_jsonl(events: Iterator[dict[str, Any]], path: Path) -> int:
    count = 0
    with path.open("wb") as out:
        for event in events:
            out.write(orjson.dumps(event) + b"\n")
            count += 1
    return count


def parse_only(path: Path) -> int:
    n = 0
    with path.open("rb") as f:
        for line in f:
            orjson.loads(line)
            n += 1
    return n


def ours(path: Path) -> int:
    """What `agui-conformance validate FILE` does: read, frame, parse, validate."""
    result = validate_recording(path)
    if result.findings:
        raise SystemExit(f"benchmark stream drew findings: {result.findings[:3]}")
    return result.events


def peer(path: Path) -> int | None:
    try:
        from ag_ui_validate import create_validator
    except ImportError:
        return None
    validator = create_validator()
    n = 0
    with path.open("rb") as f:
        for line in f:
            validator.feed(json.loads(line))
            n += 1
    validator.finalize()
    return n


def timed(fn: Callable[[Path], int | None], path: Path, repeat: int = 1) -> float | None:
    best: float | None = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        if fn(path) is None:
            return None
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best


def interleaved(
    a: Callable[[Path], int | None], b: Callable[[Path], int | None], path: Path, rounds: int
) -> tuple[float, float]:
    """Best of `rounds` for each, taken in turns so a busy spell hits both sides."""
    best_a = best_b = float("inf")
    for _ in range(rounds):
        best_a = min(best_a, timed(a, path) or best_a)
        best_b = min(best_b, timed(b, path) or best_b)
    return best_a, best_b


def peak_memory(path: Path) -> int:
    tracemalloc.start()
    ours(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--deltas", type=int, default=10_000)
    parser.add_argument("--no-peer", action="store_true", help="skip ag-ui-validate")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        mixed = Path(tmp) / "mixed.jsonl"
        n = write_jsonl(mixed_stream(args.events), mixed)
        size = os.path.getsize(mixed) / 1e6
        print(f"mixed stream: {n} events, {size:.1f} MB")
        base, mine = interleaved(parse_only, ours, mixed, rounds=5)
        theirs = None if args.no_peer else timed(peer, mixed)
        assert base is not None and mine is not None
        print(f"  parse only (orjson)   {n / base:>12,.0f} events/s   1.00x time")
        print(
            f"  agui-conformance      {n / mine:>12,.0f} events/s   {mine / base:.2f}x parse time"
        )
        if theirs is None:
            print("  ag-ui-validate        not installed (pip install ag-ui-validate==0.4.0)")
        else:
            rate, ratio = n / theirs, theirs / base
            print(f"  ag-ui-validate 0.4.0  {rate:>12,.0f} events/s   {ratio:.2f}x parse time")
            print(f"  => agui-conformance is {theirs / mine:.1f}x ag-ui-validate's throughput")

        print(f"\nSTATE_DELTA on a growing state ({args.deltas} and {2 * args.deltas} deltas):")
        times = []
        for k in (args.deltas, 2 * args.deltas):
            path = Path(tmp) / f"deltas{k}.jsonl"
            write_jsonl(delta_stream(k), path)
            t = timed(ours, path)
            assert t is not None
            times.append(t)
            line = f"  {k:>7} deltas: agui-conformance {t:.3f} s"
            if not args.no_peer and k == args.deltas:
                tp = timed(peer, path)
                if tp is not None:
                    line += f"; ag-ui-validate {tp:.2f} s ({tp / t:.0f}x slower)"
            print(line)
        print(f"  doubling the deltas multiplies time by {times[1] / times[0]:.2f} (2.0 = linear)")

        print("\npeak traced memory vs stream length, state of constant size")
        print("(flat = no list of all events kept; ids of messages are remembered, by design):")
        for k in (args.events // 4, args.events // 2):
            path = Path(tmp) / f"mem{k}.jsonl"
            write_jsonl(mixed_stream(k, grow=False), path)
            print(f"  {k:>7} events: {peak_memory(path) / 1e6:.1f} MB peak")
        print("the same lengths, one long text message (no new ids: flat):")
        for k in (args.events // 4, args.events // 2):
            path = Path(tmp) / f"long{k}.jsonl"
            write_jsonl(long_message_stream(k), path)
            print(f"  {k:>7} events: {peak_memory(path) / 1e6:.1f} MB peak")


if __name__ == "__main__":
    main()
