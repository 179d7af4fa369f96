"""The HTML compliance report, read back by parsing it (never by string snapshots alone)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from click.testing import CliRunner

from agui_conformance import suite
from agui_conformance.cases import load_cases
from agui_conformance.cli import main
from agui_conformance.model import CaseResult, Finding, Level, Report, RunRecord, ToolInfo
from agui_conformance.report.html import case_fragment, to_html
from agui_conformance.report.json_report import report_to_json
from agui_conformance.report.sarif import report_to_sarif
from agui_conformance.rules import catalog
from agui_conformance.runner import RunnerConfig
from reference_agent.app import AgentConfig
from reference_agent.server import running_agent


def _report(fault: str | None = None, **cfg: object) -> Report:
    plan = suite.Plan(cases=load_cases(), examples=0)
    with running_agent(AgentConfig(fault=fault)) as agent:
        return suite.run(RunnerConfig(url=agent.url, **cfg), plan, shown_target=agent.url)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def passing() -> tuple[Report, BeautifulSoup]:
    report = _report()
    return report, BeautifulSoup(to_html(report), "html.parser")


@pytest.fixture(scope="module")
def faulted() -> tuple[Report, BeautifulSoup]:
    report = _report("unclosed-tool-call")
    return report, BeautifulSoup(to_html(report), "html.parser")


def _one(soup: BeautifulSoup | Tag, selector: str) -> Tag:
    found = soup.select_one(selector)
    assert found is not None, selector
    return found


def test_passing_run_verdict_and_matrix(passing: tuple[Report, BeautifulSoup]) -> None:
    report, soup = passing
    assert _one(soup, "#verdict")["data-verdict"] == "pass"
    assert _one(soup, "#conformance-level").get_text() == "MUST + SHOULD"
    rows = soup.select("#matrix tbody tr")
    assert [r["data-rule"] for r in rows] == list(catalog())
    states = {r["data-rule"]: r["data-status"] for r in rows}
    assert "failed" not in states.values()
    # not exercised is never shown as passed: the reference agent's default cases send
    # plain prompts, so e.g. subagent rules are not exercised
    assert states["subagent-already-active"] == "not-exercised"
    assert states["lifecycle-first-event"] == "passed"
    assert states["transport-buffered"] == "not-applicable"  # cometchat profile only
    counts = _one(soup, "#requirement-counts").get_text(" ", strip=True)
    assert report.summary is not None
    for state, n in report.summary.requirements.items():
        assert f"{n} {state.replace('-', ' ')}" in counts
    assert sum(report.summary.requirements.values()) == len(catalog())
    assert "1.1" in soup.get_text()  # the protocol version the agent declared


def test_report_is_self_contained(passing: tuple[Report, BeautifulSoup]) -> None:
    _, soup = passing
    assert not soup.select("script[src], link, img, iframe, object, embed")
    for style in soup.select("style"):
        assert "@import" not in style.get_text() and "url(" not in style.get_text()
    assert len(soup.select("script")) == 1


def test_faulted_run_highlights_the_event_and_names_the_rule(
    faulted: tuple[Report, BeautifulSoup],
) -> None:
    report, soup = faulted
    assert _one(soup, "#verdict")["data-verdict"] == "fail"
    assert _one(soup, "#conformance-level").get_text() == "none"
    row = _one(soup, '#matrix tr[data-rule="item-open-at-finish"]')
    assert row["data-status"] == "failed"
    assert _one(row, "a.to-case")["href"] == "#case-frontend-tool-round-trip"
    case = next(c for c in report.cases if c.id == "frontend-tool-round-trip")
    finding = next(f for f in case.findings if f.rule == "item-open-at-finish")
    section = _one(soup, "#case-frontend-tool-round-trip")
    assert section.has_attr("open")
    bad = section.select("table.transcript tr.bad")
    assert [int(str(tr["data-index"])) for tr in bad] == [finding.index]
    assert _one(bad[0], ".finding")["data-rule"] == "item-open-at-finish"
    assert "Fix:" in bad[0].get_text()
    suite_cmd = _one(section, "pre.reproducer.suite").get_text()
    assert "--case frontend-tool-round-trip" in suite_cmd
    curl = _one(section, "pre.reproducer.curl").get_text()
    assert curl.startswith("curl -N -X POST") and '"tools"' in curl


def test_deltas_are_collapsed_and_the_assembled_message_shown(
    passing: tuple[Report, BeautifulSoup],
) -> None:
    _, soup = passing
    section = _one(soup, "#case-frontend-tool-round-trip")
    collapsed = section.select("table.transcript tr.collapsed")
    assert collapsed, "runs of content deltas collapse into one row"
    assert "→ show_weather_card(" in section.get_text()  # the assembled tool call


def _secret_run(tmp_path: Path) -> dict[str, str]:
    """Run two cases through the CLI with secrets in headers and URL; every output file."""
    out = {kind: tmp_path / f"r.{kind}" for kind in ("html", "json", "xml", "sarif")}
    with running_agent(AgentConfig(token="s3cret-token-value")) as agent:
        url = agent.url.replace("http://", "http://user:hunter2pass@") + "?api_key=k3y-in-url"
        outcome = CliRunner(env={"AGENT_AUTH": "Bearer s3cret-token-value"}).invoke(
            main,
            [
                "run",
                "--agent-url",
                url,
                "--agent-header",
                "Authorization: env:AGENT_AUTH",
                "--agent-header",
                "X-Api-Key: x-api-key-value",
                "--agent-header",
                "X-Trace: visible-trace",
                "--auth-required",
                "--no-preflight",  # the URL's user:password replaces the Authorization
                "-k",
                "auth",
                "--examples",
                "0",
                "--html",
                str(out["html"]),
                "--json",
                str(out["json"]),
                "--junit",
                str(out["xml"]),
                "--sarif",
                str(out["sarif"]),
            ],
        )
    assert outcome.exit_code == 0, outcome.output
    texts = {kind: path.read_text() for kind, path in out.items()}
    texts["stdout"] = outcome.output
    return texts


def test_secrets_never_appear_in_any_report(tmp_path: Path) -> None:
    texts = _secret_run(tmp_path)
    for kind, text in texts.items():
        for secret in ("s3cret-token-value", "x-api-key-value", "hunter2pass", "k3y-in-url"):
            assert secret not in text, (kind, secret)
    soup = BeautifulSoup(texts["html"], "html.parser")
    sent = {
        td[0].get_text(): td[1].get_text()
        for tr in soup.select("table.headers tr")
        if len(td := tr.select("td")) == 2
    }
    assert sent["Authorization"] == "***" and sent["X-Api-Key"] == "***"
    assert sent["X-Trace"] == "visible-trace"
    command = _one(soup, "#verdict ~ dl").get_text()
    assert "'Authorization: env:AGENT_AUTH'" in command  # the variable the user named
    assert "'X-Api-Key: env:AGUI_X_API_KEY'" in command  # given inline: a variable to set


def test_reproducer_reads_secrets_from_the_environment(
    faulted: tuple[Report, BeautifulSoup],
) -> None:
    report, _ = faulted
    case = next(c for c in report.cases if c.status == "failed")
    case.runs[0].requestHeaders["Authorization"] = "***"
    soup = BeautifulSoup(case_fragment(case, report), "html.parser")
    curl = _one(soup, "pre.reproducer.curl").get_text()
    assert '"Authorization: $AGUI_AUTHORIZATION"' in curl
    assert (
        "'Authorization: env:AGUI_AUTHORIZATION'" in _one(soup, "pre.reproducer.suite").get_text()
    )


def _big_run(events: int) -> Report:
    deltas = [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": f"w{i} "}
        for i in range(events - 4)
    ]
    stream = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"},
        *deltas,
        {"type": "TEXT_MESSAGE_END", "messageId": "m1"},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]
    middle = events // 2
    stream[middle] = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": ""}
    bad = Finding(rule="schema-wrong-type", level=Level.ERROR, message="empty delta", index=middle)
    run = RunRecord(
        request={"threadId": "t", "runId": "r", "messages": []},
        requestHeaders={},
        status=200,
        responseHeaders={"content-type": "text/event-stream"},
        timing={"totalMs": events * 0.1, "firstEventMs": 1.0},
        events=stream,
        eventTimesMs=[i * 0.1 for i in range(events)],
        findings=[bad],
    )
    case = CaseResult(
        id="big", title="big", requirements=[], expect="run", status="failed", runs=[run]
    )
    return Report(tool=ToolInfo(version="0"), target="http://x", profile="spec", cases=[case])


def test_a_10000_event_run_renders_small_with_its_bad_delta_kept_apart() -> None:
    html = to_html(_big_run(10_000))
    assert len(html.encode()) < 150_000, len(html)
    soup = BeautifulSoup(html, "html.parser")
    rows = soup.select("table.transcript tbody tr")
    assert len(rows) == 7  # start, open, deltas, the bad delta, deltas, end, finish
    assert [tr["data-index"] for tr in soup.select("tr.bad")] == ["5000"]
    assert re.search(r"×4998\b", soup.get_text()) and re.search(r"×4997\b", soup.get_text())


def test_hostile_content_is_escaped() -> None:
    report = _big_run(10)
    run = report.cases[0].runs[0]
    run.events[3] = {
        "type": "TEXT_MESSAGE_CONTENT",
        "messageId": "m1",
        "delta": "<script>x()</script>",
    }
    run.events.append("<img src=x onerror=alert(1)>")
    run.events.append(["not", {"an": "event"}])
    run.requestHeaders["X-Evil"] = '"><script>y()</script>'
    soup = BeautifulSoup(to_html(report), "html.parser")
    assert len(soup.select("script")) == 1 and not soup.select("img")
    assert "<script>x()</script>" in soup.get_text()


def test_compare_reference_fills_the_comparison_column(tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    with running_agent(AgentConfig(fault="wrong-run-id")) as agent:
        outcome = CliRunner().invoke(
            main,
            [
                "run",
                "--agent-url",
                agent.url,
                "-k",
                "minimal",
                "--examples",
                "0",
                "--compare-reference",
                "--html",
                str(html),
            ],
        )
    assert outcome.exit_code == 1, outcome.output
    soup = BeautifulSoup(html.read_text(), "html.parser")
    row = _one(soup, '#matrix tr[data-rule="identity-run-id-echo"]')
    assert row["data-status"] == "failed"
    assert _one(row, "td:last-child .badge").get_text() == "passed"
    assert "reference: passed" in _one(soup, "#case-minimal-input summary").get_text()


def test_json_and_sarif_of_a_faulted_run(faulted: tuple[Report, BeautifulSoup]) -> None:
    import jsonschema

    from agui_conformance.model import report_schema

    report, _ = faulted
    jsonschema.Draft202012Validator(report_schema()).validate(json.loads(report_to_json(report)))
    sarif = json.loads(report_to_sarif(report))
    from jsonschema import Draft4Validator

    from .test_cli import _sarif_schema

    errors = list(Draft4Validator(_sarif_schema()).iter_errors(sarif))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    results = sarif["runs"][0]["results"]
    assert any(r["ruleId"] == "item-open-at-finish" for r in results)
    hit = next(r for r in results if r["ruleId"] == "item-open-at-finish")
    logical = hit["locations"][0]["logicalLocations"][0]["name"]
    assert logical.startswith("frontend-tool-round-trip/run 1/event ")


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_validate_html_of_a_recording(tmp_path: Path) -> None:
    out = tmp_path / "buggy.html"
    outcome = CliRunner().invoke(
        main,
        ["validate", str(EXAMPLES / "buggy-run.jsonl"), "--input",
         str(EXAMPLES / "request.json"), "--format", "html", "-o", str(out)],
    )  # fmt: skip
    assert outcome.exit_code == 1
    soup = BeautifulSoup(out.read_text(), "html.parser")
    assert _one(soup, "#verdict")["data-verdict"] == "fail"
    assert _one(soup, '#matrix tr[data-rule="snake-case-key"]')["data-status"] == "failed"
    first = _one(soup, 'table.transcript tr[data-index="0"]')
    assert "bad" in first["class"] and first.select('.finding[data-rule="snake-case-key"]')
    assert _one(soup, "pre.reproducer").get_text().startswith("agui-conformance validate ")
    assert not soup.select("pre.reproducer.curl")  # nothing to replay against


def test_record_then_validate_html_shows_the_timeline_and_no_secret(tmp_path: Path) -> None:
    recording = tmp_path / "run.jsonl"
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"threadId": "t", "runId": "r", "messages": [
        {"id": "u", "role": "user", "content": "chunks"}]}))  # fmt: skip
    with running_agent() as agent:
        url = agent.url.replace("http://", "http://user:hunter2pass@")
        recorded = CliRunner().invoke(
            main, ["record", url, "--input", str(request), "-o", str(recording)]
        )
    assert recorded.exit_code == 0, recorded.output
    out = tmp_path / "run.html"
    outcome = CliRunner().invoke(
        main, ["validate", str(recording), "--input", str(request), "--format", "html",
               "-o", str(out)],
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    html = out.read_text()
    assert (
        "hunter2pass" not in html
        and "hunter2pass" not in (tmp_path / "run.jsonl.timing.json").read_text()
    )
    soup = BeautifulSoup(html, "html.parser")
    assert _one(soup, "#verdict")["data-verdict"] == "pass"
    assert soup.select("svg.timeline") and "HTTP 200" in _one(soup, "section.run h3").get_text()


def test_validate_html_from_stdin() -> None:
    data = (EXAMPLES / "conformant-run.sse").read_bytes()
    outcome = CliRunner().invoke(main, ["validate", "-", "--format", "html"], input=data)
    assert outcome.exit_code == 0
    soup = BeautifulSoup(outcome.output, "html.parser")
    assert _one(soup, "#verdict")["data-verdict"] == "pass"
    assert soup.select("table.transcript tbody tr")


# --- the binding of each run ------------------------------------------------------------------

PROTO_ACCEPT = "application/vnd.ag-ui.event+proto, text/event-stream"


def _binding_page(binding: str, fault: str | None = None) -> BeautifulSoup:
    chosen = {"minimal-input", "binding-negotiation"}
    plan = suite.Plan(cases=[c for c in load_cases() if c.id in chosen], examples=0)
    with running_agent(AgentConfig(fault=fault)) as agent:
        report = suite.run(
            RunnerConfig(url=agent.url, binding=binding), plan, shown_target=agent.url
        )
    return BeautifulSoup(to_html(report), "html.parser")


def _runs(soup: BeautifulSoup, case: str) -> list[Tag]:
    return _one(soup, f"#case-{case}").select("section.run")


def test_each_runs_header_says_the_binding_served_and_what_was_asked() -> None:
    proto = _binding_page("protobuf", fault="proto-truncated")
    (run,) = _runs(proto, "minimal-input")
    header = _one(run, "h3")
    assert _one(header, ".binding").get_text() == "protobuf served"
    assert f"asked with Accept: {PROTO_ACCEPT}" in " ".join(header.get_text().split())
    case = _one(proto, "#case-minimal-input")
    assert _one(case, "summary .badge.binding").get_text() == "protobuf"
    # the transcript of a protobuf run shows its decoded events, with the finding
    rows = run.select("tr[data-index]")
    assert "RUN_STARTED" in rows[0].get_text() and "TEXT_MESSAGE_START" in rows[1].get_text()
    assert "stream-truncated" in run.get_text()
    # the negotiation case asks six ways: each run says what it asked and what came back
    heads = [
        " ".join(_one(r, "h3").get_text().split()) for r in _runs(proto, "binding-negotiation")
    ]
    assert len(heads) == 6
    assert "SSE served" in heads[0] and "Accept: text/event-stream)" in heads[0]
    assert "protobuf served" in heads[2] and "Accept: */*)" in heads[2]
    assert "SSE served" in heads[5] and "q=0" in heads[5]
    negotiation = _one(proto, "#case-binding-negotiation")
    assert _one(negotiation, "summary .badge.binding").get_text() == "SSE + protobuf"


def test_an_sse_run_says_sse_and_carries_no_binding_badge() -> None:
    sse_page = _binding_page("sse")
    (run,) = _runs(sse_page, "minimal-input")
    assert _one(run, "h3 .binding").get_text() == "SSE served"
    assert "Accept: text/event-stream" in _one(run, "h3").get_text()
    assert not _one(sse_page, "#case-minimal-input").select("summary .badge.binding")
