"""Indented JSON through orjson is byte for byte what the standard library writes, or is
written by the standard library: any value, any float, any key, any text."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.system import jsontext
from opsctl.system.jsontext import dumps


@pytest.fixture(autouse=True)
def through_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every value through orjson, however small."""
    monkeypatch.setattr(jsontext, "SMALL", 0)


class Name(str):
    """A subclass of str, which orjson would write by its ``default``."""


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.text().map(Name)
)
keys = st.text() | st.integers(-5, 5) | st.booleans() | st.none() | st.floats(allow_nan=False)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=30,
)


def stdlib(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@settings(max_examples=600, deadline=None)
@given(values)
def test_the_same_bytes_as_the_standard_library(value: Any) -> None:
    assert dumps(value) == stdlib(value)


def test_a_large_value_is_written_by_orjson_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    value = [{"rotation": f"r{i}", "primary": {"id": "ana", "name": "Ana Lima", "available": True}, "n": i} for i in range(2000)]
    import orjson

    assert len(json.dumps(value)) > jsontext.SMALL
    assert dumps(value) == stdlib(value) == orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


@pytest.mark.parametrize(
    "value",
    [
        [],
        {},
        [[], {}, [{}]],
        {"a": [1, 2.5, None, True], "b": {"c": 'é\u2028\x00\x1f\x7f"\\/'}},
        [1e-05, 1e16, 1.5e300, -0.0, 5e-324, math.nan, math.inf],
        {1: "int key", None: "none key"},
        [2**64, -(2**63) - 1],
        "\ud800",  # a lone surrogate: written by the standard library, as before
    ],
)
def test_values_orjson_writes_otherwise(value: Any) -> None:
    assert dumps(value) == stdlib(value)


def test_what_the_standard_library_refuses_is_refused() -> None:
    from datetime import date

    with pytest.raises(TypeError):
        dumps({"when": date(2026, 1, 1)})
    with pytest.raises(TypeError):
        dumps({1, 2})
