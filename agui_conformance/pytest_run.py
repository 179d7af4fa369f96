"""The pytest face's engine run: one `suite.run` per test run, however many workers.

Owns turning the plugin's options into the same `RunnerConfig` and `suite.Plan` that
`agui-conformance run` builds, and running that plan once per test run.

Serially, the pytest process runs it when its first agui item runs, over every
selected case. Under pytest-xdist every worker collects and selects the same items;
the first worker to reach an agui item claims a lock file in a folder the controller
made (its path and the seed travel in `workerinput`), runs the engine over every
selected case and writes the Report there. The other workers wait for that file
(while the worker that claimed the lock lives, and never past a deadline), and each
item reads its case's result. The controller reads the same Report for the closing
summary and `--agui-json` / `--agui-html`. So `-n` never sends a case twice, never
splits the capabilities cross-check or the fail-fast watch, and does not make the
agent's work parallel: `--agui-concurrency` does (docs/ci.md has the measurements).

It knows nothing of pytest: the plugin passes the options and what was selected.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from agui_conformance.baseline import Baseline
from agui_conformance.cases import Case
from agui_conformance.model import (
    CaseResult,
    ConfigInfo,
    Level,
    Report,
    dump_report,
    fail_level,
    load_report,
)
from agui_conformance.runner import RunnerConfig
from agui_conformance.transport import Deadlines

REPORT_FILE = "report.json"
ERROR_FILE = "error.txt"
LOCK_FILE = "engine.lock"
POLL_S = 0.1


class EngineProblem(Exception):
    """The run cannot go on (unreachable agent, a bad declaration file, a crash of the
    worker running the suite): one line for the user, never a finding."""


@dataclass
class Options:
    """The plugin's options, as `agui-conformance run` has them."""

    url: str | None  # None: the built-in reference agent
    headers: dict[str, str]
    header_env: dict[str, str]
    profile: str = "spec"
    fail_on: str = "error"
    auth_required: bool = False
    deadlines: Deadlines = field(default_factory=Deadlines)
    concurrency: int = 4
    examples: int = 25
    seed: int = 0
    capabilities: str | None = None
    baseline: Baseline | None = None
    baseline_file: str = ""
    behaviour: bool = False
    binding: str = "sse"  # sse | protobuf | both (agui_conformance.bindings)
    min_coverage: float | None = None  # percent of applicable rules the verdict needs
    generated_budget: float = 300.0  # seconds the generated inputs may take, shrinking included
    config: ConfigInfo | None = None  # the configuration file read, and what it set
    cases_path: str | None = None  # --agui-cases
    no_preflight: bool = False
    rule_args: list[str] = field(default_factory=list)  # the line's --select/--ignore/--level

    @property
    def threshold(self) -> Level:
        return fail_level(self.fail_on)


DEFAULT_DEADLINES = Deadlines()


def run_args(opts: Options) -> list[str]:
    """The session's options as `agui-conformance run` arguments (`Report.runArgs`): the
    target (none for the built-in agent, which a reproducer starts again), its headers
    (secrets as env: references) and every option that decides the verdict, so the
    reproducers of the pytest face are `run`'s (`reproduce.case_command`)."""
    import shlex

    from agui_conformance.reproduce import target_args

    secret = runner_config(opts, opts.url or "").secret_headers
    args = target_args(opts.url, opts.headers, secret, opts.header_env)
    flags = {"--auth-required": opts.auth_required, "--no-preflight": opts.no_preflight,
             "--behaviour": opts.behaviour}  # fmt: skip
    args += [flag for flag, given in flags.items() if given]
    valued: list[tuple[str, object, object]] = [
        ("--profile", opts.profile, "spec"),
        ("--fail-on", opts.fail_on, "error"),
        ("--cases", opts.cases_path, None),
        ("--first-byte-timeout", opts.deadlines.first_byte, DEFAULT_DEADLINES.first_byte),
        ("--idle-timeout", opts.deadlines.idle, DEFAULT_DEADLINES.idle),
        ("--total-timeout", opts.deadlines.total, DEFAULT_DEADLINES.total),
        ("--concurrency", opts.concurrency, 4),
        ("--generated-budget", opts.generated_budget, 300.0),
        ("--baseline", opts.baseline_file or None, None),
        ("--capabilities", opts.capabilities, None),
        ("--binding", opts.binding, "sse"),
    ]  # not --min-coverage, as `run`'s: one case again would never reach the coverage
    for flag, value, default in valued:
        if value is not None and value != default:
            args += [flag, shlex.quote(str(value))]
    return args + [shlex.quote(arg) for arg in opts.rule_args]


@dataclass
class Selection:
    """What the session selected: scenario cases, generated inputs, the declaration."""

    cases: list[Case]
    generated: bool = False
    capabilities: bool = False


