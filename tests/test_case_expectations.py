"""Cases that assert behaviour: `expect_tool_call`, `expect_state` and `expect_outcome` in a
case file (agui_conformance.expectations). A run that finished without doing what the case
states fails the case as `case-expectation-unmet`, never passes; the agent's own errors and
silence keep their own statuses; the rule is the case author's, so it never lowers the
conformance level. Agents here are real servers on loopback sockets: small scripted ones
(tests/hostile_agents.py) and the reference agent."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from agui_conformance import docs_gen, expectations
from agui_conformance.cases import Case, load_cases
from agui_conformance.cli import main
from agui_conformance.matrix import conformance, requirements
from agui_conformance.model import CaseResult
from agui_conformance.rules import get as get_rule
from agui_conformance.runner import RunnerConfig, run_suite
from agui_conformance.transport import Deadlines
from reference_agent.server import running_agent
from tests.hostile_agents import agent, conformant_run, serve_app, started_then_silent

pytest_plugins = ["pytester"]

RULE = "case-expectation-unmet"
FAST = Deadlines(first_byte=3.0, idle=2.0, total=10.0)
DOCS = Path(__file__).resolve().parents[1] / "docs" / "extending.md"
CARD = {
    "name": "show_weather_card",
    "description": "Render a weather card",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
CITY = {"type": "object", "properties": {"city": {"type": "string", "minLength": 1}}}


def _case(say: str, **fields: Any) -> Case:
    """A case whose user message `say` tells the scripted agent what to do."""
    data: dict[str, Any] = {
        "id": fields.pop("id", "my-case"),
        "title": "A case of my own",
        "request": {
            "threadId": "${thread}",
            "runId": "${run}",
            "messages": [{"id": "${id}", "role": "user", "content": say}],
            "tools": [CARD],
            **fields.pop("request", {}),
        },
        **fields,
    }
    return Case.model_validate(data)


def _scripted(body: dict[str, Any]) -> list[dict[str, Any]]:
    """An agent doing what the last user message says: `chat`, `call NAME ARGS`,
    `state JSON`, `interrupt`, `error`; a message after a tool result gets a chat reply."""
    events = conformant_run(body)
    start, finish = events[0], events[-1]
    said = body["messages"][-1].get("content", "")
    if body["messages"][-1].get("role") == "tool" or said == "chat":
        return events
    word, _, rest = str(said).partition(" ")
    if word == "call":
        name, _, args = rest.partition(" ")
        cid = f"call-{body['runId']}"
        return [
            start,
            {"type": "TOOL_CALL_START", "toolCallId": cid, "toolCallName": name},
            {"type": "TOOL_CALL_ARGS", "toolCallId": cid, "delta": args},
            {"type": "TOOL_CALL_END", "toolCallId": cid},
            {**finish, "outcome": {"type": "success", "pendingToolCallIds": [cid]}},
        ]
    if word == "state":
        return [start, {"type": "STATE_SNAPSHOT", "snapshot": json.loads(rest)}, *events[1:]]
    if word == "interrupt":
        interrupt = {"id": f"i-{body['runId']}", "reason": "confirm"}
        return [start, {**finish, "outcome": {"type": "interrupt", "interrupts": [interrupt]}}]
    if word == "error":
        return [start, {"type": "RUN_ERROR", "message": "The model is unavailable."}]
    raise AssertionError(f"unscripted: {said!r}")


def _suite(url: str, cases: list[Case]) -> dict[str, CaseResult]:
    results = asyncio.run(run_suite(cases, RunnerConfig(url=url, deadlines=FAST)))
    assert all(r.status != "harness-error" for r in results), [r.reason for r in results]
    return {r.id: r for r in results}


def _rules(result: CaseResult) -> list[str]:
    return [f.rule for f in result.findings]


# ------------------------------------------------------------------ the case schema


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"expect_tool_call": {}}, "name"),
        ({"expect_tool_call": {"name": ""}}, "at least 1 character"),
        ({"expect_tool_call": {"name": "x", "args": {}}}, "Extra inputs are not permitted"),
        ({"expect_tool_call": {"name": "x", "arguments": {"type": 12}}}, "not a JSON Schema"),
        (
            {
                "expect_tool_call": {
                    "name": "x",
                    "arguments": {"properties": {"a": {"minLength": -1}}},
                }
            },
            "not a JSON Schema",
        ),
        ({"expect_tool_call": {"name": "x", "arguments": "object"}}, "arguments"),
        ({"expect_state": ["cart"]}, "'cart' is not a JSON Pointer"),
        ({"expect_state": ["/a~2b"]}, "is not a JSON Pointer"),
        ({"expect_state": "/cart"}, "list"),
        ({"expect_outcome": "paused"}, "'success', 'interrupt' or 'cancelled'"),
        ({"expect_outcome": "interrupt", "expect": "reject"}, "need expect: run"),
        ({"expect_outcome": "interrupt", "behaviour": "state-types"}, "do not go with"),
        ({"expect_toolcall": {"name": "x"}}, "Extra inputs are not permitted"),
    ],
)
def test_a_malformed_expectation_is_refused_when_the_case_loads(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        _case("chat", **fields)


def test_expectations_need_a_request_not_a_raw_body() -> None:
    data = {"id": "raw", "title": "raw", "raw_body": "{}", "expect_outcome": "success"}
    with pytest.raises(ValueError, match="need expect: run and a `request`"):
        Case.model_validate(data)


def test_a_file_s_variants_keep_its_expectations() -> None:
    base = _case("chat", expect_outcome="interrupt", expect_state=["/a"])
    data = {**base.model_dump(by_alias=True), "variants": [{"id": "one"}, {"id": "two"}]}
    expanded = Case.model_validate(data).expand()
    assert [c.expectations() for c in expanded] == [base.expectations()] * 2


def test_no_built_in_case_states_an_expectation() -> None:
    """The built-in suite judges the protocol only: an agent need not call our tools."""
    assert not [c.id for c in load_cases() if c.expectations()]


def test_a_malformed_expectation_in_my_folder_is_a_usage_error(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    text = _case("chat", expect_outcome="interrupt").model_dump(by_alias=True, exclude_none=True)
    text["expect_state"] = ["no-slash"]
    (folder / "mine.yaml").write_text(yaml.safe_dump(text))
    outcome = CliRunner().invoke(main, ["run", "--cases", str(folder), "--no-html"])
    assert outcome.exit_code == 2, outcome.output
    assert "mine.yaml" in outcome.output and "not a JSON Pointer" in outcome.output
    assert "Traceback" not in outcome.output


# ------------------------------------------------------------------ met and unmet, on the wire


def test_each_expectation_met_passes_and_unmet_fails_with_its_reason() -> None:
    args = '{"city": "Oslo"}'
    card = {"name": "show_weather_card"}
    cases = [
        _case("chat", id="tool-unmet", expect_tool_call={"name": "show_weather_card"}),
        _case(f"call show_map {args}", id="tool-other", expect_tool_call=card),
        _case(f"call show_weather_card {args}", id="tool-met",
              expect_tool_call={"name": "show_weather_card", "arguments": CITY}),
        _case('call show_weather_card {"city": ""}', id="args-unmet",
              expect_tool_call={"name": "show_weather_card", "arguments": CITY}),
        _case('call show_weather_card {"city": ', id="args-not-json",
              expect_tool_call={"name": "show_weather_card", "arguments": CITY}),
        _case('state {"card": {"city": "Oslo"}}', id="state-met", expect_state=["/card/city"]),
        _case('state {"card": {}}', id="state-unmet", expect_state=["/card/city"]),
        _case("chat", id="state-none", expect_state=[""]),
        _case("interrupt", id="outcome-met", expect_outcome="interrupt"),
        _case("chat", id="outcome-unmet", expect_outcome="interrupt"),
        _case("interrupt", id="success-unmet", expect_outcome="success"),
    ]  # fmt: skip
    with serve_app(agent(_scripted)) as url:
        results = _suite(url, cases)
    status = {i: (r.status, _rules(r)) for i, r in results.items()}
    for met in ("tool-met", "state-met", "outcome-met"):
        assert status[met] == ("passed", []), (met, results[met].reason)
    reasons = {
        "tool-unmet": "expects a call to the tool `show_weather_card`; the run finished without "
        "one (it called no tool)",
        "tool-other": "(it called 'show_map')",
        "args-unmet": "/city: '' should be non-empty",
        "args-not-json": 'its arguments are not JSON ({"city": )',
        "state-unmet": "expects `/card/city` in the final state",
        "state-none": "the run reported no state",
        "outcome-unmet": "`interrupt` outcome; its RUN_FINISHED carries none (success)",
        "success-unmet": "`success` outcome; its RUN_FINISHED carries `interrupt`",
    }
    for case_id, reason in reasons.items():
        result = results[case_id]
        assert result.status == "failed", (case_id, result.status, result.reason)
        assert result.reason.startswith("expectation unmet: The case expects"), result.reason
        assert reason in result.reason, (case_id, result.reason)
        (finding,) = [f for f in result.findings if f.rule == RULE]
        assert finding.level.value == "error" and finding.index == len(result.runs[0].events) - 1
    # the protocol was spoken well throughout: only the case's own rule, apart from the
    # arguments that are not JSON (the stream's own rule says so too)
    assert {r for _, rules in status.values() for r in rules} == {RULE, "tool-args-not-json"}


def test_an_unmet_expectation_fails_the_verdict_but_not_the_conformance_level() -> None:
    cases = [
        _case("chat", id="plain"),
        _case("chat", id="tool-unmet", expect_tool_call={"name": "show_weather_card"}),
    ]
    with serve_app(agent(_scripted)) as url:
        results = list(_suite(url, cases).values())
    assert [r.status for r in results] == ["passed", "failed"]
    assert conformance(results) == "MUST + SHOULD"
    (row,) = [r for r in requirements(results, "spec") if r.rule == RULE]
    assert (row.status, row.findings, row.cases) == ("failed", 1, ["tool-unmet"])


def test_the_rule_is_exercised_only_by_a_judged_run() -> None:
    met = _case("interrupt", id="met", expect_outcome="interrupt")
    with serve_app(agent(_scripted)) as url:
        results = _suite(url, [met, _case("chat", id="plain")])
    assert RULE in results["met"].runs[0].exercised
    assert RULE not in results["plain"].runs[0].exercised
    rows = {r.rule: r.status for r in requirements(list(results.values()), "spec")}
    assert rows[RULE] == "passed"
    alone = requirements([results["plain"]], "spec")
    assert {r.rule: r.status for r in alone}[RULE] == "not-exercised"


def test_a_run_error_stays_the_agent_s_error_never_an_unmet_expectation() -> None:
    case = _case("error", expect_tool_call={"name": "show_weather_card"}, expect_state=["/x"])
    with serve_app(agent(_scripted)) as url:
        (result,) = _suite(url, [case]).values()
    assert result.status == "agent-error", result.reason
    assert RULE not in _rules(result) and RULE not in result.runs[0].exercised


def test_no_answer_stays_unresponsive_never_an_unmet_expectation() -> None:
    case = _case("chat", expect_outcome="success")
    with serve_app(started_then_silent()) as url:
        (result,) = _suite(url, [case]).values()
    assert result.status == "failed" and result.reason.startswith("agent unresponsive"), result
    assert _rules(result) == ["agent-unresponsive"]


def test_follow_ups_are_not_judged_and_each_concurrent_copy_is() -> None:
    call = 'call show_weather_card {"city": "Oslo"}'
    expected = {"name": "show_weather_card", "arguments": CITY}
    round_trip = _case(call, id="round-trip", expect_tool_call=expected,
                       then=[{"continue": "tool-results"}])  # fmt: skip
    copies = _case(call, id="copies", expect_tool_call=expected, concurrent=3)
    with serve_app(agent(_scripted)) as url:
        results = _suite(url, [round_trip, copies])
    trip = results["round-trip"]
    assert trip.status == "passed" and len(trip.runs) == 2, trip.reason  # no call in the second
    assert RULE in trip.runs[0].exercised and RULE not in trip.runs[1].exercised
    judged = [run for run in results["copies"].runs if RULE in run.exercised]
    assert results["copies"].status == "passed" and len(judged) == 3


# ------------------------------------------------------------------ the docs' example


def _docs_yaml() -> str:
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# tests/agui-cases/my-weather-tool\.yaml\n.*?)```", text, re.S)
    assert block is not None, "docs/extending.md lost its example case"
    return block.group(1)


def _docs_example() -> Case:
    return Case.model_validate(yaml.safe_load(_docs_yaml()))


def test_the_docs_example_fails_against_an_agent_that_never_calls_the_tool() -> None:
    case = _docs_example()
    assert case.expect_tool_call is not None and case.expect_tool_call.arguments is not None
    with serve_app(agent(conformant_run)) as url:  # a well-formed reply, and no tool call
        (result,) = _suite(url, [case]).values()
    assert result.status == "failed", result.reason
    assert "a call to the tool `show_weather_card`" in result.reason
    assert _rules(result) == [RULE]
    assert [f.rule for f in result.runs[0].findings] == [RULE]  # on the case's own run


def test_the_docs_example_passes_against_the_reference_agent_s_tool_agent() -> None:
    with running_agent() as reference:
        (result,) = _suite(reference.url.rstrip("/") + "/agents/tool", [_docs_example()]).values()
    assert result.status == "passed", result.reason
    assert len(result.runs) == 2 and not result.findings
    assert RULE in result.runs[0].exercised


def test_the_docs_example_through_the_cli(tmp_path: Path) -> None:
    """As a user runs it: fails (exit 1) where the reply only chats, passes (exit 0) where the
    tool is called; the JSON report says why."""
    folder = tmp_path / "agui-cases"
    folder.mkdir()
    (folder / "my-weather-tool.yaml").write_text(_docs_yaml())
    out = tmp_path / "r.json"
    common = ["--cases", str(folder), "-k", "my-weather", "--examples", "0", "--no-html"]
    with running_agent() as reference:
        chat = CliRunner().invoke(
            main, ["run", "--agent-url", reference.url, *common, "--json", str(out)]
        )
        (case,) = json.loads(out.read_text())["cases"]
        tool = CliRunner().invoke(
            main, ["run", "--agent-url", f"{reference.url.rstrip('/')}/agents/tool", *common]
        )
    assert chat.exit_code == 1, chat.output
    assert case["status"] == "failed" and case["reason"].startswith("expectation unmet")
    assert tool.exit_code == 0, tool.output


# ------------------------------------------------------------------ the reference agent


def test_the_reference_agent_meets_what_its_commands_promise() -> None:
    cases = [
        _case("tool: show_weather_card", id="tool",
              expect_tool_call={"name": "show_weather_card", "arguments": CITY}),
        _case("state", id="state", request={"state": {"counter": 41}},
              expect_state=["/counter", "/items/1"]),
        _case("interrupt", id="interrupt", expect_outcome="interrupt"),
        _case("cancel", id="cancel", expect_outcome="cancelled"),
        _case("messages", id="no-call", expect_tool_call={"name": "show_weather_card"}),
    ]  # fmt: skip
    with running_agent() as reference:
        results = _suite(reference.url, cases)
    for case_id in ("tool", "state", "interrupt", "cancel"):
        assert results[case_id].status == "passed", (case_id, results[case_id].reason)
    assert results["no-call"].status == "failed" and _rules(results["no-call"]) == [RULE]


# ------------------------------------------------------------------ the rule's page


def test_the_rule_says_it_is_the_case_author_s_not_the_spec_s() -> None:
    rule = get_rule(RULE)
    assert rule.strength.value == "case" and rule.category == "case"
    assert not docs_gen.above_cap(rule, {})  # no spec row to cap it: the author's level
    page = (DOCS.parent / "rules" / f"{RULE}.md").read_text(encoding="utf-8")
    assert "not a requirement of the spec" in page
    assert "never lowers the conformance level" in page


# ------------------------------------------------------------------ the pytest face


def test_pytest_fails_the_case_item_naming_the_rule(pytester: pytest.Pytester) -> None:
    """`pytest --agent-url URL --agui-cases DIR`: the case's own item fails with the rule and
    its reason; the items of the spec's requirements it lists are not failed by it."""
    folder = pytester.path / "agui-cases"
    folder.mkdir()
    (folder / "my-weather-tool.yaml").write_text(_docs_yaml())
    with serve_app(agent(conformant_run)) as url:
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--agent-url", url, "--agui-cases", str(folder),
            "-k", "my-weather-tool", "-v",
        )  # fmt: skip
    result.stdout.fnmatch_lines(["*agui-conformance::my-weather-tool FAILED*"])
    result.stdout.fnmatch_lines([f"{RULE}: The case expects a call to the tool*(error, event 4)"])
    assert result.ret == 1


