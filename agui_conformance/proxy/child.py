"""Judging in a child process: the forwarder's process keeps its interpreter to itself.

A judging thread in the forwarder's own process shares the GIL with the event loop: each
time the loop comes back from a socket call while a run is being judged, it waits for the
GIL (up to the switch interval), and at 50 concurrent streams that wait was the largest
part of the proxy's added tail latency (benchmarks/README.md, `proxy_overhead.py`). Here
the `Book`'s thread only sends each ended `Tap` down a pipe and waits for the answer with
the GIL released; a child process (started with `spawn`, so it inherits no threads or
sockets of the proxy) runs `Book.judge` on it and sends back the case, already pickled, and
its line. The child is killed and started again when it dies or takes longer than
`TIMEOUT`: that exchange is counted as failed to judge, the traffic never notices.

Owns the child and the pipe; knows nothing of sockets or rules.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
import signal
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from agui_conformance.model import Level
from agui_conformance.proxy.tap import Tap

TIMEOUT = 120.0  # seconds one exchange may take to judge (a 16 MiB answer takes seconds)
START_TIMEOUT = 60.0  # seconds the child may take to start and import what judging needs


@dataclass(frozen=True)
class Settings:
    """What the child's `Book` is built with (secrets included: it scrubs them itself)."""

    upstream: str
    profile: str
    fail_on: Level
    agent_headers: dict[str, str]


@dataclass
class Judged:
    """One exchange as the child judged it."""

    case: bytes | None  # the pickled CaseResult; None: traffic that is no run
    line: str | None  # the exchange's printable line
    serial: int  # the last case number used
    counts: Counter[str] = field(default_factory=Counter)  # what to add to the book's counts


class JudgeFailed(Exception):
    """The child died, hung or raised: this exchange was not judged."""


def _child(conn: Connection, settings: Settings) -> None:
    """The child's loop: (tap, serial) in, `Judged` out; None ends it."""
    # Ctrl-C reaches the whole process group, a service manager's SIGTERM may too: the
    # proxy decides when its judge ends (after judging what had ended), not the signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from agui_conformance.proxy.book import Book
    from agui_conformance.proxy.serve import settle

    book = Book(
        settings.upstream,
        profile=settings.profile,
        fail_on=settings.fail_on,
        agent_headers=settings.agent_headers,
    )
    settle()
    conn.send("ready")
    while True:
        try:
            item = conn.recv()
        except EOFError:  # the proxy is gone
            return
        if item is None:
            return
        tap, serial = item
        before = Counter(book.counts)
        book._serial = serial
        try:
            case = book.judge(tap)
            data = None if case is None else pickle.dumps(case, pickle.HIGHEST_PROTOCOL)
            line = None if case is None else book.line(case)
        except Exception as err:  # our bug: said to the parent, the child lives on
            conn.send(f"{type(err).__name__}: {err}")
            continue
        counts = Counter(book.counts)
        counts.subtract(before)
        conn.send(Judged(data, line, book._serial, +counts))
        del tap, case
        gc.collect(0)


class JudgeChild:
    """One child process judging one exchange at a time (used from one thread)."""

    def __init__(self, settings: Settings, timeout: float = TIMEOUT) -> None:
        self.settings = settings
        self.timeout = timeout
        self.restarts = 0
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_child, args=(theirs, self.settings), name="agui-proxy-judge", daemon=True
        )
        try:
            process.start()
        except OSError as err:  # out of processes or descriptors
            ours.close()
            theirs.close()
            raise JudgeFailed(f"the judging process could not start ({err})") from err
        theirs.close()
        self._process, self._conn = process, ours
        if not ours.poll(START_TIMEOUT):
            self._kill()
            raise JudgeFailed(f"the judging process did not start in {START_TIMEOUT:g} s")
        try:
            ours.recv()  # "ready"
        except (EOFError, OSError) as err:
            self._kill()
            raise JudgeFailed("the judging process died while starting") from err
        return ours

    def start(self) -> None:
        if self._conn is None:
            self._start()

    def judge(self, tap: Tap, serial: int) -> Judged:
        conn = self._conn or self._start()
        try:
            conn.send((tap, serial))
            if not conn.poll(self.timeout):
                self._restart()
                raise JudgeFailed(f"judging took longer than {self.timeout:g} s")
            answer: Any = conn.recv()
        except (EOFError, OSError, pickle.PickleError) as err:
            self._restart()
            raise JudgeFailed(f"the judging process died ({type(err).__name__})") from err
        if isinstance(answer, str):
            raise JudgeFailed(answer)
        assert isinstance(answer, Judged)
        return answer

    def _restart(self) -> None:
        self.restarts += 1
        self._kill()

    def _kill(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            process.kill()
            process.join(5)

    def close(self, timeout: float = 5.0) -> None:
        """Ask the child to end; kill it if it does not within `timeout` seconds."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send(None)
            conn.close()
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join(5)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None
