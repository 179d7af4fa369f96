"""The scripted "model" every interop server drives its stack with: no network, no keys.

Given the conversation and the tools the client offered, it decides what a model would:
answer a tool result, call the first offered tool, or reply with text. Deterministic, so a
run can be reproduced event for event. Stdlib only: each target imports it from its own venv.
"""

from __future__ import annotations

from typing import Any


def last(messages: list[Any], role: str) -> dict[str, Any] | None:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == role:
            return message
    return None


def text_of(message: dict[str, Any] | None) -> str:
    if message is None:
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def example_args(parameters: Any) -> dict[str, Any]:
    """Arguments that satisfy a simple JSON Schema: required properties, first enum value."""
    if not isinstance(parameters, dict):
        return {}
    props = parameters.get("properties") if isinstance(parameters.get("properties"), dict) else {}
    out: dict[str, Any] = {}
    for name in parameters.get("required") or list(props)[:1]:
        spec = props.get(name, {}) if isinstance(props, dict) else {}
        kind = spec.get("type") if isinstance(spec, dict) else None
        if isinstance(spec, dict) and spec.get("enum"):
            out[name] = spec["enum"][0]
        elif kind in ("integer", "number"):
            out[name] = 1
        elif kind == "boolean":
            out[name] = True
        else:
            out[name] = "Oslo"
    return out


def decide(messages: list[Any], tools: list[Any]) -> dict[str, Any]:
    """{"kind": "text", "chunks": [...]} or {"kind": "tool", "name": ..., "args": {...}}."""
    final = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    if final.get("role") == "tool":
        result = text_of(final)[:200]
        return {"kind": "text", "chunks": ["The tool ", "returned: ", result or "(nothing)"]}
    if tools:
        tool = tools[0] if isinstance(tools[0], dict) else {}
        return {
            "kind": "tool",
            "name": str(tool.get("name", "tool")),
            "args": example_args(tool.get("parameters")),
        }
    said = text_of(last(messages, "user"))[:200] or "hello"
    return {"kind": "text", "chunks": ["You ", "said: ", said]}
