"""The `agui-conformance` command line.

Owns argument parsing, reading files and stdin, choosing a formatter and the
exit code: 0 conformant, 1 findings at or above `--fail-on`, 2 usage or tool
error (with a one-line message, never a traceback).
"""

from __future__ import annotations

import math
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson

from agui_conformance.records import FAIL_ON, Level, exit_fails, fail_level
from agui_conformance.report.formats import (
    DEFAULT_ARTIFACT,
    PRINTED_FORMATS,
    REPORT_FORMATS,
    render_report,
)
from agui_conformance.rules import CATEGORIES, PROFILES, Rule, catalog
from agui_conformance.vocabulary import BINDINGS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agui_conformance.cases import Case
    from agui_conformance.model import (
        BaselineComparison,
        CaseResult,
        ConfigInfo,
        Report,
        Summary,
    )
    from agui_conformance.runner import RunnerConfig
    from agui_conformance.transport import Deadlines

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class ToolError(click.ClickException):
    exit_code = EXIT_ERROR


class Seconds(click.FloatRange):
    """A deadline: a finite number of seconds above 0 (0, a negative, inf or nan would
    mean no deadline at all, or none that can be met)."""

    name = "seconds"

    def __init__(self) -> None:
        super().__init__(min=0, min_open=True)

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return super().convert(seconds, param, ctx)  # above 0


class AgentURL(click.types.StringParamType):
    """An http(s) URL with a host and a port in 1-65535 (checked before any I/O); the
    message shows it redacted."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from agui_conformance.preflight import check_url

        url = super().convert(value, param, ctx)
        problem = check_url(url)
        if problem is not None:
            self.fail(problem.message, param, ctx)
        return url


class CapabilitiesSource(click.types.StringParamType):
    """`--capabilities`: an http(s) URL (checked like `--agent-url`) or a JSON file that
    exists; a missing or unreadable file is a usage error, never a silent "no
    declaration"."""

    name = "url|file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        source = super().convert(value, param, ctx)
        if source.startswith(("http://", "https://")):
            return URL.convert(source, param, ctx)
        path = Path(source)
        if not path.is_file():
            missing = f"no such file: {source}" if not path.exists() else f"not a file: {source}"
            self.fail(missing, param, ctx)
        try:
            orjson.loads(path.read_bytes())
        except OSError as err:
            self.fail(f"cannot read {source}: {err.strerror or err}", param, ctx)
        except orjson.JSONDecodeError as err:
            self.fail(f"{source} is not JSON: {err}", param, ctx)
        return source


