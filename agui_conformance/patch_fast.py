"""The common JSON Patch, applied without the general machinery.

Most STATE_DELTA events are a few `add`/`replace`/`remove` operations on
plain paths of a document that has them. `apply_plain` applies exactly those,
in place and atomically like `jsonpatch.apply_patch` (same result, same copies),
and gives up on anything else: another operation, a `~` escape, the root, a
location that does not exist, a removal that would reorder an object. Giving up
leaves the document as it was and returns `DEFER`; the caller then calls
`apply_patch`, which applies or explains the failure. `tests/test_patch_fast.py`
proves the two agree.

With a `budget` (`jsonsize.SizeBudget`) it accounts the size exactly as
`apply_patch` does (the same measure of what each operation adds, what it
detaches measured once the patch has applied), and gives up on a patch that
would take the documents past the limit: `apply_patch` then says so.
"""

from __future__ import annotations

from typing import Any

from agui_conformance.jsonpatch import (
    MISSING,
    REINSERT,
    RESET,
    SET,
    UNINSERT,
    UndoLog,
    array_index,
    copy_value,
    undo,
)
from agui_conformance.jsonsize import (
    MEMBER,
    NUMBER_SIZE,
    SizeBudget,
    json_size,
    member_overhead,
)

__all__ = ["DEFER", "apply_plain"]

DEFER: Any = object()
_WHOLE = 1 << 62  # a limit no value reaches
_FLAT = 8  # objects of at most this many members are sized inline when flat


def _size(value: Any) -> int:
    """`json_size` of a whole value: strings and numbers without the call, and a small
    object of strings and numbers (the usual patch value) in one pass without the walk's
    stack (measured: ~400 -> ~200 ns for `{"block": 1}`); anything else by the walk."""
    kind = type(value)
    if kind is str:
        return len(value) + 2
    if kind is int or kind is float:
        return NUMBER_SIZE
    if kind is dict and len(value) <= _FLAT:
        total = 2
        for key, child in value.items():
            kind = type(child)
            if type(key) is not str:
                break
            if kind is str:
                total += len(key) + MEMBER + len(child) + 2
            elif kind is int or kind is float:
                total += len(key) + MEMBER + NUMBER_SIZE
            else:
                break
        else:
            return total
    return json_size(value, _WHOLE)


def _apply(
    doc: Any,
    op: Any,
    log: UndoLog,
    copy: bool,
    detached: list[tuple[Any, int]] | None,
) -> int | None:
    """One operation, logged; None (nothing changed by it) when it is not plain. Else
    what it added to the size (0 without `detached`, where it puts what it detached:
    the value and what its slot took besides it)."""
    if type(op) is not dict:
        return None
    path = op.get("path")
    if type(path) is not str or not path or path[0] != "/" or "~" in path:
        return None
    cut = path.rfind("/")
    last = path[cut + 1 :]
    node = doc
    for token in path[1:cut].split("/") if cut else ():  # to the container of `last`
        if type(node) is dict:
            node = node.get(token, MISSING)  # MISSING is neither container: declined below
        elif type(node) is list:
            index = array_index(token, len(node), end_ok=False)
            if index < 0:
                return None
            node = node[index]
        else:
            return None
    kind = op.get("op")
    if kind == "add" or kind == "replace":
        value = op.get("value", MISSING)
        if value is MISSING:
            return None
        if copy and isinstance(value, (dict, list)):
            value = copy_value(value)
        if type(node) is dict:
            previous = node.get(last, MISSING)
            if kind == "replace" and previous is MISSING:
                return None
            node[last] = value
            log.append((SET, node, last, previous))
            if detached is None:
                return 0
            if previous is MISSING:
                return len(last) + MEMBER + _size(value)
            detached.append((previous, 0))
            return _size(value)
        if type(node) is list:
            if last == "-" and kind == "add":
                index = len(node)
            else:
                index = array_index(last, len(node), end_ok=kind == "add")
                if index < 0:
                    return None
            if kind == "add":
                node.insert(index, value)
                log.append((UNINSERT, node, index, None))
                return 0 if detached is None else 1 + _size(value)
            log.append((RESET, node, index, node[index]))
            node[index] = value
            if detached is None:
                return 0
            detached.append((log[-1][3], 0))
            return _size(value)
        return None
    if kind != "remove":
        return None
    if type(node) is dict:
        # Only the last member: elsewhere, restoring it would have to rebuild the order.
        if not node or next(reversed(node)) != last:
            return None
        log.append((SET, node, last, node.pop(last)))
        if detached is not None:
            detached.append((log[-1][3], member_overhead(last)))
        return 0
    if type(node) is list:
        index = array_index(last, len(node), end_ok=False)
        if index < 0:
            return None
        log.append((REINSERT, node, index, node.pop(index)))
        if detached is not None:
            detached.append((log[-1][3], 1))
        return 0
    return None


def apply_plain(
    doc: Any, patch: Any, *, copy: bool = True, budget: SizeBudget | None = None
) -> Any:
    """Apply a plain patch in place and return the root; DEFER (doc unchanged) otherwise.

    `copy=False` when nothing else holds the patch (its values become the
    document's own, with no copy). `budget`: the account the document is part of;
    a patch that would take it past its limit is DEFERred too."""
    if type(patch) is not list:
        return DEFER
    log: UndoLog = []
    detached: list[tuple[Any, int]] | None = None if budget is None else []
    grown = 0
    for op in patch:
        step = _apply(doc, op, log, copy, detached)
        if step is None:
            undo(log)
            return DEFER
        grown += step
    if budget is not None and detached is not None:
        most = budget.used + grown  # no detached value is larger: the walks are exact
        for value, overhead in detached:
            grown -= overhead + json_size(value, most)
        if budget.used + grown > budget.limit:
            undo(log)
            return DEFER
        budget.used += grown
    return doc
