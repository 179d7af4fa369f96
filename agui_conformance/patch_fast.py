"""The common JSON Patch, applied without the general machinery.

Most STATE_DELTA events are a few `add`/`replace`/`remove` operations on
plain paths of a document that has them. `apply_plain` applies exactly those,
in place and atomically like `jsonpatch.apply_patch` (same result, same copies),
and gives up on anything else: another operation, a `~` escape, the root, a
location that does not exist, a removal that would reorder an object. Giving up
leaves the document as it was and returns `DEFER`; the caller then calls
`apply_patch`, which applies or explains the failure. `tests/test_patch_fast.py`
proves the two agree.
"""

from __future__ import annotations

from typing import Any

from agui_conformance.jsonpatch import copy_value

__all__ = ["DEFER", "apply_plain"]

DEFER: Any = object()
_MISSING: Any = object()


def _index(token: str, size: int, *, end_ok: bool) -> int:
    """An array index the full applier would accept, or -1."""
    if token == "-":
        return size if end_ok else -1
    if not (token.isascii() and token.isdigit()) or (len(token) > 1 and token[0] == "0"):
        return -1
    index = int(token)
    return index if index < size or (end_ok and index == size) else -1


def _parent(doc: Any, tokens: list[str]) -> Any:
    """The container of the last token, or _MISSING."""
    node = doc
    for token in tokens[:-1]:
        kind = type(node)
        if kind is dict:
            node = node.get(token, _MISSING)
            if node is _MISSING:
                return _MISSING
        elif kind is list:
            index = _index(token, len(node), end_ok=False)
            if index < 0:
                return _MISSING
            node = node[index]
        else:
            return _MISSING
    return node


# Undo log actions: what to do to put a container back.
_SET = 0  # dict: restore `previous` under key (or delete it when it was _MISSING)
_UNINSERT = 1  # list: delete the item inserted at index
_RESET = 2  # list: put `previous` back at index
_REINSERT = 3  # list: insert `previous` back at index


def _undo(log: list[tuple[int, Any, Any, Any]]) -> None:
    """Replay the log backwards, newest first."""
    while log:
        action, node, key, previous = log.pop()
        if action == _SET:
            if previous is _MISSING:
                del node[key]
            else:
                node[key] = previous
        elif action == _UNINSERT:
            del node[key]
        elif action == _RESET:
            node[key] = previous
        else:
            node.insert(key, previous)


def _apply(doc: Any, op: Any, log: list[tuple[int, Any, Any, Any]], copy: bool) -> bool:
    """One operation, logged; False (nothing changed by it) when it is not plain."""
    if type(op) is not dict:
        return False
    kind = op.get("op")
    path = op.get("path")
    if type(path) is not str or not path or path[0] != "/" or "~" in path:
        return False
    tokens = path[1:].split("/")
    node = _parent(doc, tokens)
    last = tokens[-1]
    if kind == "add" or kind == "replace":
        if "value" not in op:
            return False
        value = op["value"]
        if copy and isinstance(value, (dict, list)):
            value = copy_value(value)
        if type(node) is dict:
            previous = node.get(last, _MISSING)
            if kind == "replace" and previous is _MISSING:
                return False
            node[last] = value
            log.append((_SET, node, last, previous))
            return True
        if type(node) is list:
            index = _index(last, len(node), end_ok=kind == "add")
            if index < 0:
                return False
            if kind == "add":
                node.insert(index, value)
                log.append((_UNINSERT, node, index, None))
            else:
                log.append((_RESET, node, index, node[index]))
                node[index] = value
            return True
        return False
    if kind != "remove":
        return False
    if type(node) is dict:
        # Only the last member: elsewhere, restoring it would have to rebuild the order.
        if not node or next(reversed(node)) != last:
            return False
        log.append((_SET, node, last, node.pop(last)))
        return True
    if type(node) is list:
        index = _index(last, len(node), end_ok=False)
        if index < 0:
            return False
        log.append((_REINSERT, node, index, node.pop(index)))
        return True
    return False


def apply_plain(doc: Any, patch: Any, *, copy: bool = True) -> Any:
    """Apply a plain patch in place and return the root; DEFER (doc unchanged) otherwise.

    `copy=False` when nothing else holds the patch (its values become the
    document's own, with no copy)."""
    if type(patch) is not list:
        return DEFER
    log: list[tuple[int, Any, Any, Any]] = []
    for op in patch:
        if not _apply(doc, op, log, copy):
            _undo(log)
            return DEFER
    return doc
