"""docs/INTEROP.md's generator (interop/report.py): no installs, no network."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _report_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("interop_report", ROOT / "interop" / "report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _result(findings: list[dict[str, object]]) -> dict[str, object]:
    return {
        "seed": 7,
        "profile": "spec",
        "summary": {"cases": {"failed": 1}, "conformance": "none"},
        "requirements": [
            {"rule": "version-missing", "category": "versioning", "status": "failed"},
            {"rule": "lifecycle-first-event", "category": "lifecycle", "status": "passed"},
        ],
        "cases": [{"id": "minimal-input", "runs": [{"findings": findings}]}],
        "interop": {"pinned": ["stack==1.0"], "ranAt": "2026-11-25T00:00:00+00:00"},
    }


def test_findings_without_triage_are_flagged(tmp_path: Path) -> None:
    render = _report_module().render
    finding = {"rule": "version-missing", "level": "error", "message": "no version", "index": 0}
    (tmp_path / "stack.json").write_text(json.dumps(_result([finding])))
    triage = tmp_path / "triage.yaml"
    triage.write_text("{}")
    targets = {"stack": ("a stack", "/")}
    doc = render(tmp_path, triage, targets)
    assert "**UNTRIAGED**" in doc and "Untriaged findings: 1." in doc
    assert "| versioning | FAIL (1) |" in doc and "| lifecycle | pass |" in doc
    triage.write_text("stack:\n  version-missing: {verdict: deviation, note: RUN_STARTED lacks it}")
    doc = render(tmp_path, triage, targets)
    assert "**deviation**" in doc and "RUN_STARTED lacks it" in doc
    assert "Untriaged findings: 0." in doc


def test_the_committed_doc_is_what_the_committed_results_render() -> None:
    module = _report_module()
    spec = importlib.util.spec_from_file_location("interop_run", ROOT / "interop" / "run.py")
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    rendered = module.render(ROOT / "interop" / "results", ROOT / "interop" / "triage.yaml",
                             run.TARGETS)  # fmt: skip
    assert (ROOT / "docs" / "INTEROP.md").read_text() == rendered, (
        "python interop/run.py --report-only"
    )
    assert "UNTRIAGED" not in rendered
