"""py_vollib_vectorized vs riskoffset, timed in ONE process (standalone script, not part of the pytest run).

py_vollib_vectorized 0.1.1 only works pinned to py_vollib 1.0.1 + py_lets_be_rational 1.0.1, which
conflict with the vollib 1.0.11 the test suite uses, so it lives in its own
plain venv.  Set it up once (CI does not have it):

    python -m venv .venv-pvv
    .venv-pvv/bin/pip install numpy numba pandas scipy py_vollib==1.0.1 py_lets_be_rational==1.0.1 \
        py_vollib_vectorized==0.1.1

and run from the repository root:

    .venv-pvv/bin/python bench/pvv_compare.py [--quick] [--json out.json] [--core PATH]

riskoffset is not installed in that venv.  The script imports it from the source tree (python/riskoffset)
plus a compiled `_core` extension built for the same CPython: --core PATH (the .so or its folder), else
$RISKOFFSET_CORE, else the newest build/*/_core*.so of the repository (what scikit-build-core's editable
install copies into site-packages).  So the ratios below come from one process, same inputs, same moment;
the numpy baseline is timed in the same process too, as a cross-check against the pytest-benchmark run.

Timings are medians over timeit repeats of per-call time (the machine is shared and noisy), in ns per
option.  Every result is checked: riskoffset against the numpy baseline (rtol 1e-9), IVs of both libraries
by round trip (|sigma - sigma_true| < 1e-10).  py_vollib_vectorized's Greeks are finite differences with
known errors (docs/compat.md): their deviation from the analytical values is printed, not asserted.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import importlib.util
import json
import os
import platform
import statistics
import sys
import timeit
from functools import partial
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import numpy as np
from benchlib import assert_greeks_match, assert_iv_roundtrip, make_book, make_iv_case
from numpy_baseline import GREEKS6, black76_greeks


# ------------------------------------------------------------------------------------------ riskoffset
def _find_core(explicit: str | None) -> Path:
    candidates: list[Path] = []
    for given in (explicit, os.environ.get("RISKOFFSET_CORE")):
        if given:
            p = Path(given)
            candidates += sorted(p.glob("_core*.so")) if p.is_dir() else [p]
            break
    else:
        candidates = sorted(
            (Path(p) for p in glob.glob(str(REPO / "build" / "*" / "_core*.so"))),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    for c in candidates:
        if c.is_file() and tag in c.name:
            return c
    raise SystemExit(
        f"no riskoffset _core extension for {tag} found (tried {[str(c) for c in candidates]}); "
        "pass --core PATH or set RISKOFFSET_CORE"
    )


def import_riskoffset(core: str | None):
    try:
        import riskoffset  # installed in this environment after all

        return riskoffset, getattr(riskoffset._core, "__file__", "?")
    except ImportError:
        pass
    so = _find_core(core)
    src = REPO / "python" / "riskoffset"
    # A package whose search path is the source folder plus the folder of the extension:
    # `from . import _core` in riskoffset/__init__.py then finds the .so.
    spec = importlib.util.spec_from_file_location(
        "riskoffset", src / "__init__.py", submodule_search_locations=[str(src), str(so.parent)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["riskoffset"] = module
    spec.loader.exec_module(module)
    return module, str(so)


# ------------------------------------------------------------------------------------------ timing
def median_ns_per_option(fn: Callable[[], object], n: int, repeat: int, min_seconds: float = 0.2) -> float:
    """Median over `repeat` timeit runs of the per-call time, divided by n (ns/option)."""
    timer = timeit.Timer(fn)
    number = 1
    while True:  # like Timer.autorange, aiming at min_seconds per repeat
        if timer.timeit(number) >= min_seconds or number >= 1 << 20:
            break
        number *= 4
    runs = [timer.timeit(number) / number for _ in range(repeat)]
    return statistics.median(runs) / n * 1e9


def _both(f: Callable[[], object], g: Callable[[], object]) -> tuple[object, object]:
    return f(), g()


def _md5(path: str) -> str:
    try:
        return hashlib.md5(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="N = 1,000 and 20,000 only, 3 repeats (a smoke run)")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--core", help="path of riskoffset's _core .so (or its folder)")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)

    ro, core_path = import_riskoffset(args.core)
    from importlib.metadata import version

    import numba
    import py_vollib_vectorized as pvv

    sizes = [1_000, 20_000] if args.quick else [1_000, 1_000_000]
    repeat = 3 if args.quick else args.repeat
    with open("/proc/cpuinfo") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?")
    print(f"machine: {cpu}, {os.cpu_count()} logical CPUs; python {platform.python_version()}")
    print(
        f"numpy {np.__version__}, numba {numba.__version__}, py_vollib_vectorized {version('py_vollib_vectorized')}, "
        f"py_vollib {version('py_vollib')}, py_lets_be_rational {version('py_lets_be_rational')}"
    )
    print(
        f"riskoffset {ro.__version__} from {Path(ro.__file__).parent}, _core {core_path} (md5 {_md5(core_path)})"
    )
    print(f"riskoffset.simd_info(): {ro.simd_info()}")
    print(
        f"timing: median of {repeat} timeit repeats (each >= 0.2 s or one call), ns per option, one thread\n"
    )

    # numba JIT warm-up on a small book (compilation takes seconds and is not what we measure)
    w = make_book(64, 1)
    flags_w = np.where(w.is_call, "c", "p")
    pvv.vectorized_black(flags_w, w.F, w.K, w.t, w.r, w.sigma, return_as="numpy")
    pvv.get_all_greeks(flags_w, w.F, w.K, w.t, w.r, w.sigma, model="black", return_as="dict")
    pvv.vectorized_implied_volatility_black(
        pvv.vectorized_black(flags_w, w.F, w.K, w.t, 0.0 * w.r, w.sigma, return_as="numpy"),
        w.F,
        w.K,
        0.0 * w.r,
        w.t,
        flags_w,
        return_as="numpy",
        on_error="ignore",
    )

    rows: list[dict[str, object]] = []

    def record(case: str, n: int, lib: str, ns: float, note: str = "") -> None:
        rows.append({"case": case, "n": n, "lib": lib, "ns_per_option": ns, "note": note})
        print(f"  {case:<26} N={n:>9,}  {lib:<31} {ns:>10.1f} ns/option  {note}", flush=True)

    g6 = list(GREEKS6)
    for n in sizes:
        book = make_book(n, 20261115)
        flags = np.where(book.is_call, "c", "p")
        ref = black76_greeks(*book.args())
        print(f"price + 5 Greeks, N = {n:,}")

        ro_greeks = partial(ro.greeks, *book.args(), greeks=g6, threads=1)

        assert_greeks_match(ro_greeks(), ref, book.F, what="riskoffset ")
        record(
            "price+5 Greeks",
            n,
            f"riskoffset ({ro.simd_info()['active']}, 1 thread)",
            median_ns_per_option(ro_greeks, n, repeat),
        )
        record(
            "price+5 Greeks",
            n,
            "numpy baseline",
            median_ns_per_option(partial(black76_greeks, *book.args()), n, repeat),
        )

        pvv_args = (flags, book.F, book.K, book.t, book.r, book.sigma)
        pvv_price = partial(pvv.vectorized_black, *pvv_args, return_as="numpy")
        pvv_greeks = partial(pvv.get_all_greeks, *pvv_args, model="black", return_as="dict")
        pvv_all = partial(_both, pvv_price, pvv_greeks)

        price, greeks = pvv_all()
        # Deviation of py_vollib_vectorized from the analytical Black-76 values, in its units converted to
        # canonical (vega, rho per 1 % -> x100; theta per day -> x365): informative only (docs/compat.md).
        conv = {"delta": 1.0, "gamma": 1.0, "vega": 100.0, "theta": 365.0, "rho": 100.0}
        dev = {"price": np.max(np.abs(np.asarray(price).reshape(-1) - ref["price"]) / book.F)}
        for k, c in conv.items():
            got = np.asarray(greeks[k]).reshape(-1) * c
            big = np.abs(ref[k]) > 1e-6 * np.max(np.abs(ref[k]))  # skip the vanishing tail values
            dev[k] = float(np.max(np.abs(got[big] - ref[k][big]) / np.abs(ref[k][big])))
        note = "max |err|/F price {:.1e}; max rel err ".format(dev["price"]) + ", ".join(
            f"{k} {dev[k]:.1e}" for k in conv
        )
        slow = n >= 100_000
        rep = 3 if slow else repeat
        record("price (vectorized_black)", n, "py_vollib_vectorized", median_ns_per_option(pvv_price, n, rep))
        record(
            "5 Greeks (get_all_greeks)", n, "py_vollib_vectorized", median_ns_per_option(pvv_greeks, n, rep)
        )
        record("price+5 Greeks", n, "py_vollib_vectorized", median_ns_per_option(pvv_all, n, rep), note)

    for n in sizes:
        case = make_iv_case(n, 7)
        b = case.book
        flags = np.where(b.is_call, "c", "p")
        print(f"implied vol, N = {n:,}")

        ro_iv = partial(ro.implied_vol, case.price, b.is_call, b.F, b.K, b.t, b.r, threads=1)
        pvv_iv = partial(
            pvv.vectorized_implied_volatility_black,
            case.price,
            b.F,
            b.K,
            b.r,
            b.t,
            flags,
            return_as="numpy",
            on_error="ignore",
        )

        assert_iv_roundtrip(ro_iv(), case, "riskoffset ")
        pvv_sigma = np.asarray(pvv_iv()).reshape(-1)
        try:
            assert_iv_roundtrip(pvv_sigma, case, "py_vollib_vectorized ")
            note = f"round trip ok (max err {np.max(np.abs(pvv_sigma - b.sigma)):.1e})"
        except AssertionError as exc:
            note = f"ROUND TRIP FAILED: {exc}"
        record(
            "implied vol",
            n,
            f"riskoffset ({ro.simd_info()['active']}, 1 thread)",
            median_ns_per_option(ro_iv, n, repeat),
        )
        record(
            "implied vol",
            n,
            "py_vollib_vectorized",
            median_ns_per_option(pvv_iv, n, 3 if n >= 100_000 else repeat),
            note,
        )

    print("\nratios (py_vollib_vectorized / riskoffset, same process):")
    by = {(r["case"], r["n"], str(r["lib"]).split(" ")[0]): r["ns_per_option"] for r in rows}
    ratios = {}
    for (case, n, lib), ns in by.items():
        if lib == "py_vollib_vectorized" and (case, n, "riskoffset") in by:
            ratio = ns / by[(case, n, "riskoffset")]
            ratios[f"{case} N={n}"] = ratio
            numpy_ns = by.get((case, n, "numpy"))
            extra = (
                f"   (numpy baseline / riskoffset: {numpy_ns / by[(case, n, 'riskoffset')]:.1f}x)"
                if numpy_ns
                else ""
            )
            print(f"  {case:<16} N={n:>9,}: {ratio:8.1f}x{extra}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "ratios": ratios, "core": core_path}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
