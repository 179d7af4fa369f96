"""`--capabilities` reads the declaration under the caps and deadlines of every exchange
(issue "Bounded everywhere", item 5).

An agent whose capabilities URL streamed a body without end made `run` read it whole: a
MemoryError traceback, exit 1, no report (1.3 GB in 11 s under a 10 s total deadline).
Now the body is read to 1 MiB at most, within the first-byte, idle and total deadlines,
and a declaration not read whole leaves the case `inconclusive` in a written report.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi.responses import StreamingResponse

from agui_conformance import capabilities
from agui_conformance.transport import Deadlines
from tests.bounded_run import run_cli
from tests.hostile_agents import agent, conformant_run, serve_app


def _declaring(body: AsyncIterator[bytes] | None, *, headers_after: float = 0.0) -> object:
    """A conformant agent whose GET /capabilities answers `body` (after `headers_after`
    seconds without any answer)."""
    app = agent(conformant_run)

    @app.get("/capabilities")
    async def declared() -> StreamingResponse:
        await asyncio.sleep(headers_after)

        async def empty() -> AsyncIterator[bytes]:
            yield b"{}"

        return StreamingResponse(body or empty(), media_type="application/json")

    return app


async def _endless() -> AsyncIterator[bytes]:
    yield b'{"custom": {"note": "'
    chunk = b"a" * 65536
    while True:
        yield chunk
        await asyncio.sleep(0)  # let the server notice the client leaving


async def _drip(every: float) -> AsyncIterator[bytes]:
    yield b'{"custom": {"note": "'
    while True:
        await asyncio.sleep(every)
        yield b"a"


@pytest.mark.slow
def test_an_endless_declaration_is_cut_at_the_cap_and_the_run_reports(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    with serve_app(_declaring(_endless())) as url:
        done = run_cli(
            [
                "run", "--agent-url", url, "-k", "minimal-input", "--examples", "0",
                "--no-preflight", "--no-html", "--json", str(report_path),
                "--total-timeout", "20", "--capabilities", url + "capabilities",
            ],
            timeout=90,
        )  # fmt: skip
    assert not done.timed_out, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-2000:]
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert done.peak_rss < 300 << 20, done.peak_rss >> 20  # was 1.3 GB in 10 s, then MemoryError
    assert done.seconds < 15, done.seconds  # the cap, not the 20 s deadline, ended it
    report = json.loads(report_path.read_text())
    case = next(c for c in report["cases"] if c["id"] == "capabilities")
    assert case["status"] == "inconclusive"
    assert "passed 1,048,576 bytes" in case["reason"]


def _fetch(url: str, deadlines: Deadlines) -> tuple[capabilities.Declaration, float]:
    started = time.monotonic()
    declared = asyncio.run(capabilities.fetch(url + "capabilities", {}, deadlines))
    return declared, time.monotonic() - started


def test_a_dripping_declaration_ends_at_the_total_deadline() -> None:
    deadlines = Deadlines(connect=1, first_byte=1, idle=1, total=1.5)
    with serve_app(_declaring(_drip(0.1))) as url:
        declared, took = _fetch(url, deadlines)
    assert declared.value is None and declared.error is None
    assert declared.cut is not None and "total 1.5 s" in declared.cut
    assert 1.4 < took < 4, took


def test_a_stalled_declaration_ends_at_the_idle_deadline() -> None:
    deadlines = Deadlines(connect=1, first_byte=1, idle=0.5, total=20)
    with serve_app(_declaring(_drip(30))) as url:
        declared, took = _fetch(url, deadlines)
    assert declared.cut is not None and "idle 0.5 s" in declared.cut
    assert took < 3, took


def test_headers_that_never_come_end_at_the_first_byte_deadline() -> None:
    deadlines = Deadlines(connect=1, first_byte=0.5, idle=5, total=20)
    with serve_app(_declaring(None, headers_after=30)) as url:
        declared, took = _fetch(url, deadlines)
    assert declared.cut == "no answer within 0.5 s (first-byte deadline)"
    assert took < 3, took


def test_a_small_declaration_is_still_read_whole() -> None:
    with serve_app(_declaring(None)) as url:
        declared, _ = _fetch(url, Deadlines())
    assert (declared.status, declared.value, declared.cut, declared.error) == (200, {}, None, None)


def test_a_declaration_one_byte_past_the_cap_is_cut(tmp_path: Path) -> None:
    at_cap = tmp_path / "at.json"
    at_cap.write_bytes(b'{"custom": {"n": "' + b"a" * (100 - 21) + b'"}}')
    assert at_cap.stat().st_size == 100
    assert capabilities.read_file(str(at_cap), max_bytes=100).value is not None
    declared = capabilities.read_file(str(at_cap), max_bytes=99)
    assert declared.value is None and declared.cut is not None and "99 bytes" in declared.cut

    async def body() -> AsyncIterator[bytes]:
        yield at_cap.read_bytes()

    with serve_app(_declaring(body())) as url:
        cut = asyncio.run(capabilities.fetch(url + "capabilities", {}, Deadlines(), max_bytes=99))
    assert cut.cut is not None and cut.value is None
