"""The runner keeps a bounded record of every exchange, and the whole suite against an
agent that streams valid events without end ends within its deadlines, under 512 MB, with
its reports (issue "Bounded everywhere", item 4).

An endless agent once grew the suite to 24 GB (OOM-killed at 392 s, no report); after
d39b581 a report kept the first 2,000 events of an exchange, which is still 16 MiB an
exchange when the events are 8 KB: the suite reached 2.7 GB and died in a MemoryError
writing its JSON report. The kept events now also stop at 256 KiB of payload.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from agui_conformance.runner import KEEP_BYTES, KEEP_EVENTS, examine
from agui_conformance.transport import Exchange, TimedFrame
from tests.bounded_run import run_cli
from tests.hostile_agents import _json, conformant_run, serve_app, sse


def _exchange(events: list[dict[str, object]]) -> Exchange:
    record = Exchange(url="http://agent/", request_headers={}, body=b"{}", status=200)
    record.response_headers = {"content-type": "text/event-stream"}
    record.frames = [TimedFrame(n, n / 1000, orjson.dumps(e)) for n, e in enumerate(events)]
    return record


def _run(deltas: int, size: int) -> tuple[list[dict[str, object]], dict[str, object]]:
    request = {"threadId": "t", "runId": "r", "messages": [], "tools": [], "context": []}
    start, open_, content, end, finish = conformant_run(request)
    events = [start, open_, *([{**content, "delta": "x" * size}] * deltas), end, finish]
    return events, request


def test_big_events_are_kept_up_to_256_kib_and_counted() -> None:
    events, request = _run(deltas=100, size=8192)
    record = _exchange(events)
    run, kept = examine(record, request, b"{}", "run", "spec")
    payload = [len(frame.data) for frame in record.frames]
    assert sum(payload[: len(kept)]) <= KEEP_BYTES < sum(payload[: len(kept) + 1])
    assert run.events == kept and run.eventsOmitted == len(events) - len(kept) > 0
    assert len(run.eventTimesMs) == len(kept)
    assert run.findings == [] and run.outcome == "finished"  # every event was still judged


def test_small_events_are_kept_up_to_2000() -> None:
    events, request = _run(deltas=3_000, size=5)
    run, kept = examine(_exchange(events), request, b"{}", "run", "spec")
    assert len(kept) == KEEP_EVENTS and run.eventsOmitted == len(events) - KEEP_EVENTS


def test_an_event_past_the_budget_is_not_kept_even_first() -> None:
    events, request = _run(deltas=1, size=KEEP_BYTES)
    events = [events[2], *events]  # a huge delta first (out of order: a finding, not kept)
    run, kept = examine(_exchange(events), request, b"{}", "run", "spec")
    assert kept == [] and run.eventsOmitted == len(events)
    assert run.findings  # judged all the same


def _endless_big_deltas() -> FastAPI:
    """A run that streams valid 64 KB text deltas without end."""
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> StreamingResponse:
        body = await _json(request) or {}
        start, open_, content = conformant_run(body)[:3]

        async def stream() -> AsyncIterator[bytes]:
            yield sse(start, open_)
            chunk = sse({**content, "delta": "x" * 65536}) * 4
            while True:
                yield chunk
                await asyncio.sleep(0)  # let the server serve others meanwhile

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


@pytest.mark.slow
def test_the_whole_suite_against_an_endless_agent_ends_under_512_mb_with_its_reports(
    tmp_path: Path,
) -> None:
    json_path, html_path = tmp_path / "report.json", tmp_path / "report.html"
    with serve_app(_endless_big_deltas()) as url:
        done = run_cli(
            [
                "run", "--agent-url", url, "--examples", "2", "--seed", "1",
                "--json", str(json_path), "--html", str(html_path),
            ],
            timeout=240,
            address_space=4 << 30,
        )  # fmt: skip
    assert not done.timed_out, done.stdout[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    print(f"suite vs endless agent: {done.seconds:.1f} s, peak RSS {done.peak_rss >> 20} MB")
    assert done.peak_rss < 512 << 20, done.peak_rss >> 20  # before: 2.7 GB, MemoryError
    report = json.loads(json_path.read_text())
    assert html_path.stat().st_size < 20 << 20
    assert json_path.stat().st_size < 40 << 20
    endings = {run["timing"]["ending"] for case in report["cases"] for run in case["runs"]}
    assert "too-large" in endings  # the agent never ended a run: the cap did
    for case in report["cases"]:
        for run in case["runs"]:
            assert sum(len(json.dumps(e)) for e in run["events"]) < KEEP_BYTES + (64 << 10)
