"""The reference agent over a real socket: uvicorn on a free loopback port, httpx.

Every behaviour validates with zero findings; every fault mode yields its own
rule and nothing else; bad input gets its documented 4xx and the server keeps
serving.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from agui_conformance import ValidationResult
from agui_conformance.schema import get_checker
from agui_conformance.validator import validate_events, validate_recording
from agui_conformance.vocabulary import PROFILES
from reference_agent import behaviours
from reference_agent.app import CAPABILITIES, AgentConfig
from reference_agent.faults import FAULT_HEADER, FAULTS
from reference_agent.server import RunningAgent, running_agent

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
SSE = {"Content-Type": "application/json", "Accept": "text/event-stream"}
WEATHER_TOOL = {
    "name": "show_weather_card",
    "description": "Render a weather card",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "units": {"type": "string", "enum": ["metric", "imperial"]},
            "days": {"type": "integer", "minimum": 1},
        },
        "required": ["city", "units", "days"],
    },
}


@pytest.fixture(scope="module")
def agent() -> Iterator[RunningAgent]:
    with running_agent(AgentConfig(allow_faults=True)) as running:
        yield running


def request_for(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "threadId": f"thread-{uuid.uuid4()}",
        "runId": f"run-{uuid.uuid4()}",
        "protocolVersion": "1.1",
        "messages": [{"id": f"user-{uuid.uuid4()}", "role": "user", "content": text}],
        **extra,
    }


def post(
    agent: RunningAgent, body: Any, *, path: str = "", headers: dict[str, str] | None = None
) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(
        agent.url + path, content=content, headers={**SSE, **(headers or {})}, timeout=TIMEOUT
    )


def run_and_validate(
    agent: RunningAgent, body: dict[str, Any], **kw: Any
) -> tuple[httpx.Response, ValidationResult]:
    response = post(agent, body, **kw)
    assert response.status_code == 200, response.text
    return response, validate_recording(response.content, fmt="sse", request=body)


def events_of(response: httpx.Response) -> list[dict[str, Any]]:
    return [
        orjson.loads(line[len(b"data: ") :])
        for line in response.content.split(b"\n")
        if line.startswith(b"data: ")
    ]


COMMANDS = [
    "hello there",
    "chunks",
    "multi",
    "steps",
    "reason",
    "backend",
    "state",
    "messages",
    "activity",
    "subagent",
    "interrupt",
    "cancel",
    "error",
    "passthrough",
    "long 500",
    "everything",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_behaviour_passes_the_validator_with_zero_findings(
    agent: RunningAgent, command: str
) -> None:
    body = request_for(command, state={"counter": 4}, tools=[WEATHER_TOOL])
    response, result = run_and_validate(agent, body)
    assert result.findings == [], result.findings
    for profile in ("strict", "cometchat"):
        again = validate_recording(response.content, fmt="sse", request=body, profile=profile)
        assert again.findings == [], (profile, again.findings)


def test_sse_headers_and_framing(agent: RunningAgent) -> None:
    response = post(agent, request_for("hello"))
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert b"\r" not in response.content
    first = events_of(response)[0]
    assert first["type"] == "RUN_STARTED" and first["protocolVersion"] == "1.1"


PROTO = "application/vnd.ag-ui.event+proto"


def frames_of(response: httpx.Response) -> list[dict[str, Any]]:
    from agui_conformance.protobuf.reader import FrameReader

    reader = FrameReader()
    items = [*reader.feed(response.content), *reader.close()]
    assert all(hasattr(item, "data") for item in items), items  # frames only, no framing hit
    return [orjson.loads(item.data) for item in items]


def _shape(events: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [(e["type"], *(k for k in sorted(e) if k not in ("threadId", "runId"))) for e in events]


@pytest.mark.parametrize(
    "accept",
    [
        f"{PROTO}, text/event-stream;q=0.5",
        "*/*",
        "application/*",
        f"text/event-stream, {PROTO};q=0.1",
    ],
)
def test_protobuf_is_served_whenever_accept_admits_it(agent: RunningAgent, accept: str) -> None:
    """PROTO-003: a producer that speaks protobuf answers it whenever Accept admits the
    type with a positive quality (wildcards too; relative q not consulted), exactly under
    its media type (PROTO-005), carrying the events SSE carries (PROTO-001)."""
    body = request_for("tool", tools=[WEATHER_TOOL])
    response = post(agent, body, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == PROTO
    events = frames_of(response)
    assert events[0]["runId"] == body["runId"] and events[-1]["type"] == "RUN_FINISHED"
    again = request_for("tool", tools=[WEATHER_TOOL])
    assert _shape(events_of(post(agent, again))) == _shape(events)


@pytest.mark.parametrize("accept", ["text/event-stream", f"{PROTO};q=0, text/event-stream", None])
def test_sse_is_served_when_protobuf_is_not_admitted(
    agent: RunningAgent, accept: str | None
) -> None:
    """PROTO-004: SSE otherwise; and SSE to a request without any Accept (as the official
    encoder does)."""
    body = orjson.dumps(request_for("hello"))
    headers = {"Content-Type": "application/json", **({"Accept": accept} if accept else {})}
    with httpx.Client(timeout=TIMEOUT) as client:
        request = client.build_request("POST", agent.url, content=body, headers=headers)
        if accept is None:
            del request.headers["accept"]
        response = client.send(request)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert events_of(response)[-1]["type"] == "RUN_FINISHED"


def test_protobuf_can_be_switched_off() -> None:
    with running_agent(AgentConfig(protobuf=False)) as off:
        response = post(off, request_for("hello"), headers={"Accept": PROTO})
    assert response.headers["content-type"].startswith("text/event-stream")


def test_every_event_type_is_emitted(agent: RunningAgent) -> None:
    from agui_conformance.schema import get_checker

    seen: set[str] = set()
    for command in COMMANDS:
        response = post(agent, request_for(command, tools=[WEATHER_TOOL]))
        seen |= {e["type"] for e in events_of(response)}
    seen |= {e["type"] for e in events_of(post(agent, request_for("tool", tools=[WEATHER_TOOL])))}
    assert seen == set(get_checker().event_types())


def test_frontend_tool_round_trip(agent: RunningAgent) -> None:
    first = request_for("tool: show_weather_card", tools=[WEATHER_TOOL])
    response, result = run_and_validate(agent, first)
    assert result.findings == []
    events = events_of(response)
    start = next(e for e in events if e["type"] == "TOOL_CALL_START")
    args = "".join(e["delta"] for e in events if e["type"] == "TOOL_CALL_ARGS")
    import jsonschema

    jsonschema.validate(orjson.loads(args), WEATHER_TOOL["parameters"])
    assert events[-1]["outcome"] == {"type": "success", "pendingToolCallIds": [start["toolCallId"]]}
    assert not any(e["type"] == "TOOL_CALL_RESULT" for e in events)

    second = {
        **first,
        "runId": f"run-{uuid.uuid4()}",
        "messages": [
            *first["messages"],
            {
                "id": start["parentMessageId"],
                "role": "assistant",
                "content": "Calling.",
                "toolCalls": [
                    {
                        "id": start["toolCallId"],
                        "type": "function",
                        "function": {"name": start["toolCallName"], "arguments": args},
                    }
                ],
            },
            {
                "id": f"tool-{uuid.uuid4()}",
                "role": "tool",
                "toolCallId": start["toolCallId"],
                "content": "card rendered",
            },
        ],
    }
    response, result = run_and_validate(agent, second)
    assert result.findings == []
    text = "".join(e["delta"] for e in events_of(response) if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert "card rendered" in text


def test_interrupt_then_resume(agent: RunningAgent) -> None:
    first = request_for("interrupt")
    response, result = run_and_validate(agent, first)
    assert result.findings == []
    interrupt = events_of(response)[-1]["outcome"]["interrupts"][0]
    second = {
        **first,
        "runId": f"run-{uuid.uuid4()}",
        "resume": [
            {"interruptId": interrupt["id"], "status": "resolved", "payload": {"approved": True}}
        ],
    }
    response, result = run_and_validate(agent, second)
    assert result.findings == []
    text = "".join(e["delta"] for e in events_of(response) if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert interrupt["id"] in text and "resolved" in text


def test_state_deltas_apply_to_the_sent_state(agent: RunningAgent) -> None:
    body = request_for("state", state={"counter": 41, "keep": True})
    response, result = run_and_validate(agent, body)
    assert result.findings == []
    snapshot = next(e for e in events_of(response) if e["type"] == "STATE_SNAPSHOT")["snapshot"]
    assert snapshot["counter"] == 42 and snapshot["keep"] is True


def test_protocol_1_0_request_is_served(agent: RunningAgent) -> None:
    body = {**request_for("hello"), "protocolVersion": "1.0"}
    _, result = run_and_validate(agent, body)
    assert result.findings == []


def test_newer_minor_is_served_with_our_version(agent: RunningAgent) -> None:
    body = {**request_for("hello"), "protocolVersion": "1.9"}
    response, result = run_and_validate(agent, body)
    assert result.findings == []
    assert events_of(response)[0]["protocolVersion"] == "1.1"


def test_named_agents(agent: RunningAgent) -> None:
    listing = httpx.get(agent.url + "agents", timeout=TIMEOUT).json()
    names = {a["name"] for a in listing["agents"]}
    assert {"default", "chunks", "reason", "state"} <= names
    body = request_for("anything")
    response, result = run_and_validate(agent, body, path="agents/reason")
    assert result.findings == []
    assert any(e["type"] == "REASONING_START" for e in events_of(response))
    assert post(agent, body, path="agents/nope").status_code == 404


def test_capabilities_follow_the_schema(agent: RunningAgent) -> None:
    import jsonschema
    from referencing import Registry, Resource

    from agui_conformance.schema import schema_dir

    published = httpx.get(agent.url + "capabilities", timeout=TIMEOUT).json()
    assert published == CAPABILITIES
    documents = [orjson.loads(p.read_bytes()) for p in schema_dir().glob("*.schema.json")]
    registry = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in documents
    )
    capabilities = next(d for d in documents if d["$id"].endswith("capabilities.schema.json"))
    validator = jsonschema.Draft202012Validator(
        {"$ref": capabilities["$id"] + "#/$defs/AgentCapabilities"}, registry=registry
    )
    assert not list(validator.iter_errors(published))


# ------------------------------------------------------------------ faults


@pytest.mark.parametrize("name", sorted(n for n, f in FAULTS.items() if not f.live))
def test_fault_breaks_exactly_its_rule(agent: RunningAgent, name: str) -> None:
    fault = FAULTS[name]
    extra: dict[str, Any] = {"state": {"counter": 1}}
    if fault.needs_tools:
        extra["tools"] = [WEATHER_TOOL]
    body = request_for(fault.command, **extra)
    response = post(agent, body, headers={FAULT_HEADER: name})
    assert response.status_code == 200
    result = validate_recording(response.content, fmt="sse", request=body)
    assert {f.rule for f in result.findings} == {fault.rule}, result.findings


def test_fault_header_ignored_unless_allowed() -> None:
    with running_agent(AgentConfig()) as plain:
        body = request_for("hello")
        response = post(plain, body, headers={FAULT_HEADER: "no-protocol-version"})
        assert validate_recording(response.content, fmt="sse", request=body).findings == []


def test_server_wide_fault() -> None:
    with running_agent(AgentConfig(fault="double-terminal")) as faulty:
        body = request_for("hello")
        result = validate_recording(post(faulty, body).content, fmt="sse", request=body)
        assert {f.rule for f in result.findings} == {"lifecycle-event-after-finish"}


# ------------------------------------------------------------------ bad input

BAD_INPUTS = [
    ("malformed JSON", b'{"threadId": ', {}, 400),
    ("empty body", b"", {}, 400),
    ("not an object", b"[1, 2]", {}, 422),
    ("missing messages", orjson.dumps({"threadId": "t", "runId": "r"}), {}, 422),
    ("wrong type", orjson.dumps({"threadId": 7, "runId": "r", "messages": []}), {}, 422),
    (
        "wrong content type",
        orjson.dumps({"threadId": "t", "runId": "r", "messages": []}),
        {"Content-Type": "text/plain"},
        415,
    ),
    (
        "unsupported major version",
        orjson.dumps({"threadId": "t", "runId": "r", "messages": [], "protocolVersion": "2.0"}),
        {},
        400,
    ),
    (
        "oversized body",
        orjson.dumps(
            {
                "threadId": "t",
                "runId": "r",
                "messages": [{"id": "m", "role": "user", "content": "x" * (2 << 20)}],
            }
        ),
        {},
        413,
    ),
]


@pytest.mark.parametrize(
    ("name", "raw", "headers", "status"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_input_gets_a_problem_document_then_service_goes_on(
    agent: RunningAgent, name: str, raw: bytes, headers: dict[str, str], status: int
) -> None:
    response = post(agent, raw, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert "Traceback" not in response.text
    _, result = run_and_validate(agent, request_for("still there?"))
    assert result.findings == []


# ------------------------------------------------------- unrecognised input material


def input_with_unrecognised_material(text: str) -> dict[str, Any]:
    """A RunAgentInput whose last user message is `text`, carrying every kind of
    material a 1.1 reader strips (PROC-002): an unknown top-level member, an
    unknown property on a message and on a part, a message of an unknown role,
    a part of an unknown type, a part whose required source is of an unknown
    type, and a retired `binary` part."""
    body = request_for(text)
    command = body["messages"][0]
    command["futureProp"] = True
    body["futureTopLevel"] = {"anything": [1, 2]}
    body["messages"] = [
        {"id": "wizard-1", "role": "wizard", "content": "abracadabra"},
        {
            "id": "parts-1",
            "role": "user",
            "content": [
                {"type": "text", "text": "see this", "futurePart": 1},
                {"type": "hologram", "data": "xyz"},
                {"type": "image", "source": {"type": "carrier-pigeon", "value": "coo"}},
                {"type": "binary", "mimeType": "image/png", "data": "AAAA"},
            ],
        },
        command,
    ]
    return body


def assert_history_kept_as_valid(events: list[dict[str, Any]], body: dict[str, Any]) -> None:
    """The snapshot restates the client's messages minus what a reader strips."""
    (snapshot,) = [e for e in events if e["type"] == "MESSAGES_SNAPSHOT"]
    history = {m["id"]: m for m in snapshot["messages"]}
    command = body["messages"][-1]
    assert "wizard-1" not in history
    assert history["parts-1"] == {
        "id": "parts-1",
        "role": "user",
        "content": [{"type": "text", "text": "see this"}],
    }
    assert history[command["id"]] == {
        "id": command["id"],
        "role": "user",
        "content": command["content"],
    }


