"""Tests of riskoffset.compat.vectorized, the drop-in for py_vollib_vectorized 0.1.1.

py_vollib_vectorized itself only runs in a separate environment (it needs py_vollib 1.0.1, which conflicts with
vollib 1.0.11; docs/compat.md), so this file checks against:

* a transcription of py_vollib_vectorized 0.1.1's public signatures (read from its source);
* its documented examples (flag ['c', 'p'], S=95, K=[100, 90], t=0.2, r=0.2, sigma=0.2) to their printed digits
  where py_vollib_vectorized is right (prices, implied volatilities, delta, gamma, call rho) -- its theta, vega
  and put rho are finite differences and differ from the analytic values in the 4th-5th digit;
* vollib's analytical Greeks and Black price (riskoffset.compat.vollib, and the real vollib when installed) for
  the values, which are the correct analytic ones in vollib's units.

tests/pvv_differential.py (not collected) compares against the real py_vollib_vectorized in its own venv.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import json
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest
import riskoffset.compat.vectorized as vz
import riskoffset.compat.vollib as cv
from riskoffset.compat.vollib.helpers.exceptions import PriceIsAboveMaximum, PriceIsBelowIntrinsic

F64 = "numpy.float64"
# (name, kind, default) per parameter, transcribed from py_vollib_vectorized 0.1.1 (models.py, greeks.py,
# implied_volatility.py, api.py).  P = positional-or-keyword, K = keyword-only, V = **kwargs.
_NO = inspect.Parameter.empty
_GREEK_SIG = [
    ("flag", "P", _NO),
    ("S", "P", _NO),
    ("K", "P", _NO),
    ("t", "P", _NO),
    ("r", "P", _NO),
    ("sigma", "P", _NO),
    ("q", "P", None),
    ("model", "K", "black_scholes"),
    ("return_as", "K", "dataframe"),
    ("dtype", "K", F64),
]
PVV_SIGNATURES: dict[str, list[tuple[str, str, Any]]] = {
    "vectorized_black": [
        ("flag", "P", _NO),
        ("F", "P", _NO),
        ("K", "P", _NO),
        ("t", "P", _NO),
        ("r", "P", _NO),
        ("sigma", "P", _NO),
        ("return_as", "K", "dataframe"),
        ("dtype", "K", F64),
    ],
    "vectorized_black_scholes": [
        ("flag", "P", _NO),
        ("S", "P", _NO),
        ("K", "P", _NO),
        ("t", "P", _NO),
        ("r", "P", _NO),
        ("sigma", "P", _NO),
        ("return_as", "K", "dataframe"),
        ("dtype", "K", F64),
    ],
    "vectorized_black_scholes_merton": [
        ("flag", "P", _NO),
        ("S", "P", _NO),
        ("K", "P", _NO),
        ("t", "P", _NO),
        ("r", "P", _NO),
        ("sigma", "P", _NO),
        ("q", "P", _NO),
        ("return_as", "K", "dataframe"),
        ("dtype", "K", F64),
    ],
    "vectorized_implied_volatility": [
        ("price", "P", _NO),
        ("S", "P", _NO),
        ("K", "P", _NO),
        ("t", "P", _NO),
        ("r", "P", _NO),
        ("flag", "P", _NO),
        ("q", "P", None),
        ("on_error", "K", "warn"),
        ("model", "K", "black_scholes"),
        ("return_as", "K", "dataframe"),
        ("dtype", "K", F64),
        ("kwargs", "V", _NO),
    ],
    "vectorized_implied_volatility_black": [
        ("price", "P", _NO),
        ("F", "P", _NO),
        ("K", "P", _NO),
        ("r", "P", _NO),
        ("t", "P", _NO),
        ("flag", "P", _NO),
        ("on_error", "K", "warn"),
        ("return_as", "K", "dataframe"),
        ("dtype", "K", F64),
        ("kwargs", "V", _NO),
    ],
    "vectorized_delta": _GREEK_SIG,
    "vectorized_gamma": _GREEK_SIG,
    "vectorized_theta": _GREEK_SIG,
    "vectorized_vega": _GREEK_SIG,
    "vectorized_rho": _GREEK_SIG,
    "get_all_greeks": _GREEK_SIG,
    "price_dataframe": [
        ("df", "P", _NO),
        ("flag_col", "K", None),
        ("underlying_price_col", "K", None),
        ("strike_col", "K", None),
        ("annualized_tte_col", "K", None),
        ("riskfree_rate_col", "K", None),
        ("sigma_col", "K", None),
        ("price_col", "K", None),
        ("dividend_col", "K", None),
        ("model", "K", "black_scholes"),
        ("inplace", "K", False),
        ("dtype", "K", F64),
    ],
}
_KINDS = {
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "P",
    inspect.Parameter.KEYWORD_ONLY: "K",
    inspect.Parameter.VAR_KEYWORD: "V",
}

FLAG, S, K, T, R, SIGMA = ["c", "p"], 95, [100, 90], 0.2, 0.2, 0.2
EX = (FLAG, S, K, T, R, SIGMA)


def _sig(fn: Any) -> list[tuple[str, str, Any]]:
    out = []
    for p in inspect.signature(fn).parameters.values():
        default = p.default
        if default is np.float64:
            default = F64
        out.append((p.name, _KINDS[p.kind], default))
    return out


@pytest.mark.parametrize("name", sorted(PVV_SIGNATURES))
def test_signatures_match_py_vollib_vectorized(name: str) -> None:
    assert _sig(getattr(vz, name)) == PVV_SIGNATURES[name]
    assert name in vz.__all__


def test_real_py_vollib_vectorized_signatures_if_importable() -> None:
    pvv = pytest.importorskip("py_vollib_vectorized")  # only in its own venv; see pvv_differential.py
    for name in PVV_SIGNATURES:
        assert _sig(getattr(vz, name)) == _sig(getattr(pvv, name))


# ------------------------------------------------------------------------------------------ documented examples
def test_docstring_example_prices_and_iv() -> None:
    np.testing.assert_allclose(
        vz.vectorized_black_scholes(*EX, return_as="numpy"), [2.89558836, 0.61109351], atol=5e-9
    )
    np.testing.assert_allclose(
        vz.vectorized_black_scholes_merton(FLAG, [95, 99], K, T, R, SIGMA, 0, return_as="numpy"),
        [2.89558836, 0.23536284],
        atol=5e-9,
    )
    iv = vz.vectorized_implied_volatility(
        0.10, S, K, T, R, FLAG, q=0, model="black_scholes_merton", return_as="numpy"
    )
    np.testing.assert_allclose(iv, [0.02621257, 0.12585767], atol=5e-9)
    np.testing.assert_allclose(
        vz.vectorized_implied_volatility(0.10, S, K, T, R, FLAG, return_as="numpy"),
        [0.02621257, 0.12585767],
        atol=5e-9,
    )
    # py_vollib_vectorized's docstring repeats the Black-Scholes numbers for the Black IV; its actual output (and
    # the correct value) is [0.077581288, 0.0817773179].
    np.testing.assert_allclose(
        vz.vectorized_implied_volatility_black(0.10, S, K, R, T, FLAG, return_as="numpy"),
        [0.077581288, 0.0817773179],
        atol=5e-10,
    )


def test_docstring_example_greeks_where_py_vollib_vectorized_is_right() -> None:
    g = vz.get_all_greeks(*EX, model="black_scholes", return_as="dict")
    assert list(g) == ["delta", "gamma", "theta", "rho", "vega"]
    np.testing.assert_array_equal(np.round(g["delta"], 5), [0.46751, -0.13645])
    np.testing.assert_array_equal(np.round(g["gamma"], 6), [0.046795, 0.025739])
    assert round(g["rho"][0], 6) == 0.083035
    np.testing.assert_allclose(g["delta"], [0.46750566, -0.1364465], atol=1e-7)  # its 8 printed digits
    np.testing.assert_allclose(g["gamma"], [0.0467948, 0.0257394], atol=5e-8)
    # Where it differs (finite differences), we return vollib's analytic values instead:
    pvv_theta, pvv_rho_put, pvv_vega = [-0.04589963, -0.00533543], -0.02715114, [0.16892575, 0.0928379]
    assert abs(g["theta"][1] - pvv_theta[1]) > 1e-5 and abs(g["vega"][1] - pvv_vega[1]) > 1e-5
    assert abs(g["rho"][1] - pvv_rho_put) > 1e-6
    a = cv.black_scholes.greeks.analytical
    for i, (flag, strike) in enumerate(zip(FLAG, K)):
        for greek in g:
            assert g[greek][i] == pytest.approx(getattr(a, greek)(flag, S, strike, T, R, SIGMA), rel=1e-13)


def test_price_dataframe_docstring_example() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"Flag": ["c", "p"], "S": 95, "K": [100, 90], "T": 0.2, "R": 0.2, "IV": 0.2})
    out = vz.price_dataframe(
        df,
        flag_col="Flag",
        underlying_price_col="S",
        strike_col="K",
        annualized_tte_col="T",
        riskfree_rate_col="R",
        sigma_col="IV",
        model="black_scholes",
        inplace=False,
    )
    assert list(out.columns) == ["Price", "delta", "gamma", "theta", "rho", "vega"]
    np.testing.assert_array_equal(out["Price"].round(6), [2.895588, 0.611094])
    np.testing.assert_array_equal(out["delta"].round(6), [0.467506, -0.136446])  # pvv prints -0.136447 (FD)
    np.testing.assert_array_equal(out["gamma"].round(6), [0.046795, 0.025739])
    assert out["rho"].round(6)[0] == 0.083035
    assert (out.index == df.index).all()


# ------------------------------------------------------------------------------------------ values
GRID = list(itertools.product("cp", [60.0, 95.0, 100.0, 140.0], [0.01, 0.3, 2.0], [-0.01, 0.05], [0.1, 0.6]))


def _columns(rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    flag, strike, t, r, sigma = zip(*rows)
    return list(flag), 100.0, np.array(strike), np.array(t), np.array(r), np.array(sigma)


@pytest.mark.parametrize("model", ["black", "black_scholes", "black_scholes_merton"])
def test_values_equal_vollib_analytic_and_discounted_black(model: str) -> None:
    flag, S0, strike, t, r, sigma = _columns(GRID)
    q = 0.03 if model == "black_scholes_merton" else None
    greeks = vz.get_all_greeks(flag, S0, strike, t, r, sigma, q, model=model, return_as="dict")
    singles = {
        name: getattr(vz, f"vectorized_{name}")(
            flag, S0, strike, t, r, sigma, q, model=model, return_as="numpy"
        )
        for name in greeks
    }
    price_fn = {
        "black": vz.vectorized_black,
        "black_scholes": vz.vectorized_black_scholes,
        "black_scholes_merton": vz.vectorized_black_scholes_merton,
    }[model]
    prices = price_fn(flag, S0, strike, t, r, sigma, *([q] if q is not None else []), return_as="numpy")
    analytical = importlib.import_module(f"riskoffset.compat.vollib.{model}.greeks.analytical")
    pricing = getattr(importlib.import_module(f"riskoffset.compat.vollib.{model}"), model)
    for i, row in enumerate(GRID):
        args = (row[0], S0, *row[1:]) + ((q,) if q is not None else ())
        assert prices[i] == pytest.approx(pricing(*args), rel=1e-13, abs=1e-300)
        for name in greeks:
            ref = getattr(analytical, name)(*args)
            assert greeks[name][i] == pytest.approx(ref, rel=1e-13, abs=1e-300), (model, name, args)
            assert singles[name][i] == greeks[name][i]


def test_values_equal_real_vollib_when_installed() -> None:
    pytest.importorskip("vollib")
    import vollib.black as vb
    import vollib.black.greeks.analytical as vba
    import vollib.black_scholes_merton.greeks.analytical as vbsma

    flag, S0, strike, t, r, sigma = _columns(GRID)
    black = vz.vectorized_black(flag, S0, strike, t, r, sigma, return_as="numpy")
    g76 = vz.get_all_greeks(flag, S0, strike, t, r, sigma, model="black", return_as="dict")
    gm = vz.get_all_greeks(
        flag, S0, strike, t, r, sigma, 0.02, model="black_scholes_merton", return_as="dict"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, (f, k, tt, rr, s) in enumerate(GRID):
            assert black[i] == pytest.approx(float(vb.black(f, S0, k, tt, rr, s)), rel=1e-10, abs=1e-300)
            for name in g76:
                scale = {"delta": 1.0, "gamma": 1 / S0}.get(name, S0)
                ref = float(getattr(vba, name)(f, S0, k, tt, rr, s))
                assert abs(g76[name][i] - ref) <= 1e-10 * abs(ref) + 1e-15 * scale
                ref = float(getattr(vbsma, name)(f, S0, k, tt, rr, s, 0.02))
                assert abs(gm[name][i] - ref) <= 1e-10 * abs(ref) + 1e-15 * scale


def test_black_is_discounted_and_its_greeks_are_black76() -> None:
    """The three py_vollib_vectorized Black-76 defects are not copied."""
    undiscounted = cv.black.undiscounted_black(100.0, 100.0, 0.5, 2.0, "c")
    price = vz.vectorized_black("c", 100.0, 100.0, 2.0, 0.05, 0.5, return_as="numpy")[0]
    assert price == pytest.approx(undiscounted * np.exp(-0.1), rel=1e-14)
    g = vz.get_all_greeks("c", 100.0, 80.0, 2.0, 0.05, 0.5, model="black", return_as="dict")
    assert g["delta"][0] == pytest.approx(cv.black.greeks.analytical.delta("c", 100.0, 80.0, 2.0, 0.05, 0.5))
    assert g["delta"][0] != pytest.approx(
        cv.black_scholes.greeks.analytical.delta("c", 100.0, 80.0, 2.0, 0.05, 0.5)
    )
    assert g["rho"][0] == pytest.approx(
        -2.0 * vz.vectorized_black("c", 100.0, 80.0, 2.0, 0.05, 0.5, return_as="numpy")[0] * 0.01
    )
    for name in ("delta", "gamma", "theta", "vega", "rho"):  # these crash in py_vollib_vectorized
        v = getattr(vz, f"vectorized_{name}")(
            "c", 100.0, 80.0, 2.0, 0.05, 0.5, model="black", return_as="numpy"
        )
        assert v[0] == g[name][0]


def test_bsm_rho_holds_q() -> None:
    rho = vz.vectorized_rho(
        "c", 100.0, 95.0, 1.0, 0.03, 0.25, 0.02, model="black_scholes_merton", return_as="numpy"
    )[0]
    assert rho == pytest.approx(
        cv.black_scholes_merton.greeks.analytical.rho("c", 100.0, 95.0, 1.0, 0.03, 0.25, 0.02)
    )


# ------------------------------------------------------------------------------------------ inputs and shapes
def test_input_kinds_broadcast_and_ravel() -> None:
    ref = vz.vectorized_black_scholes(
        ["c", "p", "c"], 100.0, [90.0, 100.0, 110.0], 0.5, 0.02, 0.3, return_as="numpy"
    )
    variants = [
        (("c", "p", "c"), 100, (90, 100, 110), 0.5, 0.02, 0.3),
        (np.array(["c", "p", "c"]), np.float64(100), np.array([90.0, 100.0, 110.0]), [0.5], [0.02], 0.3),
        (
            np.array(["c", "p", "c"], dtype=object),
            np.int64(100),
            np.array([[90.0, 100.0, 110.0]]),
            0.5,
            0.02,
            0.3,
        ),
        ([1, -1, 1], 100.0, [90, 100, 110], 0.5, 0.02, 0.3),
        (["1", "-1", "1"], 100.0, [90, 100, 110], 0.5, 0.02, 0.3),
        (np.array([1.0, -1.0, 1.0]), 100.0, [90, 100, 110], 0.5, 0.02, 0.3),
        ("cpc", 100.0, [90, 100, 110], 0.5, 0.02, 0.3),  # a string is iterated per character, as in pvv
    ]
    for args in variants:
        np.testing.assert_array_equal(vz.vectorized_black_scholes(*args, return_as="numpy"), ref)
    one = vz.vectorized_black_scholes("c", 100.0, 90.0, 0.5, 0.02, 0.3, return_as="numpy")
    assert isinstance(one, np.ndarray) and one.shape == (1,) and one[0] == ref[0]
    two_d = vz.vectorized_black_scholes("c", np.full((2, 2), 100.0), 90.0, 0.5, 0.02, 0.3, return_as="numpy")
    assert two_d.shape == (4,)
    assert vz.vectorized_black_scholes("c", [], 90.0, 0.5, 0.02, 0.3, return_as="numpy").shape == (0,)


def test_input_errors_like_py_vollib_vectorized() -> None:
    with pytest.raises(ValueError, match="shape mismatch"):
        vz.vectorized_black_scholes("c", [100.0, 101.0, 102.0], [90, 100], 0.5, 0.02, 0.3, return_as="numpy")
    with pytest.raises(KeyError):
        vz.vectorized_black_scholes(["C"], 100.0, 90.0, 0.5, 0.02, 0.3, return_as="numpy")
    with pytest.raises(KeyError):
        vz.vectorized_black_scholes("call", 100.0, 90.0, 0.5, 0.02, 0.3, return_as="numpy")
    with pytest.raises(ValueError, match="unsupported"):
        vz.vectorized_black_scholes("c", "100", 90.0, 0.5, 0.02, 0.3, return_as="numpy")
    with pytest.raises(ValueError, match="unsupported"):
        vz.vectorized_black_scholes("c", {1: 2}, 90.0, 0.5, 0.02, 0.3, return_as="numpy")
    for fn in (vz.vectorized_delta, vz.get_all_greeks):
        with pytest.raises(ValueError, match="Model must be one of"):
            fn("c", 100.0, 90.0, 0.5, 0.02, 0.3, model="bachelier", return_as="numpy")
        with pytest.raises(ValueError, match="Must pass a `q`"):
            fn("c", 100.0, 90.0, 0.5, 0.02, 0.3, model="black_scholes_merton", return_as="numpy")


def test_invalid_rows_are_nan_and_expired_rows_intrinsic() -> None:
    S_ = np.array([100.0, -1.0, np.nan, 100.0, 100.0, 100.0, 100.0])
    K_ = np.array([90.0, 90.0, 90.0, 0.0, 90.0, 90.0, 90.0])
    t_ = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.5])
    sig = np.array([0.3, 0.3, 0.3, 0.3, -0.1, 0.3, np.inf])
    price = vz.vectorized_black_scholes("c", S_, K_, t_, 0.0, sig, return_as="numpy")
    assert np.isnan(price[[1, 2, 3, 4, 6]]).all()
    assert price[0] == pytest.approx(cv.black_scholes.black_scholes("c", 100.0, 90.0, 0.5, 0.0, 0.3))
    assert price[5] == 10.0
    g = vz.get_all_greeks("c", S_, K_, t_, 0.0, sig, return_as="dict")
    for name in g:
        assert np.isnan(g[name][[1, 2, 3, 4, 6]]).all() and np.isfinite(g[name][[0, 5]]).all()
    assert g["delta"][5] == 1.0 and g["gamma"][5] == 0.0


def test_dtype_is_applied_to_the_output() -> None:
    out = vz.vectorized_black_scholes(
        "c", 100.0, [90, 100], 1.0, 0.05, 0.2, return_as="numpy", dtype=np.float32
    )
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [16.69944841, 10.45058357], rtol=1e-6)
    g = vz.get_all_greeks("c", 100.0, [90, 100], 1.0, 0.05, 0.2, return_as="dict", dtype=np.float32)
    assert all(v.dtype == np.float32 for v in g.values())


def test_return_as_formats() -> None:
    pd = pytest.importorskip("pandas")
    for fn, name in (
        (vz.vectorized_black_scholes, "Price"),
        (vz.vectorized_delta, "delta"),
        (vz.vectorized_vega, "vega"),
    ):
        df = fn(*EX)
        assert isinstance(df, pd.DataFrame) and list(df.columns) == [name] and df.shape == (2, 1)
        series = fn(*EX, return_as="series")
        assert isinstance(series, pd.Series) and series.name == name and len(series) == 2
        for other in ("numpy", "array", "anything"):
            arr = fn(*EX, return_as=other)
            assert isinstance(arr, np.ndarray) and arr.shape == (2,)
    iv = vz.vectorized_implied_volatility(0.1, S, K, T, R, FLAG)
    assert isinstance(iv, pd.DataFrame) and list(iv.columns) == ["IV"]
    assert vz.vectorized_implied_volatility(0.1, S, K, T, R, FLAG, return_as="series").name == "IV"
    g = vz.get_all_greeks(*EX)
    assert isinstance(g, pd.DataFrame) and list(g.columns) == ["delta", "gamma", "theta", "rho", "vega"]
    as_json = json.loads(vz.get_all_greeks(*EX, return_as="json"))
    as_dict = vz.get_all_greeks(*EX, return_as="dict")
    assert list(as_json) == list(as_dict) and all(isinstance(v, np.ndarray) for v in as_dict.values())
    for name in as_dict:
        assert as_json[name] == as_dict[name].tolist()
        np.testing.assert_array_equal(g[name].to_numpy(), as_dict[name])
    assert vz.vectorized_black_scholes(
        pd.Series([0.0, 1.0]).map({0.0: "c", 1.0: "p"}),
        pd.Series([95.0]),
        pd.DataFrame({"K": K}),
        T,
        R,
        SIGMA,
        return_as="numpy",
    ).shape == (2,)
    with pytest.raises(AssertionError):
        vz.vectorized_black_scholes(FLAG, pd.DataFrame({"a": [1.0], "b": [2.0]}), K, T, R, SIGMA)


# ------------------------------------------------------------------------------------------ implied volatility
def test_iv_on_error_warn_raise_ignore() -> None:
    prices = [5.0, 0.0, 200.0, np.nan, -1.0]
    with pytest.warns(UserWarning) as record:
        iv = vz.vectorized_implied_volatility(prices, 100.0, 100.0, 1.0, 0.05, "c", return_as="numpy")
    messages = [str(w.message) for w in record]
    assert "Found Below Intrinsic contracts at index [1, 4]" in messages
    assert "Found Above Maximum Price contracts at index [2]" in messages
    assert any("invalid inputs" in m and "[3]" in m for m in messages)
    assert iv[0] == pytest.approx(0.03538478, abs=1e-8) and np.isnan(iv[1:]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = vz.vectorized_implied_volatility(
            prices, 100.0, 100.0, 1.0, 0.05, "c", on_error="ignore", return_as="numpy"
        )
    np.testing.assert_array_equal(quiet, iv)
    with pytest.raises(PriceIsBelowIntrinsic, match=r"index \[1\]"):
        vz.vectorized_implied_volatility([5.0, 0.0], 100.0, 100.0, 1.0, 0.05, "c", on_error="raise")
    with pytest.raises(PriceIsAboveMaximum):
        vz.vectorized_implied_volatility([5.0, 200.0], 100.0, 100.0, 1.0, 0.05, "c", on_error="raise")
    with pytest.raises(ValueError):
        vz.vectorized_implied_volatility([5.0], 100.0, 100.0, 0.0, 0.05, "c", on_error="raise")
    with pytest.raises(AssertionError, match="on_error"):
        vz.vectorized_implied_volatility(5.0, 100.0, 100.0, 1.0, 0.05, "c", on_error="foo")
    with pytest.raises(ValueError, match="Must pass a `q`"):
        vz.vectorized_implied_volatility(5.0, 100.0, 100.0, 1.0, 0.05, "c", model="black_scholes_merton")
    with pytest.raises(ValueError, match="Model must be one of"):
        vz.vectorized_implied_volatility(5.0, 100.0, 100.0, 1.0, 0.05, "c", model="foo")
    with pytest.warns(UserWarning) as record:
        vz.vectorized_implied_volatility(5.0, 100.0, 100.0, 1e4, 1.0, "c", return_as="numpy")
    assert any("Interest Free Rate" in str(w.message) for w in record)
    with pytest.raises(ValueError, match="Interest Free Rate"):
        vz.vectorized_implied_volatility(5.0, 100.0, 100.0, 1e4, 1.0, "c", on_error="raise")
    assert vz.vectorized_implied_volatility(
        5.0, 100.0, 100.0, 1.0, 0.05, "c", return_as="numpy", unknown_keyword=1
    ).shape == (1,)


@pytest.mark.parametrize("model", ["black", "black_scholes", "black_scholes_merton"])
def test_iv_round_trip(model: str) -> None:
    flag, S0, strike, t, r, sigma = _columns(GRID)
    q = 0.02 if model == "black_scholes_merton" else None
    price_fn = {
        "black": vz.vectorized_black,
        "black_scholes": vz.vectorized_black_scholes,
        "black_scholes_merton": vz.vectorized_black_scholes_merton,
    }[model]
    prices = price_fn(flag, S0, strike, t, r, sigma, *([q] if q is not None else []), return_as="numpy")
    vega = vz.vectorized_vega(flag, S0, strike, t, r, sigma, q, model=model, return_as="numpy") * 100
    if model == "black":
        iv = vz.vectorized_implied_volatility_black(
            prices, S0, strike, r, t, flag, on_error="ignore", return_as="numpy"
        )
    else:
        iv = vz.vectorized_implied_volatility(
            prices, S0, strike, t, r, flag, q=q, model=model, on_error="ignore", return_as="numpy"
        )
    informative = (prices * 2.2e-16 / np.maximum(vega, 1e-300) < 1e-9 * sigma) & (prices > 1e-250)
    assert informative.sum() > len(GRID) // 2
    np.testing.assert_allclose(iv[informative], sigma[informative], rtol=1e-9)


# ------------------------------------------------------------------------------------------ price_dataframe
def test_price_dataframe_modes() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "flag": ["c", "p", "c"],
            "S": [100.0, 100.0, 100.0],
            "K": [90.0, 100.0, 120.0],
            "T": 0.5,
            "R": 0.03,
            "IV": [0.2, 0.3, 0.4],
            "Q": 0.01,
        },
        index=[7, 8, 9],
    )
    cols = {
        "flag_col": "flag",
        "underlying_price_col": "S",
        "strike_col": "K",
        "annualized_tte_col": "T",
        "riskfree_rate_col": "R",
    }
    priced = vz.price_dataframe(df, sigma_col="IV", **cols)
    df["P"] = priced["Price"]
    back = vz.price_dataframe(df, price_col="P", **cols)
    assert list(back.columns) == ["IV", "delta", "gamma", "theta", "rho", "vega"]
    np.testing.assert_allclose(back["IV"], df["IV"], rtol=1e-10)
    np.testing.assert_allclose(back["delta"], priced["delta"], rtol=1e-8)
    with pytest.warns(UserWarning, match="Both `price_col` and `sigma_col`"):
        both = vz.price_dataframe(df, price_col="P", sigma_col="IV", **cols)
    assert list(both.columns) == ["delta", "gamma", "theta", "rho", "vega"]
    bsm = vz.price_dataframe(df, sigma_col="IV", dividend_col="Q", model="black_scholes_merton", **cols)
    assert bsm["Price"].iloc[0] == pytest.approx(
        cv.black_scholes_merton.black_scholes_merton("c", 100.0, 90.0, 0.5, 0.03, 0.2, 0.01)
    )
    black = vz.price_dataframe(df, sigma_col="IV", model="black", **cols)
    assert black["Price"].iloc[1] == pytest.approx(cv.black.black("p", 100.0, 100.0, 0.5, 0.03, 0.3))
    copy = df.copy()
    assert vz.price_dataframe(copy, sigma_col="IV", inplace=True, **cols) is None
    assert {"Price", "delta", "vega"} <= set(copy.columns)
    with pytest.raises(AssertionError, match="flag_col"):
        vz.price_dataframe(df, underlying_price_col="S")
    with pytest.raises(ValueError, match="dividend_col"):
        vz.price_dataframe(df, sigma_col="IV", model="black_scholes_merton", **cols)
    with pytest.raises(ValueError, match="not found"):
        vz.price_dataframe(df, sigma_col="nope", **cols)
    with pytest.raises(ValueError, match="either"):
        vz.price_dataframe(df, **cols)


# ------------------------------------------------------------------------------------------ pandas optional
def test_module_imports_and_works_without_pandas() -> None:
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "import riskoffset.compat.vectorized as vz, riskoffset.compat as c\n"
        "print(vz.get_all_greeks(['c','p'], 95, [100, 90], .2, .2, .2, return_as='dict')['delta'].round(5))\n"
        "for call in (lambda: vz.get_all_greeks('c', 95, 100, .2, .2, .2),\n"
        "             lambda: vz.vectorized_black_scholes('c', 95, 100, .2, .2, .2, return_as='series')):\n"
        "    try:\n"
        "        call()\n"
        "    except ImportError as exc:\n"
        "        print('ImportError', 'pandas' in str(exc))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:3] == ["[ 0.46751 -0.13645]", "ImportError True", "ImportError True"]


def test_dataframe_without_pandas_raises_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="needs pandas"):
        vz.vectorized_delta(*EX)
    with pytest.raises(ImportError, match="return_as='numpy'"):
        vz.vectorized_implied_volatility(0.1, S, K, T, R, FLAG, return_as="series")
    np.testing.assert_array_equal(
        np.round(vz.vectorized_delta(*EX, return_as="numpy"), 5), [0.46751, -0.13645]
    )
    assert isinstance(vz.get_all_greeks(*EX, return_as="json"), str)
