"""Secrets and control characters against a real agent (uvicorn on 127.0.0.1), through the
CLI, `record`, `validate` and the pytest plugin: what the user gave as a secret, and what a
hostile agent sends back, never reaches stdout or a report as it was (issue "Bounded
everywhere", items 7-9)."""

from __future__ import annotations

import base64
import html
import json
import string
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agui_conformance.cli import main
from tests.hostile_agents import serve_app, sse

pytest_plugins = ["pytester"]

FAST = ["--first-byte-timeout", "3", "--idle-timeout", "2", "--total-timeout", "10"]
PASSWORD = "pw-7f3e9a1c"
QUERY_KEY = "key-5b2d8e40"
TOKEN = "tok-c41a9e77f0"
COOKIE = "sess-0d9c2b71aa"  # the agent's own secrets, in its response headers
RESPONSE_TOKEN = "resp-3e8f1a6b"
LOCATION_TOKEN = "loc-a7c0e5d2"
CONTROLS = "\x01\b\x1b]0;owned-title\x07\x1b[31m"  # SOH, backspace, OSC title, SGR red


def leaky_agent(thread_id: str | None = None) -> FastAPI:
    """An agent that leaks: session cookies, an auth-like header and a Location with a
    token in every answer; the request's Authorization and X-Api-Key values and its
    `api_key` query parameter echoed into
    content deltas (the key split over two), into an X-Echo header, into the id of a message
    it never opened (a finding quotes it) and into its 400 body. `thread_id`: what it puts
    in RUN_STARTED instead of the request's (a finding quotes that too)."""
    app = FastAPI()

    @app.post("/")
    async def run(request: Request) -> Response:
        sent = (request.headers.get(name, "") for name in ("authorization", "x-api-key"))
        said = " ".join(value for value in sent if value)
        key = request.query_params.get("api_key", "")
        headers = {
            "Set-Cookie": f"session={COOKIE}; HttpOnly",
            "X-Auth-Token": RESPONSE_TOKEN,
            "Location": f"/next?token={LOCATION_TOKEN}&page=2",
            "X-Echo": said,
        }
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        required = ("threadId", "runId", "messages")
        if not isinstance(body, dict) or not all(k in body for k in required):
            detail = {"detail": f"invalid input (credentials {said} {key})"}
            return Response(json.dumps(detail), 400, headers, "application/json")
        thread, run_id = thread_id or body["threadId"], body["runId"]
        half = len(key) // 2
        events = [
            {"type": "RUN_STARTED", "threadId": thread, "runId": run_id},
            {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"you sent {said}"},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"and {key[:half]}"},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"{key[half:]}."},
            {"type": "TEXT_MESSAGE_END", "messageId": "m"},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": f"ghost {said}", "delta": key},
            {"type": "RUN_FINISHED", "threadId": thread, "runId": run_id},
        ]

        async def stream() -> AsyncIterator[bytes]:
            for event in events:
                yield sse(event)

        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    return app


def _with_credentials(url: str, password: str = PASSWORD, key: str = QUERY_KEY) -> str:
    user = f"http://user:{quote(password, safe='')}@"
    return url.replace("http://", user) + f"?api_key={quote(key, safe='')}"


def _run(url: str, out: Path, *extra: str, token: str = TOKEN) -> tuple[int, str, dict[str, str]]:
    """`agui-conformance run` with every report; (exit code, stdout, report texts)."""
    paths = {fmt: out / f"report.{fmt}" for fmt in ("json", "html", "xml", "sarif")}
    args = ["run", "--agent-url", url, "--agent-header", "Authorization: env:AGENT_TOKEN"]
    args += ["--agent-header", "X-Api-Key: env:AGENT_KEY"]
    args += ["--json", str(paths["json"]), "--html", str(paths["html"])]
    args += ["--junit", str(paths["xml"]), "--sarif", str(paths["sarif"])]
    result = CliRunner().invoke(
        main, [*args, *FAST, *extra], env={"AGENT_TOKEN": f"Bearer {token}", "AGENT_KEY": token}
    )
    reports = {fmt: path.read_text(encoding="utf-8") for fmt, path in paths.items()}
    return result.exit_code, result.output, reports


