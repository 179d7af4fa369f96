"""Small JSON helpers the machine needs: parse without raising (copies of JSON values:
`jsonpatch.copy_value`)."""

from __future__ import annotations

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
