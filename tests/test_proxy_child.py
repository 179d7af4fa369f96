"""The proxy's judging child process (`proxy.child`): it judges as the in-process judge
does, and when it dies, hangs or cannot start, the exchange is counted as not judged (or
judged in the proxy's own process) and the next one is judged again."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from typing import Any

import orjson
import pytest

from agui_conformance.model import Level
from agui_conformance.proxy import book as book_module
from agui_conformance.proxy.book import Book
from agui_conformance.proxy.child import JudgeChild, JudgeFailed, Settings
from agui_conformance.proxy.tap import Budget, Tap
from agui_conformance.report.json_report import report_to_json
from tests.hostile_agents import conformant_run, sse

UPSTREAM = "http://127.0.0.1:9/agent?key=q-secret-4242"
SECRET = "Bearer tok-secret-5151"


def _tap(run: str, *, drop_last: bool = False, echo_secret: bool = False) -> Tap:
    request: dict[str, Any] = {
        "threadId": "thread-1",
        "runId": run,
        "messages": [{"id": "user-1", "role": "user", "content": "hello"}],
    }
    tap = Tap("POST", "/", {"authorization": SECRET, "user-agent": "front-end/1"})
    tap.add_request(orjson.dumps(request))
    tap.status = 200
    tap.response_headers = {"content-type": "text/event-stream"}
    events = conformant_run(request)
    if drop_last:
        events = events[:-1]  # no RUN_FINISHED: the run never ends
    if echo_secret:
        events.insert(1, {"type": "CUSTOM", "name": "echo", "value": SECRET})
    budget = Budget()
    for event in events:
        tap.add(sse(event), budget)
    tap.end("complete")
    return tap


def _settings() -> Settings:
    return Settings(UPSTREAM, "spec", Level.ERROR, {"authorization": SECRET})


def _shape(case: Any) -> tuple[Any, ...]:
    rules = sorted((f.rule, f.level.value, f.message) for run in case.runs for f in run.findings)
    return (case.id, case.title, case.status, case.reason, rules, case.runs[0].events)


def _wait_done(book: Book, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while book.done < count:
        assert time.monotonic() < deadline, f"{book.done} of {count} exchanges judged"
        time.sleep(0.02)


def _one_exchange_judged() -> tuple[Book, list[str]]:
    """A book judging in a child process, started, handed one run, stopped; and its lines."""
    lines: list[str] = []
    book = Book(UPSTREAM, process=True, on_line=lines.append)
    book.start()
    try:
        book.hand_over(_tap("run-1"))
        _wait_done(book, 1)
    finally:
        book.stop()
    return book, lines


def test_the_child_judges_as_the_proxy_s_own_process_does() -> None:
    here, there = Book(UPSTREAM), Book(UPSTREAM, process=True)
    try:
        for tap in (_tap("run-ok"), _tap("run-cut", drop_last=True)):
            assert here.take(tap) and there.take(tap)
        first, second = there.cases
        assert first.status == "passed" and second.status == "failed"
        assert [_shape(c) for c in there.cases] == [_shape(c) for c in here.cases]
        assert there.counts == here.counts == {"judged": 2}
    finally:
        assert there._child is not None
        there._child.close()


def test_what_the_child_judged_shows_no_secret() -> None:
    book = Book(UPSTREAM, agent_headers={"authorization": SECRET}, process=True)
    lines: list[str] = []
    book.on_line = lines.append
    try:
        assert book.take(_tap("run-echo", echo_secret=True))
    finally:
        assert book._child is not None
        book._child.close()
    shown = report_to_json(book.report()) + "\n".join(lines)
    assert "tok-secret-5151" not in shown and "q-secret-4242" not in shown
    assert "run-echo" in shown and lines


def test_a_child_that_dies_is_counted_and_started_again() -> None:
    lines: list[str] = []
    book = Book(UPSTREAM, process=True, on_line=lines.append)
    book.start()
    try:
        book.hand_over(_tap("run-1"))
        _wait_done(book, 1)
        child = book._child
        assert child is not None and child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        book.hand_over(_tap("run-2"))  # sent to the dead child: not judged
        _wait_done(book, 2)
        book.hand_over(_tap("run-3"))  # a new child judges it
        _wait_done(book, 3)
    finally:
        book.stop()
    assert book.counts["failed-to-judge"] == 1 and book.counts["judged"] == 2
    assert [c.runs[0].request.input["runId"] for c in book.cases] == ["run-1", "run-3"]
    assert any("could not judge" in line and "died" in line for line in lines)
    assert child.restarts == 1
    note = next(c for c in book.report().cases if c.id == "proxy-not-judged")
    assert note.status == "inconclusive" and "1 failed to judge" in note.reason


def test_ctrl_c_to_the_process_group_leaves_the_child_judging() -> None:
    """Ctrl-C in a terminal signals every process of the group: the proxy stops and judges
    what has ended, so its judging process must outlive the signal (no traceback either)."""
    child = JudgeChild(_settings())
    child.start()
    try:
        assert child.pid is not None
        pid = child.pid
        os.kill(pid, signal.SIGINT)
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.3)
        judged = child.judge(_tap("run-after-ctrl-c"), 0)
        assert judged.case is not None and child.pid == pid and child.restarts == 0
    finally:
        child.close()


def test_a_hung_child_is_killed_at_its_deadline() -> None:
    child = JudgeChild(_settings(), timeout=1.0)
    child.start()
    try:
        assert child.pid is not None
        hung = child.pid
        os.kill(hung, signal.SIGSTOP)  # alive, never answers
        started = time.monotonic()
        with pytest.raises(JudgeFailed, match="longer than 1 s"):
            child.judge(_tap("run-hang"), 0)
        assert time.monotonic() - started < 10
        judged = child.judge(_tap("run-next"), 0)  # a new child
        assert judged.case is not None and judged.counts == {"judged": 1}
        assert child.pid != hung and child.restarts == 1
    finally:
        child.close()
    with pytest.raises(ProcessLookupError):
        os.kill(hung, 0)  # the hung one was killed and reaped


def test_a_child_that_cannot_start_leaves_judging_to_the_proxy_s_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(self: JudgeChild) -> None:
        raise JudgeFailed("no processes here")

    monkeypatch.setattr(book_module.JudgeChild, "start", refuse)
    book, lines = _one_exchange_judged()
    assert book.counts["judged"] == 1 and len(book.cases) == 1
    assert any("judging in this process (no processes here)" in line for line in lines)


def test_a_spawn_refused_by_the_system_leaves_judging_to_the_proxy_s_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(self: object) -> None:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(multiprocessing.get_context("spawn").Process, "start", refuse)
    book, lines = _one_exchange_judged()
    assert book.counts["judged"] == 1
    said = "\n".join(lines)
    assert "judging in this process" in said and "Too many open files" in said


def test_the_child_ends_with_the_book() -> None:
    book = Book(UPSTREAM, process=True)
    book.start()
    book.hand_over(_tap("run-1"))
    _wait_done(book, 1)
    child = book._child
    assert child is not None and child.pid is not None
    pid = child.pid
    book.stop()
    assert child.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
