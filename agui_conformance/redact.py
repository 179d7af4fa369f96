"""Redaction: what of the user's secrets, and of the agent's bytes, may reach any output.

Owns three things, each a pure function of its input:

- **By name** (`is_secret`, `redact_headers`, `redact_url`): the values of headers whose
  names look secret (`Authorization`, `Cookie`, `Set-Cookie`, any `*token*`, `*key*`,
  `*secret*`, `*password*`, `*auth*`), request and response alike; the user:password of a
  URL and the values of its secret-looking query parameters (`?api_key=`); a response's
  `Location` (and `Content-Location`) as a URL. Each becomes `***`.
- **By value** (`Secrets`, `secrets_of`, `scrub_result`): the exact values the user gave as
  secrets (secret header values and the credentials after their scheme, the URL's password,
  user:password and the Basic token httpx derives from them, secret query values), in the
  forms they take when quoted (JSON, `repr`, percent-encoding), scrubbed from every stored
  string: an agent that echoes the user's token in an event, an error body or a header never
  gets it into a report. A value shorter than `MIN_SCRUB` characters (`MIN_SCRUB_USER` for a
  URL's user name) is too common to tell from ordinary text and is only redacted by name.
  Content deltas are also scrubbed joined per message or tool call, so a secret streamed a
  few characters at a time is cut out of the deltas that carry it.
- **Control characters** (`printable`, `printable_strings`): C0 and C1 controls (but tab
  and newline), DEL, lone surrogates, U+FFFE/U+FFFF and bidi overrides become visible
  escapes (`\\x1b`, `\\u202e`), so no agent-chosen byte moves a terminal's cursor, sets its
  title or makes an XML report ill-formed.

Where the scrub happens: once per case, when its `CaseResult` is complete and before anybody
sees it (`runner.run_suite`, `generated.run_generated`, `suite.capabilities_case` call
`scrub_result`), so the terminal lines, every report format and the pytest faces all read
scrubbed records. It costs nothing without secrets; with them, each exchange's stored parts
are serialised once (orjson, in C) to see whether any value occurs, and only then walked.
Writers then make a last pass of their own: URLs through `redact_url`, strings through
`printable` where the format needs it (terminal, text, JUnit, SARIF). `record` scrubs its
JSONL and timing sidecar the same way (`recording.save`).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

import orjson

if TYPE_CHECKING:
    from agui_conformance.model import CaseResult, Finding, RunRecord

SECRET_WORDS = ("authorization", "cookie", "token", "key", "secret", "password", "auth")
REDACTED = "***"
URL_HEADERS = frozenset({"location", "content-location"})
MIN_SCRUB = 6  # shorter secret values are only redacted by name, never scrubbed from text
MIN_SCRUB_USER = 16  # a URL's user name alone: scrubbed only when long (an API key as user)

__all__ = [
    "MIN_SCRUB",
    "REDACTED",
    "SECRET_WORDS",
    "Secrets",
    "is_secret",
    "map_strings",
    "printable",
    "printable_strings",
    "redact_headers",
    "redact_url",
    "scrub_result",
    "secrets_of",
]


# --- by name -------------------------------------------------------------------------------


def is_secret(name: str, extra: frozenset[str] = frozenset()) -> bool:
    lowered = name.lower()
    return lowered in extra or any(word in lowered for word in SECRET_WORDS)


def redact_url(url: str) -> str:
    """A URL as it may be shown: `***@` for its user:password, `***` for the values of query
    parameters whose names look secret (`?api_key=...`), control characters escaped. Safe to
    apply twice; never raises (a URL that cannot be parsed is shown by its scheme)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None or parts.username is not None:
            port = f":{parts.port}" if parts.port else ""
            host = parts.hostname or ""
            netloc = f"{REDACTED}@{f'[{host}]' if ':' in host else host}{port}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(is_secret(name) for name, _ in pairs):
                shown = [(n, REDACTED if is_secret(n) else v) for n, v in pairs]
                query = urlencode(shown, safe="*")
        shown_url = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:  # an invalid port or IPv6 literal: nothing of it can be trusted
        scheme = url.partition(":")[0] if ":" in url else ""
        shown_url = f"{scheme}:…" if scheme.isalnum() else "(an invalid URL)"
    return printable(shown_url)


