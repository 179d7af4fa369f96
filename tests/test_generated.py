"""Generated inputs: sent `concurrency` at a time, shrunk only on failure without sending an
input twice, and stopped at once on an agent that answers nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from agui_conformance.generated import draw, run_generated
from agui_conformance.model import as_data
from agui_conformance.runner import RunnerConfig
from agui_conformance.transport import Deadlines
from tests.hostile_agents import conformant_run, serve_app, silent_server, sse


class Counting:
    """An agent that answers after `delay`, counting requests in flight and their bodies."""

    def __init__(self, delay: float, fail: bool = False) -> None:
        self.delay = delay
        self.fail = fail
        self.in_flight = 0
        self.most = 0
        self.bodies: list[bytes] = []
        self.app = FastAPI()
        self.app.post("/")(self.run)

    async def run(self, request: Request) -> Response:
        raw = await request.body()
        body: dict[str, Any] = json.loads(raw)
        stripped = {k: v for k, v in body.items() if k not in ("threadId", "runId")}
        self.bodies.append(json.dumps(stripped, sort_keys=True).encode())
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        events = conformant_run(body)
        if self.fail and body.get("messages"):
            events[0] = {**events[0], "runId": "not-the-run-id"}  # identity-run-id-echo

        async def stream() -> AsyncIterator[bytes]:
            for event in events:
                yield sse(event)

        return StreamingResponse(stream(), media_type="text/event-stream")


def test_examples_are_drawn_deterministically() -> None:
    assert draw(6, 7) == draw(6, 7)
    assert draw(6, 7) != draw(6, 8)


def test_examples_go_out_concurrently_and_pass_with_evidence() -> None:
    agent = Counting(delay=0.3)
    with serve_app(agent.app) as url:
        result = run_generated(RunnerConfig(url=url, concurrency=4), examples=8, seed=3)
    assert result.status == "passed", (result.reason, result.findings)
    assert result.exercised  # evidence from completed exchanges
    assert agent.most > 1  # concurrency is real
    assert len(agent.bodies) == len(draw(8, 3))


def test_a_failure_is_shrunk_without_sending_an_input_twice() -> None:
    agent = Counting(delay=0.0, fail=True)
    with serve_app(agent.app) as url:
        result = run_generated(RunnerConfig(url=url, concurrency=4), examples=10, seed=5)
    assert result.status == "failed"
    assert "identity-run-id-echo" in {f.rule for f in result.findings}
    reproducer = result.runs[0].reproducer
    assert reproducer is not None and reproducer.startswith("curl ") and "--seed 5" in result.reason
    assert "curl" not in str(as_data(result.runs[0])["request"])  # its own field
    assert len(agent.bodies) == len(set(agent.bodies)), "an input was sent twice"


def test_a_silent_agent_stops_the_phase_at_once() -> None:
    deadlines = Deadlines(connect=1, first_byte=0.5, idle=0.5, total=2)
    accepted: list[int] = []
    with silent_server(accepted) as url:
        result = run_generated(
            RunnerConfig(url=url, concurrency=2, deadlines=deadlines), examples=25, seed=1
        )
    assert result.status == "failed"
    assert [f.rule for f in result.findings] == ["agent-unresponsive"]
    assert result.runs[0].reproducer is None  # nothing was shrunk
    assert len(accepted) <= 2  # the first batch only, not one request per example


def test_a_refused_connection_is_the_agents_not_ours() -> None:
    app = FastAPI()

    @app.post("/")
    async def never() -> Response:
        return Response(status_code=500)

    with serve_app(app) as url:
        result = run_generated(RunnerConfig(url=url), examples=3, seed=1)
    assert result.status == "failed"
    assert "http-status" in {f.rule for f in result.findings}
