"""The judging side of the proxy: ended exchanges in, judged cases and a report out.

Runs in a thread of its own, reading the taps the forwarder ended (`tap.Ended`). Each tap
becomes the same `transport.Exchange` the runner records (frames with their arrival times,
read by the parser the answer's Content-Type selects, `transport.reader_for`: SSE, or the
protobuf binding's frames; framing hits; how the body ended), and is judged by the runner's
own engine (`runner.examine`: the live checks, the validator, the trigger tokens, the
outcome), with the RunAgentInput the front end really sent and the Accept it sent with it.
Keeps the last `keep` cases (bounded memory), counts what it could not judge, and builds a
`Report` for the report writers. Knows nothing of sockets: the forwarder (`proxy.app`)
owns them.
"""

from __future__ import annotations

import asyncio
import pickle
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from agui_conformance.headers import media_type
from agui_conformance.model import CaseResult, Level, Report, ToolInfo
from agui_conformance.protobuf import MEDIA_TYPE as PROTOBUF
from agui_conformance.proxy.child import JudgeChild, JudgeFailed, Settings
from agui_conformance.proxy.tap import Budget, Ended, Tap
from agui_conformance.redact import printable, redact_headers, redact_url, scrub_result
from agui_conformance.schema import get_checker
from agui_conformance.transport import AGENT_ENDINGS, Exchange, framed, reader_for

KEEP = 200  # cases kept for the live page and the report (the oldest go first)
RUN_KEYS = ("threadId", "runId", "messages")
_CODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def parsed_request(tap: Tap) -> Any:
    """The JSON the front end sent (None: no body, too large to keep, or not JSON)."""
    if not tap.request_body or not tap.request_complete:
        return None
    try:
        return orjson.loads(bytes(tap.request_body))
    except orjson.JSONDecodeError:
        return None


def kind_of(tap: Tap, request: Any) -> str:
    """`run` (an AG-UI run over SSE: judged), `protobuf` (a run over the protobuf binding:
    judged, and counted) or `other` (traffic that is no run: a GET, a POST of something
    else)."""
    content_type = media_type(tap.response_headers.get("content-type", ""))
    if tap.method != "POST":
        return "other"
    if content_type == PROTOBUF:
        return "protobuf"
    looks_like_input = isinstance(request, dict) and any(k in request for k in RUN_KEYS)
    if looks_like_input or content_type == "text/event-stream":
        return "run"
    return "other"


def _decoded(tap: Tap) -> list[tuple[float, bytes]] | str:
    """The kept chunks as a client decodes them, or why they cannot be."""
    coding = tap.response_headers.get("content-encoding", "").strip().lower()
    if coding in ("", "identity"):
        return tap.chunks
    wbits = _CODINGS.get(coding)
    if wbits is None:
        return f"the answer's Content-Encoding {coding!r} is not decoded by the proxy"
    inflater = zlib.decompressobj(wbits)
    try:
        return [(at, inflater.decompress(chunk)) for at, chunk in tap.chunks]
    except zlib.error as err:
        return f"the answer's Content-Encoding {coding} could not be decoded ({err})"


def to_exchange(tap: Tap, url: str, chunks: list[tuple[float, bytes]]) -> Exchange:
    """The exchange as the runner's transport would have recorded it: frames with their
    arrival times (seconds since the request reached the proxy), framing hits, the longest
    silence while the run was active, and how the body ended."""
    record = Exchange(
        url=url,
        request_headers=redact_headers(tap.request_headers),
        body=bytes(tap.request_body),
        status=tap.status,
        response_headers=redact_headers(tap.response_headers),
    )
    parser = reader_for(tap.response_headers.get("content-type", ""))
    frames = record.frames
    terminal = False
    last = silence = 0.0
    after: int | None = None
    prefix = bytearray()
    for at, chunk in chunks:
        now = at - tap.started
        if record.first_byte_at is None:
            record.first_byte_at = now
        elif not terminal and now - last > silence:
            silence, after = now - last, (len(frames) - 1 if frames else None)
        last = now
        if len(prefix) < 4096:
            prefix += chunk[: 4096 - len(prefix)]
        terminal = framed(parser.feed(chunk), record, now, terminal)
    record.raw_prefix = bytes(prefix)
    record.stopped = bool(getattr(parser, "stopped", False))
    record.size = tap.size
    record.silence, record.silence_after = silence, after
    record.ended_at = max(tap.ended_at - tap.started, 0.0)
    record.failure = tap.failure
    ending = tap.ending
    if ending == "client-closed" and terminal:
        ending = "complete"  # the front end left once the run had ended: the run is whole
    record.ending = ending
    if ending in AGENT_ENDINGS:  # the body's end is the agent's: so is its last partial frame
        framed(parser.close(), record, record.ended_at, terminal)
    return record


