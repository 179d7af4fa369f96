"""Generates docs/rules/*.md and docs/coverage.md from the rule catalog.

Owns the documentation that must never drift from the code: one page per
rule, an index, and the coverage map of the AG-UI 1.1 requirements
inventory (SPEC-NOTES.md section 2.1) and the official corpus. The inventory
and the corpus live in ../shared (not on users' machines), so the generated
files are checked in and a test regenerates them to compare.

    python -m agui_conformance.docs_gen [--spec-notes ../shared/SPEC-NOTES.md]
                                        [--corpus DIR] [--check]

Inputs: the catalog (`agui_conformance/rules/catalog.yaml`), the reasons for
uncovered rows (`agui_conformance/rules/coverage-notes.yaml`), the spec sentences
behind levels above a rule's cap (`agui_conformance/rules/level-exceptions.yaml`), the scenario
cases (`cases/*.yaml`, their `requirements`), the corpus verdicts
(`tests/corpus_expectations.yaml`, optional) and the corpus fixtures
themselves (optional).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from agui_conformance.model import Level, Strength
from agui_conformance.rules import PROFILES, Rule, catalog

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC_NOTES = ROOT.parent / "shared" / "SPEC-NOTES.md"
CORPUS_UNDER_SHARED = Path("agui-spec", "1.1", "conformance", "streams")
_ROW = re.compile(r"^\| ([A-Z]+-\d{3}) \| ([A-Z†]+) \| (.*) \| (https://\S+) \| (.*) \|$")
CHECKABLE = ("stream", "request+stream")
KINDS = ("stream", "request+stream", "live", "no")


@dataclass(frozen=True)
class Requirement:
    """One row of the inventory: id | level | requirement | where | check."""

    id: str
    level: str
    text: str
    url: str
    check: str

    @property
    def kind(self) -> str:
        """stream | request+stream | live | no (the check column's first word)."""
        return self.check.split(" ")[0]

    @property
    def area(self) -> str:
        return self.id.split("-")[0]


@dataclass(frozen=True)
class Quote:
    """A sentence of the spec, verbatim, and the page and anchor it is on."""

    url: str
    quote: str


@dataclass(frozen=True)
class LevelException:
    """A rule kept above its cap under `spec`, and the spec's words for it."""

    rule: str
    level: str
    sources: tuple[Quote, ...]
    why: str


@dataclass(frozen=True)
class Sources:
    """Everything the generated files are made from (so tests can pass their own)."""

    rules: list[Rule]
    inventory: list[Requirement]
    notes: dict[str, str]
    cases: dict[str, list[str]]  # inventory id -> ids of the scenario cases exercising it
    corpus: dict[str, dict[str, Any]] | None  # corpus_expectations.yaml, when present
    fixtures: dict[str, dict[str, Any]] | None  # corpus fixture name -> its JSON, when present
    exceptions: dict[str, LevelException] | None = None  # rule id -> level-exceptions.yaml


# ---------------------------------------------------------------- inputs


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
            rows.append(Requirement(*(public_text(group) for group in match.groups())))
    return rows


# The inventory's pointers to its own notes ("see §7 A-17"), which a reader of the
# generated pages cannot follow: the pages cite the spec's URLs instead.
_NOTE_REF = re.compile(r"\s*\(see §\d+ A-\d+[^)]*\)|;\s*see §\d+ A-\d+")


def public_text(text: str) -> str:
    """An inventory cell without the pointers to the inventory's own notes."""
    return _NOTE_REF.sub("", text)


def coverage_notes() -> dict[str, str]:
    text = resources.files("agui_conformance.rules").joinpath("coverage-notes.yaml")
    data = yaml.safe_load(text.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in (data or {}).items()}


def level_exceptions() -> dict[str, LevelException]:
    """level-exceptions.yaml, by rule id (a malformed entry raises; the test names it)."""
    text = resources.files("agui_conformance.rules").joinpath("level-exceptions.yaml")
    data = yaml.safe_load(text.read_text(encoding="utf-8")) or []
    found: dict[str, LevelException] = {}
    for entry in data:
        rule = str(entry["rule"])
        if rule in found:
            raise ValueError(f"level-exceptions.yaml: {rule} listed twice")
        sources = tuple(
            Quote(url=str(s.get("url") or ""), quote=str(s.get("quote") or "").strip())
            for s in entry.get("sources") or ()
        )
        found[rule] = LevelException(
            rule=rule,
            level=str(entry.get("level") or ""),
            sources=sources,
            why=str(entry.get("why") or "").strip(),
        )
    return found


_CAP_OF_LEVEL = {"MUST": Level.ERROR, "SHOULD": Level.WARNING}
_RANK = {Level.INFO: 0, Level.WARNING: 1, Level.ERROR: 2}


def row_cap(req: Requirement) -> Level:
    """The strongest level a finding on this row alone supports: MUST error, SHOULD
    warning; MAY and any † row (no BCP 14 keyword) info."""
    if "†" in req.level:
        return Level.INFO
    return _CAP_OF_LEVEL.get(req.level, Level.INFO)


def level_cap(rule: Rule, inventory: Mapping[str, Requirement]) -> Level:
    """The highest `spec` level the rows a rule checks support; info for an advisory rule
    or one that checks no row."""
    if rule.advisory or not rule.checks:
        return Level.INFO
    caps = [row_cap(inventory[rid]) for rid in rule.checks if rid in inventory]
    return max(caps, key=_RANK.__getitem__, default=Level.INFO)


def above_cap(rule: Rule, inventory: Mapping[str, Requirement]) -> bool:
    """Whether the rule's `spec` level exceeds its cap (rules not under `spec` never do, nor
    does a case's own assertion, strength `case`: its level is the case author's, and it
    claims no requirement of the spec)."""
    if not rule.applies_to("spec") or rule.strength is Strength.CASE:
        return False
    return _RANK[rule.level("spec")] > _RANK[level_cap(rule, inventory)]


def case_requirements(cases_dir: Path = ROOT / "cases") -> dict[str, list[str]]:
    """Inventory id -> the scenario cases that list it in `requirements`."""
    if not cases_dir.is_dir():
        return {}
    from agui_conformance.cases import load_cases

    found: dict[str, list[str]] = {}
    for case in load_cases(cases_dir):
        for rid in case.requirements:
            found.setdefault(rid, []).append(case.id)
    return found


def read_corpus(corpus_dir: Path | None) -> dict[str, dict[str, Any]] | None:
    if corpus_dir is None or not corpus_dir.is_dir():
        return None
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(corpus_dir.glob("*.json"))
    }


