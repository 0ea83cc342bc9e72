"""``to_jsonable``: every kind of result value becomes plain, strict JSON (non-finite -> null)."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from initlab import InitlabError
from initlab.core.io import jsonable, to_jsonable, write_json

FINITE = st.floats(allow_nan=False, allow_infinity=False)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | FINITE | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)
#: Anything a result may hold, non-finite floats included.
ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


def _strict(value: Any) -> Any:
    """Round trip through strict JSON (``allow_nan=False`` raises on NaN/Infinity)."""
    return json.loads(json.dumps(value, allow_nan=False))


def _reference(value: Any) -> Any:
    """The expected conversion, written independently: non-finite floats to None, tuples to lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [_reference(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _reference(v) for k, v in value.items()}
    return value


@given(JSON)
def test_plain_json_is_unchanged(value: Any) -> None:
    assert to_jsonable(value) == value
    assert _strict(to_jsonable(value)) == value


@given(ANY)
def test_any_value_becomes_strict_json(value: Any) -> None:
    out = to_jsonable(value)
    assert out == _reference(value)
    assert _strict(out) == out  # serialises without NaN/Infinity and reads back the same


@settings(deadline=None, max_examples=50)
@given(arrays(np.float32, st.lists(st.integers(0, 3), max_size=3).map(tuple), elements=st.floats(width=32)))
def test_tensors_become_numbers_or_nested_lists(a: np.ndarray) -> None:
    t = torch.from_numpy(a.copy())  # (*shape)
    expected = np.where(np.isfinite(a), a, None).tolist() if a.ndim else _reference(float(a))
    for obj in (t, a):
        out = to_jsonable(obj)
        assert out == expected
        assert _strict(out) == out
    if a.ndim == 0:
        assert out is None or isinstance(out, float)


def test_zero_d_tensors_and_numpy_scalars_are_python_numbers() -> None:
    cases = [
        (torch.tensor(3), 3, int),
        (torch.tensor(2.5, dtype=torch.float64), 2.5, float),
        (torch.tensor(True), True, bool),
        (np.int64(7), 7, int),
        (np.float32(0.5), 0.5, float),
        (np.float64(-1.25), -1.25, float),
        (np.bool_(False), False, bool),
    ]
    for obj, value, kind in cases:
        out = to_jsonable(obj)
        assert out == value and type(out) is kind, (obj, out)
    for bad in (torch.tensor(float("nan")), torch.tensor(float("-inf")), np.float32("inf"), math.inf):
        assert to_jsonable(bad) is None
    assert to_jsonable(torch.tensor([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]
    assert to_jsonable(torch.empty(0, 3)) == []


class Colour(enum.Enum):
    RED = "red"
    PAIR = (1, 2)


class Level(enum.IntEnum):
    HIGH = 2


class Mode(enum.StrEnum):
    FAST = "fast"


@dataclasses.dataclass
class Inner:
    std: torch.Tensor
    where: Path
    colour: Colour


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner
    items: tuple[Inner, ...]
    table: dict[int, float]
    level: Level = Level.HIGH
    mode: Mode = Mode.FAST


def test_dataclasses_field_by_field_recursively() -> None:
    inner = Inner(torch.tensor([1.0, float("nan")]), Path("runs") / "a", Colour.PAIR)
    obj = Outer("x", inner, (inner, Inner(torch.tensor(0.5), PurePosixPath("/b"), Colour.RED)), {1: math.inf})
    expected_inner = {"std": [1.0, None], "where": "runs/a", "colour": [1, 2]}
    assert to_jsonable(obj) == {
        "name": "x",
        "inner": expected_inner,
        "items": [expected_inner, {"std": 0.5, "where": "/b", "colour": "red"}],
        "table": {"1": None},
        "level": 2,
        "mode": "fast",
    }
    out = to_jsonable(obj)
    assert type(out["level"]) is int and type(out["mode"]) is str  # plain values, not enum members
    assert obj.inner.std.isnan().any()  # the input is left untouched
    with pytest.raises(InitlabError, match="cannot write a type as JSON"):
        to_jsonable(Outer)  # the class, not an instance


@given(st.builds(lambda a, b, c: {"a": a, "b": b, "c": c}, st.integers(), FINITE, st.text(max_size=5)))
def test_a_plain_dataclass_matches_asdict(fields: dict[str, Any]) -> None:
    Plain = dataclasses.make_dataclass("Plain", ["a", "b", "c"])
    obj = Plain(**fields)
    assert to_jsonable(obj) == dataclasses.asdict(obj) == fields


def test_unknown_objects_are_an_error_naming_the_type() -> None:
    with pytest.raises(InitlabError, match=r"cannot write a Linear as JSON: Linear\(in_features=2"):
        to_jsonable({"model": [torch.nn.Linear(2, 3)]})
    with pytest.raises(InitlabError, match="cannot write a complex as JSON"):
        to_jsonable(torch.tensor([1 + 2j]))
    with pytest.raises(InitlabError, match="cannot write a set as JSON"):
        to_jsonable({1, 2})


def test_jsonable_is_the_same_function() -> None:
    assert jsonable is to_jsonable


def test_write_json_writes_strict_json_with_nulls(tmp_path: Path) -> None:
    path = write_json(tmp_path / "sub" / "r.json", {"x": torch.tensor([math.nan, 1.0]), "p": tmp_path})
    text = path.read_text()
    assert "NaN" not in text and text.endswith("}\n")
    assert json.loads(text) == {"x": [None, 1.0], "p": str(tmp_path)}
