"""Recorded streams: files, bytes or stdin in, raw event payloads out.

Owns reading what `agui-conformance validate` is given and detecting its
format: an SSE capture (`data:` frames as the agent sent them), JSONL (one
JSON event per line), or a JSON document (an array of events, or an object
with a `stream` or `events` array, as the official corpus fixtures are).
Payloads are yielded lazily as raw bytes; parsing is the validator's job, so
a malformed line still becomes a payload (and a finding). SSE framing
findings are collected in `Recording.hits`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from agui_conformance.hits import Hit
from agui_conformance.sse import Frame, SSEParser

CHUNK = 1 << 16
_SSE_STARTS = (b"data:", b":", b"event:", b"id:", b"retry:")
FORMATS = ("auto", "sse", "jsonl", "json")


@dataclass(frozen=True, slots=True)
class Payload:
    index: int
    data: bytes


@dataclass
class Recording:
    """A recorded stream; iterate `payloads` once, then read `hits`."""

    format: str
    payloads: Iterator[Payload]
    hits: list[Hit] = field(default_factory=list)


def _chunks(source: Any) -> Iterator[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield bytes(source)
        return
    if isinstance(source, (str, Path)):
        with open(source, "rb") as handle:
            yield from _read(handle)
        return
    yield from _read(source)


def _read(handle: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            return
        yield chunk


def detect(head: bytes) -> str:
    """The format of a recording from its first bytes."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(_SSE_STARTS):
        return "sse"
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        first_line = text.split(b"\n", 1)[0].strip()
        try:
            value = orjson.loads(first_line)
        except orjson.JSONDecodeError:
            return "json"  # a pretty-printed document spans lines
        if isinstance(value, dict) and ("stream" in value or "events" in value):
            return "json"
        return "jsonl"
    return "jsonl"


def open_recording(source: Any, fmt: str = "auto") -> Recording:
    """Open a path, bytes or binary file object as a recording."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    chunks = _chunks(source)
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head.strip()) >= 16:
            break
    rest = _prepend(head, chunks)
    kind = detect(head) if fmt == "auto" else fmt
    recording = Recording(format=kind, payloads=iter(()))
    if kind == "sse":
        recording.payloads = _sse(rest, recording.hits)
    elif kind == "json":
        recording.payloads = _json(rest, recording.hits)
    else:
        recording.payloads = _jsonl(rest)
    return recording


def _prepend(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from rest


def _sse(chunks: Iterator[bytes], hits: list[Hit]) -> Iterator[Payload]:
    parser = SSEParser()
    for chunk in chunks:
        yield from _split(parser.feed(chunk), hits)
    yield from _split(parser.close(), hits)


def _split(items: list[Frame | Hit], hits: list[Hit]) -> Iterator[Payload]:
    for item in items:
        if isinstance(item, Frame):
            yield Payload(item.index, item.data)
        else:
            hits.append(item)


def _jsonl(chunks: Iterator[bytes]) -> Iterator[Payload]:
    index = 0
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                yield Payload(index, line.rstrip(b"\r"))
                index += 1
    if pending.strip():
        yield Payload(index, pending)


def _json(chunks: Iterator[bytes], hits: list[Hit]) -> Iterator[Payload]:
    raw = b"".join(chunks)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        yield Payload(0, raw[:4096])  # reported as not JSON by the validator
        return
    if isinstance(document, dict):
        events = document.get("stream", document.get("events"))
    else:
        events = document
    if not isinstance(events, list):
        yield Payload(0, orjson.dumps(document))
        return
    for index, event in enumerate(events):
        yield Payload(index, orjson.dumps(event))
