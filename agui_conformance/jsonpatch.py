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

Bounded (`budget`, a `jsonsize.SizeBudget` the documents of a stream share):
the patch applies only if the documents stay within the budget's limit, and
a `copy` is measured (a walk that stops at the room left) before anything is
copied, so no patch ever builds more than the limit allows; past it,
`SizeExceeded` (a `PatchError`), the document unchanged. Sizes are
accounted per operation (`jsonsize.json_size` of what each adds or
detaches), never by re-measuring the document; values a patch detaches are
measured only once the patch has applied, so a patch that fails costs
nothing to account. What `copy` operations copy also counts against the
budget's copy allowance, rolled back or not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from agui_conformance.jsonsize import SizeBudget, json_size, member_overhead

__all__ = [
    "MISSING",
    "ORDER_LIMIT",
    "PatchError",
    "SizeExceeded",
    "UndoLog",
    "apply_patch",
    "array_index",
    "copy_value",
    "json_equal",
    "preview",
    "undo",
]

ORDER_LIMIT = 1024  # objects up to this size get their member order back on rollback
_WHOLE = 1 << 62  # a limit no value reaches
MISSING: Any = object()  # no such member (shared with `patch_fast`)
_MISSING = MISSING
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
        rejected: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.op_index = op_index
        self.pointer = pointer
        self.test_failed = test_failed
        self.rejected = rejected  # the result's type name, when `accept` refused it

    def __str__(self) -> str:
        where = f"operation {self.op_index}: " if self.op_index is not None else ""
        return f"{where}{self.reason}"


class SizeExceeded(PatchError):
    """Applying the patch would take the documents past the budget: their size
    (`size`, at least; `copied` False) or the bytes `copy` operations have
    copied in all (`copied` True). The document is unchanged."""

    def __init__(self, reason: str, op_index: int | None, *, size: int, copied: bool) -> None:
        super().__init__(reason, op_index)
        self.size = size
        self.copied = copied


class _TooLarge(Exception):
    """Internal: an operation would exceed the budget."""

    def __init__(self, size: int, copied: bool) -> None:
        super().__init__()
        self.size = size
        self.copied = copied


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


def array_index(token: str, size: int, *, end_ok: bool) -> int:
    """An RFC 6901 array index into an array of `size` items: ASCII digits, no leading
    zero, below `size` (or `size` itself, or `-`, where a value is added: `end_ok`).
    -1 when `token` is not an index, -2 when it is out of range (`patch_fast` then gives
    up, `apply_patch` explains)."""
    if token == "-" and end_ok:
        return size
    if not (token.isascii() and token.isdigit()) or (len(token) > 1 and token[0] == "0"):
        return -1
    index = int(token)
    return index if index < size or (end_ok and index == size) else -2


def _array_index(token: str, size: int, *, end_ok: bool) -> int:
    """`array_index`, or `_Fail` saying why the token is none."""
    index = array_index(token, size, end_ok=end_ok)
    if index == -1:
        raise _Fail(f"`{token}` is not an array index")
    if index == -2:
        raise _Fail(
            f"array index {int(token)} is out of range (the array has {size} items)", absent=True
        )
    return index


# ---------------------------------------------------------------- the undo log
#
# Every mutation appends (action, container, key, previous): what puts the container
# back. `undo` replays the log newest first. `patch_fast` logs the same way.

SET = 0  # dict: restore `previous` under key (or delete key when previous is MISSING)
UNINSERT = 1  # list: delete the item inserted at index
RESET = 2  # list: put `previous` back at index
REINSERT = 3  # list: insert `previous` back at index
REORDER = 4  # dict: put member `key` back as `previous[0]` and the member order `previous[1]`
ROOT = 5  # applier: put `previous` back as its document

UndoLog = list[tuple[int, Any, Any, Any]]


