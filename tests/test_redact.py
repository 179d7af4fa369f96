"""Redaction units: by name, by value, control characters (agui_conformance.redact)."""

from __future__ import annotations

import base64
import copy
import sys
from typing import Any

import orjson

from agui_conformance import redact
from agui_conformance.model import CaseResult, Finding, Level, RunRecord
from agui_conformance.redact import (
    REDACTED,
    map_strings,
    printable,
    redact_headers,
    redact_url,
    scrub_result,
    secrets_of,
)

URL = "http://user:PASSWORD99@127.0.0.1:8000/agui?api_key=QUERYKEY77&mode=x"
HEADERS = {"Authorization": "Bearer SECRETTOKEN123", "X-Trace": "visible-value"}


def test_transport_keeps_the_old_names() -> None:
    from agui_conformance import transport

    assert transport.redact_url is redact.redact_url
    assert transport.redact_headers is redact.redact_headers
    assert transport.is_secret is redact.is_secret
    assert transport.REDACTED == REDACTED and transport.SECRET_WORDS == redact.SECRET_WORDS


def test_urls_lose_their_credentials_and_secret_query_values_idempotently() -> None:
    shown = redact_url(URL)
    assert shown == "http://***@127.0.0.1:8000/agui?api_key=***&mode=x"
    assert redact_url(shown) == shown
    assert redact_url("http://[::1]:8000/?token=abc") == "http://[::1]:8000/?token=***"
    assert redact_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000/"


def test_a_url_that_cannot_be_parsed_is_never_shown_and_never_raises() -> None:
    assert redact_url("http://user:PW@[::1") in ("http:…", "(an invalid URL)")
    assert "\x1b" not in redact_url("http://host/\x1b]0;x\x07")


def test_response_headers_follow_the_request_rules_and_locations_are_urls() -> None:
    shown = redact_headers(
        {
            "set-cookie": "session=COOKIEVALUE123",
            "x-auth-token": "RESPTOKEN123",
            "www-authenticate": 'Bearer realm="x"',
            "location": "/next?token=LOCTOKEN123&page=2",
            "content-type": "text/event-stream",
        }
    )
    assert shown == {
        "set-cookie": REDACTED,
        "x-auth-token": REDACTED,
        "www-authenticate": REDACTED,
        "location": "/next?token=***&page=2",
        "content-type": "text/event-stream",
    }


def test_secret_values_cover_headers_credentials_basic_auth_and_query() -> None:
    secrets = secrets_of(URL, HEADERS)
    basic = base64.b64encode(b"user:PASSWORD99").decode()
    for value in ("Bearer SECRETTOKEN123", "SECRETTOKEN123", "PASSWORD99", basic, "QUERYKEY77"):
        assert secrets.text(f"<{value}>") == f"<{REDACTED}>", value
    assert secrets.text("visible-value user mode") == "visible-value user mode"
    assert not secrets_of("http://127.0.0.1:8000/", {"X-Trace": "visible-value"})


def test_short_values_are_not_scrubbed_from_text() -> None:
    secrets = secrets_of("http://user:pw@host/", {"Authorization": "abc"})
    assert secrets.text("user pw abc") == "user pw abc"


def test_a_long_user_name_is_an_api_key_and_is_scrubbed() -> None:
    key = "sk_test_0123456789abcdef"
    secrets = secrets_of(f"https://{key}:@api.example.com/", {})
    assert secrets.text(f"key {key}") == f"key {REDACTED}"


def test_quoted_forms_are_scrubbed_too() -> None:
    value = 'tok"en\\é-123'
    secrets = secrets_of("http://h/", {"X-Api-Key": value})
    import json

    for form in (value, json.dumps(value)[1:-1], repr(value)[1:-1]):
        assert value not in secrets.text(form) and REDACTED in secrets.text(form)


def test_a_secret_streamed_over_several_deltas_is_cut_from_them() -> None:
    secrets = secrets_of("http://h/", HEADERS)
    events: list[Any] = [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "a SECRET"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "other", "delta": "SECRET"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "TOK"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "EN123 b"},
        {"type": "TOOL_CALL_ARGS", "toolCallId": "t", "delta": '{"k": "SECRETTOKEN'},
        {"type": "TOOL_CALL_ARGS", "toolCallId": "t", "delta": '123"}'},
    ]
    out = secrets.events(events)
    joined = "".join(e["delta"] for e in out if e.get("messageId") == "m")
    assert joined == f"a {REDACTED} b"
    assert out[1]["delta"] == "SECRET"  # another message: nothing of the secret
    assert "".join(e["delta"] for e in out[4:]) == f'{{"k": "{REDACTED}"}}'


def test_scrub_result_reaches_every_stored_string_and_costs_nothing_without_secrets() -> None:
    finding = Finding(rule="r", level=Level.ERROR, message="echoed Bearer SECRETTOKEN123")
    run = RunRecord(
        request={"messages": [{"content": "QUERYKEY77"}]},
        requestHeaders={"Authorization": REDACTED},
        status=200,
        responseHeaders={"x-echo": "Bearer SECRETTOKEN123"},
        timing={"failure": "PASSWORD99"},
        events=[{"type": "X", "nested": [[{"SECRETTOKEN123": "SECRETTOKEN123"}]]}],
        findings=[finding],
        harnessError="at http://user:PASSWORD99@h/",
    )
    result = CaseResult(
        id="c", title="t", requirements=[], expect="run", status="failed", reason="QUERYKEY77"
    )
    result.runs.append(run)
    untouched = copy.deepcopy(result)
    assert scrub_result(untouched, "http://h/", {}) is untouched
    scrub_result(result, URL, HEADERS)
    text = orjson.dumps(result).decode()
    for value in ("SECRETTOKEN123", "PASSWORD99", "QUERYKEY77"):
        assert value not in text
    assert text.count(REDACTED) >= 8


def test_deep_values_do_not_hit_the_recursion_limit() -> None:
    deep: Any = "SECRETTOKEN123"
    for _ in range(sys.getrecursionlimit() + 100):
        deep = [deep]
    out = secrets_of("http://h/", HEADERS).value(deep)
    for _ in range(sys.getrecursionlimit() + 100):
        out = out[0]
    assert out == REDACTED


def test_printable_escapes_controls_and_keeps_text() -> None:
    assert printable("t\x01\b\x1b]0;title\x07x") == "t\\x01\\x08\\x1b]0;title\\x07x"
    assert printable("line\n\ttab é 😀") == "line\n\ttab é 😀"
    assert printable("\r\x7f\x9b\ud800\ufffe\u202e") == "\\x0d\\x7f\\x9b\\ud800\\ufffe\\u202e"
    assert map_strings({"\x1b": ["\x07", 1, None]}, printable) == {"\\x1b": ["\\x07", 1, None]}


def test_a_clipped_quotation_of_a_secret_is_scrubbed_to_the_cut() -> None:
    secrets = secrets_of("http://h/", {"Authorization": "Bearer tok-0123456789abcdef"})
    said = 'id `ghost Bearer tok-0123456…`, \'{"x": "tok-012345\' and tok-01234567'
    assert secrets.message(said) == 'id `ghost Bearer ***…`, \'{"x": "***\' and ***'
    kept = "Bearer alone, tok-0123 is short, tok-012345x goes on"
    assert secrets.message(kept) == kept