@pytest.mark.parametrize("command", ["messages", "everything"])
def test_snapshot_restates_the_input_without_unrecognised_material(command: str) -> None:
    """SCHEMA-001 (strict writer) meets PROC-002 (tolerant reader): the input's
    unknown role and unknown members are stripped on the way in, so the
    MESSAGES_SNAPSHOT restating the history is schema-valid under every profile."""
    body = input_with_unrecognised_material(command)
    plan = behaviours.plan(body)
    events = list(plan.events)
    for profile in PROFILES:
        result = validate_events(events, profile=profile)
        assert result.findings == [], (profile, result.findings)
        # judged against the input the agent kept: nothing of it vanishes either
        result = validate_events(events, request=plan.input, profile=profile)
        assert result.findings == [], (profile, result.findings)
    assert_history_kept_as_valid(events, body)


@pytest.mark.parametrize("agent", ["messages", "everything"])
def test_named_agent_restates_the_history_as_sent(agent: str) -> None:
    """A named agent reads the last user message as its command's argument; its
    snapshot restates that message as the client sent it, not as the command."""
    body = input_with_unrecognised_material("hello")
    plan = behaviours.plan(body, agent=agent)
    events = list(plan.events)
    assert validate_events(events, request=plan.input).findings == []
    assert_history_kept_as_valid(events, body)


