"""`agui-conformance validate` starts quickly: it imports only what validating needs.

pydantic (the suite's report models, ~100 ms to import), python-jsonschema (it explains
failures), jinja2 (HTML), httpx (live runs), hypothesis and asyncio belong to other
paths; the compiled schema validators (jsonschema-rs) load only once an event is more than
simple members (`benchmarks/validate_startup.py` times the whole process next to
ag-ui-validate). PyYAML is imported for the triggers (`exercise`: what a recording
exercised) and, once a stream draws a finding, the rule catalog.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NEVER = {"pydantic", "jsonschema", "jinja2", "httpx", "hypothesis", "asyncio"}
RS = {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"}
EVENTS = [
    RS,
    {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant", "timestamp": 1},
    {"type": "TEXT_MESSAGE_END", "messageId": "m", "timestamp": 2},
    {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
]


def _loaded(path: Path, *args: str) -> tuple[set[str], int]:
    """The top-level modules loaded by one `validate` (in a fresh process), and its exit."""
    code = (
        "import sys, json\n"
        "from agui_conformance.cli import main\n"
        f"sys.argv = ['agui-conformance', 'validate', {str(path)!r}, *{list(args)!r}]\n"
        "try:\n    main()\nexcept SystemExit as end:\n    status = end.code\n"
        "print(json.dumps([sorted({m.split('.')[0] for m in sys.modules}), status]),"
        " file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    modules, status = json.loads(done.stderr.strip().splitlines()[-1])
    return set(modules), status


def _write(path: Path, events: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("fmt", "also_never"),
    [("text", {"jsonschema_rs"}), ("json", {"jsonschema_rs"}), ("sarif", {"jsonschema_rs"})],
)
def test_validating_a_conformant_recording_imports_no_heavy_library(
    tmp_path: Path, fmt: str, also_never: set[str]
) -> None:
    modules, status = _loaded(_write(tmp_path / "ok.jsonl", EVENTS), "--format", fmt)
    assert status == 0
    assert not modules & (NEVER | also_never), modules & (NEVER | also_never)


def test_a_finding_loads_the_catalog_but_no_models(tmp_path: Path) -> None:
    stream = [{k: v for k, v in RS.items() if k != "protocolVersion"}, *EVENTS[1:]]
    modules, status = _loaded(_write(tmp_path / "finding.jsonl", stream))
    assert status == 1  # version-missing is an error
    assert not modules & NEVER, modules & NEVER


def test_an_event_beyond_simple_members_compiles_its_schema(tmp_path: Path) -> None:
    outcome = {**EVENTS[-1], "outcome": {"type": "success"}}
    modules, status = _loaded(_write(tmp_path / "outcome.jsonl", [*EVENTS[:-1], outcome]))
    assert status == 0
    assert "jsonschema_rs" in modules
    assert not modules & NEVER, modules & NEVER
