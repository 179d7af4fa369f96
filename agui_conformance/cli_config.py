"""The configuration file under the CLI: its values as click's `default_map`, so an
option given on the command line wins, and the record of which came from where.

Owns the mapping from the file's keys to the options of `run` and `validate`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from agui_conformance.config import RULE_KEYS, RuleSources, Settings

if TYPE_CHECKING:
    from agui_conformance.model import ConfigInfo

# file key -> the option's parameter name, per command
OPTIONS: dict[str, dict[str, str]] = {
    "run": {
        "agent-url": "agent_url",
        "headers": "header_specs",
        "profile": "profile",
        "fail-on": "fail_on",
        "binding": "binding",
        "baseline": "baseline_path",
        "first-byte-timeout": "first_byte_timeout",
        "idle-timeout": "idle_timeout",
        "total-timeout": "total_timeout",
        "concurrency": "concurrency",
        "examples": "examples",
    },
    "validate": {"profile": "profile", "fail-on": "fail_on"},
}
# select / ignore / levels: the command line's --select, --ignore, --level merge with the
# file's in `config.with_command_line` (RuleSources), not through default_map


def default_map(settings: Settings) -> dict[str, dict[str, Any]]:
    """The file's values as defaults of each command's options."""
    out: dict[str, dict[str, Any]] = {}
    for command, options in OPTIONS.items():
        defaults: dict[str, Any] = {}
        for key, name in options.items():
            if key == "headers" and settings.headers:
                defaults[name] = settings.header_specs
            elif key in settings.values:
                defaults[name] = settings.values[key]
        out[command] = defaults
    return out


def config_info(
    settings: Settings, ctx: click.Context, rules: RuleSources | None = None
) -> ConfigInfo | None:
    """Which of the file's settings this command used, which the command line overrode,
    and the rule choice in force (`rules`: the file's under the command line's; None: the
    file's alone). None when there is neither a file nor a rule choice on the line."""
    rules = rules if rules is not None else RuleSources(settings.rules, _file_rule_keys(settings))
    if settings.path is None and not rules.from_line:
        return None
    options = OPTIONS.get(ctx.command.name or "", {})
    from_file: list[str] = []
    from_line: list[str] = []
    for key in settings.set_keys():
        name = options.get(key)
        if name is None:
            if key in rules.from_file:
                from_file.append(key)
            continue  # a key this command has no use for
        source = ctx.get_parameter_source(name)
        if source is ParameterSource.DEFAULT_MAP:
            from_file.append(key)
        elif source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            from_line.append(key)
    from agui_conformance.model import ConfigInfo  # pydantic: only a run needs it

    return ConfigInfo(
        file=None if settings.path is None else str(settings.path),
        fromFile=from_file,
        fromCommandLine=from_line + [k for k in RULE_KEYS if k in rules.from_line],
        select=list(rules.choice.select),
        ignore=list(rules.choice.ignore),
        levels=dict(rules.choice.levels),
    )


def _file_rule_keys(settings: Settings) -> tuple[str, ...]:
    return tuple(key for key in RULE_KEYS if key in settings.set_keys())
