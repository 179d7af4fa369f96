"""What the fast paths may accept of each event type, derived from its schema.

The fast paths (`fast`) skip the schema check, so each must accept only events
its type's schema accepts. Rather than keep a second copy of the schema, the
accepted members are derived here from the event definitions the schema
checker compiled:

* a fast path names the members it reads itself (its *own* members) and the
  schema it takes each to have, as a `Kind` (`OwnMembers`); a member whose
  schema no longer has that kind is not accepted, and when that member is
  required the type has no fast path at all;
* the envelope members every event may carry and the machine does not act on
  (`ENVELOPE`: `timestamp`, `rawEvent`, `metadata`) are accepted when their
  schema compiles to a kind with a value check here (`_ENVELOPE_CHECKS`);
  `metadata` also has to be one the metadata rules stay quiet on;
* any other member of the schema (`subagentRunId`, or one a new schema adds)
  is not accepted: an event carrying it takes the full path.

So a schema change can only make the fast paths decline more. `tests/test_fast_path.py`
fails when a type's accepted members differ from its schema's properties other
than `DECLINED`, so the change is then seen and the fast path taught.

Members are compared by `Kind` (`schema_kinds`): ("schema", ...), for anything
too rich to describe, is never equal to what a fast path expects.

It knows nothing of files: it reads the definitions it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agui_conformance.machine.standalone import metadata_is_quiet
from agui_conformance.schema_kinds import Kind, kind_of

__all__ = ["DECLINED", "ENVELOPE", "Kind", "OwnMembers", "Shape", "build_shapes", "kind_of"]

# event type -> {member: the kind its fast path takes that member's schema to be}
OwnMembers = Mapping[str, Mapping[str, Kind]]
Check = Callable[[Any], bool]

# Members of the BaseEvent envelope whose value the machine does not act on (the spec:
# `timestamp` carries no ordering meaning, `rawEvent` must not drive protocol behaviour,
# https://docs.ag-ui.com/spec/1.1/basic#events); `metadata` only feeds the metadata
# rules, whose quiet case the check below takes.
ENVELOPE = ("timestamp", "rawEvent", "metadata")
# Members the fast paths leave to the full path on purpose: attribution to a subagent.
DECLINED = frozenset({"subagentRunId"})


def _integer(lo: int, hi: int) -> Check:
    return lambda value: type(value) is int and lo <= value <= hi


def _envelope_check(member: str, kind: Kind, parsed: bool) -> Check | None:
    """The value check of an envelope member of this kind, or None (not accepted).
    Members that may hold any JSON value are accepted only in `parsed` events (parsed
    from JSON text, so every value in them is JSON): in objects handed in, a value
    could be a Python object that is no JSON at all, which only the schema reports."""
    if member == "timestamp" and kind[0] == "integer":
        return _integer(kind[1], kind[2])
    if member == "rawEvent" and kind == ("not-null",) and parsed:
        return lambda value: value is not None
    if member == "metadata" and kind == ("object",) and parsed:
        return lambda value: type(value) is dict and metadata_is_quiet(value)
    return None


@dataclass(frozen=True, slots=True)
class Shape:
    """What the fast path of one event type accepts."""

    own: frozenset[str]  # the members the fast path reads and checks itself
    accepted: frozenset[str]  # own | the envelope members below
    envelope: Mapping[str, Check]  # envelope member -> its value check
    kinds: Mapping[str, Kind]  # every member of the schema -> its kind
    timestamp: tuple[int, int]  # the `timestamp` bounds ((1, 0): none accepted)
    stamped: frozenset[str]  # own | {"timestamp"}: what most stamped events carry

    def extras_ok(self, event: dict[str, Any]) -> bool:
        """True when every member of `event` outside `own` is an accepted envelope
        member with a valid value."""
        if self.stamped.issuperset(event):
            stamp = event.get("timestamp", self)
            low, high = self.timestamp
            return stamp is self or (type(stamp) is int and low <= stamp <= high)
        envelope = self.envelope
        own = self.own
        for key in event:
            if key not in own:
                check = envelope.get(key)
                if check is None or not check(event[key]):
                    return False
        return True


def build_shapes(
    definitions: Mapping[str, Any], defs: Mapping[str, Any], own: OwnMembers, *, parsed: bool
) -> dict[str, Shape]:
    """The shape of each event type in `own` whose fast path still fits its schema.

    `definitions`: event type -> its definition (properties, required);
    `defs`: the definitions local `$ref`s point into; `parsed`: for events parsed
    from JSON text (else own members of any JSON value are not accepted either)."""
    shapes: dict[str, Shape] = {}
    for etype, expected in own.items():
        definition = definitions.get(etype)
        if not isinstance(definition, dict) or definition.get("additionalProperties") is not False:
            continue
        props = definition.get("properties", {})
        kinds = {name: kind_of(sub, defs) for name, sub in props.items()}
        fits = {
            m
            for m, k in expected.items()
            if kinds.get(m) == _resolve(k, kinds.get(m)) and (parsed or k != ("any",))
        }
        required = set(definition.get("required", ()))
        if not required <= fits:
            continue  # a required member no longer has the kind the fast path reads
        envelope: dict[str, Check] = {}
        for member in ENVELOPE:
            check = _envelope_check(member, kinds[member], parsed) if member in kinds else None
            if check is not None and member not in fits:
                envelope[member] = check
        stamp = kinds.get("timestamp", ())
        bounds = (stamp[1], stamp[2]) if "timestamp" in envelope else (1, 0)
        shapes[etype] = Shape(
            own=frozenset(fits),
            accepted=frozenset(fits | envelope.keys()),
            envelope=envelope,
            kinds=kinds,
            timestamp=bounds,
            stamped=frozenset(fits | ({"timestamp"} & envelope.keys())),
        )
    return shapes


def _resolve(expected: Kind, actual: Kind | None) -> Kind:
    """`expected`, with ("enum", None) standing for any enumeration of strings."""
    if expected == ("enum", None) and actual is not None and actual[0] == "enum":
        return actual if all(type(v) is str for v in actual[1]) else expected
    return expected
