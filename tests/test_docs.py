"""Generated docs never drift from the catalog, and coverage stays at or above 90%."""

from __future__ import annotations

import re

from agui_conformance import docs_gen
from agui_conformance.rules import catalog
from tests.shared_data import shared_path


def test_generated_docs_are_up_to_date() -> None:
    files = docs_gen.generate(shared_path())
    stale = docs_gen.stale(files)
    assert not stale, f"run `python -m agui_conformance.docs_gen`: stale {stale}"


def test_every_rule_has_a_page() -> None:
    for rule_id in catalog():
        assert (docs_gen.ROOT / "docs" / "rules" / f"{rule_id}.md").exists()


def test_stream_checkable_coverage_is_at_least_90_percent() -> None:
    inventory = docs_gen.read_inventory(shared_path("SPEC-NOTES.md"))
    assert len(inventory) == 240
    covered = {i for r in catalog().values() for i in (*r.checks, *r.respects)}
    checkable = [r for r in inventory if r.kind in docs_gen.CHECKABLE]
    share = sum(r.id in covered for r in checkable) / len(checkable)
    assert share >= 0.90, f"{share:.1%}"


def test_uncovered_checkable_rows_have_a_reason() -> None:
    inventory = docs_gen.read_inventory(shared_path("SPEC-NOTES.md"))
    covered = {i for r in catalog().values() for i in (*r.checks, *r.respects)}
    notes = docs_gen.coverage_notes()
    for req in inventory:
        if req.kind in docs_gen.CHECKABLE and req.id not in covered:
            assert notes.get(req.id), f"{req.id} is neither covered nor explained"
    for rid in notes:
        assert rid not in covered, f"{rid} has a coverage note but is covered"


def test_catalog_ids_exist_in_the_inventory() -> None:
    ids = {r.id for r in docs_gen.read_inventory(shared_path("SPEC-NOTES.md"))}
    for rule in catalog().values():
        for rid in (*rule.checks, *rule.respects):
            assert rid in ids, f"{rule.id} names unknown requirement {rid}"


def test_catalog_is_well_formed() -> None:
    for rule in catalog().values():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.id), rule.id
        assert rule.url.startswith("https://docs.ag-ui.com/spec/1.1"), rule.id
        assert rule.hint.strip() and rule.title.strip(), rule.id
        assert rule.kind in ("stream", "request+stream", "live"), rule.id
        assert rule.checks or rule.respects or rule.advisory or rule.strength.value == "MAY", (
            rule.id
        )
