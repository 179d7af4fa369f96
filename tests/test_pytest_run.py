"""The pytest face's shared engine run (`pytest_run.SharedRun`) without pytest: one
process runs the engine, another reads its report, and a waiter never hangs on a
runner that is gone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agui_conformance import pytest_run
from agui_conformance.model import CaseResult, Report, ToolInfo
from agui_conformance.pytest_run import EngineProblem, Options, Selection, SharedRun


def _options() -> Options:
    return Options(url="http://127.0.0.1:9/", headers={}, header_env={}, examples=0)


def _report() -> Report:
    case = CaseResult(id="c", title="t", requirements=[], expect="run", status="passed")
    return Report(tool=ToolInfo(version="0"), target="x", profile="spec", cases=[case])


def test_the_first_process_runs_the_engine_once_and_others_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Selection] = []

    def engine(opts: Options, selection: Selection) -> Report:
        calls.append(selection)
        return _report()

    monkeypatch.setattr(pytest_run, "run_engine", engine)
    first, second = SharedRun(tmp_path, _options()), SharedRun(tmp_path, _options())
    assert first.result("c", Selection(cases=[])).status == "passed"
    assert second.result("c", Selection(cases=[])).status == "passed"
    assert len(calls) == 1  # the second found the lock and read the report
    with pytest.raises(EngineProblem, match="no case 'other'"):
        second.result("other", Selection(cases=[]))


def test_a_waiter_stops_when_the_runner_ended_without_a_report(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (tmp_path / pytest_run.LOCK_FILE).write_text(gone.stdout.strip())
    with pytest.raises(EngineProblem, match="ended without a report"):
        SharedRun(tmp_path, _options()).result("c", Selection(cases=[]))


def test_the_runners_problem_reaches_every_waiter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def engine(opts: Options, selection: Selection) -> Report:
        raise ValueError("capabilities file nope.json: not found")

    monkeypatch.setattr(pytest_run, "run_engine", engine)
    with pytest.raises(EngineProblem, match=r"nope\.json"):
        SharedRun(tmp_path, _options()).result("c", Selection(cases=[]))
    with pytest.raises(EngineProblem, match=r"nope\.json"):
        SharedRun(tmp_path, _options()).result("c", Selection(cases=[]))
