"""`validate` over many recordings: files, a directory, a glob, `-`; a process pool
(`--jobs`); one combined report whose verdict is the recordings' own, in input order;
a bad recording among good ones is its own section, never a crash.

Also: every format of `validate` goes through the one Report (one case per recording),
and its JSON is the report schema's, as `run`'s is.
"""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from agui_conformance import recordings
from agui_conformance.cli import main
from agui_conformance.model import load_report, report_schema
from agui_conformance.report.json_report import report_to_json
from agui_conformance.report.sarif import artifact_uri
from tests.shared_data import shared_path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
GOOD, BAD = EXAMPLES / "conformant-run.sse", EXAMPLES / "buggy-run.jsonl"
START = {"type": "RUN_STARTED", "threadId": "t", "runId": "r1", "protocolVersion": "1.1"}
TEXT = [
    {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"},
    {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "hi"},
    {"type": "TEXT_MESSAGE_END", "messageId": "m1"},
]
FINISH = {"type": "RUN_FINISHED", "threadId": "t", "runId": "r1"}


def invoke(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, ["validate", *args], input=stdin)
    assert "Traceback" not in done.output, done.output
    return done.exit_code, done.stdout, done.stderr


def as_json(*args: str, stdin: bytes | None = None) -> tuple[int, dict[str, Any]]:
    code, out, _ = invoke(*args, "--format", "json", stdin=stdin)
    return code, json.loads(out)


def jsonl(path: Path, events: list[Any]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def verdicts(report: dict[str, Any]) -> list[tuple[str, str, list[tuple[str, int | None]]]]:
    """Per recording: its name, status and findings (rule, event index), in order."""
    out = []
    for case in report["cases"]:
        [run] = case["runs"]
        found = [(f["rule"], f["index"]) for f in run["findings"]]
        out.append((run["recording"], case["status"], found))
    return out


# ---------------------------------------------------------------- the combined verdict


def test_a_directory_gives_each_recordings_own_verdict_over_the_official_corpus() -> None:
    """The official 1.1 corpus (68 fixtures): the directory in one command, on two
    workers, is each fixture's own `validate`, in path order, with the worst exit."""
    streams = shared_path("agui-spec", "1.1", "conformance", "streams")
    files = sorted(str(p) for p in streams.rglob("*.json"))
    assert len(files) >= 60
    code, combined = as_json(str(streams), "--jobs", "2")
    alone = []
    codes = []
    for file in files:
        each, report = as_json(file, "--jobs", "1")
        codes.append(each)
        alone.extend(verdicts(report))
    assert verdicts(combined) == alone
    assert [name for name, _, _ in alone] == files  # MANIFEST.txt is no recording: left out
    assert code == max(codes) == 1  # the corpus holds rejected fixtures
    assert {status for _, status, _ in alone} == {"passed", "failed"}
    jsonschema.Draft202012Validator(report_schema()).validate(combined)


def test_order_and_output_are_the_same_on_one_worker_and_on_two(tmp_path: Path) -> None:
    made = []
    for n in range(7):  # every other one breaks a rule at a different event
        events = [START, *TEXT, FINISH]
        if n % 2:
            events.insert(
                n % 4 + 1, {"type": "TEXT_MESSAGE_CONTENT", "messageId": "x", "delta": "-"}
            )
        made.append(jsonl(tmp_path / f"r{n}.jsonl", events))
    shuffled = [str(made[i]) for i in (3, 0, 6, 1, 5, 2, 4)]
    outputs = {}
    for jobs in ("1", "2"):
        for fmt in ("text", "json", "sarif", "junit", "github"):
            code, out, _ = invoke(*shuffled, "--jobs", jobs, "--format", fmt)
            assert code == 1
            outputs[jobs, fmt] = out
    for fmt in ("text", "json", "sarif", "junit", "github"):
        assert outputs["1", fmt] == outputs["2", fmt], fmt
    report = json.loads(outputs["1", "json"])
    assert [c["runs"][0]["recording"] for c in report["cases"]] == shuffled  # as given
    assert [c["status"] for c in report["cases"]] == [
        "failed" if int(Path(name).stem[1:]) % 2 else "passed" for name in shuffled
    ]


def test_a_bad_recording_among_good_ones_is_its_own_section(tmp_path: Path) -> None:
    good = jsonl(tmp_path / "a-good.jsonl", [START, *TEXT, FINISH])
    binary = tmp_path / "b-binary.jsonl"
    binary.write_bytes(b"\x00\x01\x02 not a stream")
    empty = tmp_path / "c-empty.jsonl"
    empty.write_bytes(b"")
    dangling = tmp_path / "d-dangling.jsonl"
    dangling.symlink_to(tmp_path / "nowhere")
    bad = tmp_path / "e-bad.jsonl"
    shutil.copy(BAD, bad)
    names = [str(p) for p in (good, binary, empty, dangling, bad)]
    code, out, _ = invoke(*names, "--jobs", "2")
    assert code == 2  # a recording could not be validated: the worst exit
    lines = out.splitlines()
    assert f"not validated: {binary} is not a recording: binary data" in out
    assert f"not validated: {empty} holds no events (an empty recording)" in lines
    assert f"not validated: not a file: {dangling}" in lines
    assert f"from {good} — conformant" in out and f"from {bad} — not conformant" in out
    assert (
        lines[-1]
        == "5 recordings, 14 events: 1 not conformant, 3 not validated, 1 conformant (profile spec)"
    )
    code, report = as_json(*names, "--jobs", "2")
    assert code == 2
    assert [c["status"] for c in report["cases"]] == [
        "passed", "harness-error", "harness-error", "harness-error", "failed",
    ]  # fmt: skip
    assert report["summary"]["conformance"] == "incomplete"
    jsonschema.Draft202012Validator(report_schema()).validate(report)
    junit = ET.fromstring(invoke(*names, "--format", "junit")[1])
    suite = junit.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("errors"), suite.get("failures")) == ("5", "3", "1")
    assert [(c.get("classname"), c.get("name")) for c in suite] == [
        ("agui-conformance.recordings", name) for name in names
    ]
    annotations = invoke(*names, "--format", "github")[1].splitlines()
    assert f"::error file={_escaped(binary)}::" in "\n".join(annotations)


_VALIDATE_FILE = recordings.validate_file


def _dying(target: recordings.Target, plan: recordings.Plan) -> Any:
    """`validate_file`, except that the worker given the poisoned file exits at once."""
    if target.name == os.environ.get("AGUI_TEST_POISON"):
        os._exit(9)
    return _VALIDATE_FILE(target, plan)


def _escaped(path: Path) -> str:
    from agui_conformance.report.github import escape_property

    return escape_property(str(path))


def test_one_unreadable_file_alone_is_still_one_line_and_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    code, out, err = invoke(str(empty), "--format", "json")
    assert code == 2 and out == ""
    assert err.strip() == f"Error: {empty} holds no events (an empty recording)"


def test_a_worker_that_dies_costs_only_its_own_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed mid-file (here: it exits) breaks the pool; the files it held are
    tried again, each alone, and only the one that kills its worker is `harness-error`."""
    import multiprocessing

    files = [jsonl(tmp_path / f"{n}.jsonl", [START, *TEXT, FINISH]) for n in range(5)]
    poison = str(files[2])
    monkeypatch.setenv("AGUI_TEST_POISON", poison)  # the forked workers read it
    monkeypatch.setattr(recordings, "validate_file", _dying)
    monkeypatch.setattr(recordings, "_context", lambda: multiprocessing.get_context("fork"))
    targets = recordings.expand([str(f) for f in files])
    report = recordings.validate_all(targets, recordings.Plan(jobs=2))
    assert [c.status for c in report.cases] == [
        "passed",
        "passed",
        "harness-error",
        "passed",
        "passed",
    ]
    assert report.cases[2].reason == f"the process validating {poison} died"
    assert recordings.exit_code(report) == 2


# ---------------------------------------------------------------- what is validated


def test_a_directory_glob_and_stdin_name_their_recordings(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    (folder / "deep").mkdir(parents=True)
    one = jsonl(folder / "b.jsonl", [START, *TEXT, FINISH])
    two = jsonl(folder / "deep" / "a.ndjson", [START, FINISH])
    sse = folder / "c.sse"
    sse.write_text("".join(f"data: {json.dumps(e)}\n\n" for e in [START, FINISH]))
    (folder / "b.jsonl.timing.json").write_text("{}")  # record's sidecar: not a recording
    (folder / "notes.txt").write_text("not a recording")
    (folder / ".cache").mkdir()
    jsonl(folder / ".cache" / "x.jsonl", [{"not": "an event"}])  # hidden folder: passed over
    request = folder / "request.json"
    sent = {"threadId": "t", "runId": "r1", "messages": [], "tools": [], "context": []}
    request.write_text(json.dumps({**sent, "state": {}, "forwardedProps": {}}))
    expected = [str(one), str(sse), str(two)]
    assert [t.name for t in recordings.expand([str(folder)], exclude=[str(request)])] == expected
    code, report = as_json(str(folder), "--input", str(request))
    assert code == 0, report
    assert [c["runs"][0]["recording"] for c in report["cases"]] == expected
    assert [t.name for t in recordings.expand([str(folder / "*.jsonl")])] == [str(one)]
    assert [t.name for t in recordings.expand([str(folder / "*.json")])] == [str(request)]
    deep = recordings.expand([str(folder / "**" / "*.ndjson")])
    assert [t.name for t in deep] == [str(two)]
    code, out, _ = invoke(str(one), "-", stdin=(BAD).read_bytes())
    assert code == 1
    assert f"from {one} — conformant" in out and "from stdin — not conformant" in out


def test_several_runs_in_one_jsonl_on_stdin_are_one_stream() -> None:
    """`-` with runs one after another in one JSONL: the validator follows the runs of a
    stream (AG-UI allows sequential runs), so they are one recording, each finding at its
    line."""
    second = {**START, "runId": "r2"}
    stray = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "zz", "delta": "x"}
    events = [START, *TEXT, FINISH, second, stray, {**FINISH, "runId": "r2"}]
    data = "".join(json.dumps(e) + "\n" for e in events).encode()
    code, report = as_json("-", stdin=data)
    assert code == 1
    [case] = report["cases"]
    [run] = case["runs"]
    assert run["recording"] == "stdin" and run["eventsOmitted"] == len(events)
    assert [(f["rule"], f["index"]) for f in run["findings"]] == [("item-not-open", 6)]
    assert run["eventLines"] == {"6": 7}
    without = data.replace(json.dumps(stray).encode() + b"\n", b"")
    assert invoke("-", stdin=without)[0] == 0  # the two runs alone: conformant


def test_more_recordings_than_the_cap_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recordings, "MAX_FILES", 3)
    for n in range(4):
        jsonl(tmp_path / f"{n}.jsonl", [START, FINISH])
    code, out, err = invoke(str(tmp_path))
    assert code == 2 and out == ""
    assert "more than 3 recordings" in err


# ---------------------------------------------------------------- one Report, one schema


@pytest.mark.parametrize("args", [[str(BAD)], [str(GOOD), str(BAD)], ["-"]])
def test_validate_json_is_the_report_schema_and_reads_back(args: list[str]) -> None:
    stdin = BAD.read_bytes() if args == ["-"] else None
    code, out, _ = invoke(*args, "--format", "json", stdin=stdin)
    assert code == 1
    data = json.loads(out)
    jsonschema.Draft202012Validator(report_schema()).validate(data)
    back = load_report(out)  # the records, as pydantic reads them
    assert report_to_json(back) == out  # one writer: what it reads, it writes the same
    assert (
        back.cases[-1].runs[0].findings[0].rule
        == data["cases"][-1]["runs"][0]["findings"][0]["rule"]
    )


def test_sarif_and_github_point_at_each_recording_and_its_lines(tmp_path: Path) -> None:
    stray = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "zz", "delta": "x"}
    first = jsonl(tmp_path / "one.jsonl", [START, stray, FINISH])
    later = jsonl(tmp_path / "two.jsonl", [START, *TEXT, stray, FINISH])
    code, out, _ = invoke(str(first), str(later), "--format", "sarif")
    assert code == 1
    [sarif_run] = json.loads(out)["runs"]
    located = [
        (r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
         r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in sarif_run["results"]
    ]  # fmt: skip
    uris = [artifact_uri(str(first)), artifact_uri(str(later))]
    assert located == [(uris[0], 2), (uris[1], 5)]
    assert [a["location"]["uri"] for a in sarif_run["artifacts"]] == uris
    assert sarif_run["properties"]["events"] == 3 + 6
    annotations = invoke(str(first), str(later), "--format", "github")[1].splitlines()
    assert [a.split("::")[1] for a in annotations] == [
        f"error file={_escaped(first)},line=2,title=item-not-open",
        f"error file={_escaped(later)},line=5,title=item-not-open",
    ]


def test_html_over_several_recordings_shows_each_within_a_bound(tmp_path: Path) -> None:
    first = jsonl(tmp_path / "a.jsonl", [START, *TEXT, FINISH])
    second = tmp_path / "b.jsonl"
    shutil.copy(BAD, second)
    page = tmp_path / "page.html"
    code, _, err = invoke(str(first), str(second), "--format", "html", "-o", str(page))
    assert code == 1
    assert err.strip() == "2 recordings, 14 events: 1 not conformant, 1 conformant (profile spec)"
    html = page.read_text()
    for path in (first, second):
        assert f'id="{recordings.case_id(str(path))}-r0-e0"' in html  # each transcript
    assert recordings.kept_per_recording(1) == recordings.MAX_EVENTS
    assert recordings.kept_per_recording(20) == recordings.MAX_EVENTS_IN_ALL // 20
    assert recordings.kept_per_recording(recordings.MAX_FILES) == 100


def test_workers_started_clean_apply_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule turned off in agui-conformance.toml stays off in a worker that did not
    inherit this process's memory (forkserver, as with threads or on other platforms)."""
    import multiprocessing

    stray = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "zz", "delta": "x"}
    files = [str(jsonl(tmp_path / f"{n}.jsonl", [START, stray, FINISH])) for n in range(3)]
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(recordings, "_context", lambda: multiprocessing.get_context("forkserver"))
    assert invoke(*files, "--jobs", "2")[0] == 1  # item-not-open in each
    (tmp_path / "agui-conformance.toml").write_text('[levels]\n"item-not-open" = "off"\n')
    code, report = as_json(*files, "--jobs", "2")
    assert code == 0, report
    assert all(not c["runs"][0]["findings"] for c in report["cases"])


