"""Behaviour cases: what real front ends send, judged by outcome kinds and structure.

Some bugs never show in one well-formed stream: an agent that keeps a paused tool call in
process memory, a "working memory" shared between conversations, a state coerced to
another JSON type, a second run on a busy thread answered with nothing, a history of
which only the last message reaches the model. The behaviour cases (`behaviour:` in
cases/*.yaml; agui_conformance.behaviour_runs sends them) make the scenario a front end
really produces, and this module judges what came back:

- a stateless continuation: the history carries a tool call this process never made and
  its result. Judged by the case's `refusal` (a 4xx or RUN_ERROR names
  `stateless-continuation-refused`); nothing here.
- isolation (`leak`): a canary sent on one thread (in its `state` and a user message)
  must never appear in another thread's events, raw or assembled from deltas.
- state types (`state_type_changes`): the state the agent reports (its snapshots, and its
  deltas applied to the input `state`) keeps its JSON type, and below it no value the
  agent did not claim to change with a delta is coerced (the same data in another type:
  `["a","b"]` as `{"0":"a","1":"b"}`, `3` as `"3"`).
- overlapping runs (`overlap_findings`): a second run on a thread whose first run is
  still streaming is served or refused with an HTTP error status, never answered 200
  with an event stream holding no event.
- an empty history: a RUN_ERROR names the case's own agent rule (`run_error_findings`).
- history honoured (`history_hit`, opt-in, info): the final turn asks for a fact only an
  earlier turn gave; a reply that never contains it suggests the history was dropped.
  The one judgement here that reads generated text, and only for a distinctive token;
  it is advisory and off unless asked for.

None compares generated text with expected text, so an LLM agent is judged on what it
did, not on how it worded it. Pure: reads recorded exchanges, never sends.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from agui_conformance.evidence import run_error_message
from agui_conformance.hits import Hit
from agui_conformance.jsonpatch import PatchError, apply_patch
from agui_conformance.model import Finding, RunRecord
from agui_conformance.transport import AGENT_ENDINGS, Exchange

SPEC = "https://docs.ag-ui.com/spec/1.1"
ISOLATION = "thread-state-leaked"
STATE_TYPES = "state-type-changed"
OVERLAP = "overlapping-run-unanswered"
HISTORY = "history-not-honoured"
CONTINUATION = "stateless-continuation-refused"
AGENT_ERROR = "run-error-on-valid-input"
MAX_NODES = 10_000  # paths compared per state (hostile state stays cheap)
MAX_DEPTH = 64
SHOWN_PATHS = 3


def findings(hits: Iterable[Hit], profile: str) -> list[Finding]:
    """Hits as findings with their catalog level under `profile`."""
    from agui_conformance.validator import StreamValidator

    checker = StreamValidator(profile=profile)
    checker.add_hits(list(hits))
    return checker.result().findings


def _preview(value: Any, limit: int = 60) -> str:
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _decoded(frames: Iterable[tuple[int, bytes]]) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for index, data in frames:
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            continue
        if isinstance(event, dict):
            out.append((index, event))
    return out


# ------------------------------------------------------------------ isolation


def leak(canary: str, frames: Sequence[tuple[int, bytes]], this: str, other: str) -> Hit | None:
    """`canary`, sent only on thread `other`, in the events of thread `this` (`frames`: each
    event's index and raw JSON): as it was sent (any event, any member) or assembled from
    the deltas of one message, tool call or reasoning message (a canary streamed in pieces).
    Case-insensitive; the canary is a fresh random id, so no honest reply holds it."""
    needle = canary.lower()
    raw = needle.encode()
    for index, data in frames:
        if raw in data.lower():
            where = _event_kind(data)
            return _leak_hit(index, canary, f"{where} (event {index})", this, other)
    texts: dict[tuple[str, str], list[tuple[int, str]]] = {}
    lanes: dict[str, str] = {}
    for index, event in _decoded(f for f in frames if b'"delta"' in f[1]):
        delta = event.get("delta")
        kind = event.get("type")
        if not isinstance(delta, str) or not isinstance(kind, str):
            continue
        family = kind.split("_")[0]
        item = event.get("messageId") or event.get("toolCallId")
        item = item if isinstance(item, str) else lanes.get(family, "")
        lanes[family] = item
        texts.setdefault((family, item), []).append((index, delta))
    for (family, item), parts in texts.items():
        joined = ""
        for index, delta in parts:
            joined += delta.lower()
            if needle in joined:
                what = {"TOOL": "the arguments streamed for tool call"}.get(
                    family, "the text streamed in message"
                )
                return _leak_hit(
                    index, canary, f"{what} {item!r} (events up to {index})", this, other
                )
    return None


def _event_kind(data: bytes) -> str:
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        return "an event"
    kind = event.get("type") if isinstance(event, dict) else None
    return f"a {kind}" if isinstance(kind, str) else "an event"


def _leak_hit(index: int, canary: str, where: str, this: str, other: str) -> Hit:
    return Hit(
        ISOLATION,
        index,
        f"A run on thread {this!r} showed {canary!r} in {where}; that value was sent only on "
        f"thread {other!r} (in its `state` and a user message). State and history crossed "
        "from one conversation into another: a data leak between users' threads. Keep "
        "memory, state and history per `threadId`; the run input's `messages` is the "
        f"complete history and `state` the state the run starts from ({SPEC}/basic/"
        "run-input#messages).",
    )


# ------------------------------------------------------------------ state types


Path = tuple[str, ...]


def json_kind(value: Any) -> str:
    """The JSON type of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _tokens(pointer: Any) -> Path | None:
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        return None
    if not pointer:
        return ()
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/"))


def _at(doc: Any, path: Path) -> tuple[bool, Any]:
    node = doc
    for token in path:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False, None
    return True, node


def _claim(doc: Any, op: dict[str, Any], claimed: set[Path], shifted: set[Path]) -> None:
    """The paths one operation claims to change (`claimed`: the node and all below it) and
    the arrays whose elements it moves (`shifted`: the elements, not the array itself)."""
    kind = op.get("op")
    if kind == "test":
        return
    for member in ("path", "from") if kind == "move" else ("path",):
        path = _tokens(op.get(member))
        if path is None:
            continue
        claimed.add(path)
        if path and kind in ("add", "remove", "move", "copy"):
            found, parent = _at(doc, path[:-1])
            if found and isinstance(parent, list):
                shifted.add(path[:-1])  # every later element moved one place


def reported_state(
    sent: Any, events: Iterable[Any]
) -> tuple[int | None, Any, set[Path], set[Path]]:
    """The state as a consumer holds it after `events`, starting from the input's `sent`:
    the index of the last STATE_SNAPSHOT (None: none), the state, and the paths the deltas
    claimed (`claimed`) or whose elements they moved (`shifted`). A delta that does not apply
    stops the reading (its own rules report it): the state is then None."""
    state = copy.deepcopy(sent)
    snapshot: int | None = None
    claimed: set[Path] = set()
    shifted: set[Path] = set()
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "STATE_SNAPSHOT" and "snapshot" in event:
            state = copy.deepcopy(event["snapshot"])
            snapshot = index
        elif kind == "STATE_DELTA" and isinstance(event.get("delta"), list):
            for op in event["delta"]:
                if isinstance(op, dict):
                    _claim(state, op, claimed, shifted)
            try:
                state = apply_patch(state, event["delta"])
            except PatchError:
                return snapshot, None, claimed, shifted
    return snapshot, state, claimed, shifted


def coerced(sent: Any, got: Any) -> bool:
    """`got` is `sent` carried in another JSON type (the same data, coerced): an array as an
    object keyed by its indexes (or back), a number or a boolean as its string (or back), a
    value as its JSON text (or a JSON text parsed)."""
    ka, kb = json_kind(sent), json_kind(got)
    if ka == "array" and kb == "object":
        return set(got) == {str(i) for i in range(len(sent))}
    if ka == "object" and kb == "array":
        return set(sent) == {str(i) for i in range(len(got))}
    if ka == "string" and kb != "string":
        sent, got, kb = got, sent, ka  # the other way round
    if kb != "string":
        return False
    text = got.strip()
    if json_kind(sent) in ("number", "boolean", "array", "object"):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = text.lower() if json_kind(sent) == "boolean" else None
        if json_kind(sent) == "boolean":
            return parsed in (sent, str(sent).lower())
        return bool(parsed == sent and json_kind(parsed) == json_kind(sent))
    return False


def state_type_changes(
    sent: Any, got: Any, claimed: set[Path], shifted: set[Path]
) -> list[tuple[Path, Any, Any]]:
    """Paths of `sent` that `got` holds in another JSON type where no delta claimed a
    change: (path, sent value, reported value). The state itself must keep its type (an
    array stays an array); below it, a value must not be coerced (`coerced`: the same data
    in another type), while a value the agent replaced by something else altogether (a
    snapshot may restate any member) is not compared. Not compared either: a `null` on
    either side (not set yet, or cleared), the empty object `{}` as the state (nothing was
    agreed), a member or element the report dropped, and array elements a delta moved or
    whose array changed length."""
    out: list[tuple[Path, Any, Any]] = []
    if isinstance(sent, dict) and not sent:
        return out
    stack: list[tuple[Path, Any, Any]] = [((), sent, got)]
    seen = 0
    while stack and seen < MAX_NODES:
        path, a, b = stack.pop()
        seen += 1
        if any(path[:n] in claimed for n in range(len(path) + 1)) or len(path) > MAX_DEPTH:
            continue
        ka, kb = json_kind(a), json_kind(b)
        if "null" in (ka, kb):
            continue
        if ka != kb:
            if not path or coerced(a, b):
                out.append((path, a, b))
            continue
        if path in shifted:
            continue
        if ka == "object":
            stack.extend(((*path, k), a[k], b[k]) for k in reversed(list(a)) if k in b)
        elif ka == "array" and len(a) == len(b):
            stack.extend(((*path, str(i)), a[i], b[i]) for i in reversed(range(len(a))))
    return out


def _pointer(path: Path) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in path) or "/"


