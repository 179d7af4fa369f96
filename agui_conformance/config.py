"""The project's configuration file, as ruff reads its own.

Owns finding the file (`agui-conformance.toml`, or `pyproject.toml`'s
`[tool.agui-conformance]` table, from the current folder upward), checking it
(types, unknown keys, rule names, headers given only as `env:` references) and
turning it into `Settings`: the values in the spelling of `run`'s options, and
the rule choice (select / ignore / per-rule levels) that `rules.overridden`
applies. Knows nothing of click or pytest: each face merges the settings under
its command line (the command line wins).
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agui_conformance.records import FAIL_ON, Level
from agui_conformance.rules import Rule, catalog
from agui_conformance.vocabulary import BINDINGS, CATEGORIES, PROFILES

OWN_FILE = "agui-conformance.toml"
PYPROJECT = "pyproject.toml"
TABLE = "agui-conformance"
VCS_MARKERS = (".git", ".hg", ".svn")
LEVELS = ("error", "warning", "info", "off")

# key -> (type check, what the error says it must be)
_SCALARS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "agent-url": (str, "a string"),
    "profile": (str, "a string"),
    "baseline": (str, "a string (a file path)"),
    "fail-on": (str, "a string"),
    "binding": (str, "a string"),
    "first-byte-timeout": ((int, float), "a number of seconds"),
    "idle-timeout": ((int, float), "a number of seconds"),
    "total-timeout": ((int, float), "a number of seconds"),
    "concurrency": (int, "an integer"),
    "examples": (int, "an integer"),
}
KEYS = (*_SCALARS, "headers", "select", "ignore", "levels")


class ConfigError(ValueError):
    """The file is unreadable or wrong: one line naming the file and the key."""


@dataclass(frozen=True)
class RuleChoice:
    """select / ignore by rule id or category, and per-rule levels ('off' turns it off)."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    levels: Mapping[str, str] = field(default_factory=dict)

    def enabled(self, rule: Rule) -> bool:
        names = (rule.id, rule.category)
        if self.select and not any(n in self.select for n in names):
            return False
        if any(n in self.ignore for n in names):
            return False
        return self.levels.get(rule.id) != "off"

    def level(self, rule_id: str) -> Level | None:
        chosen = self.levels.get(rule_id)
        return None if chosen is None or chosen == "off" else Level(chosen)

    def __bool__(self) -> bool:
        return bool(self.select or self.ignore or self.levels)


@dataclass
class Settings:
    """What a configuration file says; `path` None when no file was found."""

    path: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)  # key (file spelling) -> value
    headers: dict[str, str] = field(default_factory=dict)  # name -> "env:VAR"
    rules: RuleChoice = field(default_factory=RuleChoice)

    @property
    def header_specs(self) -> list[str]:
        """The headers as `--agent-header` specs ('Name: env:VAR')."""
        return [f"{name}: {ref}" for name, ref in self.headers.items()]

    def set_keys(self) -> list[str]:
        """Every key the file set, in the file's spelling."""
        out = list(self.values)
        if self.headers:
            out.append("headers")
        out += [k for k in ("select", "ignore") if getattr(self.rules, k)]  # RULE_KEYS
        if self.rules.levels:
            out.append("levels")
        return out


def find(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The first configuration from `start` (default: the current folder) upward: in each
    folder `agui-conformance.toml` (its top-level keys), then a `pyproject.toml` with a
    `[tool.agui-conformance]` table. The search stops at a VCS root (a folder holding
    .git, .hg or .svn) or the filesystem root."""
    folder = (start or Path.cwd()).resolve()
    for here in (folder, *folder.parents):
        own = here / OWN_FILE
        if own.is_file():
            return own, _read(own)
        project = here / PYPROJECT
        if project.is_file():
            table = find_in(project)
            if table is not None:
                return project, table
        if any((here / marker).exists() for marker in VCS_MARKERS):
            return None
    return None


def find_in(path: Path) -> dict[str, Any] | None:
    """The settings table of one named file: a pyproject.toml's [tool.agui-conformance]
    table (None when it has none), or any other file's top-level keys."""
    if path.name != PYPROJECT:
        return _read(path)
    table = _read(path).get("tool", {}).get(TABLE)
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{TABLE}] must be a table")
    return table


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err


def load(start: Path | None = None) -> Settings:
    """The settings of the configuration found from `start` (empty when there is none)."""
    found = find(start)
    if found is None:
        return Settings()
    path, table = found
    return parse(table, path)


def parse(table: Mapping[str, Any], path: Path) -> Settings:
    """Check `table` (one file's keys) and turn it into `Settings`."""
    where = f"{path}"
    settings = Settings(path=path)
    for key, value in table.items():
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}{_close(key, KEYS)}")
        if key in _SCALARS:
            settings.values[key] = _scalar(key, value, where, path.parent)
    if "headers" in table:
        settings.headers = _headers(table["headers"], where)
    select = _names(table.get("select", []), "select", where)
    ignore = _names(table.get("ignore", []), "ignore", where)
    levels = _levels(table.get("levels", {}), where)
    settings.rules = RuleChoice(select=select, ignore=ignore, levels=levels)
    return settings