SECONDS, URL, CAPABILITIES = Seconds(), AgentURL(), CapabilitiesSource()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="agui-conformance")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Read this agui-conformance.toml (or pyproject.toml) instead of searching for one.",
)
@click.option("--isolated", is_flag=True, help="Read no configuration file.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, isolated: bool) -> None:
    """Conformance suite and protocol validator for AG-UI 1.1 agents.

    \b
    Settings come from the command line, then from the first configuration file found
    from the current folder upward (agui-conformance.toml, or pyproject.toml's
    [tool.agui-conformance] table; the search stops at a VCS root), then the defaults.
    """
    from agui_conformance import config, rules
    from agui_conformance.cli_config import default_map

    try:
        settings = config.Settings() if isolated else _settings(config_path)
    except config.ConfigError as err:
        raise ToolError(str(err)) from err
    ctx.obj = settings
    ctx.default_map = default_map(settings)
    if settings.rules:
        ctx.with_resource(rules.overridden(settings.rules))


def _settings(config_path: str | None) -> Any:
    from agui_conformance import config

    if config_path is None:
        return config.load()
    path = Path(config_path)
    if not path.is_file():
        raise ToolError(f"--config: no such file: {config_path}")
    found = config.find_in(path)
    return config.parse(found, path) if found is not None else config.Settings(path=path)


def _load_request(path: str | None) -> Any:
    if path is None:
        return None
    try:
        request = orjson.loads(Path(path).read_bytes())
    except OSError as err:
        raise ToolError(f"cannot read --input {path}: {err.strerror or err}") from err
    except orjson.JSONDecodeError as err:
        raise ToolError(f"--input {path} is not JSON: {err}") from err
    if not isinstance(request, dict):
        raise ToolError(f"--input {path} must be a JSON object (a RunAgentInput)")
    _check_request(request, path)
    return request


# Members a client may add (a newer minor's, its own): the request is still a usable
# reference for the request-aware rules, and what the client sent is never the agent's
# finding, so these are neither refused nor reported.
_TOLERATED_IN_INPUT = frozenset(
    {"schema-unknown-property", "schema-unknown-member", "snake-case-key"}
)


def _check_request(request: dict[str, Any], path: str) -> None:
    """A `--input` that is not a RunAgentInput (a required member missing, one of the wrong
    type) is a usage error, exit 2: it is the user's file, not the agent's stream."""
    from agui_conformance.redact import printable
    from agui_conformance.schema import get_checker

    problems = [h for h in get_checker().check_input(request) if h.rule not in _TOLERATED_IN_INPUT]
    if problems:
        first = problems[0]
        where = f"{first.pointer}: " if first.pointer else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ToolError(
            printable(f"--input {path} is not a RunAgentInput: {where}{first.message}{more}")
        )


def _write(output: str, text: str) -> None:
    """Write a report (or baseline) to `output`, creating its folder first: one line and
    exit 2 when either cannot be done."""
    out = Path(output)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ToolError(f"cannot create {out.parent}: {err.strerror or err}") from err
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as err:
        raise ToolError(f"cannot write {output}: {err.strerror or err}") from err


def _color(output: str | None) -> bool:
    """ANSI colors only for a person at a terminal (and never with NO_COLOR set)."""
    return output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...|-")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(REPORT_FORMATS)),
    default="text",
    show_default=True,
    help="Report format (html: the annotated transcript as a standalone page, use -o; "
    "github: GitHub Actions annotations at the recordings' lines; junit: one testcase per "
    "recording).",
)
@click.option(
    "--profile",
    type=click.Choice(PROFILES),
    default="spec",
    show_default=True,
    help="spec: MUST=error, SHOULD=warning; strict: SHOULD=error too; legacy-client, "
    "cometchat: what those clients rely on.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="error",
    show_default=True,
    help="Lowest finding level that makes the exit code 1 (never: exit 0 whatever is "
    "found; findings are still judged at error).",
)
@click.option(
    "--input",
    "request_path",
    metavar="REQUEST.json",
    help="The RunAgentInput that produced the streams (enables request-aware rules).",
)
@click.option(
    "--stream-format",
    type=click.Choice(["auto", "sse", "jsonl", "json", "proto"]),
    default="auto",
    show_default=True,
    help="Format of the recordings: an SSE capture, JSONL (one event per line), a JSON "
    "array (or an object with a `stream`/`events` array), or proto: an HTTP + Protobuf body "
    "(length-prefixed frames; auto-detected when its first frame decodes).",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write the report to FILE instead of stdout (the summary line goes to stderr); "
    "its folder is created when missing.",
)
@click.option(
    "--max-state-bytes",
    default=8 << 20,
    show_default=True,
    type=click.IntRange(min=0),
    metavar="BYTES",
    help="How large (bytes of JSON) the rebuilt state and activity contents may grow; past "
    "it, state-too-large and the state is no longer tracked.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    help="Validate N recordings at once, each in a worker process (default: the CPU "
    "count, or none for recordings under 4 MiB in all; 1: one after the other in this "
    "process).",
)
def validate(
    paths: tuple[str, ...],
    fmt: str,
    profile: str,
    fail_on: str,
    request_path: str | None,
    stream_format: str,
    output: str | None,
    max_state_bytes: int,
    jobs: int | None,
) -> None:
    """Validate recorded streams: files, directories (their *.jsonl, *.ndjson, *.sse,
    *.json, *.bin and *.pb files), globs, or - for stdin; one report, one case per
    recording, in the order given.

    \b
    Exit codes: 0 conformant (nothing at or above --fail-on),
                1 findings at or above --fail-on (in any recording),
                2 usage or tool error (unreadable file, not a recording, bad --input).
    """
    from agui_conformance import recordings
    from agui_conformance.report.text import report_summary

    request = _load_request(request_path)
    try:
        targets = recordings.expand(paths, exclude=[request_path] if request_path else [])
    except ValueError as err:
        raise ToolError(str(err)) from err
    targets = [
        recordings.Target("stdin", None, sys.stdin.buffer) if t.path is None else t for t in targets
    ]
    plan = recordings.Plan(
        profile=profile,
        fail_on=fail_on,
        request=request,
        stream_format=stream_format,
        max_state_bytes=max_state_bytes,
        keep_events=recordings.kept_per_recording(len(targets)) if fmt == "html" else 0,
        jobs=jobs or 0,  # 0: the CPU count, or this process for small recordings
    )
    report = recordings.validate_all(targets, plan)
    if len(report.cases) == 1 and report.cases[0].status == "harness-error":
        raise ToolError(report.cases[0].reason)  # one file: one line, as ever
    if fmt == "json":  # the verdict block and the matrix, as `run` writes them
        from agui_conformance.matrix import requirements, summarize

        report.requirements = requirements(report.cases, profile, fail_level(fail_on))
        report.summary = summarize(report.cases, report.requirements)
    text = render_report(fmt, report, color=_color(output))
    if output:
        _write(output, text)
        click.echo(report_summary(report), err=True)
    else:
        click.echo(text, nl=False)
    sys.exit(recordings.exit_code(report))


@main.command()
@click.option(
    "--profile",
    type=click.Choice(PROFILES),
    default="spec",
    show_default=True,
    help="Show each rule's level under this profile ('off' where it does not apply).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@click.option("--category", type=click.Choice(CATEGORIES), help="Only rules of this category.")
@click.argument("rule_id", metavar="[RULE-ID]", required=False)
def rules(profile: str, fmt: str, category: str | None, rule_id: str | None) -> None:
    """List the rule catalog, or print one rule's page.

    One rule a line: id, level under --profile, category, title. With RULE-ID: the rule's
    page (what it checks, its level in every profile, how to fix it, the spec's words);
    with --format json, its catalog entry.
    """
    if rule_id is not None:
        _rule_page(rule_id, profile, fmt)
        return
    selected = [r for r in catalog().values() if category is None or r.category == category]

    def level(rule: Rule) -> str:
        return rule.level(profile).value if rule.applies_to(profile) else "off"

    if fmt == "json":
        data = [{**r.as_json(), "url": r.url, "level": level(r)} for r in selected]
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    if fmt == "markdown":
        click.echo("| rule | level | category | title |\n| --- | --- | --- | --- |")
        for r in selected:
            title = r.title.replace("|", "\\|")
            click.echo(f"| [`{r.id}`]({r.url}) | {level(r)} | {r.category} | {title} |")
        return
    width = max((len(r.id) for r in selected), default=0)
    for r in selected:
        click.echo(f"{r.id:<{width}}  {level(r):<7}  {r.category:<12}  {r.title}")


def _rule_page(rule_id: str, profile: str, fmt: str) -> None:
    import difflib

    from agui_conformance.rule_pages import page

    rule = catalog().get(rule_id)
    if rule is None:
        close = difflib.get_close_matches(rule_id, list(catalog()), n=3, cutoff=0.6)
        hint = (
            f"; did you mean {' or '.join(close)}?" if close else "; see `agui-conformance rules`"
        )
        raise ToolError(f"no rule {rule_id!r} in the catalog{hint}")
    if fmt == "json":
        level = rule.level(profile).value if rule.applies_to(profile) else "off"
        data = {**rule.as_json(), "url": rule.url, "level": level}
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    text = page(rule.id)
    if text is None:  # an install without the pages: what the catalog itself says
        text = f"# `{rule.id}`\n\n**{rule.title}**\n\nfix: {rule.hint}\n\nspec: {rule.url}\n"
    click.echo(text, nl=not text.endswith("\n"))


def _say(text: str) -> None:
    """A line that may carry the agent's text: control characters shown as escapes."""
    from agui_conformance.redact import printable

    click.echo(printable(text))


def _echo_result(result: CaseResult, position: int, total: int, *, verbose: bool = False) -> None:
    """One case as soon as it is done: status, findings at warning or above (identical ones
    once, with their count); `verbose`: every finding, info included, none cut."""
    width = len(str(total))
    lowest = Level.INFO if verbose else Level.WARNING
    shown: dict[tuple[str, str, str, str], int] = {}
    for finding in result.findings:
        if finding.level.rank >= lowest.rank:
            where = "" if finding.index is None else f" @event {finding.index}"
            key = (finding.level.value, finding.rule, where, finding.message)
            shown[key] = shown.get(key, 0) + 1
    reason = "" if result.status == "failed" and shown else result.reason
    _say(
        f"[{position:>{width}}/{total}] {result.status.upper():<15} {result.id}  {reason}".rstrip()
    )
    curl = result.runs[0].reproducer if result.runs else None
    if result.id == "generated-inputs" and curl:
        _say("    minimal failing input, as a curl command:")
        _say("    " + curl.replace("\n", "\n    "))
    cut = len(shown) if verbose else 5
    for (level, rule, where, message), count in list(shown.items())[:cut]:
        times = f" (×{count})" if count > 1 else ""
        _say(f"    {level} {rule}{where}: {message}{times}")
    if len(shown) > cut:
        _say(f"    … and {len(shown) - cut} more (-v shows them)")


def _headers(specs: tuple[str, ...]) -> dict[str, str]:
    from agui_conformance.transport import headers_from_specs

    try:
        return headers_from_specs(specs)
    except ValueError as err:
        raise ToolError(str(err)) from err


@main.command()
@click.option(
    "--agent-url", type=URL, help="The agent endpoint. Default: start the reference agent."
)
@click.option(
    "--agent-header",
    "header_specs",
    multiple=True,
    metavar="'Name: value'",
    help="Header sent with every request (repeatable); `Name: env:VAR` reads the value "
    "from the environment. Values of auth-like headers never appear in output.",
)
@click.option("--auth-required", is_flag=True, help="The agent requires the auth headers given.")
@click.option("--profile", type=click.Choice(PROFILES), default="spec", show_default=True)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="error",
    show_default=True,
    help="Lowest finding level that fails a case and the exit code (never: exit 0 whatever "
    "is found; cases are still judged at error).",
)
@click.option("-k", "keyword", help="Only cases whose id contains this text.")
@click.option(
    "--select",
    multiple=True,
    metavar="RULES",
    help="Only these rules apply: rule ids or categories, comma-separated (repeatable); "
    "replaces the configuration file's select.",
)
@click.option(
    "--ignore",
    multiple=True,
    metavar="RULES",
    help="Turn these rules off: rule ids or categories, comma-separated (repeatable); "
    "replaces the configuration file's ignore.",
)
@click.option(
    "--level",
    "levels",
    multiple=True,
    metavar="RULE=LEVEL",
    help="This rule's level (error, warning, info or off) under every profile (repeatable); "
    "wins over the file's level for that rule.",
)
@click.option(
    "--case",
    "case_ids",
    multiple=True,
    metavar="ID",
    help="Only the case with exactly this id (repeatable; generated-inputs and "
    "capabilities included): what reproducers use, as -k also runs every id containing it.",
)
@click.option(
    "--cases",
    "cases_path",
    type=click.Path(file_okay=False),
    help="A folder of your own case files (cases/README.md), run with the built-in ones.",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write a JSON report.")
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False),
    help="Write a JUnit XML report (one testcase per case).",
)
@click.option("--first-byte-timeout", default=15.0, show_default=True, type=SECONDS)
@click.option("--idle-timeout", default=30.0, show_default=True, type=SECONDS)
@click.option("--total-timeout", default=120.0, show_default=True, type=SECONDS)
@click.option(
    "--concurrency",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Cases run at once against the agent (each case's own runs stay in order).",
)
@click.option(
    "--no-preflight",
    is_flag=True,
    help="Skip the one request sent before the suite to check the URL, path and auth.",
)
@click.option(
    "--examples",
    default=25,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="Generated RunAgentInputs to send (hypothesis); 0 turns generation off.",
)
@click.option("--seed", type=int, help="Seed for generated inputs (printed when chosen at random).")
@click.option(
    "--generated-budget",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=1.0),
    metavar="SECONDS",
    help="Wall-clock time the generated inputs may take, shrinking included: no example "
    "or shrink step is sent after it (one in flight ends within its deadlines).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    default="reports/compliance.html",
    show_default=True,
    help="Write the standalone HTML compliance report here.",
)
@click.option("--no-html", is_flag=True, help="Do not write the HTML report.")
@click.option(
    "--sarif",
    "sarif_path",
    type=click.Path(dir_okay=False),
    help="Write the findings as SARIF 2.1.0 (code scanning).",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False),
    help="Expected-failures baseline (JSON): known failures do not fail the run, new ones "
    "do, fixed ones are reported as stale.",
)
@click.option(
    "--update-baseline",
    is_flag=True,
    help="Write this run's failures to the --baseline file (and exit 0).",
)
@click.option(
    "--capabilities",
    "capabilities_source",
    type=CAPABILITIES,
    metavar="URL|FILE",
    help="The agent's AgentCapabilities declaration (fetched with the same headers, or a "
    "file): its shape is checked and what it declares false is compared with the streams. "
    "Default for the built-in reference agent: its /capabilities.",
)
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Fail the verdict (exit 1) when fewer than PERCENT of the rules that apply were "
    "exercised by a completed exchange (the coverage the verdict shows).",
)
@click.option(
    "--compare-reference",
    is_flag=True,
    help="Also run the cases against the built-in reference agent and show its results "
    "beside the target's.",
)
@click.option(
    "--behaviour",
    is_flag=True,
    help="Also run the opt-in behaviour checks that judge model output (history-honoured: "
    "does the reply use an earlier turn?); advisory, info level.",
)
@click.option(
    "--binding",
    type=click.Choice(BINDINGS),
    default="sse",
    show_default=True,
    help="The HTTP binding the runs ask for: sse (Accept: text/event-stream), protobuf "
    "(Accept names application/vnd.ag-ui.event+proto too; an agent without it answers SSE, "
    "which is legal), or both (each deterministic case also on protobuf, the two runs "
    "compared by structure).",
)
@click.option(
    "-x",
    "--maxfail",
    type=click.IntRange(1),
    metavar="N",
    help="Stop after N failed cases: the cases not yet started are not-run, and the verdict fails.",
)
@click.option(
    "--list-cases",
    is_flag=True,
    help="Print the ids and titles of the cases that would run (after -k and --cases), and "
    "exit 0 without contacting the agent.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the verdict and the report paths.")
