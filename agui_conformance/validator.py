"""The validator: raw payloads or events in, findings out.

Owns the pipeline for one stream: parse each payload (orjson), check it
against its type's schema, feed it to the sequence machine, and turn rule
hits into `Finding`s with the level the profile gives them. Works the same
on live streams (feed as frames arrive) and on recordings. Never raises on
what the agent sent: hostile input becomes findings. A hit naming a rule the
catalog does not hold is our bug, and raises `UnknownRule`.

It knows nothing of HTTP or files beyond `validate_recording`'s call into
`recording`.

Bounded: at most `MAX_FINDINGS_PER_RULE` findings of one rule are kept, every
message is cut to `clip.MAX_MESSAGE` characters, and the state and activity
contents the machine rebuilds are tracked up to `max_state_bytes` (default
`DEFAULT_MAX_STATE_BYTES`, 8 MiB of JSON; past it, `state-too-large` and no
more tracking).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from agui_conformance.clip import MAX_FINDINGS_PER_RULE, clip_text
from agui_conformance.hits import Hit
from agui_conformance.jsonsize import DEFAULT_MAX_STATE_BYTES
from agui_conformance.machine import SequenceMachine
from agui_conformance.records import Finding, Level, ValidationResult
from agui_conformance.rules import Rule, catalog, level_override
from agui_conformance.schema import get_checker

if TYPE_CHECKING:
    from agui_conformance.exercise import StreamTokens

# Findings a consumer merely strips when the producer declares a newer minor
# (it may be that version's addition): warnings instead of errors (§7 A-09).
_RELAXED_FOR_NEWER = frozenset(
    {"event-type-unknown", "schema-unknown-property", "schema-unknown-member", "snake-case-key"}
)
# When the schema rejects an event this badly, the machine does not see it.
_UNREADABLE = frozenset({"event-not-json", "event-not-object", "event-type-missing"})


class UnknownRule(LookupError):
    """A check produced a hit for a rule id the catalog does not hold: a programming error
    (never the agent's), raised so that a misspelt id fails loudly instead of a rule that
    silently never reports."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"a check reported rule {rule!r}, which is not in the rule catalog")
        self.rule = rule


class StreamValidator:
    """Validates one stream incrementally: feed payloads or events, then close."""

    def __init__(
        self,
        *,
        request: Any = None,
        profile: str = "spec",
        framing: str = "json",
        check_request: bool = True,
        fast: bool = True,
        max_state_bytes: int = DEFAULT_MAX_STATE_BYTES,
    ) -> None:
        """`framing="sse"` reports payloads that are not one JSON object as SSE-001.

        `check_request=False` when the request is the harness's own (it may carry
        unknown members on purpose): it then only informs the request-aware rules.
        `fast=False` sends every event down the full path (schema, then machine),
        which the fast paths must agree with (`tests/test_fast_path.py`).
        `max_state_bytes`: how large (bytes of JSON) the rebuilt state and activity
        contents may grow in all before the validator stops tracking them
        (`state-too-large`); a negative value is a ValueError."""
        self.profile = profile
        self._sse = framing == "sse"
        self._rules: Mapping[str, Rule] | None = None  # the catalog, on the first hit
        self._schema = get_checker()
        self._machine = SequenceMachine(request, max_state_bytes=max_state_bytes)
        if fast:
            self._machine.enable_fast_paths(
                self._schema.event_definitions(), self._schema.event_defs()
            )
        self.fast_handled = 0  # events the fast paths took (see `machine.fast`)
        self._findings: list[Finding] = []
        self._per_rule: dict[str, int] = {}
        self._events = 0
        self._closed = False
        self._request_findings: list[Finding] = []
        if request is not None and check_request:
            self._request_findings = self._to_findings(self._schema.check_input(request))

    # ------------------------------------------------------------ feeding

    def feed_payload(self, data: bytes | str, index: int | None = None) -> list[Finding]:
        """One SSE data payload or JSONL line: parse it and validate the event."""
        return self.feed_payloads((data,), index)

    def feed_payloads(
        self, payloads: Iterable[bytes | str], start: int | None = None
    ) -> list[Finding]:
        """Consecutive payloads, the first at event index `start` (default: next).

        The loop a recording runs: the machine's fast paths take the common valid
        events; the rest take the full path (schema, then machine)."""
        return self._batch(payloads, start, parsed=False)

    def feed_event(self, event: object, index: int | None = None) -> list[Finding]:
        """One decoded event (any JSON value)."""
        return self._batch((event,), index, parsed=True)

    def feed_events(
        self,
        events: Iterable[object],
        start: int | None = None,
        *,
        from_json: bool = False,
        owned: bool = False,
    ) -> list[Finding]:
        """Consecutive decoded events, the first at event index `start` (default: next);
        unless `owned`, the events are only read, never kept or changed. `from_json=True`: they were
        parsed from JSON text, so every value in them is JSON (the fast paths then take
        members of any JSON value too, as they do for payloads). `owned=True` (implies
        `from_json`): they were parsed from JSON text for this validator alone, which may
        then keep their values and change them (a state patch's values move into the
        state uncopied, as for payloads); the caller no longer reads them."""
        return self._batch(events, start, parsed=True, from_json=from_json or owned, owned=owned)

    def _batch(
        self,
        items: Iterable[Any],
        start: int | None,
        *,
        parsed: bool,
        from_json: bool = False,
        owned: bool = False,
    ) -> list[Finding]:
        first = self._events if start is None else start
        found: list[Finding] = []

        def full(event: object, index: int) -> None:
            if self._sse and type(event) is list:
                self._events += 1
                msg = f"SSE data payload is a JSON array of {len(event)} values, not one event."
                found.extend(self._emit([Hit("sse-data-not-one-event", index, msg)]))
            else:
                found.extend(self._feed_full(event, index))

        def not_json(data: object, err: Exception, index: int) -> None:
            found.extend(self._not_json(data, index, err))

        handled = self._machine.feed_batch(
            items, first, full, not_json, parsed=parsed, from_json=from_json, owned=owned
        )
        self._events += handled
        self.fast_handled += handled
        return found

    def _not_json(self, data: object, index: int, err: Exception) -> list[Finding]:
        self._events += 1
        shown = data[:80] if isinstance(data, (bytes, str)) else b""
        if self._sse:
            msg = f"SSE data payload is not one JSON event ({_short(str(err))}): {shown!r}"
            return self._emit([Hit("sse-data-not-one-event", index, msg)])
        msg = f"Payload is not valid JSON ({_short(str(err))}): {shown!r}"
        return self._emit([Hit("event-not-json", index, msg)])

    def _feed_full(self, event: object, index: int) -> list[Finding]:
        """The full path: the event's schema, then the sequence machine."""
        self._events += 1
        try:
            hits = self._schema.check_event(event, index)
            if isinstance(event, dict) and not (hits and any(h.rule in _UNREADABLE for h in hits)):
                more = self._machine.feed(event, index)
                if more:
                    hits = hits + more
        except RecursionError:
            hits = [Hit("schema-wrong-type", index, "Event is nested too deeply to validate.")]
        return self._emit(hits)

    def add_hits(self, hits: Iterable[Hit]) -> list[Finding]:
        """Hits found elsewhere (e.g. SSE framing), merged into this stream's findings."""
        return self._emit(list(hits))

    def close(self, suppress: Iterable[str] = ()) -> list[Finding]:
        """End of stream: truncation and whole-stream checks. `suppress`: rules the framing
        already reported for the whole stream (a protobuf body cut mid-frame is
        `stream-truncated` with the byte it was cut at; the machine would say it again)."""
        if self._closed:
            return []
        self._closed = True
        hits = self._machine.close()
        if suppress:
            hits = [hit for hit in hits if hit.rule not in suppress]
        return self._emit(hits)

    # ------------------------------------------------------------ results

    def result(self) -> ValidationResult:
        findings = sorted(
            self._request_findings + self._findings,
            key=lambda f: f.index if f.index is not None else 1 << 62,
        )
        return ValidationResult(findings=findings, events=self._events, profile=self.profile)

    def _emit(self, hits: list[Hit]) -> list[Finding]:
        if not hits:
            return []
        found = self._to_findings(hits)
        self._findings.extend(found)
        return found

    def _to_findings(self, hits: list[Hit]) -> list[Finding]:
        found: list[Finding] = []
        if not hits:
            return found
        rules = self._rules
        if rules is None:
            rules = self._rules = catalog()
        for hit in hits:
            rule = rules.get(hit.rule)
            if rule is None:  # a typo in a check would make a rule that never reports
                raise UnknownRule(hit.rule)
            if not rule.applies_to(self.profile):
                continue
            count = self._per_rule.get(hit.rule, 0) + 1
            self._per_rule[hit.rule] = count
            if count > MAX_FINDINGS_PER_RULE:
                continue  # a stream repeating one mistake a million times stays readable
            found.append(self._finding(rule, hit))
        return found

    def _finding(self, rule: Rule, hit: Hit) -> Finding:
        level = rule.level(self.profile)
        relaxed = rule.id in _RELAXED_FOR_NEWER and level_override(rule.id) is None
        if level is Level.ERROR and relaxed and self._machine.newer_producer:
            level = Level.WARNING
        return Finding(
            rule=rule.id,
            level=level,
            message=clip_text(hit.message),
            index=hit.index,
            pointer=hit.pointer,
            title=rule.title,
            category=rule.category,
            spec=rule.url,
            hint=rule.hint,
        )


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def validate_events(
    events: Iterable[object],
    *,
    request: Any = None,
    profile: str = "spec",
    max_state_bytes: int = DEFAULT_MAX_STATE_BYTES,
) -> ValidationResult:
    """Validate decoded events (dicts, or any JSON values) as one stream."""
    validator = StreamValidator(request=request, profile=profile, max_state_bytes=max_state_bytes)
    validator.feed_events(events, 0)
    validator.close()
    return validator.result()


def validate_payloads(
    payloads: Iterable[bytes | str],
    *,
    request: Any = None,
    profile: str = "spec",
    max_state_bytes: int = DEFAULT_MAX_STATE_BYTES,
) -> ValidationResult:
    """Validate raw JSON payloads (SSE data or JSONL lines) as one stream."""
    validator = StreamValidator(request=request, profile=profile, max_state_bytes=max_state_bytes)
    for index, payload in enumerate(payloads):
        validator.feed_payload(payload, index)
    validator.close()
    return validator.result()


def validate_recording(
    source: Any,
    *,
    fmt: str = "auto",
    request: Any = None,
    profile: str = "spec",
    max_state_bytes: int = DEFAULT_MAX_STATE_BYTES,
    check_request: bool = True,
    keep: Kept | None = None,
) -> ValidationResult:
    """Validate a recorded stream: a path, bytes, or a binary file object, in one pass
    that also fills `exercised` (the rules the stream reached, `exercise`), `lines`
    (the line of each event a finding names, for JSONL and SSE recordings) and
    `protocol_versions` (what its RUN_STARTED events declared), and, given `keep`, holds
    on to the first events for a report's transcript.

    `check_request=False`: the request was checked by the caller (the CLI refuses a
    `--input` that is not a RunAgentInput); it only informs the request-aware rules.
    Raises `recording.NotARecording` for what is no recording at all."""
    from agui_conformance.exercise import StreamTokens, recording_exercised
    from agui_conformance.recording import open_recording
    from agui_conformance.young_gc import YoungCollections

    recording = open_recording(source, fmt)
    framing = "sse" if recording.format == "sse" else "json"
    validator = StreamValidator(
        request=request,
        profile=profile,
        framing=framing,
        max_state_bytes=max_state_bytes,
        check_request=check_request,
    )
    tokens = StreamTokens()
    with YoungCollections() as collect:  # the long-lived memory is walked once, not per batch
        for start, batch in recording.batches:
            _feed_batch(validator, tokens, start, batch, keep)
            collect.step()
    validator.add_hits(recording.hits)
    if not recording.stopped:  # a fatal framing hit: the stream's end was never seen
        cut = any(h.rule == "stream-truncated" for h in recording.hits)
        validator.close(suppress=("stream-truncated",) if cut else ())
    result = validator.result()
    result.exercised = recording_exercised(tokens.tokens, request, recording.format)
    result.protocol_versions = tokens.versions
    for index in {f.index for f in result.findings if f.index is not None}:
        line = recording.lines.get(index)
        if line is not None:
            result.lines[index] = line
    return result


def _feed_batch(
    validator: StreamValidator,
    tokens: StreamTokens,
    start: int,
    batch: list[bytes],
    keep: Kept | None = None,
) -> None:
    """One batch of a recording, parsed once, into the trigger tokens, the validator and,
    while it takes more, `keep` (the validator then reads the batch without owning it, so
    that a kept event is never changed by the state it fed)."""
    events = _parsed(batch)
    if events is None:  # a payload that is not JSON: the validator reports it
        validator.feed_payloads(batch, start)
        events = [_loads_or_none(data) for data in batch]
        tokens.add(events)
        if keep is not None:
            keep.add(batch, [_shown(e, d) for e, d in zip(events, batch, strict=True)])
        return
    tokens.add(events)  # the tokens read the events first; then the checks own them
    if keep is not None and keep.taking:
        validator.feed_events(events, start, from_json=True)
        keep.add(batch, events)
        return
    if keep is not None:
        keep.total += len(batch)
    validator.feed_events(events, start, owned=True)


class Kept:
    """The first events of a recording, kept during the validating pass for a report's
    transcript: at most `limit` events and about `max_bytes` of their payload; `total`
    counts every event read. The events are the parsed objects the validator read (it
    never changes them); a payload that is not JSON is kept as its first 2,000
    characters."""

    __slots__ = ("_bytes", "events", "limit", "max_bytes", "total")

    def __init__(self, limit: int, max_bytes: int) -> None:
        self.limit, self.max_bytes = limit, max_bytes
        self.events: list[Any] = []
        self.total = 0
        self._bytes = 0

    @property
    def taking(self) -> bool:
        """Whether more events would be kept."""
        return len(self.events) < self.limit and self._bytes < self.max_bytes

    def add(self, payloads: list[bytes], events: list[Any]) -> None:
        self.total += len(payloads)
        for data, event in zip(payloads, events, strict=True):
            if len(self.events) >= self.limit or self._bytes >= self.max_bytes:
                return
            self.events.append(event)
            self._bytes += len(data)


def _shown(event: Any, data: bytes) -> Any:
    return data[:2000].decode("utf-8", "replace") if event is None else event


def _parsed(batch: list[bytes]) -> list[Any] | None:
    """The batch's events, or None when a payload is not JSON."""
    try:
        return list(map(orjson.loads, batch))
    except orjson.JSONDecodeError:
        return None


def _loads_or_none(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
