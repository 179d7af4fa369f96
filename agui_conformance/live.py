"""Live checks: what the HTTP exchange itself says, beyond the events.

Owns the transport rules (status, content type, deadlines, lingering,
buffering, first-event latency) and the expectations of probes (invalid
input refused before the stream, auth refused). Pure: it reads a recorded
`Exchange` and yields hits, so recorded exchanges in fixtures drive it the
same way live ones do. The events themselves go through the validator.
"""

from __future__ import annotations

from typing import Literal

import orjson

from agui_conformance import negotiation
from agui_conformance.evidence import outcome, unresponsive_hit
from agui_conformance.hits import Hit
from agui_conformance.transport import Exchange, redact_url

Expect = Literal["run", "reject", "unauthorized", "survival"]

FIRST_EVENT_BUDGET = 3.0  # seconds; cometchat profile assumption
KEEPALIVE_BUDGET = 15.0  # seconds of total silence mid-run; cometchat profile assumption
BURST_SHARE = 0.05  # events spread over less than this share of the run...
BURST_MIN_TOTAL = 0.5  # ...of at least this many seconds, all at the end: buffered


def _first_type(exchange: Exchange) -> str | None:
    if not exchange.frames:
        return None
    try:
        event = orjson.loads(exchange.frames[0].data)
    except orjson.JSONDecodeError:
        return None
    return event.get("type") if isinstance(event, dict) else None


def _looks_html(exchange: Exchange) -> bool:
    head = exchange.raw_prefix[:512].lstrip().lower()
    return (
        exchange.content_type == "text/html"
        or head.startswith((b"<!doctype html", b"<html"))
        or b"traceback (most recent call last)" in exchange.raw_prefix.lower()
    )


def not_judged(valid_status: int | None) -> frozenset[str]:
    """The probe rules an agent's answers cannot be judged by, given the status it gave the
    minimal valid run sent before any probe (None: not sent, or not answered). An agent that
    answers a valid input 5xx too shows by a probe's 5xx nothing about how it tells bad input
    from good: the 5xx has another cause (input-rejection-5xx is not judged)."""
    if valid_status is not None and valid_status >= 500:
        return frozenset({"input-rejection-5xx"})
    return frozenset()


def check_exchange(
    exchange: Exchange, expect: Expect = "run", baseline: str | None = None
) -> list[Hit]:
    """Hits about the exchange. A harness error yields nothing (it is not the agent's).
    `baseline`: for `survival`, the outcome of the same request before any probe."""
    if exchange.harness_error is not None:
        return []
    head: list[Hit] = []
    if expect != "survival" and outcome(exchange) == "unresponsive":
        if exchange.status is None or expect == "run":
            return [unresponsive_hit(exchange, expect)]  # no answer: nothing else to judge
        if exchange.status != 200:  # an error status whose body never ended
            head.append(unresponsive_hit(exchange, expect))
        # (a probe answered 200 and then cut is judged as the acceptance it is)
    return head + _check(exchange, expect, baseline)


def _check(exchange: Exchange, expect: Expect, baseline: str | None) -> list[Hit]:
    if expect == "run":
        return _check_run(exchange)
    if expect == "reject":
        return _check_rejection(exchange)
    if expect == "survival":
        return _check_survival(exchange, baseline)
    return _check_unauthorized(exchange)


def _check_survival(exchange: Exchange, baseline: str | None = None) -> list[Hit]:
    """After a probe: a minimal valid run must still be served as it was before the probes.
    `baseline`: the outcome of the same request sent before any probe (None: not sent). An
    agent that failed it before the probes too is not broken by the probe."""
    now = outcome(exchange)
    if now == "finished" or (baseline is not None and baseline != "finished"):
        return []
    what = f"status {exchange.status}, {len(exchange.frames)} event(s), {exchange.ending}"
    before = (
        "Before the probes the same minimal valid run finished; after this probe it failed"
        if baseline == "finished"
        else "After the probe, a minimal valid run failed"
    )
    return [Hit("service-unavailable-after-bad-input", None, f"{before}: {what}.")]


def _check_run(exchange: Exchange) -> list[Hit]:
    hits: list[Hit] = []
    if exchange.status != 200:
        detail = repr(exchange.raw_prefix[:200].decode("utf-8", "replace"))
        status = exchange.status or 0
        location = exchange.response_headers.get("location")
        if 300 <= status < 400 and location:  # the harness follows no redirect: say where
            detail = f"a redirect to {redact_url(location)!r}; point the agent URL there"
        rule = "input-valid-rejected" if 400 <= status < 500 else "http-status"
        hits.append(
            Hit(rule, None, f"A valid RunAgentInput was answered {exchange.status}: {detail}")
        )
        return hits
    served = negotiation.served(exchange)
    if served == "protobuf":
        hits += negotiation.check(exchange)
    if served is None:
        hits += negotiation.mislabelled(exchange) or [
            Hit(
                "http-content-type",
                None,
                "The run was answered with Content-Type "
                f"{exchange.response_headers.get('content-type', '(none)')!r}, not "
                "text/event-stream.",
            )
        ]
    elif (
        not exchange.frames
        and not exchange.stopped  # a fatal framing finding said why nothing was read
        and exchange.ending in ("complete", "disconnected", "undecodable")
    ):
        # An event stream the agent ended with no event at all: the run has no outcome (the
        # machine judges streams that hold events; with none it has nothing to see). One cut
        # at a deadline is the deadline's finding.
        hits.append(
            Hit(
                "stream-truncated",
                None,
                "The run was answered 200 with an event stream that ended without any event: "
                "no RUN_STARTED, no RUN_FINISHED or RUN_ERROR, so the run has no outcome.",
            )
        )
    hits += _deadlines(exchange)
    hits += _timing(exchange)
    return hits


