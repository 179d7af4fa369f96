"""Which rules an exchange exercised: the difference between "passed" and "not exercised".

Owns the trigger tokens of one exchange (what happened on the wire) and the
mapping from tokens to rules (`rules/triggers.yaml`). A rule counts as
exercised by a run when one of its triggers holds there. Reads parsed events
only; never raises on hostile input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from agui_conformance.rules import switched_off

# The requests' members that open request-aware checks, as `request:KEY` tokens.
REQUEST_KEYS = ("tools", "state", "forwardedProps", "protocolVersion", "resume")
# Where nested members (`key:NAME`) are looked for: bodies that carry messages or parts.
NESTED = frozenset(
    {"MESSAGES_SNAPSHOT", "TOOL_CALL_RESULT", "ACTIVITY_SNAPSHOT", "RUN_FINISHED", "RUN_STARTED"}
)
# Events whose only tokens are their type and fields (the high-volume deltas).
_PLAIN = frozenset(
    {"TEXT_MESSAGE_CONTENT", "TOOL_CALL_ARGS", "REASONING_MESSAGE_CONTENT", "STATE_DELTA"}
)
MAX_DEPTH = 8
MAX_NODES = 5_000


@lru_cache(maxsize=1)
def triggers() -> Mapping[str, tuple[frozenset[str], ...]]:
    """rule id -> its triggers, each a set of tokens that must all hold."""
    text = resources.files("agui_conformance.rules").joinpath("triggers.yaml").read_text("utf-8")
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(raw, dict):
        raise ValueError("triggers.yaml must map rule ids to lists of triggers")
    return {
        str(rule): tuple(frozenset(str(t).split("+")) for t in alternatives)
        for rule, alternatives in raw.items()
    }


def _nested_keys(value: Any, out: set[str]) -> None:
    """Every member name at any depth (bounded), as `key:NAME` tokens."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while stack and seen < MAX_NODES:
        node, depth = stack.pop()
        seen += 1
        if depth > MAX_DEPTH:
            continue
        if isinstance(node, dict):
            for key, child in node.items():
                out.add(f"key:{key}")
                if key == "content" and isinstance(child, list):
                    out.add("parts")
                stack.append((child, depth + 1))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)


def request_tokens(request: Any) -> set[str]:
    if not isinstance(request, dict):
        return set()
    out = {"request"}
    for key in REQUEST_KEYS:
        if request.get(key) not in (None, [], {}, ""):
            out.add(f"request:{key}")
    if request.get("messages"):
        out.add("request:history")
    return out


def stream_tokens(events: Iterable[Any]) -> set[str]:
    """Tokens for the events of one validated stream: every type and member name seen, plus
    what only the notable (not high-volume) events can show. Whole-stream passes in C
    (comprehensions, one set union) keep the cost per delta low."""
    objects = [e for e in events if isinstance(e, dict) and isinstance(e.get("type"), str)]
    out = {"stream"}
    out.update({e["type"] for e in objects})
    out.update(f"field:{key}" for key in set().union(*objects) if isinstance(key, str))
    opened: dict[str, set[str]] = {"text": set(), "tool": set()}
    runs = 0
    for event in [e for e in objects if e["type"] not in _PLAIN]:
        kind = event["type"]
        if kind == "RUN_STARTED":
            runs += 1
        elif kind == "RUN_FINISHED":
            outcome = event.get("outcome")
            if isinstance(outcome, dict) and isinstance(outcome.get("type"), str):
                out.add(f"outcome:{outcome['type']}")
        elif kind in ("TEXT_MESSAGE_START", "TOOL_CALL_START"):
            family = "text" if kind == "TEXT_MESSAGE_START" else "tool"
            item = event.get("messageId" if family == "text" else "toolCallId")
            if isinstance(item, str):
                if item in opened[family]:
                    out.add(f"reopen:{family}")
                opened[family].add(item)
        if kind in NESTED:
            _nested_keys(event, out)
    if runs > 1:
        out.add("multi-run")
    return out


