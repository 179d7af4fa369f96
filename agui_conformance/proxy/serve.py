"""Running the proxy: uvicorn on the listen address, the judging thread beside it, and the
reports written when it stops (Ctrl-C or SIGTERM: uvicorn's own graceful shutdown, open
streams given `GRACE` seconds to end)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Literal

import uvicorn

from agui_conformance.model import Level, Report
from agui_conformance.proxy.app import ProxyApp
from agui_conformance.proxy.book import KEEP, Book
from agui_conformance.redact import redact_url

GRACE = 3  # seconds open streams get to end once the proxy is asked to stop
# how long the judging thread may hold the GIL while the forwarder waits for it (CPython's
# default is 5 ms: a forwarded chunk could wait that long behind a judged stream)
SWITCH_INTERVAL = 0.0005
# uvicorn's line when the app leaves an answer incomplete on purpose (the upstream broke it)
_OWN_ABORT = "ASGI callable returned without completing response."


class _QuietAborts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _OWN_ABORT


@dataclass
class ProxyConfig:
    upstream: str
    host: str = "127.0.0.1"
    port: int = 8787
    agent_headers: dict[str, str] = field(default_factory=dict)
    profile: str = "spec"
    fail_on: Level = Level.ERROR
    keep: int = KEEP
    connect_timeout: float = 5.0
    idle_timeout: float = 300.0
    judge_process: bool = True  # judge in a child process (`proxy.child`), else a thread

    def command(self) -> str:
        words = ["agui-conformance", "proxy", "--upstream", redact_url(self.upstream)]
        words += ["--listen", f"{self.host}:{self.port}", "--profile", self.profile]
        return " ".join(words)


def build(cfg: ProxyConfig, on_line: Callable[[str], None] | None) -> tuple[ProxyApp, Book]:
    book = Book(
        cfg.upstream,
        profile=cfg.profile,
        fail_on=cfg.fail_on,
        agent_headers=cfg.agent_headers,
        keep=cfg.keep,
        on_line=on_line,
        command=cfg.command(),
        process=cfg.judge_process,
    )
    app = ProxyApp(
        cfg.upstream,
        book,
        agent_headers=cfg.agent_headers,
        connect_timeout=cfg.connect_timeout,
        idle_timeout=cfg.idle_timeout,
    )
    return app, book


class _Server(uvicorn.Server):
    """uvicorn, stopping on SIGINT or SIGTERM (a second one: at once) without re-raising the
    signal afterwards (uvicorn does, which would end the process before the reports are
    written)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True


def server(app: ProxyApp, host: str, port: int, log_level: str = "warning") -> uvicorn.Server:
    logging.getLogger("uvicorn.error").addFilter(_QuietAborts())
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        http=http_protocol(),
        log_level=log_level,
        access_log=False,
        server_header=False,  # the upstream's own headers only
        date_header=False,
        timeout_graceful_shutdown=GRACE,
    )
    return _Server(config)


def settle() -> None:
    """Import and build now what judging needs (it would be done at the first run), then
    move every object alive out of the collector's reach (`gc.freeze`). A full collection
    holds the whole process, every stream included: over the ~50,000 objects of a started
    proxy it took 57-90 ms on the loaded development machine (a pause each stream pays at
    once, at the tail of the per-event latency); over what the traffic itself keeps, a few
    thousand objects, it is short."""
    from agui_conformance import matrix, runner  # noqa: F401  (the judge's lazy imports)
    from agui_conformance.report import html, json_report  # noqa: F401
    from agui_conformance.schema import get_checker

    get_checker()
    gc.collect()
    gc.freeze()


def loop_runner() -> asyncio.Runner:
    """uvloop's event loop where it is installed (the `proxy` extra), else
    asyncio's. With httptools (`http_protocol`) it took the proxy's added p99 per event at
    50 streams under 1 ms (benchmarks/README.md, proxy_overhead.py)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def http_protocol() -> Literal["httptools", "h11"]:
    """uvicorn's parser toward the front end: httptools where installed (less work per
    forwarded chunk), else h11. httptools is the stricter: a request with a control
    character in a header value is refused with 400 and never reaches the agent (h11 lets
    it through); front ends built on browsers' fetch or HTTP libraries cannot send one."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


class ListenError(Exception):
    """The proxy could not listen on its address (uvicorn said why on its log)."""


def run(cfg: ProxyConfig, on_line: Callable[[str], None] | None = print) -> Report:
    """Serve until stopped; return the report of what was judged."""
    app, book = build(cfg, on_line)
    sys.setswitchinterval(SWITCH_INTERVAL)  # the proxy's own process
    settle()
    book.start()
    try:
        with loop_runner() as runner:
            runner.run(_serve(app, server(app, cfg.host, cfg.port)))
    except SystemExit as err:  # uvicorn exits when it cannot bind
        raise ListenError(f"could not listen on {cfg.host}:{cfg.port}") from err
    finally:
        book.stop()
    return book.report()


def _serve_in_thread(app: ProxyApp, srv: uvicorn.Server) -> None:
    with loop_runner() as runner:
        runner.run(_serve(app, srv))


async def _serve(app: ProxyApp, srv: uvicorn.Server) -> None:
    try:
        await srv.serve()
    finally:
        await app.aclose()


@contextlib.contextmanager
def running(
    cfg: ProxyConfig, on_line: Callable[[str], None] | None = None, book: Book | None = None
) -> Iterator[tuple[str, Book]]:
    """The proxy on `cfg.host` (port 0: a free one) in a background thread, for tests and
    benchmarks; yields its URL and its book; stops it (and judges what ended) on exit."""
    app, _ = build(cfg, on_line)
    if book is not None:
        app.book = book
    app.book.start()
    srv = server(app, cfg.host, cfg.port, log_level="critical")
    thread = threading.Thread(target=_serve_in_thread, args=(app, srv), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            srv.should_exit = True
            raise RuntimeError("the proxy did not start")
        time.sleep(0.01)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{cfg.host}:{port}/", app.book
    finally:
        srv.should_exit = True
        thread.join(timeout=GRACE + 5)
        app.book.stop()
