"""The official TypeScript encoder (`@ag-ui/encoder` from the npm registry) as a live target.

`official_encoder/server.js` answers a fixed run through `EventEncoder`, framed as the
client's Accept asks. The suite, asked for protobuf, must negotiate it, decode every frame
and judge the same run it judges over SSE (PROTO-001, CONS-007). npm installs the package
into a cache folder once (`AGUI_NPM_CACHE`, default under the system temp folder); without
node, npm or the registry the test skips and says why. Every wait has a deadline, and the
node process is ended by its id.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent / "official_encoder"
INSTALL_S = 300.0
START_S = 20.0
RUN_S = 240.0


def _install() -> Path:
    """node_modules with @ag-ui/encoder, installed once per cache folder."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the official encoder cannot run")
    default = Path(tempfile.gettempdir()) / "agui-conformance-official-encoder"
    folder = Path(os.environ.get("AGUI_NPM_CACHE", default))
    folder.mkdir(parents=True, exist_ok=True)
    manifest = (HERE / "package.json").read_text(encoding="utf-8")
    installed = folder / "node_modules" / "@ag-ui" / "encoder" / "package.json"
    recorded = folder / "package.json"
    if installed.is_file() and recorded.is_file() and recorded.read_text("utf-8") == manifest:
        return folder / "node_modules"
    (folder / "package.json").write_text(manifest, encoding="utf-8")
    command = ["npm", "install", "--no-audit", "--no-fund", "--no-package-lock", "--silent"]
    try:
        done = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=INSTALL_S, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm install of @ag-ui/encoder took over {INSTALL_S:.0f} s")
    if done.returncode != 0 or not installed.is_file():
        pytest.skip(f"npm could not install @ag-ui/encoder: {done.stderr.strip()[-300:]}")
    return folder / "node_modules"


@pytest.fixture(scope="module")
def official_agent() -> Iterator[str]:
    modules = _install()
    env = {**os.environ, "NODE_PATH": str(modules)}
    process = subprocess.Popen(
        ["node", str(HERE / "server.js")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + START_S
        line = ""
        os.set_blocking(process.stdout.fileno(), False)
        while time.monotonic() < deadline and process.poll() is None:
            line += process.stdout.readline() or ""
            if line.endswith("\n"):
                break
            time.sleep(0.05)
        if not line.startswith("listening "):
            stderr = process.stderr.read() if process.poll() is not None and process.stderr else ""
            pytest.fail(f"the official encoder's server did not start: {line!r} {stderr[-500:]}")
        yield f"http://127.0.0.1:{int(line.split()[1])}/"
    finally:
        process.kill()  # this process only, by its id
        process.wait(timeout=10)


def _suite(url: str, binding: str, tmp: Path) -> dict[str, Any]:
    report = tmp / f"{binding}.json"
    command = [
        sys.executable, "-m", "agui_conformance.cli", "run", "--agent-url", url,
        "--binding", binding, "--examples", "0", "--no-html", "--json", str(report),
        "--first-byte-timeout", "10", "--idle-timeout", "10", "--total-timeout", "30",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_S, check=False)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    data["stdout"] = done.stdout
    return data


PROTO = "application/vnd.ag-ui.event+proto"


def _runs(report: dict[str, Any], binding: str = "") -> list[dict[str, Any]]:
    """The answered runs (200) of a report; with `binding`, those whose request asked for it
    by the suite's own Accept for that binding."""
    accept = {"sse": "text/event-stream", "protobuf": f"{PROTO}, text/event-stream"}
    return [
        run
        for case in report["cases"]
        for run in case["runs"]
        if run["status"] == 200
        and (not binding or run["requestHeaders"].get("Accept") == accept[binding])
    ]


def _content_type(run: dict[str, Any]) -> str:
    return str(run["responseHeaders"].get("content-type", ""))


def _rules(runs: list[dict[str, Any]]) -> set[str]:
    return {f["rule"] for run in runs for f in run["findings"]}


def test_the_suite_negotiates_decodes_and_judges_the_official_encoders_protobuf(
    official_agent: str, tmp_path: Path
) -> None:
    binary = _suite(official_agent, "protobuf", tmp_path)
    runs = _runs(binary, "protobuf")
    assert len(runs) > 30 and all(_content_type(r) == PROTO for r in runs)
    events = runs[0]["events"]
    kinds = [e["type"] for e in events]
    assert kinds[:3] == ["RUN_STARTED", "STATE_SNAPSHOT", "TEXT_MESSAGE_START"]
    assert kinds[-1] == "RUN_FINISHED" and len(kinds) == 12
    assert events[-1]["runId"] == runs[0]["request"]["runId"]  # decoded, ids intact
    deltas = [e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT"]
    assert "".join(deltas) == "Hello from the official encoder."
    assert not {rule for rule in _rules(runs) if rule.startswith("proto-")}, _rules(runs)
    exercised = {r["rule"] for r in binary["requirements"] if r["exercised"]}
    assert "proto-content-type-inexact" in exercised  # judged on protobuf answers
    served = re.search(
        r"binding protobuf: protobuf served to (\d+) of (\d+) runs", binary["stdout"]
    )
    assert served is not None and served[1] == served[2], binary["stdout"][-500:]


def test_the_official_encoder_gives_the_same_verdict_on_both_bindings(
    official_agent: str, tmp_path: Path
) -> None:
    sse = _suite(official_agent, "sse", tmp_path)
    assert all(_content_type(r).startswith("text/event-stream") for r in _runs(sse, "sse"))

    def verdicts(report: dict[str, Any]) -> dict[str, Any]:
        return {
            case["id"]: (case["status"], sorted(_rules(case["runs"]))) for case in report["cases"]
        }

    binary = _suite(official_agent, "protobuf", tmp_path)
    assert verdicts(binary) == verdicts(sse)


def test_the_official_encoder_follows_accept_in_the_negotiation_case(
    official_agent: str, tmp_path: Path
) -> None:
    report = _suite(official_agent, "both", tmp_path)
    negotiation = next(c for c in report["cases"] if c["id"] == "binding-negotiation")
    served = [_content_type(run) for run in negotiation["runs"]]
    sse = "text/event-stream"
    # SSE only; both named; */*; application/*; down-ranked but positive; excluded with q=0
    assert served == [sse, PROTO, PROTO, PROTO, PROTO, sse], served
    assert not {rule for rule in _rules(negotiation["runs"]) if rule.startswith("proto-")}
    minimal = next(c for c in report["cases"] if c["id"] == "minimal-input")
    assert [_content_type(r) for r in minimal["runs"]] == [sse, PROTO]
    exercised = {r["rule"] for r in report["requirements"] if r["exercised"]}
    assert {"proto-binding-differs", "proto-not-served", "proto-not-admitted"} <= exercised
