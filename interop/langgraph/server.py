"""LangGraph served through the official `ag-ui-langgraph` integration
(`LangGraphAgent` + `add_langgraph_fastapi_endpoint`). The graph has one node calling a fake
chat model (a langchain_core `BaseChatModel` that streams what interop/fake_model.py decides);
a call to a frontend tool arrives whole, with its complete arguments in the model's FIRST
chunk, and ends the graph so the client runs the tool.

    python interop/langgraph/server.py --port 8000
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from ag_ui_langgraph import LangGraphAgent, add_langgraph_fastapi_endpoint
from fastapi import FastAPI
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from pydantic import Field

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fake_model import decide

ROLES = {"human": "user", "ai": "assistant", "tool": "tool", "system": "system"}


class ScriptedChat(BaseChatModel):
    """A chat model without a model: streams the fake model's decision."""

    tools: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _chunks(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        history = [{"role": ROLES.get(m.type, m.type), "content": m.content} for m in messages]
        plan = decide(history, self.tools)
        if plan["kind"] == "tool":
            # the complete arguments in the first (and only) chunk
            yield AIMessageChunk(
                content="",
                tool_call_chunks=[{
                    "name": plan["name"], "args": json.dumps(plan["args"]),
                    "id": f"call-{uuid.uuid4().hex[:12]}", "index": 0,
                }],
            )  # fmt: skip
            return
        for piece in plan["chunks"]:
            yield AIMessageChunk(content=piece)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            generation = ChatGenerationChunk(message=chunk)
            if run_manager is not None:
                run_manager.on_llm_new_token(str(chunk.content), chunk=generation)
            yield generation

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        merged: AIMessageChunk | None = None
        for chunk in self._chunks(messages):
            merged = chunk if merged is None else merged + chunk
        message = (
            AIMessage(content="")
            if merged is None
            else AIMessage(content=merged.content, tool_calls=merged.tool_calls, id=merged.id)
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


class State(MessagesState):
    tools: list[Any]


def chat(state: State) -> dict[str, Any]:
    tools = [t if isinstance(t, dict) else dict(t) for t in state.get("tools") or []]
    return {"messages": [ScriptedChat(tools=tools).invoke(state["messages"])]}


builder = StateGraph(State)
builder.add_node("chat", chat)
builder.add_edge(START, "chat")
builder.add_edge("chat", END)
graph = builder.compile(checkpointer=InMemorySaver())

app = FastAPI()
add_langgraph_fastapi_endpoint(app, LangGraphAgent(name="scripted", graph=graph), "/")

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
