"""Reading HTTP headers kept as a plain mapping, whose keys may come in any case (as sent,
as recorded, or lower-cased by the transport)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import overload


@overload
def header(headers: Mapping[str, str], name: str) -> str | None: ...


@overload
def header(headers: Mapping[str, str], name: str, default: str) -> str: ...


def header(headers: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    """The value of header `name` whatever the case of its key; `default` when absent."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), default)


def media_type(content_type: str) -> str:
    """The media type of a `Content-Type` value: parameters dropped, lower case."""
    return content_type.split(";")[0].strip().lower()
