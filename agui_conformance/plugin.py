"""pytest plugin (entry point `pytest11: agui`).

Owns the pytest face of the runner: `pytest --agent-url URL` (or
`--agui-reference` for the built-in reference agent) adds one test item per
scenario case, named `agui[<case-id>]` (every rule), plus one per requirement
it exercises, `agui[<case-id>][LIFE-002]` (only the rules deciding it), marked
with the categories and levels of those rules (so `-m must` or `-m tool_calls`
select); the case runs once and its items share the result;
a case that does not apply is skipped with its reason, never passed. For
users' own tests it offers `assert_conformant`, the `agui_validate` fixture
and the `reference_agent` fixture. The runner does the work; this module only
adapts it to pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from agui_conformance.vocabulary import CATEGORIES, PROFILES

if TYPE_CHECKING:  # the rest is imported where used: pytest loads this module in every run
    from agui_conformance.model import Level, ValidationResult


class ConformanceError(AssertionError):
    """Raised by `assert_conformant` with every finding at or above the threshold."""


def assert_conformant(
    events: Iterable[object],
    *,
    request: Any = None,
    profile: str = "spec",
    fail_on: Level | str = "error",
) -> ValidationResult:
    """Validate `events`; raise `ConformanceError` listing findings at or above `fail_on`
    (a `Level`, or its value: "error", "warning", "info")."""
    from agui_conformance.model import Level
    from agui_conformance.validator import validate_events

    fail_on = Level(fail_on)
    result = validate_events(events, request=request, profile=profile)
    bad = [f for f in result.findings if f.level.rank >= fail_on.rank]
    if bad:
        lines = [f"{len(bad)} finding(s) at or above {fail_on.value} (profile {profile}):"]
        for f in bad:
            where = f"event {f.index}" if f.index is not None else "stream"
            lines.append(f"  {f.level.value} {f.rule} @{where}: {f.message}")
            lines.append(f"    fix: {f.hint}")
        raise ConformanceError("\n".join(lines))
    return result


@pytest.fixture
def agui_validate() -> Callable[..., ValidationResult]:
    """The validator as a fixture: `agui_validate(events, request=..., profile=...)`."""
    from agui_conformance.validator import validate_events

    return validate_events


@pytest.fixture(scope="session")
def reference_agent() -> Any:
    """The reference agent, live on a free loopback port for the whole session.

    Yields an object with `.url` (e.g. "http://127.0.0.1:54321/"), `.host`, `.port`.
    """
    from reference_agent.server import running_agent

    with running_agent() as agent:
        yield agent


# ------------------------------------------------------------------ live agent options

LEVEL_MARKERS = {"MUST": "must", "SHOULD": "should", "MAY": "may"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agui", "AG-UI conformance")
    group.addoption("--agent-url", help="Run the AG-UI conformance cases against this agent.")
    group.addoption(
        "--agui-reference",
        action="store_true",
        help="Run the conformance cases against the built-in reference agent.",
    )
    group.addoption(
        "--agent-header",
        action="append",
        default=[],
        metavar="'Name: value'",
        help="Header for every request (repeatable); `Name: env:VAR` reads the env.",
    )
    group.addoption("--agui-profile", default="spec", choices=list(PROFILES))
    group.addoption(
        "--agui-auth-required",
        action="store_true",
        help="The agent requires the auth headers given (enables auth probes).",
    )
    group.addoption("--agui-fail-on", default="error", choices=["error", "warning", "info"])
    group.addoption(
        "--agui-examples",
        type=int,
        default=0,
        help="Also send N generated RunAgentInputs (hypothesis).",
    )
    group.addoption("--agui-seed", type=int, default=0, help="Seed for generated inputs.")
    group.addoption(
        "--agui-html",
        metavar="PATH",
        help="Write the standalone HTML compliance report of the cases that ran.",
    )
    group.addoption(
        "--agui-json", metavar="PATH", help="Write the JSON report of the cases that ran."
    )
    group.addoption(
        "--agui-cases",
        metavar="DIR",
        help="A folder of your own case files, run with the built-in ones.",
    )
    group.addoption(
        "--agui-baseline",
        metavar="FILE",
        help="Expected-failures baseline: known failures become xfail, new ones fail, fixed "
        "ones are listed as stale in the summary.",
    )


def _markers_for(requirements: list[str]) -> set[str]:
    from agui_conformance.rules import catalog

    marks: set[str] = set()
    for rule in catalog().values():
        if set(rule.checks) & set(requirements):
            marks.add(rule.category.replace("-", "_"))
            marks.add(LEVEL_MARKERS[rule.strength.value])
    return marks


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "agui: an AG-UI conformance case")
    wanted = ("agui_html", "agui_json", "agui_baseline")
    if any(config.getoption(name, None) for name in wanted):
        config.pluginmanager.register(_ReportWriter(config), "agui-report-writer")
    for name in (*LEVEL_MARKERS.values(), *CATEGORIES):
        config.addinivalue_line("markers", f"{name.replace('-', '_')}: AG-UI rules of this kind")


class _Target:
    """The agent under test, started once per session when it is the reference agent."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._stack: Any = None
        self.url: str | None = config.getoption("agent_url")
        self.results: dict[str, Any] = {}  # case id -> CaseResult, run once per process
        self.watch: Any = None  # runner.Watch: fail fast on a silent agent, across items
        self.carried: set[str] = set()  # case ids already attached to a test report
        self._baseline: set[tuple[str, str]] | None = None

    def baseline(self) -> set[tuple[str, str]]:
        """The (case, rule) pairs of --agui-baseline (empty without one)."""
        if self._baseline is None:
            path = self.config.getoption("agui_baseline")
            if path is None:
                self._baseline = set()
            else:
                from agui_conformance import baseline

                try:
                    self._baseline = baseline.load(path).keys()
                except ValueError as err:
                    raise pytest.UsageError(str(err)) from err
        return self._baseline

    def ensure(self) -> str:
        if self.url is None:
            import contextlib

            from reference_agent.server import running_agent

            self._stack = contextlib.ExitStack()
            self.url = self._stack.enter_context(running_agent()).url
        return self.url

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()