def test_stripping_follows_the_processing_model() -> None:
    """Unknown properties go; an unknown kind goes from a list, or takes the value
    containing it from a required position; open objects keep their members;
    more items than one check reports are all stripped; the input is not changed."""
    from reference_agent.inputs import strip_unrecognised

    body = input_with_unrecognised_material("hello")
    body["tools"] = [{**WEATHER_TOOL, "futureToolProp": 1}]
    body["context"] = [{"description": "d", "value": "v", "futureContextProp": 1}]
    body["state"] = {"open": {"anything": True}}
    body["forwardedProps"] = {"open": True}
    many = [{"type": "text", "text": str(i), "futurePart": i} for i in range(150)]
    body["messages"].append({"id": "many", "role": "user", "content": many})
    original = orjson.dumps(body)

    kept = strip_unrecognised(body)

    assert kept.leftover == []
    assert orjson.dumps(body) == original
    assert get_checker().check_input(kept.run_input) == []
    assert "futureTopLevel" not in kept.run_input
    assert kept.run_input["tools"] == [WEATHER_TOOL]
    assert kept.run_input["context"] == [{"description": "d", "value": "v"}]
    assert kept.run_input["state"] == body["state"]
    assert kept.run_input["forwardedProps"] == body["forwardedProps"]
    assert [m["id"] for m in kept.run_input["messages"]] == [
        "parts-1",
        body["messages"][2]["id"],
        "many",
    ]
    assert kept.run_input["messages"][-1]["content"] == [
        {"type": "text", "text": str(i)} for i in range(150)
    ]
    # pointers name the input as the client sent it
    assert {"/messages/0", "/messages/1/content/2", "/messages/3/content/149/futurePart"} <= set(
        kept.removed
    )
    malformed = request_for("hello")
    malformed["messages"][0]["id"] = 7
    assert strip_unrecognised(malformed).leftover


