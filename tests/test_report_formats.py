"""One registry writes every report: `run`'s files, `proxy`'s and the pytest face's come
from `report.formats.REPORT_FORMATS`, so a format behaves the same whichever face wrote it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from agui_conformance.cli import main
from agui_conformance.report import formats

pytest_plugins = ["pytester"]


def test_every_report_format_is_registered_in_one_place() -> None:
    assert set(formats.REPORT_FORMATS) == {"text", "json", "junit", "sarif", "html", "github"}
    assert formats.PRINTED_FORMATS == ("github",)


def _marked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file format renders a marker naming itself: what is written came from here."""
    for name in ("json", "junit", "sarif", "html"):
        entry = formats.REPORT_FORMATS[name]
        marker = f"from the registry: {name}"
        fake = formats.ReportFormat(lambda _r, _a, marker=marker: marker, entry.label)
        monkeypatch.setitem(formats.REPORT_FORMATS, name, fake)


def test_run_writes_every_file_through_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _marked(monkeypatch)
    paths = {name: tmp_path / f"r.{name}" for name in ("json", "junit", "sarif", "html")}
    args = ["run", "--case", "minimal-input", "--examples", "0"]
    for name, path in paths.items():
        args += [f"--{name}", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for name, path in paths.items():
        assert path.read_text() == f"from the registry: {name}"
        assert f"{formats.REPORT_FORMATS[name].label}: {path}" in result.output


def test_the_html_page_is_the_registrys_html(tmp_path: Path) -> None:
    """The real entry: run's page is the report rendered by the registered `html`."""
    from agui_conformance.model import load_report

    page, data = tmp_path / "r.html", tmp_path / "r.json"
    args = ["run", "--case", "minimal-input", "--examples", "0"]
    result = CliRunner().invoke(main, [*args, "--html", str(page), "--json", str(data)])
    assert result.exit_code == 0, result.output
    report = load_report(data.read_text())
    again = formats.render_report("html", report)
    assert again.split("<body", 1)[1] == page.read_text().split("<body", 1)[1]


def test_the_pytest_face_writes_through_the_registry(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makeconftest(
        "from agui_conformance.report import formats\n"
        "for _name in ('json', 'html'):\n"
        "    formats.REPORT_FORMATS[_name] = formats.ReportFormat(\n"
        "        lambda _r, _a, n=_name: 'from the registry: ' + n, _name)\n"
    )
    page, data = tmp_path / "p.html", tmp_path / "p.json"
    # its own process: the conftest replaces registry entries for that session only
    result = pytester.runpytest_subprocess(
        "--agui-reference", "--agui-examples", "0", "-k", "minimal-input",
        f"--agui-html={page}", f"--agui-json={data}", "-p", "no:randomly",
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str()
    assert page.read_text() == "from the registry: html"
    assert data.read_text() == "from the registry: json"
