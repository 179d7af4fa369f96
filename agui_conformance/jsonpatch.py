"""RFC 6902 JSON Patch, applied in place and atomically, in time linear in the
patch (never in the document).

Owns one job: apply a list of operations to a JSON document the caller owns.
Operations mutate the document in place (so 10,000 deltas on a growing state
cost 10,000 small steps, not 10,000 copies of the state); every mutation is
recorded in an undo log, and if any operation fails the log is replayed
backwards, so the document is as before (equal, and with the same key order
in objects of up to `ORDER_LIMIT` members), then `PatchError` says which
operation failed and why.

Semantics (RFC 6902, pointers per RFC 6901):
- Operations are open objects: members RFC 6902 does not define are ignored
  (a `remove` with a leftover `value` applies).
- Array indexes are ASCII digits without leading zeros; `-` (the end) is
  accepted only where a value is added (`add`, and the `path` of `move` and
  `copy`). `~` must be followed by `0` or `1`.
- `add`/`replace`/`copy` insert copies: the document never aliases the patch.
  `move` moves the value itself (no copy).
- `test` compares as JSON: numbers by value (1 == 1.0), booleans are not
  numbers, object member order is irrelevant. A failing `test`, including a
  test of a location that does not exist, raises with `test_failed=True`;
  a malformed `test` (no `value`, a bad pointer such as `/01` or `/~2`) does not.
- Root operations (`path: ""`) replace the whole document; `apply_patch`
  returns the new root. `remove` of the root yields `None` (JSON null), as
  fast-json-patch (the TypeScript client's library) does; RFC 6902 leaves it
  open.
- An unknown `op`, a missing `value`/`from`, or a non-string pointer fails
  the patch like any other error (the validator's schema reports those
  first; the machine drops unknown ops before calling here).
Never raises anything but `PatchError`, whatever the patch holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["ORDER_LIMIT", "PatchError", "apply_patch", "copy_value", "json_equal"]

ORDER_LIMIT = 1024  # objects up to this size get their member order back on rollback
_MISSING: Any = object()
_BAD_ESCAPE = re.compile("~(?![01])")


class PatchError(Exception):
    """A patch that does not apply. The document is unchanged.

    op_index: the position of the failing operation in the patch (None: the
        patch itself is not a list).
    pointer: the failing operation's pointer (`path`, or `from` when that is
        what failed); "" when unknown.
    reason: one sentence.
    test_failed: the failure is a `test` operation whose comparison did not hold.
    """

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

    def __str__(self) -> str:
        where = f"operation {self.op_index}: " if self.op_index is not None else ""
        return f"{where}{self.reason}"


class _Fail(Exception):
    """Internal: one operation failed (carries which pointer and whether a test)."""

    def __init__(
        self,
        reason: str,
        pointer: str | None = None,
        test_failed: bool = False,
        *,
        absent: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pointer = pointer
        self.test_failed = test_failed
        self.absent = absent  # the location does not exist (as opposed to a malformed pointer)


# ---------------------------------------------------------------- values


def _clone_py(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _clone_py(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clone_py(item) for item in value]
    return value


def copy_value(value: Any) -> Any:
    """A deep copy of a JSON value: orjson round trip (fastest for containers,
    measured 3x a Python walk and 10x deepcopy), a Python walk when orjson cannot
    (integers beyond 64 bits, nesting beyond its limit)."""
    if not isinstance(value, (dict, list)):
        return value
    try:
        return orjson.loads(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError, orjson.JSONDecodeError):
        return _clone_py(value)


def json_equal(a: Any, b: Any) -> bool:
    """RFC 6902 `test` equality: numbers by value, booleans are not numbers,
    objects equal regardless of member order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return len(a) == len(b) and all(k in b and json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------- pointers


def _tokens(pointer: Any) -> list[str]:
    if not isinstance(pointer, str):
        raise _Fail(f"the pointer {pointer!r} is not a string")
    if pointer == "":
        return []
    if pointer[0] != "/":
        raise _Fail(f"`{pointer}` is not a JSON pointer (it must start with `/`)")
    tokens = pointer[1:].split("/")
    if "~" in pointer:
        for position, token in enumerate(tokens):
            if "~" in token:
                if _BAD_ESCAPE.search(token):
                    raise _Fail(f"`{pointer}` has a `~` not followed by `0` or `1`")
                tokens[position] = token.replace("~1", "/").replace("~0", "~")
    return tokens


def _array_index(token: str, size: int, *, end_ok: bool) -> int:
    """An RFC 6901 array index: ASCII digits, no leading zero; `-` when adding."""
    if token == "-" and end_ok:
        return size
    if not (token.isascii() and token.isdigit()) or (len(token) > 1 and token[0] == "0"):
        raise _Fail(f"`{token}` is not an array index")
    index = int(token)
    if index > size or (index == size and not end_ok):
        raise _Fail(
            f"array index {index} is out of range (the array has {size} items)", absent=True
        )
    return index


def _container(doc: Any, tokens: list[str]) -> Any:
    """The value holding the pointer's last token (the pointer is not the root)."""
    node = doc
    for depth in range(len(tokens) - 1):
        token = tokens[depth]
        if isinstance(node, dict):
            node = node.get(token, _MISSING)
            if node is _MISSING:
                raise _Fail(f"`{_join(tokens[: depth + 1])}` does not exist", absent=True)
        elif isinstance(node, list):
            node = node[_array_index(token, len(node), end_ok=False)]
        else:
            raise _Fail(
                f"`{_join(tokens[:depth])}` is a {_kind(node)}, not a container", absent=True
            )
    return node


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent = _container(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        value = parent.get(last, _MISSING)
        if value is _MISSING:
            raise _Fail(f"`{_join(tokens)}` does not exist", absent=True)
        return value
    if isinstance(parent, list):
        return parent[_array_index(last, len(parent), end_ok=False)]
    raise _Fail(f"`{_join(tokens[:-1])}` is a {_kind(parent)}, not a container", absent=True)


def _join(tokens: list[str]) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


# ---------------------------------------------------------------- applying


class _Applier:
    """Mutates in place; every primitive logs its inverse in `undo`."""

    __slots__ = ("doc", "undo")

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.undo: list[Callable[[], None]] = []

    def set_root(self, value: Any) -> None:
        old = self.doc
        self.doc = value

        def undo() -> None:
            self.doc = old

        self.undo.append(undo)

    def add(self, tokens: list[str], value: Any) -> None:
        if not tokens:
            self.set_root(value)
            return
        parent = _container(self.doc, tokens)
        last = tokens[-1]
        if isinstance(parent, dict):
            previous = parent.get(last, _MISSING)
            parent[last] = value
            if previous is _MISSING:
                self.undo.append(lambda: parent.pop(last))
            else:
                self.undo.append(lambda: parent.__setitem__(last, previous))
        elif isinstance(parent, list):
            index = _array_index(last, len(parent), end_ok=True)
            if index == len(parent):
                parent.append(value)
                self.undo.append(parent.pop)
            else:
                parent.insert(index, value)
                self.undo.append(lambda: parent.pop(index))
        else:
            raise _Fail(
                f"`{_join(tokens[:-1])}` is a {_kind(parent)}, not a container", absent=True
            )

    def remove(self, tokens: list[str]) -> Any:
        if not tokens:
            value = self.doc
            self.set_root(None)
            return value
        parent = _container(self.doc, tokens)
        last = tokens[-1]
        if isinstance(parent, dict):
            value = parent.get(last, _MISSING)
            if value is _MISSING:
                raise _Fail(f"`{_join(tokens)}` does not exist", absent=True)
            order = None
            if len(parent) <= ORDER_LIMIT and next(reversed(parent)) != last:
                order = list(parent)  # re-adding would move the member to the end
            del parent[last]
            self.undo.append(lambda: _restore_member(parent, last, value, order))
            return value
        if isinstance(parent, list):
            index = _array_index(last, len(parent), end_ok=False)
            value = parent.pop(index)
            self.undo.append(lambda: parent.insert(index, value))
            return value
        raise _Fail(f"`{_join(tokens[:-1])}` is a {_kind(parent)}, not a container", absent=True)

    def replace(self, tokens: list[str], value: Any) -> None:
        if not tokens:
            self.set_root(value)
            return
        parent = _container(self.doc, tokens)
        last = tokens[-1]
        if isinstance(parent, dict):
            previous = parent.get(last, _MISSING)
            if previous is _MISSING:
                raise _Fail(f"`{_join(tokens)}` does not exist", absent=True)
            parent[last] = value
            self.undo.append(lambda: parent.__setitem__(last, previous))
        elif isinstance(parent, list):
            index = _array_index(last, len(parent), end_ok=False)
            previous = parent[index]
            parent[index] = value
            self.undo.append(lambda: parent.__setitem__(index, previous))
        else:
            raise _Fail(
                f"`{_join(tokens[:-1])}` is a {_kind(parent)}, not a container", absent=True
            )

    def rollback(self) -> None:
        undo = self.undo
        while undo:
            undo.pop()()


def _restore_member(parent: dict[str, Any], key: str, value: Any, order: list[str] | None) -> None:
    parent[key] = value
    if order is not None:
        members = {name: parent[name] for name in order}
        parent.clear()
        parent.update(members)


def _value(op: dict[str, Any]) -> Any:
    if "value" not in op:
        raise _Fail(f"a `{op['op']}` operation needs a `value`")
    return op["value"]


def _from(op: dict[str, Any]) -> list[str]:
    if "from" not in op:
        raise _Fail(f"a `{op['op']}` operation needs a `from`")
    try:
        return _tokens(op["from"])
    except _Fail as err:
        err.pointer = op["from"] if isinstance(op["from"], str) else ""
        raise


def _apply_one(applier: _Applier, op: dict[str, Any]) -> None:
    kind = op.get("op")
    tokens = _tokens(op.get("path"))
    if kind == "add":
        applier.add(tokens, copy_value(_value(op)))
    elif kind == "remove":
        applier.remove(tokens)
    elif kind == "replace":
        applier.replace(tokens, copy_value(_value(op)))
    elif kind == "move":
        source = _from(op)
        if len(tokens) > len(source) and tokens[: len(source)] == source:
            raise _Fail(f"cannot move `{op['from']}` into its own child `{op['path']}`")
        try:
            if source == tokens:  # a no-op, once the value is known to exist
                _get(applier.doc, source)
                return
            value = applier.remove(source)
        except _Fail as err:
            err.pointer = op["from"]
            raise
        applier.add(tokens, value)
    elif kind == "copy":
        source = _from(op)
        try:
            value = _get(applier.doc, source)
        except _Fail as err:
            err.pointer = op["from"]
            raise
        applier.add(tokens, copy_value(value))
    elif kind == "test":
        expected = _value(op)
        try:
            actual = _get(applier.doc, tokens)
        except _Fail as err:
            err.test_failed = err.absent  # a guard on a missing location fails; bad syntax is bad
            raise
        if not json_equal(actual, expected):
            raise _Fail(
                f"test failed: `{op['path']}` is {_preview(actual)}, not {_preview(expected)}",
                test_failed=True,
            )
    else:
        raise _Fail(f"unknown operation {kind!r}")


def _preview(value: Any) -> str:
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def apply_patch(doc: Any, patch: list[dict[str, Any]]) -> Any:
    """Apply `patch` to `doc` in place and return the (possibly new) root.

    Atomic: if an operation fails, the operations already applied are undone
    (the document is as before) and `PatchError` names the failing operation.
    """
    if not isinstance(patch, list):
        raise PatchError("a patch is an array of operations")
    applier = _Applier(doc)
    for position, op in enumerate(patch):
        try:
            if not isinstance(op, dict):
                raise _Fail(f"an operation is an object, not {_kind(op)}")
            _apply_one(applier, op)
        except _Fail as err:
            applier.rollback()
            pointer = err.pointer
            if pointer is None:
                path = op.get("path") if isinstance(op, dict) else None
                pointer = path if isinstance(path, str) else ""
            raise PatchError(
                err.reason, position, pointer=pointer, test_failed=err.test_failed
            ) from None
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as err:
            applier.rollback()  # e.g. an unhashable key or a pathologically deep value
            raise PatchError(f"{type(err).__name__}: {err}", position) from err
    return applier.doc
