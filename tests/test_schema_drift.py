"""Our schemas (schemas/1.1) against the official AG-UI 1.1 schema: no silent drift.

For every official `$defs` entry, both schemas are resolved into the same
normalised description -- property names, required set, per-property JSON
types / const / enum / bounds / pattern, union branches (by discriminator),
array items, and closedness -- following `$ref`s and `allOf` composition, so the
official `allOf` + `unevaluatedProperties: false` shape and our flattened
`additionalProperties: false` shape compare equal when they accept the same
documents. Any difference must be listed in schemas/1.1/drift-allowlist.yaml
with a reason (docs/schema-drift.md explains the entries).

A second, behavioural check mutates every official corpus event (drop a key,
null a key, retype a value, add an unknown key...) and requires both schemas
to accept or reject each mutant alike.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.shared_data import REPO_ROOT, shared_path

OURS_DIR = REPO_ROOT / "schemas" / "1.1"
ALLOWLIST_PATH = OURS_DIR / "drift-allowlist.yaml"
ALL_TYPES = frozenset({"null", "boolean", "integer", "number", "string", "array", "object"})
ANNOTATIONS = {"description", "title", "default", "examples", "$comment", "contentEncoding"}
ASPECTS = {
    "missing",
    "ours-only",
    "types",
    "const",
    "enum",
    "bounds",
    "union",
    "items",
    "properties",
    "required",
    "closed",
}


# ------------------------------------------------------------------ loading


class SchemaSet:
    """A set of schema documents with `$ref` resolution and lookup by definition name."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = {doc["$id"]: doc for doc in docs}
        self.defs: dict[str, tuple[dict[str, Any], str]] = {}
        for doc_id, doc in self.docs.items():
            for name, definition in doc.get("$defs", {}).items():
                assert name not in self.defs, f"definition {name} defined twice"
                self.defs[name] = (definition, doc_id)

    def resolve(self, ref: str, base: str) -> tuple[Any, str]:
        target, _, fragment = ref.partition("#")
        doc_id = base if not target else base.rsplit("/", 1)[0] + "/" + target
        doc: Any = self.docs[doc_id]
        for token in [t for t in fragment.split("/") if t]:
            doc = doc[token.replace("~1", "/").replace("~0", "~")]
        return doc, doc_id


def _load_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def ours() -> SchemaSet:
    return SchemaSet([_load_json(p) for p in sorted(OURS_DIR.glob("*.schema.json"))])


def official() -> SchemaSet:
    return SchemaSet([_load_json(shared_path("agui-spec", "1.1", "schema.json"))])


def load_allowlist() -> list[dict[str, str]]:
    entries = yaml.safe_load(ALLOWLIST_PATH.read_text(encoding="utf-8")) or []
    assert isinstance(entries, list)
    return entries


# ------------------------------------------------------------------ normalising


def _parts(s: SchemaSet, schema: Any, base: str, depth: int = 0) -> Iterator[tuple[Any, str]]:
    """The schema and everything it is the conjunction of ($ref targets, allOf members)."""
    assert depth < 32, "reference cycle"
    if schema is True or schema == {}:
        return
    yield schema, base
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        target, target_base = s.resolve(schema["$ref"], base)
        yield from _parts(s, target, target_base, depth + 1)
    for member in schema.get("allOf", []):
        yield from _parts(s, member, base, depth + 1)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _types_of(s: SchemaSet, schema: dict[str, Any], base: str) -> frozenset[str]:
    """JSON types one schema object admits on its own keywords (not its $ref/allOf)."""
    types = set(ALL_TYPES)
    if "type" in schema:
        declared = schema["type"]
        named = {declared} if isinstance(declared, str) else set(declared)
        if "number" in named:
            named.add("integer")
        types &= named
    if "const" in schema:
        types &= {_json_type(schema["const"])}
    if "enum" in schema:
        types &= {_json_type(v) for v in schema["enum"]}
    negated = schema.get("not")
    if isinstance(negated, dict) and set(negated) == {"type"}:
        named = {negated["type"]} if isinstance(negated["type"], str) else set(negated["type"])
        types -= named
    for keyword in ("oneOf", "anyOf"):
        if keyword in schema:
            union: set[str] = set()
            for branch in schema[keyword]:
                union |= describe(s, [(branch, base)], 0)["types"]
            types &= union
    return frozenset(types)


