"""`validate`'s reports name the protocol version the recordings declared.

Every `RUN_STARTED` carries the producer's own `protocolVersion`
(https://docs.ag-ui.com/spec/1.1/basic/versioning#version-negotiation; the member itself:
https://docs.ag-ui.com/spec/1.1/events/lifecycle#run_started). `validate` keeps none of a
recording's events for JSON and only the first ones for HTML, so the versions are counted
during its one pass over every event and carried into the summary: the JSON report's
`summary.protocolVersions`, the HTML page's "Protocol version declared" and "Conformance
level reached: ... as 1.1". One file or many, on one worker or several, JSONL, SSE or a
protobuf body.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agui_conformance import recordings
from agui_conformance.cli import main
from agui_conformance.exercise import MAX_VERSION_CHARS, MAX_VERSIONS, NO_VERSION
from agui_conformance.matrix import protocol_versions
from agui_conformance.model import load_report

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _start(run: str, version: Any = None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "RUN_STARTED", "threadId": "t", "runId": run}
    if version is not None:
        event["protocolVersion"] = version
    return event


def _finish(run: str) -> dict[str, Any]:
    return {"type": "RUN_FINISHED", "threadId": "t", "runId": run}


def _text(message: str, deltas: int = 1) -> list[dict[str, Any]]:
    return [
        {"type": "TEXT_MESSAGE_START", "messageId": message, "role": "assistant"},
        *({"type": "TEXT_MESSAGE_CONTENT", "messageId": message, "delta": "x"}
          for _ in range(deltas)),
        {"type": "TEXT_MESSAGE_END", "messageId": message},
    ]  # fmt: skip


def _run(run: str, version: Any = None, deltas: int = 1) -> list[dict[str, Any]]:
    return [_start(run, version), *_text(f"m-{run}", deltas), _finish(run)]


def _jsonl(path: Path, events: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return str(path)


def _validate(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, ["validate", *args])
    assert "Traceback" not in done.output, done.output
    return done.exit_code, done.stdout, done.stderr


def _summary(*args: str) -> dict[str, Any]:
    code, out, err = _validate(*args, "--format", "json")
    assert code in (0, 1), err
    report = json.loads(out)
    assert load_report(out).summary is not None  # the schema's own records read it back
    return dict(report["summary"])


def _page(tmp_path: Path, *args: str) -> tuple[str, str]:
    """The HTML page's "Protocol version declared" and its conformance-level line."""
    page = tmp_path / "page.html"
    code, _, err = _validate(*args, "--format", "html", "-o", str(page))
    assert code in (0, 1), err
    html = page.read_text(encoding="utf-8")
    declared = re.search(r"<dt>Protocol version declared</dt><dd>([^<]*)</dd>", html)
    level = re.search(r'id="conformance-level">([^<]*)</strong>([^<]*)', html)
    assert declared is not None and level is not None
    return declared.group(1), f"{level.group(1)}{level.group(2)}".strip()


# ---------------------------------------------------------------- one recording


def test_a_declared_version_is_the_json_summarys_and_the_pages(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "run.jsonl", _run("r1", "1.1"))
    summary = _summary(path)
    assert summary["protocolVersions"] == ["1.1"]
    assert summary["conformance"] == "MUST + SHOULD"
    declared, level = _page(tmp_path, path)
    assert declared == "1.1"
    assert level.startswith("MUST + SHOULD as 1.1")


def test_a_run_started_without_a_version_is_none(tmp_path: Path) -> None:
    """VER-007: absence identifies a pre-versioning producer; the report says `(none)`
    (and the level is not claimed "as" any version)."""
    path = _jsonl(tmp_path / "old.jsonl", _run("r1"))
    assert _summary(path)["protocolVersions"] == [NO_VERSION]
    declared, level = _page(tmp_path, path)
    assert declared == NO_VERSION and " as " not in level


def test_a_version_that_is_no_string_is_none_too(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "typed.jsonl", _run("r1", 1.1))
    assert _summary(path)["protocolVersions"] == [NO_VERSION]


def test_a_recording_without_run_started_declares_nothing(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "headless.jsonl", _text("m1"))
    assert _summary(path)["protocolVersions"] == []
    declared, _ = _page(tmp_path, path)
    assert declared == "(no RUN_STARTED seen)"


def test_every_run_of_a_recording_counts_past_the_events_the_page_keeps(
    tmp_path: Path,
) -> None:
    """The page keeps a recording's first 2,000 events; a second run declaring another
    version after them is still in its summary (and in the JSON, which keeps none)."""
    events = [*_run("r1", "1.1", deltas=recordings.MAX_EVENTS), *_run("r2", "1.0")]
    path = _jsonl(tmp_path / "two-runs.jsonl", events)
    assert _summary(path)["protocolVersions"] == ["1.1", "1.0"]
    declared, level = _page(tmp_path, path)
    assert declared == "1.1, 1.0"
    assert " as " not in level  # two versions: conformance as neither


def test_an_sse_capture_counts_as_jsonl_does(tmp_path: Path) -> None:
    sse = tmp_path / "run.sse"
    sse.write_text("".join(f"data: {json.dumps(e)}\n\n" for e in _run("r1", "1.0")))
    assert _summary(str(sse))["protocolVersions"] == ["1.0"]
    conformant = str(EXAMPLES / "conformant-run.sse")
    assert _summary(conformant, "--input", str(EXAMPLES / "request.json"))["protocolVersions"] == [
        "1.1"
    ]


