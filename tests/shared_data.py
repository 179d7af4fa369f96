"""Access to the data in ../shared (official AG-UI schema and conformance corpus).

`../shared/agui-spec/` sits beside the clone on every developer machine and in
CI, but not on a user's machine. Tests that read it call `shared_path(...)`:
absent data SKIPS the test with a clear reason, except when the environment
variable `CI` is set, where it FAILS, so CI can never silently drop them.

`AGUI_SHARED_DIR` may point somewhere else than `<repo>/../shared`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_root() -> Path:
    """The shared data folder (without checking that it exists)."""
    override = os.environ.get("AGUI_SHARED_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """`../shared/<parts...>`, or skip (fail under CI) when it is absent."""
    path = shared_root().joinpath(*parts)
    if not path.exists():
        reason = (
            f"shared test data {path} is absent (the official AG-UI spec data is expected "
            "in ../shared beside the clone; set AGUI_SHARED_DIR to use another location)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so this is a failure, not a skip", pytrace=False)
        pytest.skip(reason)
    return path
