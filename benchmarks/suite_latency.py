"""The suite's wall time against a slow agent: not a test, a report.

Serves the reference agent (`create_app(AgentConfig())`) under uvicorn in a thread of this
process on a free loopback port, wrapped in an ASGI middleware that sleeps a fixed latency
before passing each POST through (GET /health and the like untouched): an agent whose
first token takes that long, like an LLM's. Then runs the default suite against it exactly
as `agui-conformance run --agent-url URL --no-preflight` does (the same `Plan` and
`RunnerConfig`, then `agui_conformance.suite.run`), at each latency and each concurrency,
and prints the wall time of `suite.run` (every case, then the generated inputs, the
requirement matrix and the report object: what a user waits for between the preflight and
the reports being written, none of which depends on the agent's latency).

The two phases are timed apart: the cases phase ends when the last case's result reaches
`on_result` (every case task is done by then), the generated phase is the generated-inputs
case's own `durationMs` (hypothesis runs the examples one after another, whatever
`--concurrency` says). POSTs are counted by the middleware, as the agent saw them.

    python benchmarks/suite_latency.py [--latencies 0,0.5,2] [--concurrency 1,4] [--examples 25]
    python benchmarks/suite_latency.py --quick    # --examples 5 --latencies 0,0.5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn

from agui_conformance import suite
from agui_conformance.cases import Case, all_cases
from agui_conformance.cli import verdict_text
from agui_conformance.model import CaseResult, Level, Report
from agui_conformance.runner import RunnerConfig
from agui_conformance.transport import Deadlines
from reference_agent.server import AgentConfig, create_app, free_port

Scope = dict[str, Any]
ASGIApp = Callable[..., Any]


class Latency:
    """ASGI middleware: sleeps `seconds` before passing each POST through, and counts them."""

    def __init__(self, app: ASGIApp, seconds: float = 0.0) -> None:
        self.app = app
        self.seconds = seconds
        self.posts = 0  # only the server's thread writes it

    async def __call__(
        self, scope: Scope, receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.posts += 1
            if self.seconds > 0:
                await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


@contextlib.contextmanager
def latent_agent(host: str = "127.0.0.1") -> Iterator[tuple[str, Latency]]:
    """The wrapped reference agent in a background thread (as `running_agent` serves it)."""
    app = Latency(create_app(AgentConfig()))
    port = free_port(host)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"latent-agent-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the agent did not start on {host}:{port}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}/", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Sample:
    latency: float
    concurrency: int
    wall: float  # suite.run
    cases_phase: float
    generated_phase: float | None
    cases: int  # results in the report
    runs: int  # runs recorded across the cases
    posts_cases: int
    posts_generated: int
    verdict: str
    failing: list[str]
    slowest: CaseResult | None


def run_once(
    url: str, agent: Latency, cases: list[Case], examples: int, seed: int, concurrency: int
) -> Sample:
    """One suite run, built as `agui-conformance run --agent-url URL --no-preflight` builds it
    (profile spec, fail-on error, the CLI's default deadlines; no capabilities check: the
    CLI only adds it for the reference agent it starts itself)."""
    plan = suite.Plan(cases, examples, seed if examples else None, Level.ERROR, "error", None)
    cfg = RunnerConfig(
        url=url,
        headers={},
        profile="spec",
        deadlines=Deadlines(first_byte=15.0, idle=30.0, total=120.0),
        auth_required=False,
        header_env={},
        concurrency=concurrency,
    )
    agent.posts = 0
    seen: list[CaseResult] = []
    marks: dict[str, float] = {}

    def on_result(result: CaseResult) -> None:
        seen.append(result)
        if len(seen) == len(cases):  # the last case: every case task has ended
            marks["cases"] = time.perf_counter()
            marks["posts"] = agent.posts

    start = time.perf_counter()
    report = suite.run(cfg, plan, shown_target=url, on_result=on_result)
    wall = time.perf_counter() - start
    return sample(report, agent, wall, marks, start, concurrency)


def sample(
    report: Report,
    agent: Latency,
    wall: float,
    marks: dict[str, float],
    start: float,
    concurrency: int,
) -> Sample:
    generated = next((c for c in report.cases if c.id == suite.GENERATED), None)
    scenario = [c for c in report.cases if c.id != suite.GENERATED]
    posts_cases = int(marks.get("posts", agent.posts))
    assert report.summary is not None
    return Sample(
        latency=agent.seconds,
        concurrency=concurrency,
        wall=wall,
        cases_phase=marks.get("cases", start + wall) - start,
        generated_phase=(generated.durationMs or 0) / 1000 if generated else None,
        cases=len(report.cases),
        runs=sum(len(c.runs) for c in report.cases),
        posts_cases=posts_cases,
        posts_generated=agent.posts - posts_cases,
        # the word alone: the verdict line also carries the coverage
        verdict="PASS" if report.summary.passed else verdict_text(report.summary),
        failing=[
            f"{c.id} ({c.status}: {c.reason})"
            for c in report.cases
            if c.status not in ("passed", "not-applicable")
        ],
        slowest=max(scenario, key=lambda c: c.durationMs or 0, default=None),
    )


def floats(text: str) -> list[float]:
    values = [float(v) for v in text.split(",") if v.strip()]
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("a comma-separated list of seconds >= 0")
    return values


def ints(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("a comma-separated list of integers >= 1")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latencies", type=floats, help="seconds per POST (default 0,0.5,2)")
    parser.add_argument("--concurrency", type=ints, default=[1, 4], help="default 1,4")
    parser.add_argument("--examples", type=int, help="generated inputs (default 25)")
    parser.add_argument("--seed", type=int, default=1, help="for generated inputs (default 1)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per cell; the median shown")
    parser.add_argument("--quick", action="store_true", help="--examples 5 --latencies 0,0.5")
    args = parser.parse_args()
    latencies = args.latencies or ([0.0, 0.5] if args.quick else [0.0, 0.5, 2.0])
    examples = args.examples if args.examples is not None else (5 if args.quick else 25)
    cases = all_cases(None)  # the default suite, as `run` loads it
    samples: list[Sample] = []
    with latent_agent() as (url, agent):
        agent.seconds = 0.0  # warm-up: imports, hypothesis, the first connections
        run_once(url, agent, cases, min(examples, 2), args.seed, max(args.concurrency))
        for latency in latencies:
            agent.seconds = latency
            for concurrency in args.concurrency:
                rounds = [
                    run_once(url, agent, cases, examples, args.seed, concurrency)
                    for _ in range(max(1, args.rounds))
                ]
                rounds.sort(key=lambda s: s.wall)
                samples.append(rounds[len(rounds) // 2])
    report(samples, len(cases), examples, args)


def report(samples: list[Sample], n_cases: int, examples: int, args: argparse.Namespace) -> None:
    print(
        f"{n_cases} scenario cases + {examples} generated inputs (seed {args.seed}), "
        f"{max(1, args.rounds)} run(s) per cell (the median's wall shown); wall = suite.run; "
        f"speed-up: over concurrency {samples[0].concurrency} at the same latency"
    )
    print()
    print(
        "| latency | concurrency | wall | cases phase | generated phase | cases | runs "
        "| POSTs (cases + generated) | speed-up, wall | speed-up, cases phase | verdict |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    base: dict[float, Sample] = {}
    for s in samples:
        first = base.setdefault(s.latency, s)
        gen = "–" if s.generated_phase is None else f"{s.generated_phase:.1f} s"
        if s is first:
            speed_wall = speed_cases = "–"
        else:
            speed_wall = f"{first.wall / s.wall:.2f}x"
            speed_cases = f"{first.cases_phase / s.cases_phase:.2f}x"
        print(
            f"| {s.latency:g} s | {s.concurrency} | {s.wall:.1f} s | {s.cases_phase:.1f} s "
            f"| {gen} | {s.cases} | {s.runs} | {s.posts_cases} + {s.posts_generated} "
            f"| {speed_wall} | {speed_cases} | {s.verdict} |"
        )
    print()
    for s in samples:
        if s.slowest is not None and s.concurrency == max(args.concurrency):
            print(
                f"latency {s.latency:g} s, concurrency {s.concurrency}: slowest case "
                f"{s.slowest.id} {(s.slowest.durationMs or 0) / 1000:.1f} s "
                f"({len(s.slowest.runs)} runs), a floor for the cases phase at any concurrency"
            )
    verdicts = {s.verdict for s in samples}
    for latency in base:
        at = {s.verdict for s in samples if s.latency == latency}
        if len(at) > 1:
            print(f"WARNING: at latency {latency:g} s the verdict depends on the concurrency")
    if verdicts == {"PASS"}:
        print("verdict: PASS in every run")
        return
    for s in samples:
        if s.verdict != "PASS":
            print(
                f"WARNING: latency {s.latency:g} s, concurrency {s.concurrency}: {s.verdict}; "
                f"failing: {'; '.join(s.failing) or 'none listed'}"
            )


if __name__ == "__main__":
    main()
