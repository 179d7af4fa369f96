"""pytest plugin (entry point `pytest11: agui`).

Owns the pytest face of the engine: `pytest --agent-url URL` (or
`--agui-reference` for the built-in reference agent) collects the agent suite
from a collector (`AguiSuite`, anchored at `agent_suite.agui`, shown as
`agui-conformance`): one item per scenario case, `agui-conformance::<case-id>`
(every rule), one per requirement it exercises,
`agui-conformance::<case-id>[LIFE-002]` (only the rules deciding it), then
`generated-inputs` and `capabilities`; items are marked with the categories and
levels of their rules (`-m must`, `-m tool_calls`), and a printed id re-runs.
The selected cases run once per test run through `suite.run`, as in
`agui-conformance run` (`pytest_run` says how, also under pytest-xdist); each
item reads its verdict from that one Report. A case that does not apply is
skipped with its reason, never passed. For users' own tests it offers
`assert_conformant`, the `agui_validate` fixture and the `reference_agent`
fixture. It only adapts the engine to pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from agui_conformance.vocabulary import BINDINGS, CATEGORIES, PROFILES

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
SUITE_ID = "agui-conformance"  # node ids: agui-conformance::<case>[<requirement>]
# the real file the suite's node stands for (pytest re-runs only ids rooted at a file)
ANCHOR = Path(__file__).with_name("agent_suite.agui")
GENERATED = "generated-inputs"
CAPABILITIES = "capabilities"
CAPABILITY_REQUIREMENTS = ["CAP-001", "CAP-002", "CAP-003", "CAP-005", "CAP-007"]
RUN_KEY = pytest.StashKey["Any"]()  # the session's SharedRun
EXIT_PREFIX = "agui-conformance: "  # the one line a session ends with (pytest.exit)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agui", "AG-UI conformance (the options of `agui-conformance run`)")
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
    group.addoption(
        "--agui",
        action="store_true",
        help="Run the conformance cases against the configuration's agent-url "
        "(agui-conformance.toml or [tool.agui-conformance]).",
    )
    group.addoption("--agui-isolated", action="store_true", help="Read no configuration file.")
    group.addoption("--agui-profile", default=None, choices=list(PROFILES))
    group.addoption(
        "--agui-auth-required",
        action="store_true",
        help="The agent requires the auth headers given (enables auth probes).",
    )
    group.addoption("--agui-fail-on", default=None, choices=["error", "warning", "info", "never"])
    for name, default in (("first-byte", 15.0), ("idle", 30.0), ("total", 120.0)):
        group.addoption(
            f"--agui-{name}-timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help=f"Deadline per exchange (default {default:g}), as `run --{name}-timeout`.",
        )
    group.addoption(
        "--agui-concurrency",
        type=int,
        default=None,
        help="Cases run at once against the agent (default 4); pytest-xdist's -n does not "
        "add to it.",
    )
    group.addoption(
        "--agui-no-preflight",
        action="store_true",
        help="Skip the one request sent before the suite to check the URL, path and auth.",
    )
    group.addoption(
        "--agui-examples",
        type=int,
        default=None,
        help="Generated RunAgentInputs to send (hypothesis, default 25); 0 turns them off.",
    )
    group.addoption(
        "--agui-seed",
        type=int,
        default=None,
        help="Seed for generated inputs (default: random, printed in the header).",
    )
    group.addoption(
        "--agui-capabilities",
        metavar="URL|FILE",
        help="The agent's capabilities declaration to check (default for the reference "
        "agent: its /capabilities).",
    )
    group.addoption(
        "--agui-min-coverage",
        type=float,
        default=None,
        metavar="PERCENT",
        help="Fail the session when fewer than PERCENT of the rules that apply were exercised.",
    )
    group.addoption(
        "--agui-behaviour",
        action="store_true",
        help="Also run the opt-in behaviour checks that judge model output.",
    )
    group.addoption(
        "--agui-binding",
        choices=list(BINDINGS),
        default=None,
        help="The HTTP binding the runs ask for: sse, protobuf, or both (each deterministic "
        "case also on protobuf, the runs compared by structure). Default: the configuration "
        "file's binding, else sse.",
    )
    group.addoption(
        "--agui-generated-budget",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="Wall-clock time the generated inputs may take, shrinking included (default 300).",
    )
    for name, what in (
        ("select", "Only these rules apply"),
        ("ignore", "Turn these rules off"),
    ):
        group.addoption(
            f"--agui-{name}",
            action="append",
            default=[],
            metavar="RULES",
            help=f"{what}: rule ids or categories, comma-separated (repeatable); replaces "
            f"the configuration file's {name}, as `run --{name}`.",
        )
    group.addoption(
        "--agui-level",
        action="append",
        default=[],
        metavar="RULE=LEVEL",
        help="This rule's level (error, warning, info or off), as `run --level`; wins over "
        "the file's level for that rule.",
    )
    group.addoption(
        "--agui-format",
        choices=["text", "github"],
        default="text",
        help="github: also print GitHub Actions annotations (one per rule and case) at the "
        "end, as `run --format github`.",
    )
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


def _live(config: pytest.Config) -> bool:
    return bool(
        config.getoption("agent_url")
        or config.getoption("agui_reference")
        or config.getoption("agui")
    )


def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """Map `agui-conformance[::...]` arguments to the suite's anchor file, so printed ids
    re-run. Without one, the suite is collected beside what pytest would collect anyway
    (the file arguments, else testpaths or the current folder)."""
    known = early_config.known_args_namespace
    if not any(getattr(known, name, None) for name in ("agent_url", "agui_reference", "agui")):
        return
    named = False
    for index, arg in enumerate(args):
        if arg == SUITE_ID or arg.startswith(SUITE_ID + "::"):
            args[index] = str(ANCHOR) + arg[len(SUITE_ID) :]
            named = True
    if named:
        return
    if not getattr(known, "file_or_dir", None):
        import glob

        here = early_config.invocation_params.dir
        defaults: list[str] = []
        if here == early_config.rootpath and not getattr(known, "pyargs", False):
            for pattern in early_config.getini("testpaths"):
                defaults.extend(sorted(glob.iglob(pattern, recursive=True)))
        args.extend(defaults or [str(here)])
    args.append(str(ANCHOR))


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
    for name in (*LEVEL_MARKERS.values(), *CATEGORIES):
        config.addinivalue_line("markers", f"{name.replace('-', '_')}: AG-UI rules of this kind")
    if not _live(config):
        return
    if config.getoption("agent_url") and config.getoption("agui_reference"):
        config.issue_config_time_warning(
            pytest.PytestConfigWarning(
                "--agent-url and --agui-reference both given: testing --agent-url, "
                "ignoring --agui-reference"
            ),
            stacklevel=2,
        )
    config.stash[RUN_KEY] = _shared_run(config)
    if not hasattr(config, "workerinput"):
        config.add_cleanup(config.stash[RUN_KEY].remove)
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(_XdistController(config), "agui-xdist")
    config.pluginmanager.register(_Face(config), "agui-face")


def _shared_run(config: pytest.Config) -> Any:
    """The session's engine run: its options, seed and shared folder (the controller's
    under xdist, passed to workers in `workerinput`)."""
    import random
    import tempfile

    from agui_conformance.pytest_run import Options, SharedRun
    from agui_conformance.transport import Deadlines, env_refs

    worker = getattr(config, "workerinput", None)
    if worker is not None:
        seed = int(worker["agui_seed"])
    else:
        seed = config.getoption("agui_seed")
        seed = seed if seed is not None else random.randrange(2**31)
    chosen = _Chosen(config)
    specs = chosen("headers", "agent_header", [])
    url = chosen("agent-url", "agent_url", None)
    if config.getoption("agui_reference") and not config.getoption("agent_url"):
        url = None  # the built-in agent, whatever the file's agent-url
    elif config.getoption("agui") and url is None:
        raise pytest.UsageError("--agui: the configuration has no agent-url (or give --agent-url)")
    opts = Options(
        url=url,
        headers=_headers(specs),
        header_env=env_refs(tuple(specs)),
        profile=chosen("profile", "agui_profile", "spec"),
        fail_on=chosen("fail-on", "agui_fail_on", "error"),
        auth_required=config.getoption("agui_auth_required"),
        deadlines=Deadlines(
            first_byte=chosen("first-byte-timeout", "agui_first_byte_timeout", 15.0),
            idle=chosen("idle-timeout", "agui_idle_timeout", 30.0),
            total=chosen("total-timeout", "agui_total_timeout", 120.0),
        ),
        concurrency=chosen("concurrency", "agui_concurrency", 4),
        examples=chosen("examples", "agui_examples", 25),
        seed=seed,
        capabilities=config.getoption("agui_capabilities"),
        behaviour=config.getoption("agui_behaviour"),
        binding=chosen("binding", "agui_binding", "sse"),
        min_coverage=config.getoption("agui_min_coverage"),
        generated_budget=config.getoption("agui_generated_budget"),
        cases_path=config.getoption("agui_cases"),
        no_preflight=config.getoption("agui_no_preflight"),
    )
    baseline_path = chosen("baseline", "agui_baseline", None)
    sources = chosen.rules()
    opts.config = chosen.info(sources)
    for name in ("select", "ignore", "level"):
        for value in config.getoption(f"agui_{name}"):
            opts.rule_args += [f"--{name}", value]
    _check_ranges(opts)
    if sources.choice:
        from agui_conformance import rules

        rules.activate(sources.choice)  # every process of the session, until cleanup
        config.add_cleanup(lambda: rules.activate(None))
    if baseline_path is not None:
        from agui_conformance import baseline

        try:
            opts.baseline, opts.baseline_file = baseline.load(baseline_path), baseline_path
        except ValueError as err:
            raise pytest.UsageError(str(err)) from err
    if worker is not None:
        return SharedRun(Path(worker["agui_folder"]), opts)
    return SharedRun(Path(tempfile.mkdtemp(prefix="agui-pytest-")), opts)


class _Chosen:
    """Each setting from the command line, else the configuration file, else the default;
    which came from where (the report's `config`)."""

    def __init__(self, config: pytest.Config) -> None:
        from agui_conformance import config as config_file

        self.config = config
        try:
            self.settings = (
                config_file.Settings()
                if config.getoption("agui_isolated")
                else config_file.load(config.invocation_params.dir)
            )
        except config_file.ConfigError as err:
            raise pytest.UsageError(str(err)) from err
        self.from_file: list[str] = []
        self.from_line: list[str] = []

    def __call__(self, key: str, option: str, default: Any) -> Any:
        given = self.config.getoption(option)
        in_file = key in self.settings.values or (key == "headers" and self.settings.headers)
        if given is not None and given != []:
            if in_file:
                self.from_line.append(key)
            return given
        if not in_file:
            return default
        self.from_file.append(key)
        return self.settings.header_specs if key == "headers" else self.settings.values[key]

    def rules(self) -> Any:
        """The file's rule choice under --agui-select / --agui-ignore / --agui-level
        (`config.with_command_line`, as `run` merges them)."""
        from agui_conformance import config as config_file

        option = self.config.getoption
        try:
            return config_file.with_command_line(
                self.settings,
                select=option("agui_select"),
                ignore=option("agui_ignore"),
                levels=option("agui_level"),
            )
        except config_file.ConfigError as err:
            raise pytest.UsageError(str(err).replace("--", "--agui-", 1)) from err

    def info(self, sources: Any) -> Any:
        from agui_conformance.model import ConfigInfo

        if self.settings.path is None and not sources.from_line:
            return None
        return ConfigInfo(
            file=None if self.settings.path is None else str(self.settings.path),
            fromFile=self.from_file + list(sources.from_file),
            fromCommandLine=self.from_line + list(sources.from_line),
            select=list(sources.choice.select),
            ignore=list(sources.choice.ignore),
            levels=dict(sources.choice.levels),
        )


RANGES = {  # as `run` checks them
    "agui_concurrency": (1, 64),
    "agui_examples": (0, 10_000),
    "agui_first_byte_timeout": (0.001, None),
    "agui_idle_timeout": (0.001, None),
    "agui_total_timeout": (0.001, None),
    "agui_min_coverage": (0, 100),
}


def _check_ranges(opts: Any) -> None:
    import math

    values = {
        "agui_concurrency": opts.concurrency,
        "agui_examples": opts.examples,
        "agui_first_byte_timeout": opts.deadlines.first_byte,
        "agui_idle_timeout": opts.deadlines.idle,
        "agui_total_timeout": opts.deadlines.total,
        "agui_min_coverage": opts.min_coverage,
    }
    for name, (low, high) in RANGES.items():
        value = values[name]
        if value is None:
            continue
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            flag = "--" + name.replace("_", "-")
            bound = f"between {low} and {high}" if high is not None else "above 0"
            raise pytest.UsageError(f"{flag}: {value} is not {bound}")


class _XdistController:
    """Gives each xdist worker the controller's seed and shared folder."""

    def __init__(self, config: pytest.Config) -> None:
        self.run = config.stash[RUN_KEY]

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["agui_folder"] = str(self.run.folder)
        node.workerinput["agui_seed"] = self.run.opts.seed


def _headers(specs: list[str]) -> dict[str, str]:
    from agui_conformance.transport import headers_from_specs

    try:
        return headers_from_specs(specs)
    except ValueError as err:
        raise pytest.UsageError(f"--agent-header: {err}") from err


def _rules_checking(requirement: str) -> set[str]:
    from agui_conformance.rules import catalog

    return {rule.id for rule in catalog().values() if requirement in rule.checks}


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path == ANCHOR and _live(parent.config):
        return AguiSuite.from_parent(parent, path=file_path, nodeid=SUITE_ID)
    return None


class AguiSuite(pytest.File):
    """The agent suite: one item per case (every rule) and per requirement it exercises
    (only the rules deciding it), then the generated inputs and the capabilities
    declaration. Collected from `ANCHOR`, shown as `agui-conformance`."""

    def collect(self) -> Iterator[pytest.Item]:
        from agui_conformance.cases import all_cases

        try:
            cases = all_cases(self.config.getoption("agui_cases"))
        except ValueError as err:
            raise pytest.UsageError(f"--agui-cases: {err}") from err
        for case in cases:
            yield AguiCaseItem.from_parent(self, name=case.id, case=case)
            for requirement in case.requirements:
                yield AguiCaseItem.from_parent(
                    self, name=f"{case.id}[{requirement}]", case=case, requirement=requirement
                )
        opts = self.config.stash[RUN_KEY].opts
        if opts.examples > 0:
            yield AguiCaseItem.from_parent(self, name=GENERATED, case_id=GENERATED)
        if self.config.getoption("agui_capabilities") or opts.url is None:
            yield AguiCaseItem.from_parent(self, name=CAPABILITIES, case_id=CAPABILITIES)


def _selection(session: pytest.Session) -> Any:
    """What this session selected, in the suite's order (identical on every xdist worker)."""
    from agui_conformance.pytest_run import Selection

    selection = Selection(cases=[])
    seen: set[str] = set()
    for item in session.items:
        if not isinstance(item, AguiCaseItem):
            continue
        if item.case is not None and item.case_id not in seen:
            seen.add(item.case_id)
            selection.cases.append(item.case)
        selection.generated |= item.case_id == GENERATED
        selection.capabilities |= item.case_id == CAPABILITIES
    return selection


class AguiCaseItem(pytest.Item):
    """One case's verdict from the session's engine run: the whole case (every rule) or
    one requirement it exercises (only the rules that decide that requirement)."""

    def __init__(
        self,
        *,
        case: Any = None,
        case_id: str | None = None,
        requirement: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.case_id: str = case.id if case is not None else str(case_id)
        self.requirement = requirement
        self.result: Any = None
        self.add_marker("agui")
        if requirement is not None:
            requirements = [requirement]
        elif case is not None:
            requirements = case.requirements
        elif self.case_id == GENERATED:
            requirements = ["INPUT-001", "PROC-002"]
        else:
            requirements = CAPABILITY_REQUIREMENTS
        for mark in sorted(_markers_for(requirements)):
            self.add_marker(mark)

    def runtest(self) -> None:
        from agui_conformance.pytest_run import EngineProblem

        run = self.config.stash[RUN_KEY]
        problem = None
        try:
            self.result = run.result(self.case_id, _selection(self.session))
        except EngineProblem as err:
            problem = err  # handled outside: no chained exceptions in the message
        if problem is not None:
            message = f"{EXIT_PREFIX}{problem}"
            if not hasattr(self.config, "workerinput"):
                pytest.exit(message, returncode=pytest.ExitCode.INTERRUPTED)
            # an xdist worker stops through shouldstop (pytest.exit there reads as a crash);
            # the controller then ends the session with this message
            self.session.shouldstop = message
            _fail(message)
        outcome = _outcome(self.result, self.requirement, run.opts)
        if outcome is not None:
            kind, message = outcome
            from agui_conformance.redact import printable

            {"skip": pytest.skip, "xfail": pytest.xfail}.get(kind, _fail)(printable(message))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{SUITE_ID}::{self.name}"


def _fail(message: str) -> None:
    pytest.fail(message, pytrace=False)


def _outcome(result: Any, requirement: str | None, opts: Any) -> tuple[str, str] | None:
    """How one item ends: None (passed), or ("skip" | "xfail" | "fail", message)."""
    if result.status == "not-applicable":
        return "skip", f"not applicable: {result.reason}"
    if result.status == "harness-error":
        return "fail", f"harness-error (not the agent's): {result.reason}"
    if result.status == "not-run":
        return "fail", f"not-run: {result.reason}"
    findings = result.findings
    # no answer fails every item of the case: absence of findings is not evidence
    unanswered = [f for f in findings if f.rule == "agent-unresponsive"]
    if requirement is not None:
        deciding = _rules_checking(requirement)
        if not deciding:
            return "skip", f"not checkable: no rule decides {requirement} (see docs/coverage.md)"
        findings = [f for f in findings if f.rule in deciding] + unanswered
        seen = set(result.exercised).union(*(r.exercised for r in result.runs))
        if not findings and not deciding & seen:
            return "skip", f"not exercised: no completed exchange reached {requirement}"
    threshold = opts.threshold
    bad = [f for f in findings if f.level.rank >= threshold.rank]
    if opts.fail_on == "never":
        bad = []
    if not bad and result.status == "inconclusive":
        return "skip", f"inconclusive: {result.reason}"
    accepted = opts.baseline.keys() if opts.baseline is not None else set()
    if bad and accepted and all((result.id, f.rule) in accepted for f in bad):
        return "xfail", "known failure (baseline): " + ", ".join(sorted({f.rule for f in bad}))
    if not bad:
        # the case's own verdict, as in run, when no single finding decided it
        whole_case_failed = requirement is None and result.status in ("failed", "agent-error")
        if whole_case_failed and opts.fail_on != "never":
            return "fail", f"{result.status}: {result.reason}"
        return None
    message = describe(bad)
    if result.status == "agent-error":
        message += f"\nagent error (not a protocol violation): {result.reason}"
    if result.id == GENERATED and result.runs:
        first = result.runs[0]
        curl = first.reproducer
        if curl:
            message += f"\n{result.reason}\n{curl}"
    return "fail", message


MAX_GROUPS = 10


def describe(findings: list[Any]) -> str:
    """Findings grouped by rule and message, rule id first: `rule: message (level, ×N at
    events 1, 4, 9)`, then its fix and spec page once."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for f in findings:
        groups.setdefault((f.rule, f.message), []).append(f)
    lines: list[str] = []
    for (rule, message), same in list(groups.items())[:MAX_GROUPS]:
        first = same[0]
        where = sorted({f.index for f in same if f.index is not None})
        at = ", ".join(str(i) for i in where[:8]) + (", …" if len(where) > 8 else "")
        count = f"×{len(same)}, " if len(same) > 1 else ""
        place = f"events {at}" if len(where) > 1 else (f"event {at}" if where else "stream")
        lines.append(f"{rule}: {message} ({first.level.value}, {count}{place})")
        lines.append(f"  fix: {first.hint}")
        lines.append(f"  spec: {first.spec}")
    if len(groups) > MAX_GROUPS:
        lines.append(f"… and {len(groups) - MAX_GROUPS} more kinds of finding (see the report)")
    return "\n".join(lines)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """The short summary line starts with the rule id (not "Failed:"); each case's
    transcript is a pytest-html extra."""
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not isinstance(item, AguiCaseItem):
        return
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None)
    if isinstance(text, str) and text.startswith("Failed: "):
        crash.message = text.removeprefix("Failed: ")  # type: ignore[union-attr]
    if item.result is None or not item.config.getoption("htmlpath", None):
        return  # pytest-html writes no page: no fragment to render and ship from workers
    try:
        import pytest_html  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - the plugin is registered, the module is not
        return
    from agui_conformance.report.html import case_fragment

    if item.requirement is None or report.failed:
        extras = list(getattr(report, "extras", []))
        extras.append(pytest_html.extras.html(case_fragment(item.result)))
        report.extras = extras


class _Face:
    """The session-level side of the pytest face: preflight, header, reports, summary.
    The preflight, reports and summary happen in the controller (or the only process)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.run = config.stash[RUN_KEY]
        self.controller = not hasattr(config, "workerinput")
        self.written: list[str] = []
        self.unignored: Path | None = None  # topmost folder on the anchor's path pytest skips
        self.exited_at_start = False  # the preflight ended the session (pytest.exit)

    @pytest.hookimpl(wrapper=True)
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> Any:
        """When the anchor lies inside a folder argument (a `.venv` in the project, and
        pytest run with no testpaths), pytest drops the anchor's own argument and skips the
        virtualenv: walk the anchor's path through it, and still skip the rest of it."""
        ignored = yield
        on_path = collection_path == ANCHOR or collection_path in ANCHOR.parents
        if on_path and ignored:
            if self.unignored is None or not collection_path.is_relative_to(self.unignored):
                self.unignored = collection_path
            return False
        if not on_path and self.unignored and collection_path.is_relative_to(self.unignored):
            return True
        return ignored

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """The CLI's preflight, before any worker starts: an unreachable agent ends the
        session in one line."""
        config = self.config
        if not self.controller or config.getoption("agui_no_preflight"):
            return
        if config.option.collectonly:
            return
        from agui_conformance.pytest_run import preflight_problem

        problem = preflight_problem(self.run.opts)
        if problem is not None:
            self.exited_at_start = True
            pytest.exit(f"{EXIT_PREFIX}{problem}", returncode=pytest.ExitCode.INTERRUPTED)

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        from agui_conformance.redact import redact_url

        opts = self.run.opts
        target = redact_url(opts.url) if opts.url else "the built-in reference agent"
        from agui_conformance.cli import config_lines

        shown = config_lines(opts.config)
        line = (
            f"agui-conformance: {target}, profile {opts.profile}, fail-on {opts.fail_on}, "
            f"seed {opts.seed} (re-run with --agui-seed {opts.seed})"
        )
        return [*shown, line]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        report = self.run.load() if self.controller else None
        if report is None:
            return
        from agui_conformance.pytest_run import run_args
        from agui_conformance.report.formats import render_report

        report.command = "pytest " + " ".join(_shown_args(self.config))
        report.config = self.run.opts.config
        # reproducers (the summary by rule, the HTML report's) are `run`'s, for one case
        report.runArgs = run_args(self.run.opts)
        report.builtInAgent = self.run.opts.url is None
        coverage = report.summary.coverage if report.summary is not None else None
        if coverage is not None and not coverage.met and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # as `run --min-coverage`
        for option, fmt in (("agui_json", "json"), ("agui_html", "html")):
            path = self.config.getoption(option)
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                Path(path).write_text(render_report(fmt, report), encoding="utf-8")
                self.written.append(path)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        report = self.run.load() if self.controller else None
        if report is None or report.summary is None:
            return
        from agui_conformance.cli import verdict_text
        from agui_conformance.matrix import declared_as
        from agui_conformance.report.rule_summary import summary_lines

        summary = report.summary
        write = terminalreporter.write_line
        terminalreporter.section("AG-UI conformance")
        for line in summary_lines(report):  # as `run` ends: what broke, by rule
            write(line)
        counts = ", ".join(f"{n} {status}" for status, n in summary.cases.items())
        write(f"{len(report.cases)} cases: {counts} (profile {report.profile})")
        version = declared_as(summary)
        as_version = f" (as {version}, the version the agent declared)" if version else ""
        write(f"conformance level reached: {summary.conformance}{as_version}")
        write(f"verdict: {verdict_text(summary, report.baseline, report.cases)}")
        if report.examples:
            write(f"generated inputs: {report.examples} examples, seed {report.seed}")
        binding = self.run.opts.binding
        if binding != "sse":
            from agui_conformance.bindings import binding_note

            write(binding_note(report.cases, binding))
        comparison = report.baseline
        if comparison is not None:
            write(
                f"baseline {comparison.file}: {len(comparison.known)} known, "
                f"{len(comparison.new)} new, {len(comparison.stale)} stale"
            )
            for entry in comparison.stale:
                write(f"STALE {entry.case}: {entry.rule} no longer fails (drop it)")
        html = self.config.getoption("agui_html")
        if html and html in self.written:
            write(f"HTML report: {html}")
        fmt = self.config.getoption("agui_format")
        if fmt != "text":
            from agui_conformance.report.formats import render_report

            for line in render_report(fmt, report).splitlines():
                write(line)

    @pytest.hookimpl(trylast=True)
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Our own end of a session at its start (`pytest.exit` from the preflight, before
        the session runs) is already printed once by pytest as `Exit: ...`; the terminal
        reporter would print it again, at unconfigure, as `! _pytest.outcomes.Exit: ... !`.
        (An exit once the session runs is printed only by the reporter: left alone.)"""
        exited = excinfo.value
        if self.exited_at_start and isinstance(exited, pytest.exit.Exception):
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None and hasattr(reporter, "_keyboardinterrupt_memo"):
                reporter._keyboardinterrupt_memo = None


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
