"""`RunRecord.request` is typed (`SentRequest`): what an exchange sent, one of an object, a
raw body's first characters, a too-large body's preview and size, a GET or a file; the
JSON report keeps the shape it always had, and a reproducer has its own field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agui_conformance.model import (
    CaseResult,
    Report,
    RunRecord,
    SentRequest,
    ToolInfo,
    as_data,
    dump_report,
    load_report,
)


def _read_back(record: RunRecord) -> RunRecord:
    """`record` through the JSON report and back (the one writer, the one reader)."""
    case = CaseResult(id="c", title="t", requirements=[], expect="run", status="passed")
    case.runs.append(record)
    report = Report(tool=ToolInfo(version="0"), target="t", profile="spec", cases=[case])
    return load_report(dump_report(report)).cases[0].runs[0]


def _record(request: Any, **more: Any) -> RunRecord:
    return RunRecord(
        request=request, requestHeaders={}, status=200, responseHeaders={}, timing={}, **more
    )


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        (SentRequest(input={"threadId": "t", "runId": "r"}), {"threadId": "t", "runId": "r"}),
        (SentRequest(body="{not json"), "{not json"),
        (SentRequest(body='{"a"', size=200_000), {"preview": '{"a"', "bytes": 200_000}),
        (SentRequest(method="GET", url="https://a.example/caps"), {"GET": "https://a.example/caps"}),
        (SentRequest(method="READ", file="caps.json"), {"file": "caps.json"}),
    ],
)  # fmt: skip
def test_each_kind_keeps_its_json_shape_and_reads_back_typed(sent: SentRequest, shown: Any) -> None:
    record = _record(sent)
    dumped = as_data(record)
    assert dumped["request"] == shown
    assert _read_back(record).request == sent


def test_the_runner_types_what_it_sent() -> None:
    assert SentRequest.sent({"threadId": "t"}, b'{"threadId":"t"}').input == {"threadId": "t"}
    raw = SentRequest.sent(None, b"x" * 900)
    assert raw.input is None and raw.body == "x" * 500 and raw.size is None
    big = SentRequest.sent({"threadId": "t"}, b"y" * 100_001)
    assert big.input is None and big.body == "y" * 2_000 and big.size == 100_001


def test_the_reproducer_is_its_own_field_not_inside_the_request() -> None:
    record = _record({"threadId": "t"}, reproducer="curl -N -X POST http://a/")
    dumped = as_data(record)
    assert dumped["request"] == {"threadId": "t"}
    assert dumped["reproducer"] == "curl -N -X POST http://a/"


def test_a_report_from_before_the_reproducer_field_reads_its_input() -> None:
    old = _record({"input": {"threadId": "t"}, "curl": "curl ..."})
    assert old.request == SentRequest(input={"threadId": "t"})


def test_redaction_reaches_every_part_of_the_request_and_the_reproducer() -> None:
    from agui_conformance.redact import scrub_result

    secret = "Bearer tok-SECRET-42"
    runs = [
        _record({"note": f"echo {secret}"}, reproducer=f"curl -H 'Authorization: {secret}'"),
        _record(f"raw {secret}"),
        _record({"GET": f"https://a.example/caps?token={secret}"}),
    ]
    case = CaseResult(id="c", title="t", requirements=[], expect="run", status="failed", runs=runs)
    scrub_result(case, "http://a/", {"Authorization": secret})
    text = json.dumps(as_data(case))
    assert "tok-SECRET-42" not in text
    assert case.runs[0].request.input is not None and case.runs[1].request.body is not None
    assert case.runs[2].request.method == "GET"
