"""python-jsonschema, set up to explain why an event failed its schema (the slow path of
`schema.SchemaChecker`; the fast path is jsonschema-rs). Imported on the first failure only.

The stock keyword functions build messages with repr(instance), which costs O(size) on a huge
value. We never read those messages: these versions keep jsonschema's semantics and put the
facts on the error instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import (  # type: ignore[import-untyped, unused-ignore]
    Draft202012Validator,
    ValidationError,
)
from jsonschema.validators import extend  # type: ignore[import-untyped, unused-ignore]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


def registry(docs: Mapping[str, Any]) -> Registry[Any]:
    """Our schema documents, by their $id, for python-jsonschema."""
    return Registry().with_resources(
        (doc_id, Resource.from_contents(doc, default_specification=DRAFT202012))
        for doc_id, doc in docs.items()
    )


def _kw_type(validator: Any, types: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    wanted = [types] if isinstance(types, str) else list(types)
    if not any(validator.is_type(instance, t) for t in wanted):
        yield ValidationError("type")


def _kw_const(validator: Any, const: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not _json_equal(instance, const):
        yield ValidationError("const")


def _kw_enum(validator: Any, enums: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not any(_json_equal(instance, each) for each in enums):
        yield ValidationError("enum")


def _kw_pattern(
    validator: Any, pattern: str, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not re.search(pattern, instance):
        yield ValidationError("pattern")


def _kw_not(
    validator: Any, not_schema: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if validator.evolve(schema=not_schema).is_valid(instance):
        yield ValidationError("not")


def _kw_minimum(
    validator: Any, bound: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "number") and instance < bound:
        yield ValidationError("minimum")


def _kw_maximum(
    validator: Any, bound: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "number") and instance > bound:
        yield ValidationError("maximum")


def _kw_min_items(
    validator: Any, bound: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "array") and len(instance) < bound:
        yield ValidationError("minItems")


def _kw_additional(
    validator: Any, extra: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    described = schema.get("properties", {})
    extras = [key for key in instance if key not in described]
    if validator.is_type(extra, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra, path=key)
    elif extra is False and extras:
        yield ValidationError("additionalProperties")


def _kw_required(
    validator: Any, required: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for name in required:
            if name not in instance:
                yield ValidationError(name)  # the message is the missing member's name


def _kw_one_of(
    validator: Any, branches: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    all_errors: list[ValidationError] = []
    valid = 0
    for index, branch in enumerate(branches):
        errors = list(validator.descend(instance, branch, schema_path=index))
        if errors:
            all_errors.extend(errors)
        else:
            valid += 1
    if valid == 0:
        yield ValidationError("oneOf", context=all_errors)
    elif valid > 1:
        yield ValidationError("oneOf-ambiguous")


@functools.cache
def explainer() -> Any:
    """Draft 2020-12 with the keyword functions above: the slow path's validator class."""
    return extend(
        Draft202012Validator,
        validators={
            "type": _kw_type,
            "const": _kw_const,
            "enum": _kw_enum,
            "pattern": _kw_pattern,
            "not": _kw_not,
            "minimum": _kw_minimum,
            "maximum": _kw_maximum,
            "minItems": _kw_min_items,
            "additionalProperties": _kw_additional,
            "oneOf": _kw_one_of,
            "required": _kw_required,
        },
    )


def _json_equal(one: Any, two: Any) -> bool:
    """JSON equality, enough for our consts and enums (strings only; bool is not 1)."""
    if isinstance(two, str) or isinstance(one, str):
        return isinstance(one, str) and isinstance(two, str) and one == two
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one is two
    if isinstance(one, (int, float)) and isinstance(two, (int, float)):
        return bool(one == two)
    return one is None and two is None