@pytest.mark.parametrize("path", ["", "agents/messages", "agents/everything"])
def test_unknown_members_are_stripped_not_rejected(agent: RunningAgent, path: str) -> None:
    """PROC-002: unknown members, and union members of an unknown kind (a message
    role the schema does not describe), are stripped; the run is served, and
    nothing stripped comes back in a snapshot."""
    body = input_with_unrecognised_material("messages" if not path else "hello")
    response = post(agent, body, path=path)
    assert response.status_code == 200, response.text
    for profile in PROFILES:
        result = validate_recording(response.content, fmt="sse", profile=profile)
        assert result.findings == [], (profile, result.findings)
    assert_history_kept_as_valid(events_of(response), body)


def test_more_unrecognised_material_than_the_limit_is_refused(agent: RunningAgent) -> None:
    """Stripping is bounded: past the limit in one message the input gets a 422
    naming what is left, and the service goes on."""
    from reference_agent.inputs import STRIP_LIMIT

    body = request_for("hello")
    body["messages"][0]["content"] = [
        {"type": "text", "text": "x", "futurePart": i} for i in range(STRIP_LIMIT + 1)
    ]
    # checking 513 unknown members takes the schema checker's slow path: ~9 s on a quiet
    # machine, so a generous deadline here (the event loop keeps serving meanwhile)
    content = orjson.dumps(body)
    response = httpx.post(agent.url, content=content, headers=SSE, timeout=60)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"].startswith("/messages/0/content/")
    _, result = run_and_validate(agent, request_for("still there?"))
    assert result.findings == []


