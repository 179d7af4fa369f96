"""Formatters: a Report in, text for people or machines out.

They only read the Report; they never validate anything themselves. Every format a
command offers is registered in `agui_conformance.report.formats`.
"""

from agui_conformance.report.formats import FORMATS, Options, render

__all__ = ["FORMATS", "Options", "render"]
