"""The schema checker: one event (or one RunAgentInput) against our own schemas.

Owns loading `schemas/<version>/*.schema.json`, compiling one validator per
event type, and turning schema failures into rule hits that say what the agent
did wrong and where (a JSON pointer). It knows nothing of streams, ordering,
levels or HTTP: the sequence machine and the validator do that.

Theory of operation
-------------------
1. Dispatch on `event["type"]`. A non-object, a missing/non-string `type`, a
   retired 0.x type and an unknown type are findings of their own; nothing else
   is checked for them.
2. Fast path: an event whose members all have a simple schema (strings, constants,
   enumerations, bounded integers: `schema_kinds`) is checked member by member
   against its type's definition, with nothing compiled (so a stream of such events
   never imports jsonschema-rs); any other, the type's own definition, compiled
   with jsonschema-rs on first use, answers `is_valid` (about a microsecond for a
   valid event). Never a 31-way `oneOf`, whose failure says nothing useful.
3. Only when the fast path says "invalid" (or cannot read the value, e.g. a
   Python `set`), the slow path explains: python-jsonschema's `iter_errors`
   on that same definition. Its keyword functions for the keywords we use are
   replaced by cheap ones that never `repr()` the instance, so a 100 MB string
   or a huge list costs nothing extra. A failed `oneOf` (message roles,
   content parts, sources, outcomes, patch operations) is explained by the
   discriminator: an unknown `type`/`role`/`op` is an unknown member, a known
   one is explained inside that branch only.
4. Each raw problem is classified into the most specific rule id (one hit per
   real problem, ranked), e.g. a `thread_id` key is `snake-case-key` and the
   `threadId` it leaves missing is not reported again.

Nothing here raises on what an agent sent: every entry point catches, and
values nested deeper than the schema can describe are never walked
recursively by our own code.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from agui_conformance.hits import Hit
from agui_conformance.schema_kinds import kind_of, value_check

__all__ = ["SchemaChecker", "get_checker", "schema_dir"]

MAX_SAFE_INTEGER = 2**53 - 1
MAX_HITS_PER_EVENT = 64
_SCHEMA_FILES = (
    "events.schema.json",
    "messages.schema.json",
    "run-agent-input.schema.json",
    "capabilities.schema.json",
)

RETIRED_TYPES: Mapping[str, str] = {
    "THINKING_START": "REASONING_START",
    "THINKING_END": "REASONING_END",
    "THINKING_TEXT_MESSAGE_START": "REASONING_MESSAGE_START",
    "THINKING_TEXT_MESSAGE_CONTENT": "REASONING_MESSAGE_CONTENT",
    "THINKING_TEXT_MESSAGE_END": "REASONING_MESSAGE_END",
}
RUN_SCOPED_TYPES = frozenset({"RUN_STARTED", "RUN_FINISHED", "RUN_ERROR", "MESSAGES_SNAPSHOT"})
_SUBAGENT_TYPES = frozenset({"SUBAGENT_STARTED", "SUBAGENT_FINISHED", "SUBAGENT_ERROR"})
_TEXT_ROLE_TYPES = frozenset({"TEXT_MESSAGE_START", "TEXT_MESSAGE_CHUNK"})

# Rank of each rule among the hits of one event: root causes first, then
# malformed values (fatal to consumers), then what consumers merely strip.
_RANK: Mapping[str, int] = {
    "snake-case-key": 0,
    "schema-missing-field": 1,
    "run-scoped-attribution": 3,
    "schema-null-optional": 4,
    "schema-unknown-member": 5,
    "schema-unknown-property": 6,
}
_DEFAULT_RANK = 2

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# --------------------------------------------------------------------- simple events


def _simple_check(definition: Any, defs: Mapping[str, Any]) -> Any:
    """A check that accepts an event only when the closed `definition` does, member by
    member, for events whose members all have a simple kind (`schema_kinds`); it declines
    (False) anything else, which the compiled validator then decides. None when the
    definition is not a closed object."""
    if not isinstance(definition, dict) or definition.get("additionalProperties") is not False:
        return None
    required = frozenset(definition.get("required", ()))
    checks = {
        name: check
        for name, sub in definition.get("properties", {}).items()
        if (check := value_check(kind_of(sub, defs))) is not None
    }

    def simple(event: dict[Any, Any]) -> bool:
        if not required <= event.keys():
            return False
        for key, value in event.items():
            check = checks.get(key)
            if check is None or not check(value):
                return False
        return True

    return simple


# --------------------------------------------------------------------- loading


def schema_dir(version: str = "1.1") -> Path:
    """Where the schemas of `version` live: package data, else the repo checkout.
    (A path beside this file, not `importlib.resources`: 4 ms of imports at start-up.)"""
    here = Path(__file__).resolve().parent
    packaged = here / "_data" / "schemas" / version
    if packaged.is_dir():
        return packaged
    return here.parent / "schemas" / version  # a source checkout: the repo's copy


def _load_documents(version: str) -> dict[str, dict[str, Any]]:
    folder = schema_dir(version)
    docs: dict[str, dict[str, Any]] = {}
    for name in _SCHEMA_FILES:
        path = folder / name
        if not path.is_file():
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        docs[doc["$id"]] = doc
    if not docs:
        raise FileNotFoundError(f"no AG-UI {version} schemas found in {folder}")
    return docs


# ------------------------------------------------------------ problems


class _Problem(NamedTuple):
    """One raw finding of the slow path, before it becomes a rule hit."""

    kind: str  # extra | missing | mismatch | unknown-member | not-json | opaque
    path: tuple[Any, ...]  # instance path of the value concerned
    instance: Any
    schema: Any  # the schema that rejected it (or None)
    keyword: str  # jsonschema keyword, or a label
    detail: Any = None


class _Union(NamedTuple):
    """A discriminated union: which key decides, and branch index per value."""

    key: str | None
    branches: dict[str, int]
    types: list[set[str]]  # JSON types each branch admits (for string|array unions)
    name: str | None


# --------------------------------------------------------------- checker


class SchemaChecker:
    """Checks events and run inputs against the AG-UI schemas of one version."""

    def __init__(self, version: str = "1.1") -> None:
        self.version = version
        self._docs = _load_documents(version)
        self._events_id = next(i for i in self._docs if i.endswith("/events.schema.json"))
        self._input_id = next(i for i in self._docs if i.endswith("/run-agent-input.schema.json"))
        events_defs = self._docs[self._events_id]["$defs"]

        # every dict in our documents -> the document it lives in (for $ref bases)
        self._base_of: dict[int, str] = {}
        for doc_id, doc in self._docs.items():
            self._index(doc, doc_id)

        # the event definitions are the branches of the `Event` union
        self._def_of_type: dict[str, str] = {}
        for branch in events_defs["Event"]["oneOf"]:
            name = branch["$ref"].rsplit("/", 1)[-1]
            self._def_of_type[events_defs[name]["properties"]["type"]["const"]] = name
        self._types = frozenset(self._def_of_type)
        self._definitions = {t: events_defs[n] for t, n in self._def_of_type.items()}

        # compiled on first use, per type: a short recording needs a few of the 31
        self._rs_registry: Any = None
        self._fast: dict[str, Any] = {}
        self._simple = {t: _simple_check(d, events_defs) for t, d in self._definitions.items()}
        self._fast_input: Any = None
        self._registry: Any = None  # python-jsonschema's, built on the first failure
        self._slow: dict[tuple[str, str], Any] = {}
        self._unions: dict[int, _Union] = {}

    # ------------------------------------------------------------ public API

    def event_types(self) -> frozenset[str]:
        """The event type names this version describes (31 for 1.1)."""
        return self._types

    def event_definitions(self) -> Mapping[str, Any]:
        """Event type -> the definition its validator was compiled from (read only)."""
        return self._definitions

    def event_defs(self) -> Mapping[str, Any]:
        """The events document's `$defs`, where its local `$ref`s point (read only)."""
        return self._docs[self._events_id]["$defs"]  # type: ignore[no-any-return]

    def check_event(self, event: object, index: int) -> list[Hit]:
        """Hits for one decoded event; `[]` when it matches its type's schema. Never raises."""
        try:
            if type(event) is dict:
                etype = event.get("type")
                if type(etype) is str:
                    simple = self._simple.get(etype)
                    if simple is not None and simple(event):
                        return []
                    fast = self._fast.get(etype) or self._compile(etype)
                    if fast is not None:
                        try:
                            if fast.is_valid(event):
                                return []
                        except Exception:
                            pass  # a value jsonschema-rs cannot read: explain below
            return self._check_event_slow(event, index)
        except Exception as err:  # pragma: no cover - defensive
            return [
                Hit(
                    "schema-wrong-type",
                    index,
                    f"Event could not be checked ({_short_exc(err)}).",
                    "",
                )
            ]

    def check_input(self, run_input: object) -> list[Hit]:
        """Hits for one RunAgentInput (the POST body); index is None. Never raises."""
        try:
            if type(run_input) is dict:
                try:
                    if self._fast_input is None:
                        self._fast_input = self._compiled(self._input_id, "RunAgentInput")
                    if self._fast_input.is_valid(run_input):
                        return []
                except Exception:
                    pass
            if not isinstance(run_input, dict):
                return [
                    Hit(
                        "schema-wrong-type",
                        None,
                        f"RunAgentInput must be a JSON object, got {_describe(run_input)}.",
                        "",
                    )
                ]
            return self._explain(self._input_id, "RunAgentInput", run_input, None, None)
        except Exception as err:  # pragma: no cover - defensive
            return [
                Hit(
                    "schema-wrong-type",
                    None,
                    f"RunAgentInput could not be checked ({_short_exc(err)}).",
                    "",
                )
            ]

    def _compile(self, etype: str) -> Any:
        """The compiled validator of an event type (None for an unknown type)."""
        name = self._def_of_type.get(etype)
        if name is None:
            return None
        validator = self._fast[etype] = self._compiled(self._events_id, name)
        return validator

    def _compiled(self, doc_id: str, name: str) -> Any:
        import jsonschema_rs  # here: a stream of simple events never needs it (~10 ms)

        if self._rs_registry is None:
            self._rs_registry = jsonschema_rs.Registry(list(self._docs.items()))
        return jsonschema_rs.validator_for(self._wrapper(doc_id, name), registry=self._rs_registry)

    # ------------------------------------------------------------ dispatch

    def _check_event_slow(self, event: object, index: int) -> list[Hit]:
        if not isinstance(event, dict):
            return [
                Hit(
                    "event-not-object",
                    index,
                    f"Event is {_describe(event)}, not a JSON object.",
                    "",
                )
            ]
        if "type" not in event:
            return [Hit("event-type-missing", index, "Event object has no `type` member.", "")]
        etype = event["type"]
        if not isinstance(etype, str):
            return [
                Hit(
                    "event-type-missing",
                    index,
                    f"Event `type` must be a string, got {_describe(etype)}.",
                    "/type",
                )
            ]
        etype = str(etype)
        if etype in RETIRED_TYPES:
            msg = (
                f"`{_clip(etype)}` is a retired 0.x event type (removed in AG-UI 1.0); "
                f"emit {RETIRED_TYPES[etype]} instead."
            )
            return [Hit("event-type-retired", index, msg, "/type")]
        name = self._def_of_type.get(etype)
        if name is None:
            msg = f"`{_clip(etype)}` is not an AG-UI {self.version} event type."
            guess = _guess_type(etype, self._types)
            if guess:
                msg += f" Did you mean `{guess}`?"
            else:
                msg += " Carry private signals in CUSTOM or RAW."
            return [Hit("event-type-unknown", index, msg, "/type")]
        return self._explain(self._events_id, name, event, etype, index)

    # ------------------------------------------------------------ slow path

    def _explain(
        self, doc_id: str, name: str, instance: dict[Any, Any], etype: str | None, index: int | None
    ) -> list[Hit]:
        validator = self._slow_validator(doc_id, name)
        problems: list[_Problem] = []
        try:
            self._gather(validator.iter_errors(instance), problems, 0)
        except RecursionError:
            problems = [_Problem("opaque", (), instance, None, "too-deep")]
        if not problems:
            # python-jsonschema (the reference) accepts it: the fast path either was not
            # applicable or refused a Python value that is not JSON. Report only the latter.
            problems = _find_non_json(instance)
        if not problems:
            return []
        root = self._docs[doc_id]["$defs"][name]
        label = etype if etype is not None else name
        hits = self._classify(problems, root, doc_id, instance, etype, label, index)
        return hits

    def _slow_validator(self, doc_id: str, name: str) -> Any:
        key = (doc_id, name)
        validator = self._slow.get(key)
        if validator is None:
            # python-jsonschema only explains failures: imported on the first one, so that
            # starting the validator does not pay for it (~60-80 ms)
            from agui_conformance.schema_explain import explainer, registry

            if self._registry is None:
                self._registry = registry(self._docs)
            validator = explainer()(self._wrapper(doc_id, name), registry=self._registry)
            self._slow[key] = validator
        return validator

    @staticmethod
    def _wrapper(doc_id: str, name: str) -> dict[str, Any]:
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": f"{doc_id}#/$defs/{name}",
        }

    def _gather(self, errors: Any, out: list[_Problem], depth: int) -> None:
        """Flatten jsonschema errors into problems, resolving unions by discriminator."""
        for error in errors:
            path = tuple(error.absolute_path)
            keyword = error.validator
            if keyword == "oneOf":
                if depth > 32:  # never deeper than the schema, but stay bounded
                    continue
                self._explain_union(error, path, out, depth)
            elif keyword == "required":
                out.append(
                    _Problem(
                        "missing", path, error.instance, error.schema, "required", error.message
                    )
                )
            elif keyword == "additionalProperties":
                described = error.schema.get("properties", {})
                for key in error.instance:
                    if key not in described:
                        out.append(
                            _Problem("extra", path, error.instance, error.schema, keyword, key)
                        )
            else:
                out.append(
                    _Problem(
                        "mismatch",
                        path,
                        error.instance,
                        error.schema,
                        keyword,
                        error.validator_value,
                    )
                )

    def _explain_union(
        self, error: Any, path: tuple[Any, ...], out: list[_Problem], depth: int
    ) -> None:
        instance = error.instance
        union = self._union(error.schema)
        chosen: int | None = None
        if union.key is not None:
            if not isinstance(instance, dict):
                out.append(
                    _Problem("mismatch", path, instance, error.schema, "union-object", union)
                )
                return
            if union.key not in instance:
                out.append(
                    _Problem("missing", path, instance, error.schema, "discriminator", union.key)
                )
                return
            value = instance[union.key]
            if not isinstance(value, str):
                out.append(
                    _Problem(
                        "mismatch", (*path, union.key), value, error.schema, "discriminator", union
                    )
                )
                return
            chosen = union.branches.get(str(value))
            if chosen is None:
                out.append(
                    _Problem("unknown-member", path, instance, error.schema, union.key, union)
                )
                return
        else:
            kind = _json_type(instance)
            fits = [i for i, types in enumerate(union.types) if kind in types]
            if len(fits) != 1:
                out.append(_Problem("mismatch", path, instance, error.schema, "union-type", union))
                return
            chosen = fits[0]
        inner = [
            e
            for e in (error.context or ())
            if e.relative_schema_path and e.relative_schema_path[0] == chosen
        ]
        before = len(out)
        self._gather(inner, out, depth + 1)
        if len(out) == before:
            out.append(_Problem("opaque", path, instance, error.schema, "oneOf"))

    def _union(self, schema: Any) -> _Union:
        """Describe the oneOf of `schema`: its discriminator and branches (cached)."""
        cached = self._unions.get(id(schema))
        if cached is not None:
            return cached
        base = self._base_of.get(id(schema), self._events_id)
        resolved = [self._resolve(branch, base)[0] for branch in schema.get("oneOf", [])]
        keys: set[str] | None = None
        consts: list[dict[str, str]] = []
        for branch in resolved:
            props = branch.get("properties", {}) if isinstance(branch, dict) else {}
            required = set(branch.get("required", [])) if isinstance(branch, dict) else set()
            found = {
                k: v["const"]
                for k, v in props.items()
                if isinstance(v, dict) and isinstance(v.get("const"), str) and k in required
            }
            consts.append(found)
            keys = set(found) if keys is None else keys & set(found)
        key = sorted(keys)[0] if keys else None
        branches = {c[key]: i for i, c in enumerate(consts)} if key else {}
        types = [_admitted_types(branch) for branch in resolved]
        union = _Union(key, branches, types, schema.get("$anchor"))
        self._unions[id(schema)] = union
        return union

    # ------------------------------------------------------------ schema walking

    def _index(self, node: Any, doc_id: str) -> None:
        stack = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                self._base_of[id(item)] = doc_id
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)

    def _resolve(self, schema: Any, base: str) -> tuple[Any, str]:
        for _ in range(16):
            if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
                break
            ref = schema["$ref"]
            target, _, fragment = ref.partition("#")
            doc_id = base if not target else base.rsplit("/", 1)[0] + "/" + target
            doc = self._docs.get(doc_id)
            name = fragment.rsplit("/", 1)[-1]
            if doc is None or name not in doc.get("$defs", {}):
                break
            schema, base = doc["$defs"][name], doc_id
        return schema, base

    def _schema_at(self, root: Any, base: str, instance: Any, path: tuple[Any, ...]) -> Any:
        """The (resolved, branch-selected) schema describing the value at `path`, or None."""
        schema, base = self._resolve(root, base)
        value = instance
        for step in path:
            schema, base = self._select(schema, base, value)
            if not isinstance(schema, dict):
                return None
            if isinstance(step, str) and isinstance(value, dict):
                sub = schema.get("properties", {}).get(step)
                if sub is None:
                    return None
                value = value.get(step)
            elif isinstance(step, int) and isinstance(value, list) and step < len(value):
                sub = schema.get("items")
                if sub is None:
                    return None
                value = value[step]
            else:
                return None
            schema, base = self._resolve(sub, base)
        schema, base = self._select(schema, base, value)
        return schema

    def _select(self, schema: Any, base: str, value: Any) -> tuple[Any, str]:
        """Follow a oneOf to the branch `value` belongs to (by discriminator or JSON type)."""
        for _ in range(4):
            if not (isinstance(schema, dict) and "oneOf" in schema):
                break
            union = self._union(schema)
            index: int | None = None
            if union.key is not None:
                if isinstance(value, dict) and isinstance(value.get(union.key), str):
                    index = union.branches.get(value[union.key])
            else:
                fits = [i for i, t in enumerate(union.types) if _json_type(value) in t]
                index = fits[0] if len(fits) == 1 else None
            if index is None:
                break
            branch_base = self._base_of.get(id(schema), base)
            schema, base = self._resolve(schema["oneOf"][index], branch_base)
        return schema, base

    # ------------------------------------------------------------ classification

    def _classify(
        self,
        problems: list[_Problem],
        root: Any,
        base: str,
        instance: Any,
        etype: str | None,
        label: str,
        index: int | None,
    ) -> list[Hit]:
        snake: set[tuple[tuple[Any, ...], str]] = set()
        for p in problems:
            if p.kind == "extra" and isinstance(p.detail, str):
                camel = _camel(p.detail)
                described = p.schema.get("properties", {}) if isinstance(p.schema, dict) else {}
                if camel != p.detail and camel in described:
                    snake.add((p.path, camel))

        ranked: list[tuple[int, int, Hit]] = []
        seen: set[tuple[str, str]] = set()
        for order, p in enumerate(problems):
            if p.kind == "missing" and (p.path, p.detail) in snake:
                continue  # reported once, as the snake_case key that should have been it
            made = self._hit(p, root, base, instance, etype, label, index)
            if made is None:
                continue
            key = (made.rule, made.pointer or "")
            if key in seen:
                continue
            seen.add(key)
            ranked.append((_RANK.get(made.rule, _DEFAULT_RANK), order, made))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [hit for _, _, hit in ranked[:MAX_HITS_PER_EVENT]]

    def _hit(
        self,
        p: _Problem,
        root: Any,
        base: str,
        instance: Any,
        etype: str | None,
        label: str,
        index: int | None,
    ) -> Hit | None:
        zone = _zone(etype, p.path)

        if p.kind == "extra":
            key = p.detail
            where = _where(label, p.path)
            pointer = _pointer((*p.path, key))
            described = p.schema.get("properties", {}) if isinstance(p.schema, dict) else {}
            camel = _camel(key) if isinstance(key, str) else key
            shown = _clip(str(key))
            if isinstance(key, str) and camel != key and camel in described:
                of = "" if not p.path else f" of {where}"
                msg = f"`{shown}` is not an AG-UI field{of}; did you mean `{camel}`?"
                return Hit("snake-case-key", index, msg, pointer)
            if not p.path and key == "subagentRunId" and etype in RUN_SCOPED_TYPES:
                msg = (
                    f"{etype} is run-scoped and must not carry `subagentRunId`; "
                    "attribute the content events (or the messages inside a snapshot) instead."
                )
                return Hit("run-scoped-attribution", index, msg, pointer)
            if not p.path and key == "usage" and etype in _SUBAGENT_TYPES:
                msg = (
                    f"{etype} must not carry `usage`; report the subagent's tokens on the "
                    "run's RUN_FINISHED or RUN_ERROR."
                )
                return Hit("usage-invalid", index, msg, pointer)
            msg = f"{where} has an undescribed property `{shown}`."
            if zone == "run-outcome":
                return Hit("run-finished-outcome-invalid", index, msg + _outcome_hint(p), pointer)
            if zone == "subagent-outcome":
                return Hit("subagent-outcome-invalid", index, msg + _outcome_hint(p), pointer)
            if zone == "usage":
                return Hit("usage-invalid", index, msg, pointer)
            msg += " Remove it, or move it under `metadata`."
            return Hit("schema-unknown-property", index, msg, pointer)

        if p.kind == "missing":
            key = p.detail
            pointer = _pointer((*p.path, key))
            where = _where(label, p.path)
            msg = f"{where} is missing required `{key}`."
            if etype == "REASONING_MESSAGE_START" and not p.path and key == "role":
                msg = 'REASONING_MESSAGE_START is missing `role`; it must be exactly "reasoning".'
                return Hit("reasoning-role-invalid", index, msg, pointer)
            if zone == "run-outcome":
                return Hit("run-finished-outcome-invalid", index, msg, pointer)
            if zone == "subagent-outcome":
                return Hit("subagent-outcome-invalid", index, msg, pointer)
            if zone == "patch":
                return Hit("state-patch-malformed", index, msg, pointer)
            if zone == "usage":
                return Hit("usage-invalid", index, msg, pointer)
            return Hit("schema-missing-field", index, msg, pointer)

        if p.kind == "unknown-member":
            union: _Union = p.detail
            value = p.instance.get(p.keyword) if isinstance(p.instance, dict) else None
            pointer = _pointer(p.path)  # the member itself: consumers drop the whole value
            where = _where(label, p.path)
            known = ", ".join(union.branches)
            if union.name == "ContentPart" and value == "binary":
                msg = (
                    f"{where} is a retired `binary` content part (AG-UI <= 0.0.47); use a typed "
                    "part (image, audio, video, document) with a `source`."
                )
                return Hit("retired-content-part", index, msg, pointer)
            shown = _json_text(_clip(value)) if isinstance(value, str) else _describe(value)
            msg = f"{where} has unknown {p.keyword} {shown} (described: {known})."
            return Hit("schema-unknown-member", index, msg, pointer)

        if p.kind == "not-json":
            pointer = _pointer(p.path)
            msg = f"{_where(label, p.path)} is {_describe(p.instance)}, which is not a JSON value."
            return Hit("schema-wrong-type", index, msg, pointer)

        if p.kind == "opaque":
            msg = f"{_where(label, p.path)} does not match its schema."
            return Hit(_zone_rule(zone) or "schema-wrong-type", index, msg, _pointer(p.path))

        # mismatch: a value of the wrong type / const / enum / bound / pattern
        path = p.path
        pointer = _pointer(path)
        where = _where(label, path)
        value = p.instance
        last = path[-1] if path else None
        if isinstance(p.schema, dict) and p.schema.get("$anchor") == "Metadata":
            msg = f"{where} must be a JSON object when present, got {_describe(value)}."
            if value is None:
                msg += " Omit it instead of sending null."
            return Hit("metadata-not-object", index, msg, pointer)
        if (
            value is None
            and isinstance(last, str)
            and self._is_optional(root, base, instance, path)
        ):
            msg = (
                f"{where} is null; optional fields are omitted when they have no value "
                "(absent means absent)."
            )
            return Hit("schema-null-optional", index, msg, pointer)
        expected = _expected(p)
        msg = f"{where} must be {expected}, got {_describe(value)}."
        if etype is not None and path == ("timestamp",):
            return Hit("timestamp-not-integer", index, msg, pointer)
        if etype in _TEXT_ROLE_TYPES and path == ("role",):
            return Hit("text-role-invalid", index, msg, pointer)
        if etype == "REASONING_MESSAGE_START" and path == ("role",):
            return Hit("reasoning-role-invalid", index, msg, pointer)
        if etype == "TOOL_CALL_RESULT" and path == ("role",):
            return Hit("tool-result-content-invalid", index, msg, pointer)
        if (
            etype == "REASONING_ENCRYPTED_VALUE"
            and path == ("subtype",)
            and p.keyword == "enum"
            and isinstance(value, str)
        ):
            shown = _json_text(_clip(value))
            msg = f"{where} has unknown subtype {shown} (described: tool-call, message)."
            return Hit("schema-unknown-member", index, msg, pointer)
        rule = _zone_rule(zone)
        if zone == "tool-content" and not (
            len(path) == 1 or (len(path) == 2 and p.keyword == "union-object")
        ):
            rule = None  # inside a well-shaped part: the generic rules say it better
        return Hit(rule or "schema-wrong-type", index, msg, pointer)

    def _is_optional(self, root: Any, base: str, instance: Any, path: tuple[Any, ...]) -> bool:
        parent = self._schema_at(root, base, instance, path[:-1])
        if not isinstance(parent, dict):
            return False
        return path[-1] in parent.get("properties", {}) and path[-1] not in parent.get(
            "required", []
        )


