"""Rendering the HTML report of a long run: time and size, next to serialising the same
report as JSON in the same process (the baseline), so a busier machine moves both sides.

    python benchmarks/report_render.py [--events 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from agui_conformance.model import CaseResult, Finding, Level, Report, RunRecord, ToolInfo
from agui_conformance.report.html import to_html
from agui_conformance.report.json_report import report_to_json


def long_run(events: int) -> Report:
    """One case: a text message of `events - 4` deltas and a tool call; one bad delta."""
    deltas = [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": f"token{i} "}
        for i in range(events - 4)
    ]
    stream = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"},
        *deltas,
        {"type": "TEXT_MESSAGE_END", "messageId": "m1"},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]
    bad = Finding(rule="schema-wrong-type", level=Level.ERROR, message="bad", index=events // 2)
    run = RunRecord(
        request={"threadId": "t", "runId": "r", "messages": []},
        requestHeaders={"Content-Type": "application/json"},
        status=200,
        responseHeaders={"content-type": "text/event-stream"},
        timing={"totalMs": events * 0.2, "firstEventMs": 3.0},
        events=stream,
        eventTimesMs=[3.0 + i * 0.2 for i in range(events)],
        findings=[bad],
    )
    case = CaseResult(id="long", title="long", requirements=[], expect="run", status="failed")
    case.runs.append(run)
    return Report(tool=ToolInfo(version="bench"), target="http://x", profile="spec", cases=[case])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    report = long_run(args.events)
    html_times, json_times = [], []
    html = json_text = ""
    for _ in range(args.rounds):
        started = time.perf_counter()
        json_text = report_to_json(report)
        json_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        html = to_html(report)
        html_times.append(time.perf_counter() - started)
    h, j = statistics.median(html_times), statistics.median(json_times)
    print(f"events: {args.events:,}")
    print(f"JSON report (baseline): {j * 1000:.1f} ms, {len(json_text.encode()):,} bytes")
    size = len(html.encode())
    print(f"HTML report: {h * 1000:.1f} ms = {h / j:.1f}x the JSON time, {size:,} bytes")


if __name__ == "__main__":
    main()