@pytest.mark.parametrize("header", ["Authorization", "X-Agent-Key"])
def test_auth_required_when_configured(header: str) -> None:
    secret = f"s3cret-{uuid.uuid4()}"
    value = f"Bearer {secret}" if header == "Authorization" else secret
    with running_agent(AgentConfig(token=secret, token_header=header)) as guarded:
        body = request_for("hello")
        for headers in ({}, {header: value + "x"}):
            response = post(guarded, body, headers=headers)
            assert response.status_code == 401
            assert "www-authenticate" in response.headers
            assert b"data:" not in response.content and secret not in response.text
        response = post(guarded, body, headers={header: value})
        assert response.status_code == 200
        assert validate_recording(response.content, fmt="sse", request=body).findings == []


def test_events_are_flushed_one_by_one(agent: RunningAgent) -> None:
    """`slow` spaces its events by 50 ms: they must arrive spread out, not in one burst."""
    import time

    body = request_for("slow")
    arrivals: list[float] = []
    start = time.monotonic()
    with httpx.stream(
        "POST", agent.url, content=orjson.dumps(body), headers=SSE, timeout=TIMEOUT
    ) as response:
        for chunk in response.iter_raw():
            if b"data:" in chunk:
                arrivals.append(time.monotonic() - start)
    assert len(arrivals) >= 5
    assert arrivals[0] < 1.0
    assert arrivals[-1] - arrivals[0] >= 0.2, arrivals


