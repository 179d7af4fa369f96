"""The `agui-conformance` command line.

Owns argument parsing, reading files and stdin, choosing a formatter and the
exit code: 0 conformant, 1 findings at or above `--fail-on`, 2 usage or tool
error (with a one-line message, never a traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson

from agui_conformance.model import Level
from agui_conformance.report import to_json, to_sarif, to_text
from agui_conformance.rules import CATEGORIES, PROFILES, catalog

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FAIL_ON = ("error", "warning", "info", "never")


class ToolError(click.ClickException):
    exit_code = EXIT_ERROR


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="agui-conformance")
def main() -> None:
    """Conformance suite and protocol validator for AG-UI 1.1 agents."""


def _load_request(path: str | None) -> Any:
    if path is None:
        return None
    try:
        return orjson.loads(Path(path).read_bytes())
    except OSError as err:
        raise ToolError(f"cannot read --input {path}: {err.strerror}") from err
    except orjson.JSONDecodeError as err:
        raise ToolError(f"--input {path} is not JSON: {err}") from err


@main.command()
@click.argument("path")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--profile", type=click.Choice(PROFILES), default="spec", show_default=True)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="error",
    show_default=True,
    help="Lowest level that makes the exit code 1.",
)
@click.option(
    "--input",
    "request_path",
    metavar="REQUEST.json",
    help="The RunAgentInput that produced the stream (enables request-aware rules).",
)
@click.option(
    "--stream-format",
    type=click.Choice(["auto", "sse", "jsonl", "json"]),
    default="auto",
    show_default=True,
    help="Format of the recording.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here.")
def validate(
    path: str,
    fmt: str,
    profile: str,
    fail_on: str,
    request_path: str | None,
    stream_format: str,
    output: str | None,
) -> None:
    """Validate a recorded stream: an SSE capture, JSONL, or a JSON array (PATH or - for stdin)."""
    from agui_conformance.validator import validate_recording

    request = _load_request(request_path)
    if path == "-":
        source: Any = sys.stdin.buffer
        name = "stdin"
    else:
        if not Path(path).is_file():
            raise ToolError(f"no such file: {path}")
        source, name = path, path
    try:
        result = validate_recording(source, fmt=stream_format, request=request, profile=profile)
    except OSError as err:
        raise ToolError(f"cannot read {name}: {err}") from err
    if fmt == "json":
        text = to_json(result, name)
    elif fmt == "sarif":
        jsonl = stream_format == "jsonl" or (
            stream_format == "auto" and name.endswith((".jsonl", ".ndjson"))
        )
        text = to_sarif(result, name, line_per_event=jsonl)
    else:
        color = output is None and sys.stdout.isatty()
        text = to_text(result, name, color=color)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    if fail_on != "never":
        threshold = Level(fail_on).rank
        if any(f.level.rank >= threshold for f in result.findings):
            sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_OK)


@main.command()
@click.option("--profile", type=click.Choice(PROFILES), default="spec", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@click.option("--category", type=click.Choice(CATEGORIES), help="Only this category.")
def rules(profile: str, fmt: str, category: str | None) -> None:
    """List the rule catalog with each rule's level under the profile."""
    selected = [r for r in catalog().values() if category is None or r.category == category]
    if fmt == "json":
        data = [
            {**r.model_dump(mode="json"), "url": r.url, "level": r.level(profile).value}
            for r in selected
        ]
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    if fmt == "markdown":
        click.echo("| rule | level | category | title |\n| --- | --- | --- | --- |")
        for r in selected:
            click.echo(
                f"| [{r.id}]({r.url}) | {r.level(profile).value} | {r.category} | {r.title} |"
            )
        return
    width = max((len(r.id) for r in selected), default=0)
    for r in selected:
        click.echo(f"{r.id:<{width}}  {r.level(profile).value:<7}  {r.category:<12}  {r.title}")