def _deadlines(exchange: Exchange) -> list[Hit]:
    """How the body ended, when not cleanly (no answer, or a run cut at a deadline, is
    agent-unresponsive and never reaches here)."""
    if exchange.ending == "complete":
        return []
    ended = outcome(exchange) in ("finished", "run-error")
    messages = {
        "first-byte-timeout": "The agent sent no byte before the first-byte deadline.",
        "idle-timeout": "The body went silent past the idle deadline after the run ended.",
        "total-timeout": "The body was still open at the total deadline after the run ended.",
        "disconnected": "The connection dropped after the run had ended, before the body "
        "was closed cleanly."
        if ended
        else "The connection dropped mid-stream, before the run ended.",
        "too-large": "The answer exceeded the harness's size cap; reading stopped there. The "
        "spec sets no size limit: what was read is judged, the cut is not the agent's.",
        "lingered": "The body stayed open after the last terminal event.",
        "undecodable": f"The body could not be decoded ({exchange.undecodable}); reading "
        "stopped there, as a client's would.",
    }
    rule = {
        "too-large": "transport-too-large",
        "lingered": "transport-lingering",
        "disconnected": "transport-deadline",
    }.get(exchange.ending, "transport-deadline")
    when = f" (after {exchange.ended_at:.1f} s)"
    return [Hit(rule, None, messages.get(exchange.ending, exchange.ending) + when)]


def _timing(exchange: Exchange) -> list[Hit]:
    hits: list[Hit] = []
    frames = exchange.frames
    if not frames:
        return hits
    if frames[0].at > FIRST_EVENT_BUDGET:
        hits.append(
            Hit(
                "transport-slow-first-event",
                0,
                f"The first event arrived after {frames[0].at:.1f} s.",
            )
        )
    if exchange.silence > KEEPALIVE_BUDGET:
        hits.append(
            Hit(
                "transport-keepalive-gap",
                exchange.silence_after,
                f"No byte at all (no event, no `:` comment) for {exchange.silence:.1f} s while "
                "the run was active; proxies and load balancers close idle connections.",
            )
        )
    total = exchange.ended_at
    span = frames[-1].at - frames[0].at
    if (
        len(frames) >= 3
        and total >= BURST_MIN_TOTAL
        and span <= BURST_SHARE * total
        and frames[0].at >= 0.5 * total
    ):
        hits.append(
            Hit(
                "transport-buffered",
                0,
                f"All {len(frames)} events arrived within "
                f"{span * 1000:.0f} ms at the end of a {total:.1f} s response: the stream is "
                "buffered.",
            )
        )
    return hits


def _check_rejection(exchange: Exchange) -> list[Hit]:
    """Invalid input: an HTTP error before any stream (HTTP-004)."""
    hits: list[Hit] = []
    status = exchange.status or 0
    if status == 200:
        first = _first_type(exchange)
        if first == "RUN_ERROR":
            hits.append(
                Hit(
                    "input-rejected-in-stream",
                    0,
                    "Invalid input was answered 200 with "
                    "a stream opening with RUN_ERROR instead of an HTTP error.",
                )
            )
        else:
            hits.append(
                Hit(
                    "input-rejected-with-stream",
                    0 if first else None,
                    "Invalid input was accepted: 200 and a stream "
                    f"{'opening with ' + first if first else 'with no events'}.",
                )
            )
        return hits
    if status >= 500:
        hits.append(Hit("input-rejection-5xx", None, f"A client mistake was answered {status}."))
    if status >= 400 and _looks_html(exchange):
        hits.append(
            Hit("input-rejection-html", None, "The error body is an HTML page or a stack trace.")
        )
    if status < 400 and status != 200 and exchange.status is not None:
        hits.append(
            Hit(
                "input-rejected-with-stream",
                None,
                f"Invalid input was answered {status}, not an HTTP error status.",
            )
        )
    return hits


def _check_unauthorized(exchange: Exchange) -> list[Hit]:
    status = exchange.status or 0
    if status in (401, 403):
        return []
    if status == 200 or exchange.frames:
        return [
            Hit(
                "auth-not-enforced",
                None,
                f"A request without valid credentials was "
                f"answered {status} with {len(exchange.frames)} event(s).",
            )
        ]
    return []
