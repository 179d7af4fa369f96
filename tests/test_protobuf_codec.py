"""The protobuf event codec: every event type round trips, the wire's materialised
absences are what the spec says, and bytes that are no event are refused.

Spec: https://docs.ag-ui.com/spec/1.1/basic/transports/http-protobuf#the-wire-schema
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from agui_conformance.protobuf import MEDIA_TYPE, Undecodable, Unencodable, frame
from agui_conformance.protobuf import ag_ui_pb2 as pb
from agui_conformance.protobuf.codec import ARMS, decode_event, encode_event
from tests.proto_events import EVERY_TYPE

SCHEMA_TYPES = {
    "RUN_STARTED", "RUN_FINISHED", "RUN_ERROR", "STEP_STARTED", "STEP_FINISHED",
    "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "TEXT_MESSAGE_CHUNK",
    "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_CHUNK", "TOOL_CALL_RESULT",
    "STATE_SNAPSHOT", "STATE_DELTA", "MESSAGES_SNAPSHOT", "ACTIVITY_SNAPSHOT", "ACTIVITY_DELTA",
    "RAW", "CUSTOM", "REASONING_START", "REASONING_MESSAGE_START", "REASONING_MESSAGE_CONTENT",
    "REASONING_MESSAGE_END", "REASONING_MESSAGE_CHUNK", "REASONING_END",
    "REASONING_ENCRYPTED_VALUE", "SUBAGENT_STARTED", "SUBAGENT_FINISHED", "SUBAGENT_ERROR",
}  # fmt: skip


def test_media_type_and_framing() -> None:
    assert MEDIA_TYPE == "application/vnd.ag-ui.event+proto"
    assert frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert frame(b"") == b"\x00\x00\x00\x00"
    assert frame(b"x" * 258)[:4] == b"\x00\x00\x01\x02"  # big-endian


def test_the_wire_schema_names_every_event_type_of_the_json_schema() -> None:
    assert set(ARMS) == SCHEMA_TYPES
    assert {e["type"] for e in EVERY_TYPE} == SCHEMA_TYPES


@pytest.mark.parametrize("event", EVERY_TYPE, ids=lambda e: e["type"])
def test_every_event_type_round_trips(event: dict[str, Any]) -> None:
    assert decode_event(encode_event(event)) == event


def test_wire_facts_of_the_envelope() -> None:
    """Arm numbers and BaseEvent.type numbers as the deployed encoders write them."""
    data = encode_event({"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "d"})
    assert data == b"\x12\x0a\x0a\x02\x08\x01\x12\x01m\x1a\x01d"  # arm 2, base type 1
    data = encode_event({"type": "REASONING_ENCRYPTED_VALUE", "subtype": "message",
                         "entityId": "e", "encryptedValue": "v"})  # fmt: skip
    assert data[:2] == b"\xfa\x01"  # arm 31, a two-byte tag
    assert pb.EventType.Value("SUBAGENT_STARTED") == 16


def test_required_scalars_are_materialised_as_empty() -> None:
    """PROTO-002: an omitted required string arrives as "" (the wire has no absence)."""
    envelope = pb.Event()
    envelope.text_message_end.base_event.type = pb.TEXT_MESSAGE_END
    assert decode_event(envelope.SerializeToString()) == {"type": "TEXT_MESSAGE_END",
                                                          "messageId": ""}  # fmt: skip


def test_optional_members_stay_absent_and_numbers_stay_integers() -> None:
    event = decode_event(encode_event({"type": "CUSTOM", "name": "n", "value": [1, 2.0, 2.5]}))
    assert event == {"type": "CUSTOM", "name": "n", "value": [1, 2, 2.5]}
    assert isinstance(event["value"][1], int)
    assert "timestamp" not in decode_event(encode_event({"type": "STEP_STARTED", "stepName": "s"}))


def test_object_members_keep_their_order_both_ways() -> None:
    """Written in the event's order (the official encoder's bytes depend on it), read in
    the wire's; a key repeated on the wire keeps its last value, as a map would."""
    snapshot = {"z": 1, "a": {"y": [], "b": None}, "m": "x"}
    data = encode_event({"type": "STATE_SNAPSHOT", "snapshot": snapshot})
    assert data.index(b"\x01z") < data.index(b"\x01a") < data.index(b"\x01m")
    back = decode_event(data)
    assert back is not None
    assert list(back["snapshot"]) == ["z", "a", "m"]
    assert list(back["snapshot"]["a"]) == ["y", "b"]
    envelope = pb.Event()
    body = envelope.state_snapshot
    body.base_event.type = pb.STATE_SNAPSHOT
    for value in ("first", "last"):
        body.snapshot.struct_value.fields.add(key="k").value.string_value = value
    assert decode_event(envelope.SerializeToString())["snapshot"] == {"k": "last"}  # type: ignore[index]