@click.option(
    "-v", "--verbose", is_flag=True, help="Print every finding of every case (info included)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", *PRINTED_FORMATS]),
    default="text",
    show_default=True,
    help="github: also print GitHub Actions annotations (one per rule and case) at the end.",
)
def run(
    agent_url: str | None,
    header_specs: tuple[str, ...],
    auth_required: bool,
    profile: str,
    fail_on: str,
    keyword: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    levels: tuple[str, ...],
    case_ids: tuple[str, ...],
    cases_path: str | None,
    json_path: str | None,
    junit_path: str | None,
    first_byte_timeout: float,
    idle_timeout: float,
    total_timeout: float,
    concurrency: int,
    no_preflight: bool,
    examples: int,
    seed: int | None,
    generated_budget: float,
    html_path: str,
    no_html: bool,
    sarif_path: str | None,
    baseline_path: str | None,
    update_baseline: bool,
    capabilities_source: str | None,
    min_coverage: float | None,
    compare_reference: bool,
    behaviour: bool,
    binding: str,
    maxfail: int | None,
    list_cases: bool,
    quiet: bool,
    verbose: bool,
    fmt: str,
) -> None:
    """Run the conformance cases against an agent (default: the built-in reference agent)."""
    import contextlib
    import random

    from agui_conformance import suite
    from agui_conformance.cases import all_cases
    from agui_conformance.cli_config import config_info
    from agui_conformance.redact import redact_url as _redact_url
    from agui_conformance.runner import RunnerConfig
    from agui_conformance.transport import Deadlines, env_refs

    ctx = click.get_current_context()
    shown_config = config_info(ctx.obj, ctx, _rule_sources(ctx, select, ignore, levels))
    try:
        known = all_cases(cases_path)
    except ValueError as err:
        raise ToolError(f"cases: {err}") from err
    _check_case_ids(case_ids, [c.id for c in known])

    def chosen(case_id: str) -> bool:
        return (keyword is None or keyword in case_id) and (not case_ids or case_id in case_ids)

    cases = [c for c in known if chosen(c.id)]
    generated = examples if chosen(suite.GENERATED) else 0
    # -k / --case select the capabilities case too (`--case capabilities`), when there is
    # a declaration to check: the one given, or the built-in agent's
    declared = chosen(CAPABILITIES_CASE)
    checked = declared and (capabilities_source is not None or agent_url is None)
    if not cases and not generated and not checked:
        asked = f"-k {keyword!r}" if keyword is not None else ""
        asked += (" and " if asked and case_ids else "") + " ".join(f"--case {c}" for c in case_ids)
        raise ToolError(f"no case matches {asked}")
    if quiet and verbose:
        raise click.UsageError("-q/--quiet and -v/--verbose exclude each other")
    if list_cases:  # before the headers: listing needs no secret from the environment
        _list_cases(cases, generated, checked)
        return
    headers = _headers(header_specs)
    say = _quiet if quiet else click.echo
    for line in config_lines(shown_config):
        say(line)
    if generated:
        seed = seed if seed is not None else random.randrange(2**31)
    threshold = fail_level(fail_on)
    accepted = _baseline(baseline_path, update_baseline)
    plan = suite.Plan(cases, generated, seed, threshold, fail_on, capabilities_source)
    if baseline_path and accepted is not None:
        plan.baseline, plan.baseline_file = accepted, baseline_path
    plan.min_coverage = min_coverage
    plan.maxfail = maxfail
    builtin = agent_url is None
    deadlines = Deadlines(first_byte=first_byte_timeout, idle=idle_timeout, total=total_timeout)
    if agent_url is not None and not no_preflight:
        _preflight(agent_url, headers, deadlines, auth_required)
    with contextlib.ExitStack() as stack:
        from reference_agent.server import running_agent

        if agent_url is None:
            agent_url = stack.enter_context(running_agent()).url
            say(f"target: the reference agent at {agent_url}")
            if capabilities_source is None and declared:
                plan.capabilities = agent_url.rstrip("/") + "/capabilities"
        else:
            say(f"target: {_redact_url(agent_url)}")
        cfg = RunnerConfig(
            url=agent_url,
            headers=headers,
            profile=profile,
            deadlines=deadlines,
            auth_required=auth_required,
            header_env=env_refs(header_specs),
            concurrency=concurrency,
            behaviour=behaviour,
            generated_budget=generated_budget,
            binding=binding,
        )
        reference = None
        if compare_reference:
            ref_url = stack.enter_context(running_agent()).url
            reference = RunnerConfig(
                url=ref_url,
                profile=profile,
                deadlines=deadlines,
                generated_budget=generated_budget,
                binding=binding,
            )
        done: list[CaseResult] = []
        run_args = _run_args(cfg, builtin=builtin)

        def show(result: CaseResult) -> None:
            done.append(result)
            if builtin:
                _serve_curls(result, agent_url)
            if quiet:
                return
            _echo_result(result, len(done), plan.total, verbose=verbose)
            if result.id == suite.GENERATED and result.status == "failed":
                _echo_generated(result, run_args, generated, seed)

        if generated:
            say(f"generated inputs: {generated} examples, seed {seed}")
        report = suite.run(
            cfg,
            plan,
            shown_target=_redact_url(agent_url),
            on_result=show,
            reference=reference,
        )
    report.config = shown_config
    _reproducible(
        report, run_args, builtin=builtin, keyword=keyword, cases=case_ids, examples=examples
    )
    if baseline_path and update_baseline:
        _update_baseline(report, baseline_path, threshold)
    elif report.baseline is not None and not quiet:
        _echo_baseline(report)
    if not quiet:
        _echo_rule_summary(report)
        if binding != "sse":
            from agui_conformance.bindings import binding_note

            _say(binding_note(report.cases, binding))
    if fmt != "text":
        click.echo(render_report(fmt, report), nl=False)
    paths = (json_path, junit_path, html_path if not no_html else None, sarif_path)
    _finish(report, *paths, quiet=quiet)


