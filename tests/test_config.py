"""The configuration file (agui-conformance.toml or [tool.agui-conformance]): found from the
current folder upward, checked, read by `run`, `validate` and the pytest face, the command
line over it, and select / ignore / levels seen alike by every report format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agui_conformance import config, rules
from agui_conformance.cli import main
from tests.hostile_agents import agent, conformant_run, serve_app

pytest_plugins = ["pytester"]

RULE = "lifecycle-event-after-finish"


def _after_finish(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A legal run, then a content event after RUN_FINISHED: one finding of RULE."""
    stray = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-late", "delta": "x"}
    return [*conformant_run(body), stray]


@pytest.fixture(scope="module")
def late_url() -> Iterator[str]:
    with serve_app(agent(_after_finish)) as url:
        yield url


# ------------------------------------------------------------------ the file itself


def test_pyproject_table_is_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.agui-conformance]\nprofile = "strict"\n')
    below = tmp_path / "a" / "b"
    below.mkdir(parents=True)
    (below / "pyproject.toml").write_text('[project]\nname = "x"\n')  # no table: skipped
    settings = config.load(below)
    assert settings.path == tmp_path / "pyproject.toml"
    assert settings.values == {"profile": "strict"}


def test_own_file_wins_in_a_folder_and_the_search_stops_at_the_vcs_root(tmp_path: Path) -> None:
    (tmp_path / "agui-conformance.toml").write_text('profile = "strict"\n')
    project = tmp_path / "project"
    project.mkdir()
    (project / ".git").mkdir()
    assert config.load(project).path is None  # above the VCS root is not read
    (project / "pyproject.toml").write_text('[tool.agui-conformance]\nprofile = "spec"\n')
    (project / "agui-conformance.toml").write_text('profile = "legacy-client"\n')
    assert config.load(project).values == {"profile": "legacy-client"}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('profle = "strict"\n', "unknown key 'profle' (did you mean profile?)"),
        ("concurrency = 2.5\n", "concurrency must be an integer, not float"),
        ("examples = true\n", "examples must be an integer, not bool"),
        ('profile = "lax"\n', "profile 'lax' is not one of"),
        ('binding = "grpc"\n', "binding 'grpc' is not one of sse, protobuf, both"),
        ("binding = 1\n", "binding must be a string, not int"),
        ("idle-timeout = 0\n", "idle-timeout must be a number of seconds above 0"),
        ('select = "lifecycle"\n', "select must be a list"),
        ('ignore = ["lifecycle-event-after-finsh"]\n', f"did you mean {RULE}"),
        ('[levels]\nno-such-rule = "off"\n', "levels: unknown rule 'no-such-rule'"),
        (f'[levels]\n{RULE} = "fatal"\n', f"levels.{RULE} must be one of error, warning"),
        ("profile = \n", "not valid TOML"),
    ],
)
def test_a_malformed_file_is_one_error_naming_the_file_and_key(
    tmp_path: Path, text: str, says: str
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "agui-conformance.toml").write_text(text)
    with pytest.raises(config.ConfigError) as err:
        config.load(tmp_path)
    assert str(err.value).startswith(str(tmp_path / "agui-conformance.toml") + ": ")
    assert says in str(err.value)


