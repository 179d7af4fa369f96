"""The rule catalog is well formed and tied to the AG-UI 1.1 requirements inventory."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from importlib import resources

import pytest
import yaml

from agui_conformance import docs_gen
from agui_conformance.model import Level, Strength
from agui_conformance.rules import CATEGORIES, PROFILES, SPEC_BASE, Rule, catalog
from agui_conformance.rules import get as get_rule
from tests.shared_data import shared_path

KEBAB = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
RULES = list(catalog().values())


def _raw_catalog() -> list[dict[str, object]]:
    text = resources.files("agui_conformance.rules").joinpath("catalog.yaml")
    data = yaml.safe_load(text.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def _inventory() -> dict[str, docs_gen.Requirement]:
    rows = docs_gen.read_inventory(shared_path("SPEC-NOTES.md"))
    return {row.id: row for row in rows}


def test_catalog_loads() -> None:
    assert len(RULES) >= 100
    assert all(isinstance(rule, Rule) for rule in RULES)


def test_ids_are_kebab_case_and_unique() -> None:
    ids = [str(entry["id"]) for entry in _raw_catalog()]
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates, duplicates
    bad = [i for i in ids if not KEBAB.fullmatch(i)]
    assert not bad, bad


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_spec_url_points_into_the_1_1_spec(rule: Rule) -> None:
    assert rule.url.startswith(SPEC_BASE), rule.url
    rest = rule.url[len(SPEC_BASE) :]
    # a page below /spec/1.1 or an anchor on a page; the bare base names nothing
    assert re.fullmatch(r"(/[a-z0-9-]+)+(#[a-z0-9_-]+)?|/?#[a-z0-9_-]+", rest), rule.url


def test_spec_urls_are_ones_the_spec_notes_cite() -> None:
    """No invented pages or anchors: every URL appears in SPEC-NOTES.md, which was
    written from the spec itself."""
    notes = shared_path("SPEC-NOTES.md").read_text(encoding="utf-8")
    path_of = len("https://docs.ag-ui.com")
    unknown = [r.id for r in RULES if r.url not in notes and r.url[path_of:] not in notes]
    assert not unknown, unknown


def test_checks_and_respects_name_inventory_rows() -> None:
    inventory = _inventory()
    for rule in RULES:
        for rid in (*rule.checks, *rule.respects):
            assert rid in inventory, f"{rule.id} names unknown requirement {rid}"
        overlap = set(rule.checks) & set(rule.respects)
        assert not overlap, f"{rule.id} both checks and respects {overlap}"


# MUST rows whose legal half a rule is calibrated against: CHUNK-005 says a chunk
# naming a different id legally opens a new item, which chunk-missing-id must not flag.
RESPECTED_NON_MAY = {("chunk-missing-id", "CHUNK-005")}


def test_respected_rows_are_may_rows() -> None:
    """`respects` lists legal traffic a rule must not flag: MAY rows (SPEC-NOTES 2.1)."""
    inventory = _inventory()
    for rule in RULES:
        for rid in rule.respects:
            if (rule.id, rid) in RESPECTED_NON_MAY:
                continue
            assert inventory[rid].level.startswith("MAY"), f"{rule.id} respects {rid}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_hint_is_a_sentence(rule: Rule) -> None:
    hint = rule.hint.strip()
    assert len(hint.split()) >= 4, hint
    # starts like a sentence: a capital, a quote or code, or a camelCase field name
    assert re.match(r"[A-Z\"'`(]|[a-z]+[A-Z]", hint), hint
    assert hint.endswith((".", ".)", '."', ".`", "!")), hint


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_fields_are_consistent(rule: Rule) -> None:
    assert rule.title.strip() and not rule.title.endswith("."), rule.title
    assert rule.category in CATEGORIES
    assert rule.kind in ("stream", "request+stream", "live")
    assert set(rule.levels) <= set(PROFILES)
    assert rule.profiles and set(rule.profiles) <= set(PROFILES)
    # a rule with nothing to check is an advisory, a MAY-level note or a harness check
    assert rule.checks or rule.respects or rule.advisory or rule.strength is not Strength.MUST


def test_levels_follow_the_profiles() -> None:
    """spec: MUST error, SHOULD warning, MAY info; strict makes SHOULD an error; a case's own
    assertion (strength `case`) is an error in every profile."""
    for rule in RULES:
        if rule.levels or rule.heuristic:
            continue
        if rule.strength is Strength.CASE:
            assert {rule.level(p) for p in PROFILES} == {Level.ERROR}, rule.id
            continue
        expected = {Strength.MUST: Level.ERROR, Strength.SHOULD: Level.WARNING}
        assert rule.level("spec") is expected.get(rule.strength, Level.INFO), rule.id
        if rule.strength is Strength.SHOULD:
            assert rule.level("strict") is Level.ERROR, rule.id


@pytest.mark.parametrize(
    ("rule_id", "expected"),
    [
        # a snapshot may restate or retract (MAY): info under spec; a client that shows
        # the stream then replaces it with the snapshot loses the message
        (
            "snapshot-missing-streamed-id",
            {"spec": "info", "strict": "warning", "cometchat": "warning"},
        ),
        # a client running frontend tools from the stream (CometChat) runs a call streamed
        # with no arguments with empty arguments
        ("snapshot-tool-args-differ", {"spec": "info", "strict": "error", "cometchat": "error"}),
        # TOOL-017 is a SHOULD; a stream-driven client does not need the list
        (
            "pending-tool-calls-missing",
            {"spec": "warning", "strict": "error", "cometchat": "warning"},
        ),
        # MSGS-001 describes the consumer: no producer SHOULD
        (
            "messages-snapshot-drops-input",
            {"spec": "info", "strict": "warning", "cometchat": "warning"},
        ),
        # HTTP-004 asks only for an error status with no stream: any 4xx or 5xx meets it
        ("input-rejection-5xx", {"spec": "info", "strict": "warning"}),
        # the spec itself lets invalid input be refused by a stream opening with RUN_ERROR
        ("input-rejected-in-stream", {"spec": "info", "strict": "warning"}),
        # AG-UI defines no credential; the requirement is the user's, declared to the runner
        ("auth-not-enforced", {"spec": "info", "strict": "error", "cometchat": "error"}),
        # no answer, or a run cut without a terminal event, is a truncated run
        ("agent-unresponsive", {"spec": "error", "strict": "error", "cometchat": "error"}),
    ],
)
def test_levels_of_the_rules_real_stacks_trip(rule_id: str, expected: dict[str, str]) -> None:
    rule = catalog()[rule_id]
    assert {p: rule.level(p).value for p in expected} == expected
    assert rule.description  # the choice is documented on the rule's page


# ---------------------------------------------------------------- levels against the spec
# A rule's `spec` level may not exceed what the rows it checks support (MUST error, SHOULD
# warning; MAY, a † row, an advisory rule or one checking no row info) unless
# rules/level-exceptions.yaml quotes the spec sentence that justifies the stronger level.

EXCEPTIONS = docs_gen.level_exceptions()


def _cap_text(rule: Rule, inventory: dict[str, docs_gen.Requirement]) -> str:
    rows = ", ".join(f"{rid} {inventory[rid].level}" for rid in rule.checks if rid in inventory)
    basis = "advisory" if rule.advisory else rows or "no checks"
    cap = docs_gen.level_cap(rule, inventory).value
    return f"{rule.id}: {rule.level('spec').value} under spec, cap {cap} ({basis})"


def test_no_rule_exceeds_its_cap_without_a_reviewed_exception() -> None:
    inventory = _inventory()
    over = [r for r in RULES if docs_gen.above_cap(r, inventory) and r.id not in EXCEPTIONS]
    assert not over, (
        "spec level above what the spec's words support; lower it (`levels: {spec: ...}` "
        "and say why in `description`) or add an entry quoting the spec to "
        "rules/level-exceptions.yaml:\n" + "\n".join(_cap_text(r, inventory) for r in over)
    )


def test_level_exceptions_are_not_stale() -> None:
    inventory = _inventory()
    rules = catalog()
    for rule_id, exception in EXCEPTIONS.items():
        assert rule_id in rules, f"level-exceptions.yaml names {rule_id}, which is gone"
        rule = rules[rule_id]
        assert docs_gen.above_cap(rule, inventory), (
            f"{rule_id} no longer exceeds its cap: drop its level-exceptions.yaml entry"
        )
        assert exception.level == rule.level("spec").value, (
            f"{rule_id} reports {rule.level('spec').value} under spec; the entry keeps "
            f"{exception.level!r}"
        )


@pytest.mark.parametrize("exception", list(EXCEPTIONS.values()), ids=lambda e: e.rule)
def test_level_exception_quotes_the_spec(exception: docs_gen.LevelException) -> None:
    notes = shared_path("SPEC-NOTES.md").read_text(encoding="utf-8")
    assert exception.sources, f"{exception.rule}: no spec sentence"
    for source in exception.sources:
        assert len(source.quote.split()) >= 5, f"{exception.rule}: no quote ({source.quote!r})"
        assert source.url.startswith(SPEC_BASE), f"{exception.rule}: {source.url!r}"
        rest = source.url[len(SPEC_BASE) :]
        # a page and an anchor: the quote must be findable where the link lands
        assert re.fullmatch(r"(/[a-z0-9-]+)*#[a-z0-9_-]+", rest), source.url
        # no invented pages or anchors (as for the rules' own links)
        assert source.url in notes, f"{exception.rule}: SPEC-NOTES never cites {source.url}"
    assert len(exception.why.split()) >= 8, f"{exception.rule}: say why the quote binds"


def test_the_cap_follows_the_inventory_levels() -> None:
    def row(rid: str, level: str) -> docs_gen.Requirement:
        return docs_gen.Requirement(rid, level, "text", f"{SPEC_BASE}/basic", "stream")

    inventory = {
        "A-001": row("A-001", "MUST"),
        "A-002": row("A-002", "SHOULD"),
        "A-003": row("A-003", "MAY"),
        "A-004": row("A-004", "MUST†"),
        "A-005": row("A-005", "SHOULD†"),
    }
    base = get_rule("event-not-json")

    def cap(checks: list[str], **extra: object) -> str:
        rule = dataclasses.replace(base, checks=tuple(checks), **extra)
        return docs_gen.level_cap(rule, inventory).value

    assert cap(["A-001"]) == "error"
    assert cap(["A-002"]) == "warning"
    assert cap(["A-003"]) == cap(["A-004"]) == cap(["A-005"]) == cap([]) == "info"
    assert cap(["A-004", "A-002"]) == "warning"  # the strongest row decides
    assert cap(["A-001"], advisory=True) == "info"
    # a MUST rule checking only a † row is above its cap; lowered under spec, it is not
    must = dataclasses.replace(base, checks=("A-004",))
    assert docs_gen.above_cap(must, inventory)
    lowered = dataclasses.replace(must, levels={"spec": Level.INFO})
    assert not docs_gen.above_cap(lowered, inventory)
    elsewhere = dataclasses.replace(must, profiles=("strict",))
    assert not docs_gen.above_cap(elsewhere, inventory)


def test_an_excepted_rule_page_shows_the_spec_sentence() -> None:
    inventory = _inventory()
    exception = EXCEPTIONS["identity-run-id-echo"]
    page = docs_gen.rule_page(get_rule("identity-run-id-echo"), inventory, exception=exception)
    assert "## Why this level" in page
    for source in exception.sources:
        assert source.url in page
    assert exception.why in page
