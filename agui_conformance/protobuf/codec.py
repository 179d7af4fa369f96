"""One AG-UI event between its protobuf message bytes and the JSON event dict.

Spec: https://docs.ag-ui.com/spec/1.1/basic/transports/http-protobuf#the-wire-schema

Owns the mapping between the wire schema (`ag_ui.proto`, decoded by Google's
protobuf runtime; no hand-written wire parsing) and the event dicts the SSE
path produces: camelCase member names as in the JSON Schema, `type` as the JSON
type string, `google.protobuf.Value`/`Struct` as JSON, and the wire's
flattened unions rebuilt (run and subagent outcomes, message content, JSON
Patch `op`). Mirrors what the official TypeScript translation layer does, so a
frame means the same event here as in an official consumer:

- The envelope's oneof arm names the event; `base_event` must be present and
  its `type` must agree (the official decoder refuses either failure).
- A singular field that tracks presence (`optional`, any message field) is
  present in the dict only when set. A scalar field without presence is always
  present, with its default ("", 0, false) when the producer left it out:
  protobuf cannot tell an omitted required member from an empty one, so the
  consumer sees the empty value (PROTO-002), exactly like an SSE stream that
  sent `""`. Optional lists the wire cannot omit (`toolCalls`, `usage`, a
  tool result's parts) are dropped when empty.
- A valid message with no arm we know, carrying only length-delimited fields
  of other numbers, is an event type newer than this schema: `decode_event`
  returns None (the binding drops it with a warning). Anything else that does
  not parse, or names no event, raises `Undecodable`.

`encode_event` is the inverse, for the reference agent and test fixtures. It
checks its own work: unless `lossy`, an event whose bytes would not decode back
to an equal dict (a member the schema has no field for, a JSON type the field
cannot hold, a required member left out, an empty optional list) raises
`Unencodable` naming the member. Nothing here knows of frames or streams.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import empty_pb2, unknown_fields
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, EncodeError, Message

from agui_conformance.protobuf import Undecodable, Unencodable, frame
from agui_conformance.protobuf import ag_ui_pb2 as pb

__all__ = ["ARMS", "Undecodable", "Unencodable", "decode_event", "encode_event", "frame"]

# descriptors as the runtime hands them out (upb's or the pure-Python ones: stubs differ)
Field = Any
_ENVELOPE = pb.Event.DESCRIPTOR
# event type (JSON string) -> the envelope's oneof arm (field name)
ARMS: dict[str, str] = {f.name.upper(): f.name for f in _ENVELOPE.oneofs_by_name["event"].fields}
_TYPE_OF_ARM = {arm: kind for kind, arm in ARMS.items()}
_ARM_NUMBERS = {f.number: f.name.upper() for f in _ENVELOPE.oneofs_by_name["event"].fields}
_BASE_TYPE = pb.EventType
_BASE_NAMES = {number: name for name, number in _BASE_TYPE.items()}
_OPS = pb.JsonPatchOperationType
_OP_NAMES = frozenset(_OPS.keys())
_SAFE = 1 << 53
# open JSON: wire-identical to google.protobuf.Value/Struct/ListValue (see ag_ui.proto)
_VALUE = pb.JsonValue.DESCRIPTOR.full_name
_STRUCT = pb.JsonObject.DESCRIPTOR.full_name
_LIST = pb.JsonArray.DESCRIPTOR.full_name
_PARTS_ROLES = frozenset({"user", "tool"})
_MAP_ROLES = frozenset({"activity"})
_KNOWN_ROLES = frozenset(
    {"developer", "system", "assistant", "user", "tool", "activity", "reasoning"}
)
_RUN_OUTCOME_MEMBERS = ("interrupts", "pendingToolCallIds")
_SUBAGENT_OUTCOME_MEMBERS = ("interruptIds",)
_BASE_MEMBERS = ("timestamp", "rawEvent", "metadata")  # BaseEvent's, on every event


# ================================================================ decoding


def decode_event(payload: bytes) -> dict[str, Any] | None:
    """The event dict one frame's message bytes carry; None for an event type newer than
    the wire schema (an arm we do not know); `Undecodable` for anything else that is not
    an AG-UI event message."""
    envelope = pb.Event()
    try:
        envelope.ParseFromString(payload)
    except DecodeError as err:
        raise Undecodable(f"not a protobuf message of the AG-UI wire schema ({err})") from None
    unknown = unknown_fields.UnknownFieldSet(envelope)
    if len(unknown) or envelope.ByteSize() != len(payload):  # fields kept aside, dropped or
        _one_arm(payload)  # merged (a second arm): look at the bytes' own fields

    arm = envelope.WhichOneof("event")
    if arm is None:
        if _only_future_arms(unknown):
            return None
        raise Undecodable(
            "an empty message, naming no event"
            if not payload
            else "a message that sets no event arm of the envelope"
        )
    kind = _TYPE_OF_ARM[arm]
    message = getattr(envelope, arm)
    if not message.HasField("base_event"):
        raise Undecodable(f"a {kind} arm without its base_event (field 1)")
    base = message.base_event
    declared = _BASE_NAMES.get(base.type) or str(base.type)
    if declared != kind:
        raise Undecodable(f"the envelope carries {kind} but its base_event declares {declared}")
    event: dict[str, Any] = {"type": kind}
    if base.HasField("timestamp"):
        event["timestamp"] = base.timestamp
    if base.HasField("raw_event"):
        _set_value(event, "rawEvent", base.raw_event)
    if base.HasField("metadata"):
        event["metadata"] = _struct(base.metadata)
    body = _fields(message, skip="base_event")
    event.update(body)
    _FROM_WIRE.get(kind, _nothing)(event)
    return event


def _one_arm(payload: bytes) -> None:
    """Refuse an envelope that names two events, or an arm's number with a wire type no
    message has (protobuf would keep the last arm, or skip the field, silently; the
    official decoder refuses both). Read with the runtime: every top-level field of the
    bytes parsed as an empty message is an unknown field with its number and wire type."""
    arms: set[int] = set()
    for field in unknown_fields.UnknownFieldSet(empty_pb2.Empty.FromString(payload)):  # type: ignore[attr-defined]
        number = field.field_number
        if number in _ARM_NUMBERS:
            if field.wire_type != 2:
                raise Undecodable(f"field {number} (the {_ARM_NUMBERS[number]} arm) is no message")
            arms.add(number)
    if len(arms) > 1:
        names = " and ".join(_ARM_NUMBERS[n] for n in sorted(arms))
        raise Undecodable(f"an envelope that carries two events ({names})")


def _only_future_arms(unknown: Any) -> bool:
    """No known arm: a newer event only if every top-level field is length-delimited and
    parses as a message (what a newer arm is); an empty or scalar-only message is not."""
    seen = 0
    for field in unknown:
        if field.wire_type != 2:
            return False
        try:
            empty_pb2.Empty.FromString(field.data)
        except DecodeError:
            return False
        seen += 1
    return seen > 0


# How `_fields` reads each field of a message type, worked out once per type.
_REPEATED, _JSON, _ALWAYS, _IF_SET = range(4)
Plan = tuple[tuple[str, str, int, str | None], ...]  # (name, JSON key, how, message type)
_PLANS: dict[str, Plan] = {}


def _plan(descriptor: Any) -> Plan:
    plan = _PLANS.get(descriptor.full_name)
    if plan is None:
        steps = []
        for field in descriptor.fields:
            kind = field.message_type.full_name if field.message_type is not None else None
            if _repeated(field):
                how = _REPEATED
            elif kind == _VALUE:
                how = _JSON
            elif field.has_presence:
                how = _IF_SET
            else:
                how = _ALWAYS
            steps.append((field.name, field.json_name, how, kind))
        plan = _PLANS[descriptor.full_name] = tuple(steps)
    return plan


def _fields(message: Message, skip: str = "") -> dict[str, Any]:
    """Every field of `message` as JSON members: present-tracking fields when set, scalars
    without presence always (materialised defaults), repeated fields always (as lists)."""
    out: dict[str, Any] = {}
    for name, key, how, kind in _plan(message.DESCRIPTOR):
        if name == skip:
            continue
        if how == _ALWAYS:
            out[key] = getattr(message, name)  # scalars only: messages track presence
        elif how == _IF_SET:
            if message.HasField(name):
                out[key] = _single(kind, getattr(message, name))
        elif how == _JSON:
            if message.HasField(name):
                _set_value(out, key, getattr(message, name))
        else:
            out[key] = [_single(kind, item) for item in getattr(message, name)]
    return out


def _repeated(field: Field) -> bool:
    """`is_repeated` (protobuf 6.31+, where 7 dropped `label`), else the label (5.29)."""
    flag = getattr(field, "is_repeated", None)
    if flag is None:
        flag = field.label == FieldDescriptor.LABEL_REPEATED
    return bool(flag)


def _single(kind: str | None, value: Any) -> Any:
    if kind is None:
        return value  # str, int (int64), bool; enums are handled by their owners
    if kind == _VALUE:
        return _value(value)
    if kind == _STRUCT:
        return _struct(value)
    if kind == _LIST:
        return [_value(item) for item in value.values]
    return _fields(value)


def _set_value(out: dict[str, Any], key: str, value: pb.JsonValue) -> None:
    """A `Value` field: JSON, or nothing when the Value sets no kind (as undefined in JS)."""
    if value.WhichOneof("kind") is not None:
        out[key] = _value(value)


def _value(value: pb.JsonValue) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and -_SAFE <= number <= _SAFE else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return _struct(value.struct_value)
    if kind == "list_value":
        return [_value(item) for item in value.list_value.values]
    return None  # null_value, or no kind (only reachable inside a list or struct)


def _struct(value: pb.JsonObject) -> dict[str, Any]:
    """Members in wire order; one whose value sets no kind is dropped (as undefined in JS),
    and a repeated key keeps its last value (as a protobuf map does)."""
    return {
        member.key: _value(member.value)
        for member in value.fields
        if member.value.WhichOneof("kind") is not None
    }


def _nothing(event: dict[str, Any]) -> None:
    return None


def _drop_empty(record: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if record.get(key) == []:
            del record[key]


def _source_from_wire(source: dict[str, Any]) -> dict[str, Any] | None:
    for kind in ("data", "url", "file"):
        if kind in source:
            return {"type": kind, **source[kind]}
    return None


def _part_from_wire(part: dict[str, Any]) -> dict[str, Any] | None:
    """A content part; None for a part whose arm this schema does not know (dropped)."""
    for kind in ("text", "image", "audio", "video", "document"):
        if kind in part:
            body = dict(part[kind])
            if "source" in body:
                source = _source_from_wire(body["source"])
                if source is None:
                    return None
                body["source"] = source
            return {"type": kind, **body}
    return None


def _parts(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in (_part_from_wire(part) for part in parts) if p is not None]


def _message_from_wire(message: dict[str, Any]) -> dict[str, Any]:
    """The wire's one Message shape back to a role's message: which field holds
    `content` (string, parts, or an activity's object) depends on the role."""
    role = message.get("role", "")
    parts = message.pop("contentParts", [])
    activity = message.pop("activityContent", None)
    uses_parts = role in _PARTS_ROLES if role in _KNOWN_ROLES else bool(parts)
    if uses_parts and "content" not in message:
        message["content"] = _parts(parts)
    elif activity is not None and (
        role in _MAP_ROLES or (role not in _KNOWN_ROLES and "content" not in message)
    ):
        message["content"] = activity
    _drop_empty(message, "toolCalls")
    return message


def _snapshot_from_wire(event: dict[str, Any]) -> None:
    event["messages"] = [_message_from_wire(m) for m in event.get("messages", [])]


def _outcome_from_wire(event: dict[str, Any], members: tuple[str, ...]) -> None:
    """A flattened outcome back to `{"type": ..., members}`; "" is no outcome (the
    members then stay at the top level, as the official decoder leaves them)."""
    kind = event.pop("outcome", "")
    carried = {key: event.pop(key) for key in members if event.get(key)}
    for key in members:
        event.pop(key, None)
    if kind:
        event["outcome"] = {"type": kind, **carried}
        if kind == "interrupt" and "interrupts" not in carried:
            event["outcome"]["interrupts"] = []
    else:
        event.update(carried)


def _run_finished_from_wire(event: dict[str, Any]) -> None:
    _outcome_from_wire(event, _RUN_OUTCOME_MEMBERS)
    _drop_empty(event, "usage")


def _run_error_from_wire(event: dict[str, Any]) -> None:
    _drop_empty(event, "usage")


def _subagent_finished_from_wire(event: dict[str, Any]) -> None:
    _outcome_from_wire(event, _SUBAGENT_OUTCOME_MEMBERS)


def _op_name(number: int) -> str:
    return _OPS.Name(number).lower() if number in _OPS.values() else str(number)


def _patch_from_wire(key: str) -> Any:
    def convert(event: dict[str, Any]) -> None:
        for operation in event.get(key, []):
            operation["op"] = _op_name(operation["op"])

    return convert


def _tool_result_from_wire(event: dict[str, Any]) -> None:
    parts = event.pop("contentParts", [])
    if "content" in event and parts:
        raise Undecodable("a TOOL_CALL_RESULT carries both string content and content parts")
    if "content" not in event:
        event["content"] = _parts(parts)


def _run_started_from_wire(event: dict[str, Any]) -> None:
    run_input = event.get("input")
    if isinstance(run_input, dict):
        run_input["messages"] = [_message_from_wire(m) for m in run_input.get("messages", [])]


_FROM_WIRE = {
    "MESSAGES_SNAPSHOT": _snapshot_from_wire,
    "RUN_FINISHED": _run_finished_from_wire,
    "RUN_ERROR": _run_error_from_wire,
    "SUBAGENT_FINISHED": _subagent_finished_from_wire,
    "STATE_DELTA": _patch_from_wire("delta"),
    "ACTIVITY_DELTA": _patch_from_wire("patch"),
    "TOOL_CALL_RESULT": _tool_result_from_wire,
    "RUN_STARTED": _run_started_from_wire,
}


# ================================================================ encoding


def encode_event(event: Mapping[str, Any], *, lossy: bool = False) -> bytes:
    """The message bytes of one event (frame them with `frame`).

    Raises `Unencodable` when the event has a type the wire schema has no arm for, or
    (unless `lossy`) when its bytes would not decode back to an equal event. With
    `lossy`, members the schema has no field for are dropped, as official encoders do.
    """
    kind = event.get("type")
    arm = ARMS.get(kind) if isinstance(kind, str) else None
    if arm is None:
        raise Unencodable(f"the wire schema has no event of type {kind!r}")
    rest = {k: v for k, v in event.items() if k not in _BASE_MEMBERS and k != "type"}
    _TO_WIRE.get(str(kind), _nothing)(rest)
    envelope = pb.Event()
    message = getattr(envelope, arm)
    base = message.base_event
    base.type = _BASE_TYPE.Value(str(kind))
    base_members = {k: event[k] for k in _BASE_MEMBERS if k in event}
    _fill(base, base_members, "", lossy, skip=("type",))
    _fill(message, rest, "", lossy, skip=("baseEvent",))
    try:
        data: bytes = envelope.SerializeToString()
    except EncodeError as err:  # pragma: no cover - every field is proto3, none required
        raise Unencodable(str(err)) from None
    if not lossy:
        back = decode_event(data)
        where = _difference(dict(event), back)
        if where is not None:
            raise Unencodable(
                f"{kind} would not survive the wire as it is: {where} "
                "(pass lossy=True to encode what the schema can carry)"
            )
    return data


def _fill(
    message: Message, members: Mapping[str, Any], at: str, lossy: bool, skip: tuple[str, ...] = ()
) -> None:
    fields = message.DESCRIPTOR.fields_by_camelcase_name
    for key, value in members.items():
        field = fields.get(key)
        if field is None or key in skip:
            if lossy:
                continue
            raise Unencodable(f"{at}/{key}: the wire schema has no field for this member")
        path = f"{at}/{key}"
        if value is None and field.message_type is None:
            if lossy:
                continue  # an optional null: absent (as official encoders do)
            raise Unencodable(f"{path}: null, which a {_kind(field)} field cannot hold")
        try:
            _fill_field(message, field, value, path, lossy)
        except (TypeError, ValueError) as err:
            if isinstance(err, Unencodable):
                raise
            if lossy:
                message.ClearField(field.name)
                continue
            raise Unencodable(f"{path}: {_kind(field)} field cannot hold {value!r:.60}") from None


def _fill_field(message: Message, field: Field, value: Any, path: str, lossy: bool) -> None:
    name = field.name
    if _repeated(field):
        if not isinstance(value, list):
            raise TypeError(name)
        target = getattr(message, name)
        for index, item in enumerate(value):
            if field.message_type is None:
                _check_scalar(field, item)
                target.append(item)
            else:
                _fill_message(target.add(), field.message_type, item, f"{path}/{index}", lossy)
        return
    if field.message_type is None:
        _check_scalar(field, value)
        setattr(message, name, value)
        return
    target = getattr(message, name)
    target.SetInParent()  # present even when empty (`{}`)
    _fill_message(target, field.message_type, value, path, lossy)


def _fill_message(target: Any, kind: Any, value: Any, path: str, lossy: bool) -> None:
    name = kind.full_name
    if name == _VALUE:
        _to_value(target, value, path)
    elif name == _STRUCT:
        if not isinstance(value, dict):
            raise TypeError(path)
        _to_object(target, value, path)
    else:
        if not isinstance(value, dict):
            raise TypeError(path)
        _fill(target, value, path, lossy)


def _to_object(target: pb.JsonObject, value: dict[str, Any], path: str) -> None:
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(path)
        _to_value(target.fields.add(key=key).value, item, f"{path}/{key}")


def _to_value(target: pb.JsonValue, value: Any, path: str) -> None:
    if value is None:
        target.null_value = pb.JSON_NULL
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, (int, float)):
        target.number_value = float(value)
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, dict):
        target.struct_value.SetInParent()
        _to_object(target.struct_value, value, path)
    elif isinstance(value, list):
        target.list_value.SetInParent()
        for index, item in enumerate(value):
            _to_value(target.list_value.values.add(), item, f"{path}/{index}")
    else:
        raise TypeError(path)


