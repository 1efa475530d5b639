"""The raw-CPython scalar entry points: value_scalar and ScalarFunction (compiled fast path + fallback)."""

from __future__ import annotations

import gc
import inspect
import sys

import pytest
import riskoffset as ro
from riskoffset import _core


def fallback(flag: str, S: float, K: float, t: float, r: float, sigma: float) -> float:
    """A stand-in for a vollib function."""
    return -1.0


@pytest.fixture
def fast_delta() -> _core.pricing.ScalarFunction:
    import functools

    f = _core.pricing.ScalarFunction(1, 1, 1.0, 6, fallback)
    functools.update_wrapper(f, fallback)
    return f


def test_fast_path_equals_the_array_api(fast_delta: _core.pricing.ScalarFunction, simd_target: str) -> None:
    expected = ro.greeks("c", 49.0, 50.0, 0.3846, 0.05, 0.2, model="bsm", greeks=["delta"])["delta"]
    assert fast_delta("c", 49.0, 50.0, 0.3846, 0.05, 0.2) == expected
    assert fast_delta("c", 49, 50, 0.3846, 0.05, 0.2) == expected  # ints take the fast path too


@pytest.mark.parametrize(
    "args",
    [
        ("C", 49.0, 50.0, 0.3846, 0.05, 0.2),  # vollib's flags are exactly 'c' / 'p'
        ("call", 49.0, 50.0, 0.3846, 0.05, 0.2),
        ("c", -49.0, 50.0, 0.3846, 0.05, 0.2),
        ("c", 49.0, 50.0, 0.0, 0.05, 0.2),  # t = 0: vollib's closed forms divide by zero
        ("c", 49.0, 50.0, 0.3846, 0.05, 0.0),
        ("c", 49.0, float("nan"), 0.3846, 0.05, 0.2),
        ("c", "49", 50.0, 0.3846, 0.05, 0.2),
    ],
)
def test_everything_else_goes_to_the_fallback(
    fast_delta: _core.pricing.ScalarFunction, args: tuple[object, ...]
) -> None:
    assert fast_delta(*args) == -1.0


def test_keywords_and_wrong_arity_go_to_the_fallback(fast_delta: _core.pricing.ScalarFunction) -> None:
    assert fast_delta(flag="c", S=49.0, K=50.0, t=0.3846, r=0.05, sigma=0.2) == -1.0
    with pytest.raises(TypeError):
        fast_delta("c", 49.0)  # the fallback's own error for a bad call


def test_wrapper_looks_like_the_function(fast_delta: _core.pricing.ScalarFunction) -> None:
    assert fast_delta.__name__ == "fallback"
    assert (
        str(inspect.signature(fast_delta))
        == "(flag: 'str', S: 'float', K: 'float', t: 'float', r: 'float', sigma: 'float') -> 'float'"
    )
    assert "stand-in" in (fast_delta.__doc__ or "")


def test_constructor_validates() -> None:
    with pytest.raises(ValueError, match="ScalarFunction"):
        _core.pricing.ScalarFunction(2, 1, 1.0, 6, fallback)
    with pytest.raises(ValueError, match="ScalarFunction"):
        _core.pricing.ScalarFunction(1, 1, 1.0, 6, 42)


def test_no_reference_leak() -> None:
    before = sys.getrefcount(fallback)
    for _ in range(100):
        f = _core.pricing.ScalarFunction(1, 1, 1.0, 6, fallback)
        f("c", 49.0, 50.0, 0.3846, 0.05, 0.2)
        f("x", 49.0, 50.0, 0.3846, 0.05, 0.2)
        del f
    gc.collect()
    assert sys.getrefcount(fallback) == before


def test_value_scalar_declines_invalid_rows_and_checks_codes() -> None:
    assert _core.pricing.value_scalar(0, "c", -1.0, 100.0, 1.0, 0.0, 0.2, 0.0, 0, 0) is None
    assert _core.pricing.value_scalar(0, [1], 100.0, 100.0, 1.0, 0.0, 0.2, 0.0, 0, 0) is None
    with pytest.raises(ValueError):
        _core.pricing.value_scalar(11, "c", 100.0, 100.0, 1.0, 0.0, 0.2, 0.0, 0, 0)
    with pytest.raises(TypeError):
        _core.pricing.value_scalar(0, "c", 100.0)
