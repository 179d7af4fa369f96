"""Hypothesis strategies over the whole space of valid RunAgentInputs.

Owns generating inputs a conforming client may send (CONS-031: no unknown
members, no activity messages, protocolVersion declared or absent for a
pre-versioning peer): every message role, string and multi-part content with
every part and source kind, tools with real JSON Schemas, context, state of
any non-null JSON type, forwardedProps. The runner sends each with fresh
thread and run ids.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40)
_ident = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | _text
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_ident, inner, max_size=4),
    max_leaves=12,
)
non_null_json = json_values.filter(lambda v: v is not None)


def _ids(prefix: str) -> st.SearchStrategy[str]:
    return st.uuids().map(lambda u: f"{prefix}-{u.hex[:12]}")


_sources = st.one_of(
    st.builds(
        lambda v, m: {"type": "data", "value": v, "mimeType": m},
        st.sampled_from(["aGVsbG8=", "iVBORw0KGgo="]),
        st.sampled_from(["image/png", "audio/wav", "application/pdf"]),
    ),
    st.builds(
        lambda v: {"type": "url", "value": v},
        st.sampled_from(["https://example.invalid/a.png", "https://example.invalid/doc.pdf"]),
    ),
    st.builds(
        lambda v, p: {"type": "file", "value": v, "provider": p},
        st.sampled_from(["file-abc123", "files/xyz"]),
        st.sampled_from(["openai", "anthropic", "google"]),
    ),
)
_parts = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _text),
    st.builds(
        lambda kind, src: {"type": kind, "source": src},
        st.sampled_from(["image", "audio", "video", "document"]),
        _sources,
    ),
)
_multi = st.lists(_parts, min_size=1, max_size=3)


@st.composite
def messages(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A plausible conversation: any roles, tool messages answering earlier calls."""
    out: list[dict[str, Any]] = []
    open_calls: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        role = draw(
            st.sampled_from(
                ["developer", "system", "user", "user", "assistant", "tool", "reasoning"]
            )
        )
        mid = draw(_ids(role))
        if role in ("developer", "system"):
            out.append({"id": mid, "role": role, "content": draw(_text)})
        elif role == "user":
            content = draw(_text | _multi)
            out.append({"id": mid, "role": "user", "content": content})
        elif role == "assistant":
            message: dict[str, Any] = {"id": mid, "role": "assistant"}
            if draw(st.booleans()):
                message["content"] = draw(_text)
            if draw(st.booleans()):
                call_id = draw(_ids("call"))
                message["toolCalls"] = [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {
                            "name": draw(_ident),
                            "arguments": draw(st.sampled_from(["{}", '{"q": 1}'])),
                        },
                    }
                ]
                open_calls.append(call_id)
            out.append(message)
        elif role == "tool" and open_calls:
            tool: dict[str, Any] = {
                "id": mid,
                "role": "tool",
                "toolCallId": open_calls.pop(0),
                "content": draw(_text | _multi),
            }
            if draw(st.booleans()):
                tool["error"] = draw(_text)
            out.append(tool)
        elif role == "reasoning":
            reasoning: dict[str, Any] = {"id": mid, "role": "reasoning", "content": draw(_text)}
            if draw(st.booleans()):
                reasoning["encryptedValue"] = "b3BhcXVl"
            out.append(reasoning)
    out.append({"id": draw(_ids("user")), "role": "user", "content": draw(_text)})
    return out


_schema_props = st.dictionaries(
    _ident,
    st.sampled_from(
        [
            {"type": "string"},
            {"type": "integer"},
            {"type": "boolean"},
            {"type": "string", "enum": ["a", "b"]},
            {"type": "array", "items": {"type": "string"}},
        ]
    ),
    max_size=3,
)
tools = st.lists(
    st.builds(
        lambda name, desc, props: {
            "name": name,
            "description": desc,
            "parameters": {"type": "object", "properties": props, "required": sorted(props)[:1]},
        },
        _ident,
        _text,
        _schema_props,
    ),
    max_size=3,
    unique_by=lambda t: t["name"],
)


@st.composite
def run_agent_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid RunAgentInput (threadId and runId are placeholders the runner replaces)."""
    body: dict[str, Any] = {
        "threadId": "generated",
        "runId": "generated",
        "messages": draw(messages()),
    }
    version = draw(st.sampled_from(["1.1", "1.1", "1.0", None]))
    if version is not None:
        body["protocolVersion"] = version
    if draw(st.booleans()):
        body["state"] = draw(non_null_json)
    if draw(st.booleans()):
        body["tools"] = draw(tools)
    if draw(st.booleans()):
        body["context"] = draw(
            st.lists(
                st.builds(lambda d, v: {"description": d, "value": v}, _text, _text), max_size=2
            )
        )
    if draw(st.booleans()):
        body["forwardedProps"] = draw(non_null_json)
    return body