def runner_config(opts: Options, url: str) -> RunnerConfig:
    return RunnerConfig(
        url=url,
        headers=opts.headers,
        profile=opts.profile,
        deadlines=opts.deadlines,
        auth_required=opts.auth_required,
        header_env=opts.header_env,
        concurrency=opts.concurrency,
        behaviour=opts.behaviour,
        generated_budget=opts.generated_budget,
        binding=opts.binding,
    )


def preflight_problem(opts: Options) -> str | None:
    """The CLI's preflight: one request before the suite; a URL, path or auth problem
    as one line (None when the suite should run)."""
    from agui_conformance import aio
    from agui_conformance.preflight import preflight

    if opts.url is None:
        return None
    try:
        problem = aio.run(
            preflight(opts.url, opts.headers, opts.deadlines, auth_required=opts.auth_required)
        )
    except Exception as err:  # a bug of ours: one line, not a traceback
        return f"internal error in the preflight request: {type(err).__name__}"
    return None if problem is None else problem.message


def run_engine(opts: Options, selection: Selection) -> Report:
    """`suite.run` over the selection, as `agui-conformance run` calls it."""
    from agui_conformance import suite
    from agui_conformance.redact import redact_url

    with contextlib.ExitStack() as stack:
        url = opts.url
        capabilities = opts.capabilities if selection.capabilities else None
        if url is None:
            from reference_agent.server import running_agent

            url = stack.enter_context(running_agent()).url
            if selection.capabilities and capabilities is None:
                capabilities = url.rstrip("/") + "/capabilities"
        plan = suite.Plan(
            selection.cases,
            examples=opts.examples if selection.generated else 0,
            seed=opts.seed,
            fail_on=opts.threshold,
            fail_on_name=opts.fail_on,
            capabilities=capabilities,
            baseline=opts.baseline,
            baseline_file=opts.baseline_file,
            min_coverage=opts.min_coverage,
        )
        return suite.run(runner_config(opts, url), plan, shown_target=redact_url(url))


def _write_atomic(path: Path, text: str) -> None:
    part = path.with_suffix(".part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's process: it exists
        return True
    return True


class SharedRun:
    """The test run's one engine run, shared through `folder` by every process."""

    def __init__(self, folder: Path, opts: Options) -> None:
        self.folder = folder
        self.opts = opts
        self._report: Report | None = None
        self._by_id: dict[str, CaseResult] = {}

    def remove(self) -> None:
        """Delete the shared folder (the controller, at the end of the test run)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def load(self) -> Report | None:
        """The Report some process wrote, if any (the controller's view)."""
        path = self.folder / REPORT_FILE
        if self._report is None and path.is_file():
            self._report = load_report(path.read_bytes())
        return self._report

    def result(self, case_id: str, selection: Selection) -> CaseResult:
        """This case's result, running the engine first if no process has."""
        if not self._by_id:
            report = self._obtain(selection)
            self._by_id = {case.id: case for case in report.cases}
        try:
            return self._by_id[case_id]
        except KeyError:
            raise EngineProblem(f"the suite's report has no case {case_id!r}") from None

    def _obtain(self, selection: Selection) -> Report:
        lock = self.folder / LOCK_FILE
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            fd = -1
        if fd < 0:
            return self._wait(lock, selection)
        with os.fdopen(fd, "w") as out:
            out.write(str(os.getpid()))
        try:
            report = run_engine(self.opts, selection)
        except Exception as err:
            message = str(err) if isinstance(err, EngineProblem | ValueError) else ""
            message = message or f"internal error in the suite run: {type(err).__name__}: {err}"
            _write_atomic(self.folder / ERROR_FILE, message)
            raise EngineProblem(message) from None
        _write_atomic(self.folder / REPORT_FILE, dump_report(report).decode())
        self._report = report
        return report

    def _wait(self, lock: Path, selection: Selection) -> Report:
        """Another process runs the engine: wait for its Report while it lives."""
        cases = len(selection.cases) + 2
        deadline = time.monotonic() + self.opts.deadlines.total * cases + 60.0
        while time.monotonic() < deadline:
            report = self.load()
            if report is not None:
                return report
            error = self.folder / ERROR_FILE
            if error.is_file():
                raise EngineProblem(error.read_text(encoding="utf-8"))
            text = lock.read_text(encoding="utf-8").strip() if lock.is_file() else ""
            if text.isdigit() and not _alive(int(text)):
                if (self.folder / REPORT_FILE).is_file():
                    continue  # written just before it ended
                raise EngineProblem("the pytest worker running the suite ended without a report")
            time.sleep(POLL_S)
        raise EngineProblem("no report from the pytest worker running the suite in time")
