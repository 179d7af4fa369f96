"""A hit names a catalog rule, or the validator raises: a misspelt id is our bug and must
fail loudly, never become a check that silently never reports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agui_conformance.hits import Hit
from agui_conformance.rules import catalog
from agui_conformance.validator import StreamValidator, UnknownRule

PACKAGE = Path(__file__).resolve().parents[1] / "agui_conformance"
START = {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}


def test_a_hit_for_a_rule_not_in_the_catalog_raises() -> None:
    validator = StreamValidator()
    validator.feed_event(START, 0)
    with pytest.raises(UnknownRule, match="'lifecycle-first-evnt', which is not in the rule"):
        validator.add_hits([Hit("lifecycle-first-evnt", 0, "a typo in a check")])


def test_a_hit_for_a_rule_outside_the_profile_is_still_dropped() -> None:
    outside = next(r for r in catalog().values() if not r.applies_to("spec"))
    validator = StreamValidator(profile="spec")
    assert validator.add_hits([Hit(outside.id, 0, "only under another profile")]) == []


def test_every_literal_rule_id_in_the_checks_is_in_the_catalog() -> None:
    literal = re.compile(r"""\b(?:hit|Hit)\(\s*["']([a-z0-9-]+)["']""")
    named = {
        (path.relative_to(PACKAGE.parent).as_posix(), rule)
        for path in PACKAGE.rglob("*.py")
        for rule in literal.findall(path.read_text(encoding="utf-8"))
    }
    assert len(named) > 20  # the pattern still finds the checks
    assert [pair for pair in sorted(named) if pair[1] not in catalog()] == []