def test_a_literal_header_value_is_refused_without_repeating_it(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    secret = "Bearer sk-live-0123456789"
    (tmp_path / "agui-conformance.toml").write_text(f'[headers]\nAuthorization = "{secret}"\n')
    with pytest.raises(config.ConfigError) as err:
        config.load(tmp_path)
    assert "headers.Authorization must be an env: reference" in str(err.value)
    assert "sk-live" not in str(err.value)


def test_malformed_file_exits_2_under_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "agui-conformance.toml").write_text('[headers]\nX-Api-Key = "hunter2"\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", "--examples", "0"])
    assert result.exit_code == 2
    assert "agui-conformance.toml: headers.X-Api-Key must be an env: reference" in result.output
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_rule_choice_selects_by_category_and_turns_rules_off() -> None:
    choice = config.RuleChoice(select=("lifecycle",), levels={RULE: "off"})
    with rules.overridden(choice):
        lifecycle = [r for r in rules.catalog().values() if r.category == "lifecycle"]
        assert not rules.get(RULE).applies_to("spec")
        assert all(r.applies_to("spec") for r in lifecycle if r.id != RULE)
        assert not any(
            r.applies_to("spec") for r in rules.catalog().values() if r.category != "lifecycle"
        )
    assert rules.get(RULE).applies_to("spec")  # the catalog as is again


# ------------------------------------------------------------------ the CLI face


def _run(tmp_path: Path, *args: str) -> tuple[Any, dict[str, Any]]:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "run",
            "-k",
            "minimal-input",
            "--no-preflight",
            "--json",
            str(out / "r.json"),
            "--junit",
            str(out / "r.xml"),
            "--sarif",
            str(out / "r.sarif"),
            "--html",
            str(out / "r.html"),
            "--format",
            "github",
            *args,
        ],
        env={"NO_COLOR": "1"},
    )
    assert result.exit_code in (0, 1), result.output
    return result, json.loads((out / "r.json").read_text())


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.agui-conformance]\n" + text)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "pyproject.toml"


def _findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for case in report["cases"] for run in case["runs"] for f in run["findings"]]


def test_command_line_only_reports_no_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late_url: str
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    result, report = _run(tmp_path, "--agent-url", late_url, "--examples", "0")
    assert result.exit_code == 1  # the control for the overrides below: the rule fails it
    assert RULE in result.output
    assert "config:" not in result.output
    assert report["config"] is None
    assert [f["level"] for f in _findings(report) if f["rule"] == RULE] == ["error"]


def test_file_only_sets_target_and_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late_url: str
) -> None:
    path = _project(
        tmp_path, monkeypatch, f'agent-url = "{late_url}"\nexamples = 0\nprofile = "strict"\n'
    )
    result, report = _run(tmp_path)
    assert f"config: {path}" in result.output.splitlines()[0]
    assert report["target"].startswith(late_url.rstrip("/"))
    assert report["profile"] == "strict" and report["examples"] == 0
    assert report["config"] == {
        "file": str(path),
        "fromFile": ["agent-url", "examples", "profile"],  # the file's order
        "fromCommandLine": [],
        "select": [],
        "ignore": [],
        "levels": {},
    }
    html = (tmp_path / "out" / "r.html").read_text()
    assert 'id="card-config"' in html and str(path) in html


def test_the_command_line_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late_url: str
) -> None:
    _project(tmp_path, monkeypatch, 'agent-url = "http://127.0.0.1:9/"\nprofile = "strict"\n')
    _, report = _run(tmp_path, "--agent-url", late_url, "--profile", "spec", "--examples", "0")
    assert report["target"].startswith(late_url.rstrip("/"))
    assert report["profile"] == "spec"
    assert report["config"]["fromCommandLine"] == ["agent-url", "profile"]
    assert report["config"]["fromFile"] == []


def _accepts(report: dict[str, Any]) -> set[str]:
    return {run["requestHeaders"]["Accept"] for case in report["cases"] for run in case["runs"]}


def test_the_files_binding_chooses_what_the_runs_ask_for_and_the_line_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late_url: str
) -> None:
    path = _project(tmp_path, monkeypatch, f'agent-url = "{late_url}"\nbinding = "protobuf"\n')
    result, report = _run(tmp_path, "--examples", "0")
    assert _accepts(report) == {"application/vnd.ag-ui.event+proto, text/event-stream"}
    assert "binding protobuf: the agent answered SSE" in result.output  # an SSE-only agent
    assert report["config"]["file"] == str(path)
    assert report["config"]["fromFile"] == ["agent-url", "binding"]
    assert "--binding" not in report["runArgs"]  # a reproducer re-reads the file, as for examples
    result, report = _run(tmp_path, "--examples", "0", "--binding", "sse")
    assert _accepts(report) == {"text/event-stream"}
    assert "binding protobuf" not in result.output
    assert report["config"]["fromFile"] == ["agent-url"]
    assert report["config"]["fromCommandLine"] == ["binding"]
    assert report["runArgs"][-2:] == ["--binding", "sse"]


