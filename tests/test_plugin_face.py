"""The pytest face as first-class as `run`: collection through a collector, ids that re-run,
one line for an unreachable agent, failures that start with the rule id, a closing
summary, well-formed JUnit, and the same verdict as `agui-conformance run`."""

from __future__ import annotations

import re
import shlex
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from agui_conformance.rules import catalog
from reference_agent.app import AgentConfig
from reference_agent.server import running_agent
from tests.hostile_agents import agent, conformant_run, free_port, serve_app

pytest_plugins = ["pytester"]

QUIET = ("-p", "no:cacheprovider", "--agui-examples", "0")


def _items_in_suite(*, capabilities: bool, examples: bool) -> int:
    from agui_conformance.cases import all_cases

    cases = all_cases()
    return sum(1 + len(c.requirements) for c in cases) + capabilities + examples


def _after_finish(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A legal run, then the same content event five times after RUN_FINISHED: five
    identical findings of one rule."""
    stray = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-late", "delta": "x"}
    return [*conformant_run(body), *[stray] * 5]


@pytest.fixture(scope="module")
def after_finish_url() -> Iterator[str]:
    with serve_app(agent(_after_finish)) as url:
        yield url


def test_collection_counts_and_lists_the_suite(pytester: pytest.Pytester) -> None:
    """`collected N items` is the suite's size and `--collect-only` lists every id; no
    request reaches an agent while collecting (the URL is closed)."""
    closed = f"http://127.0.0.1:{free_port()}/"
    expected = _items_in_suite(capabilities=False, examples=False)
    listed = pytester.runpytest_subprocess(*QUIET, "--agent-url", closed, "--collect-only", "-q")
    ids = [line for line in listed.outlines if line.startswith("agui-conformance::")]
    assert len(ids) == expected, listed.stdout.str()[-2000:]
    assert "agui-conformance::minimal-input" in ids
    assert "agui-conformance::minimal-input[LIFE-002]" in ids
    assert listed.ret == 0
    tree = pytester.runpytest_subprocess(*QUIET, "--agent-url", closed, "--collect-only")
    tree.stdout.fnmatch_lines([f"collected {expected} items"])
    with_all = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--agui-reference", "--collect-only", "-q"
    )
    full = _items_in_suite(capabilities=True, examples=True)
    with_all.stdout.fnmatch_lines([f"{full} tests collected*"])
    assert "agui-conformance::generated-inputs" in with_all.outlines
    assert "agui-conformance::capabilities" in with_all.outlines


def test_users_own_tests_still_run_beside_the_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
    closed = f"http://127.0.0.1:{free_port()}/"
    listed = pytester.runpytest_subprocess(*QUIET, "--agent-url", closed, "--collect-only", "-q")
    assert "test_mine.py::test_mine" in listed.outlines
    expected = _items_in_suite(capabilities=False, examples=False) + 1
    listed.stdout.fnmatch_lines([f"{expected} tests collected*"])
    only = pytester.runpytest_subprocess(
        *QUIET, "--agent-url", closed, "--collect-only", "-q", "agui-conformance"
    )
    assert "test_mine.py::test_mine" not in only.outlines
    only.stdout.fnmatch_lines([f"{expected - 1} tests collected*"])
    named = pytester.runpytest_subprocess(
        *QUIET, "--agent-url", closed, "--collect-only", "-q", "test_mine.py"
    )
    named.stdout.fnmatch_lines([f"{expected} tests collected*"])
    assert not pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q").ret


def test_a_printed_id_reruns_and_its_failure_starts_with_the_rule(
    pytester: pytest.Pytester,
) -> None:
    with running_agent(AgentConfig(fault="wrong-run-id")) as ref:
        first = pytester.runpytest_subprocess(
            *QUIET, "--agent-url", ref.url, "-k", "minimal-input", "-rf"
        )
        summary = [line for line in first.outlines if line.startswith("FAILED ")]
        assert summary, first.stdout.str()[-3000:]
        # the short summary names the rule right after the id, never "Failed:"
        assert all(" - identity-run-id-echo: " in line for line in summary), summary
        ids = [line.removeprefix("FAILED ").split(" - ")[0] for line in summary]
        assert ids[0] == "agui-conformance::minimal-input"
        node_id = next(i for i in ids if i.startswith("agui-conformance::minimal-input["))
        again = pytester.runpytest_subprocess(*QUIET, "--agent-url", ref.url, node_id, "-v")
        # a case's id runs its items, as pytest runs every parameter of a test function
        family = pytester.runpytest_subprocess(*QUIET, "--agent-url", ref.url, ids[0], "-rf")
    again.assert_outcomes(failed=1)
    assert f"{node_id} FAILED" in again.stdout.str()
    # the same items fail for the same rule (the messages name each run's own random ids;
    # under CI=true pytest prints them whole)
    failed = [line.split(": ")[0] for line in family.outlines if line.startswith("FAILED ")]
    assert failed == [line.split(": ")[0] for line in summary]
    # the failure section starts with the rule id, then its fix and the spec page
    lines = again.outlines
    head = next(n for n, line in enumerate(lines) if line.startswith("_") and node_id in line)
    section = lines[head + 1 :]
    assert section[0].startswith("identity-run-id-echo: "), section[:3]
    assert section[1].startswith("  fix: ") and section[2].startswith("  spec: https://")


def test_k_selects_cases_and_requirements(pytester: pytest.Pytester) -> None:
    from agui_conformance.cases import all_cases

    case = next(c for c in all_cases() if c.id == "minimal-input")
    with running_agent() as ref:
        result = pytester.runpytest_subprocess(
            *QUIET, "--agent-url", ref.url, "-k", "minimal-input and not LIFE-002", "-v"
        )
    ran = re.findall(
        r"^agui-conformance::(\S+) (?:PASSED|SKIPPED|FAILED)", result.stdout.str(), re.M
    )
    wanted = ["minimal-input"] + [
        f"minimal-input[{r}]" for r in case.requirements if r != "LIFE-002"
    ]
    assert sorted(ran) == sorted(wanted)
    assert result.ret == 0
    # the engine ran only the selected case
    result.stdout.fnmatch_lines(["1 cases: 1 passed (profile spec)"])


def test_an_unreachable_agent_ends_the_session_in_one_line(pytester: pytest.Pytester) -> None:
    closed = f"http://127.0.0.1:{free_port()}/"
    for extra in ((), ("-n", "2")):
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--agent-url", closed, *extra
        )
        lines = result.outlines + result.errlines
        assert result.ret == 2, lines
        assert len(lines) < 50, len(lines)
        assert any(line.startswith("Exit: agui-conformance: connection refused") for line in lines)
        assert sum("connection refused" in line for line in lines) == 1, lines  # once
        assert "failed" not in result.stdout.str() and "Traceback" not in "\n".join(lines)


def test_identical_findings_are_grouped_once_with_their_fix(
    pytester: pytest.Pytester, after_finish_url: str
) -> None:
    result = pytester.runpytest_subprocess(
        *QUIET, "--agent-url", after_finish_url, "agui-conformance::minimal-input"
    )
    assert result.parseoutcomes()["failed"] == 1
    # the failure sections (under CI=true pytest repeats whole messages in its short summary)
    out = result.stdout.str().split("short test summary info")[0]
    grouped = [
        line for line in out.splitlines() if line.startswith("lifecycle-event-after-finish: ")
    ]
    assert len(grouped) == 1, out
    assert "×5, events " in grouped[0]
    rules = set(catalog())
    headed = [line for line in out.splitlines() if line.split(":")[0] in rules]
    assert len(headed) == out.count("\n  fix: ") == out.count("\n  spec: https://")


def test_closing_summary_names_level_verdict_seed_and_html_path(
    pytester: pytest.Pytester, after_finish_url: str
) -> None:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--agent-url", after_finish_url, "--agui-examples", "2",
        "--agui-seed", "4242", "-k", "minimal-input or generated", "--agui-html", "out/r.html",
    )  # fmt: skip
    result.stdout.fnmatch_lines(
        [
            "*agui-conformance: http://127.0.0.1:*seed 4242 (re-run with --agui-seed 4242)",
            "*= AG-UI conformance =*",
            "2 cases: *",
            "conformance level reached: none*",
            "verdict: FAIL (*failed*)",
            "generated inputs: 2 examples, seed 4242",
            "HTML report: out/r.html",
        ]
    )
    assert (pytester.path / "out" / "r.html").read_text().startswith("<!DOCTYPE html>")


def _cli(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """`agui-conformance ARGS` in its own process, as a user runs it."""
    return pytester.run(sys.executable, "-m", "agui_conformance.cli", *args, timeout=120)


def _block(lines: list[str], first: str) -> list[str]:
    """The summary by rule: from its heading to the case counts or the annotations."""
    start = lines.index(first)
    end = next(i for i in range(start + 1, len(lines)) if re.match(r"\d+ cases: |::", lines[i]))
    return lines[start:end]


def test_the_summary_by_rule_and_annotations_are_runs(
    pytester: pytest.Pytester, after_finish_url: str
) -> None:
    """`pytest --agui-format github` ends as `run --format github` does: the same summary
    by rule (fix, and a reproducer that runs that one case) and the same annotations."""
    face = pytester.runpytest_subprocess(
        *QUIET, "--agent-url", after_finish_url, "agui-conformance::minimal-input",
        "--agui-format", "github",
    )  # fmt: skip
    assert face.ret == 1
    ran = _cli(pytester, "run", "--agent-url", after_finish_url, "--case", "minimal-input",
               "--examples", "0", "--no-html", "--format", "github")  # fmt: skip
    assert ran.ret == 1, ran.stdout.str()
    face_lines, run_lines = face.stdout.lines, ran.stdout.lines
    heading = "findings by rule (1 rule):"
    summary = _block(face_lines, heading)
    assert summary == _block(run_lines, heading)
    assert summary[1] == "  error lifecycle-event-after-finish ×5 in 1 case"
    annotations = [line for line in face_lines if line.startswith("::")]
    assert annotations == [line for line in run_lines if line.startswith("::")]
    assert len(annotations) == 1 and annotations[0].startswith(
        "::error title=lifecycle-event-after-finish (minimal-input)::"
    )
    assert annotations[0].endswith("(×5)")
    # the reproducer, run as printed, runs that one case to the same verdict
    command = summary[-1].removeprefix("      reproduce: ")
    assert command == (
        f"agui-conformance run --agent-url {after_finish_url} --case minimal-input --examples 0"
    )
    again = _cli(pytester, *shlex.split(command)[1:], "--no-html")
    assert again.ret == 1
    assert [line for line in again.stdout.lines if line.startswith("[")] == [
        "[1/1] FAILED          minimal-input"
    ]


def test_without_the_github_format_no_annotation_is_printed(
    pytester: pytest.Pytester, after_finish_url: str
) -> None:
    face = pytester.runpytest_subprocess(
        *QUIET, "--agent-url", after_finish_url, "agui-conformance::minimal-input"
    )
    assert face.ret == 1
    assert "findings by rule (1 rule):" in face.stdout.str()
    assert not [line for line in face.stdout.lines if line.startswith("::")]


def test_the_seed_is_random_by_default_and_printed(pytester: pytest.Pytester) -> None:
    closed = f"http://127.0.0.1:{free_port()}/"
    seeds = set()
    for _ in range(2):
        header = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--agent-url", closed, "--collect-only"
        )
        found = re.search(r"seed (\d+) \(re-run with --agui-seed \1\)", header.stdout.str())
        assert found, header.stdout.str()[:2000]
        seeds.add(found.group(1))
    assert len(seeds) == 2


def test_junit_names_are_well_formed(pytester: pytest.Pytester, after_finish_url: str) -> None:
    result = pytester.runpytest_subprocess(
        *QUIET, "--agent-url", after_finish_url, "-k", "minimal-input", "--junitxml", "j.xml"
    )
    assert result.ret == 1
    cases = ET.parse(pytester.path / "j.xml").getroot().iter("testcase")
    seen = 0
    rules = set(catalog())
    for testcase in cases:
        seen += 1
        assert testcase.get("classname") == "agui-conformance"
        assert re.fullmatch(r"minimal-input(\[[A-Z]+-\d+\])?", testcase.get("name", ""))
        failure = testcase.find("failure")
        if failure is not None:
            assert failure.get("message", "").split(":")[0] in rules, failure.get("message")
    assert seen >= 2


def test_conflicting_options_are_warned_about(pytester: pytest.Pytester) -> None:
    closed = f"http://127.0.0.1:{free_port()}/"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--agent-url", closed, "--agui-reference", "--collect-only"
    )
    result.stdout.fnmatch_lines(
        ["*PytestConfigWarning: --agent-url and --agui-reference both given*"]
    )


def test_a_harness_problem_in_the_engine_ends_the_session(pytester: pytest.Pytester) -> None:
    """A problem of the run itself (here the engine raising one, as an unreadable
    declaration would) ends the session with its line, exit 2, serially and from an xdist
    worker (there through `shouldstop`: the worker must not read as crashed)."""
    pytester.makeconftest(
        """
        import agui_conformance.pytest_run as pytest_run

        def _broken(opts, selection):
            raise pytest_run.EngineProblem("the declaration file nope.json cannot be read")

        pytest_run.run_engine = _broken
        """
    )
    for extra in ((), ("-n", "2")):
        result = pytester.runpytest_subprocess(
            *QUIET, "--agui-reference", "-k", "minimal-input", *extra
        )
        text = result.stdout.str() + result.stderr.str()
        assert result.ret == 2, text
        assert len(text.splitlines()) < 50
        assert "agui-conformance: the declaration file nope.json cannot be read !" in text
        assert "crashed" not in text and "Traceback" not in text
        assert "During handling" not in text


@pytest.mark.parametrize(
    "option",
    [
        ("--agui-concurrency", "0"),
        ("--agui-examples", "-1"),
        ("--agui-total-timeout", "0"),
        ("--agui-idle-timeout", "inf"),
        ("--agent-header", "no colon"),
    ],
)
def test_bad_option_values_are_usage_errors(pytester: pytest.Pytester, option: Any) -> None:
    closed = f"http://127.0.0.1:{free_port()}/"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--agent-url", closed, *option)
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text
    assert option[0] in text and "Traceback" not in text
    assert len(text.splitlines()) < 10


def test_min_coverage_gates_the_session_as_run_does(pytester: pytest.Pytester) -> None:
    with running_agent() as ref:
        low = pytester.runpytest_subprocess(
            *QUIET, "--agent-url", ref.url, "-k", "minimal-input", "--agui-min-coverage", "90"
        )
        met = pytester.runpytest_subprocess(
            *QUIET, "--agent-url", ref.url, "-k", "minimal-input", "--agui-min-coverage", "1"
        )
    assert low.parseoutcomes().get("failed", 0) == 0
    assert low.ret == pytest.ExitCode.TESTS_FAILED
    low.stdout.fnmatch_lines(["verdict: FAIL (coverage below --min-coverage 90%), * exercised*"])
    assert met.ret == 0
    met.stdout.fnmatch_lines(["verdict: PASS*of * rules exercised*"])


def _ignore(face: Any, path: Any, pytest_says: bool | None) -> Any:
    """One call of the `pytest_ignore_collect` wrapper, as pluggy drives it."""
    step = face.pytest_ignore_collect(collection_path=path, config=None)
    next(step)
    with pytest.raises(StopIteration) as done:
        step.send(pytest_says)
    return done.value.value


def test_a_virtualenv_in_the_project_is_walked_only_to_the_anchor() -> None:
    """pytest with no testpaths collects `.`, drops the anchor's argument inside it, and
    skips a `.venv`: the wrapper walks the anchor's own path and skips the rest."""
    from agui_conformance.plugin import ANCHOR, _Face

    face = object.__new__(_Face)
    face.unignored = None
    package = ANCHOR.parent
    venv = package.parent  # stands for the skipped virtualenv on the anchor's path
    assert _ignore(face, venv.parent, None) is None  # above it: pytest decides
    assert _ignore(face, venv, True) is False
    assert _ignore(face, package, None) is None
    assert _ignore(face, ANCHOR, None) is None
    assert _ignore(face, venv / "some_other_package", None) is True  # third-party tests
    assert _ignore(face, package / "test_inside.py", None) is True
    assert _ignore(face, venv.parent / "tests", None) is None  # the user's tests


def test_a_case_failed_without_a_deciding_finding_still_fails_its_item() -> None:
    """The case item follows the case's verdict (as `run` counts it) even when no finding
    at the threshold decided it; its requirement items judge only their rules."""
    from agui_conformance.model import CaseResult
    from agui_conformance.plugin import _outcome
    from agui_conformance.pytest_run import Options

    opts = Options(url=None, headers={}, header_env={})
    case = CaseResult(
        id="c", title="t", requirements=[], expect="run", status="agent-error", reason="boom"
    )
    assert _outcome(case, None, opts) == ("fail", "agent-error: boom")
    assert _outcome(case, "LIFE-002", opts) is not None  # not passed: skipped as not exercised
    assert _outcome(case, "LIFE-002", opts)[0] == "skip"  # type: ignore[index]
    never = Options(url=None, headers={}, header_env={}, fail_on="never")
    assert _outcome(case, None, never) is None