@pytest.mark.parametrize(("version", "shown"), [("1.1", ["1.1"]), (None, [NO_VERSION])])
def test_a_protobuf_body_counts_as_jsonl_does(
    tmp_path: Path, version: str | None, shown: list[str]
) -> None:
    from agui_conformance.protobuf import encode_event, frame

    body = tmp_path / "run.bin"
    body.write_bytes(b"".join(frame(encode_event(e)) for e in _run("r1", version)))
    assert _summary(str(body))["protocolVersions"] == shown
    declared, _ = _page(tmp_path, str(body))
    assert declared == ", ".join(shown)


# ---------------------------------------------------------------- many recordings


def test_several_recordings_on_two_workers_give_every_version_in_input_order(
    tmp_path: Path,
) -> None:
    new = _jsonl(tmp_path / "a-new.jsonl", _run("r1", "1.1"))
    old = _jsonl(tmp_path / "b-old.jsonl", _run("r1", "1.0"))
    bare = _jsonl(tmp_path / "c-bare.jsonl", _run("r1"))
    headless = _jsonl(tmp_path / "d-headless.jsonl", _text("m1"))
    assert _summary(new, old, "--jobs", "2")["protocolVersions"] == ["1.1", "1.0"]
    assert _summary(old, new, "--jobs", "2")["protocolVersions"] == ["1.0", "1.1"]
    assert _summary(headless, bare, new, "--jobs", "2")["protocolVersions"] == [
        NO_VERSION,
        "1.1",
    ]
    assert _summary(str(tmp_path), "--jobs", "2")["protocolVersions"] == [
        "1.1",
        "1.0",
        NO_VERSION,
    ]
    declared, level = _page(tmp_path, new, old, "--jobs", "2")
    assert declared == "1.1, 1.0" and " as " not in level


def test_one_version_over_several_recordings_is_conformance_as_that_version(
    tmp_path: Path,
) -> None:
    files = [_jsonl(tmp_path / f"{n}.jsonl", _run(f"r{n}", "1.1")) for n in range(3)]
    assert _summary(*files, "--jobs", "2")["protocolVersions"] == ["1.1"]
    _, level = _page(tmp_path, *files, "--jobs", "2")
    assert level.startswith("MUST + SHOULD as 1.1")


# ---------------------------------------------------------------- bounded, and one truth


def test_a_hostile_stream_of_versions_stays_a_short_list(tmp_path: Path) -> None:
    long = "v" * 100_000
    events = [*_run("long", long)]
    for n in range(200):
        events += _run(f"r{n}", f"1.{n}")
    path = _jsonl(tmp_path / "many.jsonl", events)
    shown = _summary(path)["protocolVersions"]
    assert len(shown) == MAX_VERSIONS
    assert shown[0] == long[: MAX_VERSION_CHARS - 1] + "…"
    assert shown[1:] == [f"1.{n}" for n in range(MAX_VERSIONS - 1)]
    many = [_jsonl(tmp_path / f"f{n}.jsonl", _run("r", f"2.{n}")) for n in range(20)]
    assert len(_summary(*many, "--jobs", "1")["protocolVersions"]) == MAX_VERSIONS


def test_the_count_during_the_pass_is_what_reading_every_event_gives(tmp_path: Path) -> None:
    """The versions counted while validating agree with reading them from the events
    (what `run`'s reports do), on recordings kept whole."""
    streams = [
        _run("r1", "1.1") + _run("r2") + _run("r3", "1.1") + _run("r4", 3),
        _text("m0") + _run("r1", "1.0"),
        [*_run("r1", "1.1")[:2], "not an event", 7, _start("r2", "9.9")],  # nested, junk
    ]
    for n, events in enumerate(streams):
        path = tmp_path / f"s{n}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
        plan = recordings.Plan(keep_events=1_000)
        [case] = recordings.validate_all(recordings.expand([str(path)]), plan).cases
        [run] = case.runs
        assert run.eventsOmitted == 0 and run.protocolVersions is not None
        counted = protocol_versions([case])
        run.protocolVersions = None  # now read from the events kept
        assert protocol_versions([case]) == counted, events


@pytest.mark.parametrize(
    ("version", "rules"),
    [
        ("1." + "9" * 100_000, ["version-newer-than-validator"]),
        ("9" * 100_000 + ".0", ["version-newer-than-validator"]),
        ("0." + "9" * 100_000, []),
        ("1.10", ["version-newer-than-validator"]),
        ("1.1", []),
        ("1.0", []),
        ("01.1", ["version-format"]),
    ],
)
def test_a_version_of_any_length_is_judged_not_a_crash(
    tmp_path: Path, version: str, rules: list[str]
) -> None:
    """VER-009: a declaration is a MAJOR.MINOR identifier; one past the int() conversion
    limit (4,300 digits) is still compared as a number, never an internal error."""
    path = _jsonl(tmp_path / "huge.jsonl", _run("r1", version))
    code, out, err = _validate(path, "--format", "json")
    assert code in (0, 1), err
    [case] = json.loads(out)["cases"]
    assert [f["rule"] for f in case["runs"][0]["findings"]] == rules
