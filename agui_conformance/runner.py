"""The runner: one case against one agent -> transcripts -> findings.

Owns executing a case (its request, follow-up runs on the same thread,
concurrent copies, the survival check after a probe) and turning each HTTP
exchange into findings: the live checks (`live`) plus the validator over the
frames as they arrived. It knows nothing of files, pytest or report formats.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import orjson

from agui_conformance import differential, expectations, live, negotiation
from agui_conformance.cases import Case, Ids, NotExercised, build_body, follow_up
from agui_conformance.clip import MAX_MESSAGE, clip_text
from agui_conformance.evidence import agent_error_hit, case_status, outcome
from agui_conformance.exercise import StreamTokens, exchange_tokens, exercised
from agui_conformance.hits import Hit
from agui_conformance.model import CaseResult, Finding, Level, RunRecord, SentRequest
from agui_conformance.redact import scrub_result
from agui_conformance.transport import (
    Deadlines,
    Exchange,
    TimedFrame,
    event_times_ms,
    exchange,
    is_secret,
    new_client,
    summary,
)
from agui_conformance.validator import StreamValidator

SURVIVAL_REQUEST = {
    "messages": [{"id": "survival-check", "role": "user", "content": "hello"}],
}


@dataclass
class RunnerConfig:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    profile: str = "spec"
    deadlines: Deadlines = field(default_factory=Deadlines)
    auth_required: bool = False
    # the body bytes read per exchange: 16 MiB is far above any real run, and what is
    # kept of it (about 200 bytes per event) stays bounded with `concurrency` at once
    max_bytes: int = 16 << 20
    secret_headers: frozenset[str] = frozenset()
    header_env: dict[str, str] = field(default_factory=dict)  # header -> env var it came from
    concurrency: int = 4  # cases run at once (each case's own runs stay in order)
    behaviour: bool = False  # opt-in checks that judge model output (history honoured)
    # the binding the runs ask for (their Accept): sse | protobuf | both (each deterministic
    # case once more on protobuf, its event sequence compared: agui_conformance.bindings)
    binding: str = "sse"
    # wall-clock seconds the generated-inputs phase may spend: no example or shrink step is
    # sent after it (one in flight ends within its own deadlines)
    generated_budget: float = 300.0

    def binding_headers(self) -> dict[str, str]:
        """The headers every run sends: the configured ones, asking for the binding's
        `Accept` unless they name one themselves (both: SSE; the pair asks for protobuf)."""
        return with_accept(dict(self.headers), negotiation.accept_for(self.binding), keep=True)

    def auth_header_names(self) -> list[str]:
        return [h for h in self.headers if is_secret(h, self.secret_headers)]


def _events(record: Exchange) -> list[Any]:
    """The first frames decoded once (what a report keeps: at most `KEEP_EVENTS` of them
    and `KEEP_BYTES` of their payload); a frame that is not JSON as its text."""
    frames = record.frames[:KEEP_EVENTS]
    kept = 0
    for count, frame in enumerate(frames):
        kept += len(frame.data)
        if kept > KEEP_BYTES:
            frames = frames[:count]
            break
    return _decode(frames)


def _decode(frames: list[TimedFrame]) -> list[Any]:
    loads = orjson.loads
    try:
        return [loads(frame.data) for frame in frames]
    except orjson.JSONDecodeError:
        pass  # one frame at a time, to keep the others
    out = []
    for frame in frames:
        try:
            out.append(orjson.loads(frame.data))
        except orjson.JSONDecodeError:
            out.append(frame.data.decode("utf-8", "replace"))
    return out


def mode_of(record: Exchange, expect: str) -> str:
    """How an exchange is judged: a lenient probe that was served is judged as a run."""
    if expect == "lenient":
        return "run" if record.status == 200 else "reject"
    return expect


def _refused(hits: list[Hit], record: Exchange, refusal: str, request: Any) -> list[Hit]:
    """A tolerated input refused: the refusal rule replaces input-valid-rejected, and a run
    that ends in RUN_ERROR breaks it too; the message names what the input carried and
    whether an SDK's closed input model refused it (agui_conformance.refusal)."""
    from agui_conformance.refusal import describe

    out = []
    for hit in hits:
        if hit.rule == "input-valid-rejected":
            detail = repr(record.raw_prefix[:200].decode("utf-8", "replace"))
            answer = f"answered {record.status}: {detail}"
            out.append(Hit(refusal, hit.index, describe(answer, request, record.raw_prefix)))
        else:
            out.append(hit)
    if record.status == 200:
        for frame in record.frames:
            if b"RUN_ERROR" not in frame.data:
                continue
            try:
                event = orjson.loads(frame.data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(event, dict) and event.get("type") == "RUN_ERROR":
                said = repr(str(event.get("message"))[:200])
                message = describe(f"ended the run in RUN_ERROR: {said}", request, frame.data)
                out.append(Hit(refusal, frame.index, message))
                break
    return out


KEEP_EVENTS = 2_000  # decoded events a report keeps per exchange; the rest are counted
# ... and the payload bytes they may hold: 2,000 events of 8 KB, kept for each of a suite's
# ~60 exchanges, made a report of 1 GB (an endless agent of 8 KB deltas: 2.7 GB RSS, then a
# MemoryError and no report; with 256 KiB: 322 MB and the report)
KEEP_BYTES = 256 << 10
BATCH = 8_192  # frames decoded and validated at a time beyond those kept


def judge(
    record: Exchange,
    request: Any,
    expect: str,
    profile: str,
    refusal: str | None = None,
    events: list[Any] | None = None,
    skip: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Findings for one exchange under the case's expectation; `refusal`: the rule a
    refusal of this (valid, tolerated) input breaks; `events`: the first frames already
    decoded by `_events` (each frame is parsed once per exchange); `skip`: rules not judged
    here (`not_judged`)."""
    findings = _judge(record, request, expect, profile, refusal, events)[0]
    return [f for f in findings if f.rule not in skip]


def not_judged(case: Case, watch: Watch) -> frozenset[str]:
    """The rules a case's exchanges are not judged by: the case's own `not_applied`, and the
    probe rules that the agent's answer to the valid baseline makes meaningless
    (`live.not_judged`)."""
    return frozenset(case.not_applied) | live.not_judged(watch.baseline_status)


def _drop(result: CaseResult, skip: frozenset[str]) -> None:
    """Every run of `result` without the findings of `skip`, which none of them exercised."""
    for run in result.runs:
        run.findings = [f for f in run.findings if f.rule not in skip]
        run.exercised = [rule for rule in run.exercised if rule not in skip]


def _judge(
    record: Exchange,
    request: Any,
    expect: str,
    profile: str,
    refusal: str | None,
    events: list[Any] | None,
) -> tuple[list[Finding], set[str] | None]:
    """The findings, and the stream's trigger tokens when its events were validated (every
    event seen once, in batches: memory stays bounded however long the stream)."""
    if record.harness_error is not None:
        return [], None
    mode = mode_of(record, expect)
    if mode == "survival":
        checker = StreamValidator(profile=profile)
        checker.add_hits(live.check_exchange(record, "survival"))
        return checker.result().findings, None
    validator = StreamValidator(
        request=request if mode == "run" else None,
        profile=profile,
        framing="sse",
        check_request=False,
    )
    live_mode: live.Expect = (
        "run" if mode == "run" else ("reject" if mode == "reject" else "unauthorized")
    )
    hits = live.check_exchange(record, live_mode)
    prefix = events if events is not None else []
    if len(prefix) > len(record.frames):
        prefix = []
    if refusal is not None and mode == "run":
        hits = _refused(hits, record, refusal, request)
    elif expect == "run" and record.status == 200:
        error = agent_error_hit(record)
        if error is not None:
            hits.append(error)  # the agent's own failure: its own status, not a violation
    validator.add_hits(hits)
    tokens: set[str] | None = None
    # protobuf frames under another media type: no SSE to read (negotiation says so)
    if mode == "run" and record.status == 200 and not negotiation.framed_unlabelled(record):
        # one StreamTokens across the batches: a second run, or an item opened again, in a
        # later batch than its first is seen (`multi-run`, `reopen:*`)
        seen = StreamTokens()
        frames = record.frames
        done = len(prefix)
        if done:
            _feed(validator, frames[:done], prefix)
            seen.add(prefix)
        while done < len(frames):
            batch = frames[done : done + BATCH]
            decoded = _decode(batch)
            _feed(validator, batch, decoded)
            seen.add(decoded)
            done += len(batch)
        tokens = seen.tokens
        validator.add_hits(record.framing)
        if completed(record) and not record.stopped:
            # a body we cut (deadline, cap) is not judged as truncated, nor one whose
            # reading a fatal framing finding ended (its end was never seen)
            validator.close()
    return validator.result().findings, tokens


def _feed(validator: StreamValidator, frames: list[TimedFrame], decoded: list[Any] | None) -> None:
    """Every frame into the validator: runs of decoded objects at consecutive indexes in
    one batch; an undecodable frame, or one that is not an object, through the payload
    path, which names the problem."""
    if decoded is None:
        for frame in frames:
            validator.feed_payload(frame.data, frame.index)
        return
    if frames and set(map(type, decoded)) == {dict}:
        base = frames[0].index
        if [frame.index for frame in frames] == list(range(base, base + len(frames))):
            validator.feed_events(decoded, base)  # the usual case: one batch
            return
    start = 0
    while start < len(frames):
        end = start
        while (
            end < len(frames)
            and type(decoded[end]) is dict
            and frames[end].index == frames[start].index + (end - start)
        ):
            end += 1
        if end > start:
            validator.feed_events(decoded[start:end], frames[start].index)
            start = end
        else:
            validator.feed_payload(frames[start].data, frames[start].index)
            start += 1


async def _send(
    cfg: RunnerConfig,
    client: httpx.AsyncClient,
    body: bytes,
    case: Case,
    watch: Watch,
    stop_after: int | None = None,
    accept: str | None = None,
) -> Exchange:
    """One exchange of `case`: its auth variant, its headers, and the `Accept` of the run's
    binding (`accept`, or the configured binding's, unless a header given names one)."""
    watch.check()
    headers = cfg.binding_headers()
    if case.auth == "omit":
        for name in cfg.auth_header_names():
            headers.pop(name, None)
    elif case.auth == "wrong":
        for name in cfg.auth_header_names():
            headers[name] = headers[name] + "-wrong"
    headers.update(case.headers)
    if accept is not None:
        headers = with_accept(headers, accept)
    record = await exchange(
        cfg.url,
        body,
        headers=headers,
        deadlines=cfg.deadlines,
        max_bytes=cfg.max_bytes,
        secret_headers=cfg.secret_headers,
        client=client,
        stop_after=stop_after,
    )
    watch.saw(record)
    return record


def with_accept(headers: dict[str, str], accept: str, keep: bool = False) -> dict[str, str]:
    """`headers` asking with `accept` (whatever the case of an `Accept` already there);
    `keep`: an `Accept` already there stays (the user's own header wins)."""
    named = [name for name in headers if name.lower() == "accept"]
    if named and keep:
        return headers
    for name in named:
        del headers[name]
    headers["Accept"] = accept
    return headers


def _record(
    record: Exchange,
    request: Any,
    body: bytes,
    findings: list[Finding],
    expect: str | None,
    events: list[Any] | None = None,
    stream: set[str] | None = None,
) -> RunRecord:
    """The report's view of one exchange; `expect` None: not judged (a cut stream).
    `events`: the kept prefix (`_events`); `stream`: the trigger tokens of every event,
    when `_judge` computed them."""
    events = _events(record) if events is None else events
    covered: list[str] = []
    if expect is not None and completed(record):
        mode = mode_of(record, expect)
        served = negotiation.served(record)
        admitted = negotiation.admits_protobuf(negotiation.request_accept(record))
        tokens = exchange_tokens(mode, record.status, events, request, stream, served, admitted)
        covered = exercised(tokens)
    return RunRecord(
        request=SentRequest.sent(request, body),
        requestHeaders=record.request_headers,
        status=record.status,
        responseHeaders=record.response_headers,
        timing=summary(record),
        events=events,
        eventTimesMs=event_times_ms(record)[: len(events)],
        eventsOmitted=len(record.frames) - len(events),
        findings=findings,
        harnessError=record.harness_error,
        exercised=covered,
        outcome=outcome(record),
    )


def examine(
    record: Exchange,
    request: Any,
    body: bytes,
    expect: str,
    profile: str,
    refusal: str | None = None,
) -> tuple[RunRecord, list[Any]]:
    """Judge one exchange and build its record: the kept events decoded once, the rest
    validated in batches and counted. Returns the record and the kept events (for a
    follow-up built from them)."""
    kept = _events(record)
    findings, stream = _judge(record, request, expect, profile, refusal, kept)
    return _record(record, request, body, findings, expect, kept, stream), kept


def completed(record: Exchange) -> bool:
    """Answered, and the answer complete (a run that ended, a refusal, or a body the agent
    closed): only such an exchange exercises a rule."""
    return outcome(record) in ("finished", "run-error", "refused", "no-run")


UNANSWERED_LIMIT = 4  # exchanges in a row with no answer before the suite stops early


class Watch:
    """What the suite has seen of the agent so far. Fail fast on an agent that answers
    nothing: once `limit` exchanges in a row (in the order they ended, the minimal valid
    run among the first) got no answer or were cut at a deadline, the cases not yet started
    are not run; any answer resets the count. And the survival baseline: the outcome of the
    minimal valid run sent once before any probe, which the check after each probe is
    compared with. And `maxfail` (`run -x N`): once N cases failed (failed or
    agent-error, in the order they ended), the cases not yet started are not run."""

    def __init__(self, limit: int = UNANSWERED_LIMIT, maxfail: int | None = None) -> None:
        self.limit = limit
        self.unanswered = 0
        self.tripped = False
        self.maxfail = maxfail
        self.failed = 0
        self.stopped_by_maxfail = False
        self.baseline: str | None = None
        self.baseline_status: int | None = None  # the HTTP status the baseline got

    def saw(self, record: Exchange) -> None:
        if record.harness_error is not None or record.ending == "client-closed":
            return
        if outcome(record) == "unresponsive":
            self.unanswered += 1
            self.tripped = self.tripped or self.unanswered >= self.limit
        else:
            self.unanswered = 0

    def judged(self, result: CaseResult) -> None:
        """A case's verdict: counted against `maxfail`."""
        if self.maxfail is None or result.status not in ("failed", "agent-error"):
            return
        self.failed += 1
        if self.failed >= self.maxfail and not self.tripped:
            self.tripped = self.stopped_by_maxfail = True

    def check(self) -> None:
        if self.tripped:
            raise Stopped(self.reason)

    @property
    def reason(self) -> str:
        if self.stopped_by_maxfail:
            return (
                f"not run: --maxfail {self.maxfail} reached ({self.failed} cases failed; "
                "the suite stopped early)"
            )
        return (
            f"not run: agent unresponsive ({self.limit} exchanges in a row got no answer "
            "before the deadlines; the suite stopped early)"
        )


class Stopped(Exception):
    """The suite stopped early: the agent answers nothing."""


def not_run(case: Case, reason: str) -> CaseResult:
    return CaseResult(
        id=case.id,
        title=case.title,
        requirements=case.requirements,
        expect=case.expect,
        status="not-run",
        reason=reason,
    )


async def run_case(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch | None = None
) -> CaseResult:
    watch = watch or Watch()
    result = CaseResult(
        id=case.id,
        title=case.title,
        requirements=case.requirements,
        expect=case.expect,
        status="passed",
    )
    if case.needs == "auth" and not (cfg.auth_required and cfg.auth_header_names()):
        result.status = "not-applicable"
        result.reason = (
            "the agent was not declared to require auth (--auth-required with an auth header)"
        )
        return result
    one = _one_thread
    if case.behaviour is not None:  # a scenario of its own (agui_conformance.behaviour_runs)
        from agui_conformance.behaviour_runs import run as one
    copies = await asyncio.gather(*(one(case, cfg, client, watch) for _ in range(case.concurrent)))
    for runs, skipped in copies:
        result.runs.extend(runs)
        if skipped == STOPPED:
            if not any(run.outcome == "unresponsive" for run in result.runs):
                result.status, result.reason = "not-run", watch.reason
        elif skipped:
            result.status = "not-applicable"
            result.reason = skipped
    if case.run_error is not None:  # the case's own agent rule names its RUN_ERROR
        from agui_conformance.behaviour import run_error_findings

        for run in result.runs:
            run_error_findings(run, case.run_error, cfg.profile, case.title)
    if cfg.binding == "both" and result.status == "passed":
        from agui_conformance import bindings

        if bindings.comparable(case):
            with contextlib.suppress(Stopped):  # what was sent before the stop stays judged
                await bindings.pair(case, cfg, client, watch, result)
    if case.differential and result.status == "passed":
        with contextlib.suppress(Stopped):  # what was sent before the stop stays judged
            await _differential(case, cfg, client, watch, result)
    answered = result.runs and result.runs[-1].outcome != "unresponsive"
    if case.expect in ("reject", "lenient") and answered and result.status == "passed":
        with contextlib.suppress(Stopped):  # the probe was judged; only the check after it
            await _survival(result, cfg, client, watch)
    skip = not_judged(case, watch)
    if skip:
        _drop(result, skip)
    if any(run.harnessError for run in result.runs):
        result.status = "harness-error"
        result.reason = next(r.harnessError for r in result.runs if r.harnessError) or ""
    return result


STOPPED = "\0stopped"  # _one_thread's reason when the suite stopped early


async def _one_thread(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch
) -> tuple[list[RunRecord], str | None]:
    """The case's runs on one thread, and why it was not exercised (None if it was)."""
    runs: list[RunRecord] = []
    try:
        return runs, await _thread_runs(case, cfg, client, watch, runs)
    except Stopped:
        return runs, STOPPED


async def _thread_runs(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch, runs: list[RunRecord]
) -> str | None:
    ids = Ids()
    request, body = build_body(case, ids)
    if case.disconnect_after is not None:
        # A client leaving mid-stream: nothing to judge in the cut stream (a truncated run
        # on our side, not the agent's fault); the agent must serve the next run.
        cut = await _send(cfg, client, body, case, watch, stop_after=case.disconnect_after)
        runs.append(_record(cut, request, body, [], None))
        if cut.harness_error is not None:
            return None
        if cut.ending != "client-closed":
            # the stream ended before we could leave it: judge it as the case's run
            findings = judge(cut, request, case.expect, cfg.profile)
            runs[-1] = _record(cut, request, body, findings, case.expect)
            expectations.apply(case.expectations(), runs[-1], cut, request, cfg.profile)
            return None
        request, body = build_body(case, ids)
    record = await _send(cfg, client, body, case, watch)
    run, events = examine(record, request, body, case.expect, cfg.profile, case.refusal)
    expectations.apply(case.expectations(), run, record, request, cfg.profile)
    runs.append(run)
    if case.refusal is not None and completed(record):  # the tolerated input was answered
        runs[-1].exercised += exercised({f"refusal:{case.refusal}"})
    for step in case.then:
        if request is None or runs[-1].outcome != "finished":
            break  # a follow-up continues a run that finished
        try:
            request = follow_up(step, request, [e for e in events if isinstance(e, dict)], ids)
        except NotExercised as why:
            return str(why)
        body = orjson.dumps(request)
        record = await _send(cfg, client, body, case, watch)
        run, events = examine(record, request, body, "run", cfg.profile)
        runs.append(run)
    return None


async def _differential(
    case: Case, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch, result: CaseResult
) -> None:
    """Absent is empty (agui_conformance.differential): the case's run left each member out;
    send it again with each member empty, on a fresh thread, and compare the outcome kinds.
    A difference is sent once more (both sides) before it counts. Every exchange is kept
    and judged as a run; the finding goes on the side that failed."""

    async def one(member: str | None) -> RunRecord:
        request, _ = build_body(case, Ids())
        assert request is not None  # a differential case has a request (Case checks it)
        if member is not None:
            request = differential.with_empty(request, member)
        body = orjson.dumps(request)
        record = await _send(cfg, client, body, case, watch)
        result.runs.append(examine(record, request, body, "run", cfg.profile)[0])
        return result.runs[-1]

    absent = result.runs[0]
    for member in case.differential:
        pairs = [(absent, await one(member))]
        if differential.failing(*differential.sides(*pairs[0])) is not None:
            pairs.append((await one(None), await one(member)))
        sides = [differential.sides(*pair) for pair in pairs]
        for (_, empty), compared in zip(pairs, sides, strict=True):
            if differential.compared(*compared):
                empty.exercised += exercised({"differential"})
        found = differential.judge(member, sides)
        if found is not None:
            hit, direction = found
            failed = [pair[0 if direction == "absent" else 1] for pair in pairs]
            for run in failed:  # each failed run's own finding names the likely cause
                _note(run, differential.likely_cause(member, direction))
            checker = StreamValidator(profile=cfg.profile)
            checker.add_hits([hit])
            failed[0].findings.extend(checker.result().findings)


def _note(run: RunRecord, note: str) -> None:
    """`note` added to the run's own failure findings (differential.FAILURE_RULES); the
    message is cut before the note, never the note (a message stays in MAX_MESSAGE)."""
    room = MAX_MESSAGE - len(note)
    run.findings = [
        replace(f, message=clip_text(f.message, room) + note)
        if f.rule in differential.FAILURE_RULES
        else f
        for f in run.findings
    ]


async def _survival_exchange(
    cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch
) -> tuple[dict[str, Any], Exchange]:
    """The minimal valid run the check after a probe sends (and the baseline before)."""
    watch.check()
    ids = Ids()
    request = {"threadId": ids.thread, "runId": ids.fresh("run"), **SURVIVAL_REQUEST}
    record = await exchange(
        cfg.url,
        orjson.dumps(request),
        headers=cfg.binding_headers(),
        deadlines=cfg.deadlines,
        client=client,
        secret_headers=cfg.secret_headers,
    )
    watch.saw(record)
    return request, record


async def survival_baseline(cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch) -> None:
    """Send the survival check once before any probe: its outcome is what each check after
    a probe is compared with (an agent failing it already is not broken by a probe)."""
    with contextlib.suppress(Stopped):
        _, record = await _survival_exchange(cfg, client, watch)
        if record.harness_error is None:
            watch.baseline = outcome(record)
            watch.baseline_status = record.status


async def _survival(
    result: CaseResult, cfg: RunnerConfig, client: httpx.AsyncClient, watch: Watch
) -> None:
    _, record = await _survival_exchange(cfg, client, watch)
    if record.harness_error is None:
        checker = StreamValidator(profile=cfg.profile)
        checker.add_hits(live.check_exchange(record, "survival", watch.baseline))
        result.runs[-1].findings.extend(checker.result().findings)
        if completed(record):
            result.runs[-1].exercised.extend(exercised(exchange_tokens("survival", record.status)))


def verdict(result: CaseResult, fail_on: Level) -> CaseResult:
    """The case's status from its evidence (agui_conformance.evidence.case_status)."""
    result.status, result.reason = case_status(result, fail_on)
    return result


async def run_suite(
    cases: list[Case],
    cfg: RunnerConfig,
    fail_on: Level = Level.ERROR,
    on_result: Callable[[CaseResult], None] | None = None,
    watch: Watch | None = None,
) -> list[CaseResult]:
    """Run `cases`, `cfg.concurrency` at a time (each case's own runs stay in order);
    `on_result` sees each result in case order, as soon as it and those before it are
    known. Once the agent has answered nothing `watch.limit` times in a row, the cases
    not yet started are `not-run`."""
    watch = watch or Watch()
    gate = asyncio.Semaphore(max(1, cfg.concurrency))
    pool = max(20, 4 * cfg.concurrency)

    async def one(case: Case, client: httpx.AsyncClient) -> CaseResult:
        async with gate:
            if watch.tripped:
                return not_run(case, watch.reason)
            started = time.perf_counter()
            result = verdict(await run_case(case, cfg, client, watch), fail_on)
            watch.judged(result)
            scrub_result(result, cfg.url, cfg.headers, cfg.secret_headers)  # before anyone sees
            result.durationMs = round((time.perf_counter() - started) * 1000, 1)
            return result

    async with new_client(cfg.deadlines, max_connections=pool) as client:
        if watch.baseline is None and any(c.expect in ("reject", "lenient") for c in cases):
            await survival_baseline(cfg, client, watch)
        tasks = [asyncio.ensure_future(one(case, client)) for case in cases]
        results = []
        try:
            for task in tasks:
                result = await task
                results.append(result)
                if on_result is not None:
                    on_result(result)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return results


def curl_reproducer(cfg: RunnerConfig, body: bytes) -> str:
    """A shell command that replays `body` with the headers the run sent (its binding's
    `Accept` included); secret header values come from env vars."""
    from agui_conformance.reproduce import curl_command

    text = body.decode("utf-8", "replace")
    headers = cfg.binding_headers()
    return curl_command(cfg.url, text, headers, cfg.secret_headers, env=cfg.header_env)