def _scalar(key: str, given: Any, where: str, where_folder: Path) -> Any:
    kind, wanted = _SCALARS[key]
    if isinstance(given, bool) or not isinstance(given, kind):
        raise ConfigError(f"{where}: {key} must be {wanted}, not {type(given).__name__}")
    value: Any = given
    choices = {"profile": PROFILES, "fail-on": FAIL_ON, "binding": BINDINGS}.get(key)
    if choices is not None and value not in choices:
        raise ConfigError(f"{where}: {key} {value!r} is not one of {', '.join(choices)}")
    if key.endswith("-timeout") and not 0 < value < float("inf"):
        raise ConfigError(f"{where}: {key} must be a number of seconds above 0")
    if key == "concurrency" and not 1 <= value <= 64:
        raise ConfigError(f"{where}: concurrency must be between 1 and 64")
    if key == "examples" and not 0 <= value <= 10_000:
        raise ConfigError(f"{where}: examples must be between 0 and 10000")
    if key == "baseline":  # as ruff's paths: relative to the file's folder
        return str(where_folder / value) if not Path(value).is_absolute() else value
    if key == "agent-url" and not value.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: agent-url must be an http:// or https:// URL")
    return float(value) if key.endswith("-timeout") else value


def _headers(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: headers must be a table of name = "env:VAR"')
    out: dict[str, str] = {}
    for name, ref in value.items():
        if not isinstance(ref, str):
            raise ConfigError(f'{where}: headers.{name} must be a string "env:VAR"')
        variable = ref.strip().removeprefix("env:") if ref.strip().startswith("env:") else ""
        if not variable.strip():
            # the value itself is never repeated: it may be a secret committed by mistake
            raise ConfigError(
                f'{where}: headers.{name} must be an env: reference ("env:VAR"); a literal '
                "value is refused, so no secret is kept in a file"
            )
        out[name] = f"env:{variable.strip()}"
    return out


def _names(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of rule ids or category names")
    known = [*catalog(), *CATEGORIES]
    for name in value:
        if name not in known:
            raise ConfigError(
                f"{where}: {key}: unknown rule or category {name!r}" + _close(name, known)
            )
    return tuple(value)


def _levels(value: Any, where: str, key: str = "levels") -> dict[str, str]:
    """`key`: how the message names the setting (`levels` in a file, `--level` there)."""
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: levels must be a table of rule-id = "error"|"warning"|...')
    rules = catalog()
    for rule_id, level in value.items():
        if rule_id not in rules:
            raise ConfigError(f"{where}: {key}: unknown rule {rule_id!r}" + _close(rule_id, rules))
        if level not in LEVELS:
            raise ConfigError(
                f"{where}: {key} {rule_id} must be one of {', '.join(LEVELS)}, not {level!r}"
                if key.startswith("--")
                else f"{where}: levels.{rule_id} must be one of {', '.join(LEVELS)}, not {level!r}"
            )
    return dict(value)


RULE_KEYS = ("select", "ignore", "levels")


@dataclass(frozen=True)
class RuleSources:
    """The rule choice in force and where each part came from: the rule keys the
    configuration file supplied and those the command line gave (it wins)."""

    choice: RuleChoice
    from_file: tuple[str, ...] = ()
    from_line: tuple[str, ...] = ()


def split_names(given: Iterable[str]) -> list[str]:
    """`--select a,b --select c` -> [a, b, c] (comma-separated and repeatable, as ruff's)."""
    return [name.strip() for item in given for name in item.split(",") if name.strip()]


def with_command_line(
    settings: Settings,
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    levels: Iterable[str] = (),
) -> RuleSources:
    """The file's rule choice under the command line's, checked as the file's is: a
    `select` or `ignore` given there replaces the file's list (ruff's `--select`), a
    `RULE=LEVEL` given there wins over the file's level for that rule only."""
    where = "command line"
    line_select = _names(split_names(select), "--select", where)
    line_ignore = _names(split_names(ignore), "--ignore", where)
    line_levels = _levels(_pairs(levels, where), where, "--level")
    file = settings.rules
    choice = RuleChoice(
        select=line_select or file.select,
        ignore=line_ignore or file.ignore,
        levels={**file.levels, **line_levels},
    )
    given = {"select": line_select, "ignore": line_ignore, "levels": line_levels}
    from_line = tuple(key for key in RULE_KEYS if given[key])
    in_file = {"select": file.select, "ignore": file.ignore, "levels": file.levels}
    # a level the file set for a rule the command line did not name still comes from it
    kept_levels = set(file.levels) - set(line_levels)
    from_file = tuple(
        key
        for key in RULE_KEYS
        if in_file[key] and (key not in from_line or (key == "levels" and kept_levels))
    )
    return RuleSources(choice, from_file, from_line)


def _pairs(given: Iterable[str], where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in split_names(given):
        rule_id, equals, level = item.partition("=")
        if not equals:
            raise ConfigError(f"{where}: --level {item!r} must be RULE=LEVEL")
        out[rule_id.strip()] = level.strip()
    return out


def _close(name: str, known: Iterable[str]) -> str:
    matches = difflib.get_close_matches(name, list(known), n=3)
    return f" (did you mean {', '.join(matches)}?)" if matches else ""
