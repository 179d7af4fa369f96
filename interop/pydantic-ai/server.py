"""pydantic-ai's AG-UI adapter (`AGUIAdapter.dispatch_request`) serving an `Agent` whose model is
a `FunctionModel` streaming what interop/fake_model.py decides: text in chunks, a call to the
first frontend tool the client offered, or a reply to a tool result.

    python interop/pydantic-ai/server.py --port 8000
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel
from pydantic_ai.ui.ag_ui import AGUIAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fake_model import decide


def _as_messages(history: list[ModelMessage]) -> list[dict[str, Any]]:
    """pydantic-ai's history in the shape the fake model reads (role + content)."""
    out: list[dict[str, Any]] = []
    for message in history:
        if not isinstance(message, ModelRequest):
            out.append({"role": "assistant", "content": ""})
            continue
        for part in message.parts:
            if isinstance(part, ToolReturnPart):
                out.append({"role": "tool", "content": str(part.content)})
            elif isinstance(part, UserPromptPart):
                text = (
                    part.content
                    if isinstance(part.content, str)
                    else " ".join(c for c in part.content if isinstance(c, str))
                )
                out.append({"role": "user", "content": text})
    return out


async def stream(
    history: list[ModelMessage], info: AgentInfo
) -> AsyncIterator[str | DeltaToolCalls]:
    tools = [{"name": t.name, "parameters": t.parameters_json_schema} for t in info.function_tools]
    plan = decide(_as_messages(history), tools)
    if plan["kind"] == "tool":
        args = json.dumps(plan["args"])
        half = len(args) // 2
        yield {0: DeltaToolCall(name=plan["name"], json_args=args[:half])}
        yield {0: DeltaToolCall(json_args=args[half:])}
        return
    for chunk in plan["chunks"]:
        yield chunk


agent = Agent(FunctionModel(stream_function=stream))


async def run(request: Request) -> Response:
    return await AGUIAdapter.dispatch_request(request, agent=agent)


async def health(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/", run, methods=["POST"]), Route("/health", health)])

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
