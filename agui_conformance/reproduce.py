"""Reproducers: shell commands that replay a failing exchange or case.

Owns the `curl` command for one request and the `agui-conformance run`
command for a run, one case (`--case ID`: exactly that case, where `-k` would run
every id containing it) or the generated inputs: `run_command` from the run's
verdict arguments (`Report.runArgs`, which the CLI derives from its own
options), `suite_command` for reports made without them. Secret header values
never appear: each becomes a reference to an environment variable
(`$AGUI_AUTHORIZATION`) the user sets; the URL goes through `redact.redact_url`
whoever calls (its user:password and secret query values show as `***`, for the
user to put back).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from agui_conformance.redact import REDACTED, is_secret, redact_url

GENERATED = "generated-inputs"  # the case id of the generated inputs (generated.GENERATED)
# Sent by the transport on every request; the reproducer states them once.
TRANSPORT_HEADERS = frozenset({"content-type", "accept"})


def env_var(header: str) -> str:
    """The environment variable a reproducer reads a secret header from."""
    return "AGUI_" + "".join(c if c.isalnum() else "_" for c in header.upper())


def _header_args(
    headers: Mapping[str, str],
    secret: frozenset[str],
    *,
    flag: str,
    env_form: str,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    out: list[str] = []
    for name, value in headers.items():
        if name.lower() in TRANSPORT_HEADERS:
            continue
        if value == REDACTED or is_secret(name, secret):
            var = (env or {}).get(name) or env_var(name)
            out += [flag, env_form.format(name=name, var=var)]
        else:
            out += [flag, shlex.quote(f"{name}: {value}")]
    return out


# Where a reproducer that may get a binary answer saves it (curl refuses to write binary
# to a terminal), and the command that judges the file (it reads SSE or protobuf alike).
BINARY_OUTPUT = "run.bin"
VALIDATE_OUTPUT = f"agui-conformance validate {BINARY_OUTPUT}"


def curl_command(
    url: str,
    body: str,
    headers: Mapping[str, str] | None = None,
    secret: frozenset[str] = frozenset(),
    content_type: str = "application/json",
    env: Mapping[str, str] | None = None,
) -> str:
    """`curl` replaying `body` (text) to `url`; secret values come from env vars (`env`:
    header name -> the variable the user named, else `AGUI_<NAME>`). It asks with the
    `Accept` among `headers` (what the run sent; SSE's when none). An `Accept` that admits
    the protobuf binding may get a binary answer: the body goes to `run.bin` (`--output`),
    and a second line validates that file."""
    from agui_conformance.headers import header
    from agui_conformance.negotiation import admits_protobuf

    accept = header(headers or {}, "accept", "text/event-stream")
    parts = [
        "curl",
        "-N",
        "-X",
        "POST",
        shlex.quote(redact_url(url)),
        "-H",
        shlex.quote(f"Content-Type: {content_type}"),
        "-H",
        shlex.quote(f"Accept: {accept}"),
    ]
    parts += _header_args(headers or {}, secret, flag="-H", env_form='"{name}: ${var}"', env=env)
    binary = admits_protobuf(accept)
    if binary:
        parts += ["--output", BINARY_OUTPUT]
    command = " ".join(parts) + " --data-binary @- <<'JSON'\n" + body + "\nJSON"
    return command + "\n" + VALIDATE_OUTPUT if binary else command


# Where `agui-conformance serve` listens by default: a curl reproducer for the built-in
# agent names it (after starting the agent), never the run's temporary port.
SERVE_URL = "http://127.0.0.1:8000/"


def target_args(
    url: str | None,
    headers: Mapping[str, str] | None = None,
    secret: frozenset[str] = frozenset(),
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """`--agent-url URL` (none for the built-in agent) and every `--agent-header`, secret
    values as `env:` references."""
    parts = [] if url is None else ["--agent-url", shlex.quote(redact_url(url))]
    return parts + _header_args(
        headers or {}, secret, flag="--agent-header", env_form="'{name}: env:{var}'", env=env
    )


def run_command(
    args: Sequence[str],
    *,
    keyword: str | None = None,
    cases: Sequence[str] = (),
    examples: int | None = None,
    seed: int | None = None,
) -> str:
    """`agui-conformance run ARGS` (already quoted), then `-k`, every `--case`,
    `--examples`, `--seed`."""
    parts = ["agui-conformance", "run", *args]
    if keyword is not None:
        parts += ["-k", shlex.quote(keyword)]
    for case in cases:
        parts += ["--case", shlex.quote(case)]
    if examples is not None:
        parts += ["--examples", str(examples)]
    if seed is not None:
        parts += ["--seed", str(seed)]
    return " ".join(parts)


def case_command(
    args: Sequence[str], case: str, *, examples: int = 0, seed: int | None = None
) -> str:
    """That case again and no other (`--case`, an exact id: `-k` would also run every case
    whose id contains it); the generated inputs with their count and seed."""
    if case == GENERATED:
        return run_command(args, cases=[case], examples=examples, seed=seed)
    return run_command(args, cases=[case], examples=0)


def suite_command(
    url: str,
    *,
    case: str | None = None,
    profile: str = "spec",
    headers: Mapping[str, str] | None = None,
    secret: frozenset[str] = frozenset(),
    examples: int | None = None,
    seed: int | None = None,
    only_generated: bool = False,
    env: Mapping[str, str] | None = None,
) -> str:
    """`agui-conformance run`: the whole suite, one case, or (`only_generated`) the
    generated inputs alone, with their count and seed."""
    parts = ["agui-conformance", "run", "--agent-url", shlex.quote(redact_url(url))]
    parts += _header_args(
        headers or {}, secret, flag="--agent-header", env_form="'{name}: env:{var}'", env=env
    )
    if profile != "spec":
        parts += ["--profile", profile]
    if case is not None:
        parts += ["--case", shlex.quote(case), "--examples", "0"]
    elif only_generated:
        parts += ["--case", GENERATED]
    if case is None and examples is not None:
        parts += ["--examples", str(examples)]
    if seed is not None:
        parts += ["--seed", str(seed)]
    return " ".join(parts)
