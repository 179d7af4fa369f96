"""A live exchange longer than one batch: what only a later batch shows still counts.

The runner validates an exchange's kept prefix and then batches of `BATCH` frames; its
trigger tokens were once computed per batch and merged, so a second run, or a message or
tool call opened again, in a later batch than its first was never seen: `multi-run` and
`reopen:*` stayed unexercised on long live exchanges.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from agui_conformance.exercise import exercised, stream_tokens
from agui_conformance.runner import BATCH, KEEP_EVENTS, _judge, examine
from agui_conformance.transport import Deadlines, exchange
from tests.hostile_agents import _json, serve_app, sse

DELTAS = KEEP_EVENTS + BATCH + 100  # the second run starts in the second batch


def _two_runs(thread: str, run: str) -> list[dict[str, Any]]:
    """A long run, then a second run on the thread that opens its message and tool call
    again (same ids, same fields)."""

    def one(run_id: str, deltas: int) -> list[dict[str, Any]]:
        return [
            {"type": "RUN_STARTED", "threadId": thread, "runId": run_id},
            {"type": "TEXT_MESSAGE_START", "messageId": "m-1", "role": "assistant"},
            *[{"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-1", "delta": "x"}] * deltas,
            {"type": "TEXT_MESSAGE_END", "messageId": "m-1"},
            {"type": "TOOL_CALL_START", "toolCallId": "c-1", "toolCallName": "f"},
            {"type": "TOOL_CALL_ARGS", "toolCallId": "c-1", "delta": "{}"},
            {"type": "TOOL_CALL_END", "toolCallId": "c-1"},
            {"type": "RUN_FINISHED", "threadId": thread, "runId": run_id},
        ]

    return [*one(run, DELTAS), *one(f"{run}-2", 3)]


def _long_agent() -> FastAPI:
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> StreamingResponse:
        body = await _json(request) or {}
        events = _two_runs(str(body.get("threadId")), str(body.get("runId")))

        async def stream() -> AsyncIterator[bytes]:
            for start in range(0, len(events), 500):
                yield sse(*events[start : start + 500])

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


def test_a_second_run_and_reopened_items_in_a_later_batch_are_exercised() -> None:
    request = {"threadId": "t", "runId": "r", "messages": [], "tools": [], "context": []}
    body = json.dumps(request).encode()
    deadlines = Deadlines(connect=5, first_byte=10, idle=10, total=60)
    with serve_app(_long_agent()) as url:
        record = asyncio.run(exchange(url, body, deadlines=deadlines))
    events = _two_runs("t", "r")
    assert record.status == 200 and len(record.frames) == len(events)
    second = next(n for n, e in enumerate(events) if e.get("runId") == "r-2")
    assert second >= KEEP_EVENTS + BATCH  # past the prefix and the first batch

    run, kept = examine(record, request, body, "run", "spec")
    assert len(kept) == KEEP_EVENTS and run.outcome == "finished"
    # the tokens across batches are those of the whole stream read at once
    tokens = _judge(record, request, "run", "spec", None, kept)[1]
    whole = stream_tokens(events)
    assert tokens == whole and {"multi-run", "reopen:text", "reopen:tool"} <= whole
    expected = set(exercised({"multi-run", "reopen:text", "reopen:tool"}))
    assert expected and expected <= set(run.exercised)
