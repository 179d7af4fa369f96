"""Why an input the spec says to tolerate was refused, in words a user can act on.

Owns the message of a refusal rule (a 4xx, or RUN_ERROR, to an input the agent must serve):
what the input carried that the agent may not know (its unrecognised members, by path), and
whether the error body shows the refusal comes from an SDK's closed input model (pydantic's
`union_tag_invalid`, zod's "No matching discriminator"), so users know where to report it.
"""

from __future__ import annotations

import re
from typing import Any

_UNRECOGNISED = frozenset({"schema-unknown-member", "schema-unknown-property"})
MAX_PATHS = 6
# error-body markers of a closed (discriminated) union in an SDK's input model
_CLOSED_UNION = (
    (re.compile(rb"union_tag_invalid"), "pydantic's closed union (`union_tag_invalid`)"),
    (
        re.compile(rb"No matching discriminator|Invalid discriminator value"),
        "zod's closed discriminated union",
    ),
)


def unrecognised(request: Any) -> list[str]:
    """The input's members the 1.1 schema does not describe, as `pointer (what)` lines."""
    if not isinstance(request, dict):
        return []
    from agui_conformance.schema import get_checker

    out = []
    for hit in get_checker().check_input(request):
        if hit.rule not in _UNRECOGNISED or hit.pointer is None:
            continue
        kind = _kind_at(request, hit.pointer)
        out.append(f"{hit.pointer}" + (f" (type {kind!r})" if kind else ""))
    return out


def _kind_at(request: dict[str, Any], pointer: str) -> str | None:
    node: Any = request
    for part in pointer.strip("/").split("/"):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    kind = node.get("type") if isinstance(node, dict) else None
    return kind if isinstance(kind, str) else None


def closed_union(body: bytes) -> str | None:
    """Which SDK's closed input model the error body shows, if any."""
    for pattern, name in _CLOSED_UNION:
        if pattern.search(body[:4096]):
            return name
    return None


def describe(answer: str, request: Any, body: bytes) -> str:
    """`answer`: what the agent did ("answered 422: '...'", "ended the run in RUN_ERROR:
    '...'")."""
    text = f"An input the spec says to serve was refused: the agent {answer}."
    paths = unrecognised(request)
    if paths:
        shown = ", ".join(paths[:MAX_PATHS])
        more = f" and {len(paths) - MAX_PATHS} more" if len(paths) > MAX_PATHS else ""
        text += (
            f" It carried material the 1.1 schema does not describe: {shown}{more}; "
            "unrecognised input material is stripped, never refused."
        )
    sdk = closed_union(body)
    if sdk is not None:
        text += (
            f" The error body shows {sdk}: the refusal comes from the SDK's input model, "
            "not your code; report it to the SDK (or strip unknown kinds before validating)."
        )
    return text
