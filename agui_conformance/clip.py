"""Bounded text: what every finding message is built with.

Owns the two limits a message obeys, whatever the agent sent: a list names
its first `MAX_LISTED` items and says how many it left out ("`c1`, `c2`, …
and 8,734 more"), each item cut to `MAX_ITEM` characters; and the whole
message is cut to `MAX_MESSAGE` characters, saying how many it left out
("… (4,211 more characters)"). The machine builds every message that names a
list with `listing`; the validator applies `clip_text` to every message it
turns into a `Finding`, and keeps at most `MAX_FINDINGS_PER_RULE` findings
of one rule. Knows nothing of rules or events.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from itertools import islice
from typing import Any

__all__ = [
    "MAX_FINDINGS_PER_RULE",
    "MAX_ITEM",
    "MAX_LISTED",
    "MAX_MESSAGE",
    "clip_text",
    "code",
    "listing",
    "literal",
]

MAX_LISTED = 10  # items a message names before "… and N more"
MAX_ITEM = 80  # characters of one named item
MAX_MESSAGE = 2_000  # characters of one message, the note of what was cut included
# Findings of one rule a validator keeps per stream (a stream repeating one mistake a
# million times stays readable); reports say when a rule reached it.
MAX_FINDINGS_PER_RULE = 1_000


def clip_text(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text`, or its first characters and how many were left out, in `limit` characters."""
    if len(text) <= limit:
        return text
    cut = max(0, limit - len(f"… ({len(text):,} more characters)"))
    return f"{text[:cut]}… ({len(text) - cut:,} more characters)"


def _short(text: str) -> str:
    return text if len(text) <= MAX_ITEM else text[: MAX_ITEM - 1] + "…"


def code(value: Any) -> str:
    """An id as a message names it: `id` (cut to `MAX_ITEM` characters)."""
    return f"`{_short(value if isinstance(value, str) else repr(value)[: MAX_ITEM + 1])}`"


def literal(value: Any) -> str:
    """A value as Python would print it (`'id'`, `3`, `None`), in `MAX_ITEM` characters:
    a long string is cut, a container only named."""
    if isinstance(value, str):
        return repr(_short(value))
    if isinstance(value, dict):
        return f"{{…{len(value):,} members}}"
    if isinstance(value, (list, tuple)):
        return f"[…{len(value):,} items]"
    return _short(repr(value)[: MAX_ITEM + 1])


def listing(
    items: Collection[Any], *, show: Callable[[Any], str] = code, limit: int = MAX_LISTED
) -> str:
    """The first `limit` items, each shown by `show`, then how many are left out:
    "`a`, `b`, `c` … and 8,734 more"."""
    shown = [show(item) for item in islice(items, limit)]
    text = ", ".join(shown)
    rest = len(items) - len(shown)
    return f"{text} … and {rest:,} more" if rest > 0 else text
