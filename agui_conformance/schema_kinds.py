"""Kinds: a small description of a JSON Schema subschema, and checks derived from them.

Read by the fast paths (`machine.shapes`: which members an event may carry) and by
the schema checker (`schema`: events whose every member has a simple kind are checked
here, without compiling anything). A `Kind` is a tuple: ("any",), ("const", v),
("string",), ("enum", values), ("integer", lo, hi), ("not-null",), ("object",),
("array", item kind), ("oneOf", branch kinds), ("ref", name) for a definition too
rich to describe, or ("schema", keywords) for anything else. Annotations
(`description`, `default`, `$anchor`, `title`, `examples`) do not count.

It knows nothing of events, files or rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Kind", "kind_of", "value_check"]

Kind = tuple[Any, ...]

_ANNOTATIONS = frozenset({"description", "default", "$anchor", "title", "examples", "$comment"})
_LOCAL = "#/$defs/"


def kind_of(schema: Any, defs: Mapping[str, Any], depth: int = 0) -> Kind:
    """The kind of one subschema (local `$ref`s into `defs` resolved)."""
    if not isinstance(schema, dict) or depth > 8:
        return ("schema", repr(schema))
    body = {k: v for k, v in schema.items() if k not in _ANNOTATIONS}
    keys = set(body)
    if not keys:
        return ("any",)
    if keys == {"$ref"}:
        ref = body["$ref"]
        name = ref.rsplit("/", 1)[-1]
        if isinstance(ref, str) and ref.startswith(_LOCAL) and name in defs:
            inner = kind_of(defs[name], defs, depth + 1)
            return ("ref", name) if inner[0] in ("schema", "array", "oneOf") else inner
        return ("ref", name)
    if keys == {"const"}:
        return ("const", body["const"])
    if keys == {"not"} and body["not"] == {"type": "null"}:
        return ("not-null",)
    if keys == {"oneOf"} and isinstance(body["oneOf"], list):
        return ("oneOf", tuple(kind_of(b, defs, depth + 1) for b in body["oneOf"]))
    kind = body.get("type")
    if kind == "string" and keys == {"type"}:
        return ("string",)
    if kind == "string" and keys == {"type", "enum"} and isinstance(body["enum"], list):
        return ("enum", tuple(body["enum"]))
    if kind == "integer" and keys == {"type", "minimum", "maximum"}:
        return ("integer", body["minimum"], body["maximum"])
    open_object = body.get("additionalProperties", True) is True
    if kind == "object" and keys <= {"type", "additionalProperties"} and open_object:
        return ("object",)
    if kind == "array" and keys == {"type", "items"}:
        return ("array", kind_of(body["items"], defs, depth + 1))
    return ("schema", tuple(sorted(keys)))


def value_check(kind: Kind) -> Callable[[Any], bool] | None:
    """A check that accepts only values the subschema of this kind accepts, whatever
    Python object is handed in (so values that may be any JSON are taken only when they
    are a string or a boolean), or None where no check this simple exists."""
    tag = kind[0]
    if tag == "string":
        return lambda value: type(value) is str
    if tag == "const" and type(kind[1]) is str:
        constant = kind[1]
        return lambda value: type(value) is str and value == constant
    if tag == "enum" and all(type(v) is str for v in kind[1]):
        values = frozenset(kind[1])
        return lambda value: type(value) is str and value in values
    if tag == "integer":
        low, high = kind[1], kind[2]
        return lambda value: type(value) is int and low <= value <= high
    if tag in ("any", "not-null"):
        return lambda value: type(value) is str or type(value) is bool
    return None