def _headers(specs: list[str]) -> dict[str, str]:
    from agui_conformance.transport import headers_from_specs

    try:
        return headers_from_specs(specs)
    except ValueError as err:
        raise pytest.UsageError(f"--agent-header: {err}") from err


def _rules_checking(requirement: str) -> set[str]:
    from agui_conformance.rules import catalog

    return {rule.id for rule in catalog().values() if requirement in rule.checks}


class AguiCaseItem(pytest.Item):
    """One scenario case run against the agent: either the whole case (every rule) or one
    requirement it exercises (only the rules that decide that requirement). The case runs
    once per process; its items share the result."""

    def __init__(
        self, *, case: Any, target: _Target, requirement: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.target = target
        self.requirement = requirement
        self.result: Any = None
        self.add_marker("agui")
        if requirement is not None:
            requirements = [requirement]
        else:
            requirements = case.requirements if case is not None else ["INPUT-001", "PROC-002"]
        for mark in sorted(_markers_for(requirements)):
            self.add_marker(mark)

    def _run(self, threshold: Level) -> Any:
        from agui_conformance.generated import run_generated
        from agui_conformance.runner import RunnerConfig, run_suite

        key = self.case.id if self.case is not None else "generated-inputs"
        if key in self.target.results:
            return self.target.results[key]
        config = self.config
        cfg = RunnerConfig(
            url=self.target.ensure(),
            headers=_headers(config.getoption("agent_header")),
            profile=config.getoption("agui_profile"),
            auth_required=config.getoption("agui_auth_required"),
        )
        if self.case is None:
            examples = config.getoption("agui_examples")
            result = run_generated(cfg, examples, config.getoption("agui_seed"), threshold)
        else:
            from agui_conformance import aio
            from agui_conformance.runner import Watch

            if self.target.watch is None:
                self.target.watch = Watch()
            result = aio.run(run_suite([self.case], cfg, threshold, watch=self.target.watch))[0]
        self.target.results[key] = result
        return result

    def runtest(self) -> None:
        from agui_conformance.model import Level

        threshold = Level(self.config.getoption("agui_fail_on"))
        self.result = self._run(threshold)
        if self.result.status == "not-applicable":
            pytest.skip(f"not applicable: {self.result.reason}")
        if self.result.status == "harness-error":
            raise RuntimeError(f"harness error (not the agent's): {self.result.reason}")
        if self.result.status == "not-run":
            raise ConformanceError(f"AG-UI case {self.name}: {self.result.reason}")
        findings = self.result.findings
        # no answer fails every item of the case: absence of findings is not evidence
        unanswered = [f for f in findings if f.rule == "agent-unresponsive"]
        if self.requirement is not None:
            deciding = _rules_checking(self.requirement)
            if not deciding:
                pytest.skip(
                    f"not checkable: no rule decides {self.requirement} (see docs/coverage.md)"
                )
            findings = [f for f in findings if f.rule in deciding] + unanswered
            seen = set(self.result.exercised).union(*(r.exercised for r in self.result.runs))
            if not findings and not deciding & seen:
                pytest.skip(f"not exercised: no completed exchange reached {self.requirement}")
        bad = [f for f in findings if f.level.rank >= threshold.rank]
        if not bad and self.result.status == "inconclusive":
            pytest.skip(f"inconclusive: {self.result.reason}")
        accepted = self.target.baseline()
        if bad and accepted and all((self.result.id, f.rule) in accepted for f in bad):
            rules = ", ".join(sorted({f.rule for f in bad}))
            pytest.xfail(f"known failure (baseline): {rules}")
        if bad:
            message = _describe(self.name, bad)
            if self.result.status == "agent-error":
                why = f"agent error (not a protocol violation): {self.result.reason}"
                message = why + "\n" + message
            if self.case is None and self.result.runs and "curl" in self.result.runs[0].request:
                message += "\n" + self.result.reason + "\n" + self.result.runs[0].request["curl"]
            raise ConformanceError(message)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ConformanceError):
            from agui_conformance.redact import printable

            return printable(str(excinfo.value))  # no agent-chosen escape reaches a terminal
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Any, int, str]:
        title = self.case.title if self.case is not None else "generated inputs"
        return self.path, 0, f"agui case {self.name}: {title}"


