"""Formatters: a Report in, text for people or machines out.

They only read the Report; they never validate anything themselves. Every format a
command offers is registered in `agui_conformance.report.formats`.
"""

from agui_conformance.report.formats import REPORT_FORMATS, ReportFormat, render_report

__all__ = ["REPORT_FORMATS", "ReportFormat", "render_report"]