def test_serve_command_runs_the_agent_with_auth() -> None:
    from reference_agent.server import spawned_agent

    with spawned_agent(env={"AGUI_AGENT_TOKEN": "t0ken-for-test"}) as served:
        body = request_for("hello")
        refused = httpx.post(served.url, content=orjson.dumps(body), headers=SSE, timeout=TIMEOUT)
        assert refused.status_code == 401
        ok = httpx.post(
            served.url,
            content=orjson.dumps(body),
            headers={**SSE, "Authorization": "Bearer t0ken-for-test"},
            timeout=TIMEOUT,
        )
        assert ok.status_code == 200
    log = served.log.read_bytes()
    assert b"reference agent on" in log and b"t0ken-for-test" not in log


def test_list_faults_names_the_rule_each_breaks() -> None:
    from click.testing import CliRunner

    from agui_conformance.cli import main
    from agui_conformance.rules import catalog

    output = CliRunner().invoke(main, ["serve", "--list-faults"]).output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == len(FAULTS)
    for line in lines:
        name, rule = line.split()[:2]
        assert FAULTS[name].rule == rule and rule in catalog()


def binding_option(options: tuple[str, ...]) -> str:
    """The `--binding` a fault's `run` options name (sse without one)."""
    return options[options.index("--binding") + 1] if "--binding" in options else "sse"


@pytest.mark.parametrize("name", sorted(n for n, f in FAULTS.items() if f.live))
def test_live_fault_breaks_exactly_its_rule(agent: RunningAgent, name: str) -> None:
    """Faults only the exchange shows (timing, status), judged by the runner."""
    import asyncio

    from agui_conformance.cases import load_cases
    from agui_conformance.runner import RunnerConfig, run_suite
    from agui_conformance.transport import Deadlines

    fault = FAULTS[name]
    case = next(c for c in load_cases() if c.id == fault.case)
    cfg = RunnerConfig(
        url=agent.url,
        headers={FAULT_HEADER: name},
        profile=fault.profile,
        behaviour="--behaviour" in fault.options,  # the fault's case is an opt-in check
        binding=binding_option(fault.options),  # a protobuf fault shows on its binding
        deadlines=Deadlines(first_byte=3.0, idle=1.0, total=6.0, linger=1.0),
    )
    result = asyncio.run(run_suite([case], cfg))[0]
    rules = {f.rule for f in result.findings} - fault.also
    assert rules == {fault.rule}, result.findings
