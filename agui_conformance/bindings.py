"""The two HTTP bindings side by side: the negotiation case, and the same run on each.

Owns two scenarios of several exchanges (https://docs.ag-ui.com/spec/1.1/basic/transports/http-protobuf#negotiation):

- negotiation (`behaviour: negotiation`, cases/binding-negotiation.yaml): the case's
  minimal run asked for with each `Accept` of `ACCEPTS`, each judged as a run (the
  per-exchange negotiation rules: agui_conformance.negotiation). When the agent answered
  protobuf to any of them it is shown to speak the binding, and each request whose
  `Accept` admitted protobuf but got SSE breaks `proto-not-served` (PROTO-003, a SHOULD).
  An agent that never answers protobuf does not support it: legal (XPORT-006).
- the pair (`run --binding both`): a deterministic case's run is sent once more asking
  for protobuf, and the two event sequences are compared by `shape` (types in order, runs
  of deltas as one, ids by first appearance), never by text (PROTO-001). A difference is
  sent again on both bindings; it counts only when each binding repeats itself.

Knows nothing of reports; sends through the runner's `_send`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from agui_conformance import negotiation
from agui_conformance.cases import Case, Ids, build_body
from agui_conformance.exercise import exercised
from agui_conformance.headers import header, media_type
from agui_conformance.hits import Hit
from agui_conformance.model import CaseResult, RunRecord
from agui_conformance.protobuf import MEDIA_TYPE
from agui_conformance.runner import RunnerConfig, Watch, _send, completed, examine
from agui_conformance.transport import SSE_ACCEPT, Exchange
from agui_conformance.validator import StreamValidator

# The negotiation case's requests: what each Accept must (or may) get.
ACCEPTS = (
    SSE_ACCEPT,  # SSE only (PROTO-004)
    f"{MEDIA_TYPE}, {SSE_ACCEPT}",  # both named: protobuf SHOULD come back (PROTO-003)
    "*/*",  # a wildcard admits protobuf too
    "application/*",
    f"{SSE_ACCEPT}, {MEDIA_TYPE};q=0.1",  # down-ranked but positive: relative q not consulted
    f"{MEDIA_TYPE};q=0, {SSE_ACCEPT}",  # excluded: SSE only (PROTO-004)
)
DELTAS = frozenset(
    {
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_CHUNK",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_CHUNK",
        "REASONING_MESSAGE_CONTENT",
        "REASONING_MESSAGE_CHUNK",
        "STATE_DELTA",
        "ACTIVITY_DELTA",
    }
)
ID_KEYS = ("threadId", "runId", "messageId", "toolCallId", "parentMessageId", "stepName")

Shape = tuple[tuple[str, tuple[tuple[str, int], ...]], ...]


# ------------------------------------------------------------------ negotiation


async def negotiate(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch, runs: list[RunRecord]
) -> str | None:
    """The negotiation case's flow (behaviour_runs.FLOWS["negotiation"])."""
    sent: list[tuple[str, Exchange]] = []
    for accept in ACCEPTS:
        request, body = build_body(case, Ids())
        record = await _send(cfg, client, body, case, watch, accept=accept)
        runs.append(examine(record, request, body, "run", cfg.profile)[0])
        sent.append((accept, record))
    answers = [(accept, negotiation.served(r) if r.status == 200 else None) for accept, r in sent]
    for position, hit in not_served(answers):
        runs[position].findings.extend(_findings([hit], cfg.profile))
    if any(binding == "protobuf" for _, binding in answers):
        for (accept, record), (_, binding), run in zip(sent, answers, runs, strict=True):
            admitted = binding is not None and negotiation.admits_protobuf(accept)
            if admitted and completed(record):
                run.exercised += exercised({"negotiation:protobuf"})
    return None


def not_served(answers: Sequence[tuple[str, str | None]]) -> list[tuple[int, Hit]]:
    """PROTO-003 over the negotiation case's answers ((Accept sent, binding served: sse,
    protobuf, or None for no 200 event stream)): once any answer was protobuf, each
    request whose Accept admitted protobuf but got SSE, by its position."""
    if not any(binding == "protobuf" for _, binding in answers):
        return []  # the agent does not speak the binding: legal, nothing to judge
    return [
        (
            position,
            Hit(
                "proto-not-served",
                None,
                f"Asked with Accept {accept!r}, which admits {MEDIA_TYPE}, the agent answered "
                "SSE, though it answered protobuf to another request of this case.",
            ),
        )
        for position, (accept, binding) in enumerate(answers)
        if binding == "sse" and negotiation.admits_protobuf(accept)
    ]


def _findings(hits: list[Hit], profile: str) -> list[Any]:
    checker = StreamValidator(profile=profile)
    checker.add_hits(hits)
    return checker.result().findings


# ------------------------------------------------------------------ the same run on both


def comparable(case: Case) -> bool:
    """Whether a case is one deterministic run that the pair can send again: a valid input,
    one thread, no follow-up, nobody leaving, no scenario, no Accept of its own."""
    return (
        case.expect == "run"
        and case.request is not None
        and case.behaviour is None
        and case.concurrent == 1
        and case.disconnect_after is None
        and not case.then
        and case.refusal is None
        and not any(name.lower() == "accept" for name in case.headers)
    )


