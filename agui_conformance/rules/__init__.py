"""The rule catalog: one source for code, docs and reports.

Owns loading `catalog.yaml` into `Rule` records and mapping a rule's
strength to a finding level under a profile. Knows nothing of streams.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from agui_conformance.model import Level, Strength
from agui_conformance.vocabulary import CATEGORIES, PROFILES

SPEC_BASE = "https://docs.ag-ui.com/spec/1.1"

__all__ = ["CATEGORIES", "PROFILES", "SPEC_BASE", "Rule", "catalog", "get"]


class Rule(BaseModel):
    """One checkable requirement."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    strength: Strength
    category: str
    checks: tuple[str, ...] = Field(description="SPEC-NOTES inventory ids this rule checks.")
    spec: str = Field(description="Spec URL with anchor.")
    hint: str
    kind: str = Field(description="stream | request+stream | live")
    advisory: bool = Field(
        default=False, description="Beyond the spec's words: catches bugs real agents ship."
    )
    heuristic: bool = Field(
        default=False,
        description="A pattern match, not a decision: reported as info under `spec`.",
    )
    respects: tuple[str, ...] = Field(
        default=(),
        description="MAY rows this rule is calibrated against (it must not flag them).",
    )
    levels: dict[str, Level] = Field(
        default_factory=dict, description="Per-profile level overrides."
    )
    profiles: tuple[str, ...] = PROFILES
    description: str = ""

    @property
    def url(self) -> str:
        return SPEC_BASE + self.spec if self.spec.startswith(("/", "#")) else self.spec

    def level(self, profile: str = "spec") -> Level:
        """The level a finding of this rule has under `profile`."""
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
        return profile in self.profiles


def _load(raw: Any) -> dict[str, Rule]:
    if not isinstance(raw, list):
        raise ValueError("catalog.yaml must be a list of rules")
    rules: dict[str, Rule] = {}
    for entry in raw:
        rule = Rule.model_validate(entry)
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
    text = resources.files(__package__).joinpath("catalog.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return _load(yaml.load(text, Loader=loader))


def get(rule_id: str) -> Rule:
    return catalog()[rule_id]