def _rule_sources(
    ctx: click.Context, select: Sequence[str], ignore: Sequence[str], levels: Sequence[str]
) -> Any:
    """The rule choice in force: the file's (`ctx.obj`) under --select / --ignore /
    --level, applied to every rule until the command ends (`rules.overridden`)."""
    from agui_conformance import config, rules

    settings = ctx.obj if ctx.obj is not None else config.Settings()
    try:
        sources = config.with_command_line(settings, select=select, ignore=ignore, levels=levels)
    except config.ConfigError as err:
        raise ToolError(str(err)) from err
    if sources.from_line:
        ctx.with_resource(rules.overridden(sources.choice))
    return sources


def config_lines(shown: ConfigInfo | None) -> list[str]:
    """What a face prints of its configuration: the file, then the rule choice in force
    with where each part came from."""
    if shown is None:
        return []
    lines = [f"config: {shown.file}"] if shown.file is not None else []
    parts = []
    for key, value in (
        ("select", ", ".join(shown.select)),
        ("ignore", ", ".join(shown.ignore)),
        ("levels", ", ".join(f"{rule}={level}" for rule, level in shown.levels.items())),
    ):
        if value:
            where = "command line" if key in shown.fromCommandLine else "file"
            parts.append(f"{key} {value} ({where})")
    if parts:
        lines.append("rules: " + "; ".join(parts))
    return lines