_STARTS = {"TEXT_MESSAGE_START": ("text", "messageId"), "TOOL_CALL_START": ("tool", "toolCallId")}


class StreamTokens:
    """`stream_tokens` over a stream read in batches (a recording): each batch's tokens,
    plus what only the whole stream shows (a second run, an item opened again in a later
    batch). Holds the ids of opened items, never the events."""

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self._runs = 0
        self._opened: dict[str, set[str]] = {"text": set(), "tool": set()}

    def add(self, batch: list[Any]) -> None:
        """The next consecutive events (parsed; anything that is not an event is skipped)."""
        self.tokens |= stream_tokens(batch) - {"multi-run"}
        for event in batch:
            if type(event) is not dict:
                continue
            kind = event.get("type")
            if kind == "RUN_STARTED":
                self._runs += 1
            elif kind in _STARTS:
                family, key = _STARTS[kind]
                item = event.get(key)
                if isinstance(item, str):
                    if item in self._opened[family]:
                        self.tokens.add(f"reopen:{family}")
                    self._opened[family].add(item)
        if self._runs > 1:
            self.tokens.add("multi-run")


def recording_exercised(tokens: set[str], request: Any, framing: str) -> list[str]:
    """The rules a recorded stream exercised: its tokens, the request's, and `sse` for an
    SSE capture or `proto` for a protobuf body (what a live exchange adds for its answer's
    framing)."""
    tokens = tokens | request_tokens(request)
    if framing in ("sse", "proto"):
        tokens.add(framing)
    return exercised(tokens)


def exchange_tokens(
    mode: str,
    status: int | None,
    events: Iterable[Any] = (),
    request: Any = None,
    stream: set[str] | None = None,
    served: str | None = "sse",
    admitted: bool = False,
) -> set[str]:
    """Tokens for one exchange judged in `mode` (run, reject, unauthorized, survival);
    `stream`: the stream's tokens when already computed over all its events (`events`
    may then be a kept prefix); `served`: the binding the answer came in (sse, protobuf,
    None: neither); `admitted`: whether the request's Accept admitted protobuf."""
    out: set[str] = set()
    if status is not None:
        out.add("http")
    if mode == "reject":
        out.add("probe")
    elif mode == "unauthorized":
        out.add("auth-probe")
    elif mode == "survival":
        out.update(("survival", "valid-input"))
    elif mode == "run":
        out.add("valid-input")
        events = events if isinstance(events, list) else list(events)
        if status == 200 and served is not None:
            out.add("accept:protobuf" if admitted else "accept:sse-only")
        if status == 200 and events:  # an answer with no event shows nothing of a stream
            out.add("proto" if served == "protobuf" else "sse")
            out.update(stream if stream is not None else stream_tokens(events))
            out.update(request_tokens(request))
    return out


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, list[int]], list[tuple[int, int]], list[str]]:
    """The triggers inverted: token -> the alternatives that need it; each alternative as
    (its rule's position, how many tokens it needs); the rules in order."""
    by_token: dict[str, list[int]] = {}
    alternatives: list[tuple[int, int]] = []
    rules = list(triggers())
    for position, rule in enumerate(rules):
        for alternative in triggers()[rule]:
            for token in alternative:
                by_token.setdefault(token, []).append(len(alternatives))
            alternatives.append((position, len(alternative)))
    return by_token, alternatives, rules


def exercised(tokens: set[str]) -> list[str]:
    """The rules whose trigger holds for `tokens`, in catalog order of triggers.yaml: an
    alternative holds when every token it needs is present (counted through the index)."""
    by_token, alternatives, rules = _index()
    counts: dict[int, int] = {}
    for token in tokens:
        for alternative in by_token.get(token, ()):
            counts[alternative] = counts.get(alternative, 0) + 1
    held = {alternatives[a][0] for a, n in counts.items() if n == alternatives[a][1]}
    return [rules[p] for p in sorted(held) if not switched_off(rules[p])]
