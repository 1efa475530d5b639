"""The one-import switch: vollib 1.0.11 against riskoffset.compat.vollib per scalar call, and
riskoffset.compat.vectorized.get_all_greeks per 1,000-option array call.

Every benchmark asserts its result: the compat scalar functions against vollib's own value (relative 1e-10;
implied volatility within 1e-12 of the sigma that priced the option), get_all_greeks against the closed-form
vollib-unit Greeks of riskoffset.compat.vollib row by row.  py_vollib_vectorized cannot be imported next to
vollib 1.0.11 (docs/compat.md); its timings come from tests/pvv_differential.py, run in its own venv.

    python -m pytest bench/test_bench_compat.py --benchmark-columns=median,ops --benchmark-sort=name
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any, Callable

import numpy as np
import pytest
import riskoffset.compat.vectorized as vz
import riskoffset.compat.vollib as cv

HULL = ("c", 49.0, 50.0, 0.3846, 0.05, 0.2)  # Hull's example 17.1: S, K, t, r, sigma
HULL_PRICE = cv.black_scholes.black_scholes(*HULL)

# label -> (module path under vollib / riskoffset.compat.vollib, function name, arguments, how to check)
SCALAR_CASES: dict[str, tuple[str, str, tuple[Any, ...]]] = {
    "black_scholes price": ("black_scholes", "black_scholes", HULL),
    "black price": ("black", "black", HULL),
    "black_scholes_merton price": ("black_scholes_merton", "black_scholes_merton", (*HULL, 0.01)),
    "bs analytical delta": ("black_scholes.greeks.analytical", "delta", HULL),
    "bs analytical theta": ("black_scholes.greeks.analytical", "theta", HULL),
    "bs analytical vega": ("black_scholes.greeks.analytical", "vega", HULL),
    "bs numerical delta": ("black_scholes.greeks.numerical", "delta", HULL),
    "bs numerical gamma": ("black_scholes.greeks.numerical", "gamma", HULL),
    "bs implied_volatility": (
        "black_scholes.implied_volatility",
        "implied_volatility",
        (HULL_PRICE, 49.0, 50.0, 0.3846, 0.05, "c"),
    ),
    "black implied_volatility": (
        "black.implied_volatility",
        "implied_volatility",
        (cv.black.black(*HULL), 49.0, 50.0, 0.05, 0.3846, "c"),
    ),
}


def _function(root: str, module: str, name: str) -> Callable[..., Any]:
    return getattr(importlib.import_module(f"{root}.{module}"), name)  # type: ignore[no-any-return]


def _vollib_value(module: str, name: str, args: tuple[Any, ...]) -> float:
    pytest.importorskip("vollib")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(_function("vollib", module, name)(*args))


@pytest.mark.parametrize("lib", ["vollib", "riskoffset.compat.vollib"])
@pytest.mark.parametrize("label", list(SCALAR_CASES))
def test_scalar_call(benchmark: Any, label: str, lib: str) -> None:
    module, name, args = SCALAR_CASES[label]
    if lib == "vollib":
        pytest.importorskip("vollib")
    fn = _function(lib, module, name)
    benchmark.group = f"compat scalar: {label}"
    benchmark.extra_info["n_options"] = 1
    # pedantic with many iterations per round: a single ~0.5 us call is otherwise dominated by the timer
    iterations = 200 if lib == "vollib" else 2_000
    result = float(benchmark.pedantic(fn, args=args, iterations=iterations, rounds=25, warmup_rounds=1))
    if "implied_volatility" in label:
        assert abs(result - 0.2) <= 1e-12
    else:
        expected = _vollib_value(module, name, args) if lib != "vollib" else result
        assert abs(result - expected) <= 1e-10 * abs(expected)
        assert expected == pytest.approx(
            float(_function("riskoffset.compat.vollib", module, name)(*args)), rel=1e-10
        )


def _book(n: int, seed: int = 20261125) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    S = rng.uniform(60_000.0, 100_000.0, n)
    K = S * np.exp(rng.uniform(np.log(0.5), np.log(2.0), n))
    t = np.exp(rng.uniform(0.0, np.log(730.0), n)) / 365.0
    r = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0.0, 0.05, n))
    sigma = rng.uniform(0.30, 1.50, n)
    flag = list(np.where(rng.random(n) < 0.5, "c", "p"))
    return flag, S, K, t, r, sigma


def _check_greeks(greeks: dict[str, np.ndarray], book: tuple[Any, ...], model: str) -> None:
    flag, S, K, t, r, sigma = book
    analytical = importlib.import_module(f"riskoffset.compat.vollib.{model}.greeks.analytical")
    for i in range(0, len(S), 97):
        for name in ("delta", "gamma", "theta", "rho", "vega"):
            ref = getattr(analytical, name)(flag[i], S[i], K[i], t[i], r[i], sigma[i])
            scale = {"delta": 1.0, "gamma": 1.0 / S[i]}.get(name, S[i])
            assert abs(greeks[name][i] - ref) <= 1e-13 * abs(ref) + 1e-15 * scale, (name, i)


@pytest.mark.parametrize("return_as", ["dict", "dataframe"])
@pytest.mark.parametrize("model", ["black_scholes", "black"])
def test_get_all_greeks_1000(benchmark: Any, model: str, return_as: str) -> None:
    if return_as == "dataframe":
        pytest.importorskip("pandas")
    book = _book(1_000)
    benchmark.group = f"compat vectorized: get_all_greeks N=1,000 ({return_as})"
    benchmark.extra_info["n_options"] = 1_000
    result = benchmark(vz.get_all_greeks, *book, model=model, return_as=return_as)
    greeks = {name: np.asarray(result[name]) for name in ("delta", "gamma", "theta", "rho", "vega")}
    _check_greeks(greeks, book, model)