def test_unknown_patch_op_number_is_carried_by_number() -> None:
    envelope = pb.Event()
    delta = envelope.state_delta
    delta.base_event.type = pb.STATE_DELTA
    delta.delta.add(op=9, path="/a")
    assert decode_event(envelope.SerializeToString())["delta"] == [{"op": "9", "path": "/a"}]


def test_an_unknown_arm_is_dropped_not_refused() -> None:
    future = b"\x82\x02" + bytes([2]) + b"\x0a\x00"  # arm 32, a nested message
    assert decode_event(future) is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty message"),
        (b"\x08\x01", "is no message"),  # a varint where arm 1 belongs
        (b"\xc0\x02\x01", "sets no event arm"),  # a varint of field 40: no event
        (b"\x0a\x05ab", "not a protobuf message"),  # length beyond the bytes
        (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "not a protobuf message"),
        (b"\x0a\x00", "without its base_event"),
        (b"\x12\x02\x0a\x00", "declares TEXT_MESSAGE_START"),  # arm 2, base type 0
        (b"\x0a\x05\x12\x03\xff\xfe\xfd", "not a protobuf message"),  # invalid UTF-8 string
        (b"\x82\x02\x02\x08", "not a protobuf message"),  # a future arm that is no message
        (b"\x12\x02\x0a\x00\x1a\x02\x0a\x00", "two events"),  # arms 2 and 3
        (b"\x1a\x04\x0a\x02\x08\x02\x08\x01", "is no message"),  # arm 3, then field 1 as varint
    ],
)
def test_bytes_that_are_no_event_are_undecodable(payload: bytes, reason: str) -> None:
    with pytest.raises(Undecodable, match=reason):
        decode_event(payload)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "THINKING_START"}, "no event of type"),
        ({"type": 3}, "no event of type"),
        ({"type": "TEXT_MESSAGE_END", "messageId": 5}, "cannot hold 5"),
        ({"type": "TEXT_MESSAGE_END", "messageId": "m", "vendor": 1}, "/vendor: the wire"),
        ({"type": "TEXT_MESSAGE_END"}, "/messageId comes back"),
        ({"type": "TEXT_MESSAGE_START", "messageId": "m", "role": None}, "null"),
        ({"type": "ACTIVITY_SNAPSHOT", "messageId": "x", "activityType": "a", "content": []},
         "/content"),
        ({"type": "STATE_DELTA", "delta": [{"op": "merge", "path": "/a"}]}, "no JSON Patch"),
        ({"type": "STATE_DELTA", "delta": [{"op": "add", "path": "/a", "value": 1, "x": 2}]},
         "/delta/0/x"),
        ({"type": "MESSAGES_SNAPSHOT", "messages": [{"id": "a", "role": "assistant",
                                                     "toolCalls": []}]}, "toolCalls"),
        ({"type": "RUN_STARTED", "threadId": "t", "runId": "r", "timestamp": True}, "timestamp"),
    ],
)  # fmt: skip
def test_what_the_wire_cannot_carry_is_unencodable(event: dict[str, Any], reason: str) -> None:
    with pytest.raises(Unencodable, match=reason):
        encode_event(event)


def test_lossy_encoding_drops_what_the_wire_cannot_carry() -> None:
    event = {"type": "TEXT_MESSAGE_END", "messageId": "m", "vendor": 1}
    assert decode_event(encode_event(event, lossy=True)) == {"type": "TEXT_MESSAGE_END",
                                                             "messageId": "m"}  # fmt: skip
    with pytest.raises(Unencodable):
        encode_event({"type": "NOT_AN_EVENT"}, lossy=True)


def test_committed_module_is_what_protoc_makes_of_the_proto() -> None:
    """The generated module and ag_ui.proto agree (compared as descriptors, so the
    protoc version that made the module does not matter)."""
    pytest.importorskip("grpc_tools", reason="grpcio-tools (protoc) is not installed")
    from google.protobuf import descriptor_pb2

    from agui_conformance.protobuf import generate

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        assert generate.protoc(f"--descriptor_set_out={out}") == 0
        fresh = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file[0]
    _drop_json_names(fresh.message_type)  # protoc writes them here, not in the module
    assert fresh.SerializeToString() == pb.DESCRIPTOR.serialized_pb, (
        "run `python -m agui_conformance.protobuf.generate`"
    )


def _drop_json_names(messages: Any) -> None:
    for message in messages:
        for field in message.field:
            field.ClearField("json_name")
        _drop_json_names(message.nested_type)


def test_protobuf_is_not_loaded_by_the_package_root() -> None:
    if shutil.which("python") is None:  # pragma: no cover
        pytest.skip("no python on PATH")
    code = (
        "import sys, agui_conformance.protobuf as p; p.frame(b'');"
        "print('google.protobuf' in sys.modules)"
    )
    out = subprocess.run(["python", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