def state_types_hit(sent: Any, events: Sequence[Any]) -> tuple[bool, Hit | None]:
    """Whether the agent reported state at all (the judgement was made), and the finding
    when the state it reported changed the JSON type of a path it did not claim."""
    reported = any(
        isinstance(e, dict) and e.get("type") in ("STATE_SNAPSHOT", "STATE_DELTA") for e in events
    )
    if not reported:
        return False, None
    snapshot, state, claimed, shifted = reported_state(sent, events)
    if snapshot is None or (state is None and sent is not None):
        return True, None  # deltas alone change only what they claim; a failed one stops
    changes = state_type_changes(sent, state, claimed, shifted)
    if not changes:
        return True, None
    shown = [
        f"`{_pointer(p)}` was {_article(json_kind(a))} ({_preview(a)}) and is now "
        f"{_article(json_kind(b))} ({_preview(b)})"
        for p, a, b in changes[:SHOWN_PATHS]
    ]
    more = f", and {len(changes) - SHOWN_PATHS} more" if len(changes) > SHOWN_PATHS else ""
    text = (
        f"The state the agent reported (its STATE_SNAPSHOT at event {snapshot}, with the "
        f"deltas after it) changed the JSON type of what the input `state` held, where no "
        f"STATE_DELTA claimed a change: {'; '.join(shown)}{more}. State is any JSON value "
        "(an object, an array, a string, a number) and keeps its type through the agent: a "
        "client reading it back finds a value it never had "
        f"({SPEC}/events/state#data-types)."
    )
    return True, Hit(STATE_TYPES, snapshot, text)


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


