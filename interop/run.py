"""Interop: run the conformance suite against real third-party AG-UI stacks, offline.

For each target: a venv of its own (interop/.venvs/TARGET) with the target's pinned
requirements and this project, our small server on a free loopback port (the stack driven
by a scripted fake model: no keys, no network at run time), `agui-conformance run` against
it, then the server stopped. docs/INTEROP.md is generated from the results and the triage
(interop/triage.yaml).

    python interop/run.py                 # every target, then the doc
    python interop/run.py sdk             # one target
    python interop/run.py --report-only   # re-render docs/INTEROP.md from interop/results/
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DOC = ROOT / "docs" / "INTEROP.md"
SEED = 7
EXAMPLES = 10

# target -> (what it is, the path the agent is served at)
TARGETS: dict[str, tuple[str, str]] = {
    "sdk": ("the official `ag-ui-protocol` SDK: event models + EventEncoder on FastAPI", "/"),
    "pydantic-ai": ("pydantic-ai's AG-UI adapter (`AGUIApp`) with a `FunctionModel`", "/"),
    "langgraph": (
        "LangGraph through `ag-ui-langgraph`, a fake chat model from langchain_core",
        "/",
    ),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def venv(target: str) -> Path:
    """The target's venv, created and installed once (pinned requirements + this project)."""
    folder = HERE / ".venvs" / target
    python = folder / "bin" / "python"
    stamp = folder / ".installed"
    requirements = HERE / target / "requirements.txt"
    wanted = requirements.read_text() + str(ROOT)
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(requirements)], check=True, timeout=1200)
    subprocess.run([*pip, "-e", str(ROOT)], check=True, timeout=1200)
    stamp.write_text(wanted)
    return python


def wait_ready(url: str, process: subprocess.Popen[bytes], deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2):
            return
        time.sleep(0.3)
    raise RuntimeError(f"the server did not answer {url} within {deadline:.0f} s")


def run_target(target: str) -> dict[str, Any]:
    python = venv(target)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = HERE / "logs"
    logs.mkdir(exist_ok=True)
    with open(logs / f"{target}.log", "wb") as log:
        server = subprocess.Popen(
            [str(python), str(HERE / target / "server.py"), "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            wait_ready(base + "/health", server)
            out = RESULTS / f"{target}.json"
            RESULTS.mkdir(exist_ok=True)
            command = [
                str(python.parent / "agui-conformance"), "run",
                "--agent-url", base + TARGETS[target][1],
                "--examples", str(EXAMPLES), "--seed", str(SEED),
                "--json", str(out), "--html", str(logs / f"{target}.html"),
            ]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, timeout=1200)
            print(done.stdout[-3000:])
            if done.returncode == 2:
                raise RuntimeError(f"agui-conformance failed: {done.stderr[-2000:]}")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
    # the whole report, transcripts included, stays in logs/ (not committed)
    (logs / f"{target}.full.json").write_bytes(out.read_bytes())
    report: dict[str, Any] = json.loads(out.read_text())
    for case in report.get("cases", []):  # keep what the doc reads; transcripts stay in logs/
        for run in case.get("runs", []):
            for bulky in ("events", "eventTimesMs", "request", "requestHeaders"):
                run.pop(bulky, None)
    report["interop"] = {
        "target": target,
        "pinned": (HERE / target / "requirements.txt").read_text().split(),
        "ranAt": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out.write_text(json.dumps(report, indent=1))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=[], help=", ".join(TARGETS))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        for target in args.targets or list(TARGETS):
            print(f"== {target}")
            try:
                run_target(target)
            except (RuntimeError, subprocess.SubprocessError) as err:
                print(f"{target}: {err}", file=sys.stderr)
    from report import render

    DOC.write_text(render(RESULTS, HERE / "triage.yaml", TARGETS))
    print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