def redact_headers(
    headers: Mapping[str, str], extra: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Headers as they may be shown: secret names get `***`, URL-valued headers
    (`Location`) go through `redact_url`."""
    return {
        k: REDACTED if is_secret(k, extra) else redact_url(v) if k.lower() in URL_HEADERS else v
        for k, v in headers.items()
    }


# --- control characters --------------------------------------------------------------------

# C0 but tab and newline, DEL and C1, lone surrogates, the two BMP noncharacters XML forbids,
# and the bidi embeddings, overrides and isolates (text that displays as something else).
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with control characters as visible escapes (`\\x1b`); tab and newline kept.
    What remains is safe for a terminal and legal in XML 1.0."""
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(_escape, text)


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """`value` (JSON-like: dicts, lists, tuples, strings, scalars) with `fn` applied to every
    string, keys included; new containers, the input untouched. Iterative: no depth limit."""
    if isinstance(value, str):
        return fn(value)
    if not isinstance(value, dict | list | tuple):
        return value
    holder: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, holder, 0)]
    while stack:
        source, parent, slot = stack.pop()
        if isinstance(source, dict):
            new_dict: dict[Any, Any] = {}
            parent[slot] = new_dict
            for key, item in source.items():
                name = fn(key) if isinstance(key, str) else key
                if isinstance(item, dict | list | tuple):
                    new_dict[name] = None
                    stack.append((item, new_dict, name))
                else:
                    new_dict[name] = fn(item) if isinstance(item, str) else item
        else:
            new_list: list[Any] = list(source)
            parent[slot] = new_list
            for index, item in enumerate(new_list):
                if isinstance(item, dict | list | tuple):
                    stack.append((item, new_list, index))
                elif isinstance(item, str):
                    new_list[index] = fn(item)
    return holder[0]


def printable_strings(value: Any) -> Any:
    """Every string of a JSON-like value through `printable`."""
    return map_strings(value, printable)


# --- by value ------------------------------------------------------------------------------

# Event members carrying streamed text, and the member naming what they belong to.
_DELTA_OWNERS = ("messageId", "toolCallId")
_SPACE = re.compile(r"\s")
_CUT_MARKS = frozenset("…'\"`")  # where a clipped quotation ends


class Secrets:
    """Exact secret values, scrubbed from strings and JSON-like values (longest first, one
    regex pass per string). Empty (falsy) when the user gave none: then nothing is done."""

    __slots__ = ("_needles", "_pattern", "_prefixed", "values")

    def __init__(self, values: Iterable[str] = ()) -> None:
        kept = sorted({v for v in values if v and v != REDACTED}, key=lambda v: (-len(v), v))
        self.values = tuple(kept)
        self._pattern = re.compile("|".join(map(re.escape, kept))) if kept else None
        needles: list[bytes] = []
        for value in kept:
            try:
                needles.append(orjson.dumps(value)[1:-1])
            except TypeError:  # a lone surrogate: no needle, every value is walked
                needles = []
                break
        self._needles = tuple(needles) if len(needles) == len(kept) else None
        # values whose start, cut by a message's clipping, still gives them away (a scheme
        # and its credentials are covered by the credentials alone)
        self._prefixed = tuple(v for v in kept if len(v) > MIN_SCRUB and not _SPACE.search(v))

    def __bool__(self) -> bool:
        return bool(self.values)

    def text(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)

    def message(self, text: str) -> str:
        """`text` scrubbed, and also of a value's start where the text was cut (a message
        clips what it quotes: `tok-8f3a…`, `'tok-8f3a`, or at its end)."""
        text = self.text(text)
        if not self._prefixed or not text:
            return text
        spans: list[tuple[int, int]] = []
        for value in self._prefixed:
            head = value[:MIN_SCRUB]
            start = text.find(head)
            while start != -1:
                end, limit = start + MIN_SCRUB, min(len(text), start + len(value))
                while end < limit and text[end] == value[end - start]:
                    end += 1
                if end == len(text) or text[end] in _CUT_MARKS:
                    spans.append((start, end))
                start = text.find(head, start + 1)
        if not spans:
            return text
        pieces, position = [], 0
        for left, right in sorted(spans):
            if right <= position:
                continue
            pieces += [text[position:left], REDACTED] if left >= position else []
            position = max(position, right)
        return "".join(pieces) + text[position:]

    def occurs_in(self, value: Any) -> bool:
        """Whether some value may occur in `value` (one orjson serialisation; JSON escaping
        is per character, so an occurrence shows as the escaped needle)."""
        if self._pattern is None:
            return False
        if isinstance(value, str):
            return self._pattern.search(value) is not None
        if self._needles is None:
            return True
        try:
            blob = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # too deep, not JSON: walk it
            return True
        return any(needle in blob for needle in self._needles)

    def value(self, value: Any) -> Any:
        """`value` with every string scrubbed (a new value only where a secret occurs)."""
        if not self.occurs_in(value):
            return value
        return map_strings(value, self.text)

    def events(self, events: list[Any]) -> list[Any]:
        """Events scrubbed one by one, then their streamed deltas joined per message or
        tool call and scrubbed across event boundaries."""
        events = self.value(events)
        pattern = self._pattern
        if pattern is None:
            return events
        groups: dict[tuple[str, str], list[int]] = {}
        for index, event in enumerate(events):
            if isinstance(event, dict) and isinstance(event.get("delta"), str):
                for member in _DELTA_OWNERS:
                    owner = event.get(member)
                    if isinstance(owner, str):
                        groups.setdefault((member, owner), []).append(index)
                        break
        for indexes in groups.values():
            if len(indexes) < 2:
                continue
            deltas = [events[i]["delta"] for i in indexes]
            joined = "".join(deltas)
            spans = [m.span() for m in pattern.finditer(joined)]
            if not spans:
                continue
            for i, delta in zip(indexes, _cut(deltas, spans), strict=True):
                if delta != events[i]["delta"]:
                    events[i] = {**events[i], "delta": delta}
        return events

    def finding(self, finding: Finding) -> Finding:
        message = self.message(finding.message)
        pointer = self.text(finding.pointer) if finding.pointer else finding.pointer
        if message == finding.message and pointer == finding.pointer:
            return finding
        return dataclasses.replace(finding, message=message, pointer=pointer)

    def run(self, run: RunRecord) -> None:
        """One exchange's stored strings, in place."""
        run.events = self.events(run.events)
        sent = run.request
        run.request = dataclasses.replace(
            sent,
            input=self.value(sent.input),
            body=self.value(sent.body),
            url=self.value(sent.url),
            file=self.value(sent.file),
        )
        if run.reproducer:
            run.reproducer = self.text(run.reproducer)
        run.requestHeaders = self.value(run.requestHeaders)
        run.responseHeaders = self.value(run.responseHeaders)
        run.timing = self.value(run.timing)
        if run.harnessError:
            run.harnessError = self.message(run.harnessError)
        run.findings = [self.finding(f) for f in run.findings]

    def case(self, result: CaseResult) -> CaseResult:
        """A case's stored strings, in place (returned for chaining)."""
        if not self:
            return result
        result.title = self.text(result.title)
        result.reason = self.message(result.reason)
        for run in result.runs:
            self.run(run)
        return result


