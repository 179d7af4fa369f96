"""A capabilities declaration, supplied by the user, checked and cross-checked.

Owns reading an `AgentCapabilities` declaration (a URL fetched with the run's
headers, or a file), judging its shape against `schemas/1.1/capabilities.schema.json`
(CAP-001, CAP-002, CAP-007) and comparing what it declares *false* with what the
agent's streams did (CAP-003, CAP-005). No binding carries a declaration
(SPEC-NOTES A-44), so nothing here runs unless the user names one; an omitted
group or field is undeclared, never unsupported (CAP-004), and a stream is
never judged wrong for exceeding a declaration beyond a SHOULD complaint
(CONS-028).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import orjson

from agui_conformance.headers import header, media_type
from agui_conformance.hits import Hit
from agui_conformance.model import CaseResult
from agui_conformance.transport import Deadlines

# (group, field, what contradicts `false`, the events or outcome that show it)
CONTRADICTIONS: tuple[tuple[str, str, str, frozenset[str]], ...] = (
    ("reasoning", "supported", "reasoning events", frozenset({
        "REASONING_START", "REASONING_MESSAGE_START", "REASONING_MESSAGE_CHUNK",
        "REASONING_ENCRYPTED_VALUE"})),
    ("reasoning", "encrypted", "encrypted reasoning values",
     frozenset({"REASONING_ENCRYPTED_VALUE"})),
    ("state", "snapshots", "STATE_SNAPSHOT events", frozenset({"STATE_SNAPSHOT"})),
    ("state", "deltas", "STATE_DELTA events", frozenset({"STATE_DELTA"})),
    ("multiAgent", "supported", "subagent invocations", frozenset({"SUBAGENT_STARTED"})),
    ("humanInTheLoop", "interrupts", "an interrupt outcome", frozenset({"outcome:interrupt"})),
    ("humanInTheLoop", "supported", "an interrupt outcome", frozenset({"outcome:interrupt"})),
    ("tools", "supported", "tool calls", frozenset({"TOOL_CALL_START", "TOOL_CALL_CHUNK"})),
    ("transport", "httpBinary", "HTTP + Protobuf answers", frozenset({"binding:protobuf"})),
)  # fmt: skip
PROTOBUF = "application/vnd.ag-ui.event+proto"  # = agui_conformance.protobuf.MEDIA_TYPE
# Declaring these for the HTTP bindings is a declaration that cannot hold (CAP-005).
HTTP_CANNOT = (("transport", "resumable"), ("transport", "pushNotifications"))
# A declaration is a few hundred bytes; a body past this is read no further (and a file
# no bigger is read): what it would parse into must not dwarf the run.
MAX_BYTES = 1 << 20


@dataclass
class Declaration:
    source: str
    status: int | None = None
    value: Any = None
    error: str | None = None
    cut: str | None = None  # why the harness stopped reading it (a deadline, the size cap)
    stage: str = "headers"  # what was awaited last: "headers" or "body"


@lru_cache(maxsize=1)
def _validator() -> Any:
    from referencing import Registry, Resource

    from agui_conformance.schema import schema_dir

    folder = schema_dir()
    resources = []
    for path in sorted(folder.glob("*.schema.json")):
        name = path.name
        document = json.loads(path.read_text(encoding="utf-8"))
        resources.append((name, Resource.from_contents(document)))
        resources.append((document.get("$id", name), Resource.from_contents(document)))
    registry: Registry[Any] = Registry().with_resources(resources)
    root = json.loads((folder / "capabilities.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(root)
    return cls(root, registry=registry)


def read_file(path: str, max_bytes: int = MAX_BYTES) -> Declaration:
    try:
        with Path(path).open("rb") as file:
            data = file.read(max_bytes + 1)
        if len(data) > max_bytes:
            return Declaration(
                path, cut=f"the file passed {max_bytes:,} bytes and was not read further"
            )
        return Declaration(path, value=orjson.loads(data))
    except OSError as err:
        return Declaration(path, error=f"cannot read {path}: {err.strerror or err}")
    except orjson.JSONDecodeError as err:
        return Declaration(path, error=f"{path} is not JSON: {err}")


async def fetch(
    url: str, headers: dict[str, str], deadlines: Deadlines, max_bytes: int = MAX_BYTES
) -> Declaration:
    """GET the declaration with the run's headers under the deadlines of every exchange
    (connect, first byte for the headers, idle between chunks, total) and a size cap:
    past either, nothing more is read and the declaration is `cut`."""
    import httpx

    from agui_conformance.transport import new_client

    declaration = Declaration(url)
    try:
        async with asyncio.timeout(deadlines.total):
            async with new_client(deadlines) as client:
                body = await _read(client, url, headers, deadlines, max_bytes, declaration)
    except TimeoutError:
        declaration.cut = _late(declaration, deadlines)
        return declaration
    except (httpx.HTTPError, OSError) as err:  # unavailable, not our bug
        declaration.error = f"{type(err).__name__}: {err}"
        return declaration
    if declaration.cut is not None or declaration.error is not None:
        return declaration
    try:
        declaration.value = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        declaration.error = f"not JSON: {err}"
    return declaration


async def _read(
    client: Any,
    url: str,
    headers: dict[str, str],
    deadlines: Deadlines,
    max_bytes: int,
    declaration: Declaration,
) -> bytes:
    """The body of a 200, at most `max_bytes` of it; `declaration` gets the status, and
    `cut` or `error` when the body is not read whole."""
    request = client.build_request("GET", url, headers={**headers, "Accept": "application/json"})
    response = await asyncio.wait_for(client.send(request, stream=True), deadlines.first_byte)
    declaration.stage = "body"
    try:
        declaration.status = response.status_code
        if response.status_code != 200:
            declaration.error = f"answered {response.status_code}"
            return b""
        chunks = response.aiter_bytes()
        body = bytearray()
        while True:
            try:
                chunk = await asyncio.wait_for(anext(chunks), deadlines.idle)
            except StopAsyncIteration:
                return bytes(body)
            body += chunk
            if len(body) > max_bytes:
                declaration.cut = f"the body passed {max_bytes:,} bytes and was not read further"
                return b""
    finally:
        await response.aclose()


def _late(declaration: Declaration, deadlines: Deadlines) -> str:
    if declaration.stage == "headers":
        return f"no answer within {deadlines.first_byte:g} s (first-byte deadline)"
    return (
        f"the body did not end within the deadlines (idle {deadlines.idle:g} s, "
        f"total {deadlines.total:g} s)"
    )


def check_shape(value: Any) -> list[Hit]:
    """CAP-001/002/007: the AgentCapabilities shape (unknown members are legal, CONS-028)."""
    hits = []
    for error in sorted(_validator().iter_errors(value), key=lambda e: list(e.absolute_path)):
        pointer = "".join(f"/{part}" for part in error.absolute_path)
        if error.validator == "additionalProperties" and not _known_group(error.absolute_path):
            continue  # undescribed members of open places are legal
        message = error.message if len(error.message) < 300 else error.message[:300] + "…"
        hits.append(Hit("capabilities-malformed", None, message, pointer or None))
    return hits


def _known_group(path: Iterable[Any]) -> bool:
    """Closed objects of the declaration: everything but `custom` and identity metadata."""
    parts = list(path)
    return not (parts[:1] == ["custom"] or parts[:2] == ["identity", "metadata"])


def _tokens(cases: Iterable[CaseResult]) -> Iterator[tuple[str, str, int | None]]:
    """(token, case id, event index) for every event type and interrupt outcome seen, and
    `binding:protobuf` (no index) for an answer in the protobuf binding."""
    for case in cases:
        for run in case.runs:
            if _media(run.responseHeaders) == PROTOBUF and run.status == 200:
                yield "binding:protobuf", case.id, None
            for index, event in enumerate(run.events):
                if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                    continue
                yield event["type"], case.id, index
                outcome = event.get("outcome")
                interrupted = isinstance(outcome, dict) and outcome.get("type") == "interrupt"
                if event["type"] == "RUN_FINISHED" and interrupted:
                    yield "outcome:interrupt", case.id, index


def _media(headers: dict[str, str]) -> str:
    return media_type(header(headers, "content-type", ""))


def binary_unserved(value: Any, cases: list[CaseResult]) -> tuple[bool, list[Hit]]:
    """PROTO-003 for an agent that declares `transport.httpBinary: true`: whether a run
    asked for protobuf and was answered (then the rule was exercised), and a hit when
    such runs got SSE. The Accept each run sent says whether it admitted protobuf."""
    from agui_conformance.negotiation import admits_protobuf

    transport = value.get("transport") if isinstance(value, dict) else None
    if not isinstance(transport, dict) or transport.get("httpBinary") is not True:
        return False, []
    asked = [
        (case.id, _media(run.responseHeaders))
        for case in cases
        for run in case.runs
        if run.status == 200
        and admits_protobuf(header(run.requestHeaders, "accept"))
        and _media(run.responseHeaders) in (PROTOBUF, "text/event-stream")
    ]
    unserved = [case_id for case_id, media in asked if media != PROTOBUF]
    if not unserved:
        return bool(asked), []
    hit = Hit(
        "proto-not-served",
        None,
        f"`transport.httpBinary` is declared true, but {len(unserved)} of {len(asked)} runs "
        f"whose Accept admitted {PROTOBUF} were answered SSE (first: case {unserved[0]}).",
        "/transport/httpBinary",
    )
    return True, [hit]


def cross_check(value: Any, cases: list[CaseResult]) -> list[Hit]:
    """CAP-003/005: what the declaration says is false, the streams did."""
    if not isinstance(value, dict):
        return []
    hits: list[Hit] = []
    seen: dict[str, tuple[str, int | None]] = {}
    for token, case_id, index in _tokens(cases):
        seen.setdefault(token, (case_id, index))
    for group, name, what, shown_by in CONTRADICTIONS:
        section = value.get(group)
        if not isinstance(section, dict) or section.get(name) is not False:
            continue
        witness = next((seen[t] for t in sorted(shown_by) if t in seen), None)
        if witness is not None:
            case_id, index = witness
            hits.append(
                Hit(
                    "capabilities-contradicted",
                    None,
                    f"`{group}.{name}` is declared false, but the agent streamed {what} "
                    f"(case {case_id}{'' if index is None else f', event {index}'}).",
                    f"/{group}/{name}",
                )
            )
    for group, name in HTTP_CANNOT:
        section = value.get(group)
        if isinstance(section, dict) and section.get(name) is True:
            hits.append(
                Hit(
                    "capabilities-contradicted",
                    None,
                    f"`{group}.{name}` is declared true for an agent served over the HTTP "
                    "binding, which carries no sequence numbers, resumption or post-run "
                    "channel.",
                    f"/{group}/{name}",
                )
            )
    return hits
