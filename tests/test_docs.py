"""Generated docs never drift from the catalog, and coverage stays at or above 90%."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agui_conformance import docs_gen
from agui_conformance.cases import load_cases
from agui_conformance.rules import catalog
from tests.shared_data import shared_path


@pytest.fixture(scope="module")
def sources() -> docs_gen.Sources:
    spec_notes = shared_path("SPEC-NOTES.md")
    return docs_gen.load_sources(spec_notes)


def _covered() -> set[str]:
    return {i for r in catalog().values() for i in (*r.checks, *r.respects)}


def test_generated_docs_are_up_to_date(sources: docs_gen.Sources) -> None:
    files = docs_gen.generate_from(sources)
    stale = docs_gen.stale(files)
    assert not stale, f"run `python -m agui_conformance.docs_gen`: stale {stale}"


def test_check_mode_reports_stale_files(tmp_path: Path, sources: docs_gen.Sources) -> None:
    files = docs_gen.generate_from(sources)
    assert sorted(docs_gen.write(files, tmp_path)) == sorted(files)
    assert docs_gen.stale(files, tmp_path) == []
    (tmp_path / "docs" / "coverage.md").write_text("old", encoding="utf-8")
    (tmp_path / "docs" / "rules" / "retired-rule.md").write_text("orphan", encoding="utf-8")
    assert docs_gen.stale(files, tmp_path) == ["docs/coverage.md", "docs/rules/retired-rule.md"]
    assert docs_gen.write(files, tmp_path) == ["docs/coverage.md", "docs/rules/retired-rule.md"]
    assert not (tmp_path / "docs" / "rules" / "retired-rule.md").exists()
    assert docs_gen.stale(files, tmp_path) == []


def test_main_check_and_missing_spec_notes(capsys: pytest.CaptureFixture[str]) -> None:
    assert docs_gen.main(["--check", "--spec-notes", str(shared_path("SPEC-NOTES.md"))]) == 0
    assert docs_gen.main(["--check", "--spec-notes", "/no/such/SPEC-NOTES.md"]) == 2
    assert "not found" in capsys.readouterr().err


def test_every_rule_has_a_page_linking_its_fixture() -> None:
    for rule_id in catalog():
        page = (docs_gen.ROOT / "docs" / "rules" / f"{rule_id}.md").read_text(encoding="utf-8")
        assert f"(../../tests/fixtures/rules/{rule_id}.yaml)" in page, rule_id


def test_stream_checkable_coverage_is_at_least_90_percent(sources: docs_gen.Sources) -> None:
    assert len(sources.inventory) == 240
    done, total = docs_gen.coverage_stats(sources)["checkable"]
    assert total == 162
    assert done / total >= 0.90, f"{done}/{total}"
    assert f"{done} of {total} covered" in docs_gen.coverage_page(sources)


def test_uncovered_checkable_rows_have_a_reason(sources: docs_gen.Sources) -> None:
    covered = _covered()
    ids = {r.id for r in sources.inventory}
    for req in sources.inventory:
        if req.kind in docs_gen.CHECKABLE and req.id not in covered:
            assert sources.notes.get(req.id), f"{req.id} is neither covered nor explained"
    for rid in sources.notes:
        assert rid in ids, f"coverage note for unknown requirement {rid}"
        assert rid not in covered, f"{rid} has a coverage note but is covered"


def test_coverage_notes_name_only_real_cases_and_rules() -> None:
    """A note may say 'exercised by case X' or 'reported as rule Y' only if X/Y exist."""
    known = set(catalog()) | {c.id for c in load_cases(docs_gen.ROOT / "cases")}
    for rid, note in docs_gen.coverage_notes().items():
        for name in re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`", note):
            assert name in known, f"coverage note of {rid} names unknown case or rule {name}"


def test_corpus_table_without_expectations(sources: docs_gen.Sources) -> None:
    """The lead's tests/corpus_expectations.yaml may be absent: the table still lists the
    fixtures, marked as having no expectation; with neither, there is no corpus section."""
    fixtures = {"a-fixture": {"area": "lifecycle", "expect": {"outcome": "failed"}}}
    bare = docs_gen.Sources(**{**vars(sources), "corpus": None, "fixtures": fixtures})
    page = docs_gen.coverage_page(bare)
    assert "| a-fixture | lifecycle | failed | no expectation yet |" in page
    none = docs_gen.Sources(**{**vars(sources), "corpus": None, "fixtures": None})
    assert "official conformance corpus" not in docs_gen.coverage_page(none)


def test_consumer_only_fixtures_are_not_applicable_with_a_reason(
    sources: docs_gen.Sources,
) -> None:
    if sources.corpus is None:
        pytest.skip("tests/corpus_expectations.yaml is absent")
    page = docs_gen.coverage_page(sources)
    for name, exp in sources.corpus.items():
        if exp.get("verdict") == "consumer-only":
            assert exp.get("reason"), name
            row = next(line for line in page.splitlines() if line.startswith(f"| {name} |"))
            assert "not applicable" in row, row


# The project's own notes (../shared/SPEC-NOTES.md) are not shipped: a reader cannot follow
# "SPEC-NOTES §7 A-17". User docs and the generated pages quote and link the spec instead.
_INTERNAL = re.compile(r"SPEC-NOTES|§\s?\d|\bA-\d{2}\b")
ROOT = Path(__file__).resolve().parents[1]


def _guides() -> list[Path]:
    return [ROOT / "README.md", ROOT / "cases" / "README.md", *sorted(ROOT.glob("docs/*.md"))]


def test_no_generated_page_points_to_the_internal_notes(sources: docs_gen.Sources) -> None:
    files = docs_gen.generate_from(sources)
    assert any(name.startswith("docs/rules/") for name in files)
    found = {
        name: sorted(set(_INTERNAL.findall(text)))
        for name, text in files.items()
        if _INTERNAL.search(text)
    }
    assert not found, found


def test_no_user_guide_points_to_the_internal_notes() -> None:
    guides = _guides()
    assert len(guides) > 5
    found = {
        str(path.relative_to(ROOT)): sorted(set(_INTERNAL.findall(text)))
        for path in guides
        if _INTERNAL.search(text := path.read_text(encoding="utf-8"))
    }
    assert not found, found


@pytest.mark.parametrize(
    ("cell", "public"),
    [
        ("request+stream (weak; see §7 A-17)", "request+stream (weak)"),
        (
            "the run never starts (see §7 A-01 for the RUN_ERROR-first reading).",
            "the run never starts.",
        ),
        ("live", "live"),
    ],
)
def test_inventory_cells_lose_their_pointers_to_the_notes(cell: str, public: str) -> None:
    assert docs_gen.public_text(cell) == public