# ------------------------------------------------------------------ the judgement itself


def _judge(stated: Case, stream: list[dict[str, Any]]) -> list[str]:
    request = {"threadId": "t1", "runId": "r1", "messages": [], **(stated.request or {})}
    hits = expectations.judge(stated.expectations(), request, enumerate(stream))
    return [h.message for h in hits]


START = {"type": "RUN_STARTED", "threadId": "t1", "runId": "r1"}
FINISH = {"type": "RUN_FINISHED", "threadId": "t1", "runId": "r1"}


def test_judging_leaves_the_events_as_they_were() -> None:
    stream = [
        START,
        {"type": "STATE_SNAPSHOT", "snapshot": {"items": []}},
        {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "/items/-", "value": 1}]},
        FINISH,
    ]
    before = copy.deepcopy(stream)
    assert _judge(_case("x", expect_state=["/items/0"]), stream) == []
    assert stream == before


def test_a_call_streamed_without_arguments_has_empty_ones() -> None:
    loose = {"name": "ping", "arguments": {"type": "object", "maxProperties": 0}}
    strict = {"name": "ping", "arguments": {"type": "object", "required": ["a"]}}
    stream = [
        START,
        {"type": "TOOL_CALL_START", "toolCallId": "c1", "toolCallName": "ping"},
        {"type": "TOOL_CALL_END", "toolCallId": "c1"},
        FINISH,
    ]
    assert _judge(_case("x", expect_tool_call=loose), stream) == []
    (missed,) = _judge(_case("x", expect_tool_call=strict), stream)
    assert "'a' is a required property (arguments {})" in missed


