"""Differential comparison of riskoffset.compat.vectorized against the real py_vollib_vectorized 0.1.1.

Not collected by pytest (no test_ prefix): py_vollib_vectorized only works pinned to py_vollib 1.0.1 /
py_lets_be_rational 1.0.1, which conflict with vollib 1.0.11, so it lives in its own venv.  Run from the
repository root with the Python that has riskoffset installed:

    python tests/pvv_differential.py --pvv-python .venv-pvv/bin/python [--n 20000]

where the venv was made with
``pip install numpy numba pandas scipy py_vollib==1.0.1 py_lets_be_rational==1.0.1 py_vollib_vectorized==0.1.1``.

It prices one seeded random book in both libraries and prints, per quantity, the largest difference
between them, and how far py_vollib_vectorized is from the analytic value where it is wrong (finite-difference
Greeks, undiscounted Black-76 price, Black-76 Greeks computed as Black-Scholes on F, Black-Scholes-Merton rho
bumping q), plus the time per call of both at N = 1 and N = 1,000.  Exit status 1 if riskoffset disagrees
with py_vollib_vectorized where the latter is right (prices, implied volatilities).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Callable

import numpy as np
import riskoffset.compat.vectorized as vz

PVV_SCRIPT = r"""
import json, sys, timeit, warnings
import numpy as np
warnings.simplefilter("ignore")
import py_vollib_vectorized as p
d = dict(np.load(sys.argv[1]))
flag = ["c" if f > 0 else "p" for f in d["flag"]]
S, K, t, r, sigma, q = d["S"], d["K"], d["t"], d["r"], d["sigma"], d["q"]
out = {}
out["bs_price"] = p.vectorized_black_scholes(flag, S, K, t, r, sigma, return_as="numpy")
out["bsm_price"] = p.vectorized_black_scholes_merton(flag, S, K, t, r, sigma, q, return_as="numpy")
out["black_price"] = p.vectorized_black(flag, S, K, t, r, sigma, return_as="numpy")
for model in ("black_scholes", "black_scholes_merton", "black"):
    g = p.get_all_greeks(flag, S, K, t, r, sigma, q if model == "black_scholes_merton" else None, model=model,
                         return_as="dict")
    for name, v in g.items():
        out[f"{model}_{name}"] = np.asarray(v, dtype=float)
out["bs_iv"] = p.vectorized_implied_volatility(d["bs_price_ours"], S, K, t, r, flag, on_error="ignore",
                                                return_as="numpy")
out["bsm_iv"] = p.vectorized_implied_volatility(d["bsm_price_ours"], S, K, t, r, flag, q=q,
                                                 model="black_scholes_merton", on_error="ignore", return_as="numpy")
out["black_iv"] = p.vectorized_implied_volatility_black(d["black_price_ours"], S, K, r, t, flag, on_error="ignore",
                                                        return_as="numpy")
