"""Users' own case folders: `run --cases DIR` and `pytest --agui-cases DIR`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agui_conformance.cli import main
from reference_agent.server import running_agent

pytest_plugins = ["pytester"]

OWN_CASE = """\
id: my-weather-tool
title: Our agent calls the weather card tool for a weather question
requirements: [TOOL-013, TOOL-015]
expect: run
request:
  threadId: ${thread}
  runId: ${run}
  messages:
    - {id: "${id}", role: user, content: "tool: show_weather_card"}
  tools:
    - name: show_weather_card
      description: Render a weather card
      parameters: {type: object, properties: {city: {type: string}}, required: [city]}
then:
  - continue: tool-results
"""


def _folder(tmp_path: Path, text: str = OWN_CASE, name: str = "my-weather-tool.yaml") -> Path:
    folder = tmp_path / "my-cases"
    folder.mkdir()
    (folder / name).write_text(text)
    return folder


def test_run_adds_my_cases_to_the_built_in_ones(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    outcome = CliRunner().invoke(
        main,
        ["run", "--cases", str(_folder(tmp_path)), "-k", "weather", "--examples", "0",
         "--no-html", "--json", str(out)],
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    (case,) = json.loads(out.read_text())["cases"]
    assert case["id"] == "my-weather-tool" and case["status"] == "passed"
    assert len(case["runs"]) == 2  # the call, then the run that uses its result


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        (OWN_CASE.replace("my-weather-tool", "minimal-input"), "x.yaml", "already built in"),
        ("id: Bad Id\ntitle: x\nrequest: {}\n", "bad.yaml", "bad.yaml"),
        (OWN_CASE, "notes.txt", "holds no *.yaml case"),
    ],
)
def test_bad_case_folders_are_usage_errors(
    tmp_path: Path, text: str, name: str, message: str
) -> None:
    outcome = CliRunner().invoke(
        main, ["run", "--cases", str(_folder(tmp_path, text, name)), "--no-html"]
    )
    assert outcome.exit_code == 2 and message in outcome.output, outcome.output


def test_pytest_runs_my_cases_too(pytester: pytest.Pytester) -> None:
    folder = _folder(pytester.path)
    with running_agent() as agent:
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--agent-url", agent.url, "--agui-cases", str(folder),
            "-k", "my-weather-tool", "-v",
        )  # fmt: skip
    result.assert_outcomes(passed=2, skipped=1)  # TOOL-015: no rule decides it alone
    result.stdout.fnmatch_lines(["*::my-weather-tool[[]TOOL-013[]] PASSED*"])