def _check_scalar(field: Field, value: Any) -> None:
    """Refuse JSON values protobuf would coerce (True as 1, 1.5 as a string's type error)."""
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING and not isinstance(value, str):
        raise TypeError(field.name)
    if kind == FieldDescriptor.TYPE_BOOL and not isinstance(value, bool):
        raise TypeError(field.name)
    integer = isinstance(value, int) and not isinstance(value, bool)
    if kind == FieldDescriptor.TYPE_INT64 and not integer:
        raise TypeError(field.name)


def _kind(field: Field) -> str:
    if _repeated(field):
        return "a list"
    if field.message_type is not None:
        return f"a {field.message_type.name}"
    return {
        FieldDescriptor.TYPE_STRING: "a string",
        FieldDescriptor.TYPE_BOOL: "a boolean",
        FieldDescriptor.TYPE_INT64: "an integer",
        FieldDescriptor.TYPE_ENUM: "an enum",
    }.get(field.type, "a scalar")


def _source_to_wire(source: Any) -> Any:
    if not isinstance(source, dict):
        return source
    kind = source.get("type")
    if kind not in ("data", "url", "file"):
        raise Unencodable(f"a content source of type {kind!r} has no wire form")
    return {kind: {k: v for k, v in source.items() if k != "type"}}