def _describe(case_id: str, findings: list[Any]) -> str:
    lines = [f"AG-UI case {case_id}: {len(findings)} finding(s)"]
    for f in findings:
        where = "stream" if f.index is None else f"event {f.index}"
        lines.append(f"  {f.level.value} {f.rule} @{where}: {f.message}")
        lines.append(f"    fix: {f.hint}")
        lines.append(f"    spec: {f.spec}")
    return "\n".join(lines)


class AguiSuite(pytest.Collector):
    def __init__(self, *, target: _Target, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target

    def collect(self) -> Iterator[pytest.Item]:
        from agui_conformance.cases import all_cases

        try:
            cases = all_cases(self.config.getoption("agui_cases"))
        except ValueError as err:
            raise pytest.UsageError(f"--agui-cases: {err}") from err
        for case in cases:
            yield AguiCaseItem.from_parent(
                self, name=f"agui[{case.id}]", case=case, target=self.target
            )
            for requirement in case.requirements:
                yield AguiCaseItem.from_parent(
                    self,
                    name=f"agui[{case.id}][{requirement}]",
                    case=case,
                    target=self.target,
                    requirement=requirement,
                )
        if self.config.getoption("agui_examples") > 0:
            yield AguiCaseItem.from_parent(
                self, name="agui[generated-inputs]", case=None, target=self.target
            )


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not (config.getoption("agent_url") or config.getoption("agui_reference")):
        return
    target = _Target(config)
    config.add_cleanup(target.close)
    suite = AguiSuite.from_parent(session, name="agui-conformance", target=target)
    selected = list(suite.collect())
    keyword = config.getoption("keyword")
    markexpr = config.getoption("markexpr")
    if keyword or markexpr:
        from _pytest.mark import deselect_by_keyword, deselect_by_mark

        deselect_by_keyword(selected, config)
        deselect_by_mark(selected, config)
    items.extend(selected)


CASE_PROPERTY = "agui_case_result"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach each case's result to the first test report that ran it (the controller
    gathers them under xdist too), and its transcript as a pytest-html extra."""
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not isinstance(item, AguiCaseItem) or item.result is None:
        return
    result = item.result
    first = result.id not in item.target.carried
    if first:
        item.target.carried.add(result.id)
        report.user_properties.append((CASE_PROPERTY, result.model_dump_json()))
    if (first or report.failed) and item.config.pluginmanager.hasplugin("html"):
        try:
            import pytest_html  # type: ignore[import-untyped]
        except ImportError:  # pragma: no cover - the plugin is registered, the module is not
            return
        from agui_conformance.report.html import case_fragment

        extras = list(getattr(report, "extras", []))
        extras.append(pytest_html.extras.html(case_fragment(result)))
        report.extras = extras


class _ReportWriter:
    """Gathers case results from test reports (this process's or xdist workers') and
    writes `--agui-html` / `--agui-json` at the end of the session (never on a worker)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cases: dict[str, Any] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from agui_conformance.model import CaseResult

        for name, value in report.user_properties:
            if name == CASE_PROPERTY and isinstance(value, str):
                result = CaseResult.model_validate_json(value)
                self.cases.setdefault(result.id, result)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        html_path = self.config.getoption("agui_html")
        json_path = self.config.getoption("agui_json")
        if self.cases and not hasattr(self.config, "workerinput"):
            _write_reports(self.config, list(self.cases.values()), html_path, json_path)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        path = self.config.getoption("agui_baseline")
        if path is None or hasattr(self.config, "workerinput"):
            return
        from agui_conformance import baseline
        from agui_conformance.model import Level

        try:
            accepted = baseline.load(path)
        except ValueError:
            return  # reported as a usage error by the items
        threshold = Level(self.config.getoption("agui_fail_on"))
        comparison = baseline.compare(list(self.cases.values()), accepted, threshold, path)
        terminalreporter.section("AG-UI baseline")
        terminalreporter.line(
            f"{path}: {len(comparison.known)} known, {len(comparison.new)} new, "
            f"{len(comparison.stale)} stale"
        )
        for entry in comparison.stale:
            terminalreporter.line(f"STALE {entry.case}: {entry.rule} no longer fails (drop it)")