# ------------------------------------------------------------------ overlapping runs


def overlap_findings(
    second: Exchange, found: list[Finding], profile: str, gap: float, first_ran: float
) -> list[Finding]:
    """The second run's findings, sent `gap` seconds after the first run's response began
    while that run was still open (it ran `first_ran` seconds): a refusal with a 4xx is
    legal (its `input-valid-rejected` goes); a 200 event stream the agent ended with no
    event at all is this rule (instead of the generic `stream-truncated`)."""
    status = second.status or 0
    if 400 <= status < 500:
        return [f for f in found if f.rule != "input-valid-rejected"]
    if status == 200 and not second.frames and second.ending in AGENT_ENDINGS:
        kept = [f for f in found if f.rule != "stream-truncated"]
        text = (
            f"A second run was sent on the thread {gap:.2f} s after the first run's response "
            f"began, while that run was still streaming (it ran {first_ran:.2f} s). The second "
            "was answered 200 with an event stream that ended without any event: no "
            "RUN_STARTED or RUN_ERROR first, no terminal event, so the client's run neither "
            "starts nor ends. Serve the run, or refuse it before any stream with an HTTP "
            "error status (409 Conflict with a problem document) "
            f"({SPEC}/events/lifecycle#the-run, {SPEC}/basic/transports#truncation)."
        )
        return kept + findings([Hit(OVERLAP, None, text)], profile)
    return found