# ------------------------------------------------------------- helpers


def _expected(p: _Problem) -> str:
    keyword, value = p.keyword, p.detail
    if keyword == "type":
        return _type_phrase(value)
    if keyword == "const":
        return f"exactly {_json_text(value)}"
    if keyword == "enum":
        return "one of " + ", ".join(_json_text(v) for v in value)
    if keyword == "pattern":
        return "a JSON Pointer (empty, or `/`-separated tokens with `~0`/`~1` escapes)"
    if keyword == "minimum":
        return "an integer >= 0" if value == 0 else f"an integer >= {value}"
    if keyword == "maximum":
        return f"an integer <= {value}" + (" (2^53-1)" if value == MAX_SAFE_INTEGER else "")
    if keyword == "minItems":
        return f"an array of at least {value} item{'s' if value != 1 else ''}"
    if keyword == "not":
        return "any JSON value except null"
    if keyword in ("union-object", "discriminator"):
        union: _Union = value
        key = union.key or "type"
        kinds = ", ".join(union.branches)
        if keyword == "discriminator":
            return f"a string naming the kind ({kinds})"
        return f"an object whose `{key}` is one of {kinds}"
    if keyword == "union-type":
        union = value
        phrases: list[str] = []
        for branch_types in union.types:
            if branch_types == {"array"}:
                phrases.append(
                    "an array of content parts"
                    if p.path and p.path[-1] == "content"
                    else "an array"
                )
            elif len(branch_types) == 1:
                phrases.append(_type_phrase(next(iter(branch_types))))
        return " or ".join(phrases) if phrases else "a value its schema accepts"
    return "a value its schema accepts"


