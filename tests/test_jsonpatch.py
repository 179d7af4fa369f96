"""RFC 6902 JSON Patch: the RFC's examples, atomicity, `test` semantics, linear cost."""

from __future__ import annotations

import copy
import re
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agui_conformance import jsonpatch
from agui_conformance.jsonpatch import PatchError, apply_patch, json_equal


def applied(doc: Any, patch: list[dict[str, Any]]) -> Any:
    return apply_patch(copy.deepcopy(doc), patch)


def fails(doc: Any, patch: list[Any]) -> PatchError:
    """Assert the patch fails and leaves `doc` exactly as it was (order included)."""
    before = orjson.dumps(doc)
    with pytest.raises(PatchError) as info:
        apply_patch(doc, patch)
    assert orjson.dumps(doc) == before
    return info.value


# ---------------------------------------------------------------- RFC 6902 Appendix A


def test_a1_adding_an_object_member() -> None:
    doc = {"foo": "bar"}
    assert applied(doc, [{"op": "add", "path": "/baz", "value": "qux"}]) == {
        "baz": "qux",
        "foo": "bar",
    }


def test_a2_adding_an_array_element() -> None:
    doc = {"foo": ["bar", "baz"]}
    assert applied(doc, [{"op": "add", "path": "/foo/1", "value": "qux"}]) == {
        "foo": ["bar", "qux", "baz"]
    }


def test_a3_removing_an_object_member() -> None:
    doc = {"baz": "qux", "foo": "bar"}
    assert applied(doc, [{"op": "remove", "path": "/baz"}]) == {"foo": "bar"}


def test_a4_removing_an_array_element() -> None:
    doc = {"foo": ["bar", "qux", "baz"]}
    assert applied(doc, [{"op": "remove", "path": "/foo/1"}]) == {"foo": ["bar", "baz"]}


def test_a5_replacing_a_value() -> None:
    doc = {"baz": "qux", "foo": "bar"}
    assert applied(doc, [{"op": "replace", "path": "/baz", "value": "boo"}]) == {
        "baz": "boo",
        "foo": "bar",
    }


def test_a6_moving_a_value() -> None:
    doc = {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}
    patch = [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]
    assert applied(doc, patch) == {
        "foo": {"bar": "baz"},
        "qux": {"corge": "grault", "thud": "fred"},
    }


def test_a7_moving_an_array_element() -> None:
    doc = {"foo": ["all", "grass", "cows", "eat"]}
    patch = [{"op": "move", "from": "/foo/1", "path": "/foo/3"}]
    assert applied(doc, patch) == {"foo": ["all", "cows", "eat", "grass"]}


def test_a8_testing_a_value_success() -> None:
    doc = {"baz": "qux", "foo": ["a", 2, "c"]}
    patch: list[dict[str, Any]] = [
        {"op": "test", "path": "/baz", "value": "qux"},
        {"op": "test", "path": "/foo/1", "value": 2},
    ]
    assert applied(doc, patch) == doc


def test_a9_testing_a_value_error() -> None:
    err = fails({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}])
    assert err.test_failed and err.op_index == 0 and err.pointer == "/baz"


def test_a10_adding_a_nested_member_object() -> None:
    doc = {"foo": "bar"}
    patch = [{"op": "add", "path": "/child", "value": {"grandchild": {}}}]
    assert applied(doc, patch) == {"foo": "bar", "child": {"grandchild": {}}}


def test_a11_ignoring_unrecognized_elements() -> None:
    doc = {"foo": "bar"}
    patch = [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}]
    assert applied(doc, patch) == {"foo": "bar", "baz": "qux"}


def test_a12_adding_to_a_nonexistent_target() -> None:
    err = fails({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}])
    assert not err.test_failed and err.pointer == "/baz/bat" and "/baz" in err.reason


# A.13 (an operation with two `op` members) cannot be expressed once parsed: the JSON
# parser keeps one member, which is the validator's and the schema's business.