def _forms(value: str) -> set[str]:
    """How a value may show in a text: as is, JSON-escaped, HTML/XML-escaped, in Basic."""
    return {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value),
        html.escape(value, quote=False),
    }


def _leaks(value: str, text: str) -> bool:
    decoded = html.unescape(text)
    return any(form in text or form in decoded for form in _forms(value))


def _basic(password: str) -> str:
    return base64.b64encode(f"user:{password}".encode()).decode()


SECRETS = (PASSWORD, QUERY_KEY, TOKEN, COOKIE, RESPONSE_TOKEN, LOCATION_TOKEN, _basic(PASSWORD))


@pytest.fixture(scope="module")
def leaky_url() -> Iterator[str]:
    with serve_app(leaky_agent()) as url:
        yield url


# --- item 7: secrets in the URL ------------------------------------------------------------


@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "no-preflight"])
def test_url_credentials_reach_no_output(leaky_url: str, tmp_path: Path, preflight: bool) -> None:
    """user:password and ?api_key= never show: not in the target line, the generated
    inputs' reason and curl reproducer (a failing generated input), nor any report."""
    extra = ["-k", "generated-inputs", "--examples", "2", "--seed", "7"]
    extra += [] if preflight else ["--no-preflight"]
    code, output, reports = _run(_with_credentials(leaky_url), tmp_path, *extra)
    assert code == 1, output
    assert "generated-inputs" in output and "curl" in output  # the reproducer was printed
    assert "http://***@127.0.0.1" in output and "api_key=***" in output
    for name, text in {"stdout": output, **reports}.items():
        for value in SECRETS:
            assert not _leaks(value, text), (name, value)
    data = json.loads(reports["json"])
    generated = next(c for c in data["cases"] if c["id"] == "generated-inputs")
    assert "POST 'http://***@127.0.0.1" in generated["runs"][0]["reproducer"]
    assert "--case generated-inputs --examples 2 --seed 7" in generated["reason"]
    (printed,) = [line for line in output.splitlines() if line.startswith("    reproduce: ")]
    assert "--agent-url 'http://***@127.0.0.1" in printed and "api_key=***" in printed


def test_url_credentials_stay_out_of_pytest_junitxml(
    leaky_url: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_TOKEN", f"Bearer {TOKEN}")
    url = _with_credentials(leaky_url)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--agent-url", url, "-k", "minimal-input or generated",
        "--agui-examples", "2", "--agui-seed", "7", "--junitxml", "junit.xml",
        "--agui-json", "agui.json", "--agui-html", "agui.html",
        "--agent-header", "Authorization: env:AGENT_TOKEN",
    )  # fmt: skip
    assert result.parseoutcomes().get("failed", 0) >= 2
    junit = (pytester.path / "junit.xml").read_text(encoding="utf-8")
    ET.fromstring(junit)
    assert "curl" in junit  # the generated input's reproducer is in the failure
    texts = {
        "stdout": result.stdout.str(),
        "junit": junit,
        "json": (pytester.path / "agui.json").read_text(encoding="utf-8"),
        "html": (pytester.path / "agui.html").read_text(encoding="utf-8"),
    }
    for name, text in texts.items():
        for value in SECRETS:
            assert not _leaks(value, text), (name, value)
    data = json.loads(texts["json"])
    assert "http://***@127.0.0.1" in data["command"] and PASSWORD not in data["command"]


# --- item 8: response headers and echoed secret values --------------------------------------


def test_response_headers_and_echoed_secrets_reach_no_report(
    leaky_url: str, tmp_path: Path
) -> None:
    """The whole suite, preflight first: Set-Cookie, an auth-like response header, a
    Location with ?token=, and the user's token echoed in deltas, headers, ids and error
    bodies are `***` in stdout and every report."""
    code, output, reports = _run(leaky_url + "?api_key=" + QUERY_KEY, tmp_path, "--examples", "2")
    assert code == 1, output
    for name, text in {"stdout": output, **reports}.items():
        for value in (TOKEN, QUERY_KEY, COOKIE, RESPONSE_TOKEN, LOCATION_TOKEN):
            assert not _leaks(value, text), (name, value)
    data = json.loads(reports["json"])
    run = next(c for c in data["cases"] if c["id"] == "minimal-input")["runs"][0]
    headers = run["responseHeaders"]
    assert headers["set-cookie"] == "***" and headers["x-auth-token"] == "***"
    assert headers["location"] == "/next?token=***&page=2"
    assert headers["x-echo"] == "*** ***"  # "Bearer TOKEN" (Authorization), "TOKEN" (X-Api-Key)
    deltas = "".join(e.get("delta", "") for e in run["events"] if e.get("messageId") == "m")
    assert deltas == "you sent *** ***and ***."  # the key, split over two deltas, too
    assert "`ghost *** ***`" in json.dumps(run["findings"])
    assert "ghost *** ***" in reports["sarif"] and "ghost *** ***" in reports["xml"]