def test_by_default_small_recordings_need_no_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [jsonl(tmp_path / f"{n}.jsonl", [START, FINISH]) for n in range(3)]
    targets = recordings.expand([str(f) for f in files])
    assert recordings._auto_jobs(targets) == 1  # a few KB: this process
    monkeypatch.setattr(recordings, "AUTO_POOL", 100)
    assert recordings._auto_jobs(targets) == recordings.cpu_count()
    started = []
    monkeypatch.setattr(recordings, "_pooled", lambda t, p, j: started.append(j) or [])
    recordings.validate_all(targets, recordings.Plan(jobs=0))
    assert started == [min(3, recordings.cpu_count())] or recordings.cpu_count() == 1


def test_a_sidecar_with_junk_is_read_for_what_it_holds(tmp_path: Path) -> None:
    """`record`'s sidecar beside a recording feeds the HTML timeline; one edited by hand
    (times that are not numbers, a status that is not one) is passed over, not trusted."""
    recording = jsonl(tmp_path / "r.jsonl", [START, *TEXT, FINISH])
    sidecar = tmp_path / "r.jsonl.timing.json"
    sidecar.write_text(json.dumps({"status": "200", "eventTimesMs": ["a", 1, 2, 3, 4]}))
    plan = recordings.Plan(keep_events=100)
    [case] = recordings.validate_all(recordings.expand([str(recording)]), plan).cases
    [run] = case.runs
    assert run.status is None and run.eventTimesMs == [] and len(run.events) == 5
    sidecar.write_text(json.dumps({"status": 200, "eventTimesMs": [0, 1.5, 2, 3, 4]}))
    [case] = recordings.validate_all(recordings.expand([str(recording)]), plan).cases
    assert case.runs[0].status == 200 and case.runs[0].eventTimesMs == [0, 1.5, 2, 3, 4]


def test_a_directory_holds_protobuf_bodies_too(tmp_path: Path) -> None:
    """A protobuf body saved as `*.bin` (as docs/protobuf.md says) is a recording of the
    directory, judged as the SSE capture of the same events is."""
    from agui_conformance.protobuf import encode_event, frame
    from tests.proto_events import CLEAN_RUN

    cut = CLEAN_RUN[:-1]  # no RUN_FINISHED: stream-truncated on either binding
    (tmp_path / "a.bin").write_bytes(b"".join(frame(encode_event(e)) for e in cut))
    (tmp_path / "b.sse").write_text("".join(f"data: {json.dumps(e)}\n\n" for e in cut))
    code, report = as_json(str(tmp_path), "--jobs", "2")
    assert code == 1
    [proto, sse] = verdicts(report)
    assert proto[0].endswith("a.bin") and sse[0].endswith("b.sse")
    assert proto[1:] == sse[1:] == ("failed", [("stream-truncated", None)])
