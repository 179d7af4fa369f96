"""Every fault mode of the reference agent, run as a user runs the suite: the CLI with its
default options and `--fail-on info`. Each run names the fault's rule, exits 1, and ends
within 3 minutes (the stall and hang faults included: the deadlines and the fail-fast on an
unresponsive agent bound them)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from reference_agent.faults import FAULT_HEADER, FAULTS
from reference_agent.server import AgentConfig, running_agent

pytestmark = pytest.mark.slow
BOUND_S = 180.0  # the bound for one run with default options


def _own_case(path: Path, command: str, tools: bool) -> None:
    """The fault's own command as a case file (`--cases DIR`), as a user adds a case."""
    request: dict[str, Any] = {
        "threadId": "${thread}",
        "runId": "${run}",
        "protocolVersion": "1.1",
        "state": {"counter": 1},
        "messages": [{"id": "${id}", "role": "user", "content": command}],
    }
    if tools:
        request["tools"] = [
            {
                "name": "show_card",
                "description": "a card",
                "parameters": {"type": "object", "properties": {}},
            }
        ]
    case = {"id": "fault-probe", "title": "the fault's own command", "request": request}
    path.mkdir(parents=True, exist_ok=True)
    (path / "fault-probe.yaml").write_text(yaml.safe_dump(case), encoding="utf-8")


def _run(url: str, name: str, tmp: Path) -> tuple[str, int, float, set[str], str]:
    fault = FAULTS[name]
    cases = tmp / name / "cases"
    _own_case(cases, fault.command, fault.needs_tools)
    report = tmp / name / "report.json"
    command = [
        sys.executable, "-m", "agui_conformance.cli", "run", "--agent-url", url,
        "--agent-header", f"{FAULT_HEADER}: {name}", "--profile", fault.profile,
        "--fail-on", "info", "--cases", str(cases), "--no-html", "--json", str(report),
        *fault.options,  # an opt-in check the fault's case needs (--behaviour)
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=BOUND_S + 60)
    elapsed = time.monotonic() - started
    rules: set[str] = set()
    if report.exists():
        data = json.loads(report.read_text())
        rules = {f["rule"] for c in data["cases"] for r in c["runs"] for f in r["findings"]}
    return name, done.returncode, elapsed, rules, done.stdout[-2000:] + done.stderr[-2000:]


def test_every_fault_mode_fails_the_cli_run_naming_its_rule(tmp_path: Path) -> None:
    with (
        running_agent(AgentConfig(allow_faults=True)) as agent,
        ThreadPoolExecutor(max_workers=4) as pool,
    ):
        outcomes = list(pool.map(lambda n: _run(agent.url, n, tmp_path), sorted(FAULTS)))
    problems = []
    for name, code, elapsed, rules, output in outcomes:
        if code != 1 or FAULTS[name].rule not in rules or elapsed > BOUND_S:
            problems.append(
                f"{name}: exit {code}, {elapsed:.0f} s, rules {sorted(rules)}\n{output}"
            )
    assert not problems, "\n\n".join(problems)