def _check_case_ids(given: Sequence[str], known: list[str]) -> None:
    """Every `--case` names a case: a typo is a usage error, never an empty run."""
    import difflib

    from agui_conformance import suite

    every = [*known, suite.GENERATED, CAPABILITIES_CASE]
    for case_id in given:
        if case_id not in every:
            close = difflib.get_close_matches(case_id, every, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else " (--list-cases lists them)"
            raise ToolError(f"--case: no case {case_id!r}{hint}")


def _quiet(_text: str) -> None:
    """-q: a line that is neither the verdict nor a report path is not printed."""


def _list_cases(cases: list[Case], generated: int, checked: bool) -> None:
    """--list-cases: what `run` would run with these options; no request is sent."""
    from agui_conformance import suite

    listed = [(case.id, case.title) for case in cases]
    if generated:
        listed.append((suite.GENERATED, f"{generated} generated RunAgentInputs"))
    if checked:
        listed.append((CAPABILITIES_CASE, "The capabilities declaration"))
    width = max(len(case_id) for case_id, _ in listed)
    for case_id, title in listed:
        _say(f"{case_id:<{width}}  {title}")


def _echo_rule_summary(report: Report) -> None:
    from agui_conformance.report.rule_summary import summary_lines

    for line in summary_lines(report):
        click.echo(line)


CAPABILITIES_CASE = "capabilities"  # the id of suite.capabilities_case's result

# `run` options that decide the verdict: reproducers carry them, -x/--maxfail included
# (it decides which cases run); -k, --examples and --seed are added per reproducer.
# --compare-reference, the report paths, --update-baseline, -q/-v and --format change what
# is written, not the verdict.
VERDICT_OPTIONS = (
    "auth_required",
    "profile",
    "fail_on",
    "cases_path",
    "first_byte_timeout",
    "idle_timeout",
    "total_timeout",
    "concurrency",
    "generated_budget",
    "no_preflight",
    "baseline_path",
    "capabilities_source",
    "behaviour",
    "binding",
    "maxfail",
    "select",
    "ignore",
    "levels",
)


def _verdict_args(ctx: click.Context) -> list[str]:
    """The verdict options this run was given other than their defaults, in the command's
    own spelling (the long form), shell-quoted; a URL through `redact_url`."""
    import shlex

    from agui_conformance.redact import redact_url

    args: list[str] = []
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name not in VERDICT_OPTIONS:
            continue
        value = ctx.params.get(param.name)
        if value is None or value is False or value == param.get_default(ctx):
            continue
        flag = max(param.opts, key=len)
        if param.multiple:
            for item in value:
                args += [flag, shlex.quote(str(item))]
        elif param.is_flag:
            args.append(flag)
        else:
            shown = redact_url(value) if str(value).startswith(("http://", "https://")) else value
            args += [flag, shlex.quote(str(shown))]
    return args


def _run_args(cfg: RunnerConfig, *, builtin: bool) -> list[str]:
    """This run's verdict arguments: the target (none for the built-in agent, which a
    reproducer starts again), its headers (secrets as env: references), the options."""
    from agui_conformance.reproduce import target_args

    target = target_args(
        None if builtin else cfg.url, cfg.headers, cfg.secret_headers, cfg.header_env
    )
    return target + _verdict_args(click.get_current_context())


def _reproducible(
    report: Report,
    run_args: list[str],
    *,
    builtin: bool,
    keyword: str | None,
    cases: Sequence[str],
    examples: int,
) -> None:
    """The report's reproducers: `Report.runArgs` and the command that runs it again; the
    generated inputs' curl names serve's port for the built-in agent, not the temporary one."""
    from agui_conformance.reproduce import run_command

    report.runArgs = run_args
    report.builtInAgent = builtin
    report.command = run_command(
        run_args, keyword=keyword, cases=cases, examples=examples, seed=report.seed
    )


def _serve_curls(result: CaseResult, temporary: str) -> None:
    """The built-in agent's curl reproducers (the generated inputs'): the agent started
    first, at serve's default port, never the temporary port this run used."""
    from agui_conformance.reproduce import SERVE_URL

    for record in result.runs:
        if record.reproducer:
            curl = record.reproducer.replace(temporary, SERVE_URL)
            record.reproducer = "agui-conformance serve &  # the built-in reference agent\n" + curl


def _echo_generated(
    result: CaseResult, run_args: list[str], examples: int, seed: int | None
) -> None:
    """The whole reproducer of a failed generated-inputs case, under its curl."""
    from agui_conformance.reproduce import case_command

    _say("    reproduce: " + case_command(run_args, result.id, examples=examples, seed=seed))


def _preflight(
    url: str, headers: dict[str, str], deadlines: Deadlines, auth_required: bool
) -> None:
    """One request before the suite (`preflight`): a URL, path or auth problem ends the
    run here, exit 2, before any report is written."""
    from agui_conformance import aio
    from agui_conformance.preflight import preflight

    try:
        problem = aio.run(preflight(url, headers, deadlines, auth_required=auth_required))
    except Exception as err:  # a bug of ours: one line, not a traceback (exit 2)
        raise ToolError(f"internal error in the preflight request: {type(err).__name__}") from err
    if problem is not None:
        raise ToolError(problem.message)


def _baseline(path: str | None, update: bool) -> Any:
    """The baseline to compare with (None when updating it or when none is given)."""
    from agui_conformance import baseline

    if update and path is None:
        raise ToolError("--update-baseline needs --baseline FILE")
    if path is None or update:
        return None
    try:
        return baseline.load(path)
    except ValueError as err:
        raise ToolError(str(err)) from err


def _update_baseline(report: Report, path: str, threshold: Level) -> None:
    from agui_conformance import baseline, suite

    entries = baseline.failures(report.cases, threshold)
    _write_report(path, baseline.dump(entries, report.profile), "baseline")
    click.echo(f"baseline: {len(entries)} known failure(s) written to {path}")
    report.baseline = baseline.compare(
        report.cases, baseline.Baseline(entries=entries), threshold, path
    )
    suite.mark_and_summarize(report)


def _echo_baseline(report: Report) -> None:
    comparison = report.baseline
    assert comparison is not None
    _say(
        f"baseline {comparison.file}: {len(comparison.known)} known, "
        f"{len(comparison.new)} new, {len(comparison.stale)} stale"
    )
    for entry in comparison.new:
        _say(f"    NEW   {entry.case}: {entry.rule}: {entry.message}")
    for entry in comparison.stale:
        _say(f"    STALE {entry.case}: {entry.rule} no longer fails (drop the entry)")


def _finish(
    report: Report,
    json_path: str | None,
    junit_path: str | None,
    html_path: str | None,
    sarif_path: str | None,
    *,
    quiet: bool = False,
) -> None:
    """Print the verdict, write the reports asked for, exit with the run's code."""
    summary = report.summary
    assert summary is not None
    say = _quiet if quiet else click.echo
    counts = ", ".join(f"{n} {status}" for status, n in summary.cases.items())
    reqs = ", ".join(f"{n} {state}" for state, n in summary.requirements.items())
    say(f"{len(report.cases)} cases: {counts} (profile {report.profile})")
    say(f"requirements: {reqs}")
    from agui_conformance.matrix import declared_as

    version = declared_as(summary)
    as_version = f" (as {version}, the version the agent declared)" if version else ""
    say(f"conformance level reached: {summary.conformance}{as_version}")
    click.echo(f"verdict: {verdict_text(summary, report.baseline, report.cases)}")
    artifact = json_path or html_path or DEFAULT_ARTIFACT  # what SARIF's locations name
    for fmt, path in (("json", json_path), ("junit", junit_path), ("sarif", sarif_path),
                      ("html", html_path)):  # fmt: skip
        if path:
            _write_report(path, render_report(fmt, report, artifact), REPORT_FORMATS[fmt].label)
    if summary.cases.get("harness-error"):
        sys.exit(EXIT_ERROR)
    if summary.coverage is not None and not summary.coverage.met:
        sys.exit(EXIT_FINDINGS)  # --min-coverage gates whatever --fail-on says
    if not exit_fails(report.failOn):
        sys.exit(EXIT_OK)
    # the verdict: failed, agent-error and not-run cases (or new ones, with a baseline)
    # fail it, and so does a run where no case passed (no evidence, no claim)
    sys.exit(EXIT_OK if summary.passed else EXIT_FINDINGS)


def verdict_text(
    summary: Summary,
    baseline: BaselineComparison | None = None,
    cases: Sequence[CaseResult] = (),
) -> str:
    """PASS or FAIL, what decided it, and the coverage (report.verdict words it)."""
    from agui_conformance.report.verdict import verdict

    return verdict(summary, baseline, cases).text()


def _write_report(path: str, text: str, label: str) -> None:
    _write(path, text)
    click.echo(f"{label}: {path}")


@main.command()
@click.argument("url", type=URL)
@click.option(
    "--input",
    "request_path",
    required=True,
    metavar="REQUEST.json",
    help="The RunAgentInput to send.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the events (JSONL; a protobuf answer: its body as it came); "
    "timings go to OUTPUT.timing.json.",
)
@click.option(
    "--agent-header",
    "header_specs",
    multiple=True,
    metavar="'Name: value'",
    help="Header to send (repeatable); `Name: env:VAR` reads the environment.",
)
@click.option(
    "--binding",
    type=click.Choice(["sse", "protobuf"]),
    default="sse",
    show_default=True,
    help="The binding to ask for, with the Accept `run --binding` sends: sse "
    "(text/event-stream) or protobuf (the protobuf media type, then SSE). A protobuf "
    "answer is saved as its raw body, which `validate` recognises.",
)
@click.option("--total-timeout", default=120.0, show_default=True, type=SECONDS)
def record(
    url: str,
    request_path: str,
    output: str,
    header_specs: tuple[str, ...],
    binding: str,
    total_timeout: float,
) -> None:
    """Capture one run as JSONL or a protobuf body (+ a timing sidecar), to replay into
    `validate`."""
    from agui_conformance import aio
    from agui_conformance.negotiation import accept_for
    from agui_conformance.protobuf.scrub import SecretInBody
    from agui_conformance.recording import save
    from agui_conformance.redact import redact_url, secrets_of
    from agui_conformance.runner import with_accept
    from agui_conformance.transport import Deadlines, exchange

    request = _load_request(request_path)
    deadlines = Deadlines(total=total_timeout)
    headers = _headers(header_specs)
    sent = with_accept(dict(headers), accept_for(binding), keep=True)  # the user's wins
    recorded = aio.run(
        exchange(url, orjson.dumps(request), headers=sent, deadlines=deadlines, keep_body=True)
    )
    if recorded.harness_error:
        said = secrets_of(url, headers).message(recorded.harness_error)
        raise ToolError(f"could not reach {redact_url(url)}: {said}")
    if recorded.status is None:  # no answer at all: nothing to record, nothing written
        why = recorded.failure or recorded.ending.replace("-", " ")
        said = secrets_of(url, headers).message(why)
        raise ToolError(f"no answer from {redact_url(url)}: {said}")
    try:
        written = save(recorded, url, output, headers)  # + timing sidecar, secrets scrubbed
    except SecretInBody as err:
        raise ToolError(
            f"nothing written: {err}, which cannot be scrubbed without changing what the "
            "recording shows; record it with --binding sse (scrubbed JSONL) instead"
        ) from err
    except OSError as err:
        raise ToolError(f"cannot write {output}: {err.strerror or err}") from err
    what = "a protobuf body of " if written == "proto" else ""
    click.echo(
        f"recorded {what}{len(recorded.frames)} event(s), status {recorded.status}, "
        f"{recorded.ending}, to {output} (+ {output}.timing.json)"
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--token", envvar="AGUI_AGENT_TOKEN", help="Require this token (env AGUI_AGENT_TOKEN)."
)
@click.option(
    "--token-header",
    default="Authorization",
    show_default=True,
    help="Header carrying the token (Authorization expects `Bearer TOKEN`).",
)
@click.option("--fault", help="Break one rule on every run (see --list-faults).")
@click.option(
    "--allow-faults",
    is_flag=True,
    help="Let requests choose a fault with the X-AGUI-Fault header.",
)
@click.option("--list-faults", is_flag=True, help="List the fault modes and exit.")
def serve(
    host: str,
    port: int,
    token: str | None,
    token_header: str,
    fault: str | None,
    allow_faults: bool,
    list_faults: bool,
) -> None:
    """Run the reference agent (AG-UI 1.1 over HTTP + SSE).

    \b
    Limits per client (reference_agent/limits.py):
      request head (line + headers)  within 10 s, else the connection closes
      request body (max 1 MiB)       within 20 s of the head, else 408
      a write the client never reads ends the response after 30 s
      idle keep-alive 5 s; over 512 connections or requests: 503;
      a head over 16 KiB: 400; shutdown waits 5 s for running requests.
    """
    from reference_agent.app import AgentConfig
    from reference_agent.faults import FAULTS
    from reference_agent.server import serve as run_server

    if list_faults:
        for item in FAULTS.values():
            click.echo(f"{item.name} {item.rule}  # {item.description}")
        return
    if fault is not None and fault not in FAULTS:
        raise ToolError(f"unknown fault {fault!r}; see --list-faults")
    config = AgentConfig(
        token=token, token_header=token_header, fault=fault, allow_faults=allow_faults
    )
    sock = _listen(host, port)  # the URL is printed only once the port is ours
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"reference agent on http://{shown}:{port}/ (auth: {'on' if token else 'off'})")
    run_server(host, port, config, sock=sock)


