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
from itertools import chain, compress
from operator import itemgetter, methodcaller
from typing import Any

import yaml

from agui_conformance.rules import switched_off

# The requests' members that open request-aware checks, as `request:KEY` tokens.
REQUEST_KEYS = ("tools", "state", "forwardedProps", "protocolVersion", "resume")
# Where nested members (`key:NAME`) are looked for: bodies that carry messages or parts.
NESTED = frozenset(
    {"MESSAGES_SNAPSHOT", "TOOL_CALL_RESULT", "ACTIVITY_SNAPSHOT", "RUN_FINISHED", "RUN_STARTED"}
)
MAX_DEPTH = 8
MAX_NODES = 5_000
# distinct protocolVersion values one stream (and a report's summary) lists at most, each
# cut to MAX_VERSION_CHARS: a hostile stream of a million RUN_STARTED events, each naming
# a new megabyte-long version, stays a short list
MAX_VERSIONS = 16
MAX_VERSION_CHARS = 80
NO_VERSION = "(none)"  # a RUN_STARTED without a protocolVersion string


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
    what only the notable (not high-volume) events can show (`StreamTokens`)."""
    tokens = StreamTokens()
    tokens.add(events if isinstance(events, list) else list(events))
    return tokens.tokens


def note_versions(events: Iterable[Any], seen: list[str]) -> None:
    """Add to `seen` the protocolVersion each RUN_STARTED of `events` declares, in order,
    once each (`NO_VERSION` for one that declares no string), up to `MAX_VERSIONS`."""
    for event in events:
        if isinstance(event, dict) and event.get("type") == "RUN_STARTED":
            version = event.get("protocolVersion")
            if isinstance(version, str):
                if len(version) > MAX_VERSION_CHARS:
                    version = version[: MAX_VERSION_CHARS - 1] + "…"
            else:
                version = NO_VERSION
            if version not in seen and len(seen) < MAX_VERSIONS:
                seen.append(version)


_STARTS = {"TEXT_MESSAGE_START": ("text", "messageId"), "TOOL_CALL_START": ("tool", "toolCallId")}
# The events that show more than their type and member names.
_NOTABLE = frozenset({"RUN_STARTED", *_STARTS}) | NESTED
_TYPE = itemgetter("type")


class StreamTokens:
    """The tokens of a stream read in batches (a recording, or one list of events): each
    batch's types and member names, and what only the notable events show, across
    batches (a second run, an item opened again in a later batch). Holds the ids of
    opened items and the protocol versions the RUN_STARTED events declared (`versions`,
    `note_versions`), never the events.

    The cost per event is in C (a map over the types, one set union of the members, a
    `compress` picking out the notable events), so the high-volume deltas cost a few tens
    of nanoseconds each; `tests/test_exercise.py` holds it to the definition read one
    event at a time."""

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.versions: list[str] = []  # what the RUN_STARTED events declared, in order
        self._runs = 0
        self._opened: dict[str, set[str]] = {"text": set(), "tool": set()}

    def add(self, batch: list[Any]) -> None:
        """The next consecutive events (parsed; anything that is not an event is skipped)."""
        self.tokens.add("stream")
        try:  # the common case: every value an object with a string type
            kinds: list[Any] = list(map(_TYPE, batch))
            types: set[Any] = set(kinds)
            objects = batch if all(type(kind) is str for kind in types) else None
        except (KeyError, TypeError, IndexError):  # not an object, no type, an unhashable one
            objects = None
        if objects is None:
            objects = [e for e in batch if isinstance(e, dict) and isinstance(e.get("type"), str)]
            kinds = [e["type"] for e in objects]
            types = set(kinds)
        tokens = self.tokens
        tokens |= types
        tokens.update(f"field:{key}" for key in set().union(*objects) if isinstance(key, str))
        if not types.isdisjoint(_NOTABLE):
            flags = list(map(_NOTABLE.__contains__, kinds))
            self._notable(list(compress(objects, flags)), list(compress(kinds, flags)))
        if self._runs > 1:
            tokens.add("multi-run")

    def _notable(self, events: list[dict[str, Any]], kinds: list[str]) -> None:
        """Runs, outcomes, reopened items and nested member names, a type at a time
        (`kinds`: the events' types; grouping them in one pass costs about half of
        sorting them by type)."""
        tokens = self.tokens
        groups: dict[str, list[dict[str, Any]]] = {}
        for event, kind in zip(events, kinds, strict=True):
            group = groups.get(kind)
            if group is None:
                groups[kind] = [event]
            else:
                group.append(event)
        for kind in sorted(groups):
            same = groups[kind]
            if kind in _STARTS:
                family, key = _STARTS[kind]
                try:
                    ids = list(map(itemgetter(key), same))
                except KeyError:  # a start without its id
                    ids = list(map(methodcaller("get", key), same))
                if set(map(type, ids)) != {str}:
                    ids = [item for item in ids if type(item) is str]
                # one pass over the ids: fewer new ids than starts means one came again
                opened = self._opened[family]
                before = len(opened)
                opened.update(ids)
                if len(opened) - before < len(ids):
                    tokens.add(f"reopen:{family}")
                continue
            if kind == "RUN_STARTED":  # one a run: the rare path
                self._runs += len(same)
                note_versions(same, self.versions)
            elif kind == "RUN_FINISHED":
                for event in same:
                    outcome = event.get("outcome")
                    if isinstance(outcome, dict) and isinstance(outcome.get("type"), str):
                        tokens.add(f"outcome:{outcome['type']}")
            # member names at any depth: one union when no member holds a container
            if _CONTAINERS.isdisjoint(map(type, chain.from_iterable(map(dict.values, same)))):
                tokens.update(f"key:{key}" for key in set().union(*same))
            else:
                for event in same:
                    _nested_keys(event, tokens)


_CONTAINERS = frozenset({dict, list})


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
