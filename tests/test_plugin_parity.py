"""One engine, two faces: the same plan through `agui-conformance run` and through
`pytest --agent-url` gives the same case statuses, findings and conformance level,
serially and under pytest-xdist."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from reference_agent.app import AgentConfig
from reference_agent.server import running_agent

pytest_plugins = ["pytester"]


def _verdicts(report: dict[str, Any]) -> dict[str, Any]:
    """What must agree: each case's status and the rule ids of its findings (as a
    multiset), and the level reached."""
    cases = {}
    for case in report["cases"]:
        rules = Counter(f["rule"] for run in case["runs"] for f in run["findings"])
        cases[case["id"]] = (case["status"], sorted(rules.items()))
    return {"level": report["summary"]["conformance"], "cases": cases}


@pytest.mark.slow
def test_run_and_pytest_reach_the_same_verdict(pytester: pytest.Pytester) -> None:
    with running_agent(AgentConfig(fault="wrong-run-id")) as ref:
        plan = ["--agent-url", ref.url]
        capabilities = ref.url.rstrip("/") + "/capabilities"
        cli_json = pytester.path / "cli.json"
        cli = subprocess.run(
            [sys.executable, "-m", "agui_conformance.cli", "run", *plan, "--examples", "5",
             "--seed", "77", "--capabilities", capabilities, "--json", str(cli_json),
             "--no-html"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert cli.returncode == 1, cli.stdout[-2000:] + cli.stderr[-2000:]
        faces = {}
        for extra in ((), ("-n", "2")):
            out = pytester.path / f"pytest{len(extra)}.json"
            result = pytester.runpytest_subprocess(
                "-p", "no:cacheprovider", *plan, "--agui-examples", "5", "--agui-seed", "77",
                "--agui-capabilities", capabilities, "--agui-json", str(out), *extra,
            )  # fmt: skip
            assert result.ret == 1, result.stdout.str()[-3000:]
            faces[extra] = json.loads(Path(out).read_text())
    expected = _verdicts(json.loads(cli_json.read_text()))
    assert any(status == "failed" for status, _ in expected["cases"].values())
    assert {"generated-inputs", "capabilities"} <= set(expected["cases"])
    for extra, report in faces.items():
        assert _verdicts(report) == expected, extra
        assert report["seed"] == 77 and report["examples"] == 5
