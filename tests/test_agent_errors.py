"""Raw exception text in RUN_ERROR.message is recognised, and human messages are not.

The cases live in tests/fixtures/run_errors.yaml: `raw` messages, each with a `kind`
that must be part of the label, and `human` messages that must give None.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from agui_conformance.agent_errors import KINDS, WINDOW, raw_exception

FIXTURE = Path(__file__).parent / "fixtures" / "run_errors.yaml"
CASES: dict[str, list[dict[str, Any]]] = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
RAW = CASES["raw"]
HUMAN = CASES["human"]


def _id(case: dict[str, Any]) -> str:
    return repr(case["message"][:60])


def test_fixture_is_well_formed() -> None:
    assert len(RAW) >= 30
    assert len(HUMAN) >= 25
    for case in RAW:
        assert set(case) <= {"message", "kind", "note"}, case
        assert isinstance(case["message"], str) and isinstance(case["kind"], str), case
    for case in HUMAN:
        assert set(case) <= {"message", "note"}, case
        assert isinstance(case["message"], str), case
    messages = [case["message"] for case in RAW + HUMAN]
    assert len(messages) == len(set(messages)), "a message is listed twice"


@pytest.mark.parametrize("case", RAW, ids=_id)
def test_raw_exception_text_is_recognised(case: dict[str, Any]) -> None:
    label = raw_exception(case["message"])
    assert label is not None, case["message"]
    assert case["kind"] in label, label
    assert label.startswith(KINDS), label
    assert "\n" not in label


@pytest.mark.parametrize("case", HUMAN, ids=_id)
def test_human_messages_are_not_flagged(case: dict[str, Any]) -> None:
    assert raw_exception(case["message"]) is None


@pytest.mark.parametrize(
    "value", [None, 0, 1.5, b"KeyError: 'x'", ["KeyError: 'x'"], {"message": "KeyError: 'x'"}]
)
def test_non_strings_are_not_judged(value: object) -> None:
    assert raw_exception(value) is None


def test_the_label_excerpt_is_short() -> None:
    label = raw_exception("ValueError: " + "x" * 10_000)
    assert label is not None and label.startswith("a Python exception message (ValueError: x")
    assert len(label) < 150


def test_only_the_window_is_read() -> None:
    inside = "Please wait. " * 10 + "KeyError: 'tools'"
    assert raw_exception(inside) is not None
    assert raw_exception("a" * WINDOW + "\nKeyError: 'tools'") is None


_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/agent.py", line 12, in run\n'
    "KeyError: 'tools'\n"
)
# Repeated to 1 MB, each is what one of the patterns starts on, again and again.
_HOSTILE_UNITS = [
    "A",
    "a",
    "a.",
    ".",
    "$",
    "_",
    "'",
    '"',
    "(",
    "<",
    "[",
    ": ",
    "\n",
    "\t",
    " at ",
    "\n at ",
    "at x (",
    "at x (a:1:",
    "at a.b(",
    'File "',
    'File "a", line ',
    "Aa.",
    "a.A",
    "A(",
    "aError",
    "'a' object ",
    "<a at 0x",
    "x.y",
    "Cannot read properties of ",
    "(intermediate value)",
    " is not a function",
    "Unexpected token ",
    "ENOENT: a",
    "E",
    "java.",
    "System.",
    "goroutine 1 [",
    '"code": "custom" ',
    "a.b.c.d.e.f.g.h.i.j.",
]


@pytest.mark.parametrize("unit", _HOSTILE_UNITS, ids=repr)
def test_a_hostile_megabyte_is_judged_on_its_window(unit: str) -> None:
    hostile = unit * (1_000_000 // len(unit))
    started = time.perf_counter()
    assert raw_exception(hostile) is None
    assert raw_exception(_TRACEBACK + hostile) == "a Python traceback (KeyError: 'tools')"
    # generous: each call reads 4,000 characters; a pattern that backtracks on them
    # quadratically takes seconds
    assert time.perf_counter() - started < 2.0


# Common English words: none is code, and none of the runtime sentences the module knows
# ("is not a function", "list index out of range", ...) can be spelled from them.
_COMMON_ENGLISH = """
the be to of and a in that have I it for not on with he as you do at this but his by from
they we say her she or an will my one all would there their what so up out if about who get
which go me when make can like time no just him know take people into year your good some
could them see other than then now look only come its over think also back after use two how
our work first well way even new want because any these give day most us is are was were been
has had did said error please try again later service model request failed reach weather
answer message agent tool server network timeout limit rate exceeded busy sorry retry minute
second connection lost unavailable invalid key missing input output search result found user
run stopped cancelled something went wrong data file object type name value can't
don't won't isn't couldn't it's you're we're too many long short slow fast right left open
closed ready wait moment account plan quota upgrade sign session expired thread conversation
"""
_WORDS = sorted(set(_COMMON_ENGLISH.split()))
_SEPARATORS = [" ", " ", " ", ", ", ". ", "! ", "? ", " - ", "; "]

prose = st.lists(
    st.tuples(st.sampled_from(_WORDS), st.sampled_from(_SEPARATORS), st.booleans()),
    min_size=1,
    max_size=40,
).map(
    lambda parts: "".join(
        (word.capitalize() if upper else word) + sep for word, sep, upper in parts
    ).strip()
)


@given(prose)
def test_english_prose_is_never_flagged(message: str) -> None:
    assert raw_exception(message) is None


@given(prose, prose)
def test_english_prose_on_two_lines_is_never_flagged(first: str, second: str) -> None:
    assert raw_exception(first + "\n" + second) is None