def undo(log: UndoLog) -> None:
    """Replay the log backwards, newest first, emptying it."""
    while log:
        action, node, key, previous = log.pop()
        if action == SET:
            if previous is MISSING:
                del node[key]
            else:
                node[key] = previous
        elif action == UNINSERT:
            del node[key]
        elif action == RESET:
            node[key] = previous
        elif action == REINSERT:
            node.insert(key, previous)
        elif action == REORDER:
            _restore_member(node, key, *previous)
        else:
            node.doc = previous


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
    """Mutates in place; every primitive logs its inverse in `undo`. With a budget it
    also accounts the size: what it adds is measured as it goes (`grown`, the net
    growth so far), what it detaches is kept in `detached` and measured only when
    the patch applies (`settle`)."""

    __slots__ = ("added", "budget", "copied", "detached", "doc", "grown", "undo")

    def __init__(self, doc: Any, budget: SizeBudget | None = None) -> None:
        self.doc = doc
        self.undo: UndoLog = []
        self.budget = budget
        self.grown = 0
        self.detached: list[tuple[Any, int]] = []  # (value, what its slot took besides it)
        self.added = 0  # all that was added, detached since or not
        self.copied = 0

    # ------------------------------------------------------------ accounting

    def _added(self, value: Any, overhead: int, size: int | None) -> None:
        if self.budget is not None:
            # measured whole: a value from the patch (a copy of it) costs what reading it did
            grown = overhead + (json_size(value, _WHOLE) if size is None else size)
            self.grown += grown
            self.added += grown

    def _detach(self, value: Any, overhead: int) -> None:
        if self.budget is not None:
            self.detached.append((value, overhead))

    def settle(self) -> None:
        """Measure what the patch detached so far (their sizes leave the account)."""
        budget = self.budget
        if budget is None:
            return
        most = budget.used + self.added  # no detached value is larger: the walks are exact
        for value, overhead in self.detached:
            self.grown -= overhead + json_size(value, most)
        self.detached.clear()

    def measure_copy(self, value: Any) -> int | None:
        """The size of a value about to be copied, if the budget has room for it and
        for the copying; else `_TooLarge`. The walk stops at the room left."""
        budget = self.budget
        if budget is None:
            return None
        room = min(budget.room - self.grown, budget.copy_room - self.copied)
        size = json_size(value, max(room, 0))
        if size > room and self.detached:
            self.settle()  # what this patch removed may make the room
            room = min(budget.room - self.grown, budget.copy_room - self.copied)
            if size <= room:
                size = json_size(value, room)
        if size > room:
            copying = size > budget.copy_room - self.copied
            total = self.copied + budget.copied if copying else budget.used + self.grown
            raise _TooLarge(total + size, copying)
        self.copied += size
        return size

    def commit(self) -> None:
        """The patch applied: settle the account, or `_TooLarge` past the limit."""
        budget = self.budget
        if budget is None:
            return
        self.settle()
        if budget.used + self.grown > budget.limit:
            raise _TooLarge(budget.used + self.grown, False)
        budget.used += self.grown
        budget.copied += self.copied

    # ------------------------------------------------------------ primitives

    def set_root(self, value: Any, size: int | None = None) -> None:
        old = self.doc
        self.doc = value
        self._detach(old, 0)
        self._added(value, 0, size)
        self.undo.append((ROOT, self, None, old))

    def add(self, tokens: list[str], value: Any, size: int | None = None) -> None:
        """`size`: the value's size when known (0 for a value the document already
        counts: the target of a move)."""
        if not tokens:
            self.set_root(value, size)
            return
        parent = _container(self.doc, tokens)
        last = tokens[-1]
        if isinstance(parent, dict):
            previous = parent.get(last, MISSING)
            parent[last] = value
            self.undo.append((SET, parent, last, previous))
            if previous is MISSING:
                self._added(value, member_overhead(last), size)
            else:
                self._detach(previous, 0)
                self._added(value, 0, size)
        elif isinstance(parent, list):
            index = _array_index(last, len(parent), end_ok=True)
            parent.insert(index, value)
            self.undo.append((UNINSERT, parent, index, None))
            self._added(value, 1, size)
        else:
            raise _Fail(
                f"`{_join(tokens[:-1])}` is a {_kind(parent)}, not a container", absent=True
            )

    def remove(self, tokens: list[str], *, moving: bool = False) -> Any:
        """`moving`: the value stays in the document (a move), so only its slot leaves
        the account."""
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
            if len(parent) <= ORDER_LIMIT and next(reversed(parent)) != last:
                # re-adding would move the member to the end
                self.undo.append((REORDER, parent, last, (value, list(parent))))
            else:
                self.undo.append((SET, parent, last, value))
            del parent[last]
            overhead = member_overhead(last)
        elif isinstance(parent, list):
            index = _array_index(last, len(parent), end_ok=False)
            value = parent.pop(index)
            self.undo.append((REINSERT, parent, index, value))
            overhead = 1
        else:
            raise _Fail(
                f"`{_join(tokens[:-1])}` is a {_kind(parent)}, not a container", absent=True
            )
        if moving:
            self.grown -= overhead
        else:
            self._detach(value, overhead)
        return value

    def replace(self, tokens: list[str], value: Any) -> None:
        if not tokens:
            self.set_root(value)
            return
        parent = _container(self.doc, tokens)
        last = tokens[-1]
        if isinstance(parent, dict):
            previous = parent.get(last, MISSING)
            if previous is MISSING:
                raise _Fail(f"`{_join(tokens)}` does not exist", absent=True)
            parent[last] = value
            self.undo.append((SET, parent, last, previous))
        elif isinstance(parent, list):
            index = _array_index(last, len(parent), end_ok=False)
            previous = parent[index]
            parent[index] = value
            self.undo.append((RESET, parent, index, previous))
        else:
            raise _Fail(
                f"`{_join(tokens[:-1])}` is a {_kind(parent)}, not a container", absent=True
            )
        self._detach(previous, 0)
        self._added(value, 0, None)

    def rollback(self) -> None:
        undo(self.undo)
        if self.budget is not None:
            self.budget.copied += self.copied  # the copying was done all the same
            self.copied = 0


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
            value = applier.remove(source, moving=True)
        except _Fail as err:
            err.pointer = op["from"]
            raise
        applier.add(tokens, value, 0)
    elif kind == "copy":
        source = _from(op)
        try:
            value = _get(applier.doc, source)
        except _Fail as err:
            err.pointer = op["from"]
            raise
        size = applier.measure_copy(value)
        applier.add(tokens, copy_value(value), size)
    elif kind == "test":
        expected = _value(op)
        try:
            actual = _get(applier.doc, tokens)
        except _Fail as err:
            err.test_failed = err.absent  # a guard on a missing location fails; bad syntax is bad
            raise
        if not json_equal(actual, expected):
            raise _Fail(
                f"test failed: `{op['path']}` is {preview(actual)}, not {preview(expected)}",
                test_failed=True,
            )
    else:
        raise _Fail(f"unknown operation {kind!r}")


