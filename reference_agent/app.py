"""The reference agent's HTTP surface (FastAPI): AG-UI 1.1 over HTTP + SSE and HTTP + Protobuf.

Owns the transport side: content negotiation (protobuf when `Accept` admits it:
`binary`), input validation with the same
`schemas/` the validator uses, errors as RFC 9457 problem documents before
any stream starts, auth, body limits, SSE framing flushed event by event,
and fault injection. What to say is `behaviours`; how to break it is `faults`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.requests import ClientDisconnect

from agui_conformance.hits import Hit
from agui_conformance.schema import get_checker
from reference_agent import behaviours, binary, faults
from reference_agent.behaviours import COMMANDS, Plan
from reference_agent.inputs import STRIP_LIMIT, UNRECOGNISED, Unstrippable
from reference_agent.limits import BODY_SECONDS
from reference_agent.stream import FAILED, STALL_SECONDS, Event, encode, sse

__all__ = ["CAPABILITIES", "AgentConfig", "create_app", "encode", "problem"]

log = logging.getLogger("reference_agent")

MAX_BODY = 1 << 20  # 1 MiB
PLANNERS = 4  # worker threads parsing, checking and planning run inputs at once
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}
_NAMED = {name.split()[0]: name for name in COMMANDS if name[0].isalpha()}

CAPABILITIES: dict[str, Any] = {
    "identity": {
        "name": "agui-conformance reference agent",
        "type": "reference",
        "description": "A deterministic AG-UI 1.1 agent for conformance testing",
        "version": "0.1.0",
        "provider": "agui-conformance",
    },
    "transport": {"streaming": True, "httpBinary": True},
    "tools": {
        "supported": True,
        "clientProvided": True,
        "items": [
            {
                "name": "lookup",
                "description": "Looks a query up",
                "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
            }
        ],
    },
    "state": {"snapshots": True, "deltas": True},
    "multiAgent": {"supported": True, "subagents": [{"name": "researcher"}]},
    "reasoning": {"supported": True, "streaming": True, "encrypted": True},
    "humanInTheLoop": {"supported": True, "interrupts": True},
}


@dataclass(frozen=True)
class AgentConfig:
    token: str | None = None
    token_header: str = "Authorization"
    fault: str | None = None
    allow_faults: bool = False
    max_body: int = MAX_BODY
    body_seconds: float = BODY_SECONDS  # the whole body, from the end of the headers
    protobuf: bool = True  # answer protobuf when Accept admits it (HTTP + Protobuf binding)


def problem(
    status: int, title: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _authorized(config: AgentConfig, request: Request) -> bool:
    if config.token is None:
        return True
    sent = request.headers.get(config.token_header, "")
    expected = config.token
    if config.token_header.lower() == "authorization":
        expected = f"Bearer {config.token}"
    return hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode("utf-8"))


async def _read_body(request: Request, limit: int) -> bytes | None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def create_app(config: AgentConfig | None = None) -> FastAPI:
    """The ASGI app. Serve it with uvicorn (see `reference_agent.server`)."""
    config = config or AgentConfig()
    if config.fault is not None and config.fault not in faults.FAULTS:
        raise ValueError(f"unknown fault {config.fault!r}")
    app = FastAPI(title="agui-conformance reference agent", docs_url=None, redoc_url=None)

    @app.get("/agents")
    async def list_agents() -> dict[str, Any]:
        agents = [{"name": "default", "path": "/", "description": "chooses by the last message"}]
        agents += [
            {"name": n, "path": f"/agents/{n}", "description": COMMANDS[c]}
            for n, c in _NAMED.items()
        ]
        return {"agents": agents, "commands": COMMANDS}

    @app.get("/capabilities")
    async def capabilities() -> dict[str, Any]:
        return CAPABILITIES

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/")
    async def run_default(request: Request) -> Response:
        return await _run(request, config, None)

    @app.post("/agents/{name}")
    async def run_named(name: str, request: Request) -> Response:
        if name not in _NAMED:
            return problem(404, "Unknown agent", f"No agent named {name!r}; see GET /agents.")
        return await _run(request, config, name)

    return app


async def _run(request: Request, config: AgentConfig, agent: str | None) -> Response:
    if not _authorized(config, request):
        scheme = "Bearer" if config.token_header.lower() == "authorization" else "ApiKey"
        return problem(
            401,
            "Unauthorized",
            f"Send valid credentials in {config.token_header}.",
            headers={"WWW-Authenticate": f'{scheme} realm="agui-agent"'},
        )
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return problem(
            415,
            "Unsupported Media Type",
            "The run input must be sent as Content-Type: application/json.",
        )
    try:
        async with asyncio.timeout(config.body_seconds):
            body = await _read_body(request, config.max_body)
    except TimeoutError:
        log.warning("a request body did not arrive within %g s: 408", config.body_seconds)
        return problem(
            408,
            "Request Timeout",
            f"The body must arrive within {config.body_seconds:g} s of the headers.",
            headers={"Connection": "close"},
        )
    except ClientDisconnect:
        log.warning("a client left before sending its whole request body")
        return Response(status_code=400)  # nobody is left to read it
    if body is None:
        return problem(413, "Content Too Large", f"The run input exceeds {config.max_body} bytes.")
    # Parsing, checking and planning cost seconds of CPU on a large input: in a
    # worker thread (PLANNERS at once), so the event loop keeps serving.
    limiter = getattr(request.app.state, "planners", None)
    if limiter is None:
        limiter = request.app.state.planners = anyio.CapacityLimiter(PLANNERS)
    prepared = await anyio.to_thread.run_sync(
        _prepare, body, _fault(request, config), agent, limiter=limiter
    )
    if isinstance(prepared, Response):
        return prepared
    events, delay, framing = prepared
    if framing == "stall":
        await asyncio.sleep(STALL_SECONDS)
    if binary.wants_protobuf(request.headers.get("accept"), framing, config.protobuf):
        return StreamingResponse(
            binary.frames(events, delay, framing, request),
            media_type=binary.content_type(framing),
            headers=SSE_HEADERS,
        )
    return StreamingResponse(
        sse(events, delay, framing, request), media_type="text/event-stream", headers=SSE_HEADERS
    )


def _prepare(
    body: bytes, fault: faults.Fault | None, agent: str | None
) -> Response | tuple[Iterator[Event], float, str | None]:
    """The body parsed, checked and planned: a refusal, or the events to stream
    (made as they are read), the delay between them and the framing."""
    try:
        run_input = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        if fault is not None and fault.framing == "500-on-bad-input":
            return problem(500, "Internal Server Error", "The agent failed to read the input.")
        return problem(400, "Malformed JSON", f"The body is not JSON: {err.msg}.")
    # Unrecognised material is stripped, never a reason to refuse (PROC-002); a
    # malformed known value is (PROC-003).
    checked = get_checker().check_input(run_input)
    hits = [h for h in checked if h.rule not in UNRECOGNISED]
    if hits and fault is not None and fault.framing == "500-on-bad-input":
        return problem(500, "Internal Server Error", "The agent failed to read the input.")
    if hits:
        return _invalid(hits)
    assert isinstance(run_input, dict)
    version = run_input.get("protocolVersion")
    other_major = isinstance(version, str) and re.match(r"^\d+\.\d+$", version)
    if other_major and not str(version).startswith("1."):
        return problem(
            400,
            "Unsupported protocol version",
            f"This agent implements AG-UI 1.x; the input declares {version}.",
        )
    if fault is not None and fault.framing == "refuse-resume" and run_input.get("resume"):
        return problem(
            422,
            "Unknown interrupt",
            "The resume list names an interrupt this agent did not raise.",
        )
    if fault is not None and fault.needs_tools and not run_input.get("tools"):
        fault = None  # the fault needs a frontend tool to break; nothing to break without one
    try:
        plan = behaviours.plan(run_input, agent=agent, hits=checked)
        events = faults.apply(fault, plan.events, plan.input)
    except Unstrippable as err:
        log.warning("run input still invalid after stripping: %s", err)
        return _invalid(
            err.hits,
            "The body carries more unrecognised material than this agent strips "
            f"({STRIP_LIMIT} items in one message, tool, context "
            "or resume entry).",
        )
    except Exception:  # a bug of ours: a safe RUN_ERROR, details in our log only
        log.exception("behaviour failed")
        plan = Plan(delay=0.0)
        started = {
            "type": "RUN_STARTED",
            "threadId": run_input["threadId"],
            "runId": run_input["runId"],
            "protocolVersion": behaviours.PROTOCOL_VERSION,
        }
        events = iter([started, dict(FAILED)])
    if plan.stripped:
        shown = ", ".join(plan.stripped[:10]) + (" ..." if len(plan.stripped) > 10 else "")
        log.warning(
            "stripped %d unrecognised member(s) of the run input: %s", len(plan.stripped), shown
        )
    return events, plan.delay, fault.framing if fault is not None else None


def _fault(request: Request, config: AgentConfig) -> faults.Fault | None:
    name = config.fault
    if config.allow_faults:
        name = request.headers.get(faults.FAULT_HEADER) or name
    return faults.FAULTS.get(name) if name else None


def _invalid(
    hits: list[Hit], detail: str = "The body is not a valid AG-UI RunAgentInput."
) -> JSONResponse:
    errors = [{"pointer": h.pointer or "", "detail": h.message} for h in hits[:20]]
    return problem(422, "Invalid RunAgentInput", detail, errors=errors)
