"""RFC 6902 JSON Patch, applied in place and atomically, in time linear in
the patch (never in the document).

Owns one job: apply a list of operations to a JSON document the caller owns.
Operations mutate the document in place (so 10,000 deltas on a growing
state cost 10,000 small steps, not 10,000 copies); every mutation is
recorded in an undo log, and if any operation fails the log is replayed
backwards so the document is exactly as before, then `PatchError` says
which operation failed and why. Operations are open objects: members RFC
6902 does not define are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

_MISSING = object()


class PatchError(Exception):
    """A patch that does not apply. The document is unchanged."""

    def __init__(
        self,
        reason: str,
        op_index: int | None = None,
        *,
        pointer: str = "",
        test_failed: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.op_index = op_index
        self.pointer = pointer
        self.test_failed = test_failed


def _copy(value: Any) -> Any:
    """Values inserted must not alias the patch (or each other)."""
    if isinstance(value, (dict, list)):
        try:
            return orjson.loads(orjson.dumps(value))
        except (TypeError, orjson.JSONEncodeError):
            import copy

            return copy.deepcopy(value)
    return value


def _tokens(pointer: Any) -> list[str]:
    if not isinstance(pointer, str):
        raise PatchError(f"path {pointer!r} is not a string")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"path {pointer!r} is not a JSON pointer (must start with '/')")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(token: str, size: int, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return size
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PatchError(f"`{token}` is not an array index")
    idx = int(token)
    limit = size if allow_end else size - 1
    if idx > limit:
        raise PatchError(f"array index {idx} is out of range (length {size})")
    return idx


def _parent(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(f"`{token}` does not exist")
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(token, len(node), allow_end=False)]
        else:
            raise PatchError(f"cannot descend into a {type(node).__name__} at `{token}`")
    return node


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"`{last}` does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(last, len(parent), allow_end=False)]
    raise PatchError(f"cannot read `{last}` of a {type(parent).__name__}")


def json_equal(a: Any, b: Any) -> bool:
    """RFC 6902 `test` equality: numbers by value, bools are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


class _Applier:
    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.undo: list[Callable[[], None]] = []

    # Each primitive mutates in place and logs its inverse.

    def insert(self, tokens: list[str], value: Any) -> None:
        if not tokens:
            old = self.doc
            self.doc = value
            self.undo.append(lambda: setattr(self, "doc", old))
            return
        parent = _parent(self.doc, tokens)
        last = tokens[-1]
        if isinstance(parent, dict):
            previous = parent.get(last, _MISSING)
            parent[last] = value
            if previous is _MISSING:
                self.undo.append(lambda: parent.pop(last))
            else:
                self.undo.append(lambda: parent.__setitem__(last, previous))
        elif isinstance(parent, list):
            idx = _index(last, len(parent), allow_end=True)
            parent.insert(idx, value)
            self.undo.append(lambda: parent.pop(idx))
        else:
            raise PatchError(f"cannot add `{last}` to a {type(parent).__name__}")

    def delete(self, tokens: list[str]) -> Any:
        if not tokens:
            raise PatchError("cannot remove the document root")
        parent = _parent(self.doc, tokens)
        last = tokens[-1]
        if isinstance(parent, dict):
            if last not in parent:
                raise PatchError(f"`{last}` does not exist")
            value = parent.pop(last)
            self.undo.append(lambda: parent.__setitem__(last, value))
            return value
        if isinstance(parent, list):
            idx = _index(last, len(parent), allow_end=False)
            value = parent.pop(idx)
            self.undo.append(lambda: parent.insert(idx, value))
            return value
        raise PatchError(f"cannot remove `{last}` from a {type(parent).__name__}")

    def replace(self, tokens: list[str], value: Any) -> None:
        if not tokens:
            self.insert(tokens, value)
            return
        _get(self.doc, tokens)  # must exist
        parent = _parent(self.doc, tokens)
        last = tokens[-1]
        if isinstance(parent, dict):
            previous = parent[last]
            parent[last] = value
            self.undo.append(lambda: parent.__setitem__(last, previous))
        else:
            idx = _index(last, len(parent), allow_end=False)
            previous = parent[idx]
            parent[idx] = value
            self.undo.append(lambda: parent.__setitem__(idx, previous))

    def rollback(self) -> None:
        for step in reversed(self.undo):
            step()
        self.undo.clear()


def _value(op: dict[str, Any]) -> Any:
    if "value" not in op:
        raise PatchError(f"`{op.get('op')}` needs a `value`")
    return op["value"]


def apply_patch(doc: Any, patch: list[Any]) -> Any:
    """Apply `patch` to `doc` in place; return the (possibly new) root.

    On failure nothing is changed and `PatchError` names the failing operation.
    """
    applier = _Applier(doc)
    if not isinstance(patch, list):
        raise PatchError("a patch is an array of operations")
    for position, op in enumerate(patch):
        try:
            if not isinstance(op, dict):
                raise PatchError("an operation is an object")
            kind = op.get("op")
            path = op.get("path")
            tokens = _tokens(path)
            if kind == "add":
                applier.insert(tokens, _copy(_value(op)))
            elif kind == "remove":
                applier.delete(tokens)
            elif kind == "replace":
                applier.replace(tokens, _copy(_value(op)))
            elif kind == "move":
                source = _tokens(op.get("from"))
                if tokens[: len(source)] == source and len(tokens) > len(source):
                    raise PatchError("cannot move a value into one of its own children")
                if source != tokens:
                    applier.insert(tokens, applier.delete(source))
            elif kind == "copy":
                applier.insert(tokens, _copy(_get(applier.doc, _tokens(op.get("from")))))
            elif kind == "test":
                if not json_equal(_get(applier.doc, tokens), _value(op)):
                    raise PatchError(f"test failed: `{path}` differs", test_failed=True)
            else:
                raise PatchError(f"unknown operation {kind!r}")
        except PatchError as err:
            applier.rollback()
            err.op_index = position
            err.pointer = op.get("path", "") if isinstance(op, dict) else ""
            raise
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as err:
            applier.rollback()
            raise PatchError(f"{type(err).__name__}: {err}", position) from err
    return applier.doc
