"""Scenario cases: `cases/*.yaml`, loaded and validated, and their requests built.

Owns the case file format (the `Case` model is its schema; cases/README.md
documents it), a file's `variants` expanded into cases of their own, fresh ids
for every request (`${thread}`, `${run}`, `${id}`, `${id:NAME}`), and building
follow-up inputs from a previous run's events.
"""

from __future__ import annotations

import re
import uuid
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agui_conformance.expectations import Expectations, Outcome, ToolCallExpectation, check_pointer

_KEBAB = r"^[a-z0-9]+(-[a-z0-9]+)*$"
# The optional members whose absence the spec defines as a value (agui_conformance.differential).
Member = Literal["tools", "context", "state"]
# The behaviour cases' flows (agui_conformance.behaviour_runs sends, .behaviour judges).
Behaviour = Literal[
    "continuation",
    "isolation",
    "isolation-interleaved",
    "overlap",
    "state-types",
    "history",
    "negotiation",
]
_PLACEHOLDER = re.compile(r"\$\{(thread|run|id|id:[\w-]+|long|huge)\}")
LONG = ("The quick brown fox jumps over the lazy dog. " * 445)[:20_000]
HUGE_SIZE = 4 << 20


class FollowUp(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # tool-results: answer every pending tool call; resume: resolve every interrupt;
    # reply: restate the assistant's reply and ask again
    continue_: Literal["tool-results", "resume", "reply"] = Field(alias="continue")


class Variant(BaseModel):
    """One case a file expands to: the file's case with its request changed at the top
    level. Its id is the file's id and this suffix (`probe-malformed` + `state-null`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=_KEBAB)
    title: str | None = Field(default=None, description="Replaces the file's title.")
    requirements: list[str] = Field(
        default_factory=list, description="Added to the file's requirements."
    )
    set_: dict[str, Any] = Field(
        default_factory=dict, alias="set", description="Top-level members to add or replace."
    )
    unset: list[str] = Field(default_factory=list, description="Top-level members to remove.")
    differential: list[Member] | None = Field(
        default=None, description="Replaces the file's `differential`."
    )
    behaviour: Behaviour | None = Field(default=None, description="Replaces the file's.")


class Case(BaseModel):
    """One scenario file (or one of its variants)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_KEBAB)
    title: str
    requirements: list[str] = Field(default_factory=list)
    expect: Literal["run", "reject", "lenient", "unauthorized"] = "run"
    request: dict[str, Any] | None = None
    raw_body: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    auth: Literal["omit", "wrong"] | None = None
    then: list[FollowUp] = Field(default_factory=list)
    concurrent: int = Field(default=1, ge=1, le=50)
    disconnect_after: int | None = Field(
        default=None, ge=1, description="Hang up after this many events, then run again."
    )
    needs: Literal["auth"] | None = None
    refusal: str | None = Field(
        default=None,
        description="For a valid input the spec asks agents to tolerate: the rule a refusal "
        "(4xx, or a run ending in RUN_ERROR) breaks, instead of input-valid-rejected.",
    )
    differential: list[Member] = Field(
        default_factory=list,
        description="Members the request leaves out: the case's run has each absent; each is "
        "also sent empty (tools: [], context: [], state: {}) on a fresh thread, and the two "
        "outcome kinds must agree (input-absent-not-empty).",
    )
    variants: list[Variant] = Field(
        default_factory=list,
        description="The file stands for these cases, each its own id; not run itself.",
    )
    behaviour: Behaviour | None = Field(
        default=None,
        description="A scenario of several exchanges that no single stream shows "
        "(agui_conformance.behaviour_runs): continuation, isolation, isolation-interleaved, "
        "overlap, state-types, history, negotiation.",
    )
    fact: str | None = Field(
        default=None,
        description="With behaviour: history, the distinctive fact an earlier message of the "
        "history gives and the reply to the last one must contain.",
    )
    run_error: str | None = Field(
        default=None,
        description="The rule (category agent) a RUN_ERROR on this valid input names, "
        "instead of run-error-on-valid-input: the case's own finding text.",
    )
    not_applied: list[str] = Field(
        default_factory=list,
        description="Rules this case does not judge, for a case whose input makes them "
        "meaningless (e.g. input-rejection-5xx on an oversized body, which an agent may serve "
        "or refuse): none of its exchanges reports them or counts as exercising them.",
    )
    expect_tool_call: ToolCallExpectation | None = Field(
        default=None,
        description="The run must call this tool (`name`), with arguments matching "
        "`arguments` (a JSON Schema) when given (agui_conformance.expectations).",
    )
    expect_state: list[str] = Field(
        default_factory=list,
        description="JSON Pointers that must be present in the final state the run reported.",
    )
    expect_outcome: Outcome | None = Field(
        default=None, description="The outcome the run's RUN_FINISHED must carry."
    )

    @field_validator("expect_state")
    @classmethod
    def _pointers(cls, value: list[str]) -> list[str]:
        return [check_pointer(p) for p in value]

    def expectations(self) -> Expectations:
        """What the case states the agent must do (empty: nothing beyond the protocol)."""
        return Expectations(self.expect_tool_call, tuple(self.expect_state), self.expect_outcome)

    def model_post_init(self, _: Any) -> None:
        if (self.request is None) == (self.raw_body is None):
            raise ValueError(f"case {self.id}: give exactly one of `request` and `raw_body`")
        if self.refusal is not None:
            from agui_conformance.rules import catalog

            if self.refusal not in catalog():
                raise ValueError(f"case {self.id}: refusal names no rule: {self.refusal}")
            if self.expect != "run":
                raise ValueError(f"case {self.id}: refusal needs expect: run")
        if self.differential:
            self._check_differential()
        if self.behaviour is not None:
            self._check_behaviour()
        if self.fact is not None and self.behaviour != "history" and not self.variants:
            raise ValueError(f"case {self.id}: `fact` is for behaviour: history")
        if self.run_error is not None:
            self._check_run_error()
        if self.not_applied:
            self._check_not_applied()
        if self.expectations():
            self._check_expectations()
        if self.variants:
            suffixes = [v.id for v in self.variants]
            if len(set(suffixes)) != len(suffixes):
                raise ValueError(f"case {self.id}: variant ids repeat")
            if self.request is None and any(v.set_ or v.unset for v in self.variants):
                raise ValueError(f"case {self.id}: variants change `request`; give one")

    def _check_differential(self) -> None:
        where = f"case {self.id}: differential"
        if self.expect != "run" or self.request is None:
            raise ValueError(f"{where} needs expect: run and a `request`")
        if self.then or self.concurrent != 1 or self.disconnect_after or self.refusal:
            raise ValueError(
                f"{where} is one run per side: no then, concurrent, disconnect_after or refusal"
            )
        present = [m for m in self.differential if m in self.request]
        if present:
            raise ValueError(f"{where}: the request must leave out {', '.join(present)}")
        if len(set(self.differential)) != len(self.differential):
            raise ValueError(f"{where} names a member twice")

    def _check_behaviour(self) -> None:
        where = f"case {self.id}: behaviour {self.behaviour}"
        if self.expect != "run" or self.request is None:
            raise ValueError(f"{where} needs expect: run and a `request`")
        if self.then or self.concurrent != 1 or self.disconnect_after or self.differential:
            raise ValueError(
                f"{where} is its own flow: no then, concurrent, disconnect_after or differential"
            )
        if self.refusal is not None and self.behaviour != "continuation":
            raise ValueError(f"{where}: only a continuation takes a refusal")
        text = orjson.dumps(self.request).decode()
        if str(self.behaviour).startswith("isolation") and "${id:canary}" not in text:
            raise ValueError(f"{where}: the request must carry `${{id:canary}}`")
        if self.behaviour == "history":
            messages = self.request.get("messages")
            earlier = orjson.dumps(messages[:-1] if isinstance(messages, list) else []).decode()
            if not self.fact or self.fact not in earlier:
                raise ValueError(f"{where}: `fact` must appear in a message before the last")

    def _check_run_error(self) -> None:
        from agui_conformance.rules import catalog

        rule = catalog().get(self.run_error or "")
        if rule is None or rule.category != "agent":
            raise ValueError(f"case {self.id}: run_error must name a rule of category agent")
        if self.expect != "run" or self.refusal is not None:
            raise ValueError(f"case {self.id}: run_error needs expect: run and no refusal")

    def _check_not_applied(self) -> None:
        from agui_conformance.rules import catalog

        unknown = [rule for rule in self.not_applied if rule not in catalog()]
        if unknown:
            raise ValueError(f"case {self.id}: not_applied names no rule: {', '.join(unknown)}")
        if len(set(self.not_applied)) != len(self.not_applied):
            raise ValueError(f"case {self.id}: not_applied names a rule twice")

    def _check_expectations(self) -> None:
        where = f"case {self.id}: expect_tool_call, expect_state and expect_outcome"
        if self.expect != "run" or self.request is None:
            raise ValueError(f"{where} need expect: run and a `request`")
        if self.behaviour is not None:
            raise ValueError(f"{where} do not go with `behaviour` (a flow of its own)")

    def expand(self) -> list[Case]:
        """The cases this one stands for: itself, or one per variant."""
        if not self.variants:
            return [self]
        base = self.model_dump(by_alias=True, exclude={"variants"})
        out = []
        for variant in self.variants:
            data = {**base, "id": f"{self.id}-{variant.id}"}
            if variant.title is not None:
                data["title"] = variant.title
            data["requirements"] = list(dict.fromkeys(self.requirements + variant.requirements))
            if self.request is not None:
                missing = [k for k in variant.unset if k not in self.request]
                if missing:
                    raise ValueError(
                        f"case {self.id}: variant {variant.id} unsets what the request "
                        f"lacks: {', '.join(missing)}"
                    )
                request = {k: v for k, v in self.request.items() if k not in variant.unset}
                data["request"] = {**request, **variant.set_}
            if variant.differential is not None:
                data["differential"] = variant.differential
            if variant.behaviour is not None:
                data["behaviour"] = variant.behaviour
            out.append(Case.model_validate(data))
        return out