def describe(s: SchemaSet, roots: list[tuple[Any, str]], depth: int) -> dict[str, Any]:
    """The normalised description of the conjunction of `roots`."""
    parts = [p for root, base in roots for p in _parts(s, root, base)]
    types = set(ALL_TYPES)
    const: list[Any] = []
    enums: list[set[str]] = []
    lows: list[Any] = []
    highs: list[Any] = []
    patterns: set[str] = set()
    min_items: list[int] = []
    props: dict[str, list[tuple[Any, str]]] = {}
    required: set[str] = set()
    closed = False
    items: list[tuple[Any, str]] = []
    unions: list[list[str]] = []
    for schema, base in parts:
        if not isinstance(schema, dict):
            continue
        unknown = (
            set(schema)
            - ANNOTATIONS
            - {
                "$anchor",
                "$id",
                "$schema",
                "$defs",
                "$ref",
                "allOf",
                "type",
                "const",
                "enum",
                "not",
                "oneOf",
                "anyOf",
                "minimum",
                "maximum",
                "pattern",
                "minItems",
                "items",
                "properties",
                "required",
                "additionalProperties",
                "unevaluatedProperties",
            }
        )
        assert not unknown, f"normaliser does not understand {sorted(unknown)}"
        types &= _types_of(s, schema, base)
        if "const" in schema:
            const.append(schema["const"])
        if "enum" in schema:
            enums.append({json.dumps(v) for v in schema["enum"]})
        if "minimum" in schema:
            lows.append(schema["minimum"])
        if "maximum" in schema:
            highs.append(schema["maximum"])
        if "pattern" in schema:
            patterns.add(schema["pattern"])
        if "minItems" in schema:
            min_items.append(schema["minItems"])
        for name, sub in schema.get("properties", {}).items():
            props.setdefault(name, []).append((sub, base))
        required |= set(schema.get("required", []))
        if (
            schema.get("additionalProperties") is False
            or schema.get("unevaluatedProperties") is False
        ):
            closed = True
        if "items" in schema:
            items.append((schema["items"], base))
        for keyword in ("oneOf", "anyOf"):
            if keyword in schema:
                unions.append(sorted(_signature(s, branch, base) for branch in schema[keyword]))

    out: dict[str, Any] = {"types": frozenset(types)}
    if const:
        out["const"] = json.dumps(const[0])
    elif enums:
        common = set.intersection(*enums)
        out["enum"] = sorted(common)
    bounds = {}
    if lows:
        bounds["minimum"] = max(lows)
    if highs:
        bounds["maximum"] = min(highs)
    if min_items:
        bounds["minItems"] = max(min_items)
    if patterns:
        bounds["pattern"] = sorted(patterns)
    if bounds:
        out["bounds"] = bounds
    if unions:
        out["union"] = unions
    if "array" in types and items:
        out["items"] = describe(s, items, max(depth - 1, 0))
    if "object" in types and (props or closed or depth > 0):
        if depth > 0:
            out["properties"] = {
                name: describe(s, subs, depth - 1) for name, subs in sorted(props.items())
            }
            out["required"] = sorted(required)
            out["closed"] = closed
        else:  # shallow: the discriminating consts only
            discriminators = {}
            for name, subs in props.items():
                sub = describe(s, subs, 0)
                if "const" in sub and name in required:
                    discriminators[name] = sub["const"]
            if discriminators:
                out["discriminators"] = dict(sorted(discriminators.items()))
    return out


def _signature(s: SchemaSet, branch: Any, base: str) -> str:
    described = describe(s, [(branch, base)], 0)
    return json.dumps(_plain(described), sort_keys=True)


def _plain(value: Any) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def describe_definition(s: SchemaSet, name: str) -> dict[str, Any]:
    definition, base = s.defs[name]
    return describe(s, [(definition, base)], 2)


def differences(official_desc: dict[str, Any], our_desc: dict[str, Any]) -> dict[str, str]:
    """aspect -> human description of how ours differs from the official one."""
    diffs: dict[str, str] = {}
    keys = set(official_desc) | set(our_desc)
    for key in sorted(keys):
        theirs, mine = official_desc.get(key), our_desc.get(key)
        if key == "properties":
            theirs = theirs or {}
            mine = mine or {}
            if set(theirs) != set(mine):
                diffs["properties"] = (
                    f"only official: {sorted(set(theirs) - set(mine))}; "
                    f"only ours: {sorted(set(mine) - set(theirs))}"
                )
            for prop in sorted(set(theirs) & set(mine)):
                if _plain(theirs[prop]) != _plain(mine[prop]):
                    diffs[f"property:{prop}"] = (
                        f"official {_plain(theirs[prop])} != ours {_plain(mine[prop])}"
                    )
        elif key == "discriminators":
            if theirs != mine:
                diffs["union"] = f"official {theirs} != ours {mine}"
        elif _plain(theirs) != _plain(mine):
            diffs[key] = f"official {_plain(theirs)} != ours {_plain(mine)}"
    return diffs


