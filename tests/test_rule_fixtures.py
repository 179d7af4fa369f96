"""Every rule is proven by a stream that violates exactly it and one that does not.

Fixtures live in tests/fixtures/rules/<rule-id>.yaml:

    rule: item-not-open
    violations:            # each must raise this rule and nothing else
      - name: what the stream does wrong
        index: 1           # event index of the first finding (null = whole stream)
        input: {...}       # optional RunAgentInput (request-aware rules)
        stream: [...]      # events; or `sse: "..."` raw SSE text (`sse_base64` for
                           # bytes that are not UTF-8); or `proto: [...]` an HTTP +
                           # Protobuf body, each item `{event: {...}}` (encoded, framed),
                           # `{message_hex: ".."}` (framed) or `{raw_hex: ".."}` (as is);
                           # or `payloads: [...]` raw JSON;
                           # or `exchange: {expect, status, content_type, frames: [{at,
                           # event}], ended_at, ending, raw_prefix, valid_status}` for
                           # live rules (valid_status: what the agent answered the valid
                           # baseline sent before the probes, live.not_judged; accept: the
                           # request's Accept; raw_prefix_frames: [events] the body's first
                           # bytes as protobuf frames)
        refusal: rule      # optional, with `exchange`: the case's refusal rule
        declaration: {...} # or: a capabilities declaration, with `streams: [[...]]` the
                           # events the agent streamed in the run
        differential:      # or: an absent/empty comparison, {member, pairs: [{absent:
                           # EXCHANGE, empty: EXCHANGE}, ...]} (the first pair as sent,
                           # a second the runner's repeat), EXCHANGE as under `exchange`
        behaviour:         # or: a behaviour case's judgement (agui_conformance.behaviour):
                           # {kind: isolation, canary, this, other, stream} | {kind:
                           # state-types, state, stream} | {kind: overlap, input, exchange}
                           # | {kind: history, fact, history: [ids], stream} | {kind:
                           # run-error, input, exchange}
        negotiation:       # or: the negotiation case's answers, [{accept, served}] (served:
                           # sse | protobuf | null), judged by bindings.not_served
        binding_pair:      # or: one input's runs on both bindings, {sse: [...], protobuf:
                           # [...], again: {sse, protobuf}} (the runner's repeat)
        expectations:      # or: a case's own expectations (agui_conformance.expectations),
                           # {expect_tool_call, expect_state, expect_outcome} as in a case
                           # file, judged on `stream` (a finished run) with `input`
        profile: spec      # optional
    passes:                # each must raise nothing at all
      - name: the legal stream closest to the violation
        stream: [...]
"""

from __future__ import annotations

import base64
import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from agui_conformance import ValidationResult, live, validate_events, validate_payloads
from agui_conformance.rules import catalog
from agui_conformance.runner import judge
from agui_conformance.transport import Exchange, TimedFrame
from agui_conformance.validator import validate_recording

FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


ALL = {p.stem: _load(p) for p in sorted(FIXTURES.glob("*.yaml"))}


def _exchange(spec: dict[str, Any]) -> Exchange:
    """A recorded HTTP exchange, as the transport would have produced it."""
    frames = []
    for position, frame in enumerate(spec.get("frames", [])):
        data = frame["data"] if "data" in frame else orjson.dumps(frame["event"]).decode()
        frames.append(TimedFrame(position, float(frame.get("at", 0.0)), data.encode()))
    headers = {"content-type": spec.get("content_type", "text/event-stream")}
    raw_prefix = spec.get("raw_prefix", "").encode()
    if "raw_prefix_frames" in spec:  # a protobuf body: each event framed by the codec
        from agui_conformance.protobuf import encode_event, frame

        raw_prefix = b"".join(frame(encode_event(e)) for e in spec["raw_prefix_frames"])
    # silence: given (comments kept the stream alive), or the longest gap between frames
    gaps = [(b.at - a.at, a.index) for a, b in itertools.pairwise(frames)]
    silence, after = max(gaps, default=(0.0, None))
    if "silence" in spec:
        silence, after = float(spec["silence"]), spec.get("silence_after")
    return Exchange(
        url="http://agent.test/",
        request_headers={"Accept": spec["accept"]} if "accept" in spec else {},
        body=b"",
        status=spec.get("status", 200),
        response_headers=headers,
        frames=frames,
        raw_prefix=raw_prefix,
        ended_at=float(spec.get("ended_at", frames[-1].at if frames else 0.0)),
        ending=spec.get("ending", "complete"),
        failure=spec.get("failure"),
        first_byte_at=frames[0].at if frames else None,
        silence=silence,
        silence_after=after,
    )


