"""The C++ array fast path of ro.greeks (greeks_arrays) against the general Python path."""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pytest
import riskoffset as ro
from riskoffset import _core

RNG = np.random.default_rng(4)
N = 257
F = RNG.uniform(50.0, 150.0, N)
K = RNG.uniform(50.0, 150.0, N)
T = RNG.uniform(0.01, 2.0, N)
R = RNG.uniform(0.0, 0.05, N)
SIGMA = RNG.uniform(0.1, 0.9, N)
IS_CALL = RNG.random(N) < 0.5


def general_path(flag: object, *args: object, **kwargs: object) -> dict[str, np.ndarray]:
    # out= as a mapping that is not a dict forces the Python path: compare it with the fast path on the same
    # inputs.
    names = kwargs.pop("greeks")
    shape = np.broadcast_shapes(*(np.shape(a) for a in (flag, *args)))
    out = {n: np.empty(shape) for n in names}  # type: ignore[union-attr]
    ro.greeks(flag, *args, greeks=names, out=MappingProxyType(out), **kwargs)  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize("flag", [IS_CALL, "c", "put", True])
@pytest.mark.parametrize("settlement", ["linear", "inverse"])
def test_fast_path_equals_the_general_path(flag: object, settlement: str, simd_target: str) -> None:
    names = ["price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga", "charm"]
    if settlement == "inverse":
        names += ["delta_pa", "delta_b76"]
    fast = ro.greeks(flag, F, K, T, R, SIGMA, settlement=settlement, greeks=names)
    slow = general_path(flag, F, K, T, R, SIGMA, settlement=settlement, greeks=names)
    assert list(fast) == names
    for name in names:
        assert np.array_equal(fast[name], slow[name]), name


def test_scalars_mixed_with_arrays_and_shape_kept() -> None:
    got = ro.greeks("c", F.reshape(1, N), 100.0, 0.5, 0, SIGMA.reshape(1, N), greeks=["price"])
    assert got["price"].shape == (1, N)
    want = ro.price("c", F, 100.0, 0.5, 0.0, SIGMA)
    assert np.array_equal(got["price"].reshape(-1), want)


def test_unusual_inputs_are_declined() -> None:
    order = (0,)
    # Different shapes, float32, lists, non-contiguous views, unknown flag strings: None (Python path).
    assert _core.pricing.greeks_arrays("c", F, K[:-1], T, R, SIGMA, 0.0, 0, 0, order, 0) is None
    assert _core.pricing.greeks_arrays("c", F.astype(np.float32), K, T, R, SIGMA, 0.0, 0, 0, order, 0) is None
    assert _core.pricing.greeks_arrays("c", list(F), K, T, R, SIGMA, 0.0, 0, 0, order, 0) is None
    assert _core.pricing.greeks_arrays("c", F[::2], K[::2], T[::2], R[::2], SIGMA[::2], 0.0, 0, 0, order, 0) is None
    assert _core.pricing.greeks_arrays("c", F[:9], K[:9], T[:9], R[:9], SIGMA[:9], 0.0, 0, 0, order, 0) is not None
    assert _core.pricing.greeks_arrays("C", F, K, T, R, SIGMA, 0.0, 0, 0, order, 0) is None
    bad = F.copy()
    bad[7] = -1.0
    assert _core.pricing.greeks_arrays("c", bad, K, T, R, SIGMA, 0.0, 0, 0, order, 0) is None
    with pytest.raises(ValueError, match="underlying at row 7"):
        ro.greeks("c", bad, K, T, R, SIGMA, greeks=["price"])


def test_implied_vol_fast_path_equals_the_general_path(simd_target: str) -> None:
    price = np.asarray(ro.price(IS_CALL, F, K, T, R, SIGMA))
    fast, fast_status = ro.implied_vol(price, IS_CALL, F, K, T, R, return_status=True)
    # on_error="warn" with no failure still takes the fast path; a list input takes the Python path.
    slow, slow_status = ro.implied_vol(list(price), IS_CALL, F, K, T, R, return_status=True)
    assert np.array_equal(fast, slow, equal_nan=True)
    assert np.array_equal(fast_status, slow_status)


def test_implied_vol_failures_are_still_reported() -> None:
    price = np.asarray(ro.price(IS_CALL, F, K, T, R, SIGMA))
    price[3] = -1.0
    with pytest.raises(ValueError, match="row 3"):
        ro.implied_vol(price, IS_CALL, F, K, T, R, on_error="raise")
    sigma, status = ro.implied_vol(price, IS_CALL, F, K, T, R, return_status=True)
    assert np.isnan(sigma[3]) and status[3] == ro.IVStatus.BELOW_INTRINSIC


