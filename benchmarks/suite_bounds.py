"""Peak memory and time of the whole suite (`agui-conformance run`, its JSON and HTML
reports written) against agents that stream valid events without end, each run in its
own child process (its peak RSS read with wait4), next to the same command against the
reference agent (the baseline: a suite that ends its runs).

    python benchmarks/suite_bounds.py [--agents small,8k,64k] [--examples 0]
                                      [--before PATH] [-- EXTRA RUN ARGS]

Agents, each served by uvicorn in a child process of its own on a free loopback port:
`small` (text deltas of 5 characters, 200 to a chunk: many tiny events), `8k` and `64k`
(deltas of 8 KB and 64 KB: few big events). `--before PATH` runs that checkout too
(e.g. `git worktree add /tmp/before <commit>`) and prints both side by side. Every child
runs under a 4 GB address-space limit and a 600 s deadline: a run that would eat the
machine or stall shows as "killed", one that died in a traceback as "traceback".
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from children import CLI, LIMIT, wait_bounded
from fastapi import Request  # resolved by FastAPI from the handler's (string) annotation

HERE = Path(__file__).resolve().parents[1]
DEADLINE = 600.0
DELTAS = {"small": ("loop ", 200), "8k": ("x" * 8192, 32), "64k": ("x" * 65536, 4)}


@dataclass
class Measure:
    seconds: float
    peak_mb: float
    json_mb: float
    html_mb: float
    status: str  # "exit N", "killed" or "traceback"


def serve(kind: str, port: int) -> None:
    """The endless agent `kind` (or the reference agent: `reference`) on `port`."""
    import asyncio
    import json

    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    if kind == "reference":
        from reference_agent.app import create_app

        uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="critical")
        return
    text, per_chunk = DELTAS[kind]
    app = FastAPI()

    def sse(event: dict[str, object]) -> bytes:
        return b"data: " + json.dumps(event).encode() + b"\n\n"

    @app.post("/")
    async def run(request: Request) -> StreamingResponse:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        thread, run_id = body.get("threadId"), body.get("runId")
        message = f"m-{run_id}"

        async def stream():  # type: ignore[no-untyped-def]
            yield sse({"type": "RUN_STARTED", "threadId": thread, "runId": run_id,
                       "protocolVersion": "1.1"})  # fmt: skip
            yield sse({"type": "TEXT_MESSAGE_START", "messageId": message, "role": "assistant"})
            chunk = sse({"type": "TEXT_MESSAGE_CONTENT", "messageId": message, "delta": text})
            chunk *= per_chunk
            while True:
                yield chunk
                await asyncio.sleep(0)

        return StreamingResponse(stream(), media_type="text/event-stream")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="critical")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _agent(kind: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, str(port)],
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return child, f"http://127.0.0.1:{port}/"
        time.sleep(0.1)
    child.kill()
    raise RuntimeError(f"the {kind} agent did not start")


def _run(tree: Path, url: str, args: list[str], folder: Path) -> Measure:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

    json_path, html_path, err = folder / "r.json", folder / "r.html", folder / "stderr"
    for path in (json_path, html_path):
        path.unlink(missing_ok=True)
    started = time.monotonic()
    with err.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", CLI, str(tree), "run", "--agent-url", url,
             "--json", str(json_path), "--html", str(html_path), *args],
            cwd=tree,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            preexec_fn=limit,  # only setrlimit between fork and exec
        )  # fmt: skip
        status, usage, killed = wait_bounded(child, started, DEADLINE, 0.05)
    child.returncode = code = os.waitstatus_to_exitcode(status)
    state = "killed" if killed or code < 0 else f"exit {code}"
    if "Traceback" in err.read_text("utf-8", "replace"):
        state = "traceback"

    def size(path: Path) -> float:
        return path.stat().st_size / 1e6 if path.exists() else 0.0

    return Measure(
        time.monotonic() - started, usage.ru_maxrss / 1024, size(json_path), size(html_path), state
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", nargs=2, metavar=("KIND", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--agents", default="small,8k,64k")
    parser.add_argument("--examples", default="0")
    parser.add_argument("--tree", type=Path, default=HERE)
    parser.add_argument("--before", type=Path)
    parser.add_argument("extra", nargs="*", help="more `run` options (after --)")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    run_args = ["--examples", args.examples, "--seed", "1", *args.extra]
    trees = [("before", args.before)] if args.before else []
    trees.append(("this tree" if args.before else str(args.tree), args.tree))
    with tempfile.TemporaryDirectory() as tmp:
        for name, tree in trees:
            assert tree is not None
            print(f"== {name} ({tree}); run {' '.join(run_args)}")
            for kind in ["reference", *args.agents.split(",")]:
                agent, url = _agent(kind)
                try:
                    m = _run(tree.resolve(), url, run_args, Path(tmp))
                finally:
                    agent.kill()
                    agent.wait()
                label = "reference agent (baseline)" if kind == "reference" else f"endless {kind}"
                print(
                    f"{label:28s} {m.seconds:7.1f} s {m.peak_mb:8.1f} MB peak RSS  "
                    f"JSON {m.json_mb:7.2f} MB  HTML {m.html_mb:6.2f} MB  {m.status}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
