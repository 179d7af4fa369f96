"""What the reference agent keeps of a RunAgentInput: unrecognised material stripped.

A producer receiving a run input "strips it with a warning and runs" when it
meets material it does not recognise (PROC-002, INPUT-014;
https://docs.ag-ui.com/spec/1.1/basic/run-input#error-handling), and what goes
is what a consumer would strip
(https://docs.ag-ui.com/spec/1.1/basic/processing#what-a-consumer-does-with-unrecognised-material):
an undescribed property goes; a union member of an unknown kind (a message
role, a content part or source type) goes from an optional position, takes
its containing value with it from a required one, and is dropped from a list.

Stripping is also what keeps the agent a strict writer: whatever it restates
from the input (the history in MESSAGES_SNAPSHOT) is then schema-valid. The
schema checker finds the material; this module only removes it. A malformed
known value is not unrecognised material: the app refuses such input before
it gets here, and anything but unrecognised material stops the stripping.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from agui_conformance.hits import Hit
from agui_conformance.schema import MAX_HITS_PER_EVENT, get_checker

# The checker's rules for material a reader strips: an undescribed property, and
# a union member of an unknown kind (the retired `binary` part is one in 1.1).
UNRECOGNISED = frozenset(
    {"schema-unknown-property", "schema-unknown-member", "retired-content-part"}
)
_UNION_MEMBER = UNRECOGNISED - {"schema-unknown-property"}
# The top-level lists: each element is stripped on its own.
_LISTS = ("messages", "tools", "context", "resume")
# The checker reports a bounded number of hits per check; each pass strips those,
# and the passes are bounded too: beyond STRIP_LIMIT items in one element of a
# top-level list (or among the top-level members), the input is refused instead.
MAX_PASSES = 8
STRIP_LIMIT = MAX_PASSES * MAX_HITS_PER_EVENT

Token = str | int


@dataclass
class Stripped:
    """The input as the agent keeps it, what was removed, and what could not be."""

    run_input: dict[str, Any]
    removed: list[str] = field(default_factory=list)  # JSON Pointers, in removal order
    leftover: list[Hit] = field(default_factory=list)  # empty unless stripping failed


class Unstrippable(ValueError):
    """The input still fails its schema after stripping (refuse it before any stream)."""

    def __init__(self, hits: Sequence[Hit]) -> None:
        super().__init__(f"{len(hits)} problem(s) left after stripping")
        self.hits = list(hits)


def strip_unrecognised(run_input: dict[str, Any], hits: Sequence[Hit] | None = None) -> Stripped:
    """`run_input` without its unrecognised material (a copy when anything goes).

    `hits` are the checker's hits for `run_input` when the caller has them.
    What is not unrecognised material is left in place and reported (`leftover`).
    """
    checker = get_checker()
    if not (list(hits) if hits is not None else checker.check_input(run_input)):
        return Stripped(run_input)
    # The top-level members, then each element of the top-level lists, each checked
    # on its own in a minimal input: every check then costs what that piece carries,
    # not what the whole input does (the checker reports a bounded number of hits
    # per check, and each check walks everything it is given).
    shell = {k: [] if k in _LISTS and isinstance(v, list) else v for k, v in run_input.items()}
    out, removed, leftover = _strip(copy.deepcopy(shell))
    for name in _LISTS:
        items = run_input.get(name)
        if not isinstance(items, list):
            continue
        kept: list[Any] = []
        for position, item in enumerate(items):
            unit = {"threadId": "t", "runId": "r", "messages": [], name: [item]}
            if checker.check_input(unit):
                unit, gone, left = _strip(copy.deepcopy(unit))
                prefix, actual = f"/{name}/0", f"/{name}/{position}"
                removed += [actual + p[len(prefix) :] for p in gone]
                leftover += [
                    replace(h, pointer=actual + (h.pointer or "")[len(prefix) :]) for h in left
                ]
            kept.extend(unit[name])
        out[name] = kept
    return Stripped(out, removed, leftover)


def _strip(root: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[Hit]]:
    """Strip `root` in place, pass by pass: what went, and what is left that cannot."""
    checker = get_checker()
    removed: list[str] = []
    current = checker.check_input(root)
    for _ in range(MAX_PASSES):
        if not current:
            break
        if any(h.rule not in UNRECOGNISED for h in current):
            return root, removed, current
        targets = {_target(root, h) for h in current}
        if () in targets:  # nothing contains the root: cannot strip it
            return root, removed, current
        # Deepest and last first, so a removal never shifts a pointer still to use.
        for tokens in sorted(targets, reverse=True):
            _remove(root, tokens)
            removed.append(_pointer(tokens))
        current = checker.check_input(root)
    return root, removed, current


def _target(root: dict[str, Any], hit: Hit) -> tuple[Token, ...]:
    """What goes for `hit`: the member itself, or the value containing it."""
    tokens = _tokens(root, hit.pointer or "")
    if hit.rule in _UNION_MEMBER:
        # An unknown kind in a required position takes its containing value with it.
        while tokens and isinstance(tokens[-1], str) and _required(root, tokens):
            tokens = tokens[:-1]
    return tokens


def _required(root: dict[str, Any], tokens: tuple[Token, ...]) -> bool:
    """Would removing the member at `tokens` leave its object missing a required field?

    Tried on a copy of the path down to that object only (a list keeps just the
    element on the path), so the trial costs little whatever else the input holds.
    """
    trial, path = _path_only(root, tokens)
    parent = _get(trial, path[:-1])
    if not isinstance(parent, dict) or path[-1] not in parent:
        return False
    del parent[path[-1]]
    pointer = _pointer(path)
    return any(
        h.rule == "schema-missing-field" and h.pointer == pointer
        for h in get_checker().check_input(trial)
    )


def _path_only(root: Any, tokens: tuple[Token, ...]) -> tuple[Any, tuple[Token, ...]]:
    """A copy of `root` whose lists along `tokens` hold only the element on it."""
    if not tokens:
        return copy.deepcopy(root), ()
    head, rest = tokens[0], tokens[1:]
    if isinstance(root, list) and isinstance(head, int):
        inner, path = _path_only(root[head], rest)
        return [inner], (0, *path)
    if isinstance(root, dict) and isinstance(head, str):
        inner, path = _path_only(root[head], rest)
        return {**root, head: inner}, (head, *path)
    return copy.deepcopy(root), tokens


def _tokens(root: Any, pointer: str) -> tuple[Token, ...]:
    """A JSON Pointer as keys and list indices (resolved against `root`)."""
    if not pointer:
        return ()
    out: list[Token] = []
    node = root
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            out.append(int(token))
            node = node[int(token)]
        else:
            out.append(token)
            node = node[token] if isinstance(node, dict) else None
    return tuple(out)


def _get(root: Any, tokens: tuple[Token, ...]) -> Any:
    node = root
    for token in tokens:
        node = node[token]
    return node


def _remove(root: Any, tokens: tuple[Token, ...]) -> None:
    parent = _get(root, tokens[:-1])
    del parent[tokens[-1]]


def _pointer(tokens: tuple[Token, ...]) -> str:
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)