def shape(events: Sequence[Any]) -> Shape:
    """A run's structure: each event's type with its ids replaced by the order each id was
    first seen (so fresh ids compare equal), consecutive deltas of one item as one. Text,
    arguments, values and timestamps are left out."""
    seen: dict[str, int] = {}
    out: list[tuple[str, tuple[tuple[str, int], ...]]] = []
    for event in events:
        if not isinstance(event, dict):
            out.append(("(not an event)", ()))
            continue
        kind = str(event.get("type"))
        links = tuple(
            (key, seen.setdefault(str(event[key]), len(seen))) for key in ID_KEYS if key in event
        )
        item = (kind, links)
        if kind in DELTAS and out and out[-1] == item:
            continue
        out.append(item)
    return tuple(out)


def first_difference(sse: Shape, protobuf: Shape) -> str:
    """Where two shapes part, in words."""
    for index, (left, right) in enumerate(zip(sse, protobuf, strict=False)):
        if left != right:
            return f"at structural step {index}: SSE has {_say(left)}, protobuf has {_say(right)}"
    longer, name = (sse, "SSE") if len(sse) > len(protobuf) else (protobuf, "protobuf")
    step = min(len(sse), len(protobuf))
    return f"{name} goes on after {step} structural steps with {_say(longer[step])}"


def _say(item: tuple[str, tuple[tuple[str, int], ...]]) -> str:
    kind, links = item
    ids = ", ".join(f"{key} #{number}" for key, number in links)
    return f"{kind} ({ids})" if ids else kind


async def pair(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch, result: CaseResult
) -> None:
    """The case's run (asked for SSE) sent again asking for protobuf, compared by shape."""
    first = result.runs[0]
    if first.outcome not in ("finished", "run-error"):
        return

    async def one(accept: str) -> tuple[RunRecord, Exchange]:
        request, body = build_body(case, Ids())
        record = await _send(cfg, client, body, case, watch, accept=accept)
        run = examine(record, request, body, "run", cfg.profile)[0]
        result.runs.append(run)
        return run, record

    binary, record = await one(negotiation.PROTOBUF_ACCEPT)
    if negotiation.served(record) != "protobuf" or binary.outcome not in ("finished", "run-error"):
        return  # not served (legal), or not complete: the run's own findings say why
    sse, protobuf = shape(first.events), shape(binary.events)
    again: tuple[Shape, Shape] | None = None
    if sse != protobuf:
        again_sse, _ = await one(SSE_ACCEPT)
        again_binary, again_record = await one(negotiation.PROTOBUF_ACCEPT)
        if negotiation.served(again_record) != "protobuf":
            return
        again = (shape(again_sse.events), shape(again_binary.events))
    judged, hit = compare(sse, protobuf, again)
    if judged:
        binary.exercised += exercised({"binding-pair"})
    if hit is not None:
        binary.findings.extend(_findings([hit], cfg.profile))


def compare(
    sse: Shape, protobuf: Shape, again: tuple[Shape, Shape] | None
) -> tuple[bool, Hit | None]:
    """PROTO-001 over one pair of runs of the same input (`shape`s), and `again` the pair
    sent once more when the first differed: whether the pair was judged (the agent repeats
    itself on each binding), and the finding when the bindings differ."""
    if sse == protobuf:
        return True, None
    if again is None or again != (sse, protobuf):
        return False, None  # not sent again, or not deterministic on one binding
    hit = Hit(
        "proto-binding-differs",
        None,
        f"The same input, asked for on SSE and on protobuf (twice each), gave runs of "
        f"different structure: {first_difference(sse, protobuf)}.",
    )
    return True, hit


# ------------------------------------------------------------------ what was served


def binding_note(cases: Sequence[CaseResult], binding: str) -> str:
    """One line on how often protobuf was served to the runs that asked for it: an agent
    that answers SSE instead does not support the optional binding (legal: PROTO-004),
    and no protobuf rule counts as exercised by those runs."""
    asked = served = sse = 0
    for case in cases:
        for run in case.runs:
            accept = header(run.requestHeaders, "accept")
            if run.status != 200 or accept is None or not negotiation.admits_protobuf(accept):
                continue
            asked += 1
            answer = media_type(header(run.responseHeaders, "content-type", ""))
            served += answer == MEDIA_TYPE
            sse += answer == SSE_ACCEPT
    if not asked:
        return f"binding {binding}: no run the report keeps asked for protobuf and got a 200"
    if sse == asked:
        return (
            f"binding {binding}: the agent answered SSE to all {asked} runs that asked for "
            "protobuf: it does not serve the optional HTTP + Protobuf binding (legal); those "
            "runs were judged as SSE and exercised no protobuf rule"
        )
    other = asked - served - sse
    return (
        f"binding {binding}: protobuf served to {served} of {asked} runs that asked for it"
        + (f", SSE to {sse}" if sse else "")
        + (f", neither to {other}" if other else "")
    )