def read_expectations(path: Path = ROOT / "tests" / "corpus_expectations.yaml") -> Any:
    if not path.exists():
        return None
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def load_sources(spec_notes: Path, corpus_dir: Path | None = None) -> Sources:
    if corpus_dir is None:
        corpus_dir = spec_notes.parent / CORPUS_UNDER_SHARED
    return Sources(
        rules=list(catalog().values()),
        inventory=read_inventory(spec_notes),
        notes=coverage_notes(),
        cases=case_requirements(),
        corpus=read_expectations(),
        fixtures=read_corpus(corpus_dir),
        exceptions=level_exceptions(),
    )


# ---------------------------------------------------------------- helpers


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "—"


def _codes(ids: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f"`{i}`" for i in ids)


def _links(rule_ids: list[str], prefix: str = "rules/") -> str:
    return ", ".join(f"[`{r}`]({prefix}{r}.md)" for r in rule_ids)


# ---------------------------------------------------------------- rule pages


def _triggers(rule_id: str) -> str:
    """When the rule counts as exercised (rules/triggers.yaml), for the rule's page."""
    from agui_conformance.exercise import triggers

    alternatives = triggers().get(rule_id, ())
    shown = [" + ".join(f"`{t}`" for t in sorted(a)) for a in alternatives]
    return " or ".join(shown) or "never (no trigger)"


def _exception_section(
    rule: Rule, inventory: Mapping[str, Requirement], exception: LevelException
) -> list[str]:
    cap = level_cap(rule, inventory)
    if rule.advisory:
        basis = "an advisory check"
    elif not rule.checks:
        basis = "it checks no requirement row"
    else:
        basis = ", ".join(
            f"{rid} {inventory[rid].level}" if rid in inventory else rid for rid in rule.checks
        )
    lines = [
        "## Why this level",
        "",
        f"Under the `spec` profile this rule reports {rule.level('spec').value}, above the "
        f"{cap.value} its requirements give on their wording alone ({basis}; † marks a "
        "requirement stated without a MUST or SHOULD). The spec's words:",
        "",
    ]
    for source in exception.sources:
        lines += [f"> {_md(source.quote)}", ">", f"> — <{source.url}>", ""]
    return [*lines, exception.why, ""]