def test_a14_escape_ordering() -> None:
    doc = {"/": 9, "~1": 10}
    assert applied(doc, [{"op": "test", "path": "/~01", "value": 10}]) == doc


def test_a15_comparing_strings_and_numbers() -> None:
    err = fails({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}])
    assert err.test_failed


def test_a16_adding_an_array_value() -> None:
    doc = {"foo": ["bar"]}
    patch = [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]
    assert applied(doc, patch) == {"foo": ["bar", ["abc", "def"]]}


# ---------------------------------------------------------------- arrays and pointers


def test_add_at_length_appends_and_beyond_fails() -> None:
    assert applied([1, 2], [{"op": "add", "path": "/2", "value": 3}]) == [1, 2, 3]
    assert applied([1, 2], [{"op": "add", "path": "/-", "value": 3}]) == [1, 2, 3]
    assert applied([], [{"op": "add", "path": "/0", "value": 1}]) == [1]
    fails([1, 2], [{"op": "add", "path": "/3", "value": 3}])


@pytest.mark.parametrize("token", ["01", "-1", "1.0", " 1", "1 ", "\u0661", "²", "+1", "", "0x1"])
def test_invalid_array_indexes(token: str) -> None:
    err = fails([1, 2], [{"op": "replace", "path": f"/{token}", "value": 0}])
    assert "index" in err.reason


@pytest.mark.parametrize(
    "op",
    [
        {"op": "remove", "path": "/-"},
        {"op": "replace", "path": "/-", "value": 0},
        {"op": "test", "path": "/-", "value": 2},
        {"op": "move", "from": "/-", "path": "/0"},
        {"op": "copy", "from": "/-", "path": "/0"},
        {"op": "remove", "path": "/2"},
        {"op": "replace", "path": "/2", "value": 0},
    ],
)
def test_dash_and_out_of_range_only_where_adding(op: dict[str, Any]) -> None:
    fails([1, 2], [op])


def test_dash_as_the_target_of_move_and_copy() -> None:
    assert applied([1, 2, 3], [{"op": "move", "from": "/0", "path": "/-"}]) == [2, 3, 1]
    assert applied([1, 2], [{"op": "copy", "from": "/0", "path": "/-"}]) == [1, 2, 1]


def test_a_dash_member_of_an_object_is_a_key() -> None:
    assert applied({"-": 1}, [{"op": "replace", "path": "/-", "value": 2}]) == {"-": 2}


def test_pointer_escapes() -> None:
    doc = {"a/b": 1, "m~n": 2, "": 3, " ": 4}
    patch = [
        {"op": "replace", "path": "/a~1b", "value": 10},
        {"op": "replace", "path": "/m~0n", "value": 20},
        {"op": "replace", "path": "/", "value": 30},
        {"op": "replace", "path": "/ ", "value": 40},
    ]
    assert applied(doc, patch) == {"a/b": 10, "m~n": 20, "": 30, " ": 40}
    for bad in ("/m~2n", "/m~", "/~~01", "a"):
        fails({"m~n": 1}, [{"op": "remove", "path": bad}])


def test_descending_into_a_scalar_fails() -> None:
    err = fails({"a": 1}, [{"op": "add", "path": "/a/b", "value": 2}])
    assert "number" in err.reason


# ---------------------------------------------------------------- operations


def test_replace_needs_an_existing_target() -> None:
    fails({"a": 1}, [{"op": "replace", "path": "/b", "value": 2}])


def test_remove_with_a_leftover_value_applies() -> None:
    assert applied({"a": 1, "b": 2}, [{"op": "remove", "path": "/a", "value": 1}]) == {"b": 2}


def test_move_into_own_child_fails() -> None:
    err = fails({"a": {"b": {}}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}])
    assert "own child" in err.reason
    fails({"a": 1}, [{"op": "move", "from": "", "path": "/a"}])