def test_ignore_reaches_every_format_and_the_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late_url: str
) -> None:
    _project(tmp_path, monkeypatch, f'examples = 0\nignore = ["{RULE}"]\n')
    result, report = _run(tmp_path, "--agent-url", late_url)
    assert result.exit_code == 0, result.output
    assert f"rules: ignore {RULE} (file)" in result.output.splitlines()
    shown = [line for line in result.output.splitlines() if not line.startswith("rules: ")]
    assert RULE not in "\n".join(shown)  # the text face
    assert not [f for f in _findings(report) if f["rule"] == RULE]
    row = next(r for r in report["requirements"] if r["rule"] == RULE)
    assert row["status"] == "not-applicable" and row["exercised"] is False
    out = tmp_path / "out"
    junit = ET.parse(out / "r.xml").getroot()
    assert not list(junit.iter("failure"))
    assert RULE not in (out / "r.xml").read_text()
    sarif = json.loads((out / "r.sarif").read_text())
    run = sarif["runs"][0]
    assert not [r for r in run["results"] if r["ruleId"] == RULE]
    descriptor = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == RULE)
    assert descriptor["defaultConfiguration"]["enabled"] is False
    html = (out / "r.html").read_text()
    assert "turned off by the configuration" in html


def test_a_level_override_reaches_every_format_and_the_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late_url: str
) -> None:
    _project(
        tmp_path, monkeypatch, f'examples = 0\n[tool.agui-conformance.levels]\n{RULE} = "warning"\n'
    )
    result, report = _run(tmp_path, "--agent-url", late_url)
    assert result.exit_code == 0, result.output  # a warning does not fail at --fail-on error
    assert [f["level"] for f in _findings(report) if f["rule"] == RULE] == ["warning"]
    row = next(r for r in report["requirements"] if r["rule"] == RULE)
    assert row["level"] == "warning" and row["status"] != "failed"
    out = tmp_path / "out"
    assert not list(ET.parse(out / "r.xml").getroot().iter("failure"))
    run = json.loads((out / "r.sarif").read_text())["runs"][0]
    assert [r["level"] for r in run["results"] if r["ruleId"] == RULE] == ["warning"]
    descriptor = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == RULE)
    assert descriptor["defaultConfiguration"]["level"] == "warning"
    assert report["config"]["fromFile"] == ["examples", "levels"]
    # and --fail-on warning on the command line makes it fail again
    again, _ = _run(tmp_path, "--agent-url", late_url, "--fail-on", "warning")
    assert again.exit_code == 1


# ------------------------------------------------------ the rule choice on the command line


def _in_every_format(tmp_path: Path, output: str, level: str | None) -> None:
    """RULE as every format of the run shows it: `level` None, nowhere (turned off)."""
    from bs4 import BeautifulSoup

    out = tmp_path / "out"
    report = json.loads((out / "r.json").read_text())
    assert [f["level"] for f in _findings(report) if f["rule"] == RULE] == (
        [] if level is None else [level]
    )
    failures = [f.get("message", "") for f in ET.parse(out / "r.xml").getroot().iter("failure")]
    assert any(RULE in text for text in failures) == (level == "error")
    sarif = json.loads((out / "r.sarif").read_text())["runs"][0]
    assert [r["level"] for r in sarif["results"] if r["ruleId"] == RULE] == (
        [] if level is None else [{"info": "note"}.get(level, level)]
    )
    soup = BeautifulSoup((out / "r.html").read_text(), "html.parser")
    failed = [div["data-rule"] for div in soup.select("#failures .failed-rule")]
    assert (RULE in failed) == (level == "error")
    annotation = f"::{level} title={RULE} (minimal-input)::"
    assert (annotation in output) == (level in ("error", "warning"))
    if level is None:
        assert f"title={RULE}" not in output


def test_ignore_on_the_command_line_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late_url: str
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    result, report = _run(tmp_path, "--agent-url", late_url, "--examples", "0", "--ignore", RULE)
    assert result.exit_code == 0, result.output
    _in_every_format(tmp_path, result.output, None)
    assert report["config"] == {
        "file": None,
        "fromFile": [],
        "fromCommandLine": ["ignore"],
        "select": [],
        "ignore": [RULE],
        "levels": {},
    }
    assert f"rules: ignore {RULE} (command line)" in result.output.splitlines()
    assert "config:" not in result.output  # no file was read
    html = (tmp_path / "out" / "r.html").read_text()
    assert "no configuration file" in html and 'id="config-ignore"' in html
    assert f"--ignore {RULE} " in report["command"]  # the reproducer carries it
    assert rules.get(RULE).applies_to("spec")  # the override ended with the command


