"""Running a coroutine to completion from synchronous code.

`asyncio.run` (CPython 3.11 at least) formats the main task's repr, its result included, when
it checks the SIGINT handler on the way out (`signal.getsignal` turns the handler into an
enum and formats the failure). For a suite's results that is a repr of every event of the
reported runs: 9 ms for one long case, far more for a long recording. `run` hands the result
back outside the task, so its repr is never built.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, returning main's result without the task ever holding it."""
    box: list[T] = []

    async def holder() -> None:
        box.append(await main)

    asyncio.run(holder())
    return box[0]
