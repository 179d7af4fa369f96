"""The generated-inputs phase is bounded in time and memory (issue "Bounded everywhere",
item 6).

Hypothesis kept shrinking, each step a full exchange: against a one-byte-a-second agent,
`--examples 1 --total-timeout 3` made 30 requests in 90 s and was still running at 240 s,
and against an endless agent it reached 6 GB. Now the phase has its own wall-clock budget
(`--generated-budget`, `RunnerConfig.generated_budget`), shrinking sends at most
`SHRINK_STEPS` new requests within `SHRINK_BUDGET_S`, and only one failing record is kept.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from agui_conformance import generated
from agui_conformance.generated import draw, run_generated
from agui_conformance.runner import RunnerConfig
from tests.bounded_run import run_cli
from tests.hostile_agents import conformant_run, serve_app, sse


class Failing:
    """An agent that answers every input with a run whose RUN_STARTED names another run
    (identity-run-id-echo) after `delay` seconds, or, with `endless`, a run whose message
    opens with a role of the wrong type, then its deltas without end; it counts the
    requests and when each came."""

    def __init__(self, delay: float = 0.0, endless: bool = False) -> None:
        self.delay = delay
        self.endless = endless
        self.arrived: list[float] = []
        self.app = FastAPI()
        self.app.post("/")(self.run)

    async def run(self, request: Request) -> Response:
        body: dict[str, Any] = json.loads(await request.body())
        self.arrived.append(time.monotonic())
        await asyncio.sleep(self.delay)
        events = conformant_run(body)
        events[0] = {**events[0], "runId": "not-the-run-id"}

        async def stream() -> AsyncIterator[bytes]:
            if not self.endless:
                yield sse(*events)
                return
            yield sse(events[0], {**events[1], "role": 5})  # schema-invalid, judged on a cut
            chunk = sse({**events[2], "delta": "x" * 8192}) * 32
            while True:
                yield chunk
                await asyncio.sleep(0)

        return StreamingResponse(stream(), media_type="text/event-stream")


def test_a_slow_failing_agent_ends_the_phase_at_its_budget() -> None:
    inputs = len(draw(25, 5))  # also warms hypothesis up: drawing counts in the budget
    agent = Failing(delay=1.0)
    with serve_app(agent.app) as url:
        cfg = RunnerConfig(url=url, concurrency=1, generated_budget=4)
        started = time.monotonic()
        result = run_generated(cfg, examples=25, seed=5)
        took = time.monotonic() - started
        time.sleep(1)  # nothing more arrives once the phase has returned
    assert 1 <= len(agent.arrived) < inputs
    assert agent.arrived[-1] - started < 4.2  # nothing sent after the budget
    assert took < 4 + 1 + 8, took  # the budget, one exchange in flight, hypothesis' own work
    assert result.status == "failed"
    assert "identity-run-id-echo" in {f.rule for f in result.findings}
    assert len(result.runs) == 1 and "curl" in (result.runs[0].reproducer or "")
    assert f"{len(agent.arrived)} of {inputs} examples sent" in result.reason
    assert "time budget (4 s) ran out" in result.reason
    assert "shrunk for 0 step(s), until it reached its time" in result.reason


def test_shrinking_sends_at_most_its_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generated, "SHRINK_STEPS", 3)
    agent = Failing()
    with serve_app(agent.app) as url:
        result = run_generated(RunnerConfig(url=url), examples=10, seed=5)
    assert result.status == "failed"
    assert len(agent.arrived) <= len(draw(10, 5)) + 3 + 1  # and the minimal sent again
    assert "shrunk for 3 step(s), until it reached its limit of 3 steps" in result.reason
    assert len(result.runs) == 1 and "curl" in (result.runs[0].reproducer or "")


def test_an_unbudgeted_failure_is_shrunk_to_its_minimal_example() -> None:
    agent = Failing()
    with serve_app(agent.app) as url:
        result = run_generated(RunnerConfig(url=url), examples=10, seed=5)
    assert "shrunk to a minimal example" in result.reason
    assert "budget" not in result.reason
    shrunk = result.runs[0].request.input
    assert shrunk is not None
    assert len(shrunk.get("messages", [])) <= 1 and not shrunk.get("tools")  # a small input
    assert len(agent.arrived) <= len(draw(10, 5)) + generated.SHRINK_STEPS + 1


def _drip_agent(arrived: list[float]) -> FastAPI:
    """A run sent one byte a second."""
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> StreamingResponse:
        body = json.loads(await request.body())
        arrived.append(time.monotonic())
        data = sse(*conformant_run(body))

        async def stream() -> AsyncIterator[bytes]:
            for byte in data:
                yield bytes([byte])
                await asyncio.sleep(1)

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


@pytest.mark.slow
def test_a_one_byte_a_second_agent_ends_the_phase_within_its_deadlines(tmp_path: Path) -> None:
    arrived: list[float] = []
    report = tmp_path / "report.json"
    with serve_app(_drip_agent(arrived)) as url:
        done = run_cli(
            [
                "run", "--agent-url", url, "-k", "generated-inputs", "--examples", "1",
                "--total-timeout", "3", "--no-preflight", "--no-html", "--json", str(report),
            ],
            timeout=60,
        )  # fmt: skip
    assert not done.timed_out and done.returncode == 1, done.stdout + done.stderr[-2000:]
    assert done.seconds < 20, done.seconds  # was: 30 requests in 90 s, still running at 240 s
    assert len(arrived) == 1  # a cut answer is never shrunk
    [case] = json.loads(report.read_text())["cases"]
    assert case["status"] == "failed" and case["runs"][0]["timing"]["ending"] == "total-timeout"


@pytest.mark.slow
def test_an_endless_failing_agent_is_shrunk_in_bounded_time_and_memory(tmp_path: Path) -> None:
    agent = Failing(endless=True)
    report = tmp_path / "report.json"
    with serve_app(agent.app) as url:
        done = run_cli(
            [
                "run", "--agent-url", url, "-k", "generated-inputs", "--examples", "3",
                "--generated-budget", "15", "--no-preflight", "--no-html", "--json", str(report),
            ],
            timeout=120,
        )  # fmt: skip
    assert not done.timed_out and done.returncode == 1, done.stdout + done.stderr[-2000:]
    assert done.peak_rss < 400 << 20, done.peak_rss >> 20
    assert done.seconds < 15 + 30 + 15, done.seconds  # the budget, one exchange, start-up
    [case] = json.loads(report.read_text())["cases"]
    assert case["status"] == "failed" and len(case["runs"]) == 1
    run = case["runs"][0]
    assert run["timing"]["ending"] == "too-large" and run["reproducer"].startswith("curl ")
    assert sum(len(json.dumps(e)) for e in run["events"]) < 300 << 10  # the kept prefix


def test_the_phase_holds_the_shortest_failing_records_only() -> None:
    from agui_conformance.model import RunRecord

    def record(n: int) -> RunRecord:
        return RunRecord(request={"n": n}, requestHeaders={}, status=200, responseHeaders={},
                         timing={})  # fmt: skip

    kept = generated._Kept()
    kept.first_pass(5, b"x" * 50, record(5))
    kept.first_pass(2, b"x" * 60, record(2))  # the earlier example wins
    kept.first_pass(7, b"x" * 10, record(7))
    assert list(kept.records) == [b"x" * 60]
    for size in (40, 30, 70, 20, 35):
        kept.offer(b"y" * size, record(size))
    assert sorted(map(len, kept.records)) == [20, 30, 35, 40]  # KEEP_FAILING, the shortest
    assert kept.shortest() is not None and kept.shortest().request.input == {"n": 20}  # type: ignore[union-attr]


def test_a_minimal_example_whose_record_was_let_go_is_sent_once_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(generated, "KEEP_FAILING", 0)  # every shrink step's record let go
    agent = Failing()
    with serve_app(agent.app) as url:
        result = run_generated(RunnerConfig(url=url), examples=10, seed=5)
    assert "shrunk to a minimal example" in result.reason
    shrunk = result.runs[0].request.input
    assert shrunk is not None
    assert len(shrunk.get("messages", [])) <= 1 and not shrunk.get("tools")


pytest_plugins = ["pytester"]


def test_the_pytest_face_takes_the_budget(pytester: pytest.Pytester) -> None:
    # drawing counts against the budget: 15 s leave room for a cold, loaded child; 4 s a
    # run at concurrency 4 make the 25 examples need about 28 s
    agent = Failing(delay=4.0)
    with serve_app(agent.app) as url:
        started = time.monotonic()
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--agent-url", url, "-k", "generated",
            "--agui-examples", "25", "--agui-seed", "5", "--agui-generated-budget", "15",
            "--agui-json", "agui.json",
        )  # fmt: skip
        took = time.monotonic() - started
    assert result.parseoutcomes().get("failed") == 1, result.stdout.str()[-2000:]
    [case] = json.loads((pytester.path / "agui.json").read_text())["cases"]
    assert "time budget (15 s) ran out" in case["reason"]
    assert agent.arrived[-1] - started < 15 + 10  # the child's start-up, then the budget
    assert len(agent.arrived) < len(draw(25, 5)) and took < 60