def _part_to_wire(part: Any) -> Any:
    if not isinstance(part, dict):
        return part
    kind = part.get("type")
    if kind not in ("text", "image", "audio", "video", "document"):
        raise Unencodable(f"a content part of type {kind!r} has no wire form")
    body = {k: v for k, v in part.items() if k != "type"}
    if "source" in body:
        body["source"] = _source_to_wire(body["source"])
    return {kind: body}


def _message_to_wire(message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    wire = dict(message)
    content = wire.get("content")
    if isinstance(content, list):
        wire["contentParts"] = [_part_to_wire(part) for part in content]
        del wire["content"]
    elif isinstance(content, dict) or (wire.get("role") in _MAP_ROLES and "content" in wire):
        wire["activityContent"] = content
        del wire["content"]
    return wire


def _snapshot_to_wire(rest: dict[str, Any]) -> None:
    if isinstance(rest.get("messages"), list):
        rest["messages"] = [_message_to_wire(m) for m in rest["messages"]]


def _outcome_to_wire(rest: dict[str, Any], members: tuple[str, ...]) -> None:
    if "outcome" not in rest:
        return
    outcome = rest.pop("outcome")
    if not isinstance(outcome, dict) or not isinstance(outcome.get("type"), str):
        raise Unencodable(f"/outcome: {outcome!r:.60} is no outcome object with a string type")
    extra = set(outcome) - {"type", *members}
    if extra:
        raise Unencodable(f"/outcome/{sorted(extra)[0]}: the wire schema has no field for it")
    rest["outcome"] = outcome["type"]
    for key in members:
        if key in outcome:
            if key in rest:
                raise Unencodable(f"/{key}: both beside and inside the outcome")
            rest[key] = outcome[key]


def _run_finished_to_wire(rest: dict[str, Any]) -> None:
    _outcome_to_wire(rest, _RUN_OUTCOME_MEMBERS)


def _subagent_finished_to_wire(rest: dict[str, Any]) -> None:
    _outcome_to_wire(rest, _SUBAGENT_OUTCOME_MEMBERS)


def _patch_to_wire(key: str) -> Any:
    def convert(rest: dict[str, Any]) -> None:
        operations = rest.get(key)
        if not isinstance(operations, list):
            return
        converted = []
        for index, operation in enumerate(operations):
            if isinstance(operation, dict) and "op" in operation:
                op = operation["op"]
                if not isinstance(op, str) or op.upper() not in _OP_NAMES:
                    raise Unencodable(f"/{key}/{index}/op: {op!r:.40} is no JSON Patch operation")
                operation = {**operation, "op": _OPS.Value(op.upper())}
            converted.append(operation)
        rest[key] = converted

    return convert


def _tool_result_to_wire(rest: dict[str, Any]) -> None:
    content = rest.get("content")
    if isinstance(content, list):
        rest["contentParts"] = [_part_to_wire(part) for part in content]
        del rest["content"]


def _run_started_to_wire(rest: dict[str, Any]) -> None:
    run_input = rest.get("input")
    if isinstance(run_input, dict) and isinstance(run_input.get("messages"), list):
        messages = [_message_to_wire(m) for m in run_input["messages"]]
        rest["input"] = {**run_input, "messages": messages}


_TO_WIRE = {
    "MESSAGES_SNAPSHOT": _snapshot_to_wire,
    "RUN_FINISHED": _run_finished_to_wire,
    "SUBAGENT_FINISHED": _subagent_finished_to_wire,
    "STATE_DELTA": _patch_to_wire("delta"),
    "ACTIVITY_DELTA": _patch_to_wire("patch"),
    "TOOL_CALL_RESULT": _tool_result_to_wire,
    "RUN_STARTED": _run_started_to_wire,
}


def _difference(sent: Any, back: Any, at: str = "") -> str | None:
    """Where `back` (decoded) differs from `sent`, as a JSON pointer and a reason."""
    if isinstance(sent, dict) and isinstance(back, dict):
        for key in sent:
            if key not in back:
                return f"{at}/{key} does not come back"
            found = _difference(sent[key], back[key], f"{at}/{key}")
            if found is not None:
                return found
        for key in back:
            if key not in sent:
                return f"{at}/{key} comes back though it was not sent (absent and empty are one)"
        return None
    if isinstance(sent, list) and isinstance(back, list):
        if len(sent) != len(back):
            return f"{at} comes back with {len(back)} items, not {len(sent)}"
        for index, (one, other) in enumerate(zip(sent, back, strict=True)):
            found = _difference(one, other, f"{at}/{index}")
            if found is not None:
                return found
        return None
    if type(sent) is bool or type(back) is bool:
        same = type(sent) is type(back) and sent == back
    else:
        same = sent == back
    return None if same else f"{at or '/'} comes back as {back!r:.40}, not {sent!r:.40}"