def _run(case: dict[str, Any]) -> ValidationResult:
    profile = case.get("profile", "spec")
    request = case.get("input")
    if "exchange" in case:
        spec = case["exchange"]
        expect = spec.get("expect", "run")
        skip = live.not_judged(spec.get("valid_status"))
        findings = judge(_exchange(spec), request, expect, profile, case.get("refusal"), skip=skip)
        return ValidationResult(findings=findings, events=len(spec.get("frames", [])))
    if "declaration" in case:
        return _declaration(case, profile)
    if "differential" in case:
        return _differential(case["differential"], profile)
    if "behaviour" in case:
        return _behaviour(case["behaviour"], profile)
    if "expectations" in case:
        return _expectations(case, profile)
    if "negotiation" in case:
        return _negotiation(case["negotiation"], profile)
    if "binding_pair" in case:
        return _binding_pair(case["binding_pair"], profile)
    if "proto" in case:
        return validate_recording(_proto_body(case["proto"]), request=request, profile=profile)
    if "sse" in case or "sse_base64" in case:
        raw = (
            base64.b64decode(case["sse_base64"])
            if "sse_base64" in case
            else case["sse"].encode("utf-8")
        )
        return validate_recording(raw, fmt="sse", request=request, profile=profile)
    if "payloads" in case:
        return validate_payloads(
            [p.encode("utf-8") for p in case["payloads"]], request=request, profile=profile
        )
    return validate_events(case["stream"], request=request, profile=profile)


def _proto_body(items: list[dict[str, Any]]) -> bytes:
    """A protobuf body from fixture items (read auto-detected, as `validate` would)."""
    from agui_conformance.protobuf import encode_event, frame

    body = b""
    for item in items:
        if "event" in item:
            body += frame(encode_event(item["event"]))
        elif "message_hex" in item:
            body += frame(bytes.fromhex(item["message_hex"]))
        else:
            body += bytes.fromhex(item["raw_hex"])
    return body


def _declaration(case: dict[str, Any], profile: str) -> ValidationResult:
    """A capabilities declaration, cross-checked against the streams of the run."""
    from agui_conformance import capabilities
    from agui_conformance.model import CaseResult, RunRecord
    from agui_conformance.validator import StreamValidator

    seen = [
        CaseResult(
            id=f"case-{n}",
            title="",
            requirements=[],
            expect="run",
            status="passed",
            runs=[
                RunRecord(
                    request={}, requestHeaders={}, status=200, responseHeaders={}, timing={},
                    events=stream,
                )
            ],
        )
        for n, stream in enumerate(case.get("streams", []))
    ]  # fmt: skip
    checker = StreamValidator(profile=profile)
    checker.add_hits(capabilities.check_shape(case["declaration"]))
    checker.add_hits(capabilities.cross_check(case["declaration"], seen))
    return checker.result()


def _differential(spec: dict[str, Any], profile: str) -> ValidationResult:
    """The comparison of a differential case's pairs (each side's own rules are judged by
    their own fixtures)."""
    from agui_conformance import differential
    from agui_conformance.evidence import outcome
    from agui_conformance.validator import StreamValidator

    def side(exchange: dict[str, Any]) -> differential.Side:
        record = _exchange(exchange)
        events = [orjson.loads(frame.data) for frame in record.frames]
        return differential.side(outcome(record), record.status, events)

    pairs = [(side(pair["absent"]), side(pair["empty"])) for pair in spec["pairs"]]
    found = differential.judge(spec["member"], pairs)
    checker = StreamValidator(profile=profile)
    checker.add_hits([found[0]] if found is not None else [])
    return checker.result()


