"""An agent built on the official `ag-ui-protocol` SDK: its event models and EventEncoder,
served with FastAPI, the way the SDK's own examples do; the "model" is scripted
(interop/fake_model.py).

    python interop/sdk/server.py --port 8000   # POST RunAgentInput to http://127.0.0.1:8000/
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from ag_ui.core import (
    PROTOCOL_VERSION,
    RunAgentInput,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
)
from ag_ui.encoder import EventEncoder
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fake_model import decide

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/")
async def run(request: Request) -> object:
    try:
        body = json.loads(await request.body())
        run_input = RunAgentInput.model_validate(body)
    except json.JSONDecodeError as err:
        return JSONResponse({"error": f"malformed JSON: {err.msg}"}, status_code=400)
    except ValidationError as err:
        return JSONResponse(
            {
                "error": "invalid RunAgentInput",
                "detail": err.errors(include_url=False, include_context=False, include_input=False),
            },
            status_code=422,
        )
    encoder = EventEncoder(accept=request.headers.get("accept"))
    return StreamingResponse(events(run_input, encoder), media_type=encoder.get_content_type())


async def events(run_input: RunAgentInput, encoder: EventEncoder) -> AsyncIterator[str]:
    thread_id, run_id = run_input.thread_id, run_input.run_id
    yield encoder.encode(
        RunStartedEvent(thread_id=thread_id, run_id=run_id, protocol_version=PROTOCOL_VERSION)
    )
    try:
        messages = [m.model_dump(by_alias=True) for m in run_input.messages]
        tools = [t.model_dump(by_alias=True) for t in (run_input.tools or [])]
        plan = decide(messages, tools)
        message_id = f"msg-{uuid.uuid4().hex[:12]}"
        if plan["kind"] == "tool":
            call_id = f"call-{uuid.uuid4().hex[:12]}"
            yield encoder.encode(
                ToolCallStartEvent(
                    tool_call_id=call_id,
                    tool_call_name=plan["name"],
                    parent_message_id=message_id,
                )
            )
            args = json.dumps(plan["args"])
            for piece in (args[: len(args) // 2], args[len(args) // 2 :]):
                yield encoder.encode(ToolCallArgsEvent(tool_call_id=call_id, delta=piece))
            yield encoder.encode(ToolCallEndEvent(tool_call_id=call_id))
            yield encoder.encode(
                RunFinishedEvent(
                    thread_id=thread_id,
                    run_id=run_id,
                    outcome={"type": "success", "pendingToolCallIds": [call_id]},
                )
            )
            return
        yield encoder.encode(TextMessageStartEvent(message_id=message_id, role="assistant"))
        for chunk in plan["chunks"]:
            yield encoder.encode(TextMessageContentEvent(message_id=message_id, delta=chunk))
        yield encoder.encode(TextMessageEndEvent(message_id=message_id))
        yield encoder.encode(RunFinishedEvent(thread_id=thread_id, run_id=run_id))
    except Exception:  # a run that fails mid-stream ends in RUN_ERROR
        yield encoder.encode(RunErrorEvent(message="The agent failed.", code="internal"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