def preview(value: Any, limit: int = 60) -> str:
    """A JSON value as at most `limit` characters of text, whatever its size: a
    large container is described ("an array of 3,000 items"), never serialised."""
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]
    elif isinstance(value, dict) and json_size(value, 4 * limit) > 4 * limit:
        return f"an object of {len(value):,} members"
    elif isinstance(value, list) and json_size(value, 4 * limit) > 4 * limit:
        return f"an array of {len(value):,} items"
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(value)[: 4 * limit]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def apply_patch(
    doc: Any,
    patch: list[dict[str, Any]],
    *,
    budget: SizeBudget | None = None,
    accept: Callable[[Any], bool] | None = None,
) -> Any:
    """Apply `patch` to `doc` in place and return the (possibly new) root.

    Atomic: if an operation fails, the operations already applied are undone
    (the document is as before) and `PatchError` names the failing operation.
    `budget`: the account the document's size is part of (see the module
    docstring); past it, `SizeExceeded`. `accept`: a test of the result (e.g. it
    must be an object); a result it refuses is undone and raises `PatchError`
    with `rejected` naming the result's type.
    """
    if not isinstance(patch, list):
        raise PatchError("a patch is an array of operations")
    applier = _Applier(doc, budget)
    position: int | None = None
    try:
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
            except (
                TypeError,
                ValueError,
                KeyError,
                IndexError,
                AttributeError,
                RecursionError,
            ) as err:
                applier.rollback()  # e.g. an unhashable key or a pathologically deep value
                raise PatchError(f"{type(err).__name__}: {err}", position) from err
        if accept is not None and not accept(applier.doc):
            kind = type(applier.doc).__name__
            applier.rollback()
            raise PatchError(f"the result is a {kind}", None, rejected=kind)
        position = None  # past the operations: the whole patch is too much
        applier.commit()
    except _TooLarge as err:
        applier.rollback()
        what = "`copy` operations would have copied" if err.copied else "the result would be"
        reason = f"{what} at least {err.size:,} bytes of JSON"
        raise SizeExceeded(reason, position, size=err.size, copied=err.copied) from None
    return applier.doc