def test_move_onto_itself_is_a_no_op_only_when_it_exists() -> None:
    assert applied({"a": 1}, [{"op": "move", "from": "/a", "path": "/a"}]) == {"a": 1}
    err = fails({"a": 1}, [{"op": "move", "from": "/b", "path": "/b"}])
    assert err.pointer == "/b"


def test_move_to_a_sibling_prefix_name_is_not_a_child() -> None:
    doc = {"a": 1}
    assert applied(doc, [{"op": "move", "from": "/a", "path": "/ab"}]) == {"ab": 1}


def test_move_and_copy_report_a_missing_from() -> None:
    for kind in ("move", "copy"):
        err = fails({"a": 1}, [{"op": kind, "from": "/nope", "path": "/b"}])
        assert err.pointer == "/nope"


def test_move_keeps_the_value_itself() -> None:
    inner = {"x": 1}
    doc = {"a": inner}
    result = apply_patch(doc, [{"op": "move", "from": "/a", "path": "/b"}])
    assert result["b"] is inner


def test_copy_is_deep() -> None:
    doc = {"a": {"list": [1]}}
    apply_patch(doc, [{"op": "copy", "from": "/a", "path": "/b"}])
    doc["b"]["list"].append(2)
    assert doc["a"] == {"list": [1]}


def test_inserted_values_do_not_alias_the_patch() -> None:
    value = {"list": [1]}
    patch: list[dict[str, Any]] = [
        {"op": "add", "path": "/a", "value": value},
        {"op": "add", "path": "/a/list/-", "value": 2},
        {"op": "replace", "path": "/b", "value": value},
    ]
    doc = apply_patch({"b": 0}, patch)
    doc["b"]["list"].append(9)
    assert value == {"list": [1]}
    assert doc == {"a": {"list": [1, 2]}, "b": {"list": [1, 9]}}


def test_large_integers_are_copied_too() -> None:
    value = {"n": 2**80}
    doc = apply_patch({}, [{"op": "add", "path": "/v", "value": value}])
    assert doc == {"v": {"n": 2**80}} and doc["v"] is not value


# ---------------------------------------------------------------- root


def test_root_replacement() -> None:
    doc = {"a": 1}
    assert apply_patch(doc, [{"op": "replace", "path": "", "value": [1]}]) == [1]
    assert apply_patch(doc, [{"op": "add", "path": "", "value": 0}]) == 0
    assert apply_patch(None, [{"op": "add", "path": "", "value": {"a": 1}}]) == {"a": 1}
    assert apply_patch(5, [{"op": "test", "path": "", "value": 5.0}]) == 5


def test_root_remove_yields_null_as_fast_json_patch_does() -> None:
    assert apply_patch({"a": 1}, [{"op": "remove", "path": ""}]) is None


def test_copy_and_move_from_the_root() -> None:
    assert applied({"a": 1}, [{"op": "copy", "from": "", "path": "/b"}]) == {
        "a": 1,
        "b": {"a": 1},
    }
    assert applied({"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": ""}]) == {"b": 1}


def test_failure_after_root_replacement_keeps_the_original_root() -> None:
    doc = {"a": 1}
    patch = [
        {"op": "replace", "path": "", "value": {"z": 1}},
        {"op": "remove", "path": "/missing"},
    ]
    fails(doc, patch)
    assert doc == {"a": 1}


# ---------------------------------------------------------------- test op


@pytest.mark.parametrize(
    ("actual", "expected", "equal"),
    [
        (1, 1.0, True),
        (0, -0.0, True),
        (True, 1, False),
        (False, 0, False),
        (1, True, False),
        (None, False, False),
        ("1", 1, False),
        ({"a": 1, "b": [1, 2]}, {"b": [1.0, 2], "a": 1}, True),
        ({"a": 1}, {"a": 1, "b": None}, False),
        ([1, 2], [2, 1], False),
        ([], {}, False),
        ({"a": {"b": [True]}}, {"a": {"b": [1]}}, False),
        ("é", "é", True),
    ],
)
def test_test_equality(actual: Any, expected: Any, equal: bool) -> None:
    assert json_equal(actual, expected) is equal
    assert json_equal(expected, actual) is equal
    patch = [{"op": "test", "path": "/v", "value": expected}]
    if equal:
        assert applied({"v": actual}, patch) == {"v": actual}
    else:
        assert fails({"v": actual}, patch).test_failed


