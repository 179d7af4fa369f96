"""Small misbehaving AG-UI agents as real servers (uvicorn on a free loopback port), for the
tests of verdicts: what a real agent does wrong must end as the agent's finding or status,
never as a PASS and never as our harness error."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Run `app` under uvicorn in a thread; yield its URL; stop it on exit."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test agent did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)


def conformant_run(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A minimal legal run echoing the request's ids."""
    thread, run = body.get("threadId"), body.get("runId")
    return [
        {"type": "RUN_STARTED", "threadId": thread, "runId": run, "protocolVersion": "1.1"},
        {"type": "TEXT_MESSAGE_START", "messageId": f"m-{run}", "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": f"m-{run}", "delta": "hello"},
        {"type": "TEXT_MESSAGE_END", "messageId": f"m-{run}"},
        {"type": "RUN_FINISHED", "threadId": thread, "runId": run},
    ]


async def _json(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def agent(
    on_run: Callable[[dict[str, Any]], list[dict[str, Any]]],
    *,
    validate: bool = True,
) -> FastAPI:
    """An agent that refuses what is not a JSON object with the three required members
    (400), and streams `on_run(body)` for the rest. `on_run` may raise: FastAPI then
    answers 500, as a real agent with an unhandled exception does."""
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        body = await _json(request)
        required = ("threadId", "runId", "messages")
        if body is None or (validate and not all(k in body for k in required)):
            return Response('{"detail": "invalid input"}', 400, media_type="application/json")
        kinds = zip(required, (str, str, list), strict=True)
        if validate and not all(isinstance(body[k], t) for k, t in kinds):
            return Response('{"detail": "invalid input"}', 422, media_type="application/json")
        events = on_run(body)  # may raise: an unhandled exception is a 500

        async def stream() -> AsyncIterator[bytes]:
            for event in events:
                yield sse(event)

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


def crashes_without_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A real bug: `len(body.get("tools"))` on an input without `tools`."""
    tools: Any = body.get("tools")
    _ = len(tools)
    return conformant_run(body)


def raw_error_without_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The same bug, caught and sent as RUN_ERROR with the exception's text."""
    if "tools" not in body:
        started = conformant_run(body)[0]
        message = "object of type 'NoneType' has no len()"
        return [started, {"type": "RUN_ERROR", "message": message}]
    return conformant_run(body)


def login_page() -> FastAPI:
    """A front end or an auth proxy: every POST gets a 200 HTML login page."""
    app = FastAPI()

    @app.post("/")
    async def page() -> HTMLResponse:
        return HTMLResponse("<!DOCTYPE html><html><body><form>Sign in</form></body></html>")

    return app


def started_then_silent() -> FastAPI:
    """RUN_STARTED, then nothing (the model call hangs)."""
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> StreamingResponse:
        body = await _json(request) or {}

        async def stream() -> AsyncIterator[bytes]:
            yield sse(conformant_run(body)[0])
            await _sleep(30)

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


@contextlib.contextmanager
def silent_server(accepted: list[int] | None = None) -> Iterator[str]:
    """Accepts connections, reads the request, never answers (a hung worker); counts the
    connections in `accepted`."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)
            if accepted is not None:
                accepted.append(1)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


def endless_valid() -> FastAPI:
    """A run that streams valid text deltas without end (a model stuck in a loop)."""
    import asyncio

    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> StreamingResponse:
        body = await _json(request) or {}

        async def stream() -> AsyncIterator[bytes]:
            yield sse(conformant_run(body)[0], conformant_run(body)[1])
            delta = sse({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-x", "delta": "loop "})
            chunk = delta.replace(b"m-x", f"m-{body.get('runId')}".encode()) * 200
            while True:
                yield chunk
                await asyncio.sleep(0)  # let the server serve others meanwhile

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app