def test_only_the_requested_run_s_calls_count_on_a_stream_of_several_runs() -> None:
    replayed = [
        {"type": "RUN_STARTED", "threadId": "t1", "runId": "r0"},
        {"type": "TOOL_CALL_START", "toolCallId": "c0", "toolCallName": "ping"},
        {"type": "TOOL_CALL_END", "toolCallId": "c0"},
        {"type": "RUN_FINISHED", "threadId": "t1", "runId": "r0"},
    ]
    (missed,) = _judge(_case("x", expect_tool_call={"name": "ping"}), [*replayed, START, FINISH])
    assert "it called no tool" in missed


def test_a_state_past_the_validator_s_bound_is_not_judged() -> None:
    huge = {"type": "STATE_SNAPSHOT", "snapshot": {"big": "x" * (9 << 20)}}
    assert _judge(_case("x", expect_state=["/missing"]), [START, huge, FINISH]) == []
    doubling = [{"op": "copy", "from": "", "path": "/again"}] * 40
    reported, known, _ = expectations.final_state(
        {"state": {"a": "x" * 100}}, [{"type": "STATE_DELTA", "delta": doubling}], limit=10_000
    )
    assert reported and not known


def test_a_run_that_did_not_finish_meets_and_misses_nothing() -> None:
    stated = _case("x", expect_outcome="interrupt", expect_state=["/a"])
    error = {"type": "RUN_ERROR", "message": "no"}
    assert _judge(stated, [START, error]) == [] and _judge(stated, [START]) == []


@pytest.mark.parametrize(
    ("pointer", "found"),
    [("", True), ("/a~1b", True), ("/list/1", True), ("/list/01", False), ("/list/-", False),
     ("/a~0c", True), ("/none", False), ("/list/1/deeper", False), ("/n", True)],
)  # fmt: skip
def test_pointers_resolve_as_rfc_6901_says(pointer: str, found: bool) -> None:
    doc = {"a/b": 1, "a~c": 2, "list": [0, 1], "n": None}
    assert expectations.present(doc, pointer) is found


def test_arguments_too_deep_for_the_schema_check_are_a_reason_not_a_crash() -> None:
    recursive = {"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}},
                 "$ref": "#/$defs/n"}  # fmt: skip
    deep = "[" * 1000 + "]" * 1000
    reason = expectations.arguments_mismatch(recursive, deep)
    assert reason == "its arguments are nested too deeply to check against the schema"
    assert expectations.arguments_mismatch(recursive, "[[[]]]") is None