def test_test_of_a_missing_location_is_a_failed_test() -> None:
    assert fails({"a": 1}, [{"op": "test", "path": "/b", "value": 1}]).test_failed
    assert fails([1], [{"op": "test", "path": "/5", "value": 1}]).test_failed


def test_malformed_test_is_not_a_failed_test() -> None:
    assert not fails({"a": 1}, [{"op": "test", "path": "/a"}]).test_failed
    assert not fails([1], [{"op": "test", "path": "/00", "value": 1}]).test_failed
    assert not fails({"a": 1}, [{"op": "test", "path": "/a~2", "value": 1}]).test_failed
    assert fails({"a": 1}, [{"op": "test", "path": "/a/b", "value": 1}]).test_failed


# ---------------------------------------------------------------- malformed patches


@pytest.mark.parametrize(
    "op",
    [
        {"op": "increment", "path": "/a"},
        {"path": "/a", "value": 1},
        {"op": "add", "path": "/b"},
        {"op": "replace", "path": "/a"},
        {"op": "move", "path": "/b"},
        {"op": "copy", "path": "/b"},
        {"op": "move", "from": 5, "path": "/b"},
        {"op": "add", "value": 1},
        {"op": "add", "path": 3, "value": 1},
        {"op": "add", "path": "a", "value": 1},
        {"op": None, "path": "/a"},
        "add",
        None,
        [],
    ],
)
def test_malformed_operations_fail_safely(op: Any) -> None:
    err = fails({"a": 1}, [{"op": "add", "path": "/x", "value": 1}, op])
    assert err.op_index == 1 and not err.test_failed


def test_a_patch_that_is_not_a_list() -> None:
    err = fails({"a": 1}, {"op": "remove", "path": "/a"})  # type: ignore[arg-type]
    assert err.op_index is None


def test_empty_patch_is_a_no_op() -> None:
    doc = {"a": 1}
    assert apply_patch(doc, []) is doc


def test_error_message_names_the_operation() -> None:
    err = fails(
        {"a": 1}, [{"op": "test", "path": "/a", "value": 1}, {"op": "remove", "path": "/b"}]
    )
    assert str(err).startswith("operation 1: ") and err.reason == "`/b` does not exist"


# ---------------------------------------------------------------- atomicity


def test_failing_third_op_leaves_doc_unchanged() -> None:
    doc = {"list": [0, 1, 2, 3], "obj": {"a": 1, "b": 2, "c": 3}, "z": None}
    original = copy.deepcopy(doc)
    order = orjson.dumps(doc)
    cases: list[list[dict[str, Any]]] = [
        [
            {"op": "remove", "path": "/list/1"},
            {"op": "add", "path": "/list/0", "value": "new"},
            {"op": "remove", "path": "/nope"},
        ],
        [
            {"op": "move", "from": "/list/0", "path": "/list/3"},
            {"op": "replace", "path": "/list/2", "value": "r"},
            {"op": "test", "path": "/z", "value": 0},
        ],
        [
            {"op": "remove", "path": "/obj/a"},  # a middle member: its order must come back
            {"op": "move", "from": "/obj/b", "path": "/moved"},
            {"op": "replace", "path": "/obj/zz", "value": 0},
        ],
        [
            {"op": "copy", "from": "/obj", "path": "/list/-"},
            {"op": "add", "path": "/obj/a", "value": "over"},
            {"op": "add", "path": "/list/99", "value": 0},
        ],
        [
            {"op": "remove", "path": "/list/0"},
            {"op": "remove", "path": "/list/0"},
            {"op": "remove", "path": "/list/5"},
        ],
        [
            {"op": "replace", "path": "", "value": []},
            {"op": "add", "path": "/-", "value": 1},
            {"op": "test", "path": "/0", "value": 2},
        ],
    ]
    for patch in cases:
        err = fails(doc, patch)
        assert err.op_index == 2
        assert doc == original and orjson.dumps(doc) == order


