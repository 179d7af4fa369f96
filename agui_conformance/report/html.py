"""The standalone HTML compliance report.

Owns the view of a `Report` a person reads: verdict, requirement matrix,
per-case annotated transcripts, timelines and reproducers, rendered from the
jinja2 templates beside this module into ONE self-contained file (inline CSS
and script, no network fetches). Also renders the per-case fragment that the
pytest-html extras show.

Bounded whatever the report holds: each run shows its findings grouped
(`transcript.groups`, at most `transcript.MAX_GROUPS`), at most
`transcript.MAX_ROWS` transcript rows and its first findings of each rule in
full; the page says what it left out (events, groups, findings past the
validator's per-rule cap).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jinja2
import orjson

from agui_conformance.cases import assistant_messages
from agui_conformance.clip import MAX_FINDINGS_PER_RULE
from agui_conformance.headers import header, media_type
from agui_conformance.model import (
    CaseResult,
    Finding,
    Level,
    Report,
    RequirementStatus,
    RunRecord,
    fail_level,
)
from agui_conformance.protobuf import MEDIA_TYPE as PROTOBUF_MEDIA_TYPE
from agui_conformance.report import transcript
from agui_conformance.report.verdict import verdict
from agui_conformance.reproduce import SERVE_URL, case_command, curl_command, suite_command
from agui_conformance.rules import CATEGORIES

REQUEST_PREVIEW = 50_000  # characters of pretty request JSON shown per run
_LAST = 1 << 62  # sorts stream-level findings (no event index) after every event


@dataclass
class RunView:
    label: str
    anchor: str
    run: RunRecord
    rows: list[transcript.Row]
    stream_findings: list[Finding]
    timeline: transcript.Timeline
    request_json: str
    assembled: list[dict[str, Any]]
    recorded: bool = False  # a recording (validate), not a live exchange
    groups: list[transcript.Group] = field(default_factory=list)
    groups_left_out: int = 0  # groups past transcript.MAX_GROUPS
    findings_left_out: int = 0  # ...and their findings
    capped_rules: list[str] = field(default_factory=list)  # at the validator's per-rule cap
    events_total: int = 0
    events_left_out: int = 0  # validated, but on no row of this page
    last_row_index: int = -1  # the last event index a row shows
    binding: str = ""  # the binding the answer came in: "SSE", "protobuf" or "" (neither)
    accept: str = ""  # the Accept the request sent (what was asked), "" when none


@dataclass
class CaseView:
    case: CaseResult
    runs: list[RunView]
    curl: str = ""
    command: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def bindings(self) -> list[str]:
        """The bindings the case's answers came in, in order of first appearance."""
        return list(dict.fromkeys(rv.binding for rv in self.runs if rv.binding))


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
        except TypeError:
            text = repr(value)
    return text if len(text) <= REQUEST_PREVIEW else text[:REQUEST_PREVIEW] + "\n…"


def _run_label(case: CaseResult, position: int) -> str:
    if case.expect == "recording":
        return "recorded stream"
    return "run" if len(case.runs) == 1 else f"run {position + 1}"


def _request_body(run: RunRecord) -> tuple[str, str]:
    """(body text, content type) a reproducer sends for this run."""
    content_type = header(run.requestHeaders, "content-type", "application/json")
    sent = run.request
    if sent.size is not None:
        return f"{sent.body}… ({sent.size} bytes in all)", content_type
    if sent.body is not None:
        return sent.body, content_type
    return orjson.dumps(sent.as_shown()).decode(), content_type


# an answer's media type (parameters and case aside) -> the binding it is framed in
_BINDINGS = {PROTOBUF_MEDIA_TYPE: "protobuf", "text/event-stream": "SSE"}


def _binding(run: RunRecord) -> str:
    served = media_type(header(run.responseHeaders, "content-type", ""))
    return _BINDINGS.get(served, "")


def _run_view(case: CaseResult, run: RunRecord, position: int) -> RunView:
    request = run.request.as_shown()
    events = [e for e in run.events if isinstance(e, dict)]
    try:
        assembled = assistant_messages(events)
    except Exception:  # a report never fails on a hostile stream
        assembled = []
    rows = transcript.rows(run)
    groups = transcript.groups(run.findings)
    per_rule: dict[str, int] = {}
    for finding in run.findings:
        per_rule[finding.rule] = per_rule.get(finding.rule, 0) + 1
    listed = groups[: transcript.MAX_GROUPS]
    return RunView(
        label=_run_label(case, position),
        anchor=f"{case.id}-r{position}",
        run=run,
        rows=rows,
        stream_findings=transcript.stream_findings(run),
        timeline=transcript.timeline(run),
        request_json=_pretty(request),
        assembled=assembled,
        recorded=case.expect == "recording",
        groups=listed,
        groups_left_out=len(groups) - len(listed),
        findings_left_out=sum(g.count for g in groups[len(listed) :]),
        capped_rules=sorted(r for r, n in per_rule.items() if n >= MAX_FINDINGS_PER_RULE),
        events_total=transcript.events_total(run),
        events_left_out=transcript.events_left_out(run, rows),
        last_row_index=rows[-1].last if rows else -1,
        binding=_binding(run),
        accept=header(run.requestHeaders, "accept", ""),
    )


@dataclass
class FailedIn:
    """One case where a failed rule was broken, and its first offending finding."""

    case: str
    count: int
    first: Finding
    link: str | None  # the transcript row of the first offending event, when the page has it
    baseline: str | None = None  # "known" | "new" against a baseline


@dataclass
class FailedRule:
    req: RequirementStatus
    cases: list[FailedIn]

    @property
    def all_known(self) -> bool:
        return bool(self.cases) and all(c.baseline == "known" for c in self.cases)