def _behaviour(spec: dict[str, Any], profile: str) -> ValidationResult:
    """A behaviour case's own judgement over recorded events or an exchange (each run's own
    rules are judged by their own fixtures; an exchange here is judged as the runner does)."""
    from agui_conformance import behaviour
    from agui_conformance.evidence import outcome
    from agui_conformance.runner import _record

    kind = spec["kind"]
    if kind in ("overlap", "run-error"):
        record = _exchange(spec["exchange"])
        request = spec["input"]
        findings = judge(record, request, "run", profile)
        if kind == "overlap":
            findings = behaviour.overlap_findings(record, findings, profile, 0.01, 0.5)
            return ValidationResult(findings=findings, events=len(record.frames))
        run = _record(record, request, b"", findings, "run")
        assert run.outcome == outcome(record)
        behaviour.run_error_findings(run, "empty-history-run-error", profile)
        return ValidationResult(findings=run.findings, events=len(record.frames))
    stream = spec["stream"]
    if kind == "isolation":
        frames = [(i, orjson.dumps(e)) for i, e in enumerate(stream)]
        hit = behaviour.leak(spec["canary"], frames, spec["this"], spec["other"])
    elif kind == "state-types":
        hit = behaviour.state_types_hit(spec["state"], stream)[1]
    else:
        hit = behaviour.history_hit(spec["fact"], stream, spec.get("history", []))[1]
    findings = behaviour.findings([hit] if hit is not None else [], profile)
    return ValidationResult(findings=findings, events=len(stream))


def _expectations(case: dict[str, Any], profile: str) -> ValidationResult:
    """A case's own expectations judged on a finished run (the stream's own rules are
    judged by their own fixtures)."""
    from agui_conformance import behaviour, expectations
    from agui_conformance.cases import Case

    stated = Case.model_validate(
        {"id": "fixture", "title": "fixture", "request": case["input"], **case["expectations"]}
    ).expectations()
    stream = case["stream"]
    hits = expectations.judge(stated, case["input"], enumerate(stream))
    return ValidationResult(findings=behaviour.findings(hits, profile), events=len(stream))


def _negotiation(answers: list[dict[str, Any]], profile: str) -> ValidationResult:
    """The negotiation case's judgement over its answers ({accept, served}: the binding the
    agent answered each Accept with; each run's own rules are judged by their fixtures)."""
    from agui_conformance import bindings
    from agui_conformance.validator import StreamValidator

    found = bindings.not_served([(a["accept"], a.get("served")) for a in answers])
    checker = StreamValidator(profile=profile)
    checker.add_hits([hit for _, hit in found])
    return checker.result()


def _binding_pair(spec: dict[str, Any], profile: str) -> ValidationResult:
    """The same input's runs on SSE and protobuf ({sse, protobuf}: their events; `again`:
    the pair sent once more, as the runner does after a difference)."""
    from agui_conformance import bindings
    from agui_conformance.validator import StreamValidator

    def shapes(pair: dict[str, Any]) -> tuple[bindings.Shape, bindings.Shape]:
        return bindings.shape(pair["sse"]), bindings.shape(pair["protobuf"])

    again = spec.get("again")
    _, hit = bindings.compare(*shapes(spec), None if again is None else shapes(again))
    checker = StreamValidator(profile=profile)
    checker.add_hits([hit] if hit is not None else [])
    return checker.result()


def _cases(kind: str) -> list[Any]:
    params = []
    for rule_id, data in ALL.items():
        for pos, case in enumerate(data.get(kind) or []):
            params.append(pytest.param(rule_id, case, id=f"{rule_id}-{pos}"))
    return params


def test_every_rule_has_a_fixture() -> None:
    missing = [rid for rid in catalog() if rid not in ALL]
    assert not missing, f"rules without a fixture file: {missing}"
    for rule_id, data in ALL.items():
        assert data.get("rule") == rule_id, f"{rule_id}.yaml names rule {data.get('rule')}"
        assert rule_id in catalog(), f"fixture for unknown rule {rule_id}"
        assert data.get("violations"), f"{rule_id}: no violating stream"
        assert data.get("passes"), f"{rule_id}: no passing stream"


@pytest.mark.parametrize(("rule_id", "case"), _cases("violations"))
def test_violation_raises_exactly_its_rule(rule_id: str, case: dict[str, Any]) -> None:
    result = _run(case)
    rules = {f.rule for f in result.findings}
    assert rules == {rule_id}, f"{case['name']}: expected only {rule_id}, got {result.findings}"
    first = next(f for f in result.findings if f.rule == rule_id)
    assert first.index == case["index"], f"{case['name']}: at {first.index}"
    assert case.get("message_contains", "") in first.message, first.message
    assert first.spec.startswith("https://docs.ag-ui.com/spec/1.1")
    assert first.hint


@pytest.mark.parametrize(("rule_id", "case"), _cases("passes"))
def test_legal_stream_raises_nothing(rule_id: str, case: dict[str, Any]) -> None:
    result = _run(case)
    assert not result.findings, f"{case['name']}: {result.findings}"
