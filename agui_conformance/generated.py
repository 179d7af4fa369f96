"""Generated inputs: RunAgentInputs drawn by hypothesis, sent to the agent, a failure shrunk.

Owns the generated-inputs case. The examples hypothesis tries first are drawn without any
I/O and sent `cfg.concurrency` at a time (a slow agent costs its latency once per batch, not
once per example). Only when one fails does hypothesis run for real, serially, to shrink
it: the examples already judged are answered from the first pass, so only the shrink steps
reach the agent. An agent that answers nothing stops the phase at once (silence is never
shrunk). The minimal failing input is reported with its seed and a curl reproducer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from agui_conformance.model import CaseResult, Level, RunRecord
from agui_conformance.redact import scrub_result
from agui_conformance.runner import RunnerConfig, curl_reproducer, examine, verdict
from agui_conformance.transport import exchange, new_client

GENERATED = "generated-inputs"
SHRINK_BUDGET_S = 30.0  # wall-clock time shrinking may spend on new requests to the agent


@dataclass
class _Judged:
    """One generated input's exchange, judged."""

    record: RunRecord
    bad: bool  # a finding at or above the fail-on level
    unanswered: bool
    covered: list[str] = field(default_factory=list)


def _key(generated: dict[str, Any]) -> bytes:
    return orjson.dumps(generated, option=orjson.OPT_SORT_KEYS)


def _settings(examples: int, seed: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    from hypothesis import HealthCheck, settings
    from hypothesis import seed as with_seed

    def apply(test: Callable[..., None]) -> Callable[..., None]:
        configured = settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )(test)
        wrapped: Callable[..., None] = with_seed(seed)(configured)
        return wrapped

    return apply


def draw(examples: int, seed: int) -> list[dict[str, Any]]:
    """The inputs hypothesis tries first for `seed`, in order, with no I/O (the same ones a
    run whose every example passes sends)."""
    from hypothesis import given

    from agui_conformance.strategies import run_agent_inputs

    drawn: list[dict[str, Any]] = []

    @_settings(examples, seed)
    @given(run_agent_inputs())
    def collect(generated: dict[str, Any]) -> None:
        drawn.append(generated)

    collect()
    return drawn


async def _judge_one(
    cfg: RunnerConfig, client: httpx.AsyncClient, generated: dict[str, Any], fail_on: Level
) -> _Judged | str:
    """Send one input on fresh ids; a harness error comes back as its text."""
    from agui_conformance.cases import Ids

    ids = Ids()
    body_obj = {**generated, "threadId": ids.thread, "runId": ids.fresh("run")}
    body = orjson.dumps(body_obj)
    record = await exchange(
        cfg.url,
        body,
        headers=cfg.headers,
        deadlines=cfg.deadlines,
        max_bytes=cfg.max_bytes,
        secret_headers=cfg.secret_headers,
        client=client,
    )
    if record.harness_error is not None:
        return record.harness_error
    run, _ = examine(record, body_obj, body, "run", cfg.profile)
    return _Judged(
        record=run,
        bad=any(f.level.rank >= fail_on.rank for f in run.findings),
        unanswered=run.outcome == "unresponsive",
        covered=list(run.exercised),
    )


async def _first_pass(
    cfg: RunnerConfig, inputs: list[dict[str, Any]], fail_on: Level
) -> list[_Judged | str | None]:
    """Every input, `cfg.concurrency` at a time; once one got no answer (or a harness
    error), those not yet sent are skipped (None)."""
    gate = asyncio.Semaphore(max(1, cfg.concurrency))
    stop = False

    async def one(generated: dict[str, Any], client: httpx.AsyncClient) -> _Judged | str | None:
        nonlocal stop
        async with gate:
            if stop:
                return None
            judged = await _judge_one(cfg, client, generated, fail_on)
            if isinstance(judged, str) or judged.unanswered:
                stop = True
            return judged

    pool = max(20, 4 * cfg.concurrency)
    async with new_client(cfg.deadlines, max_connections=pool) as client:
        return list(await asyncio.gather(*(one(g, client) for g in inputs)))