def _headers(specs: tuple[str, ...]) -> dict[str, str]:
    """'Name: value' pairs; a value `env:VAR` is read from the environment (keeps secrets
    off the command line)."""
    import os

    from agui_conformance.transport import parse_header

    headers: dict[str, str] = {}
    for spec in specs:
        try:
            name, value = parse_header(spec)
        except ValueError as err:
            raise ToolError(str(err)) from err
        if value.startswith("env:"):
            var = value[4:]
            if var not in os.environ:
                raise ToolError(f"--agent-header {name}: environment variable {var} is not set")
            value = os.environ[var]
        headers[name] = value
    return headers


@main.command()
@click.option("--agent-url", help="The agent endpoint. Default: start the reference agent.")
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
@click.option("--fail-on", type=click.Choice(FAIL_ON), default="error", show_default=True)
@click.option("-k", "keyword", help="Only cases whose id contains this text.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write a JSON report.")
@click.option("--first-byte-timeout", default=15.0, show_default=True, type=float)
@click.option("--idle-timeout", default=30.0, show_default=True, type=float)
@click.option("--total-timeout", default=120.0, show_default=True, type=float)
def run(
    agent_url: str | None,
    header_specs: tuple[str, ...],
    auth_required: bool,
    profile: str,
    fail_on: str,
    keyword: str | None,
    json_path: str | None,
    first_byte_timeout: float,
    idle_timeout: float,
    total_timeout: float,
) -> None:
    """Run the conformance cases against an agent (default: the built-in reference agent)."""
    import asyncio
    import contextlib

    from agui_conformance.cases import load_cases
    from agui_conformance.runner import RunnerConfig, run_suite
    from agui_conformance.transport import Deadlines

    headers = _headers(header_specs)
    try:
        cases = [c for c in load_cases() if keyword is None or keyword in c.id]
    except ValueError as err:
        raise ToolError(f"invalid case file: {err}") from err
    if not cases:
        raise ToolError(f"no case matches -k {keyword!r}")
    deadlines = Deadlines(first_byte=first_byte_timeout, idle=idle_timeout, total=total_timeout)
    threshold = Level.INFO if fail_on == "never" else Level(fail_on)
    with contextlib.ExitStack() as stack:
        if agent_url is None:
            from reference_agent.server import running_agent

            agent_url = stack.enter_context(running_agent()).url
            click.echo(f"target: the reference agent at {agent_url}")
        else:
            click.echo(f"target: {agent_url}")
        cfg = RunnerConfig(
            url=agent_url,
            headers=headers,
            profile=profile,
            deadlines=deadlines,
            auth_required=auth_required,
        )
        results = asyncio.run(run_suite(cases, cfg, threshold))
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
        click.echo(f"{result.status.upper():<15} {result.id}  {result.reason}".rstrip())
        shown = [f for f in result.findings if f.level.rank >= Level.WARNING.rank]
        for finding in shown[:5]:
            where = "" if finding.index is None else f" @event {finding.index}"
            click.echo(f"    {finding.level.value} {finding.rule}{where}: {finding.message}")
        if len(shown) > 5:
            click.echo(f"    … and {len(shown) - 5} more")
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    click.echo(f"{len(results)} cases: {summary} (profile {profile})")
    if json_path:
        from agui_conformance import __version__

        report = {
            "reportVersion": "1",
            "tool": {"name": "agui-conformance", "version": __version__},
            "target": agent_url,
            "profile": profile,
            "cases": [r.model_dump(mode="json") for r in results],
        }
        out = Path(json_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        click.echo(f"JSON report: {json_path}")
    failed = counts.get("failed", 0) + counts.get("harness-error", 0)
    if counts.get("harness-error"):
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if failed and fail_on != "never" else EXIT_OK)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
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
    """Run the reference agent (AG-UI 1.1 over HTTP + SSE)."""
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
    click.echo(f"reference agent on http://{host}:{port}/ (auth: {'on' if token else 'off'})")
    run_server(host, port, config)


if __name__ == "__main__":  # pragma: no cover
    main()