def test_the_command_lines_rule_choice_wins_over_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late_url: str
) -> None:
    """The file turns RULE off; --ignore on the line replaces the file's list (RULE is
    back, an error in every format) and --level there wins for the rule it names."""
    path = _project(tmp_path, monkeypatch, f'examples = 0\nignore = ["{RULE}"]\n')
    file_only, _ = _run(tmp_path, "--agent-url", late_url)
    assert file_only.exit_code == 0, file_only.output
    _in_every_format(tmp_path, file_only.output, None)
    both, report = _run(
        tmp_path, "--agent-url", late_url, "--ignore", "snake-case-key,tool-args-not-json"
    )
    assert both.exit_code == 1, both.output
    _in_every_format(tmp_path, both.output, "error")
    assert report["config"]["file"] == str(path)
    assert report["config"]["fromFile"] == ["examples"]
    assert report["config"]["fromCommandLine"] == ["ignore"]
    assert report["config"]["ignore"] == ["snake-case-key", "tool-args-not-json"]
    levelled, report = _run(tmp_path, "--agent-url", late_url, "--ignore", "snake-case-key",
                            "--level", f"{RULE}=warning")  # fmt: skip
    assert levelled.exit_code == 0, levelled.output
    _in_every_format(tmp_path, levelled.output, "warning")
    assert report["config"]["levels"] == {RULE: "warning"}
    assert f"rules: ignore snake-case-key (command line); levels {RULE}=warning (command line)" in (
        levelled.output
    )


def test_select_on_the_line_replaces_the_files_and_a_level_there_wins_per_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late_url: str
) -> None:
    _project(
        tmp_path,
        monkeypatch,
        'examples = 0\nselect = ["tool-calls"]\n[tool.agui-conformance.levels]\n'
        f'{RULE} = "info"\nsnake-case-key = "off"\n',
    )
    file_only, _ = _run(tmp_path, "--agent-url", late_url)
    assert file_only.exit_code == 0
    _in_every_format(tmp_path, file_only.output, None)  # not in the file's selection
    both, report = _run(tmp_path, "--agent-url", late_url, "--select", "lifecycle")
    assert both.exit_code == 0, both.output
    _in_every_format(tmp_path, both.output, "info")  # selected now, at the file's level
    assert report["config"]["select"] == ["lifecycle"]
    assert report["config"]["fromFile"] == ["examples", "levels"]
    again, report = _run(tmp_path, "--agent-url", late_url, "--select", "lifecycle",
                         "--level", f"{RULE}=error")  # fmt: skip
    assert again.exit_code == 1
    _in_every_format(tmp_path, again.output, "error")
    assert report["config"]["levels"] == {RULE: "error", "snake-case-key": "off"}
    # the file still gives snake-case-key's level: levels come from both, rule by rule
    assert report["config"]["fromFile"] == ["examples", "levels"]
    assert report["config"]["fromCommandLine"] == ["select", "levels"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", "lifecycle,lifecylce"], "command line: --select: unknown rule or category "
         "'lifecylce' (did you mean lifecycle"),
        (["--ignore", "nope-rule"], "command line: --ignore: unknown rule or category"),
        (["--level", f"{RULE}"], f"command line: --level '{RULE}' must be RULE=LEVEL"),
        (["--level", f"{RULE}=loud"], f"command line: --level {RULE} must be one of error"),
    ],
)  # fmt: skip
def test_a_wrong_rule_choice_on_the_line_is_one_line_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", "--list-cases", *args])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert message in result.output, result.output