def run_generated(
    cfg: RunnerConfig, examples: int, seed: int, fail_on: Level = Level.ERROR
) -> CaseResult:
    """Send `examples` generated RunAgentInputs; a failure is shrunk to a minimal input
    and reported with its seed and a curl reproducer."""
    from agui_conformance import aio

    started = time.perf_counter()
    result = CaseResult(
        id=GENERATED,
        title=f"{examples} generated RunAgentInputs (seed {seed})",
        requirements=["INPUT-001", "PROC-002"],
        expect="run",
        status="passed",
    )
    inputs = draw(examples, seed)
    judged = aio.run(_first_pass(cfg, inputs, fail_on))
    covered: set[str] = set()
    for item in judged:
        if isinstance(item, _Judged):
            covered.update(item.covered)
    broken = next((item for item in judged if isinstance(item, str)), None)
    silent = next((i for i in judged if isinstance(i, _Judged) and i.unanswered), None)
    reproduce = ""
    if broken is not None:
        result.status, result.reason = "harness-error", broken
    elif silent is not None:
        result.runs = [silent.record]  # no answer: reported as it is, never shrunk
    elif any(isinstance(item, _Judged) and item.bad for item in judged):
        cache = {
            _key(g): item
            for g, item in zip(inputs, judged, strict=True)
            if isinstance(item, _Judged)
        }
        minimal, more = _shrink(cfg, examples, seed, fail_on, cache)
        covered.update(more)
        if isinstance(minimal, str):
            result.status, result.reason = "harness-error", minimal
        else:
            result.runs = [minimal]
            if minimal.outcome != "unresponsive":
                reproduce = (  # the whole command: the report's, with the run's options
                    f"failing input shrunk to a minimal example (seed {seed}); reproduce: "
                    f"the run's command with -k {GENERATED} --examples {examples} --seed {seed}"
                )
                minimal.request = {
                    "input": minimal.request,
                    "curl": curl_reproducer(cfg, orjson.dumps(minimal.request)),
                }
    result.exercised = sorted(covered)
    if result.status != "harness-error":
        verdict(result, fail_on)
    if reproduce:
        result.reason = f"{result.reason}; {reproduce}" if result.reason else reproduce
    result.durationMs = round((time.perf_counter() - started) * 1000, 1)
    return scrub_result(result, cfg.url, cfg.headers, cfg.secret_headers)


def _shrink(
    cfg: RunnerConfig,
    examples: int,
    seed: int,
    fail_on: Level,
    cache: dict[bytes, _Judged],
) -> tuple[RunRecord | str, set[str]]:
    """Hypothesis for real, serially: the examples already judged come from `cache`, the
    shrink steps go to the agent (once each). Returns the minimal failing record (or a
    harness error's text) and the rules the shrink steps exercised."""
    from hypothesis import given

    from agui_conformance.strategies import run_agent_inputs

    failing: list[RunRecord] = []
    stopped: list[RunRecord | str] = []
    covered: set[str] = set()
    loop = asyncio.new_event_loop()  # one loop and one client for every shrink step
    client = new_client(cfg.deadlines)

    budget_ends = time.monotonic() + SHRINK_BUDGET_S

    @_settings(examples, seed)
    @given(run_agent_inputs())
    def check(generated: dict[str, Any]) -> None:
        if stopped:
            return  # every further step is a no-op
        item = cache.get(_key(generated))
        if item is None and failing and time.monotonic() > budget_ends:
            return  # out of shrinking time: the smallest failure so far is the answer
        if item is None:
            fresh = loop.run_until_complete(_judge_one(cfg, client, generated, fail_on))
            if isinstance(fresh, str):
                stopped.append(fresh)
                raise RuntimeError(fresh)
            item = cache[_key(generated)] = fresh  # hypothesis replays the minimal one
            covered.update(item.covered)
        if item.unanswered:
            stopped.append(item.record)
            raise AssertionError("no answer")
        if item.bad:
            failing.append(item.record)
            raise AssertionError("finding(s)")

    try:
        check()
    except Exception:
        if stopped and not failing:
            return stopped[0], covered
        if not failing:
            raise
    else:  # the failure did not come back (a flaky agent): report the first one seen
        first = next(item for item in cache.values() if item.bad)
        return first.record, covered
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
    return failing[-1], covered  # hypothesis replays the shrunk example last