def test_containers_keep_their_identity_after_rollback() -> None:
    inner = [1, 2]
    doc = {"inner": inner}
    fails(doc, [{"op": "add", "path": "/inner/-", "value": 3}, {"op": "remove", "path": "/x"}])
    assert doc["inner"] is inner and inner == [1, 2]


def test_large_objects_roll_back_equal() -> None:
    """Beyond ORDER_LIMIT members, a rolled-back removal may move the member to the end
    (keeping the order would cost a copy of the key list per removal): equal, not ordered."""
    doc = {f"k{i}": i for i in range(jsonpatch.ORDER_LIMIT + 10)}
    original = dict(doc)
    with pytest.raises(PatchError):
        apply_patch(doc, [{"op": "remove", "path": "/k0"}, {"op": "remove", "path": "/missing"}])
    assert doc == original


# ---------------------------------------------------------------- linear cost


class CountingOrjson:
    """Stands in for the module's orjson: counts the bytes it serialises."""

    JSONEncodeError = orjson.JSONEncodeError
    JSONDecodeError = orjson.JSONDecodeError
    loads = staticmethod(orjson.loads)

    def __init__(self) -> None:
        self.serialised = 0

    def dumps(self, value: Any, *args: Any) -> bytes:
        out = orjson.dumps(value, *args)
        self.serialised += len(out)
        return out


def grow(n: int) -> Any:
    state: Any = {"items": [], "meta": {"count": 0}}
    for i in range(n):
        state = apply_patch(
            state,
            [
                {"op": "add", "path": "/items/-", "value": {"id": i, "text": "hello"}},
                {"op": "replace", "path": "/meta/count", "value": i + 1},
                {"op": "test", "path": f"/items/{i}/id", "value": i},
            ],
        )
    return state


def test_10000_appends_never_copy_the_state(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = CountingOrjson()
    monkeypatch.setattr(jsonpatch, "orjson", counting)
    state = grow(10_000)
    assert len(state["items"]) == 10_000 and state["meta"]["count"] == 10_000
    value_size = len(orjson.dumps({"id": 9999, "text": "hello"}))
    assert counting.serialised <= 10_000 * value_size  # only the patch values, ever


# ---------------------------------------------------------------- properties


def ref_tokens(pointer: Any) -> list[str]:
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise ValueError(pointer)
    if pointer == "":
        return []
    tokens = pointer[1:].split("/")
    if any(re.search("~(?![01])", t) for t in tokens):
        raise ValueError(pointer)
    return [t.replace("~1", "/").replace("~0", "~") for t in tokens]


def ref_index(token: str, size: int, end_ok: bool) -> int:
    if end_ok and token == "-":
        return size
    if not re.fullmatch("0|[1-9][0-9]*", token):
        raise ValueError(token)
    index = int(token)
    if index > size or (index == size and not end_ok):
        raise ValueError(token)
    return index


def ref_get(doc: Any, tokens: list[str]) -> Any:
    for token in tokens:
        if isinstance(doc, dict):
            doc = doc[token]
        elif isinstance(doc, list):
            doc = doc[ref_index(token, len(doc), False)]
        else:
            raise ValueError(token)
    return doc


def ref_add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = ref_get(doc, tokens[:-1])
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent.insert(ref_index(tokens[-1], len(parent), True), value)
    else:
        raise ValueError(tokens)
    return doc


def ref_remove(doc: Any, tokens: list[str]) -> tuple[Any, Any]:
    if not tokens:
        return None, doc
    parent = ref_get(doc, tokens[:-1])
    if isinstance(parent, dict):
        return doc, parent.pop(tokens[-1])
    if isinstance(parent, list):
        return doc, parent.pop(ref_index(tokens[-1], len(parent), False))
    raise ValueError(tokens)


def ref_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(ref_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(ref_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def ref_apply(doc: Any, patch: list[dict[str, Any]]) -> Any:
    """An independent, copy-per-operation reading of RFC 6902 (slow, obvious)."""
    doc = copy.deepcopy(doc)
    for op in patch:
        doc = copy.deepcopy(doc)
        path = ref_tokens(op["path"])
        kind = op["op"]
        if kind == "add":
            doc = ref_add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            doc, _ = ref_remove(doc, path)
        elif kind == "replace":
            ref_get(doc, path)
            doc, _ = ref_remove(doc, path)
            doc = ref_add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "test":
            if not ref_equal(ref_get(doc, path), op["value"]):
                raise ValueError("test")
        else:
            source = ref_tokens(op["from"])
            if kind == "move" and len(path) > len(source) and path[: len(source)] == source:
                raise ValueError("child")
            value = ref_get(doc, source)
            if kind == "copy":
                doc = ref_add(doc, path, copy.deepcopy(value))
            elif source != path:
                doc, value = ref_remove(doc, source)
                doc = ref_add(doc, path, value)
    return doc


scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from([1.0, 0.5, "", "a"])
json_docs = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["a", "b", "c", "~", "/", "-", "0"]), inner, max_size=4)
    ),
    max_leaves=10,
)