# ------------------------------------------------------------------ history honoured


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).upper()


def assistant_text(events: Sequence[Any], history_ids: Iterable[str] = ()) -> str:
    """Everything the agent said as assistant text in the run: streamed text deltas, and the
    assistant messages of a MESSAGES_SNAPSHOT that the input history did not hold."""
    known = set(history_ids)
    parts: list[str] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind in ("TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CHUNK"):
            delta = event.get("delta")
            if isinstance(delta, str):
                parts.append(delta)
        elif kind == "MESSAGES_SNAPSHOT" and isinstance(event.get("messages"), list):
            for message in event["messages"]:
                if (
                    isinstance(message, dict)
                    and message.get("role") == "assistant"
                    and message.get("id") not in known
                    and isinstance(message.get("content"), str)
                ):
                    parts.append(message["content"])
    return "\n".join(parts)


def history_hit(
    fact: str, events: Sequence[Any], history_ids: Iterable[str] = ()
) -> tuple[bool, Hit | None]:
    """Whether the reply was judged (the agent said something), and the note when nothing
    it said holds `fact`, compared without case, spaces or punctuation."""
    said = assistant_text(events, history_ids)
    if not _squash(said):
        return False, None
    if _squash(fact) in _squash(said):
        return True, None
    text = (
        f"The final turn asked for a fact only an earlier turn of the history gave "
        f"({fact!r}); nothing the agent said in its reply contains it. The agent may be "
        "passing only the last user message to its model, or truncating the history: the "
        "run input's `messages` is the complete conversation "
        f"({SPEC}/basic/run-input#messages). This judges model output and is advisory: a "
        "model can also decline or fail to recall."
    )
    return True, Hit(HISTORY, None, text)


# ------------------------------------------------------------------ the agent's own rule


RUN_ERROR_LEADS = {
    "empty-history-run-error": (
        "The input's history was empty (`messages: []`), a valid input: `messages` is "
        "required and an empty list is one (a conversation the agent opens, or one a front "
        "end starts from state or context alone)."
    ),
}


def run_error_findings(run: RunRecord, rule: str, profile: str, title: str = "") -> None:
    """The run's RUN_ERROR finding (`run-error-on-valid-input`) named `rule` instead, led by
    what the case sent (`RUN_ERROR_LEADS`, else the case's `title`) and quoting the agent's
    RUN_ERROR."""
    lead = RUN_ERROR_LEADS.get(rule) or f"{title.rstrip('.')}."
    if run.outcome in ("finished", "run-error", "refused", "no-run"):  # completed
        from agui_conformance.exercise import exercised

        run.exercised += exercised({f"run-error:{rule}"})
    kept: list[Finding] = []
    hits: list[Hit] = []
    for finding in run.findings:
        if finding.rule != AGENT_ERROR:
            kept.append(finding)
            continue
        event = (
            run.events[finding.index]
            if finding.index is not None and finding.index < len(run.events)
            else None
        )
        quoted = run_error_message(event) if isinstance(event, dict) else "(not kept)"
        hits.append(
            Hit(rule, finding.index, f"{lead} The agent answered with RUN_ERROR: {quoted}.")
        )
    if hits:
        run.findings = kept + findings(hits, profile)