def _first_offence(view: CaseView, rule: str, threshold: Level) -> FailedIn | None:
    """The case's first finding of `rule` at or above the fail-on level (the earliest run,
    the lowest event index, stream-level ones last), linked to its transcript row."""
    count, best, link = 0, None, None
    for rv in view.runs:
        hits = [f for f in rv.run.findings if f.rule == rule and f.level.rank >= threshold.rank]
        count += len(hits)
        if best is None and hits:
            best = min(hits, key=lambda f: _LAST if f.index is None else f.index)
            if best.index is not None and best.index <= rv.last_row_index:
                link = f"#{rv.anchor}-e{best.index}"
    if best is None:
        return None
    return FailedIn(case=view.case.id, count=count, first=best, link=link)


def failures(report: Report, views: list[CaseView]) -> list[FailedRule]:
    """Each failed rule with the cases that broke it and the first offending event: what
    the page opens with. Rules with a new (or, without a baseline, any) failure come
    first, then by level, then in catalog order."""
    threshold = fail_level(report.failOn)
    by_case = {v.case.id: v for v in views}
    known = {(e.case, e.rule) for e in report.baseline.known} if report.baseline else set()
    out: list[FailedRule] = []
    for req in report.requirements:
        if req.status != "failed":
            continue
        found = []
        for case_id in req.cases:
            view = by_case.get(case_id)
            hit = _first_offence(view, req.rule, threshold) if view is not None else None
            if hit is None:
                continue
            if report.baseline is not None:
                hit.baseline = "known" if (case_id, req.rule) in known else "new"
            found.append(hit)
        out.append(FailedRule(req=req, cases=found))
    order = {id(r): i for i, r in enumerate(out)}
    return sorted(out, key=lambda r: (r.all_known, -r.req.level.rank, order[id(r)]))


def failed_without_finding(report: Report, rules: list[FailedRule]) -> list[CaseResult]:
    """Cases that fail the verdict with no finding of a failed rule: not run, a harness
    error, or a failure the matrix has no rule for."""
    from agui_conformance.matrix import FAILING

    listed = {c.case for r in rules for c in r.cases}
    return [c for c in report.cases if c.status in FAILING and c.id not in listed]


# a report of exchanges seen by `agui-conformance proxy`: no suite case to re-run (the curl
# reproducer replays the front end's request)
PROXY_COMMAND = "agui-conformance proxy"


def case_view(case: CaseResult, report: Report | None = None) -> CaseView:
    view = CaseView(case=case, runs=[_run_view(case, r, i) for i, r in enumerate(case.runs)])
    for finding in case.findings:
        view.counts[finding.level.value] = view.counts.get(finding.level.value, 0) + 1
    if case.expect == "recording":
        view.command = report.command if report is not None and case.status == "failed" else ""
    elif case.status == "failed" and case.runs:
        failing = next((r for r in case.runs if r.findings), case.runs[-1])
        url = report.target if report is not None else "URL"
        body, content_type = _request_body(failing)
        env = report.headerEnv if report is not None else None
        builtin = report is not None and report.builtInAgent
        view.curl = curl_command(
            SERVE_URL if builtin else url,
            body,
            failing.requestHeaders,
            content_type=content_type,
            env=env,
        )
        if builtin:
            view.curl = "agui-conformance serve &  # the built-in reference agent\n" + view.curl
        if report is not None and report.command.startswith(PROXY_COMMAND):
            pass  # exchanges of a front end: the curl replays them, no suite case to re-run
        elif report is not None and (report.runArgs or report.builtInAgent):
            view.command = case_command(
                report.runArgs, case.id, examples=report.examples, seed=report.seed
            )
        elif report is not None:
            generated = case.id == "generated-inputs"
            view.command = suite_command(
                url,
                case=None if generated else case.id,
                profile=report.profile,
                headers=failing.requestHeaders,
                examples=report.examples if generated else None,
                seed=report.seed if generated else None,
                only_generated=generated,
                env=report.headerEnv,
            )
    return view


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("agui_conformance.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["ms"] = _ms
    env.filters["clip"] = _clip
    env.globals["max_per_rule"] = MAX_FINDINGS_PER_RULE
    return env


def _clip(value: Any, limit: int = transcript.JOINED) -> str:
    """Long text cut to `limit` characters, saying how much was left out."""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    if len(text) <= limit:
        return text
    return f"{text[:limit]} … ({len(text) - limit:,} more characters)"


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 10_000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def to_html(report: Report) -> str:
    """The whole report as one HTML document (the matrix and verdict are computed when
    the report does not carry them)."""
    if report.summary is None:
        from agui_conformance.matrix import requirements, summarize

        fail_on = fail_level(report.failOn)
        reqs = report.requirements or requirements(report.cases, report.profile, fail_on)
        report = dataclasses.replace(
            report, requirements=reqs, summary=summarize(report.cases, reqs)
        )
    summary = report.summary
    assert summary is not None
    cases = [case_view(c, report) for c in report.cases]
    categories = [c for c in CATEGORIES if any(r.category == c for r in report.requirements)]
    compared = any(r.reference is not None for r in report.requirements)
    failed_rules = failures(report, cases)
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            summary=summary,
            verdict=verdict(summary, report.baseline, report.cases),
            # a recording (validate) has no duration nor generated inputs worth a card
            recorded=bool(report.cases) and all(c.expect == "recording" for c in report.cases),
            failed_rules=failed_rules,
            failed_cases=failed_without_finding(report, failed_rules),
            cases=cases,
            categories=categories,
            compared=compared,
        )
    )


def case_fragment(case: CaseResult, report: Report | None = None) -> str:
    """One case's transcripts and findings as an HTML fragment (pytest-html extras)."""
    env = environment()
    return env.get_template("fragment.html.j2").render(view=case_view(case, report))