def test_validate_reads_profile_and_levels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recording = tmp_path / "s.jsonl"
    events = conformant_run({"threadId": "t", "runId": "r"})
    late = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-late", "delta": "x"}
    recording.write_text("\n".join(json.dumps(e) for e in [*events, late]) + "\n")
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)

    def judged(result: Any) -> tuple[set[str], str]:
        report = json.loads(result.stdout)
        [matrix_row] = [r for r in report["requirements"] if r["rule"] == RULE]
        return {f["rule"] for f in report["cases"][0]["runs"][0]["findings"]}, matrix_row["status"]

    before = CliRunner().invoke(main, ["validate", str(recording), "--format", "json"])
    assert before.exit_code == 1 and judged(before) == ({RULE}, "failed")
    (tmp_path / "agui-conformance.toml").write_text(f'[levels]\n{RULE} = "off"\n')
    after = CliRunner().invoke(main, ["validate", str(recording), "--format", "json"])
    assert after.exit_code == 0 and judged(after) == (set(), "not-applicable")
    assert rules.get(RULE).applies_to("spec")  # the override ended with the command
    isolated = CliRunner().invoke(main, ["--isolated", "validate", str(recording)])
    assert isolated.exit_code == 1


# ------------------------------------------------------------------ the pytest face


def test_the_pytest_face_reads_the_same_file(pytester: pytest.Pytester, late_url: str) -> None:
    base = f'[tool.agui-conformance]\nagent-url = "{late_url}"\nexamples = 0\n'
    pytester.makefile(".toml", pyproject=base)
    failing = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--agui", "-k", "minimal-input"
    )
    assert "config: " in failing.stdout.str()
    assert failing.ret == 1
    pytester.makefile(".toml", pyproject=base + f'ignore = ["{RULE}"]\n')
    report = pytester.path / "r.json"
    passing = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--agui", "-k", "minimal-input", "--agui-json", str(report)
    )
    assert passing.ret == 0, passing.stdout.str()[-2000:]
    written = json.loads(report.read_text())
    assert written["config"]["fromFile"] == ["agent-url", "examples", "ignore"]
    assert not [f for f in _findings(written) if f["rule"] == RULE]
    # the command line wins: a profile given there, the file's examples kept
    pytester.makefile(".toml", pyproject=base + 'profile = "strict"\n')
    both = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--agui",
        "-k",
        "minimal-input",
        "--agui-profile",
        "spec",
        "--agui-json",
        str(report),
    )
    written = json.loads(report.read_text())
    assert written["profile"] == "spec" and written["examples"] == 0
    assert written["config"]["fromCommandLine"] == ["profile"]
    assert "fail-on error" in both.stdout.str() and "profile spec" in both.stdout.str()


def test_the_pytest_face_reads_the_files_binding_and_its_option_wins(
    pytester: pytest.Pytester, late_url: str
) -> None:
    base = (
        f'[tool.agui-conformance]\nagent-url = "{late_url}"\nexamples = 0\nbinding = "protobuf"\n'
    )
    pytester.makefile(".toml", pyproject=base)
    report = pytester.path / "r.json"
    args = ["-p", "no:cacheprovider", "--agui", "-k", "minimal-input", "--agui-json", str(report)]
    from_file = pytester.runpytest_subprocess(*args)
    assert "binding protobuf: the agent answered SSE" in from_file.stdout.str()
    written = json.loads(report.read_text())
    assert _accepts(written) == {"application/vnd.ag-ui.event+proto, text/event-stream"}
    assert written["config"]["fromFile"] == ["agent-url", "examples", "binding"]
    pytester.runpytest_subprocess(*args, "--agui-binding", "sse")
    written = json.loads(report.read_text())
    assert _accepts(written) == {"text/event-stream"}
    assert written["config"]["fromCommandLine"] == ["binding"]


