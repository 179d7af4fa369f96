"""The profiles, rule categories and HTTP bindings by name: constants with no imports, so
that the pytest plugin can register its options and markers without loading the catalog
(pytest loads the plugin in every run where agui-conformance is installed)."""

from __future__ import annotations

PROFILES: tuple[str, ...] = ("spec", "strict", "legacy-client", "cometchat")

# What `run --binding` / `pytest --agui-binding` take (agui_conformance.bindings).
BINDINGS: tuple[str, ...] = ("sse", "protobuf", "both")

CATEGORIES: tuple[str, ...] = (
    "schema",
    "lifecycle",
    "identity",
    "versioning",
    "text",
    "tool-calls",
    "streaming",
    "chunks",
    "state",
    "messages",
    "activity",
    "reasoning",
    "subagents",
    "interrupts",
    "usage",
    "metadata",
    "passthrough",
    "framing",
    "transport",
    "capabilities",
    "agent",
    "isolation",
    "advisory",
    "case",
)