def _zone(etype: str | None, path: tuple[Any, ...]) -> str | None:
    """The container a problem sits in, for the container-specific rules."""
    if not path or etype is None:
        return None
    head = path[0]
    if head == "outcome":
        if etype == "RUN_FINISHED":
            return "run-outcome"
        if etype == "SUBAGENT_FINISHED":
            return "subagent-outcome"
    if head == "usage" and etype in ("RUN_FINISHED", "RUN_ERROR"):
        return "usage"
    if (head == "delta" and etype == "STATE_DELTA") or (
        head == "patch" and etype == "ACTIVITY_DELTA"
    ):
        return "patch"
    if head == "content" and etype == "TOOL_CALL_RESULT":
        return "tool-content"
    return None


def _zone_rule(zone: str | None) -> str | None:
    return {
        "run-outcome": "run-finished-outcome-invalid",
        "subagent-outcome": "subagent-outcome-invalid",
        "usage": "usage-invalid",
        "patch": "state-patch-malformed",
        "tool-content": "tool-result-content-invalid",
    }.get(zone or "")


def _outcome_hint(p: _Problem) -> str:
    if isinstance(p.instance, dict) and len(p.path) == 1:
        kind = p.instance.get("type")
        if isinstance(kind, str):
            return f" A `{_clip(kind)}` outcome does not carry it."
    return ""


