"""How big a rebuilt JSON document is, and the budget all of a stream's share.

Owns one measure, `json_size`, and one account, `SizeBudget`. The validator
rebuilds documents from what the agent sends (the state, from STATE_SNAPSHOT
and STATE_DELTA; each activity's content, from ACTIVITY_*). RFC 6902 `copy`
and `move` let a 6 KB stream double a document with every delta, so the
documents of one stream share a budget: past it, the machine stops tracking
them (`state-too-large`) instead of growing without end.

The measure estimates the length of a value's JSON text without serialising
it: a string counts its length plus its quotes, a member its name plus four
(quotes, colon, comma), an array item one (its comma), a container its two
brackets, `null` and `true` four, `false` five, a number eight whatever its
digits. It is a pure function of the value, so what an operation adds is
exactly what removing it later takes away: the account stays exact under any
sequence of patches without re-measuring whole documents. The walk is
iterative (no recursion limit) and stops once the count passes its limit, so
measuring costs at most the limit, whatever the value.

Knows nothing of events or rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "COPY_FACTOR",
    "DEFAULT_MAX_STATE_BYTES",
    "MEMBER",
    "NUMBER_SIZE",
    "SizeBudget",
    "json_size",
    "member_overhead",
]

DEFAULT_MAX_STATE_BYTES = 8 * 1024 * 1024  # 8 MiB of JSON, state and activities together
# `copy` operations may copy this many times the bound in all (rolled back or not):
# a patch that copies and then fails would otherwise repeat the copy with every event.
COPY_FACTOR = 8
_NUMBER = NUMBER_SIZE = 8  # a number, whatever its digits
MEMBER = 4  # what a member adds besides its name and value: quotes, colon, comma


def _scalar(value: Any) -> int:
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    return _NUMBER


def member_overhead(key: str) -> int:
    """What one object member adds besides its value: name, quotes, colon, comma."""
    return len(key) + MEMBER


def json_size(value: Any, limit: int) -> int:
    """The estimated JSON size of `value` in bytes; past `limit` the walk stops and
    returns some count above `limit` (a lower bound of the size)."""
    kind = type(value)
    if kind is str:
        return len(value) + 2
    if kind is not dict and kind is not list and not isinstance(value, (dict, list)):
        return _scalar(value)
    total = 0
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        children: Any
        if isinstance(node, dict):
            try:
                total += 2 + 4 * len(node) + sum(map(len, node))
            except TypeError:  # a member name that is not a string (not from JSON)
                total += 2 + sum(len(k) + 4 if type(k) is str else _NUMBER + 4 for k in node)
            children = node.values()
        else:
            total += 2 + len(node)
            children = node
        for child in children:
            kind = type(child)
            if kind is str:
                total += len(child) + 2
            elif kind is int or kind is float:
                total += _NUMBER
            elif kind is dict or kind is list or isinstance(child, (dict, list)):
                stack.append(child)
            else:
                total += _scalar(child)
        if total > limit:
            return total
    return total


@dataclass(slots=True)
class SizeBudget:
    """The account of one stream's rebuilt documents.

    limit: the most their sizes may add up to (`max_state_bytes`).
    used: what they add up to now.
    copied: bytes `copy` operations have copied in all, including patches that
        were rolled back; at most `COPY_FACTOR * limit`.
    exceeded: the budget ran out once; the documents are no longer tracked.
    """

    limit: int = DEFAULT_MAX_STATE_BYTES
    used: int = 0
    copied: int = 0
    exceeded: bool = False

    @property
    def room(self) -> int:
        return self.limit - self.used

    @property
    def copy_room(self) -> int:
        return COPY_FACTOR * self.limit - self.copied
