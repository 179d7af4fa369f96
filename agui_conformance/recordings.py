"""Recorded streams in, one `Report` out: the engine behind `agui-conformance validate`.

Owns what `validate` is given (files, directories, globs, `-` for standard input:
`expand`), validating each recording in one pass (`validate_file`: findings, the rules it
exercised, the line of every event a finding names and, for the HTML page, its first
events and the timing sidecar `record` left beside it) and putting the recordings
together as one Report, one case per recording, in the order given (`validate_all`).

Several files are validated in parallel by a process pool (`jobs` workers, a few files a
task, about four tasks a worker); `jobs=1`, or a single file, validates in this process
with no pool. A file that
cannot be read, is no recording or holds no events becomes its case with status
`harness-error` and the reason (exit 2, as for one file), never an exception: a
worker that dies (killed, out of memory) costs the files it held a second try, each
alone, then their own `harness-error`.

Bounded: at most `MAX_FILES` recordings a command (more is a usage error, `TooMany`);
each recording is read once and kept only as its findings (capped per rule by the
validator) and, when asked (`Plan.keep_events`, for HTML), its first events: up to
`MAX_EVENTS` of one recording and `MAX_EVENTS_IN_ALL` over all (`kept_per_recording`).

Knows nothing of formats: the reports in `report/` read the Report it returns.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from agui_conformance.jsonsize import DEFAULT_MAX_STATE_BYTES
from agui_conformance.model import CaseResult, Report, RunRecord, SentRequest, ToolInfo
from agui_conformance.records import Level, exit_fails, fail_level

__all__ = [
    "EXTENSIONS",
    "MAX_EVENTS",
    "MAX_FILES",
    "STDIN",
    "Plan",
    "Target",
    "TooMany",
    "exit_code",
    "expand",
    "validate_all",
    "validate_file",
]

MAX_FILES = 10_000  # recordings one command validates; more is a usage error
MAX_EVENTS = 2_000  # events a report keeps of a recording (the HTML transcript)
MAX_KEPT_BYTES = 4 << 20  # payload bytes it keeps of them at most
MAX_EVENTS_IN_ALL = 20_000  # events kept over all recordings (at least 100 of each)
# with the default jobs, recordings smaller than this in all are validated in this process:
# starting workers costs more than they would save (~0.1 s, about 4 MB of JSONL's work)
AUTO_POOL = 4 << 20
MAX_CHUNK = 16  # recordings a worker is handed at once
# what a directory is searched for (recursively); `record`'s timing sidecars are not
EXTENSIONS = (".jsonl", ".ndjson", ".sse", ".json", ".bin", ".pb")  # .bin, .pb: protobuf bodies
SIDECAR = ".timing.json"
STDIN = "-"
_GLOB_CHARS = frozenset("*?[")
_NOT_ID = re.compile(r"[^A-Za-z0-9._-]+")


class TooMany(ValueError):
    """More recordings than `MAX_FILES`: a usage error, said before any is read."""


@dataclass(frozen=True)
class Target:
    """One recording to validate: a path, or standard input (`data` read beforehand,
    since a pool's workers cannot read this process's stdin)."""

    name: str  # the path as given, or "stdin"
    path: str | None  # None for standard input
    data: Any = None  # standard input: its bytes or a binary file object


@dataclass(frozen=True)
class Plan:
    """How to validate: the same for every recording of one command."""

    profile: str = "spec"
    fail_on: str = "error"
    request: Any = None  # the RunAgentInput that produced the streams (checked by the caller)
    request_file: str | None = None  # where it came from (left out of a directory's files)
    stream_format: str = "auto"
    max_state_bytes: int = DEFAULT_MAX_STATE_BYTES
    keep_events: int = 0  # events to keep of each recording, with its timing sidecar (HTML)
    jobs: int = 1  # 0: as many as CPUs, in this process when the files are small (`AUTO_POOL`)
    # the configuration's select/ignore/levels (`rules.active()`, filled by `validate_all`):
    # a worker started clean (forkserver, spawn) applies them too
    overrides: Any = None


# ---------------------------------------------------------------- what to validate


def expand(arguments: Sequence[str], *, exclude: Iterable[str] = ()) -> list[Target]:
    """The recordings `arguments` name, in order: a file as given; a directory's files
    with a known extension (`EXTENSIONS`, recursively, sorted; timing sidecars and the
    `exclude`d files, e.g. `--input`'s, left out); a glob's matches (sorted); `-`,
    standard input (once). A missing path, an empty glob or a directory holding no
    recording is a usage error (ValueError); more than `MAX_FILES`, `TooMany`."""
    skipped = {os.path.realpath(p) for p in exclude}
    targets: list[Target] = []
    stdin = False
    for argument in arguments:
        if argument == STDIN:
            if stdin:
                raise ValueError("`-` (standard input) given twice")
            stdin = True
            targets.append(Target("stdin", None))
        elif os.path.isdir(argument):
            found = [p for p in _directory(argument) if os.path.realpath(p) not in skipped]
            if not found:
                kinds = ", ".join(f"*{ext}" for ext in EXTENSIONS)
                raise ValueError(f"no recording ({kinds}) in directory {argument}")
            targets.extend(Target(p, p) for p in found)
        elif os.path.lexists(argument):
            targets.append(Target(argument, argument))
        elif _GLOB_CHARS & set(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            files = [m for m in matches if not os.path.isdir(m) and not m.endswith(SIDECAR)]
            if not files:
                raise ValueError(f"no file matches {argument}")
            targets.extend(Target(m, m) for m in files)
        else:
            raise ValueError(f"no such file: {argument}")
        if len(targets) > MAX_FILES:
            raise TooMany(f"more than {MAX_FILES:,} recordings; validate them in several commands")
    return targets


def _directory(folder: str) -> list[str]:
    """The recordings under `folder`: known extensions, hidden folders (`.git`) skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.endswith(EXTENSIONS) and not name.endswith(SIDECAR):
                found.append(os.path.join(root, name))
    return sorted(found)


# ---------------------------------------------------------------- one recording


def validate_file(target: Target, plan: Plan) -> CaseResult:
    """One recording as one case: `passed`, `failed` (a finding at or above the plan's
    fail-on level) or `harness-error` (unreadable, no recording, no events), in one pass."""
    from agui_conformance import rules

    with rules.overridden(plan.overrides if plan.overrides is not None else rules.active()):
        return _validate_file(target, plan)


def _validate_file(target: Target, plan: Plan) -> CaseResult:
    from agui_conformance.recording import NotARecording
    from agui_conformance.validator import Kept, validate_recording

    keep = Kept(plan.keep_events, MAX_KEPT_BYTES) if plan.keep_events else None
    source: Any = target.data if target.path is None else target.path
    try:
        if target.path is not None and not os.path.isfile(target.path):
            return _refused(target, f"not a file: {target.name}")
        result = validate_recording(
            source,
            fmt=plan.stream_format,
            request=plan.request,
            profile=plan.profile,
            check_request=False,
            max_state_bytes=plan.max_state_bytes,
            keep=keep,
        )
    except OSError as err:
        return _refused(target, f"cannot read {target.name}: {err.strerror or err}")
    except NotARecording as err:
        return _refused(target, f"{target.name} is not a recording: {err}")
    except Exception as err:  # a bug of ours: this file's error, never the others'
        return _refused(target, f"internal error while validating {target.name}: {err!r}")
    if result.events == 0 and not result.findings:
        return _refused(target, f"{target.name} holds no events (an empty recording)")
    side = _sidecar(target.path) if plan.keep_events else {}
    kept = keep.events if keep is not None else []
    times = side.get("eventTimesMs")
    ok_times = (
        isinstance(times, list)
        and len(times) == result.events
        and all(type(t) in (int, float) for t in times[: len(kept)])
    )
    run = RunRecord(
        request=SentRequest.shown(plan.request),
        requestHeaders=_headers(side.get("requestHeaders")),
        status=side.get("status") if isinstance(side.get("status"), int) else None,
        responseHeaders=_plain_headers(side.get("responseHeaders")),
        timing={k: side[k] for k in ("firstEventMs", "totalMs") if k in side},
        events=kept,
        eventTimesMs=times[: len(kept)] if ok_times and isinstance(times, list) else [],
        eventsOmitted=result.events - len(kept),
        findings=result.findings,
        exercised=result.exercised,
        recording=target.name,
        eventLines={str(index): line for index, line in sorted(result.lines.items())},
        protocolVersions=result.protocol_versions,
    )
    threshold = fail_level(plan.fail_on)
    bad = any(f.level.rank >= threshold.rank for f in result.findings)
    return CaseResult(
        id=case_id(target.name),
        title=f"Recorded stream {target.name}{_origin(side)}",
        requirements=[],
        expect="recording",
        status="failed" if bad else "passed",
        runs=[run],
    )


def _refused(target: Target, reason: str) -> CaseResult:
    from agui_conformance.redact import printable

    said = printable(reason)
    return CaseResult(
        id=case_id(target.name),
        title=f"Recorded stream {target.name}",
        requirements=[],
        expect="recording",
        status="harness-error",
        reason=said,
        runs=[
            RunRecord(
                request=SentRequest(),
                requestHeaders={},
                status=None,
                responseHeaders={},
                timing={},
                harnessError=said,
                recording=target.name,
            )
        ],
    )


def case_id(name: str) -> str:
    """A recording's case id: its path as a word (`examples/run.jsonl` ->
    `examples-run.jsonl`), fit for an HTML anchor and a JUnit name."""
    return _NOT_ID.sub("-", name).strip("-") or "recording"


def _unique(cases: list[CaseResult]) -> list[CaseResult]:
    """Case ids made unique (`a-b.jsonl` from `a/b.jsonl` and `a-b.jsonl`: `-2` added)."""
    seen: set[str] = set()
    for case in cases:
        base, number = case.id, 1
        while case.id in seen:
            number += 1
            case.id = f"{base}-{number}"
        seen.add(case.id)
    return cases


def _sidecar(path: str | None) -> dict[str, Any]:
    """The timing sidecar `record` writes beside a recording (empty when there is none)."""
    if path is None:
        return {}
    try:
        data = orjson.loads(Path(f"{path}{SIDECAR}").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _plain_headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def _headers(value: Any) -> dict[str, str]:
    from agui_conformance.redact import redact_headers

    return redact_headers(_plain_headers(value))


def _origin(side: dict[str, Any]) -> str:
    if not side.get("url"):
        return ""
    from agui_conformance.redact import redact_url

    return f" from {redact_url(str(side['url']))}"


# ---------------------------------------------------------------- many recordings


def kept_per_recording(count: int) -> int:
    """Events an HTML report keeps of each of `count` recordings: `MAX_EVENTS`, fewer
    when there are many (`MAX_EVENTS_IN_ALL` over all), never under 100."""
    return max(100, min(MAX_EVENTS, MAX_EVENTS_IN_ALL // max(count, 1)))


def validate_all(targets: Sequence[Target], plan: Plan) -> Report:
    """Every target as one Report, one case each, in the order given."""
    from agui_conformance import __version__, rules

    if plan.overrides is None:
        plan = replace(plan, overrides=rules.active())
    jobs = max(1, min(plan.jobs or _auto_jobs(targets), len(targets)))
    if jobs == 1:
        cases = [validate_file(target, plan) for target in targets]
    else:
        cases = _pooled(targets, plan, jobs)
    cases = _unique(cases)
    name = targets[0].name if len(targets) == 1 else f"{len(targets)} recordings"
    request = " --input REQUEST.json" if plan.request is not None else ""
    shown = " ".join(_quoted(t.name if t.path is not None else STDIN) for t in targets[:20])
    more = " ..." if len(targets) > 20 else ""
    return Report(
        tool=ToolInfo(version=__version__),
        target=name,
        profile=plan.profile,
        failOn=plan.fail_on,
        command=f"agui-conformance validate {shown}{more}{request}",
        cases=cases,
    )


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity, where the platform says)."""
    counted = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counted is not None:
        return int(counted() or 1)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _auto_jobs(targets: Sequence[Target]) -> int:
    """The default: one worker per CPU, none (this process) for small recordings."""
    size = 0
    for target in targets:
        if target.path is not None:
            try:
                size += os.path.getsize(target.path)
            except OSError:
                continue
        if size >= AUTO_POOL:
            return cpu_count()
    return 1


def _quoted(name: str) -> str:
    import shlex

    return shlex.quote(name)


def _pooled(targets: Sequence[Target], plan: Plan, jobs: int) -> list[CaseResult]:
    """The targets across a process pool; standard input is validated here (its bytes
    need not cross to a worker). The first file is validated here before the pool starts:
    what validating loads on first use (the compiled schemas, the trigger table, the
    catalog once a finding needs it) is then inherited by forked workers instead of being
    loaded by each."""
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    cases: list[CaseResult | None] = [None] * len(targets)
    lost: list[int] = []
    files = [i for i, t in enumerate(targets) if t.path is not None]
    if files:
        cases[files[0]] = validate_file(targets[files[0]], plan)
    rest = files[1:]
    size = max(1, min(MAX_CHUNK, len(rest) // (jobs * 4)))  # about 4 tasks a worker
    chunks = [rest[start : start + size] for start in range(0, len(rest), size)]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_context()) as pool:
        try:
            futures: list[tuple[list[int], Future[list[CaseResult]]]] = [
                (chunk, pool.submit(_validate_chunk, [targets[i] for i in chunk], plan))
                for chunk in chunks
            ]
            for i, target in enumerate(targets):
                if target.path is None:
                    cases[i] = validate_file(target, plan)
            for chunk, future in futures:
                try:
                    for i, case in zip(chunk, future.result(), strict=True):
                        cases[i] = case
                except BrokenProcessPool:
                    lost.extend(chunk)
                except Exception as err:  # the cases could not come back (a bug of ours)
                    for i in chunk:
                        cases[i] = _refused(
                            targets[i], f"internal error with {targets[i].name}: {err!r}"
                        )
        except BaseException:  # Ctrl-C: the files not started are not waited for
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    for i in lost:  # each alone, so that one file that kills its worker costs only itself
        cases[i] = _alone(targets[i], plan)
    return [case for case in cases if case is not None]


def _validate_chunk(targets: list[Target], plan: Plan) -> list[CaseResult]:
    """A worker's task: a few recordings in a row (one task a file costs about 1.5 ms of
    hand-over each, a quarter of a 2,000-event file's work)."""
    return [validate_file(target, plan) for target in targets]


def _alone(target: Target, plan: Plan) -> CaseResult:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(max_workers=1, mp_context=_context()) as pool:
        try:
            return pool.submit(validate_file, target, plan).result()
        except BrokenProcessPool:
            return _refused(target, f"the process validating {target.name} died")


def _context() -> Any:
    """`fork` where there is one and this process runs a single thread (the CLI): the
    workers start at once with the modules this process has loaded. With other threads
    (a host application, a test runner) a fork could copy a lock mid-use, so
    `forkserver` (or the platform's default) starts clean workers instead."""
    import multiprocessing
    import threading

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else None)


def exit_code(report: Report) -> int:
    """2 when a recording could not be validated, else 1 when one has a finding at or
    above `--fail-on` (never with `never`), else 0: the worst over the recordings."""
    if any(case.status == "harness-error" for case in report.cases):
        return 2
    if not exit_fails(report.failOn):
        return 0
    threshold: Level = fail_level(report.failOn)
    for case in report.cases:
        if any(f.level.rank >= threshold.rank for f in case.findings):
            return 1
    return 0