def all_cases(extra: Path | str | None = None) -> list[Case]:
    """The built-in cases plus those of a user's folder; ValueError on a clash of ids."""
    cases = list(load_cases())
    if extra is None:
        return cases
    folder = Path(extra)
    if not folder.is_dir():
        raise ValueError(f"no such cases folder: {folder}")
    own = list(load_cases(folder))
    if not own:
        raise ValueError(f"{folder} holds no *.yaml case")
    clash = sorted({c.id for c in own} & {c.id for c in cases})
    if clash:
        raise ValueError(f"case ids already built in: {', '.join(clash)} (rename yours)")
    return sorted(cases + own, key=lambda c: c.id)


def cases_dir() -> Path:
    packaged = resources.files("agui_conformance") / "_data" / "cases"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[1] / "cases"


@cache
def load_cases(directory: Path | None = None) -> tuple[Case, ...]:
    """Every case (a file's variants each one), sorted by id. Raises ValueError naming the
    file on a bad case."""
    folder = directory or cases_dir()
    loaded: list[Case] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            loaded.extend(Case.model_validate(data).expand())
        except Exception as err:
            raise ValueError(f"{path.name}: {err}") from err
    ids = [c.id for c in loaded]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate case ids: {', '.join(twice)}")
    return tuple(sorted(loaded, key=lambda c: c.id))


