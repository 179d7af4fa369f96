"""The JSON report's schema is generated from the typed records and kept in step."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from agui_conformance.cli import main
from agui_conformance.model import load_report, report_schema
from agui_conformance.report.json_report import report_to_json

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schemas" / "report.schema.json"


def test_checked_in_report_schema_is_current() -> None:
    checked_in = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert checked_in == report_schema(), (
        "stale: python -m agui_conformance.model > schemas/report.schema.json"
    )


def test_run_json_report_validates_against_its_schema(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        main,
        ["run", "--examples", "3", "--seed", "1", "--json", str(out), "--no-html"],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    report = json.loads(text)
    jsonschema.Draft202012Validator(report_schema()).validate(report)
    # the one writer and the records agree: read back, it is written the same
    assert report_to_json(load_report(text)) == text
    assert report["tool"]["name"] == "agui-conformance"
    assert {c["status"] for c in report["cases"]} <= {"passed", "not-applicable"}


def test_urls_with_credentials_are_redacted() -> None:
    from agui_conformance.transport import redact_url

    assert redact_url("https://user:pw@agent.example.com:8443/agui") == (
        "https://***@agent.example.com:8443/agui"
    )
    assert redact_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000/"