n = 1000
f1, S1, K1, t1, r1, s1 = flag[:n], S[:n], K[:n], t[:n], r[:n], sigma[:n]
pr = d["bs_price_ours"][:n]
def med(fn, number, repeat=7):
    fn()
    return sorted(timeit.repeat(fn, number=number, repeat=repeat))[repeat // 2] / number
timing = {
    "get_all_greeks N=1000 dict": med(lambda: p.get_all_greeks(f1, S1, K1, t1, r1, s1, return_as="dict"), 5),
    "get_all_greeks N=1000 dataframe": med(lambda: p.get_all_greeks(f1, S1, K1, t1, r1, s1), 5),
    "vectorized_black_scholes N=1000": med(lambda: p.vectorized_black_scholes(f1, S1, K1, t1, r1, s1,
                                                                              return_as="numpy"), 20),
    "vectorized_implied_volatility N=1000": med(lambda: p.vectorized_implied_volatility(
        pr, S1, K1, t1, r1, f1, on_error="ignore", return_as="numpy"), 20),
    "get_all_greeks N=1": med(lambda: p.get_all_greeks("c", 100.0, 100.0, 0.5, 0.01, 0.2, return_as="dict"), 200),
    "vectorized_implied_volatility N=1": med(lambda: p.vectorized_implied_volatility(
        5.0, 100.0, 100.0, 0.5, 0.01, "c", on_error="ignore", return_as="numpy"), 200),
}
np.savez(sys.argv[2], **out)
json.dump(timing, open(sys.argv[3], "w"))
"""


def make_book(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    S = np.where(rng.random(n) < 0.5, rng.uniform(50.0, 150.0, n), rng.uniform(20_000.0, 80_000.0, n))
    return {
        "flag": np.where(rng.random(n) < 0.5, 1.0, -1.0),
        "S": S,
        "K": S * np.exp(rng.uniform(-0.7, 0.7, n)),
        "t": np.exp(rng.uniform(np.log(1 / 365), np.log(3.0), n)),
        "r": rng.uniform(-0.01, 0.08, n),
        "sigma": rng.uniform(0.05, 1.5, n),
        "q": rng.uniform(0.0, 0.05, n),
    }


def rel_err(a: np.ndarray, b: np.ndarray, floor: np.ndarray | float) -> float:
    """Largest |a - b| / max(|b|, floor)."""
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pvv-python", default=".venv-pvv/bin/python", help="the Python of the peer's own venv")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()

    book = make_book(args.n, args.seed)
    flag = np.where(book["flag"] > 0, "c", "p")
    S, K, t, r, sigma, q = (book[k] for k in ("S", "K", "t", "r", "sigma", "q"))
    ours = {
        "bs_price": vz.vectorized_black_scholes(flag, S, K, t, r, sigma, return_as="numpy"),
        "bsm_price": vz.vectorized_black_scholes_merton(flag, S, K, t, r, sigma, q, return_as="numpy"),
        "black_price": vz.vectorized_black(flag, S, K, t, r, sigma, return_as="numpy"),
    }
    for model in ("black_scholes", "black_scholes_merton", "black"):
        g = vz.get_all_greeks(
            flag,
            S,
            K,
            t,
            r,
            sigma,
            q if model == "black_scholes_merton" else None,
            model=model,
            return_as="dict",
        )
        for name, v in g.items():
            ours[f"{model}_{name}"] = v
    ours["bs_iv"] = vz.vectorized_implied_volatility(
        ours["bs_price"], S, K, t, r, flag, on_error="ignore", return_as="numpy"
    )
    ours["bsm_iv"] = vz.vectorized_implied_volatility(
        ours["bsm_price"],
        S,
        K,
        t,
        r,
        flag,
        q=q,
        model="black_scholes_merton",
        on_error="ignore",
        return_as="numpy",
    )
    ours["black_iv"] = vz.vectorized_implied_volatility_black(
        ours["black_price"], S, K, r, t, flag, on_error="ignore", return_as="numpy"
    )

    with tempfile.TemporaryDirectory() as tmp:
        inp, outp, timing_path = Path(tmp, "in.npz"), Path(tmp, "out.npz"), Path(tmp, "timing.json")
        np.savez(
            inp,
            **book,
            bs_price_ours=ours["bs_price"],
            bsm_price_ours=ours["bsm_price"],
            black_price_ours=ours["black_price"],
        )
        subprocess.run([args.pvv_python, "-c", PVV_SCRIPT, str(inp), str(outp), str(timing_path)], check=True)
        pvv = dict(np.load(outp))
        pvv_timing = json.loads(timing_path.read_text())

    failures = []
    print(
        f"py_vollib_vectorized 0.1.1 vs riskoffset.compat.vectorized, N = {args.n:,} seeded options "
        "(half S in 50..150, half 20k..80k; K/S e^-0.7..e^0.7; t 1 day..3 y; vol 5..150 %)\n"
    )
    print(f"{'quantity':44s} {'max rel diff':>13s}  note")

    def row(name: str, value: float, note: str, bound: float | None = None) -> None:
        flag_txt = ""
        if bound is not None and not value <= bound:
            failures.append(name)
            flag_txt = f"  FAIL (> {bound:g})"
        print(f"{name:44s} {value:13.3g}  {note}{flag_txt}")

    for key, label in (("bs_price", "Black-Scholes price"), ("bsm_price", "Black-Scholes-Merton price")):
        # absolute floor 1e-12 x S: prices < 1e-12 S are the deep-OTM tail where only relative accuracy of
        # the normalised form matters (both are LBR-quality there)
        row(label, rel_err(ours[key], pvv[key], 1e-12 * S), "same values", 1e-9)
    disc = np.exp(-r * t)
    row(
        "Black-76 price: pvv / (ours / e^-rt) - 1",
        rel_err(pvv["black_price"] * disc, ours["black_price"], 1e-12 * S),
        "pvv returns the undiscounted price (ignores r)",
        1e-9,
    )
    row(
        "Black-76 price: pvv vs discounted",
        rel_err(pvv["black_price"], ours["black_price"], 1e-12 * S),
        "pvv's error = e^{rt} - 1",
    )
    scales = {"delta": 1.0, "gamma": 1e-6 / S, "theta": 1e-6 * S, "rho": 1e-6 * S, "vega": 1e-6 * S}
    for model in ("black_scholes", "black_scholes_merton", "black"):
        for name in ("delta", "gamma", "theta", "rho", "vega"):
            key = f"{model}_{name}"
            floor = np.maximum(scales[name], 1e-300) if name != "delta" else 1e-6
            note = {"black": "pvv: Black-Scholes Greeks on F (wrong model)"}.get(
                model, "pvv: finite differences"
            )
            if model == "black_scholes_merton" and name == "rho":
                note = "pvv bumps q with r"
            row(f"{model} {name} (vs analytic, 1e-6 floor)", rel_err(pvv[key], ours[key], floor), note)
    for key, price in (("bs_iv", "bs_price"), ("bsm_iv", "bsm_price"), ("black_iv", "black_price")):
        ok = np.isfinite(pvv[key]) & np.isfinite(ours[key]) & (ours[price] > 1e-8 * S)
        vega = (
            np.abs(
                ours[
                    {
                        "bs_iv": "black_scholes_vega",
                        "bsm_iv": "black_scholes_merton_vega",
                        "black_iv": "black_vega",
                    }[key]
                ]
            )
            * 100
        )
        informative = ok & (ours[price] * 2.2e-16 / np.maximum(vega, 1e-300) < 1e-10 * sigma)
        err = float(np.max(np.abs(ours[key][informative] - pvv[key][informative]) / sigma[informative]))
        row(f"implied vol {key[:-3]} ({informative.sum():,} informative)", err, "both accurate", 1e-8)

    n = 1000
    f1, S1, K1, t1, r1, s1 = list(flag[:n]), S[:n], K[:n], t[:n], r[:n], sigma[:n]
    pr = ours["bs_price"][:n]

    def med(fn: Callable[[], object], number: int, repeat: int = 7) -> float:
        fn()
        return sorted(timeit.repeat(fn, number=number, repeat=repeat))[repeat // 2] / number

    our_timing = {
        "get_all_greeks N=1000 dict": med(
            lambda: vz.get_all_greeks(f1, S1, K1, t1, r1, s1, return_as="dict"), 200
        ),
        "get_all_greeks N=1000 dataframe": med(lambda: vz.get_all_greeks(f1, S1, K1, t1, r1, s1), 50),
        "vectorized_black_scholes N=1000": med(
            lambda: vz.vectorized_black_scholes(f1, S1, K1, t1, r1, s1, return_as="numpy"), 200
        ),
        "vectorized_implied_volatility N=1000": med(
            lambda: vz.vectorized_implied_volatility(
                pr, S1, K1, t1, r1, f1, on_error="ignore", return_as="numpy"
            ),
            100,
        ),
        "get_all_greeks N=1": med(
            lambda: vz.get_all_greeks("c", 100.0, 100.0, 0.5, 0.01, 0.2, return_as="dict"), 2000
        ),
        "vectorized_implied_volatility N=1": med(
            lambda: vz.vectorized_implied_volatility(
                5.0, 100.0, 100.0, 0.5, 0.01, "c", on_error="ignore", return_as="numpy"
            ),
            2000,
        ),
    }
    print(f"\n{'timing (median per call)':44s} {'pvv':>10s} {'riskoffset':>11s} {'speed-up':>9s}")
    for name, tp in pvv_timing.items():
        to = our_timing[name]
        print(f"{name:44s} {tp * 1e6:8.1f} us {to * 1e6:8.1f} us {tp / to:8.1f}x")
    if failures:
        print("\nFAILED:", ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
