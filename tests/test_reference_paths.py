"""The reference agent passes its own suite on every path it serves, under every profile.

`/agents/error` answers every run with RUN_ERROR on purpose (it shows a client the error
path): there every case that runs must be `agent-error` (the agent's own failure, quoted),
never a protocol finding (a RUN_ERROR on an input the spec says to tolerate is that case's
refusal rule), and its verdict fails for that reason alone."""

from __future__ import annotations

import httpx
import pytest

from agui_conformance import suite
from agui_conformance.cases import load_cases
from agui_conformance.model import Level
from agui_conformance.runner import RunnerConfig
from agui_conformance.vocabulary import PROFILES
from reference_agent.server import RunningAgent, running_agent

pytestmark = pytest.mark.slow
REFUSALS = frozenset(
    {
        "input-file-handle-refused",
        "input-unusable-part-refused",
        "input-unknown-member-refused",
        "resume-unknown-interrupt-refused",
    }
)


@pytest.fixture(scope="module")
def agent() -> RunningAgent:
    with running_agent() as running:
        yield running  # type: ignore[misc]


def _paths(agent: RunningAgent) -> list[str]:
    listed = httpx.get(agent.url.rstrip("/") + "/agents", timeout=10).json()
    return sorted({entry["path"] for entry in listed["agents"]})


def test_every_path_passes_under_every_profile(agent: RunningAgent) -> None:
    paths = _paths(agent)
    assert len(paths) > 10
    cases = list(load_cases())
    failures: list[str] = []
    for path in paths:
        for profile in PROFILES:
            url = agent.url.rstrip("/") + path
            cfg = RunnerConfig(url=url, profile=profile)
            plan = suite.Plan(cases, examples=0, fail_on=Level.WARNING, fail_on_name="warning")
            report = suite.run(cfg, plan, shown_target=url)
            assert report.summary is not None
            statuses = {c.id: c.status for c in report.cases}
            if path.rstrip("/").endswith("/error"):
                # RUN_ERROR on an input the spec says to tolerate is that case's refusal
                bad = {
                    c.id: rules
                    for c in report.cases
                    if c.status not in ("passed", "agent-error", "not-applicable")
                    and (rules := [f.rule for f in c.findings if f.rule not in REFUSALS])
                }
                assert "agent-error" in statuses.values()
            else:
                bad = {
                    c.id: [f.rule for f in c.findings]
                    for c in report.cases
                    if c.status not in ("passed", "not-applicable")
                }
                if not report.summary.passed:
                    bad["(verdict)"] = [report.summary.conformance]
            if bad:
                failures.append(f"{path} [{profile}]: {bad}")
    assert not failures, "\n".join(failures)
