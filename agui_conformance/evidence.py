"""Evidence: what one exchange showed on the wire, and the status a case may claim from it.

A PASS is a claim. A case passes only when every exchange it judged was answered and
completed on the wire and no finding reached the fail-on level. Absence of findings is
not evidence: an exchange that got no answer, or a run cut at a deadline, fails the case
as `agent-unresponsive`; a body we cut ourselves (the size cap) leaves it `inconclusive`.
An agent's own failure (RUN_ERROR on a valid input) is neither a protocol violation nor a
pass: the case is `agent-error`. A case's own expectation (agui_conformance.expectations)
that a finished run did not meet fails it with that reason. Pure: reads recorded exchanges
and findings only.
"""

from __future__ import annotations

from typing import Any

import orjson

from agui_conformance.hits import Hit
from agui_conformance.model import CaseResult, Level
from agui_conformance.records import AGENT_CATEGORY, APART, CASE_CATEGORY
from agui_conformance.transport import DEADLINE_ENDINGS, Exchange

# What an exchange showed (RunRecord.outcome):
#   finished      a run ended with RUN_FINISHED and the agent closed the body
#   run-error     the last run ended with RUN_ERROR (the agent's own failure)
#   refused       an HTTP status other than 200: no run
#   no-run        200, but no run ended (not an event stream, no event, no terminal event)
#   unresponsive  no answer at all, or a run that started was cut at a deadline
#   cut           we stopped reading (the size cap): no evidence either way
#   left          we hung up on purpose (a user leaving mid-stream): not judged
#   harness-error the request could not be made
#   read          a declaration was read (the capabilities case: no run)
OUTCOMES = (
    "finished",
    "run-error",
    "refused",
    "no-run",
    "unresponsive",
    "cut",
    "left",
    "harness-error",
    "read",
)
_TERMINAL = frozenset({"RUN_FINISHED", "RUN_ERROR"})
_LIFECYCLE = frozenset({"RUN_STARTED", "RUN_FINISHED", "RUN_ERROR"})


def last_lifecycle(events: list[Any]) -> tuple[int, dict[str, Any]] | None:
    """The last RUN_STARTED / RUN_FINISHED / RUN_ERROR of decoded events, with its index."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, dict) and event.get("type") in _LIFECYCLE:
            return index, event
    return None


def outcome(record: Exchange) -> str:
    """What `record` showed on the wire."""
    if record.harness_error is not None:
        return "harness-error"
    if record.ending == "client-closed":
        return "left"
    if record.status is None:
        return "unresponsive"
    if record.status != 200:
        if record.ending in DEADLINE_ENDINGS:
            return "unresponsive"  # an error status whose body never ended: a client hangs
        return "cut" if record.ending == "too-large" else "refused"
    found = _last_lifecycle_frame(record)
    last = found[1]["type"] if found is not None else None
    ended = last in _TERMINAL
    if record.ending in DEADLINE_ENDINGS and not ended:
        return "unresponsive"
    if record.ending == "too-large":
        return "cut"
    if not ended:
        return "no-run"
    return "finished" if last == "RUN_FINISHED" else "run-error"


def unresponsive_hit(record: Exchange, mode: str) -> Hit:
    """The finding of an exchange with no answer, or a run cut at a deadline."""
    after = f"after {record.ended_at:.1f} s"
    what = "the run" if mode in ("run", "survival") else "the request"
    if record.ending == "unreachable":
        text = f"No connection could be made to the agent for {what}: {record.failure}."
    elif record.ending == "reset":
        text = (
            f"The connection failed before any answer to {what}, and again when it was sent "
            f"once more on a fresh connection: {record.failure}. The agent (or a proxy before "
            "it) closed the connection without answering."
        )
    elif record.status is None:
        text = f"No answer to {what}, not even the response headers, {after} (first-byte deadline)."
    elif record.status != 200:
        text = (
            f"The agent answered {record.status} but the body never ended; it was cut {after} "
            f"({record.ending}). A client waiting for the error body hangs as long."
        )
    elif not record.frames:
        text = (
            f"The agent answered {record.status} but sent no event; the stream was cut {after} "
            f"({record.ending})."
        )
    else:
        text = (
            f"The run started ({len(record.frames)} event(s)) but did not end: no RUN_FINISHED "
            f"or RUN_ERROR; the stream was cut {after} ({record.ending})."
        )
    return Hit("agent-unresponsive", None, text)


def run_error_message(event: dict[str, Any]) -> str:
    """A RUN_ERROR as a reader should see it: its message (clipped) and code."""
    message = event.get("message")
    shown = message[:300] if isinstance(message, str) else repr(message)[:300]
    code = event.get("code")
    return f"{shown!r}" + (f" (code {str(code)[:80]!r})" if code is not None else "")


def _last_lifecycle_frame(record: Exchange) -> tuple[int, dict[str, Any]] | None:
    """The last lifecycle event among the frames, with its index, decoding only candidates."""
    for frame in reversed(record.frames):
        if b"RUN_" not in frame.data:
            continue
        try:
            event = orjson.loads(frame.data)
        except orjson.JSONDecodeError:
            continue
        if isinstance(event, dict) and event.get("type") in _LIFECYCLE:
            return frame.index, event
    return None


def agent_error_hit(record: Exchange) -> Hit | None:
    """RUN_ERROR ending a run of a valid input: the agent's own failure, quoted."""
    last = _last_lifecycle_frame(record)
    if last is None or last[1].get("type") != "RUN_ERROR":
        return None
    index, event = last
    return Hit(
        "run-error-on-valid-input",
        index,
        f"The agent answered a valid input with RUN_ERROR: {run_error_message(event)}.",
    )


def case_status(result: CaseResult, fail_on: Level) -> tuple[str, str]:
    """The status `result` may claim from its evidence, and why (empty when passed)."""
    if result.status in ("not-applicable", "harness-error", "not-run"):
        return result.status, result.reason
    findings = result.findings
    bad = [f for f in findings if f.level.rank >= fail_on.rank]
    protocol = [f for f in bad if f.category not in APART]
    agent = [f for f in bad if f.category == AGENT_CATEGORY]
    unmet = [f for f in bad if f.category == CASE_CATEGORY]
    unresponsive = [f for f in findings if f.rule == "agent-unresponsive"]
    if unresponsive:
        return "failed", f"agent unresponsive: {unresponsive[0].message}"
    if any(run.outcome == "unresponsive" for run in result.runs) and not bad:
        return "failed", "agent unresponsive: an exchange got no complete answer"
    if protocol:
        return "failed", result.reason
    if agent:
        return "agent-error", f"the agent reported a failure: {agent[0].message}"
    if unmet:  # only a finished run meets or misses an expectation
        return "failed", f"expectation unmet: {unmet[0].message}"
    judged = [run.outcome for run in result.runs if run.outcome not in (None, "left")]
    if result.runs and not judged:
        return "inconclusive", "no exchange of this case was judged"
    if "cut" in judged:
        return "inconclusive", (
            "the harness stopped reading an answer (its size cap): no evidence either way"
        )
    if not result.runs and not result.exercised:
        return "inconclusive", "no exchange was made"
    return "passed", ""
