"""Example arguments for a frontend tool, from the JSON Schema the client offered.

The schema is the client's: a `minLength` or `minItems` of 1e9, or arrays nested
in arrays, would ask for gigabytes from a request of a few hundred bytes. What is
generated is bounded: at most MAX_ARGUMENT_CHARS of JSON, MAX_DEPTH levels deep;
a schema asking for more raises `TooLarge` before anything large is built, and
the agent declines the call instead.
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_ARGUMENT_CHARS = 16 * 1024
MAX_DEPTH = 32


class TooLarge(ValueError):
    """The schema asks for arguments over the budget."""


class _Budget:
    def __init__(self, chars: int) -> None:
        self.limit = self.left = chars

    def afford(self, chars: int) -> None:
        if chars > self.left:
            raise TooLarge(f"the arguments would exceed {self.limit} characters")

    def spend(self, chars: int) -> None:
        self.afford(chars)
        self.left -= chars


def example_for(schema: Any, name: str = "value", *, limit: int = MAX_ARGUMENT_CHARS) -> Any:
    """A value that validates against a (simple) JSON Schema, deterministically.

    Raises `TooLarge` when that value would be over `limit` characters of JSON
    or MAX_DEPTH levels deep."""
    return _example(schema, name, _Budget(limit), 0)


def _count(value: Any) -> int | None:
    """`value` as a count (an integer, or a float holding one), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value) if value < 2**62 else 2**62
    return None


def _given(schema: dict[str, Any]) -> tuple[Any] | None:
    """The value the schema names itself (`const`, the first of `enum`, `default`)."""
    if "const" in schema:
        return (schema["const"],)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return (schema["enum"][0],)
    if "default" in schema:
        return (schema["default"],)
    return None


def _example(schema: Any, name: str, budget: _Budget, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise TooLarge(f"the parameters nest over {MAX_DEPTH} levels")
    if not isinstance(schema, dict):
        budget.spend(4)
        return None
    given = _given(schema)
    if given is not None:
        budget.spend(len(orjson.dumps(given[0])))
        return given[0]
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return _example(schema[key][0], name, budget, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind == "object" or (kind is None and "properties" in schema):
        raw_props = schema.get("properties")
        props: dict[str, Any] = raw_props if isinstance(raw_props, dict) else {}
        raw_required = schema.get("required")
        required: list[Any] = raw_required if isinstance(raw_required, list) else []
        out: dict[str, Any] = {}
        budget.spend(2)
        for key, sub in props.items():
            if key in required or len(required) == 0:
                budget.spend(len(key) + 4)
                out[key] = _example(sub, key, budget, depth + 1)
        return out
    if kind == "array":
        wanted = schema.get("minItems", 1)  # one item unless told otherwise
        size = max(_count(wanted) or 0, 1 if wanted else 0)
        budget.spend(1 + size)  # the brackets and commas, before building anything
        return [_example(schema.get("items", {}), name, budget, depth + 1) for _ in range(size)]
    if kind == "integer":
        minimum = schema.get("minimum")
        value: Any = int(minimum) if isinstance(minimum, int) else 1
    elif kind == "number":
        minimum = schema.get("minimum")
        value = minimum if isinstance(minimum, (int, float)) else 1.5
    elif kind == "boolean":
        value = True
    elif kind == "null":
        value = None
    elif kind == "string":
        text = f"example {name}"
        min_len = _count(schema.get("minLength"))
        if min_len is not None and len(text) < min_len:
            budget.afford(min_len)  # before building the string
            text = text.ljust(min_len, "x")
        value = text
    else:
        value = f"example {name}"
    budget.spend(len(orjson.dumps(value)))
    return value