def test_the_record_sidecar_and_recording_are_scrubbed(leaky_url: str, tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    args = ["record", _with_credentials(leaky_url), "--input", str(_request(tmp_path))]
    args += ["-o", str(out), "--agent-header", "X-Api-Key: env:AGENT_KEY"]
    result = CliRunner().invoke(main, args, env={"AGENT_KEY": TOKEN})
    assert result.exit_code == 0, result.output
    sidecar = (tmp_path / "run.jsonl.timing.json").read_text()
    recording = out.read_text()
    for name, text in {"stdout": result.output, "sidecar": sidecar, "jsonl": recording}.items():
        for value in SECRETS:
            assert not _leaks(value, text), (name, value)
    side = json.loads(sidecar)
    assert side["url"].startswith("http://***@127.0.0.1") and "api_key=***" in side["url"]
    assert side["responseHeaders"]["set-cookie"] == "***"
    assert side["responseHeaders"]["location"] == "/next?token=***&page=2"
    assert side["responseHeaders"]["x-echo"] == "Basic *** ***"  # httpx's Basic auth, X-Api-Key
    assert side["requestHeaders"]["X-Api-Key"] == "***"
    events = [json.loads(line) for line in recording.splitlines()]
    assert len(events) == 8 and events[2]["delta"] == "you sent Basic *** ***"
    assert "".join(e["delta"] for e in events[3:5]) == "and ***."
    page = tmp_path / "v.html"
    validated = CliRunner().invoke(main, ["validate", str(out), "--format=html", f"-o{page}"])
    assert validated.exit_code == 1, validated.output
    shown = page.read_text()
    for value in SECRETS:
        assert not _leaks(value, shown), value


# --- item 9: control characters ---------------------------------------------------------------


def _controls(text: str) -> set[str]:
    return {c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F}


def test_control_characters_reach_no_terminal_and_junit_stays_well_formed(
    tmp_path: Path, pytester: pytest.Pytester
) -> None:
    thread = f"thread{CONTROLS}end"
    with serve_app(leaky_agent(thread_id=thread)) as url:
        code, output, reports = _run(url, tmp_path, "-k", "minimal-input", "--examples", "0")
        record = CliRunner().invoke(
            main,
            ["record", url, "--input", str(_request(tmp_path)), "-o", str(tmp_path / "r.jsonl")],
        )
        plugin = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--agent-url", url, "-k", "minimal-input",
            "--junitxml", "junit.xml",
        )  # fmt: skip
    assert code == 1 and record.exit_code == 0, output + record.output
    assert "identity-thread-id-echo" in output
    assert _controls(output) == set(), output
    assert "\\x1b]0;owned-title\\x07" in output  # shown, escaped
    suite = ET.fromstring(reports["xml"])
    assert "\\x1b]0;owned-title" in ET.tostring(suite, encoding="unicode")
    for text in _xml_texts(suite):
        assert _controls(text) == set(), text
    sarif = json.loads(reports["sarif"])
    for result in sarif["runs"][0]["results"]:
        assert _controls(result["message"]["text"]) == set()
    data = json.loads(reports["json"])  # JSON keeps the agent's exact value, escaped by JSON
    assert data["cases"][0]["runs"][0]["events"][0]["threadId"] == thread
    # text and SARIF from `validate`, the pytest plugin's terminal and --junitxml
    for fmt in ("text", "sarif"):
        recorded = str(tmp_path / "r.jsonl")
        request = str(_request(tmp_path))
        validated = CliRunner().invoke(
            main, ["validate", recorded, "--input", request, "--format", fmt]
        )
        assert validated.exit_code == 1 and "owned-title" in validated.output
        assert _controls(validated.output) == set(), validated.output
        if fmt == "sarif":
            for result in json.loads(validated.output)["runs"][0]["results"]:
                assert _controls(result["message"]["text"]) == set()
    assert plugin.parseoutcomes().get("failed", 0) >= 1
    assert _controls(plugin.stdout.str()) == set()
    ET.parse(pytester.path / "junit.xml")