def test_the_pytest_faces_rule_choice_wins_over_the_file(
    pytester: pytest.Pytester, late_url: str
) -> None:
    base = f'[tool.agui-conformance]\nagent-url = "{late_url}"\nexamples = 0\n'
    pytester.makefile(".toml", pyproject=base + f'ignore = ["{RULE}"]\n')
    report = pytester.path / "r.json"
    args = ["-p", "no:cacheprovider", "--agui", "-k", "minimal-input", "--agui-json", str(report)]
    line_wins = pytester.runpytest_subprocess(*args, "--agui-ignore", "snake-case-key")
    assert line_wins.ret == 1, line_wins.stdout.str()[-2000:]
    written = json.loads(report.read_text())
    assert [f["level"] for f in _findings(written) if f["rule"] == RULE] == ["error"]
    assert written["config"]["fromCommandLine"] == ["ignore"]
    assert "rules: ignore snake-case-key (command line)" in line_wins.stdout.str()
    levelled = pytester.runpytest_subprocess(
        *args, "--agui-ignore", "snake-case-key", "--agui-level", f"{RULE}=warning"
    )
    assert levelled.ret == 0, levelled.stdout.str()[-2000:]
    written = json.loads(report.read_text())
    assert [f["level"] for f in _findings(written) if f["rule"] == RULE] == ["warning"]
    bad = pytester.runpytest_subprocess(*args, "--agui-select", "lifecylce")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "--agui-select: unknown rule or category 'lifecylce'" in bad.stderr.str()


def test_the_pytest_face_takes_select_without_a_file(
    pytester: pytest.Pytester, late_url: str
) -> None:
    report = pytester.path / "r.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--agent-url", late_url, "--agui-examples", "0",
        "-k", "minimal-input", "--agui-json", str(report), "--agui-select", "tool-calls",
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str()[-2000:]
    written = json.loads(report.read_text())
    assert not [f for f in _findings(written) if f["rule"] == RULE]
    assert written["config"]["file"] is None and written["config"]["select"] == ["tool-calls"]


def test_pytest_face_malformed_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject='[tool.agui-conformance]\nprofle = "strict"\n')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--agui")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown key 'profle'" in result.stderr.str()


@pytest.mark.parametrize("guide", ["README.md", "docs/ci.md"])
def test_the_guides_examples_are_valid_configurations(guide: str) -> None:
    """Every ```toml block of the guides parses as a configuration (keys, rules, headers)."""
    import re
    import tomllib

    text = (Path(__file__).resolve().parents[1] / guide).read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert blocks
    for block in blocks:
        table = tomllib.loads(block)["tool"]["agui-conformance"]
        settings = config.parse(table, Path("/project/pyproject.toml"))
        assert settings.headers == {"Authorization": "env:AGENT_TOKEN"}


def test_the_baseline_path_is_relative_to_the_files_folder(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "agui-conformance.toml").write_text('baseline = "ci/agui-baseline.json"\n')
    (tmp_path / "sub").mkdir()
    settings = config.load(tmp_path / "sub")
    assert settings.values["baseline"] == str(tmp_path / "ci" / "agui-baseline.json")


def test_a_level_override_wins_over_the_newer_producer_relaxation() -> None:
    from agui_conformance.validator import validate_events

    events = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.2"},
        {"type": "FUTURE_EVENT"},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]

    def levels() -> list[str]:
        found = validate_events(events).findings
        return [f.level.value for f in found if f.rule == "event-type-unknown"]

    assert levels() == ["warning"]  # a newer minor's event: relaxed by default
    with rules.overridden(config.RuleChoice(levels={"event-type-unknown": "error"})):
        assert levels() == ["error"]
    with rules.overridden(config.RuleChoice(levels={"event-type-unknown": "off"})):
        assert levels() == []


def test_config_option_names_the_file_and_isolated_reads_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "s.jsonl"
    events = conformant_run({"threadId": "t", "runId": "r"})
    late = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-late", "delta": "x"}
    recording.write_text("\n".join(json.dumps(e) for e in [*events, late]) + "\n")
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    named = tmp_path / "elsewhere.toml"
    named.write_text(f'ignore = ["{RULE}"]\n')
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(recording)]).exit_code == 1
    assert runner.invoke(main, ["--config", str(named), "validate", str(recording)]).exit_code == 0
    missing = runner.invoke(main, ["--config", str(tmp_path / "nope.toml"), "validate", "x"])
    assert missing.exit_code == 2 and "--config: no such file" in missing.output
    (tmp_path / "agui-conformance.toml").write_text('profile = "nope"\n')
    assert runner.invoke(main, ["validate", str(recording)]).exit_code == 2
    assert runner.invoke(main, ["--isolated", "validate", str(recording)]).exit_code == 1