def _camel(key: str) -> str:
    """`thread_id` -> `threadId`; `tool-call-id` -> `toolCallId`; other keys unchanged."""
    if "_" not in key and "-" not in key:
        return key
    parts = [part for part in re.split(r"[_-]+", key) if part]
    if not parts:
        return key
    return (
        parts[0][:1].lower()
        + parts[0][1:]
        + "".join(part[:1].upper() + part[1:] for part in parts[1:])
    )


def _guess_type(etype: str, known: frozenset[str]) -> str | None:
    if len(etype) > 64:
        return None
    candidate = (
        re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", etype).replace("-", "_").replace(" ", "_").upper()
    )
    return candidate if candidate in known and candidate != etype else None


def _pointer(path: tuple[Any, ...]) -> str:
    return "".join("/" + str(step).replace("~", "~0").replace("/", "~1") for step in path)


def _where(label: str, path: tuple[Any, ...]) -> str:
    out = [label]
    for step in path:
        if isinstance(step, int):
            out.append(f"[{step}]")
        elif isinstance(step, str) and _IDENT.match(step):
            out.append(f".{step}")
        else:
            out.append(f"[{_json_text(_clip(str(step)))}]")
    return "".join(out)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "python"


def _admitted_types(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    declared = schema.get("type")
    if declared is None:
        return {"null", "boolean", "integer", "number", "string", "array", "object"}
    types = {declared} if isinstance(declared, str) else set(declared)
    if "number" in types:
        types.add("integer")
    return types


_ARTICLE = {
    "object": "a JSON object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def _type_phrase(types: Any) -> str:
    if isinstance(types, str):
        return _ARTICLE.get(types, types)
    return " or ".join(_ARTICLE.get(t, str(t)) for t in types)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _describe(value: Any) -> str:
    """A short, bounded description of any value (never recurses into it)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        text = (
            str(value)
            if abs(value) < 10**30
            else f"{str(value)[:12]}... ({len(str(abs(value)))} digits)"
        )
        return f"integer {text}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"non-finite number {value}"
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {_json_text(_clip(str(value), 40))}"
    if isinstance(value, list):
        count = len(value)
        return f"an array of {count} item{'s' if count != 1 else ''}"
    if isinstance(value, dict):
        return "a JSON object"
    return f"a Python {type(value).__name__}"


def _short_exc(err: BaseException) -> str:
    return _clip(f"{type(err).__name__}: {err}", 120)


_NON_JSON_SCAN_LIMIT = 200_000


def _find_non_json(value: Any) -> list[_Problem]:
    """Values jsonschema-rs refused: Python objects that are not JSON (bounded scan)."""
    out: list[_Problem] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    seen = 0
    while stack and seen < _NON_JSON_SCAN_LIMIT and len(out) < 8:
        item, path = stack.pop()
        seen += 1
        if item is None or isinstance(item, (bool, str)):
            continue
        if isinstance(item, int):
            continue
        if isinstance(item, float):
            if math.isnan(item) or math.isinf(item):
                out.append(_Problem("not-json", path, item, None, "json"))
            continue
        if isinstance(item, list):
            if len(path) < 256:
                stack.extend((child, (*path, i)) for i, child in reversed(list(enumerate(item))))
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    out.append(_Problem("not-json", (*path, str(key)), key, None, "json"))
                elif len(path) < 256:
                    stack.append((child, (*path, key)))
            continue
        out.append(_Problem("not-json", path, item, None, "json"))
    return out


_CHECKERS: dict[str, SchemaChecker] = {}
_CHECKERS_LOCK = threading.Lock()


def get_checker(version: str = "1.1") -> SchemaChecker:
    """The process-wide checker for `version` (schemas loaded and compiled once)."""
    checker = _CHECKERS.get(version)
    if checker is None:
        with _CHECKERS_LOCK:
            checker = _CHECKERS.get(version)
            if checker is None:
                checker = _CHECKERS[version] = SchemaChecker(version)
    return checker