def _clip(text: object, limit: int = 80) -> str:
    shown = printable(str(text))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def request_problems(request: Any) -> list[str]:
    """What the schema says is wrong with the front end's RunAgentInput (the front end's
    doing, not the agent's: reported beside the case, never as the agent's finding)."""
    if request is None:
        return []
    return [hit.message for hit in get_checker().check_input(request)]


class Book:
    """Judges ended exchanges in its own thread and keeps the last `keep` cases."""

    def __init__(
        self,
        upstream: str,
        *,
        profile: str = "spec",
        fail_on: Level = Level.ERROR,
        agent_headers: Mapping[str, str] | None = None,
        keep: int = KEEP,
        budget: Budget | None = None,
        on_line: Callable[[str], None] | None = None,
        command: str = "",
        process: bool = False,
    ) -> None:
        self.upstream = upstream
        self.profile = profile
        self.fail_on = fail_on
        self.agent_headers = dict(agent_headers or {})
        self.budget = budget or Budget()
        self.ended = Ended()
        # the last `keep` cases, pickled: bytes the collector never scans (as objects, a
        # few thousand per case, every young collection of the forwarder's process walked
        # them, a pause each stream paid); rebuilt for the page and the report
        self._kept: deque[bytes] = deque(maxlen=keep)
        self.counts: Counter[str] = Counter()  # judged, dropped, protobuf, other, failed-to-judge
        self.on_line = on_line
        self.command = command
        self.started = datetime.now(UTC)
        self._clock = time.perf_counter()
        self._lock = threading.Lock()
        self._serial = 0
        self._thread: threading.Thread | None = None
        self.handed = 0  # exchanges handed over by the forwarder (its thread only)
        self.done = 0  # exchanges the judging thread has finished with (its thread only)
        # judging in a child process (`proxy.child`), so the forwarder keeps the GIL
        self._child: JudgeChild | None = None
        if process:
            settings = Settings(upstream, profile, fail_on, self.agent_headers)
            self._child = JudgeChild(settings)

    # ------------------------------------------------------------ the thread

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="agui-proxy-judge", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Judge what has ended (within `timeout` seconds), then stop the thread."""
        self.ended.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def hand_over(self, tap: Tap) -> None:
        """An ended exchange, from the forwarder: never blocks."""
        self.handed += 1
        self.ended.put(tap)

    async def settled(self, limit: float = 2.0) -> None:
        """Wait (up to `limit` seconds) until every exchange handed over so far is judged: a
        page asked for right after a run shows it."""
        target, waited = self.handed, 0.0
        while self.done < target and waited < limit:
            await asyncio.sleep(0.01)
            waited += 0.01

    def _loop(self) -> None:
        if self._child is not None:
            try:
                self._child.start()
            except JudgeFailed as err:  # judged here instead, in this thread
                self._child = None
                self._say(f"proxy: judging in this process ({err})")
        try:
            self._judge_until_closed()
        finally:
            if self._child is not None:
                self._child.close()

    def _judge_until_closed(self) -> None:
        while (tap := self.ended.items.get()) is not None:
            try:
                self.take(tap)
            except Exception as err:  # our own failure: counted and said, traffic unharmed
                self.counts["failed-to-judge"] += 1
                self._say(f"proxy: could not judge an exchange ({type(err).__name__}: {err})")
            finally:
                self.budget.give_back(tap.kept)
                tap.chunks = []
                self.done += 1

    # ------------------------------------------------------------ one exchange

    def take(self, tap: Tap) -> bool:
        """Judge `tap`, keep its case and say its line; False for traffic that is no run."""
        if self._child is not None:
            judged = self._child.judge(tap, self._serial)
            self._serial = judged.serial
            self.counts.update(judged.counts)
            data, line = judged.case, judged.line
        else:
            case = self.judge(tap)
            data = None if case is None else pickle.dumps(case, pickle.HIGHEST_PROTOCOL)
            line = None if case is None else self.line(case)
        if data is None:
            self.counts["other"] += 1
            return False
        with self._lock:
            self._kept.append(data)
        if line is not None:
            self._say(line)
        return True

    @property
    def cases(self) -> list[CaseResult]:
        """The cases kept, oldest first (each call builds them anew from the kept bytes)."""
        with self._lock:
            kept = list(self._kept)
        return [pickle.loads(data) for data in kept]

    def judge(self, tap: Tap) -> CaseResult | None:
        from agui_conformance.runner import examine, verdict

        request = parsed_request(tap)
        kind = kind_of(tap, request)
        if kind == "other":
            return None
        with self._lock:
            self._serial += 1
            serial = self._serial
        case = CaseResult(
            id=f"proxy-{serial}",
            title=self._title(tap, request),
            requirements=[],
            expect="run",
            status="passed",
        )
        problems = request_problems(request) if isinstance(request, dict) else []
        if isinstance(request, dict) and problems:
            case.expect = "lenient"  # served: judged as a run; refused: as a refusal
        chunks = _decoded(tap)
        why = None
        if kind == "protobuf":
            self.counts["protobuf"] += 1  # judged as any run; counted apart
        if tap.dropped:
            self.counts["dropped"] += 1
            why = (
                "not judged: the validator fell behind (the proxy's judging budget of "
                f"{self.budget.limit >> 20} MiB was full); the bytes were forwarded untouched"
            )
        elif isinstance(chunks, str):
            why = f"not judged: {chunks}"
        if why is not None:
            case.status = "inconclusive"
            case.reason = why
            return self._scrub(case, tap)
        assert not isinstance(chunks, str)
        url = redact_url(self._target(tap.path))
        record = to_exchange(tap, url, chunks)
        body = bytes(tap.request_body)
        shown = request if isinstance(request, dict) else None
        run, _ = examine(record, shown, body, case.expect, self.profile)
        case.runs.append(run)
        case.durationMs = round(record.ended_at * 1000, 1)
        verdict(case, self.fail_on)
        if problems:
            note = f"the front end's RunAgentInput does not match the schema: {problems[0]}"
            case.reason = f"{case.reason}; {note}" if case.reason else note
        self.counts["judged"] += 1
        return self._scrub(case, tap)

    def _scrub(self, case: CaseResult, tap: Tap) -> CaseResult:
        headers = {**tap.request_headers, **self.agent_headers}
        return scrub_result(case, self.upstream, headers)

    def _target(self, path: str) -> str:
        return self.upstream if path in ("", "/") else self.upstream.rstrip("/") + path

    def _title(self, tap: Tap, request: Any) -> str:
        thread = run = "?"
        if isinstance(request, dict):
            thread, run = _clip(request.get("threadId", "?"), 60), _clip(request.get("runId", "?"))
        agent = _clip(tap.request_headers.get("user-agent", "(no User-Agent)"), 120)
        return f"thread {thread} · run {run} · {tap.method} {_clip(tap.path)} · from {agent}"

    def line(self, case: CaseResult) -> str:
        """One printable line per exchange: when, verdict, thread and run, rule ids, client."""
        ranked = sorted(
            {(f.level.rank, f.rule) for run in case.runs for f in run.findings}, reverse=True
        )
        rules = ",".join(rule for _, rule in ranked) or "-"
        when = datetime.now(UTC).strftime("%H:%M:%S")
        reason = f"  ({case.reason})" if case.status != "passed" and case.reason else ""
        return printable(f"{when} {case.status.upper():<14} {case.title}  rules: {rules}{reason}")

    def _say(self, text: str) -> None:
        if self.on_line is not None:
            self.on_line(text)

    # ------------------------------------------------------------ the report

    def report(self) -> Report:
        """What was judged so far as a report (the last `keep` cases), with a note of what
        was not judged."""
        from agui_conformance import __version__
        from agui_conformance.matrix import requirements, summarize

        cases = self.cases
        unjudged = self.counts["dropped"] + self.counts["failed-to-judge"]
        if unjudged:
            cases.append(
                CaseResult(
                    id="proxy-not-judged",
                    title="Exchanges the proxy forwarded but could not judge",
                    requirements=[],
                    expect="run",
                    status="inconclusive",
                    reason=f"{self.counts['dropped']} dropped (the validator fell behind), "
                    f"{self.counts['failed-to-judge']} failed to judge",
                )
            )
        reqs = requirements(cases, self.profile, self.fail_on)
        return Report(
            tool=ToolInfo(version=__version__),
            target=redact_url(self.upstream),
            profile=self.profile,
            failOn=self.fail_on.value,
            startedAt=self.started.isoformat(timespec="seconds"),
            durationS=round(time.perf_counter() - self._clock, 3),
            command=self.command,
            summary=summarize(cases, reqs),
            requirements=reqs,
            cases=cases,
        )