def _strength(rule: Rule) -> str:
    if rule.strength is Strength.CASE:
        return "case (the case author's own assertion, not a requirement of the spec)"
    return rule.strength.value


def rule_page(
    rule: Rule,
    inventory: Mapping[str, Requirement],
    root: Path = ROOT,
    exception: LevelException | None = None,
) -> str:
    lines = [f"# `{rule.id}`", "", f"**{_md(rule.title)}**", ""]
    levels = ", ".join(
        f"{p}: {rule.level(p).value if rule.applies_to(p) else 'not applied'}" for p in PROFILES
    )
    notes = [n for n, on in (("advisory", rule.advisory), ("heuristic", rule.heuristic)) if on]
    lines += [
        "| | |",
        "| --- | --- |",
        f"| id | `{rule.id}` |",
        f"| strength | {_strength(rule)}{''.join(f' ({n})' for n in notes)} |",
        f"| level by profile | {levels} |",
        f"| category | {rule.category} |",
        f"| needs | {rule.kind} |",
        f"| exercised by | {_triggers(rule.id)} |",
        f"| spec | <{rule.url}> |",
        "",
        "## How to fix it",
        "",
        rule.hint,
        "",
    ]
    if rule.description:
        lines += ["## Reading", "", rule.description.strip(), ""]
    if exception is not None:
        lines += _exception_section(rule, inventory, exception)
    if rule.strength is Strength.CASE:
        lines += [
            "This rule reports what a case file asserts, not what the spec requires: an "
            "agent that breaks it may be fully conformant. It fails the case in every "
            "profile, and never lowers the conformance level.",
            "",
        ]
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
                lines.append(f"| {rid} | | (not in the inventory) |")
            else:
                lines.append(f"| [{rid}]({req.url}) | {req.level} | {_md(req.text)} |")
        lines.append("")
    fixture = f"tests/fixtures/rules/{rule.id}.yaml"
    what = "recorded exchanges" if rule.kind == "live" else "streams"
    lines += ["## Proof", ""]
    if (root / fixture).exists():
        lines.append(
            f"[`{fixture}`](../../{fixture}) holds {what} that violate exactly this rule "
            "(the test asserts the rule id and the event index) and legal "
            f"{what} that must draw no finding at all."
        )
    else:
        lines.append(f"No fixture yet: `{fixture}` is missing.")
    lines.append("")
    return "\n".join(lines)


