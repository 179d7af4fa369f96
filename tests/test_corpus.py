"""The official AG-UI 1.1 conformance corpus, read as producer streams.

Each fixture's expectation (ours, not the client's) is in
tests/corpus_expectations.yaml; SPEC-NOTES.md section 6.3 is its source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agui_conformance import Level, validate_events, validate_payloads
from tests.shared_data import shared_path

EXPECTATIONS: dict[str, dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "corpus_expectations.yaml").read_text(encoding="utf-8")
)
NOTES = {"version-missing", "stream-truncated"}


def _streams_dir() -> Path:
    return shared_path("agui-spec", "1.1", "conformance", "streams")


def _primary(rules: list[str]) -> str | None:
    return next((r for r in rules if r != "version-missing"), None)


def test_manifest_matches_expectations() -> None:
    manifest = (_streams_dir() / "MANIFEST.txt").read_text(encoding="utf-8")
    names = {
        line.strip()[: -len(".json")]
        for line in manifest.splitlines()
        if line.strip().endswith(".json") and not line.startswith("#")
    }
    assert names == set(EXPECTATIONS), "every corpus fixture has exactly one expectation"


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_corpus_fixture(name: str) -> None:
    fixture = json.loads((_streams_dir() / f"{name}.json").read_text(encoding="utf-8"))
    expect = EXPECTATIONS[name]
    result = validate_events(fixture["stream"])
    found = {f.rule for f in result.findings}
    wanted = set(expect.get("rules", []))
    allowed = wanted | set(expect.get("also", []))
    verdict = expect["verdict"]

    assert wanted <= found, f"{name}: expected {sorted(wanted)}, found {sorted(found)}"
    assert found <= allowed, f"{name}: unexpected findings {sorted(found - allowed)}"
    if verdict == "quiet":
        assert not result.findings
    if verdict == "valid":
        errors = {f.rule for f in result.findings if f.level is Level.ERROR} - NOTES
        assert not errors, f"{name}: a valid stream drew errors {sorted(errors)}"
    if verdict in ("violation", "tolerated") or "index" in expect:
        primary = _primary(expect["rules"])
        first = next(f for f in result.findings if f.rule == primary)
        assert first.index == expect["index"], f"{name}: {primary} at {first.index}"
        if verdict == "violation":
            assert first.level is Level.ERROR


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_corpus_fixture_same_verdict_as_sse_payloads(name: str) -> None:
    """The same events as raw payloads give the same findings (one code path)."""
    fixture = json.loads((_streams_dir() / f"{name}.json").read_text(encoding="utf-8"))
    from_events = validate_events(fixture["stream"])
    payloads = [json.dumps(e).encode() for e in fixture["stream"]]
    from_payloads = validate_payloads(payloads)
    assert from_events.findings == from_payloads.findings


def test_consumer_only_fixtures_have_reasons() -> None:
    for name, expect in EXPECTATIONS.items():
        if expect["verdict"] == "consumer-only":
            assert expect.get("reason"), name
