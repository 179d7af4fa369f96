"""Generates docs/rules/*.md and docs/coverage.md from the rule catalog.

Owns the documentation that must never drift from the code: one page per
rule, an index, and the coverage map of the AG-UI 1.1 requirements
inventory (SPEC-NOTES.md section 2.1) and the official corpus. The inventory
and the corpus live in ../shared (not on users' machines), so the generated
files are checked in and a test regenerates them to compare.

    python -m agui_conformance.docs_gen [--shared ../shared] [--check]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from agui_conformance.rules import PROFILES, Rule, catalog

ROOT = Path(__file__).resolve().parents[1]
_ROW = re.compile(r"^\| ([A-Z]+-\d{3}) \| ([A-Z†]+) \| (.*) \| (https://\S+) \| (.*) \|$")
CHECKABLE = ("stream", "request+stream")


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    text: str
    url: str
    check: str

    @property
    def kind(self) -> str:
        return self.check.split(" ")[0]


def read_inventory(spec_notes: Path) -> list[Requirement]:
    """The rows of SPEC-NOTES.md section 2.1 (producer and transport requirements)."""
    rows = []
    in_section = False
    for line in spec_notes.read_text(encoding="utf-8").splitlines():
        if line.startswith("### 2.1"):
            in_section = True
        elif line.startswith("### 2.2"):
            break
        match = _ROW.match(line.strip()) if in_section else None
        if match:
            rows.append(Requirement(*match.groups()))
    return rows


def coverage_notes() -> dict[str, str]:
    text = resources.files("agui_conformance.rules").joinpath("coverage-notes.yaml")
    data = yaml.safe_load(text.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in (data or {}).items()}


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rule_page(rule: Rule, inventory: dict[str, Requirement]) -> str:
    lines = [f"# `{rule.id}`", "", f"**{rule.title}**", ""]
    levels = ", ".join(f"{p}: {rule.level(p).value}" for p in PROFILES if rule.applies_to(p))
    lines += [
        "| | |",
        "| --- | --- |",
        f"| strength | {rule.strength.value}{' (advisory)' if rule.advisory else ''}"
        f"{' (heuristic)' if rule.heuristic else ''} |",
        f"| level by profile | {levels} |",
        f"| category | {rule.category} |",
        f"| needs | {rule.kind} |",
        f"| spec | <{rule.url}> |",
        "",
        "## How to fix it",
        "",
        rule.hint,
        "",
    ]
    if rule.description:
        lines += ["## Reading", "", rule.description, ""]
    if rule.advisory:
        lines += [
            "This is an advisory check: it goes beyond the spec's own words to catch a bug "
            "real agents ship, at the level the spec supports.",
            "",
        ]
    if rule.heuristic:
        lines += [
            "This check is a heuristic (a pattern match): it reports information under "
            "the `spec` profile and a warning under `strict`.",
            "",
        ]
    for title, ids in (
        ("Requirements it checks", rule.checks),
        ("Legal traffic it must not flag", rule.respects),
    ):
        if not ids:
            continue
        lines += [f"## {title}", "", "| id | level | requirement |", "| --- | --- | --- |"]
        for rid in ids:
            req = inventory.get(rid)
            if req is None:
                lines.append(f"| {rid} | | |")
            else:
                lines.append(f"| [{rid}]({req.url}) | {req.level} | {_md(req.text)} |")
        lines.append("")
    lines += [
        "## Proof",
        "",
        f"[`tests/fixtures/rules/{rule.id}.yaml`](../../tests/fixtures/rules/{rule.id}.yaml) holds "
        "streams that violate exactly this rule (the test asserts the rule id and the event "
        "index) and legal streams that must draw no finding at all.",
        "",
    ]
    return "\n".join(lines)


def rules_index(rules: list[Rule]) -> str:
    lines = [
        "# Rules",
        "",
        f"{len(rules)} rules, generated from `agui_conformance/rules/catalog.yaml` by "
        "`python -m agui_conformance.docs_gen`. Levels are under the default `spec` profile "
        "(MUST → error, SHOULD → warning, MAY and heuristics → info).",
        "",
        "| rule | level | category | title |",
        "| --- | --- | --- | --- |",
    ]
    for rule in rules:
        lines.append(
            f"| [`{rule.id}`]({rule.id}.md) | {rule.level('spec').value} | {rule.category} "
            f"| {_md(rule.title)} |"
        )
    return "\n".join(lines) + "\n"


def coverage_page(
    rules: list[Rule],
    inventory: list[Requirement],
    notes: dict[str, str],
    corpus: dict[str, dict[str, object]] | None,
) -> str:
    checks: dict[str, list[str]] = {}
    guards: dict[str, list[str]] = {}
    for rule in rules:
        for rid in rule.checks:
            checks.setdefault(rid, []).append(rule.id)
        for rid in rule.respects:
            guards.setdefault(rid, []).append(rule.id)
    checkable = [r for r in inventory if r.kind in CHECKABLE]
    covered = [r for r in checkable if r.id in checks or r.id in guards]
    pct = 100.0 * len(covered) / len(checkable) if checkable else 0.0
    lines = [
        "# Coverage of the AG-UI 1.1 requirements",
        "",
        "Generated by `python -m agui_conformance.docs_gen` from the rule catalog and the "
        "requirements inventory of SPEC-NOTES.md (section 2.1). A requirement is *covered* "
        "when a rule decides it, or, for a MAY row that bounds behaviour, when a rule is "
        "calibrated against it and a fixture proves the legal traffic draws no finding "
        "(*guarded*).",
        "",
        f"**Stream-checkable requirements (check kinds `stream`, `request+stream`): "
        f"{len(covered)} of {len(checkable)} covered ({pct:.1f}%).**",
        "",
        "| area | checkable | covered |",
        "| --- | --- | --- |",
    ]
    areas = Counter(r.id.split("-")[0] for r in checkable)
    done = Counter(r.id.split("-")[0] for r in covered)
    for area in sorted(areas):
        lines.append(f"| {area} | {areas[area]} | {done[area]} |")
    lines += [
        "",
        "## Every requirement",
        "",
        "| id | level | check | rules | requirement |",
        "| --- | --- | --- | --- | --- |",
    ]
    for req in inventory:
        cells = [f"`{r}`" for r in checks.get(req.id, [])]
        cells += [f"`{r}` (guarded: must not flag)" for r in guards.get(req.id, [])]
        if cells:
            status = ", ".join(cells)
        else:
            status = "not covered: " + notes.get(req.id, _default_reason(req))
        lines.append(
            f"| [{req.id}]({req.url}) | {req.level} | {_md(req.check)} | {_md(status)} "
            f"| {_md(req.text)} |"
        )
    if corpus is not None:
        lines += _corpus_table(corpus)
    return "\n".join(lines) + "\n"


def _default_reason(req: Requirement) -> str:
    if req.kind == "live":
        return "needs the live HTTP exchange; checked by the live runner (`agui-conformance run`)."
    if req.kind == "no":
        return req.check.removeprefix("no ").strip("()") + "."
    return "no rule yet."


def _corpus_table(corpus: dict[str, dict[str, object]]) -> list[str]:
    lines = [
        "",
        "## The official conformance corpus",
        "",
        "The 68 streams of `spec/1.1/conformance/streams/` run as a parametrized test "
        "(`tests/test_corpus.py`) against our verdict for each, read as a *producer's* stream "
        "(`tests/corpus_expectations.yaml`): `violation` streams draw the named error at the "
        "named event, `valid` streams draw no error, `quiet` streams draw nothing at all. "
        "Streams whose `RUN_STARTED` omits `protocolVersion` also draw `version-missing`.",
        "",
        "| fixture | our verdict | rules | event |",
        "| --- | --- | --- | --- |",
    ]
    for name, exp in sorted(corpus.items()):
        rules = exp.get("rules") or []
        shown = ", ".join(f"`{r}`" for r in rules)  # type: ignore[union-attr]
        index = exp.get("index", "")
        lines.append(f"| {name} | {exp.get('verdict')} | {shown} | {index} |")
    na = {n: e for n, e in corpus.items() if e.get("verdict") == "consumer-only"}
    lines += [
        "",
        "### Not applicable to a producer",
        "",
        "These fixtures test only what a client does (era compatibility shims, the shape of "
        "its outgoing request, its warnings). We still run their streams and check the "
        "findings listed above, but the fixture's own expectation is not ours to meet.",
        "",
        "| fixture | why |",
        "| --- | --- |",
    ]
    for name, exp in sorted(na.items()):
        lines.append(f"| {name} | {_md(str(exp.get('reason', '')))} |")
    return lines


def generate(shared: Path) -> dict[str, str]:
    """Every generated file, by path relative to the repository root."""
    rules = list(catalog().values())
    inventory = read_inventory(shared / "SPEC-NOTES.md")
    by_id = {r.id: r for r in inventory}
    corpus_file = ROOT / "tests" / "corpus_expectations.yaml"
    corpus = (
        yaml.safe_load(corpus_file.read_text(encoding="utf-8")) if corpus_file.exists() else None
    )
    files = {f"docs/rules/{r.id}.md": rule_page(r, by_id) for r in rules}
    files["docs/rules/README.md"] = rules_index(rules)
    files["docs/coverage.md"] = coverage_page(rules, inventory, coverage_notes(), corpus)
    return files


def stale(files: dict[str, str], root: Path = ROOT) -> list[str]:
    """Generated files that differ from what is on disk, plus orphan rule pages."""
    out = [
        p
        for p, text in files.items()
        if not (root / p).exists() or (root / p).read_text(encoding="utf-8") != text
    ]
    for page in sorted((root / "docs" / "rules").glob("*.md")):
        rel = page.relative_to(root).as_posix()
        if rel not in files:
            out.append(rel)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/rules and docs/coverage.md.")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--check", action="store_true", help="exit 1 if any file is stale")
    args = parser.parse_args(argv)
    if not (args.shared / "SPEC-NOTES.md").exists():
        print(f"error: {args.shared / 'SPEC-NOTES.md'} not found (pass --shared)", file=sys.stderr)
        return 2
    files = generate(args.shared)
    changed = stale(files)
    if args.check:
        for path in changed:
            print(f"stale: {path}")
        return 1 if changed else 0
    for page in (ROOT / "docs" / "rules").glob("*.md"):
        if page.relative_to(ROOT).as_posix() not in files:
            page.unlink()
    for path, text in files.items():
        target = ROOT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files ({len(changed)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
