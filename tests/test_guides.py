"""The guides work on a user's machine: an install line that works (no package index
serves agui-conformance yet), and no reference to documents users do not have (the
project's internal spec notes, their section and A-numbers): they cite spec pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDES = sorted([ROOT / "README.md", ROOT / "cases" / "README.md", *(ROOT / "docs").glob("*.md")])
GENERATED = {"coverage.md"}  # written by docs_gen from the catalog (tests/test_docs.py)
INTERNAL = re.compile(r"SPEC-NOTES|§ ?\d|\bA-\d{2}\b")
# `pip install agui-conformance` (a name, no path or URL): what no index serves
FROM_INDEX = re.compile(r"pip install\b[^\n`&;|#]*?(?<![./\w-])agui-conformance(?![\w./-])")


@pytest.mark.parametrize(
    "guide",
    [g for g in GUIDES if g.name not in GENERATED],
    ids=lambda g: g.relative_to(ROOT).as_posix(),
)
def test_a_guide_cites_no_internal_document(guide: Path) -> None:
    text = guide.read_text(encoding="utf-8")
    assert INTERNAL.findall(text) == [], guide


@pytest.mark.parametrize("guide", GUIDES, ids=lambda g: g.relative_to(ROOT).as_posix())
def test_a_guide_installs_from_a_clone_not_from_an_index(guide: Path) -> None:
    lines = guide.read_text(encoding="utf-8").splitlines()
    bad = [line for line in lines if FROM_INDEX.search(line)]
    assert bad == [], guide


def test_the_install_pattern_tells_a_clone_from_an_index() -> None:
    assert FROM_INDEX.search("pip install -r requirements.txt agui-conformance  # x")
    assert FROM_INDEX.search("pip install agui-conformance")
    assert not FROM_INDEX.search("pip install ./agui-conformance")
    assert not FROM_INDEX.search("pip install -e .")
    assert not FROM_INDEX.search("pip install . && agui-conformance run")
    assert not FROM_INDEX.search('pip install "git+https://example.org/x/agui-conformance.git"')