def _request(folder: Path) -> Path:
    path = folder / "request.json"
    message = {"id": "1", "role": "user", "content": "hi"}
    path.write_text(json.dumps({"threadId": "t1", "runId": "r1", "messages": [message]}))
    return path


def _xml_texts(root: ET.Element) -> Iterator[str]:
    for element in root.iter():
        yield element.text or ""
        yield from element.attrib.values()


# --- properties --------------------------------------------------------------------------------

SECRET_TEXT = st.text(
    alphabet=st.sampled_from(
        [c for c in string.ascii_letters + string.digits + string.punctuation if c != "*"]
    ),
    min_size=8,
    max_size=40,
)


@pytest.fixture(scope="module")
def fixed_text(leaky_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Everything a run prints and writes with placeholder secrets: a value inside it is
    fixed report text (a template word, a rule id), not a leak."""
    out = tmp_path_factory.mktemp("baseline")
    url = _with_credentials(leaky_url, "placeholder-pw", "placeholder-key")
    _, output, reports = _run(
        url, out, "-k", "minimal-input", "--examples", "0", "--no-preflight", token="placeholder"
    )
    return output + "".join(reports.values())


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(token=SECRET_TEXT, password=SECRET_TEXT, key=SECRET_TEXT)
def test_no_secret_value_reaches_any_output(
    leaky_url: str,
    fixed_text: str,
    tmp_path_factory: pytest.TempPathFactory,
    token: str,
    password: str,
    key: str,
) -> None:
    """Random secrets in the Authorization header, the URL's password and an api_key query
    parameter, echoed by the agent into response headers, deltas (one split), message ids
    and error bodies: none shows in stdout, JSON, HTML, JUnit or SARIF."""
    assume(not any(_leaks(value, fixed_text) for value in (token, password, key)))
    out = tmp_path_factory.mktemp("property")
    url = _with_credentials(leaky_url, password, key)
    code, output, reports = _run(
        url, out, "-k", "minimal-input", "--examples", "0", "--no-preflight", token=token
    )
    assert code == 1, output
    for name, text in {"stdout": output, **reports}.items():
        for value in (token, password, key, f"Bearer {token}", _basic(password)):
            assert not _leaks(value, text), (name, value)


FIELD = st.text(st.characters(), max_size=30)  # any code point, lone surrogates included


@settings(max_examples=200, deadline=None, database=None)
@given(
    fields=st.lists(FIELD, min_size=8, max_size=8),
    status=st.sampled_from(
        ["failed", "agent-error", "not-run", "harness-error", "not-applicable", "inconclusive"]
    ),
)
def test_junit_is_well_formed_for_any_text(fields: list[str], status: str) -> None:
    """Every string field of a case and its findings, any Unicode (control characters and
    lone surrogates included), gives a JUnit document that is UTF-8 and that xml.etree
    parses."""
    from agui_conformance.model import CaseResult, Finding, Level, RunRecord
    from agui_conformance.redact import printable
    from agui_conformance.report.junit import to_junit

    case_id, title, reason, rule, message, hint, spec, pointer = fields
    finding = Finding(
        rule=rule, level=Level.ERROR, message=message, hint=hint, spec=spec, pointer=pointer
    )
    run = RunRecord(
        request={}, requestHeaders={}, status=200, responseHeaders={}, timing={}, findings=[finding]
    )
    case = CaseResult(
        id=case_id, title=title, requirements=[], expect="run", status=status, reason=reason
    )
    case.runs.append(run)
    document = to_junit([case], suite=title or "agui-conformance")
    root = ET.fromstring(document.encode("utf-8"))  # as written to the file
    assert root.find("testsuite/testcase").get("name") == printable(case_id)  # type: ignore[union-attr]
    for text in _xml_texts(root):
        assert _controls(text.replace("\r", "")) == set()