def _listen(host: str, port: int) -> socket.socket:
    import errno

    from reference_agent.server import bind

    try:
        return bind(host, port)
    except socket.gaierror as err:
        raise ToolError(
            f"cannot listen on {host}: the host does not resolve ({err.strerror})"
        ) from err
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise ToolError(
                f"cannot listen on {host}:{port}: the port is already in use "
                "(another server is running there; choose another --port)"
            ) from err
        if err.errno == errno.EADDRNOTAVAIL:
            raise ToolError(
                f"cannot listen on {host}:{port}: {host} is not an address of this machine"
            ) from err
        if err.errno == errno.EACCES:
            raise ToolError(
                f"cannot listen on {host}:{port}: permission denied (ports below 1024 "
                "need privileges; choose another --port)"
            ) from err
        raise ToolError(f"cannot listen on {host}:{port}: {err.strerror or err}") from err


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ToolError(f"--listen {value!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


@main.command()
@click.option("--upstream", required=True, type=URL, help="The agent endpoint to forward to.")
@click.option(
    "--listen", default="127.0.0.1:8787", show_default=True, metavar="HOST:PORT", help="Address."
)
@click.option(
    "--agent-header",
    "header_specs",
    multiple=True,
    metavar="'Name: value'",
    help="Header set on every forwarded request (repeatable); `Name: env:VAR` reads the "
    "environment. The front end's own headers pass through as they are.",
)
@click.option("--profile", type=click.Choice(PROFILES), default="spec", show_default=True)
@click.option("--fail-on", type=click.Choice(FAIL_ON), default="error", show_default=True)
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="HTML report on exit.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="JSON report on exit.")
@click.option(
    "--keep", default=200, show_default=True, type=click.IntRange(1), help="Exchanges kept."
)
@click.option("--connect-timeout", default=5.0, show_default=True, type=SECONDS)
@click.option(
    "--idle-timeout",
    default=300.0,
    show_default=True,
    type=SECONDS,
    help="Longest silence of the agent mid-answer before the proxy gives up on it.",
)
def proxy(
    upstream: str,
    listen: str,
    header_specs: tuple[str, ...],
    profile: str,
    fail_on: str,
    html_path: str | None,
    json_path: str | None,
    keep: int,
    connect_timeout: float,
    idle_timeout: float,
) -> None:
    """Forward a front end's traffic to an agent and judge every run on the side.

    Every byte is forwarded unchanged as it arrives; one line per exchange as it ends; the
    judged exchanges live at http://HOST:PORT/_agui/; the reports are written on Ctrl-C."""
    from agui_conformance.proxy.serve import ListenError, ProxyConfig
    from agui_conformance.proxy.serve import run as run_proxy
    from agui_conformance.redact import redact_url

    host, port = _host_port(listen)
    cfg = ProxyConfig(
        upstream=upstream,
        host=host,
        port=port,
        agent_headers=_headers(header_specs),
        profile=profile,
        fail_on=Level.INFO if fail_on == "never" else Level(fail_on),
        keep=keep,
        connect_timeout=connect_timeout,
        idle_timeout=idle_timeout,
    )
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"proxy on http://{shown}:{port}/ -> {redact_url(upstream)}")
    click.echo(f"live page: http://{shown}:{port}/_agui/  (Ctrl-C writes the reports and stops)")
    try:
        report = run_proxy(cfg, on_line=_say)
    except ListenError as err:
        raise ToolError(str(err)) from err
    report.failOn = fail_on
    summary = report.summary
    assert summary is not None
    counts = ", ".join(f"{n} {status}" for status, n in summary.cases.items()) or "none"
    click.echo(f"{len(report.cases)} exchange(s) judged: {counts}")
    for fmt, path in (("json", json_path), ("html", html_path)):
        if path:
            _write_report(path, render_report(fmt, report), REPORT_FORMATS[fmt].label)


if __name__ == "__main__":  # pragma: no cover
    main()
