"""The compiled core's bindings: one submodule per concept, flags read as users pass them, and bad input
to the private entry points raising (never crashing, never writing past an array).

Expected values come from independent routes: a bool flag column against the same options given as
strings, an aliased `out=` call against the same call with separate memory, an unaligned view against an
aligned copy of the same numbers.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset import _core

RULE = r"must be 'c', 'p', 'call', 'put' or a boolean \(True = call\)"


def _args(n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(11)
    return (
        rng.uniform(80.0, 120.0, n),  # underlying
        rng.uniform(80.0, 120.0, n),  # strike
        rng.uniform(0.1, 2.0, n),  # t
        np.full(n, 0.01),  # r
        rng.uniform(0.1, 0.8, n),  # sigma
    )


# ------------------------------------------------------------------------------------------- submodules
def test_every_concept_is_a_submodule_and_functions_name_their_module() -> None:
    assert {"simd", "pricing", "scenarios", "book", "memory"} <= set(dir(_core))
    for name in (
        "greeks_arrays",
        "implied_vol_arrays",
        "value_scalar",
        "greeks_scalar",
        "implied_vol_scalar",
    ):
        fn = getattr(_core.pricing, name)
        assert fn.__module__ == "riskoffset._core.pricing", name
    assert _core.pricing.ScalarFunction.__module__ == "riskoffset._core.pricing"
    assert _core.pricing.OUTPUT_NAMES[_core.pricing.OUTPUT_INDEX["delta"]] == "delta"
    assert _core.pricing.OUTPUT_NAMES[_core.pricing.LINEAR_OUTPUT_COUNT - 1] == "charm"


# ---------------------------------------------------------------------------------------------- flags
FORMS = {
    "U1": lambda c: np.where(c, "c", "P"),
    "S1": lambda c: np.where(c, b"C", b"p"),
    "U4": lambda c: np.where(c, "Call", "put"),
    "S4": lambda c: np.where(c, b"CALL", b"Put"),
    "mixed U4": lambda c: np.where(c, "c", "PUT"),
}


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("threads", [None, 2])
def test_string_flag_arrays_price_like_bool_arrays(form: str, threads: int | None) -> None:
    """threads=None takes the C++ argument-handling path, threads=2 the general one: both read strings."""
    n = 37  # full SIMD blocks and a tail on every target
    is_call = np.random.default_rng(3).random(n) < 0.5
    args = _args(n)
    want = ro.greeks(is_call, *args, greeks=["price", "delta"], threads=threads)
    got = ro.greeks(FORMS[form](is_call), *args, greeks=["price", "delta"], threads=threads)
    for name in ("price", "delta"):
        np.testing.assert_array_equal(got[name], want[name])
    iv_want = ro.implied_vol(want["price"], is_call, args[0], args[1], args[2], args[3])
    iv_got = ro.implied_vol(want["price"], FORMS[form](is_call), args[0], args[1], args[2], args[3])
    np.testing.assert_array_equal(iv_got, iv_want)


@pytest.mark.parametrize("bad", ["x", "cal", "calls", "pu", ""])
@pytest.mark.parametrize("row", [0, 36])
@pytest.mark.parametrize("threads", [None, 2])
def test_a_bad_string_flag_names_its_value_and_row(bad: str, row: int, threads: int | None) -> None:
    flags = np.array(["c"] * 37, dtype="<U5")
    flags[row] = bad
    with pytest.raises(ValueError, match=f"flag at row {row} {RULE}, got '{bad}'"):
        ro.greeks(flags, *_args(37), threads=threads)
    with pytest.raises(ValueError, match=f"flag at row {row} {RULE}"):
        ro.implied_vol(np.full(37, 5.0), flags, *_args(37)[:4])


@pytest.mark.parametrize("row", [0, 5, 33, 36], ids=lambda r: f"row={r}")
@pytest.mark.parametrize("threads", [None, 2])
def test_a_bool_byte_other_than_0_or_1_is_the_same_error_in_blocks_and_tail(
    row: int, threads: int | None
) -> None:
    """Rows 0 and 5 sit in full SIMD blocks, 33-36 in the tail (37 = 4 x 8 + 5): the rule is the same."""
    flags = np.ones(37, dtype=bool)
    flags.view(np.uint8)[row] = 2
    with pytest.raises(ValueError, match=f"flag at row {row} {RULE}, got byte 2 in a bool array"):
        ro.greeks(flags, *_args(37), threads=threads)
    with pytest.raises(ValueError, match=f"flag at row {row} {RULE}"):
        ro.implied_vol(np.full(37, 5.0), flags, *_args(37)[:4])


def test_a_bad_flag_in_a_2d_array_names_the_row_as_an_index_tuple() -> None:
    flags = np.array([["c", "p"], ["p", "q"]])
    with pytest.raises(ValueError, match=r"flag at row \(1, 1\) .* got 'q'"):
        ro.greeks(flags, 100.0, 100.0, 1.0, 0.0, 0.2)


# ------------------------------------------------------------------------------- private entry points
def _private_greeks(out: Any, n: int = 4) -> Any:
    u, k, t, r, s = _args(n)
    return _core.pricing.greeks(np.ones(n, bool), u, k, t, r, s, np.zeros(n), 0, 0, 1, n, 1, out)


def test_private_greeks_with_a_non_list_out_raises() -> None:
    with pytest.raises(TypeError, match="out must be None or a list"):
        _private_greeks(42)


def test_greeks_arrays_reads_the_outputs_as_written() -> None:
    """Names (a list, a tuple, one name, "all", repeats kept once) or a tuple of indices; anything else is left to
    the Python path (None), which words it; a tuple of indices out of range or of other objects raises."""
    args = ("c", np.full(3, 100.0), np.full(3, 90.0), np.full(3, 1.0), np.zeros(3), np.full(3, 0.2), 0.0, 0, 0)
    for outputs, names in ((["delta", "price", "delta"], ["delta", "price"]), (("vega",), ["vega"]), ("gamma", ["gamma"]),
                           ((1, 0), ["delta", "price"]), ("all", list(ro.pricing.LINEAR_OUTPUTS))):  # fmt: skip
        got = _core.pricing.greeks_arrays(*args, outputs, 1)
        assert list(got) == names
        want = ro.greeks(np.array(["c"] * 3), *args[1:6], greeks=names)
        for name in names:
            np.testing.assert_array_equal(got[name], want[name])
    for unusual in (5, ["price", "nope"], ("delta_pa",), iter(["price"]), []):  # (delta_pa: inverse settlement only)
        assert _core.pricing.greeks_arrays(*args, unusual, 1) is None
    with pytest.raises(ValueError, match="output index out of range"):
        _core.pricing.greeks_arrays(*args, (99,), 1)
    with pytest.raises(TypeError, match="outputs must be names or a tuple of output indices"):
        _core.pricing.greeks_arrays(*args, (1.5,), 1)


@pytest.mark.parametrize(
    ("out", "error", "match"),
    [
        (np.zeros(4, np.float32), TypeError, "float64"),
        (np.zeros(4, np.int64), TypeError, "float64"),
        (np.zeros(3), ValueError, "has 3 elements, expected 4"),
        (np.zeros(8)[::2], ValueError, "C-contiguous"),
        ([1.0, 2.0, 3.0, 4.0], TypeError, "numpy array"),
    ],
    ids=["float32", "int64", "short", "strided", "list"],
)
def test_private_greeks_checks_its_out_arrays(out: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        _private_greeks([out])


def test_private_greeks_refuses_a_read_only_out() -> None:
    out = np.zeros(4)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        _private_greeks([out])


def test_out_sharing_memory_with_an_input_gives_the_unaliased_result() -> None:
    """numpy's rule for ufuncs: an input overlapping `out` is read as it was before the call.  Here price
    row i lands on the underlying of row i + 1, which a kernel reading and writing in place would see."""
    u, k, t, r, s = _args(37)
    want = ro.greeks("c", u, k, t, r, s, greeks=["price", "delta"], threads=1)
    buffer = np.zeros(38)
    buffer[:37] = u
    out = {"price": buffer[1:], "delta": np.empty(37)}
    got = ro.greeks("c", buffer[:37], k, t, r, s, greeks=["price", "delta"], threads=1, out=out)
    np.testing.assert_array_equal(got["price"], want["price"])
    np.testing.assert_array_equal(got["delta"], want["delta"])


def test_scenario_out_sharing_memory_with_an_input_gives_the_unaliased_result() -> None:
    """The forwards sit inside out's first rows: the first instruments' values would overwrite the
    forwards of later instruments before those are read."""
    n, m = 37, 4
    rng = np.random.default_rng(5)
    flag = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    forward = rng.uniform(90.0, 110.0, n)
    strike = rng.uniform(90.0, 110.0, n)
    t = rng.uniform(0.1, 1.0, n)
    sigma = rng.uniform(0.3, 0.8, n)
    move = np.linspace(-0.1, 0.1, m)
    rest = (strike, t, np.zeros(n), sigma, np.zeros(m, np.int32), move, None, 0.0, 1)
    want, bad = _core.scenarios.scenario_values(flag, forward, *rest)
    assert bad == -1
    buffer = np.zeros(n * m)
    buffer[1 : n + 1] = forward
    got, bad = _core.scenarios.scenario_values(flag, buffer[1 : n + 1], *rest, False, buffer.reshape(n, m))
    assert bad == -1
    np.testing.assert_array_equal(got, want)
    # And the same values through the public API.
    np.testing.assert_array_equal(ro.revalue(flag, forward, strike, t, sigma, move), want)


def test_unaligned_float64_inputs_give_the_aligned_result() -> None:
    u, k, t, r, s = _args(37)
    raw = np.zeros(37 * 8 + 1, np.uint8)
    unaligned = np.frombuffer(raw.data, dtype=np.float64, count=37, offset=1)
    assert not unaligned.flags.aligned
    unaligned[...] = u
    want = ro.greeks("c", u, k, t, r, s, threads=1)
    for threads in (None, 1):
        got = ro.greeks("c", unaligned, k, t, r, s, threads=threads)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name])


def test_csr_product_bounds_check_does_not_overflow() -> None:
    """starts + lengths wrapped past int64 used to pass the check and read far outside the positions."""
    pnl = np.ones((2, 3))
    with pytest.raises(ValueError, match="group 0 lies outside the positions"):
        _core.book.csr_product(np.array([1]), np.array([2**63 - 1]), np.array([0, 1]), np.ones(2), pnl, 1)


def test_scalar_functions_release_their_type() -> None:
    cls = _core.pricing.ScalarFunction
    gc.collect()
    before = sys.getrefcount(cls)
    for _ in range(100):
        f = cls(1, 1, 1.0, 6, lambda *a, **k: 0.0)
        del f
    gc.collect()
    assert sys.getrefcount(cls) == before


SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
static int calls = 0;
typedef int (*create_fn)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
int pthread_create(pthread_t* t, const pthread_attr_t* a, void* (*f)(void*), void* arg) {
  if (calls++ >= 1) return EAGAIN; /* the first worker starts, every later one is refused */
  return ((create_fn)dlsym(RTLD_NEXT, "pthread_create"))(t, a, f, arg);
}
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="LD_PRELOAD shim")
def test_a_worker_thread_that_cannot_start_raises_instead_of_aborting(tmp_path: Any) -> None:
    """With one worker started and the next refused, the started one used to be destroyed unjoined:
    std::terminate killed the interpreter.  Now every started thread is joined and the error raised."""
    import os
    import shutil
    import subprocess

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler for the pthread_create shim")
    (tmp_path / "shim.c").write_text(SHIM)
    lib = tmp_path / "libshim.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(tmp_path / "shim.c"), "-ldl"], check=True)
    code = (
        "import numpy as np, riskoffset as ro\n"
        "f = np.full(100_000, 100.0)\n"
        "try:\n"
        "    ro.greeks('c', f, 100.0, 1.0, 0.0, 0.2, threads=4)\n"
        "except RuntimeError as e:\n"
        "    print('raised:', e)\n"
    )
    # after any preload already there (the sanitizer run preloads the ASan runtime, which must come first)
    preload = " ".join(filter(None, [os.environ.get("LD_PRELOAD", ""), str(lib)]))
    env = dict(os.environ, LD_PRELOAD=preload, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "raised: could not start a worker thread" in result.stdout, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------- one option
@pytest.mark.parametrize("settlement", ["linear", "inverse"])
def test_one_option_with_a_named_subset_equals_the_array_path(settlement: str) -> None:
    """Plain floats with greeks=(...) take the scalar path that computes only what is asked: the same bits as
    the array call, in the order asked, for each output alone and for a reordered pair."""
    args = (80_000.0, 90_000.0, 0.25, 0.01, 0.6)
    arrays = ro.greeks(np.array(["p"]), *args, settlement=settlement)
    for name in arrays:
        one = ro.greeks("p", *args, settlement=settlement, greeks=(name,))
        assert list(one) == [name] and isinstance(one[name], float)
        assert one[name] == arrays[name][0], name
    pair = ro.greeks("p", *args, settlement=settlement, greeks=("vega", "price", "vega"))
    assert list(pair) == ["vega", "price"] and pair["price"] == arrays["price"][0]
    # The names as users pass them: a list (read in C++), a lone name, any other iterable (read in Python).
    listed = ro.greeks("p", *args, settlement=settlement, greeks=["vega", "price", "vega"])
    assert listed == pair and list(listed) == ["vega", "price"]
    assert ro.greeks("p", *args, settlement=settlement, greeks="gamma") == {"gamma": arrays["gamma"][0]}
    assert ro.greeks("p", *args, settlement=settlement, greeks=iter(["rho", "delta"])) == {
        "rho": arrays["rho"][0], "delta": arrays["delta"][0]
    }
    assert ro.greeks("p", *args, settlement=settlement, greeks=["vega"]) == {"vega": arrays["vega"][0]}
    assert ro.greeks("p", 80_000.0, 90_000.0, 1, 0.01, 0.6, settlement=settlement, greeks=["price"])["price"] == (
        ro.greeks(np.array(["p"]), 80_000.0, 90_000.0, 1.0, 0.01, 0.6, settlement=settlement)["price"][0]
    )
    assert ro.greeks("p", *args, settlement=settlement, greeks=[]) == {}
    for unknown in (("speed",), ["vega", "speed"], "speed", ["delta", 3]):
        with pytest.raises((ValueError, TypeError), match="unknown greek|str|int"):
            ro.greeks("p", *args, settlement=settlement, greeks=unknown)
    if settlement == "linear":  # the inverse-only outputs are unknown names under linear settlement
        with pytest.raises(ValueError, match="unknown greek"):
            ro.greeks("p", *args, settlement=settlement, greeks=["delta_pa"])
    with pytest.raises(ValueError, match="out of range"):
        _core.pricing.greeks_scalar("p", *args, 0.0, 0, 0, (99,))
    with pytest.raises(TypeError, match="tuple"):
        _core.pricing.greeks_scalar("p", *args, 0.0, 0, 0, [1])
