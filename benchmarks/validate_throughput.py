"""Validator throughput, as ratios against baselines run in the same process.

Not a test: prints a table. Measures, for each stream shape (`SHAPES`: the plain mixed
stream, the same with a `timestamp` on every event, and streams shaped like those the
interop targets send: pydantic-ai, LangGraph, the official SDK), on one generated
JSONL file each:
  * parse-only baseline: orjson.loads of every line (the floor for any validator);
  * agui-conformance: the full pipeline (parse, per-type schema, sequence machine);
  * ag-ui-validate 0.4.0, the peer, when it is installed (pip install ag-ui-validate==0.4.0),
    and agui-conformance again, on the same shape at --peer-events events (the peer
    slows down as a stream grows: ~3,000 events/s at 200,000 events);
and, separately, N STATE_DELTA events growing one state (linear time is the target:
doubling N should roughly double the time), and peak memory against stream length.

    python benchmarks/validate_throughput.py [--events 200000] [--deltas 10000]
        [--shapes plain,timestamped,...] [--no-peer] [--peer-events 20000] [--shapes-only]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import string
import sys
import tempfile
import time
import tracemalloc
import uuid
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


# ----------------------------------------------------------- stream shapes of real stacks
#
# Each repeats, inside one run, the blocks the interop targets (interop/*/server.py, the
# scripted fake model: text in chunks, a tool call, its result) send, with their field sets
# and id formats, until the stream has n events. Deterministic (ids from a seeded RNG).

_T0 = 1_765_000_000_000  # a timestamp in milliseconds (December 2025)


def _filled(
    n_events: int,
    start: dict[str, Any],
    blocks: Iterator[list[dict[str, Any]]],
    end: dict[str, Any],
) -> Iterator[dict[str, Any]]:
    """start, whole blocks while they fit in n_events - 1, empty deltas to pad, end."""
    yield start
    produced = 1
    for batch in blocks:
        if produced + len(batch) > n_events - 1:
            break
        produced += len(batch)
        yield from batch
    if produced < n_events - 1:
        yield {"type": "STATE_SNAPSHOT", "snapshot": {}}
        produced += 1
    for _ in range(n_events - 1 - produced):
        yield {"type": "STATE_DELTA", "delta": []}
    yield end


def _stamped(events: Iterator[dict[str, Any]], step_ms: int = 3) -> Iterator[dict[str, Any]]:
    for i, event in enumerate(events):
        yield {**event, "timestamp": _T0 + i * step_ms}


def timestamped_stream(n_events: int) -> Iterator[dict[str, Any]]:
    """The mixed stream, every event with a `timestamp` (ms), as pydantic-ai and
    llama-index stamp theirs."""
    return _stamped(mixed_stream(n_events))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _token(rng: random.Random, size: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=size))


def pydantic_ai_stream(n_events: int) -> Iterator[dict[str, Any]]:
    """pydantic-ai's AG-UI adapter: uuid4 message ids, provider tool call ids
    (`call_` + 24 characters), `role` on starts and results, the tool call's
    `parentMessageId` the text message before it, a `timestamp` on every event."""
    rng = random.Random(1)

    def blocks() -> Iterator[list[dict[str, Any]]]:
        while True:
            mid, cid, rid = _uuid(rng), "call_" + _token(rng, 24), _uuid(rng)
            yield [
                {"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant"},
                *(
                    {"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": piece}
                    for piece in ("Let me ", "look ", "that up ", "for you", ".", " One", " .", ".")
                ),
                {"type": "TEXT_MESSAGE_END", "messageId": mid},
                {
                    "type": "TOOL_CALL_START",
                    "toolCallId": cid,
                    "toolCallName": "get_weather",
                    "parentMessageId": mid,
                },
                {"type": "TOOL_CALL_ARGS", "toolCallId": cid, "delta": '{"city": "Os'},
                {"type": "TOOL_CALL_ARGS", "toolCallId": cid, "delta": 'lo"}'},
                {"type": "TOOL_CALL_END", "toolCallId": cid},
                {
                    "type": "TOOL_CALL_RESULT",
                    "messageId": rid,
                    "toolCallId": cid,
                    "content": '{"temperature": 21, "sky": "clear"}',
                    "role": "tool",
                },
            ]

    thread, run = _uuid(rng), _uuid(rng)
    return _stamped(
        _filled(
            n_events,
            {"type": "RUN_STARTED", "threadId": thread, "runId": run, "protocolVersion": "1.0"},
            blocks(),
            {"type": "RUN_FINISHED", "threadId": thread, "runId": run},
        )
    )


def langgraph_stream(n_events: int) -> Iterator[dict[str, Any]]:
    """ag-ui-langgraph: each node between STEP_STARTED and STEP_FINISHED, the LangChain
    event every text and tool event came from in `rawEvent`, `lc_run--` message ids,
    a STATE_SNAPSHOT after each node, a RAW event per node; no timestamps."""
    rng = random.Random(2)
    thread, run = _uuid(rng), _uuid(rng)

    def raw(kind: str, run_id: str, chunk: dict[str, Any]) -> dict[str, Any]:
        return {
            "event": kind,
            "name": "ScriptedChat",
            "run_id": run_id,
            "tags": ["seq:step:1"],
            "metadata": {
                "thread_id": thread,
                "langgraph_step": 1,
                "langgraph_node": "chat",
                "langgraph_triggers": ["branch:to:chat"],
                "langgraph_path": ["__pregel_pull", "chat"],
                "checkpoint_ns": "chat:" + run_id[-36:],
                "ls_provider": "scripted",
                "ls_model_type": "chat",
            },
            "data": {"chunk": chunk},
            "parent_ids": [run],
        }

    def blocks() -> Iterator[list[dict[str, Any]]]:
        step = 0
        while True:
            step += 1
            lc = "lc_run--" + _uuid(rng)
            cid = "call_" + _token(rng, 24)
            pieces = ("You ", "said: ", "hello", " there", ",", " friend", ".", "")
            stream_raw = [
                raw("on_chat_model_stream", lc, {"content": p, "id": lc, "type": "AIMessageChunk"})
                for p in pieces
            ]
            yield [
                {"type": "STEP_STARTED", "stepName": "chat"},
                {
                    "type": "TEXT_MESSAGE_START",
                    "messageId": lc,
                    "role": "assistant",
                    "rawEvent": stream_raw[0],
                },
                *(
                    {"type": "TEXT_MESSAGE_CONTENT", "messageId": lc, "delta": p, "rawEvent": r}
                    for p, r in zip(pieces[:-1], stream_raw[:-1], strict=True)
                ),
                {"type": "TEXT_MESSAGE_END", "messageId": lc, "rawEvent": stream_raw[-1]},
                {
                    "type": "TOOL_CALL_START",
                    "toolCallId": cid,
                    "toolCallName": "search",
                    "parentMessageId": lc,
                    "rawEvent": stream_raw[-1],
                },
                {
                    "type": "TOOL_CALL_ARGS",
                    "toolCallId": cid,
                    "delta": '{"query": "weather"}',
                    "rawEvent": stream_raw[-1],
                },
                {"type": "TOOL_CALL_END", "toolCallId": cid, "rawEvent": stream_raw[-1]},
                {
                    "type": "TOOL_CALL_RESULT",
                    "messageId": _uuid(rng),
                    "toolCallId": cid,
                    "content": "sunny",
                    "role": "tool",
                },
                {"type": "STEP_FINISHED", "stepName": "chat"},
                {"type": "RAW", "event": raw("on_chain_end", lc, {}), "source": "langgraph"},
                {
                    "type": "STATE_SNAPSHOT",
                    "snapshot": {"tools": [], "step": step, "ag-ui": {"context": []}},
                },
            ]

    return _filled(
        n_events,
        {"type": "RUN_STARTED", "threadId": thread, "runId": run, "protocolVersion": "1.0"},
        blocks(),
        {"type": "RUN_FINISHED", "threadId": thread, "runId": run},
    )


def sdk_stream(n_events: int) -> Iterator[dict[str, Any]]:
    """The official SDK's models and EventEncoder: `msg-`/`call-` + 12 hex ids, short text
    in three chunks, a tool call in two argument pieces and its result; no timestamps."""
    rng = random.Random(3)

    def blocks() -> Iterator[list[dict[str, Any]]]:
        while True:
            mid, cid = f"msg-{rng.getrandbits(48):012x}", f"call-{rng.getrandbits(48):012x}"
            yield [
                {"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant"},
                {"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": "You "},
                {"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": "said: "},
                {"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": "hello"},
                {"type": "TEXT_MESSAGE_END", "messageId": mid},
                {
                    "type": "TOOL_CALL_START",
                    "toolCallId": cid,
                    "toolCallName": "show_weather_card",
                    "parentMessageId": mid,
                },
                {"type": "TOOL_CALL_ARGS", "toolCallId": cid, "delta": '{"city": '},
                {"type": "TOOL_CALL_ARGS", "toolCallId": cid, "delta": '"Oslo"}'},
                {"type": "TOOL_CALL_END", "toolCallId": cid},
                {
                    "type": "TOOL_CALL_RESULT",
                    "messageId": f"msg-{rng.getrandbits(48):012x}",
                    "toolCallId": cid,
                    "content": "shown",
                },
            ]

    thread, run = _uuid(rng), _uuid(rng)
    return _filled(
        n_events,
        {"type": "RUN_STARTED", "threadId": thread, "runId": run, "protocolVersion": "1.0"},
        blocks(),
        {"type": "RUN_FINISHED", "threadId": thread, "runId": run},
    )


# name -> (generator, the share of its events the fast paths take at least:
# tests/test_fast_path.py holds each shape to it)
SHAPES: dict[str, tuple[Callable[[int], Iterator[dict[str, Any]]], float]] = {
    "plain": (mixed_stream, 0.99),
    "timestamped": (timestamped_stream, 0.99),
    "pydantic-ai-like": (pydantic_ai_stream, 0.99),
    "langgraph-like": (langgraph_stream, 0.9),
    "sdk-like": (sdk_stream, 0.99),
}


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


# Time is this process's CPU time by default (--clock wall for wall time): on a machine
# shared with other work, wall time mostly measures the neighbours.
CLOCK: Callable[[], float] = time.process_time


def timed(fn: Callable[[Path], int | None], path: Path, repeat: int = 1) -> float | None:
    best: float | None = None
    for _ in range(repeat):
        gc.collect()
        start = CLOCK()
        if fn(path) is None:
            return None
        elapsed = CLOCK() - start
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


def shape_table(
    names: list[str], events: int, peer_events: int | None, tmp: Path, rounds: int = 5
) -> None:
    """Every shape: parse-only and agui-conformance in turns (best of `rounds`), the peer
    once."""
    print(f"{'shape':<18} {'MB':>6} {'parse-only ev/s':>16} {'ours ev/s':>12} "
          f"{'ours/parse':>10} {'peer ev/s':>10} {'ours vs peer':>12}")  # fmt: skip
    ours_by_shape: dict[str, float] = {}
    for name in names:
        make, _ = SHAPES[name]
        path = tmp / f"{name}.jsonl"
        n = write_jsonl(make(events), path)
        base, mine = interleaved(parse_only, ours, path, rounds=rounds)
        ours_by_shape[name] = mine
        peer_cell = compare = "-"
        if peer_events is not None:
            # the peer slows down as a stream grows: both on the same first events
            sample = tmp / f"{name}.short.jsonl"
            short = write_jsonl(make(min(peer_events, n)), sample)
            theirs = timed(peer, sample)
            if theirs is not None:
                mine_sample = timed(ours, sample, repeat=3)
                assert mine_sample is not None
                rate = short / theirs
                peer_cell, compare = f"{rate:,.0f}", f"{theirs / mine_sample:,.0f}x"
            else:
                peer_cell = "n/a"
        size = os.path.getsize(path) / 1e6
        print(
            f"{name:<18} {size:>6.1f} {n / base:>16,.0f} {n / mine:>12,.0f} "
            f"{mine / base:>9.2f}x {peer_cell:>10} {compare:>12}"
        )
    if peer_events is not None:
        print(f"peer columns: both tools on the same shape at {peer_events:,} events")
    if "plain" in ours_by_shape and "timestamped" in ours_by_shape:
        extra = ours_by_shape["timestamped"] / ours_by_shape["plain"] - 1
        print(f"timestamped vs plain (agui-conformance time): {extra:+.1%} (target: within 10%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--deltas", type=int, default=10_000)
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated shapes")
    parser.add_argument("--no-peer", action="store_true", help="skip ag-ui-validate")
    parser.add_argument("--peer-events", type=int, default=20_000)
    parser.add_argument("--shapes-only", action="store_true", help="only the shape table")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--rounds", type=int, default=5, help="turns per shape (best of)")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    names = [name for name in args.shapes.split(",") if name]
    unknown = sorted(set(names) - set(SHAPES))
    if unknown:
        parser.error(f"unknown shapes {unknown}; known: {', '.join(SHAPES)}")

    with tempfile.TemporaryDirectory() as tmp:
        print(f"{args.events:,} events per shape")
        peer_events = None if args.no_peer else args.peer_events
        shape_table(names, args.events, peer_events, Path(tmp), args.rounds)
        if args.shapes_only:
            return

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