def _cut(deltas: list[str], spans: list[tuple[int, int]]) -> list[str]:
    """`deltas` with the characters of `spans` (offsets into their concatenation) removed;
    each span leaves `***` in the delta where it starts."""
    out: list[str] = []
    start = 0
    for delta in deltas:
        end = start + len(delta)
        pieces: list[str] = []
        position = start
        for left, right in spans:
            if right <= start or left >= end:
                continue
            if left > position:
                pieces.append(delta[position - start : left - start])
            if left >= start:
                pieces.append(REDACTED)
            position = max(position, min(right, end))
        if position < end:
            pieces.append(delta[position - start :])
        out.append("".join(pieces))
        start = end
    return out


def _quoted(value: str) -> set[str]:
    """`value` and the forms it takes when quoted: JSON (both escapings), percent, and the
    `repr` of each (a message quoting an error body quotes its JSON)."""
    forms = {value, json.dumps(value)[1:-1]}
    with contextlib.suppress(TypeError, UnicodeEncodeError):  # a lone surrogate
        forms |= {quote(value), quote_plus(value), orjson.dumps(value)[1:-1].decode()}
    return forms | {repr(form)[1:-1] for form in forms}


def _header_values(name: str, value: str) -> set[str]:
    """A secret header's value, its credentials after an auth scheme (`Bearer X` -> X) and,
    for a Cookie, each cookie's value."""
    value = value.strip()
    found = {value}
    scheme = re.fullmatch(r"[A-Za-z][A-Za-z0-9._~+-]*\s+(\S.*)", value)
    if scheme:
        found.add(scheme.group(1).strip())
    if "cookie" in name.lower():
        found |= {part.partition("=")[2].strip() for part in value.split(";")}
    return found


def _url_values(url: str) -> set[str]:
    """The URL's credentials (password, user:password, the Basic token httpx sends for
    them; the user name when long) and the values of its secret query parameters."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
        query = parts.query
    except ValueError:
        return found
    if username is not None or password is not None:
        user_raw, pass_raw = username or "", password or ""
        user, secret = unquote(user_raw), unquote(pass_raw)
        found |= {secret, pass_raw, f"{user}:{secret}", f"{user_raw}:{pass_raw}"}
        with contextlib.suppress(UnicodeEncodeError):  # httpx could not send it either
            found.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
        found |= {name for name in (user, user_raw) if len(name) >= MIN_SCRUB_USER}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if is_secret(name):
            found.add(value)
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if is_secret(unquote(name)):
            found.add(value)
    return found


def secrets_of(
    url: str, headers: Mapping[str, str], extra: frozenset[str] = frozenset()
) -> Secrets:
    """The secrets the user gave for a run: in `headers` (by name, with `extra` names)
    and in `url`. Cached: every case of a run asks with the same arguments."""
    return _secrets_of(url, tuple(sorted(headers.items())), extra)


@functools.lru_cache(maxsize=32)
def _secrets_of(url: str, headers: tuple[tuple[str, str], ...], extra: frozenset[str]) -> Secrets:
    values = _url_values(url)
    for name, value in headers:
        if is_secret(name, extra):
            values |= _header_values(name, value)
    forms: set[str] = set()
    for value in values:
        if len(value) >= MIN_SCRUB:
            forms |= _quoted(value)
    return Secrets(form for form in forms if len(form) >= MIN_SCRUB)


def scrub_result(
    result: CaseResult,
    url: str,
    headers: Mapping[str, str],
    extra: frozenset[str] = frozenset(),
) -> CaseResult:
    """`result` with the run's secrets (`secrets_of`) scrubbed from every stored string, in
    place; nothing is done when there are none."""
    secrets = secrets_of(url, headers, extra)
    return secrets.case(result) if secrets else result
