"""Running the reference agent: uvicorn in the foreground, or in a background
thread on a free loopback port (for tests, fixtures and `agui-conformance run`)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from reference_agent.app import AgentConfig, create_app
from reference_agent.limits import Limits


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host`:`port` (IPv6 when the host holds a colon), as uvicorn
    would bind it; OSError (socket.gaierror for a host that does not resolve) when it
    cannot be, so the caller says so before anything claims the server is up."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _server(
    config: AgentConfig | None,
    host: str,
    port: int,
    limits: Limits | None,
    **options: Any,
) -> uvicorn.Server:
    """The agent's uvicorn server within `limits` (`options`: log level, lifespan)."""
    return uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            host=host,
            port=port,
            access_log=False,
            **options,
            **(limits or Limits()).uvicorn_options(),
        )
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    config: AgentConfig | None = None,
    limits: Limits | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve in the foreground until interrupted, within `limits` (see `limits`); on
    `sock` when given (already bound, see `bind`)."""
    server = _server(config, host, port, limits, log_level="info")
    server.run(sockets=[sock] if sock is not None else None)


@dataclass(frozen=True)
class RunningAgent:
    url: str
    host: str
    port: int


@contextlib.contextmanager
def running_agent(
    config: AgentConfig | None = None,
    host: str = "127.0.0.1",
    startup_timeout: float = 10.0,
    limits: Limits | None = None,
) -> Iterator[RunningAgent]:
    """Start the agent on a free port in a background thread; stop it on exit."""
    port = free_port(host)
    server = _server(config, host, port, limits, log_level="warning", lifespan="off")
    thread = threading.Thread(target=server.run, name=f"reference-agent-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the reference agent did not start on {host}:{port}")
        time.sleep(0.01)
    try:
        yield RunningAgent(url=f"http://{host}:{port}/", host=host, port=port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class SpawnedAgent:
    url: str
    process: subprocess.Popen[bytes]
    log: Path  # everything the server printed

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def spawned_agent(
    *args: str, env: dict[str, str] | None = None, startup_timeout: float = 30.0
) -> Iterator[SpawnedAgent]:
    """`agui-conformance serve ARGS` in its own process on a free port, ready to serve.

    Its output goes to a file: a pipe nobody reads would fill up and stall the server."""
    import tempfile

    import httpx

    port = free_port()
    handle, name = tempfile.mkstemp(prefix="reference-agent-", suffix=".log")
    log = Path(name)
    with os.fdopen(handle, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "agui_conformance.cli", "serve", "--port", str(port), *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                httpx.get(url + "health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the reference agent did not start") from None
                time.sleep(0.1)
        yield SpawnedAgent(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # wedged (its loop blocked): no more waiting
            process.kill()
            process.wait(timeout=10)
