"""A whole suite run: cases, generated inputs, matrix and verdict, as one `Report`.

Owns the order of a run (the scenario cases, then the generated inputs, then the
capabilities declaration), its timing, the expected-failures baseline, and the
optional second pass against the reference agent that fills the report's
comparison column. Both faces call `run` with a `RunnerConfig` (target, headers,
profile, deadlines, concurrency) and a `Plan` (cases, seed, threshold,
capabilities, baseline): `agui-conformance run` and the pytest plugin
(`pytest_run`), so their statuses, findings and level agree. They only choose what
to run and where the report goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from agui_conformance import aio, once
from agui_conformance.baseline import Baseline
from agui_conformance.cases import Case
from agui_conformance.generated import GENERATED, run_generated
from agui_conformance.matrix import attach_reference, requirements, summarize
from agui_conformance.model import CaseResult, Level, Report, RunRecord, SentRequest, ToolInfo
from agui_conformance.redact import scrub_result
from agui_conformance.reproduce import suite_command
from agui_conformance.runner import RunnerConfig, Watch, run_suite, verdict

__all__ = ["GENERATED", "Plan", "run"]


@dataclass
class Plan:
    cases: list[Case]
    examples: int = 0
    seed: int | None = None
    fail_on: Level = Level.ERROR
    fail_on_name: str = "error"
    capabilities: str | None = None  # a declaration to check: http(s) URL or file path
    min_coverage: float | None = None  # percent of applicable rules exercised the verdict needs
    baseline: Baseline | None = None  # expected failures, compared after the run
    baseline_file: str = ""  # where `baseline` came from (shown in the report)
    maxfail: int | None = None  # stop after this many failed cases (the rest not-run)

    @property
    def total(self) -> int:
        return len(self.cases) + (1 if self.examples else 0) + (1 if self.capabilities else 0)


def _results(
    cfg: RunnerConfig, plan: Plan, on_result: Callable[[CaseResult], None] | None
) -> list[CaseResult]:
    watch = Watch(maxfail=plan.maxfail)
    results = aio.run(run_suite(plan.cases, cfg, plan.fail_on, on_result=on_result, watch=watch))
    if plan.examples and plan.seed is not None:
        if watch.tripped:
            generated = CaseResult(
                id=GENERATED,
                title=f"{plan.examples} generated RunAgentInputs (seed {plan.seed})",
                requirements=["INPUT-001", "PROC-002"],
                expect="run",
                status="not-run",
                reason=watch.reason,
            )
        else:
            generated = run_generated(cfg, plan.examples, plan.seed, plan.fail_on)
        results.append(generated)
        if on_result is not None:
            on_result(generated)
    for case in once.fold(results):
        verdict(case, plan.fail_on)
    if plan.capabilities is not None:
        declared = aio.run(capabilities_case(cfg, plan.capabilities, results, plan.fail_on))
        scrub_result(declared, cfg.url, cfg.headers, cfg.secret_headers)  # a body may echo them
        results.append(declared)
        if on_result is not None:
            on_result(declared)
    return results


async def capabilities_case(
    cfg: RunnerConfig, source: str, results: list[CaseResult], fail_on: Level
) -> CaseResult:
    """The agent's declaration: its shape, and what it declares false against the streams."""
    from agui_conformance import capabilities
    from agui_conformance.redact import redact_headers, redact_url
    from agui_conformance.validator import StreamValidator

    case = CaseResult(
        id="capabilities",
        title="The capabilities declaration: its shape, and whether it holds on the wire",
        requirements=["CAP-001", "CAP-002", "CAP-003", "CAP-005", "CAP-007"],
        expect="declaration",
        status="passed",
    )
    remote = source.startswith(("http://", "https://"))
    if remote:
        declared = await capabilities.fetch(source, cfg.headers, cfg.deadlines)
    else:
        declared = capabilities.read_file(source)
    if declared.cut is not None:
        case.status = "inconclusive"  # the harness stopped reading: no evidence either way
        case.reason = f"the declaration was not read whole: {declared.cut}"
        return case
    if declared.error is not None:
        case.status = "not-applicable"
        case.reason = f"no declaration to check ({declared.error}); a missing one is legal"
        return case
    checker = StreamValidator(profile=cfg.profile)
    checker.add_hits(capabilities.check_shape(declared.value))
    checker.add_hits(capabilities.cross_check(declared.value, results))
    asked, unserved = capabilities.binary_unserved(declared.value, results)
    checker.add_hits(unserved)
    case.runs.append(
        RunRecord(
            request=(
                SentRequest(method="GET", url=redact_url(source))
                if remote
                else SentRequest(method="READ", file=source)
            ),
            requestHeaders=redact_headers(cfg.headers, cfg.secret_headers) if remote else {},
            status=declared.status,
            responseHeaders={},
            timing={},
            events=[declared.value],
            findings=checker.result().findings,
            exercised=[
                "capabilities-malformed",
                "capabilities-contradicted",
                *(["proto-not-served"] if asked else []),
            ],
            outcome="read",
        )
    )
    return verdict(case, fail_on)


def run(
    cfg: RunnerConfig,
    plan: Plan,
    *,
    shown_target: str,
    on_result: Callable[[CaseResult], None] | None = None,
    reference: RunnerConfig | None = None,
) -> Report:
    """Run `plan` against `cfg.url`; with `reference`, run it there too and compare."""
    from agui_conformance import __version__

    started = datetime.now(UTC)
    clock = time.perf_counter()
    results = _results(cfg, plan, on_result)
    duration = time.perf_counter() - clock
    reqs = requirements(results, cfg.profile, plan.fail_on)
    if reference is not None:
        # the whole plan there: -x stops the target's run, not the comparison column
        ref_results = _results(reference, replace(plan, maxfail=None), None)
        attach_reference(
            reqs, results, requirements(ref_results, cfg.profile, plan.fail_on), ref_results
        )
    report = Report(
        tool=ToolInfo(version=__version__),
        target=shown_target,
        profile=cfg.profile,
        failOn=plan.fail_on_name,
        seed=plan.seed if plan.examples else None,
        examples=plan.examples,
        startedAt=started.isoformat(timespec="seconds"),
        durationS=round(duration, 3),
        command=suite_command(
            shown_target,
            profile=cfg.profile,
            headers=cfg.headers,
            secret=cfg.secret_headers,
            examples=plan.examples or None,
            seed=plan.seed if plan.examples else None,
            env=cfg.header_env,
        ),
        headerEnv=cfg.header_env,
        summary=summarize(results, reqs, plan.min_coverage),
        requirements=reqs,
        cases=results,
    )
    if plan.baseline is not None:
        apply_baseline(report, plan.baseline, plan.fail_on, plan.baseline_file)
    return report


def mark_and_summarize(report: Report) -> None:
    """Cases whose every failure is known become `known-failure`; the verdict follows."""
    from agui_conformance.baseline import mark_known

    if report.baseline is None:
        return
    mark_known(report.cases, report.baseline)
    before = report.summary.coverage if report.summary is not None else None
    minimum = before.minimum if before is not None else None
    report.summary = summarize(report.cases, report.requirements, minimum)
    assert report.summary.coverage is not None
    report.summary.passed = (
        not report.baseline.new
        and not any(report.summary.cases.get(status) for status in ("harness-error", "not-run"))
        and report.summary.coverage.met
    )


def apply_baseline(report: Report, accepted: Baseline, fail_on: Level, file: str) -> None:
    """Set `report` against an expected-failures baseline."""
    from agui_conformance.baseline import compare

    report.baseline = compare(report.cases, accepted, fail_on, file)
    mark_and_summarize(report)
