"""pytest plugin (entry point `pytest11: agui`).

For now it offers `assert_conformant` to users' own tests and the
`agui_validate` fixture; the live-agent options (`--agent-url` and friends)
arrive with the runner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from agui_conformance.model import Level, ValidationResult
from agui_conformance.validator import validate_events


class ConformanceError(AssertionError):
    """Raised by `assert_conformant` with every finding at or above the threshold."""


def assert_conformant(
    events: Iterable[object],
    *,
    request: Any = None,
    profile: str = "spec",
    fail_on: Level = Level.ERROR,
) -> ValidationResult:
    """Validate `events`; raise `ConformanceError` listing findings at or above `fail_on`."""
    result = validate_events(events, request=request, profile=profile)
    bad = [f for f in result.findings if f.level.rank >= fail_on.rank]
    if bad:
        lines = [f"{len(bad)} finding(s) at or above {fail_on.value} (profile {profile}):"]
        for f in bad:
            where = f"event {f.index}" if f.index is not None else "stream"
            lines.append(f"  {f.level.value} {f.rule} @{where}: {f.message}")
            lines.append(f"    fix: {f.hint}")
        raise ConformanceError("\n".join(lines))
    return result


@pytest.fixture
def agui_validate() -> Callable[..., ValidationResult]:
    """The validator as a fixture: `agui_validate(events, request=..., profile=...)`."""
    return validate_events


@pytest.fixture(scope="session")
def reference_agent() -> Any:
    """The reference agent, live on a free loopback port for the whole session.

    Yields an object with `.url` (e.g. "http://127.0.0.1:54321/"), `.host`, `.port`.
    """
    from reference_agent.server import running_agent

    with running_agent() as agent:
        yield agent