def all_differences() -> dict[tuple[str, str], str]:
    """(definition, aspect) -> difference, over every definition of either schema."""
    theirs, mine = official(), ours()
    found: dict[tuple[str, str], str] = {}
    for name in theirs.defs:
        if name not in mine.defs:
            found[(name, "missing")] = "no definition of this name in schemas/1.1"
            continue
        for aspect, text in differences(
            describe_definition(theirs, name), describe_definition(mine, name)
        ).items():
            found[(name, aspect)] = text
    for name in mine.defs:
        if name not in theirs.defs:
            found[(name, "ours-only")] = "defined only in schemas/1.1"
    return found


# ------------------------------------------------------------------ tests: structure


@pytest.mark.parametrize("path", sorted(OURS_DIR.glob("*.schema.json")), ids=lambda p: p.name)
def test_our_schema_passes_the_2020_12_meta_schema(path: Path) -> None:
    schema = _load_json(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert jsonschema_rs.meta.is_valid(schema)


def test_our_schemas_have_absolute_ids_and_described_definitions() -> None:
    for name, (definition, base) in ours().defs.items():
        assert base.startswith("https://agui-conformance.dev/schemas/1.1/"), base
        assert definition.get("$anchor") == name, name
        assert "https://docs.ag-ui.com/spec/1.1" in definition.get("description", ""), name


def test_allowlist_entries_are_well_formed() -> None:
    seen = set()
    for entry in load_allowlist():
        assert set(entry) == {"definition", "aspect", "reason"}, entry
        aspect = entry["aspect"]
        assert aspect in ASPECTS or aspect.startswith("property:"), entry
        assert entry["reason"].strip(), entry
        key = (entry["definition"], aspect)
        assert key not in seen, f"duplicate allow-list entry {key}"
        seen.add(key)


def test_every_official_definition_has_a_counterpart() -> None:
    allowed = {(e["definition"], e["aspect"]) for e in load_allowlist()}
    theirs, mine = official(), ours()
    missing = [n for n in theirs.defs if n not in mine.defs and (n, "missing") not in allowed]
    assert not missing, f"official definitions without a counterpart in schemas/1.1: {missing}"


def test_no_unlisted_drift() -> None:
    allowed = {(e["definition"], e["aspect"]) for e in load_allowlist()}
    found = all_differences()
    unlisted = {key: text for key, text in found.items() if key not in allowed}
    report = "\n".join(f"  {d} [{a}]: {t}" for (d, a), t in sorted(unlisted.items()))
    assert not unlisted, f"schemas/1.1 drifted from the official schema:\n{report}"


def test_no_stale_allowlist_entries() -> None:
    found = all_differences()
    stale = [e for e in load_allowlist() if (e["definition"], e["aspect"]) not in found]
    assert not stale, f"allow-list entries that no longer match a difference: {stale}"


def test_allowlist_is_documented() -> None:
    doc = (REPO_ROOT / "docs" / "schema-drift.md").read_text(encoding="utf-8")
    for entry in load_allowlist():
        assert f"`{entry['definition']}`" in doc, entry


def test_normaliser_sees_closedness_and_types() -> None:
    """The comparison is only as good as the normaliser: it must see what we care about."""
    theirs = official()
    event = describe_definition(theirs, "TextMessageContentEvent")
    assert event["closed"] is True
    assert event["required"] == ["delta", "messageId", "type"]
    assert event["properties"]["type"]["const"] == '"TEXT_MESSAGE_CONTENT"'
    assert event["properties"]["timestamp"]["bounds"] == {
        "minimum": -(2**53 - 1),
        "maximum": 2**53 - 1,
    }
    assert "null" not in event["properties"]["rawEvent"]["types"]
    assert describe_definition(theirs, "Metadata")["closed"] is False
    assert describe_definition(theirs, "AddOperation")["closed"] is False
    assert "null" in describe_definition(theirs, "CustomEvent")["properties"]["value"]["types"]
    # a change on either side is seen
    mine = ours()
    changed = copy.deepcopy(mine)
    definition, _ = changed.defs["TextMessageContentEvent"]
    definition["additionalProperties"] = True
    definition["required"] = ["type", "messageId"]
    definition["properties"]["delta"] = {"type": ["string", "null"]}
    diffs = differences(
        describe_definition(theirs, "TextMessageContentEvent"),
        describe_definition(changed, "TextMessageContentEvent"),
    )
    assert {"closed", "required", "property:delta"} <= set(diffs)


# ------------------------------------------------------------------ tests: behaviour


def _official_validator() -> Any:
    schema = _load_json(shared_path("agui-spec", "1.1", "schema.json"))
    return jsonschema_rs.validator_for(schema)


def _our_validator() -> Any:
    docs = [_load_json(p) for p in sorted(OURS_DIR.glob("*.schema.json"))]
    root = next(d for d in docs if d["$id"].endswith("/events.schema.json"))
    registry = jsonschema_rs.Registry([(d["$id"], d) for d in docs])
    return jsonschema_rs.validator_for(root, registry=registry)


def _python_validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    """The reference implementation, for a sample of the mutants (engine cross-check)."""
    theirs = Draft202012Validator(_load_json(shared_path("agui-spec", "1.1", "schema.json")))
    docs = [_load_json(p) for p in sorted(OURS_DIR.glob("*.schema.json"))]
    registry: Registry[Any] = Registry().with_resources(
        (d["$id"], Resource.from_contents(d, default_specification=DRAFT202012)) for d in docs
    )
    root = next(d for d in docs if d["$id"].endswith("/events.schema.json"))
    return theirs, Draft202012Validator(root, registry=registry)


def _mutants(event: dict[str, Any]) -> Iterator[Any]:
    """Small edits of a valid-or-not event, each a plausible producer bug."""
    odd_values: list[Any] = [None, 0, 1.5, -1, "", "x", True, [], {}, [{}], {"type": "x"}]
    for key in list(event):
        dropped = dict(event)
        del dropped[key]
        yield dropped
        for odd in odd_values:
            yield {**event, key: odd}
        value = event[key]
        if isinstance(value, dict):
            for inner in list(value):
                yield {**event, key: {k: v for k, v in value.items() if k != inner}}
                yield {**event, key: {**value, inner: None}}
                yield {**event, key: {**value, inner: 7}}
            yield {**event, key: {**value, "undescribed": 1}}
        if isinstance(value, list) and value:
            yield {**event, key: [*value, None]}
            first = value[0]
            if isinstance(first, dict):
                for inner in list(first):
                    yield {**event, key: [{k: v for k, v in first.items() if k != inner}]}
                    yield {**event, key: [{**first, inner: None}]}
                    yield {**event, key: [{**first, inner: 7}]}
                yield {**event, key: [{**first, "undescribed": 1}]}
    for extra in ("undescribed", "subagentRunId", "timestamp", "metadata", "rawEvent", "usage"):
        for odd in (None, 5, "s", {}):
            yield {**event, extra: odd}


def _corpus_events() -> list[Any]:
    streams = shared_path("agui-spec", "1.1", "conformance", "streams")
    events: list[Any] = []
    for path in sorted(streams.glob("*.json")):
        events.extend(_load_json(path).get("stream", []))
    return events


def test_mutated_corpus_events_are_judged_alike() -> None:
    """Accepted sets agree: every mutant of every corpus event, both schemas, same verdict.

    All mutants go through jsonschema-rs (fast); every 60th also through
    python-jsonschema, so an engine quirk cannot hide a schema difference.
    """
    theirs, mine = _official_validator(), _our_validator()
    py_theirs, py_mine = _python_validators()
    disagreements = []
    checked = 0
    seen: set[str] = set()
    for event in _corpus_events():
        if not isinstance(event, dict):
            continue
        for mutant in [event, *_mutants(event)]:
            key = json.dumps(mutant, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            checked += 1
            verdicts = [theirs.is_valid(mutant), mine.is_valid(mutant)]
            if checked % 60 == 0:
                verdicts += [py_theirs.is_valid(mutant), py_mine.is_valid(mutant)]
            if len(set(verdicts)) != 1:
                disagreements.append((verdicts, key[:200]))
    assert checked > 5000
    assert not disagreements, f"{len(disagreements)} verdicts differ, e.g. {disagreements[:5]}"