class Ids:
    """Fresh identifiers for one case instance."""

    def __init__(self) -> None:
        self.named: dict[str, str] = {}
        self.thread = f"thread-{uuid.uuid4()}"

    def fresh(self, kind: str) -> str:
        return f"{kind}-{uuid.uuid4()}"

    def fill(self, value: Any, run_id: str) -> Any:
        if isinstance(value, str):
            return self._fill_text(value, run_id)
        if isinstance(value, list):
            return [self.fill(v, run_id) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v, run_id) for k, v in value.items()}
        return value

    def _fill_text(self, text: str, run_id: str) -> str:
        def repl(match: re.Match[str]) -> str:
            key = match.group(1)
            if key == "thread":
                return self.thread
            if key == "run":
                return run_id
            if key == "long":
                return LONG
            if key == "huge":
                return "x" * HUGE_SIZE
            if key == "id":
                return self.fresh("msg")
            name = key.split(":", 1)[1]
            return self.named.setdefault(name, self.fresh(name))

        return _PLACEHOLDER.sub(repl, text)


def build_body(case: Case, ids: Ids) -> tuple[dict[str, Any] | None, bytes]:
    """The request object (None for raw bodies) and the bytes to send."""
    if case.raw_body is not None:
        return None, case.raw_body.encode("utf-8")
    request = ids.fill(case.request, ids.fresh("run"))
    return request, orjson.dumps(request)


class NotExercised(Exception):
    """The agent did not do what the follow-up builds on (e.g. it raised no interrupt)."""


