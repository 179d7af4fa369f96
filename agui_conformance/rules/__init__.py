"""The rule catalog: one source for code, docs and reports.

Owns loading `catalog.yaml` into `Rule` records and mapping a rule's
strength to a finding level under a profile. Knows nothing of streams.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from agui_conformance.records import Level, Strength
from agui_conformance.vocabulary import CATEGORIES, PROFILES

SPEC_BASE = "https://docs.ag-ui.com/spec/1.1"

__all__ = [
    "CATEGORIES",
    "PROFILES",
    "SPEC_BASE",
    "Overrides",
    "Rule",
    "activate",
    "catalog",
    "get",
    "level_override",
    "overridden",
    "switched_off",
]


@dataclass(frozen=True, slots=True)
class Rule:
    """One checkable requirement (a plain record: loading the catalog imports no pydantic)."""

    id: str
    title: str
    strength: Strength
    category: str
    checks: tuple[str, ...]  # SPEC-NOTES inventory ids this rule checks
    spec: str  # spec URL with anchor (or a path under SPEC_BASE)
    hint: str
    kind: str  # stream | request+stream | live
    advisory: bool = False  # beyond the spec's words: catches bugs real agents ship
    heuristic: bool = False  # a pattern match, not a decision: reported as info under `spec`
    respects: tuple[str, ...] = ()  # MAY rows this rule is calibrated against (never flags)
    levels: Mapping[str, Level] = field(default_factory=dict)  # per-profile level overrides
    profiles: tuple[str, ...] = PROFILES
    description: str = ""

    @property
    def url(self) -> str:
        return SPEC_BASE + self.spec if self.spec.startswith(("/", "#")) else self.spec

    def level(self, profile: str = "spec") -> Level:
        """The level a finding of this rule has under `profile` (and the configuration's
        per-rule override, when one is active)."""
        chosen = _ACTIVE.level(self.id) if _ACTIVE is not None else None
        if chosen is not None:
            return chosen
        if profile in self.levels:
            return self.levels[profile]
        if self.strength is Strength.CASE:
            return Level.ERROR  # the case author asserted it: unmet fails in every profile
        if self.heuristic and self.strength is not Strength.MUST:
            return Level.WARNING if profile == "strict" else Level.INFO
        if self.strength is Strength.MUST:
            return Level.ERROR
        if self.strength is Strength.SHOULD:
            return Level.ERROR if profile == "strict" else Level.WARNING
        return Level.INFO

    def applies_to(self, profile: str) -> bool:
        """Part of `profile`, and not turned off by the active configuration."""
        if _ACTIVE is not None and not _ACTIVE.enabled(self):
            return False
        return profile in self.profiles

    def as_json(self) -> dict[str, Any]:
        """The catalog entry as JSON data."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["strength"] = self.strength.value
        data["levels"] = {name: level.value for name, level in self.levels.items()}
        for name in ("checks", "respects", "profiles"):
            data[name] = list(data[name])
        return data

    @classmethod
    def from_entry(cls, entry: Any) -> Rule:
        """A catalog entry, checked: the types each field needs (ValueError otherwise);
        members the record does not have are ignored."""
        if not isinstance(entry, dict):
            raise ValueError(f"a catalog entry is a mapping, not {type(entry).__name__}")
        rid = entry.get("id")
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in entry or (entry[f.name] is None and f.name == "levels"):
                if f.default is MISSING and f.default_factory is MISSING:
                    raise ValueError(f"rule {rid}: `{f.name}` is required")
                continue
            values[f.name] = _field_value(rid, f.name, entry[f.name])
        return cls(**values)


_STRINGS = frozenset({"id", "title", "category", "spec", "hint", "kind", "description"})
_LISTS = frozenset({"checks", "respects", "profiles"})


def _field_value(rid: Any, name: str, value: Any) -> Any:
    try:
        if name in _STRINGS and isinstance(value, str):
            return value
        strings = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        if name in _LISTS and strings:
            return tuple(value)
        if name in ("advisory", "heuristic") and isinstance(value, bool):
            return value
        if name == "strength":
            return Strength(value)
        if name == "levels" and isinstance(value, dict):
            return {str(k): Level(v) for k, v in value.items()}
    except ValueError:
        pass
    raise ValueError(f"rule {rid}: `{name}` has a bad value {value!r}")


class Overrides(Protocol):
    """The configuration's say over rules (agui_conformance.config.RuleChoice)."""

    def enabled(self, rule: Rule) -> bool: ...
    def level(self, rule_id: str) -> Level | None: ...


# The one place select/ignore and level overrides act: every finding (the validator),
# the matrix, coverage and each report format ask `Rule.level` and `Rule.applies_to`.
_ACTIVE: Overrides | None = None


@contextmanager
def overridden(choice: Overrides | None) -> Iterator[None]:
    """Apply `choice` to every rule while the block runs (None: the catalog as is)."""
    global _ACTIVE
    before, _ACTIVE = _ACTIVE, choice
    try:
        yield
    finally:
        _ACTIVE = before


def switched_off(rule_id: str) -> bool:
    """The active configuration turned this rule off (it reports nothing and counts as
    not exercised)."""
    if _ACTIVE is None:
        return False
    rule = catalog().get(rule_id)
    return rule is not None and not _ACTIVE.enabled(rule)


def level_override(rule_id: str) -> Level | None:
    """The level the active configuration gives this rule, if any (it wins over every
    other adjustment)."""
    return _ACTIVE.level(rule_id) if _ACTIVE is not None else None


def active() -> Overrides | None:
    """The configuration's say over rules now in force (None: the catalog as is), for a
    worker process to apply the same (`overridden`)."""
    return _ACTIVE


def activate(choice: Overrides | None) -> None:
    """Apply `choice` until the next call (the pytest face: a session's lifetime)."""
    global _ACTIVE
    _ACTIVE = choice


def _load(raw: Any) -> dict[str, Rule]:
    if not isinstance(raw, list):
        raise ValueError("catalog.yaml must be a list of rules")
    rules: dict[str, Rule] = {}
    for entry in raw:
        rule = Rule.from_entry(entry)
        if rule.id in rules:
            raise ValueError(f"duplicate rule id {rule.id}")
        if rule.category not in CATEGORIES:
            raise ValueError(f"rule {rule.id}: unknown category {rule.category}")
        if not rule.url.startswith(SPEC_BASE):
            raise ValueError(f"rule {rule.id}: spec link must be under {SPEC_BASE}")
        rules[rule.id] = rule
    return rules


@cache
def catalog() -> Mapping[str, Rule]:
    """All rules, by id, in catalog order."""
    import yaml  # here: validating a clean stream never needs the catalog

    text = (Path(__file__).parent / "catalog.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return _load(yaml.load(text, Loader=loader))


def get(rule_id: str) -> Rule:
    return catalog()[rule_id]
