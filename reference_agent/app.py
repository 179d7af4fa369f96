"""The reference agent's HTTP surface (FastAPI): AG-UI 1.1 over HTTP + SSE.

Owns the transport side: content negotiation, input validation with the same
`schemas/` the validator uses, errors as RFC 9457 problem documents before
any stream starts, auth, body limits, SSE framing flushed event by event,
and fault injection. What to say is `behaviours`; how to break it is `faults`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from agui_conformance.hits import Hit
from agui_conformance.schema import get_checker
from reference_agent import behaviours, faults
from reference_agent.behaviours import COMMANDS, Plan
from reference_agent.inputs import STRIP_LIMIT, UNRECOGNISED, Unstrippable

log = logging.getLogger("reference_agent")

MAX_BODY = 1 << 20  # 1 MiB
STALL_SECONDS = 45.0  # fault modes stall and hang: longer than every default deadline
#                        (first byte 15 s, idle 30 s), so they end as unresponsive
BUFFER_SECONDS = 1.0  # fault mode buffered: the burst comes after this
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
    "transport": {"streaming": True, "httpBinary": False},
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


def problem(
    status: int, title: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def encode(event: dict[str, Any], framing: str | None) -> bytes:
    payload = orjson.dumps(event)
    if framing == "crlf":
        return b"data: " + payload + b"\r\n\r\n"
    return b"data: " + payload + b"\n\n"


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
    body = await _read_body(request, config.max_body)
    if body is None:
        return problem(413, "Content Too Large", f"The run input exceeds {config.max_body} bytes.")
    try:
        run_input = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        broken = _fault(request, config)
        if broken is not None and broken.framing == "500-on-bad-input":
            return problem(500, "Internal Server Error", "The agent failed to read the input.")
        return problem(400, "Malformed JSON", f"The body is not JSON: {err.msg}.")
    # Unrecognised material is stripped, never a reason to refuse (PROC-002); a
    # malformed known value is (PROC-003).
    checked = get_checker().check_input(run_input)
    hits = [h for h in checked if h.rule not in UNRECOGNISED]
    fault = _fault(request, config)
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
        events = [
            {
                "type": "RUN_STARTED",
                "threadId": run_input["threadId"],
                "runId": run_input["runId"],
                "protocolVersion": behaviours.PROTOCOL_VERSION,
            },
            {"type": "RUN_ERROR", "message": "The agent failed unexpectedly.", "code": "internal"},
        ]
    if plan.stripped:
        shown = ", ".join(plan.stripped[:10]) + (" ..." if len(plan.stripped) > 10 else "")
        log.warning(
            "stripped %d unrecognised member(s) of the run input: %s", len(plan.stripped), shown
        )
    framing = fault.framing if fault is not None else None
    if framing == "stall":
        await asyncio.sleep(STALL_SECONDS)
    return StreamingResponse(
        _stream(events, plan.delay, framing, request),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


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


async def _stream(
    events: list[dict[str, Any]], delay: float, framing: str | None, request: Request
) -> AsyncIterator[bytes]:
    if framing == "buffered":
        await asyncio.sleep(BUFFER_SECONDS)  # a proxy holding the body back
        yield b"".join(encode(event, None) for event in events)
        return
    if framing == "hang":
        yield encode(events[0], None)
        await asyncio.sleep(STALL_SECONDS)
        return
    for position, event in enumerate(events):
        if delay and position:
            await asyncio.sleep(delay)
        if position % 64 == 63 and await request.is_disconnected():
            return  # the client left: stop working for nobody
        yield encode(event, framing)
        await asyncio.sleep(0)  # let the server notice a departed client between events
        if framing == "no-data-prefix" and position == 0:
            # one extra event written without `data:`: consumers drop the line
            lost = {"type": "CUSTOM", "name": "com.agui-conformance.lost", "value": 1}
            yield orjson.dumps(lost) + b"\n\n"
