"""The headers `exchange` sends: a header the caller gives replaces the transport's own
default of the same name whatever its case, so the agent never sees two of them."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from agui_conformance.transport import SSE_ACCEPT, Deadlines, exchange

BODY = b'data: {"type":"RUN_STARTED","threadId":"t","runId":"r"}\n\n'
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\nConnection: close\r\n\r\n"
    + BODY
)
FAST = Deadlines(connect=2, first_byte=2, idle=2, total=6, linger=1)


def _heads(given: dict[str, str]) -> list[tuple[str, str]]:
    """The request's header lines as a raw-socket agent read them."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    port = server.getsockname()[1]
    seen: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        conn.settimeout(5)
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            seen.append(data.partition(b"\r\n\r\n")[0])
            conn.sendall(ANSWER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}/"
        record = asyncio.run(exchange(url, b"{}", headers=given, deadlines=FAST))
    finally:
        thread.join(5)
        server.close()
    assert record.status == 200
    lines = seen[0].decode().split("\r\n")[1:]
    return [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines)]


@pytest.mark.parametrize("name", ["accept", "ACCEPT", "Accept"])
def test_a_given_accept_replaces_ours_whatever_its_case(name: str) -> None:
    heads = _heads({name: "application/vnd.ag-ui.event+proto"})
    accepts = [v for k, v in heads if k == "accept"]
    assert accepts == ["application/vnd.ag-ui.event+proto"]


def test_defaults_are_sent_when_not_given() -> None:
    heads = _heads({"content-type": "application/json; charset=utf-8"})
    assert [v for k, v in heads if k == "accept"] == [SSE_ACCEPT]
    assert [v for k, v in heads if k == "content-type"] == ["application/json; charset=utf-8"]