def _write_reports(
    config: pytest.Config, cases: list[Any], html_path: str | None, json_path: str | None
) -> None:
    from pathlib import Path

    from agui_conformance import __version__
    from agui_conformance.matrix import requirements, summarize
    from agui_conformance.model import Level, Report, ToolInfo
    from agui_conformance.redact import redact_url

    profile = config.getoption("agui_profile")
    fail_on = config.getoption("agui_fail_on")
    reqs = requirements(cases, profile, Level(fail_on))
    url = config.getoption("agent_url") or "(the reference agent)"
    report = Report(
        tool=ToolInfo(version=__version__),
        target=redact_url(url),
        profile=profile,
        failOn=fail_on,
        seed=config.getoption("agui_seed") if config.getoption("agui_examples") else None,
        examples=config.getoption("agui_examples"),
        command="pytest " + " ".join(_shown_args(config)),
        summary=summarize(cases, reqs),
        requirements=reqs,
        cases=cases,
    )
    if html_path:
        from agui_conformance.report.html import to_html

        Path(html_path).parent.mkdir(parents=True, exist_ok=True)
        Path(html_path).write_text(to_html(report), encoding="utf-8")
    if json_path:
        from agui_conformance.report.json_report import report_to_json

        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(report_to_json(report), encoding="utf-8")


def _shown_args(config: pytest.Config) -> list[str]:
    """The invocation's arguments with header values that look secret masked, and the
    agent URL redacted."""
    from agui_conformance.redact import REDACTED, is_secret, redact_url

    shown: list[str] = []
    masking = url = False
    for arg in config.invocation_params.args:
        text = str(arg)
        if url or text.startswith("--agent-url="):
            name, equals, value = text.rpartition("--agent-url=")
            text = f"{name}{equals}{redact_url(value)}"
        url = text == "--agent-url"
        if masking and ":" in text:
            name, _, value = text.partition(":")
            if is_secret(name) and not value.strip().startswith("env:"):
                text = f"{name}: {REDACTED}"
        masking = text == "--agent-header"
        if text.startswith("--agent-header="):
            name, _, value = text.removeprefix("--agent-header=").partition(":")
            if is_secret(name) and not value.strip().startswith("env:"):
                text = f"--agent-header={name}: {REDACTED}"
        shown.append(text)
    return shown
