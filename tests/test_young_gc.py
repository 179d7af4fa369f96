"""young_gc.YoungCollections: the collector paused for a recording, restored after it."""

from __future__ import annotations

import gc
import weakref

import pytest

from agui_conformance.validator import validate_recording
from agui_conformance.young_gc import YoungCollections


class _Node:
    def __init__(self) -> None:
        self.other: object = self


def test_the_collector_is_paused_inside_and_enabled_after() -> None:
    assert gc.isenabled()
    with YoungCollections():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_enables_it() -> None:
    with pytest.raises(RuntimeError), YoungCollections():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_caller_that_disabled_the_collector_keeps_it_disabled() -> None:
    gc.disable()
    try:
        with YoungCollections() as collect:
            collect.step()
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_cycle_that_is_garbage_at_a_step_is_freed_there() -> None:
    with YoungCollections() as collect:
        node = _Node()
        ref = weakref.ref(node)
        del node
        assert ref() is not None  # a cycle: only the collector frees it
        collect.step()
        assert ref() is None


def test_validate_recording_leaves_the_collector_as_it_found_it() -> None:
    lines = b'{"type": "RUN_STARTED", "threadId": "t", "runId": "r"}\nnot json\n'
    validate_recording(lines)
    assert gc.isenabled()
    gc.disable()
    try:
        validate_recording(lines)
        assert not gc.isenabled()
    finally:
        gc.enable()
