"""A request that fails before any answer is sent once more on a fresh connection (as
browsers retry a kept-alive connection the server closed); a second failure is the agent's
`reset`, never our harness error."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

from agui_conformance.transport import Deadlines, Exchange, exchange, new_client

BODY = (
    b'data: {"type":"RUN_STARTED","threadId":"t","runId":"r"}\n\n'
    b'data: {"type":"RUN_FINISHED","threadId":"t","runId":"r"}\n\n'
)
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)
FAST = Deadlines(connect=2, first_byte=2, idle=2, total=6, linger=1)


def _read_request(conn: socket.socket) -> bool:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(rest) < length:
        rest += conn.recv(65536)
    return True


@contextlib.contextmanager
def server(mode: str) -> Iterator[tuple[str, list[int]]]:
    """`drops-kept-alive`: each connection answers its first request, keeps the connection
    open, then closes it without answering the next (uvicorn after a 500 does this).
    `never-answers`: every connection is closed as soon as the request is read."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    connections: list[int] = []
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                if not _read_request(conn):
                    return
                if mode == "never-answers":
                    return
                conn.sendall(ANSWER)
                _read_request(conn)  # the next request on the kept-alive connection: dropped

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            connections.append(1)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/", connections
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


def test_a_dropped_kept_alive_connection_is_retried_on_a_fresh_one() -> None:
    async def two_runs(url: str) -> tuple[Exchange, Exchange]:
        async with new_client(FAST) as client:
            first = await exchange(url, b"{}", deadlines=FAST, client=client)
            second = await exchange(url, b"{}", deadlines=FAST, client=client)
            return first, second

    with server("drops-kept-alive") as (url, connections):
        first, second = asyncio.run(two_runs(url))
    assert first.status == 200 and not first.retried
    assert second.status == 200, second
    assert second.retried and second.ending == "complete"
    assert second.harness_error is None
    assert len(second.frames) == 2
    assert len(connections) == 2


def test_a_connection_closed_twice_without_an_answer_is_the_agents_reset() -> None:
    async def one_run(url: str) -> Exchange:
        async with new_client(FAST) as client:
            return await exchange(url, b"{}", deadlines=FAST, client=client)

    with server("never-answers") as (url, connections):
        record = asyncio.run(one_run(url))
    assert record.status is None
    assert record.ending == "reset" and record.retried
    assert record.harness_error is None
    assert "closed the connection without an answer" in (record.failure or "")
    assert len(connections) == 2  # the request and its one retry


def test_a_refused_connection_is_unreachable_and_not_retried() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    record = asyncio.run(exchange(url, b"{}", deadlines=FAST))
    assert record.ending == "unreachable" and not record.retried
    assert record.harness_error is None
    assert record.failure and "could not be made" in record.failure


def test_an_unsupported_scheme_is_ours() -> None:
    record = asyncio.run(exchange("ftp://127.0.0.1/", b"{}", deadlines=FAST))
    assert record.harness_error is not None
    assert record.ending == "complete" and record.failure is None
