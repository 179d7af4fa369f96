"""Formatters: a ValidationResult in, text for people or machines out.

They only read findings; they never validate anything themselves. Every `--format` a
command offers is registered in `agui_conformance.report.formats`.
"""

from agui_conformance.report.json_report import to_json
from agui_conformance.report.sarif import to_sarif
from agui_conformance.report.text import to_text

__all__ = ["to_json", "to_sarif", "to_text"]