@pytest.mark.parametrize("settlement", ["linear", "inverse"])
def test_each_output_is_bit_identical_whatever_else_is_asked(settlement: str, simd_target: str) -> None:
    """Kernel instances skip work that a selection does not need (e.g. the normal tails for vega alone); no
    output may depend on which others were requested."""
    everything = ro.greeks(IS_CALL, F, K, T, R, SIGMA, settlement=settlement)
    for name, value in everything.items():
        alone = ro.greeks(IS_CALL, F, K, T, R, SIGMA, settlement=settlement, greeks=[name])[name]
        assert np.array_equal(alone, value), name


@pytest.mark.parametrize("dtype", ["<U1", "S1", "<U4", "S4"])
def test_string_flag_arrays_take_the_fast_path(dtype: str) -> None:
    """String columns are decoded in C++ (no None, no Python fallback) and price like the bool column."""
    is_call = np.arange(F.size) % 3 == 0
    words = ("c", "P") if dtype.endswith("1") else ("CALL", "put")
    flags = np.where(is_call, *words).astype(dtype)
    order = (0, 1)
    got = _core.pricing.greeks_arrays(flags, F, K, T, R, SIGMA, 0.0, 0, 0, order, 0)
    want = _core.pricing.greeks_arrays(is_call, F, K, T, R, SIGMA, 0.0, 0, 0, order, 0)
    assert got is not None and want is not None
    for name in ("price", "delta"):
        np.testing.assert_array_equal(got[name], want[name])


@pytest.mark.parametrize("threads", [None, 1])
def test_out_dict_is_filled_by_the_fast_path(threads: int | None, simd_target: str) -> None:
    names = ["delta", "price", "vega"]
    out = {n: np.full(N, np.nan) for n in names}
    got = ro.greeks(IS_CALL, F, K, T, R, SIGMA, greeks=names, threads=threads, out=out)
    fresh = ro.greeks(IS_CALL, F, K, T, R, SIGMA, greeks=names, threads=threads)
    assert list(got) == names
    for n in names:
        assert got[n] is out[n], n  # the caller's arrays, filled in place
        assert np.array_equal(out[n], fresh[n]), n
    # The C++ entry itself takes the dict (so the call above did not fall back to the Python path).
    order = (0, 1)
    direct = _core.pricing.greeks_arrays(IS_CALL, F, K, T, R, SIGMA, 0.0, 0, 0, order, 1, out)
    assert direct is not None and direct["price"] is out["price"] and direct["delta"] is out["delta"]


def test_unusable_out_arrays_are_declined_and_worded() -> None:
    order = (0,)
    good = np.empty(N)
    read_only = np.empty(N)
    read_only.flags.writeable = False
    cases = {
        "shape": ({"price": np.empty(N - 1)}, "float64 ndarray of shape"),
        "dtype": ({"price": np.empty(N, dtype=np.float32)}, "float64 ndarray of shape"),
        "2-D": ({"price": np.empty((1, N))}, "float64 ndarray of shape"),
        "strided": ({"price": np.empty(2 * N)[::2]}, "C-contiguous and writeable"),
        "read-only": ({"price": read_only}, "C-contiguous and writeable"),
        "missing": ({"delta": good}, "out is missing arrays for \\['price'\\]"),
    }
    for what, (out, message) in cases.items():
        assert _core.pricing.greeks_arrays("c", F, K, T, R, SIGMA, 0.0, 0, 0, order, 1, out) is None, what
        with pytest.raises(ValueError, match=message):
            ro.greeks("c", F, K, T, R, SIGMA, greeks=["price"], threads=1, out=out)
    # An output over an input's memory: declined, so the Python path reads that input through a copy.
    inputs = F.copy()
    assert _core.pricing.greeks_arrays("c", inputs, K, T, R, SIGMA, 0.0, 0, 0, order, 1, {"price": inputs}) is None
    want = ro.greeks("c", F, K, T, R, SIGMA, greeks=["price"], threads=1)["price"]
    assert np.array_equal(ro.greeks("c", inputs, K, T, R, SIGMA, greeks=["price"], threads=1, out={"price": inputs})["price"], want)
    # A scalar call has no array to fill: declined here, refused by the Python path.
    assert _core.pricing.greeks_arrays("c", 100.0, 100.0, 0.5, 0.0, 0.5, 0.0, 0, 0, order, 1, {"price": good}) is None