def follow_up(
    step: FollowUp, previous: dict[str, Any], events: list[dict[str, Any]], ids: Ids
) -> dict[str, Any]:
    """The next RunAgentInput on the same thread, built from what the agent streamed."""
    messages = [m for m in previous.get("messages", []) if isinstance(m, dict)]
    messages += assistant_messages(events)
    body: dict[str, Any] = {**previous, "runId": ids.fresh("run"), "messages": messages}
    body.pop("resume", None)
    if step.continue_ == "tool-results":
        finish: dict[str, Any] = next(
            (e for e in reversed(events) if e.get("type") == "RUN_FINISHED"), {}
        )
        outcome = finish.get("outcome") if isinstance(finish, dict) else None
        pending = outcome.get("pendingToolCallIds", []) if isinstance(outcome, dict) else []
        for call_id in pending or _unanswered(events):
            messages.append(
                {
                    "id": ids.fresh("tool"),
                    "role": "tool",
                    "toolCallId": call_id,
                    "content": "ok: done by the client",
                }
            )
    elif step.continue_ == "resume":
        finish = next((e for e in reversed(events) if e.get("type") == "RUN_FINISHED"), {})
        outcome = finish.get("outcome") if isinstance(finish, dict) else None
        interrupts = outcome.get("interrupts", []) if isinstance(outcome, dict) else []
        if not interrupts:
            raise NotExercised("the agent ended the run without an interrupt outcome")
        body["resume"] = [
            {"interruptId": i["id"], "status": "resolved", "payload": {"ok": True}}
            for i in interrupts
            if isinstance(i, dict) and "id" in i
        ]
    else:
        messages.append({"id": ids.fresh("msg"), "role": "user", "content": "and a follow-up"})
    return body


def _unanswered(events: list[dict[str, Any]]) -> list[str]:
    started = [
        e["toolCallId"]
        for e in events
        if e.get("type") in ("TOOL_CALL_START", "TOOL_CALL_CHUNK") and e.get("toolCallId")
    ]
    answered = {e.get("toolCallId") for e in events if e.get("type") == "TOOL_CALL_RESULT"}
    return [c for c in dict.fromkeys(started) if c not in answered]


def _sid(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def assistant_messages(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the client holds after the stream: assistant text with its tool calls, and
    tool results (a simplified reconstruction: enough to continue a thread). Linear in the
    stream: deltas are gathered in lists and joined once."""
    built: dict[str, dict[str, Any]] = {}
    texts: dict[str, list[str]] = {}
    calls: dict[str, dict[str, Any]] = {}
    args: dict[str, list[str]] = {}
    chunk_ids: dict[str, str] = {}
    for event in events:
        kind = event.get("type")
        delta = event.get("delta")
        delta = delta if isinstance(delta, str) else ""
        if kind in ("TEXT_MESSAGE_START", "TEXT_MESSAGE_CHUNK"):
            mid = _sid(event.get("messageId")) or chunk_ids.get("text")
            if mid is None:
                continue
            chunk_ids["text"] = mid
            built.setdefault(mid, {"id": mid, "role": "assistant"})
            texts.setdefault(mid, []).append(delta if kind == "TEXT_MESSAGE_CHUNK" else "")
        elif kind == "TEXT_MESSAGE_CONTENT" and _sid(event.get("messageId")) in texts:
            texts[event["messageId"]].append(delta)
        elif kind in ("TOOL_CALL_START", "TOOL_CALL_CHUNK") and _sid(event.get("toolCallId")):
            cid = event["toolCallId"]
            chunk_ids["tool"] = cid
            if cid not in calls:
                parent = _sid(event.get("parentMessageId")) or f"assistant-for-{cid}"
                message = built.setdefault(parent, {"id": parent, "role": "assistant"})
                name = event.get("toolCallName")
                calls[cid] = {
                    "id": cid,
                    "type": "function",
                    "function": {"name": name if isinstance(name, str) else "", "arguments": ""},
                }
                args[cid] = []
                message.setdefault("toolCalls", []).append(calls[cid])
            if kind == "TOOL_CALL_CHUNK":
                args[cid].append(delta)
        elif kind == "TOOL_CALL_ARGS" and _sid(event.get("toolCallId")) in calls:
            args[event["toolCallId"]].append(delta)
        elif kind == "TOOL_CALL_CHUNK" and chunk_ids.get("tool") in calls:
            args[chunk_ids["tool"]].append(delta)
        elif kind == "TOOL_CALL_RESULT" and _sid(event.get("messageId")):
            built[event["messageId"]] = {
                "id": event["messageId"],
                "role": "tool",
                "toolCallId": event.get("toolCallId"),
                "content": event.get("content", ""),
            }
    for cid, parts in args.items():
        calls[cid]["function"]["arguments"] = "".join(parts)
    for mid, message in built.items():
        if message.get("role") != "assistant":
            continue
        text = "".join(texts.get(mid, ()))
        if text or "toolCalls" not in message:
            message["content"] = text
    return list(built.values())
