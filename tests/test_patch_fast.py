"""`patch_fast.apply_plain` agrees with `jsonpatch.apply_patch` wherever it applies.

The full applier is the authority (it is checked against a reference model in
test_jsonpatch.py). The plain applier must either give exactly its result (same
value, same member order, no aliasing of the patch) or decline and leave the
document exactly as it was, member order included.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agui_conformance.jsonpatch import PatchError, apply_patch
from agui_conformance.jsonsize import json_size
from agui_conformance.patch_fast import DEFER, _size, apply_plain
from tests.test_jsonpatch import docs_and_patches, json_docs

OPS = ["add", "remove", "replace", "move", "copy", "test", "", "/", "/a", "/0", "/-", "/a/0"]


def _agree(doc: Any, patch: Any) -> bool:
    """Both appliers on copies of `doc`; True when the plain one applied."""
    full_doc, plain_doc = copy.deepcopy(doc), copy.deepcopy(doc)
    before = repr(plain_doc)
    patch_before = copy.deepcopy(patch)
    plain = apply_plain(plain_doc, patch)
    assert patch == patch_before  # never mutated
    if plain is DEFER:
        assert repr(plain_doc) == before  # untouched, member order included
        return False
    try:
        full = apply_patch(full_doc, patch)
    except PatchError as err:
        raise AssertionError(f"the plain applier applied what the full one rejects: {err}") from err
    assert repr(plain) == repr(full)
    if isinstance(patch, list):
        for op in patch:  # the document holds copies, never the patch's own values
            if isinstance(op, dict) and isinstance(op.get("value"), (dict, list)) and op["value"]:
                assert all(v is not op["value"] for v in _containers(plain))
    return True


def _containers(doc: Any) -> list[Any]:
    found = [doc]
    if isinstance(doc, dict):
        for value in doc.values():
            found += _containers(value)
    elif isinstance(doc, list):
        for value in doc:
            found += _containers(value)
    return found


@settings(max_examples=1000)
@given(docs_and_patches())
def test_agrees_with_the_full_applier(case: tuple[Any, list[dict[str, Any]]]) -> None:
    _agree(*case)


@settings(max_examples=300)
@given(
    json_docs,
    st.lists(
        st.dictionaries(
            st.sampled_from(["op", "path", "from", "value"]), json_docs | st.sampled_from(OPS)
        )
    ),
)
def test_arbitrary_operations_agree_or_defer(doc: Any, patch: list[Any]) -> None:
    _agree(doc, patch)


def test_the_common_patches_are_taken() -> None:
    """Not a decline-everything applier: the shapes real agents send apply here."""
    doc = {"log": [{"n": 0}], "counters": {"a": 1}, "text": "x"}
    common = [
        [{"op": "add", "path": "/log/-", "value": {"n": 1}}],
        [{"op": "add", "path": "/counters/b", "value": 2}],
        [{"op": "replace", "path": "/text", "value": "y"}],
        [{"op": "replace", "path": "/log/0/n", "value": 5}],
        [{"op": "add", "path": "/log/0", "value": {"n": -1}}],
        [{"op": "remove", "path": "/log/0"}],
        [{"op": "remove", "path": "/text"}],
        [
            {"op": "add", "path": "/counters/c", "value": 3},
            {"op": "replace", "path": "/counters/a", "value": 0},
        ],
        [],
    ]
    for patch in common:
        assert _agree(doc, patch), patch


def test_a_failing_operation_undoes_the_earlier_ones() -> None:
    doc = {"a": [1, 2], "b": {"x": 1, "y": 2}}
    before = repr(doc)
    patch = [
        {"op": "add", "path": "/a/0", "value": 0},
        {"op": "replace", "path": "/a/2", "value": 9},
        {"op": "remove", "path": "/b/y"},
        {"op": "add", "path": "/b/z", "value": 3},
        {"op": "remove", "path": "/a/1"},
        {"op": "replace", "path": "/missing", "value": 1},
    ]
    assert apply_plain(doc, patch) is DEFER
    assert repr(doc) == before


@settings(max_examples=500)
@given(json_docs)
def test_the_inline_size_of_a_value_is_the_walk_s(value: Any) -> None:
    """`_size` sizes small flat objects itself: always the same count as `json_size`."""
    assert _size(value) == json_size(value, 1 << 62)
    flat = {"k": 1, "s": "x", "f": 1.5, "": ""}
    assert _size(flat) == json_size(flat, 1 << 62)
