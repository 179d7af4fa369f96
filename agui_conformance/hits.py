"""The raw result of a check: which rule broke, where, and why.

A `Hit` is what every checker (schema, SSE framing, sequence machine) yields.
It knows nothing of levels or profiles: the validator turns hits into
`Finding`s by looking the rule up in the catalog. Keeping checks free of
presentation is what lets the same check run under every profile.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule broken once.

    rule: a rule id from the catalog (`agui_conformance/rules/catalog.yaml`).
    index: the 0-based index of the offending event in the stream, or None
        for findings about the stream as a whole (e.g. truncation).
    message: what the agent did, in one sentence, naming ids and values.
    pointer: a JSON pointer into the offending event ("" = the whole event).
    """

    rule: str
    index: int | None
    message: str
    pointer: str | None = None
