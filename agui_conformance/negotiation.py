"""Which binding an HTTP exchange asked for and which it got (HTTP + Protobuf negotiation).

Owns reading `Accept` the way the protobuf binding's negotiation section says
(https://docs.ag-ui.com/spec/1.1/basic/transports/http-protobuf#negotiation): a
media range admits the protobuf media type when it names it, or is `application/*`
or `*/*`, with a positive quality; the most specific range that matches decides
(so `application/vnd.ag-ui.event+proto;q=0` excludes it whatever `*/*` says), and
the relative quality of SSE and protobuf is never consulted. And the negotiation
checks of one exchange: protobuf sent to a client that did not admit it (PROTO-004),
a protobuf answer whose `Content-Type` is not exactly the media type (PROTO-005).
Pure: it reads a recorded `Exchange` and yields hits; it knows nothing of rules'
levels, frames or events.
"""

from __future__ import annotations

from typing import Literal

from agui_conformance.headers import header, media_type
from agui_conformance.hits import Hit
from agui_conformance.protobuf import MEDIA_TYPE, first_frame
from agui_conformance.transport import SSE_ACCEPT, Exchange

__all__ = [
    "PROTOBUF_ACCEPT",
    "Binding",
    "accept_for",
    "admits",
    "admits_protobuf",
    "check",
    "served",
]

Binding = Literal["sse", "protobuf"]
# What a client that wants the binary binding sends: both types, as the spec's
# negotiation section has it ("alongside text/event-stream").
PROTOBUF_ACCEPT = f"{MEDIA_TYPE}, {SSE_ACCEPT}"


def accept_for(binding: str) -> str:
    """The `Accept` header a run asks with on `binding` (sse | protobuf)."""
    return PROTOBUF_ACCEPT if binding == "protobuf" else SSE_ACCEPT


def _ranges(accept: str) -> list[tuple[str, str, float]]:
    """(type, subtype, q) of each media range; malformed ranges and q values are skipped
    (a range whose q cannot be read counts as q=1, as RFC 9110 parsers tolerate)."""
    out = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        main, slash, sub = media.partition("/")
        if not slash or not main or not sub:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip().strip('"'))
                except ValueError:
                    q = 1.0
                break
        out.append((main.lower(), sub.lower(), q))
    return out


def admits(accept: str | None, media_type: str) -> bool:
    """Whether an `Accept` value admits `media_type` with a positive quality: the most
    specific matching range decides (exact > `type/*` > `*/*`; the highest q among equals).
    No `Accept` at all admits anything (RFC 9110 §12.5.1)."""
    if accept is None:
        return True
    main, _, sub = media_type.lower().partition("/")
    best: tuple[int, float] | None = None
    for r_main, r_sub, q in _ranges(accept):
        if (r_main, r_sub) == (main, sub):
            rank = 2
        elif r_main == main and r_sub == "*":
            rank = 1
        elif (r_main, r_sub) == ("*", "*"):
            rank = 0
        else:
            continue
        if best is None or (rank, q) > best:
            best = (rank, q)
    return best is not None and best[1] > 0


def admits_protobuf(accept: str | None) -> bool:
    return admits(accept, MEDIA_TYPE)


def served(exchange: Exchange) -> Binding | None:
    """The binding the answer was framed in, by its `Content-Type` (as a consumer picks its
    parser, case and parameters aside); None for anything else (JSON, HTML, no answer)."""
    kind = media_type(exchange.response_headers.get("content-type", ""))
    if kind == MEDIA_TYPE:
        return "protobuf"
    if kind == SSE_ACCEPT:
        return "sse"
    return None


def request_accept(exchange: Exchange) -> str | None:
    return header(exchange.request_headers, "accept")


def looks_framed(prefix: bytes) -> bool:
    """Whether a body starts with one whole protobuf frame that decodes as an event (a
    4-byte big-endian length, then that many bytes of a message with a type): how a
    protobuf answer under another media type is recognised. A frame longer than the kept
    prefix cannot be told, and is not claimed."""
    payload = first_frame(prefix)
    if not payload:
        return False
    from agui_conformance.protobuf.codec import decode_event  # only for a suspect answer

    try:
        event = decode_event(payload)
    except Exception:  # not protobuf at all: whatever it is, not this rule's
        return False
    return isinstance(event, dict) and isinstance(event.get("type"), str)


def framed_unlabelled(exchange: Exchange) -> bool:
    """Whether a run was answered with protobuf frames under a media type that is neither
    SSE nor protobuf, to a client that admitted protobuf (its body is then no SSE to read)."""
    return (
        exchange.status == 200
        and served(exchange) is None
        and admits_protobuf(request_accept(exchange))
        and looks_framed(exchange.raw_prefix)
    )


def mislabelled(exchange: Exchange) -> list[Hit]:
    """PROTO-005 for `framed_unlabelled` (the client cannot select the parser), said
    instead of the generic wrong-content-type finding."""
    if not framed_unlabelled(exchange):
        return []
    sent = exchange.response_headers.get("content-type", "(none)")
    return [
        Hit(
            "proto-content-type-inexact",
            None,
            f"The run was answered with protobuf frames under Content-Type {sent!r}, not "
            f"{MEDIA_TYPE!r}: a consumer selects its parser by this header, so it cannot read "
            "them.",
        )
    ]


def check(exchange: Exchange) -> list[Hit]:
    """The negotiation of one answered run (a 200): protobuf only when admitted, and then
    under exactly its media type."""
    if exchange.status != 200 or served(exchange) != "protobuf":
        return []
    hits: list[Hit] = []
    accept = request_accept(exchange)
    sent = exchange.response_headers.get("content-type", "")
    if not admits_protobuf(accept):
        hits.append(
            Hit(
                "proto-not-admitted",
                None,
                f"The request's Accept {accept!r} does not admit {MEDIA_TYPE}, yet the run was "
                f"answered with Content-Type {sent!r}: a client that did not ask for protobuf "
                "must get SSE.",
            )
        )
    if sent.strip() != MEDIA_TYPE:
        hits.append(
            Hit(
                "proto-content-type-inexact",
                None,
                f"The protobuf answer's Content-Type is {sent!r}, not exactly {MEDIA_TYPE!r}: "
                "a consumer selects its parser by this header.",
            )
        )
    return hits