def rules_index(rules: list[Rule]) -> str:
    lines = [
        "# Rules",
        "",
        f"{len(rules)} rules, generated from `agui_conformance/rules/catalog.yaml` by "
        "`python -m agui_conformance.docs_gen`. Levels are under the default `spec` profile "
        "(MUST → error, SHOULD → warning, MAY and heuristics → info, `case` (a case file's "
        "own assertion) → error; `off` where the rule "
        "belongs to another profile only). `agui-conformance rules --profile NAME` lists them "
        "under another profile. A rule is never above what the requirements it checks support "
        "(an advisory check, a MAY row or a row the spec states without a keyword gives info) "
        "unless `agui_conformance/rules/level-exceptions.yaml` quotes the spec sentence that "
        "justifies it; the rule's page shows it under *Why this level*.",
        "",
        "| rule | level | strength | category | needs | title |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rule in rules:
        level = rule.level("spec").value if rule.applies_to("spec") else "off"
        lines.append(
            f"| [`{rule.id}`]({rule.id}.md) | {level} | {rule.strength.value} | {rule.category} "
            f"| {rule.kind} | {_md(rule.title)} |"
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- coverage


def default_reason(req: Requirement, cases: list[str]) -> str:
    """Why a row has no rule, when coverage-notes.yaml does not say."""
    if req.kind == "live":
        if cases:
            return (
                "needs the live HTTP exchange; exercised by the live runner's "
                f"case(s) {_codes(cases)}, with no rule of its own."
            )
        return "needs the live HTTP exchange; no live rule or case checks it yet."
    if req.kind == "no":
        return req.check.removeprefix("no ").strip("()") + "."
    return "no rule yet."


def covering(rules: list[Rule]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Inventory id -> rules that check it, and -> rules guarded against flagging it."""
    checks: dict[str, list[str]] = {}
    guards: dict[str, list[str]] = {}
    for rule in rules:
        for rid in rule.checks:
            checks.setdefault(rid, []).append(rule.id)
        for rid in rule.respects:
            guards.setdefault(rid, []).append(rule.id)
    return checks, guards


def coverage_stats(src: Sources) -> dict[str, tuple[int, int]]:
    """(covered, total) for 'checkable' (stream + request+stream), each kind and each area
    (areas: checkable rows only)."""
    checks, guards = covering(src.rules)
    covered = {r.id for r in src.inventory if r.id in checks or r.id in guards}
    stats: dict[str, tuple[int, int]] = {}

    def add(key: str, hit: bool) -> None:
        done, total = stats.get(key, (0, 0))
        stats[key] = (done + hit, total + 1)

    for req in src.inventory:
        hit = req.id in covered
        add(f"kind:{req.kind}", hit)
        if req.kind in CHECKABLE:
            add("checkable", hit)
            add(f"area:{req.area}", hit)
    return stats


def coverage_page(src: Sources) -> str:
    checks, guards = covering(src.rules)
    stats = coverage_stats(src)
    done, total = stats.get("checkable", (0, 0))
    lines = [
        "# Coverage of the AG-UI 1.1 requirements",
        "",
        "Generated by `python -m agui_conformance.docs_gen` from the rule catalog and the "
        "project's inventory of the AG-UI 1.1 producer and transport requirements, each row "
        "linking the spec section it restates. A requirement is *covered* "
        "when a rule decides it, or, for a MAY row that bounds behaviour, when a rule is "
        "calibrated against it and a fixture proves the legal traffic draws no finding "
        "(*guarded: must not flag*). The *cases* column names the scenario cases of "
        "`agui-conformance run` (`cases/*.yaml`) that exercise the row against a live agent.",
        "",
        f"**Stream-checkable requirements (check kinds `stream`, `request+stream`): "
        f"{done} of {total} covered ({_pct(done, total)}).**",
        "",
        "| check kind | rows | covered | share |",
        "| --- | --- | --- | --- |",
    ]
    for kind in KINDS:
        d, t = stats.get(f"kind:{kind}", (0, 0))
        lines.append(f"| {kind} | {t} | {d} | {_pct(d, t)} |")
    lines += [
        "",
        "Rows of kind `no` are not black-box checkable (the inventory says why); a rule "
        "that covers one anyway is an advisory check of what can be seen.",
        "",
        "### By area (stream-checkable rows)",
        "",
        "| area | rows | covered | share |",
        "| --- | --- | --- | --- |",
    ]
    areas = sorted(k.removeprefix("area:") for k in stats if k.startswith("area:"))
    for area in areas:
        d, t = stats[f"area:{area}"]
        lines.append(f"| {area} | {t} | {d} | {_pct(d, t)} |")
    uncovered = [
        r
        for r in src.inventory
        if r.kind in CHECKABLE and r.id not in checks and r.id not in guards
    ]
    lines += [
        "",
        "## Stream-checkable requirements without a rule",
        "",
        "| id | level | check | why not | cases |",
        "| --- | --- | --- | --- | --- |",
    ]
    for req in uncovered:
        cases = src.cases.get(req.id, [])
        why = src.notes.get(req.id) or default_reason(req, cases)
        lines.append(
            f"| [{req.id}]({req.url}) | {req.level} | {_md(req.check)} | {_md(why)} "
            f"| {_codes(cases)} |"
        )
    lines += [
        "",
        "## Every requirement",
        "",
        "| id | level | check | rules | cases | requirement |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for req in src.inventory:
        cases = src.cases.get(req.id, [])
        cells = [_links(checks.get(req.id, []))] if req.id in checks else []
        if req.id in guards:
            cells.append(f"{_links(guards[req.id])} (guarded: must not flag)")
        if cells:
            status = "; ".join(cells)
        else:
            status = "not covered: " + (src.notes.get(req.id) or default_reason(req, cases))
        lines.append(
            f"| [{req.id}]({req.url}) | {req.level} | {_md(req.check)} | {_md(status)} "
            f"| {_codes(cases)} | {_md(req.text)} |"
        )
    if src.corpus is not None or src.fixtures is not None:
        lines += _corpus_section(src.corpus, src.fixtures)
    return "\n".join(lines) + "\n"


def _corpus_section(
    expectations: dict[str, dict[str, Any]] | None,
    fixtures: dict[str, dict[str, Any]] | None,
) -> list[str]:
    expectations = expectations or {}
    names = sorted(set(expectations) | set(fixtures or {}))
    lines = [
        "",
        "## The official conformance corpus",
        "",
        f"The {len(names)} streams of `spec/1.1/conformance/streams/` are a *consumer* corpus: "
        "each fixture states what a client must do with a recorded producer stream. "
        "`tests/test_corpus.py` replays every stream through the validator and checks our "
        "verdict on it *as a producer's stream* (`tests/corpus_expectations.yaml`): "
        "`violation` and `tolerated` streams draw the listed rules (the first at the listed "
        "event), `valid` streams draw no error, `quiet` streams draw nothing at all. Streams "
        "whose `RUN_STARTED` omits `protocolVersion` also draw `version-missing`. Fixtures that "
        "test only what a client does are *not applicable* to a producer; we still run their "
        "streams and check the findings listed.",
        "",
        "| fixture | area | client verdict | our verdict | rules | event | note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in names:
        exp = expectations.get(name)
        fixture = (fixtures or {}).get(name, {})
        area = str(fixture.get("area", ""))
        outcome = fixture.get("expect", {}).get("outcome", "") if fixture else ""
        if exp is None:
            lines.append(f"| {name} | {area} | {outcome} | no expectation yet | | | |")
            continue
        verdict = str(exp.get("verdict", ""))
        if verdict == "consumer-only":
            verdict = "not applicable (consumer-only)"
        rules = _codes(list(exp.get("rules") or []))
        also = list(exp.get("also") or [])
        if also:
            rules += f" (may also report {_codes(also)})"
        index = exp.get("index")
        note = _md(str(exp.get("reason", "")))
        if fixtures is not None and name not in fixtures:
            note = (note + " " if note else "") + "(fixture absent from this corpus copy)"
        shown = "" if index is None else str(index)
        lines.append(f"| {name} | {area} | {outcome} | {verdict} | {rules} | {shown} | {note} |")
    counts = Counter(str(e.get("verdict")) for e in expectations.values())
    if counts:
        lines += [
            "",
            "Verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())) + ".",
        ]
    return lines


# ---------------------------------------------------------------- files


def generate_from(src: Sources, root: Path = ROOT) -> dict[str, str]:
    """Every generated file, by path relative to the repository root."""
    by_id = {r.id: r for r in src.inventory}
    exceptions = src.exceptions or {}
    files = {
        f"docs/rules/{r.id}.md": rule_page(r, by_id, root, exceptions.get(r.id)) for r in src.rules
    }
    files["docs/rules/README.md"] = rules_index(src.rules)
    files["docs/coverage.md"] = coverage_page(src)
    return files


def generate(spec_notes: Path, corpus_dir: Path | None = None) -> dict[str, str]:
    """`spec_notes`: SPEC-NOTES.md, or the shared folder holding it."""
    if spec_notes.is_dir():
        spec_notes = spec_notes / "SPEC-NOTES.md"
    return generate_from(load_sources(spec_notes, corpus_dir))


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


def write(files: dict[str, str], root: Path = ROOT) -> list[str]:
    """Write the files, remove orphan rule pages; returns what changed."""
    changed = stale(files, root)
    for page in (root / "docs" / "rules").glob("*.md"):
        if page.relative_to(root).as_posix() not in files:
            page.unlink()
    for path in changed:
        if path in files:
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(files[path], encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agui_conformance.docs_gen",
        description="Generate docs/rules/*.md and docs/coverage.md from the rule catalog.",
    )
    parser.add_argument(
        "--spec-notes",
        type=Path,
        default=DEFAULT_SPEC_NOTES,
        help="SPEC-NOTES.md holding the requirements inventory (default: %(default)s)",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        help=f"the official corpus streams (default: <spec-notes dir>/{CORPUS_UNDER_SHARED})",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 listing stale files"
    )
    args = parser.parse_args(argv)
    if not args.spec_notes.is_file():
        print(f"error: {args.spec_notes} not found (pass --spec-notes)", file=sys.stderr)
        return 2
    files = generate(args.spec_notes, args.corpus)
    if args.check:
        changed = stale(files)
        for path in changed:
            print(f"stale: {path}")
        if changed:
            print("run `python -m agui_conformance.docs_gen` to regenerate", file=sys.stderr)
        return 1 if changed else 0
    changed = write(files)
    print(f"wrote {len(files)} files ({len(changed)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
