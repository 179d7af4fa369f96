"""What the forwarding path hands to the judging side: one `Tap` per exchange.

The forwarder only appends (arrival time, bytes) and counts; it never parses, never waits
and never takes a lock that the judging side holds for long. Everything the taps of all
exchanges hold, not yet judged, counts against one byte budget (`Budget`): past it, the
exchange that would exceed it is dropped from judging (its bytes still go to the client)
and the drop is counted for the report. An ended tap goes on the `ended` queue (one item
per exchange) for the judging thread.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

REQUEST_CAP = 4 << 20  # bytes of a request body kept to parse the RunAgentInput
EXCHANGE_CAP = 16 << 20  # bytes of one answer kept for judging (the runner's cap)
BUDGET = 64 << 20  # bytes held for judging over all exchanges at once


class Budget:
    """Bytes held by taps and not yet judged, against a limit (thread-safe)."""

    def __init__(self, limit: int = BUDGET) -> None:
        self.limit = limit
        self.held = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if self.held + size > self.limit:
                return False
            self.held += size
            return True

    def give_back(self, size: int) -> None:
        with self._lock:
            self.held -= size


@dataclass
class Tap:
    """One exchange as the forwarder saw it. Times are `time.monotonic()` seconds."""

    method: str
    path: str
    request_headers: dict[str, str]  # as forwarded, secrets included: never shown as is
    started: float = field(default_factory=time.monotonic)
    request_body: bytearray = field(default_factory=bytearray)
    request_size: int = 0
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    headers_at: float | None = None
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    size: int = 0  # every byte of the answer forwarded, kept or not
    kept: int = 0  # bytes in `chunks`, counted in the budget
    ending: str = "complete"  # complete | disconnected | client-closed | idle-timeout
    #                           | unreachable | too-large (what was kept)
    failure: str | None = None
    dropped: bool = False  # the budget was full: not judged
    ended_at: float = 0.0

    def add_request(self, chunk: bytes) -> None:
        self.request_size += len(chunk)
        room = REQUEST_CAP - len(self.request_body)
        if room > 0:
            self.request_body += chunk[:room]

    @property
    def request_complete(self) -> bool:
        return self.request_size <= REQUEST_CAP

    def add(self, chunk: bytes, budget: Budget) -> None:
        """One chunk of the answer as forwarded (the forwarder's only per-chunk work)."""
        now = time.monotonic()
        self.size += len(chunk)
        if self.dropped or self.ending == "too-large":
            return
        if self.kept + len(chunk) > EXCHANGE_CAP:
            self.ending = "too-large"
            return
        if not budget.take(len(chunk)):
            self.dropped = True
            return
        self.kept += len(chunk)
        self.chunks.append((now, chunk))

    def end(self, ending: str | None = None) -> None:
        if ending is not None and self.ending != "too-large":
            self.ending = ending
        self.ended_at = time.monotonic()


class Ended:
    """The queue of ended taps, read by the judging thread."""

    def __init__(self) -> None:
        self.items: queue.SimpleQueue[Tap | None] = queue.SimpleQueue()

    def put(self, tap: Tap) -> None:
        self.items.put(tap)

    def close(self) -> None:
        self.items.put(None)