def pointers(doc: Any, prefix: str = "") -> list[str]:
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += pointers(value, f"{prefix}/{key.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += pointers(value, f"{prefix}/{index}")
    return found


@st.composite
def docs_and_patches(draw: st.DrawFn) -> tuple[Any, list[dict[str, Any]]]:
    doc = draw(json_docs)
    existing = pointers(doc)
    targets = existing + [p + "/-" for p in existing] + [p + "/new" for p in existing]
    targets += ["/missing/x", "/0", "/-", "/01", "/~2"]
    some_path = st.sampled_from(existing) | st.sampled_from(targets)
    op = st.one_of(
        st.fixed_dictionaries({"op": st.just("add"), "path": some_path, "value": json_docs}),
        st.fixed_dictionaries({"op": st.just("remove"), "path": some_path}),
        st.fixed_dictionaries({"op": st.just("replace"), "path": some_path, "value": json_docs}),
        st.fixed_dictionaries({"op": st.just("test"), "path": some_path, "value": json_docs}),
        st.fixed_dictionaries(
            {"op": st.sampled_from(["move", "copy"]), "from": some_path, "path": some_path}
        ),
    )
    return doc, draw(st.lists(op, max_size=6))


@settings(max_examples=500)
@given(docs_and_patches())
def test_atomic_and_equal_to_a_reference(case: tuple[Any, list[dict[str, Any]]]) -> None:
    doc, patch = case
    patch_before = copy.deepcopy(patch)
    work = copy.deepcopy(doc)
    before = orjson.dumps(work)
    try:
        expected = ref_apply(doc, patch)
    except (ValueError, KeyError, IndexError):
        expected = PatchError
    try:
        result = apply_patch(work, patch)
    except PatchError:
        assert expected is PatchError, "the reference applies it"
        assert orjson.dumps(work) == before  # atomic: exactly as before, order included
    else:
        assert expected is not PatchError, "the reference rejects it"
        assert ref_equal(result, expected) and result == expected
    assert patch == patch_before  # the patch itself is never mutated


OPS = ["add", "remove", "replace", "move", "copy", "test", "", "/", "/a", "/0", "/-", "/a/0"]
MEMBER_VALUES = json_docs | st.sampled_from(OPS)


@settings(max_examples=300)
@given(
    json_docs,
    st.lists(st.dictionaries(st.sampled_from(["op", "path", "from", "value"]), MEMBER_VALUES)),
)
def test_arbitrary_operations_raise_only_patch_error(doc: Any, patch: list[Any]) -> None:
    work = copy.deepcopy(doc)
    try:
        apply_patch(work, patch)
    except PatchError:
        assert work == doc
