"""Small JSON helpers the machine needs: parse without raising, copy cheaply."""

from __future__ import annotations

import copy
from typing import Any

import orjson


def parses_as_json(textual: str) -> bool:
    try:
        orjson.loads(textual)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return False
    return True


def loads_or_none(textual: str) -> tuple[bool, Any]:
    try:
        return True, orjson.loads(textual)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return False, None


def clone(value: Any) -> Any:
    """A deep copy of a JSON value (orjson round trip, deepcopy as fallback)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        return orjson.loads(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError):
        return copy.deepcopy(value)
