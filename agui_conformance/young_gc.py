"""Garbage collection while a recording is validated: the young generations only.

Validating a recording keeps a growing, long-lived memory (the state, one record per
message and tool call) and parses batch after batch of events that live for one batch.
With the collector's default policy those batches survive into the old generation and
set off full collections, each walking all of that long-lived memory again: 6-12% of
`validate`'s time on a 200,000-event stream. `YoungCollections` pauses the automatic
collector for the read and collects the two young generations after each batch (when
the batch is no longer referenced, so only what the machine kept is walked, once): a
reference cycle that is garbage by then is still freed at once; whatever survives moves
to the old generation, which is collected again, as usual, once the read is over.

Knows nothing of events: the caller says when a batch is done (`step`).
"""

from __future__ import annotations

import gc
from types import TracebackType


class YoungCollections:
    """`with YoungCollections() as collect: ... collect.step()` after each batch. A no-op
    when the collector was already disabled (the caller's choice stands)."""

    __slots__ = ("_paused",)

    def __init__(self) -> None:
        self._paused = False

    def __enter__(self) -> YoungCollections:
        self._paused = gc.isenabled()
        if self._paused:
            gc.disable()
        return self

    def step(self) -> None:
        """A batch is done: collect the young generations."""
        if self._paused:
            gc.collect(1)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._paused:
            self._paused = False
            gc.enable()
