"""Bad input: every invalid argument to ro.price / ro.greeks / ro.implied_vol raises ValueError or
TypeError whose message names the offending argument (and, for arrays, the row), and odd-but-valid
input (empty, non-contiguous, int/float32/big-endian, read-only, huge) never crashes the process and
gives the same numbers as clean float64 input.

Contract (docs/units.md; pricing.py, implied_vol.py): underlying and strike finite and > 0, sigma
finite and >= 0, t, r, q finite (t <= 0 is allowed: expired); implied_vol never raises per element
(NaN plus an IVStatus) unless on_error="raise".
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import riskoffset as ro

GOOD = {"underlying": 40_000.0, "strike": 42_000.0, "t": 0.25, "r": 0.03, "sigma": 0.6, "q": 0.01}
PRICING_FIELDS = ("underlying", "strike", "t", "r", "sigma", "q")


def _greeks(flag="c", **override):
    kw = dict(GOOD, **override)
    return ro.greeks(
        flag, kw["underlying"], kw["strike"], kw["t"], kw["r"], kw["sigma"], q=kw["q"], model="bsm"
    )


def _price(flag="c", **override):
    kw = dict(GOOD, **override)
    return ro.price(
        flag, kw["underlying"], kw["strike"], kw["t"], kw["r"], kw["sigma"], q=kw["q"], model="bsm"
    )


def _no_internal_signature(excinfo: pytest.ExceptionInfo) -> None:
    """A message for users, not pybind11's dump of the private _core signature."""
    assert "incompatible function arguments" not in str(excinfo.value), str(excinfo.value)


# ----------------------------------------------------------------------------------------------------
# NaN / inf / out-of-domain values in each input

NON_FINITE = [np.nan, np.inf, -np.inf]
OUT_OF_DOMAIN = [
    ("underlying", 0.0),
    ("underlying", -1.0),
    ("strike", 0.0),
    ("strike", -42_000.0),
    ("sigma", -0.2),
    ("sigma", -1e-300),
]


@pytest.mark.parametrize("value", NON_FINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("field", PRICING_FIELDS)
def test_non_finite_scalar_names_the_field(field, value):
    for call in (_greeks, _price):
        with pytest.raises(ValueError, match=rf"\b{field}\b"):
            call(**{field: value})


@pytest.mark.parametrize("field,value", OUT_OF_DOMAIN)
def test_out_of_domain_scalar_names_the_field(field, value):
    for call in (_greeks, _price):
        with pytest.raises(ValueError, match=rf"\b{field}\b"):
            call(**{field: value})


ARRAY_CASES = [(f, v) for f in PRICING_FIELDS for v in NON_FINITE] + [
    ("underlying", -1.0),
    ("strike", 0.0),
    ("sigma", -0.5),
]


@pytest.mark.parametrize("field,value", ARRAY_CASES)
def test_bad_value_in_array_names_field_and_row(field, value):
    column = np.full(7, GOOD[field])
    column[4] = value
    with pytest.raises(ValueError, match=rf"\b{field}\b at row 4\b"):
        _greeks(**{field: column})
    # 2-D input: the row is reported as an index tuple
    grid = np.full((3, 5), GOOD[field])
    grid[2, 1] = value
    with pytest.raises(ValueError, match=rf"\b{field}\b at row \(2, 1\)"):
        _greeks(**{field: grid})


def test_first_bad_row_is_reported_when_several():
    sigma = np.full(1000, 0.5)
    sigma[[977, 31, 500]] = np.nan
    with pytest.raises(ValueError, match=r"sigma at row 31\b"):
        ro.greeks("c", 100.0, 100.0, 1.0, 0.0, sigma)


def test_bad_row_found_in_broadcast_input():
    """The offending element lives in a (1, 4) input broadcast against (3, 1): the row is its position
    in the (3, 4) result, and the field is the one holding the bad value."""
    strikes = np.array([[90.0], [100.0], [110.0]])
    expiries = np.array([[0.1, 0.5, np.inf, 1.0]])
    with pytest.raises(ValueError, match=r"\bt at row \(0, 2\)"):
        ro.greeks("c", 100.0, strikes, expiries, 0.0, 0.5)


def test_zero_sigma_and_non_positive_t_are_valid():
    """Not errors: sigma = 0 (intrinsic of the forward), t <= 0 (expired), negative r and q."""
    for kw in ({"sigma": 0.0}, {"t": 0.0}, {"t": -1.0}, {"r": -0.05, "q": -0.02}):
        g = _greeks(**kw)
        assert all(np.isfinite(v) for v in g.values()), kw


# ----------------------------------------------------------------------------------------------------
# types that are not numbers


@pytest.mark.parametrize("field", PRICING_FIELDS)
def test_non_numeric_input_names_the_field(field):
    for bad in ("abc", {"x": 1}, object()):
        with pytest.raises((TypeError, ValueError), match=rf"\b{field}\b"):
            _greeks(**{field: bad})


def test_complex_input_is_rejected():
    """A complex number is not a real input: it must raise, never lose its imaginary part silently.

    LIBRARY BUG (found 2026-11): a complex *array* goes through np.asarray(value, dtype=float64), which
    only emits numpy's ComplexWarning and drops the imaginary part, e.g.
    ro.greeks('c', np.array([100 + 5j]), 100., 1., 0., 0.5) prices an underlying of 100 (with warnings
    as errors, as in this suite's pytest config, the ComplexWarning escapes instead of a TypeError).
    A complex Python scalar is rejected correctly."""
    for field in PRICING_FIELDS:
        with pytest.raises(TypeError, match=rf"\b{field}\b"):
            _greeks(**{field: complex(GOOD[field], 1.0)})
    for field in PRICING_FIELDS:
        with pytest.raises(TypeError, match=rf"\b{field}\b"):
            _greeks(**{field: np.array([GOOD[field] + 1j, GOOD[field]])})


# ----------------------------------------------------------------------------------------------------
# shapes


def test_mismatched_shapes_name_the_fields():
    with pytest.raises(ValueError, match=r"underlying\(3,\).*strike\(4,\)"):
        ro.greeks("c", np.ones(3) * 100, np.ones(4) * 100, 1.0, 0.0, 0.5)
    with pytest.raises(ValueError, match=r"flag\(2,\).*sigma\(5,\)"):
        ro.price(np.array(["c", "p"]), 100.0, 100.0, 1.0, 0.0, np.full(5, 0.5))
    with pytest.raises(ValueError, match=r"t\(2, 3\).*r\(4,\)"):
        ro.greeks("c", 100.0, 100.0, np.ones((2, 3)), np.zeros(4), 0.5)
    with pytest.raises(ValueError, match=r"price\(3,\).*strike\(2,\)"):
        ro.implied_vol(np.ones(3), "c", 100.0, np.array([100.0, 110.0]), 1.0, 0.0)


# ----------------------------------------------------------------------------------------------------
# flags


@pytest.mark.parametrize("flag", ["x", "", "calls", "cp", " c", "puts", "Cal"])
def test_unknown_flag_string(flag):
    for call in (_greeks, _price):
        with pytest.raises(ValueError, match=r"\bflag\b"):
            call(flag=flag)
    with pytest.raises(ValueError, match=r"\bflag\b"):
        ro.implied_vol(1000.0, flag, 40_000.0, 42_000.0, 0.25, 0.0)


def test_unknown_flag_in_array_names_the_row():
    flags = np.array(["c", "p", "call", "x", "p"])
    with pytest.raises(ValueError, match=r"flag at row 3\b.*'x'"):
        ro.greeks(flags, 100.0, 100.0, 1.0, 0.0, 0.5)
    with pytest.raises(ValueError, match=r"flag at row \(1, 0\)"):
        ro.price(np.array([["c", "p"], ["q", "c"]]), 100.0, 100.0, 1.0, 0.0, 0.5)
    with pytest.raises(ValueError, match=r"flag at row 3\b"):
        ro.implied_vol(10.0, flags, 100.0, 100.0, 1.0, 0.0)


@pytest.mark.parametrize(
    "flag",
    [np.array([1.0, -1.0]), np.array([1, 0]), [1, -1], 1, 1.0, -1, np.array([0.5])],
    ids=["float-array", "int-array", "int-list", "int", "float", "minus-one", "half"],
)
def test_numeric_flags_are_rejected(flag):
    """+1/-1 is the kernel's internal encoding, not a public spelling: numbers must not be guessed."""
    with pytest.raises((TypeError, ValueError), match=r"\bflag\b"):
        ro.greeks(flag, 100.0, 100.0, 1.0, 0.0, 0.5)
    with pytest.raises((TypeError, ValueError), match=r"\bflag\b"):
        ro.price(flag, 100.0, 100.0, 1.0, 0.0, 0.5)


def test_none_flag():
    with pytest.raises((TypeError, ValueError), match=r"\bflag\b"):
        ro.greeks(None, 100.0, 100.0, 1.0, 0.0, 0.5)


# ----------------------------------------------------------------------------------------------------
# names: model, settlement, greeks, threads, on_error


@pytest.mark.parametrize("model", ["black-scholes", "BSM", "bs", "", None, 1])
def test_unknown_model(model):
    with pytest.raises(ValueError, match=r"\bmodel\b"):
        ro.greeks("c", 100.0, 100.0, 1.0, 0.0, 0.5, model=model)
    with pytest.raises(ValueError, match=r"\bmodel\b"):
        ro.price("c", 100.0, 100.0, 1.0, 0.0, 0.5, model=model)
    with pytest.raises(ValueError, match=r"\bmodel\b"):
        ro.implied_vol(10.0, "c", 100.0, 100.0, 1.0, 0.0, model=model)


@pytest.mark.parametrize("settlement", ["coin", "Inverse", "usd", "", None, 0])
def test_unknown_settlement(settlement):
    with pytest.raises(ValueError, match=r"\bsettlement\b"):
        ro.greeks("c", 100.0, 100.0, 1.0, 0.0, 0.5, settlement=settlement)
    with pytest.raises(ValueError, match=r"\bsettlement\b"):
        ro.price("c", 100.0, 100.0, 1.0, 0.0, 0.5, settlement=settlement)
    with pytest.raises(ValueError, match=r"\bsettlement\b"):
        ro.implied_vol(10.0, "c", 100.0, 100.0, 1.0, 0.0, settlement=settlement)


@pytest.mark.parametrize(
    "greeks", [["delta", "speed"], ["Delta"], "vomma", ["delta_pa"], ["delta_b76", "vega"]]
)
def test_unknown_greek_names_it(greeks):
    """delta_pa / delta_b76 exist only for settlement='inverse'."""
    names = [greeks] if isinstance(greeks, str) else greeks
    offending = [n for n in names if n not in ro.GREEK_NAMES[:9]]
    with pytest.raises(ValueError, match=re.escape(repr(offending[0]))):
        ro.greeks("c", 100.0, 100.0, 1.0, 0.0, 0.5, greeks=greeks)
    with pytest.raises(ValueError, match=re.escape(repr(offending[0]))):
        ro.greeks(np.array(["c"]), 100.0, 100.0, 1.0, 0.0, 0.5, greeks=greeks)


@pytest.mark.parametrize(
    "threads", [0, -1, 1.5, "2", 2**40], ids=["zero", "negative", "float", "str", "2^40"]
)
def test_bad_threads_greeks(threads):
    """LIBRARY BUG (found 2026-11, cosmetic): threads=2**40 passes the Python check (a positive int) and
    then fails in pybind11's int conversion with the "incompatible function arguments" dump of the
    private _core.pricing.greeks signature; expected a ValueError about `threads` (or clamping)."""
    with pytest.raises((ValueError, TypeError), match=r"\bthreads\b") as excinfo:
        ro.greeks(np.array(["c", "p"]), 100.0, 100.0, 1.0, 0.0, 0.5, threads=threads)
    _no_internal_signature(excinfo)


@pytest.mark.parametrize(
    "threads", [0, -1, 1.5, "2", 2**40], ids=["zero", "negative", "float", "str", "2^40"]
)
def test_bad_threads_implied_vol(threads):
    """LIBRARY BUG (found 2026-11): implied_vol does not validate `threads` at all: threads=0 and
    threads=-1 are silently accepted (run on one thread), and 1.5 / "2" / 2**40 surface pybind11's
    "incompatible function arguments" dump of the private _core.pricing.implied_vol signature instead of a
    message about `threads` (greeks validates it: "threads must be a positive integer or None").
    Reproducer: ro.implied_vol(np.array([10.]), 'c', 100., 100., 1., 0., threads=0) returns 0.2513..."""
    with pytest.raises((ValueError, TypeError), match=r"\bthreads\b") as excinfo:
        ro.implied_vol(np.array([10.0, 12.0]), "c", 100.0, 100.0, 1.0, 0.0, threads=threads)
    _no_internal_signature(excinfo)


@pytest.mark.parametrize("on_error", ["fail", "Raise", "", None, True])
def test_bad_on_error(on_error):
    with pytest.raises(ValueError, match=r"\bon_error\b"):
        ro.implied_vol(10.0, "c", 100.0, 100.0, 1.0, 0.0, on_error=on_error)
    with pytest.raises(ValueError, match=r"\bon_error\b"):
        ro.implied_vol(np.array([10.0]), "c", 100.0, 100.0, 1.0, 0.0, on_error=on_error)


# ----------------------------------------------------------------------------------------------------
# implied_vol: bad numbers give NaN + status, or raise with on_error="raise"

IV_GOOD = {"price": 10.0, "underlying": 100.0, "strike": 100.0, "t": 1.0, "r": 0.0, "q": 0.0}
IV_BAD = [
    ("price", np.nan),
    ("price", np.inf),
    ("underlying", 0.0),
    ("underlying", np.nan),
    ("strike", -1.0),
    ("strike", np.inf),
    ("t", 0.0),
    ("t", -1.0),
    ("t", np.nan),
    ("r", np.inf),
    ("q", np.nan),
]


def _iv(on_error="ignore", return_status=False, **override):
    kw = dict(IV_GOOD, **override)
    return ro.implied_vol(
        kw["price"],
        "c",
        kw["underlying"],
        kw["strike"],
        kw["t"],
        kw["r"],
        q=kw["q"],
        model="bsm",
        on_error=on_error,
        return_status=return_status,
    )


@pytest.mark.parametrize("field,value", IV_BAD)
def test_implied_vol_bad_input_status(field, value):
    sigma, status = _iv(return_status=True, **{field: value})
    assert np.isnan(sigma) and status == ro.IVStatus.BAD_INPUT
    column = np.full(5, IV_GOOD[field])
    column[2] = value
    sigma, status = _iv(return_status=True, **{field: column})
    assert np.isnan(sigma[2]) and status[2] == ro.IVStatus.BAD_INPUT
    good = np.delete(np.arange(5), 2)
    assert np.all(np.isfinite(sigma[good])) and np.all(status[good] == ro.IVStatus.OK)


@pytest.mark.parametrize("field,value", IV_BAD)
def test_implied_vol_bad_input_raise_names_field_and_row(field, value):
    """on_error="raise": ValueError with the row and (brief) the offending field.

    LIBRARY BUG (found 2026-11): the message names the row and a generic reason ("an input is NaN/inf,
    the underlying or strike is not > 0, or t <= 0") but not which input, unlike ro.greeks' messages
    ("strike at row 2 is -1.0: ...").  Reproducer:
    ro.implied_vol(10., 'c', 100., np.array([100., 100., -1.]), 1., 0., on_error='raise')."""
    column = np.full(5, IV_GOOD[field])
    column[2] = value
    with pytest.raises(ValueError, match=r"row 2\b"):
        _iv(on_error="raise", **{field: column})
    with pytest.raises(ValueError, match=rf"\b{field}\b"):
        _iv(on_error="raise", **{field: column})


def test_implied_vol_raise_messages_identify_the_field():
    """Naming the field means the message differs with the field: the same row made bad through
    different inputs must not give one generic message (see the bug note above)."""
    messages = {}
    for field, value in IV_BAD:
        column = np.full(5, IV_GOOD[field])
        column[2] = value
        with pytest.raises(ValueError) as excinfo:
            _iv(on_error="raise", **{field: column})
        messages.setdefault(field, str(excinfo.value))
    fields = sorted(messages)
    same = [(a, b) for i, a in enumerate(fields) for b in fields[i + 1 :] if messages[a] == messages[b]]
    assert not same, f"identical messages for different bad fields {same}: {messages[fields[0]]!r}"


def test_implied_vol_warn_mode_warns_once_and_returns_nan():
    prices = np.array([10.0, np.nan, 150.0, 20.0])  # ok, bad input, above maximum (F = 100), ok
    with pytest.warns(RuntimeWarning, match=r"row") as record:
        sigma = ro.implied_vol(prices, "c", 100.0, 100.0, 1.0, 0.0, on_error="warn")
    assert len(record) == 1
    assert np.isfinite(sigma[0]) and np.isnan(sigma[1]) and np.isnan(sigma[2]) and np.isfinite(sigma[3])


# ----------------------------------------------------------------------------------------------------
# never crash: big, empty, strided, odd dtypes, read-only


def test_huge_array_of_nan_raises_cleanly():
    n = 2_000_000
    with pytest.raises(ValueError, match=r"underlying at row 0\b"):
        ro.greeks("c", np.full(n, np.nan), 100.0, 1.0, 0.0, 0.5)
    with pytest.raises(ValueError, match=r"sigma at row 0\b"):
        ro.greeks("c", 100.0, 100.0, 1.0, 0.0, np.full(n, np.nan), threads=2)
    sigma, status = ro.implied_vol(np.full(n, np.nan), "c", 100.0, 100.0, 1.0, 0.0, return_status=True)
    assert sigma.shape == (n,) and np.all(np.isnan(sigma)) and np.all(status == ro.IVStatus.BAD_INPUT)


def test_bad_row_at_the_very_end_of_a_large_array():
    """The last row sits in the kernels' scalar tail (n not a multiple of the SIMD width)."""
    for n in (1, 7, 8, 9, 1001, 65_537):
        u = np.full(n, 100.0)
        u[-1] = -5.0
        with pytest.raises(ValueError, match=rf"underlying at row {n - 1}\b"):
            ro.greeks("c", u, 100.0, 1.0, 0.0, 0.5)


@pytest.mark.parametrize("settlement", ["linear", "inverse"])
def test_empty_arrays_give_empty_outputs(settlement):
    for u, expected_shape in ((np.array([]), (0,)), (np.zeros((0, 3)), (0, 3)), ([], (0,))):
        g = ro.greeks("c", u, 100.0, 1.0, 0.0, 0.5, settlement=settlement)
        assert all(v.shape == expected_shape and v.dtype == np.float64 for v in g.values())
        assert ro.price("p", u, 100.0, 1.0, 0.0, 0.5, settlement=settlement).shape == expected_shape
        sigma, status = ro.implied_vol(
            u, "c", 100.0, 100.0, 1.0, 0.0, settlement=settlement, return_status=True
        )
        assert sigma.shape == expected_shape and status.shape == expected_shape
    g = ro.greeks(np.array([], dtype=str), 100.0, 100.0, 1.0, 0.0, 0.5, settlement=settlement)
    assert all(v.shape == (0,) for v in g.values())


def test_empty_flag_list():
    """An empty list of flags is an empty array of flags, like an empty list of strikes.

    LIBRARY BUG (found 2026-11, minor): np.asarray([]) is float64, so flag_array raises
    "TypeError: flag must be ... strings or booleans, got an array of dtype float64" for
    ro.greeks([], [], 100., 1., 0., 0.5) instead of returning empty arrays."""
    g = ro.greeks([], [], 100.0, 1.0, 0.0, 0.5)
    assert all(v.shape == (0,) for v in g.values())


def _reference(u, k, t, sigma, model="black76", settlement="linear"):
    """Clean contiguous float64 copies."""
    return ro.greeks(
        np.where(np.arange(np.size(u)) % 2 == 0, "c", "p").reshape(np.shape(u)),
        np.array(u, dtype=np.float64, order="C"),
        np.array(k, dtype=np.float64, order="C"),
        np.array(t, dtype=np.float64, order="C"),
        0.02,
        np.array(sigma, dtype=np.float64, order="C"),
        model=model,
        settlement=settlement,
    )


def _check_same(got, ref):
    assert set(got) == set(ref)
    for name in ref:
        assert got[name].shape == ref[name].shape, name
        np.testing.assert_array_equal(got[name], ref[name], err_msg=name)


def test_non_contiguous_inputs():
    rng = np.random.default_rng(5)
    base = rng.uniform(50, 150, size=(40, 30))
    strided = base[::3, ::2]  # (14, 15), non-contiguous in both axes
    transposed = base.T  # Fortran order
    for u in (strided, transposed, base[:, 5], base[::-1]):
        k = np.full(u.shape, 100.0)
        t = np.broadcast_to(0.5, u.shape)  # stride-0 broadcast view
        sigma = np.asfortranarray(rng.uniform(0.1, 1.0, u.shape))
        flags = np.where(np.arange(u.size) % 2 == 0, "c", "p").reshape(u.shape)
        got = ro.greeks(flags, u, k, t, 0.02, sigma)
        _check_same(got, _reference(u, k, t, sigma))
        assert not np.shares_memory(got["price"], u)


def test_integer_float32_and_big_endian_inputs():
    """Non-float64 dtypes are converted exactly (ints, float32 values are exact in float64)."""
    u64 = np.array([90.0, 100.0, 110.0, 125.0])
    k64 = np.array([100.0, 100.0, 100.0, 120.0])
    t64 = np.array([0.5, 1.0, 0.25, 2.0])
    sigma64 = np.array([0.5, 0.25, 0.75, 0.375])
    ref = _reference(u64, k64, t64, sigma64)
    flags = np.where(np.arange(4) % 2 == 0, "c", "p")
    variants = {
        "int64": (u64.astype(np.int64), k64.astype(np.int64)),
        "int32": (u64.astype(np.int32), k64.astype(np.int16)),
        "uint8": (u64.astype(np.uint8), k64.astype(np.uint8)),
        "float32": (u64.astype(np.float32), k64.astype(np.float32)),
        "big-endian": (u64.astype(">f8"), k64.astype(">f8")),
        "python ints": ([90, 100, 110, 125], [100, 100, 100, 120]),
    }
    for label, (u, k) in variants.items():
        got = ro.greeks(flags, u, k, t64.astype(np.float32), 0.02, sigma64.astype(">f4"))
        for name in ref:
            np.testing.assert_array_equal(got[name], ref[name], err_msg=f"{label}: {name}")
    # float32 values that are not exactly representable: compared with their float64 conversion
    u32 = np.array([95.3, 101.7], dtype=np.float32)
    got = ro.greeks(np.array(["c", "p"]), u32, 100.0, 0.5, 0.02, 0.5)
    want = ro.greeks(np.array(["c", "p"]), u32.astype(np.float64), 100.0, 0.5, 0.02, 0.5)
    _check_same(got, want)


def test_read_only_inputs_are_accepted_and_not_modified():
    u = np.linspace(80.0, 120.0, 9)
    sigma = np.full(9, 0.4)
    prices = np.full(9, 5.0)
    for a in (u, sigma, prices):
        a.flags.writeable = False
    snapshot = (u.copy(), sigma.copy(), prices.copy())
    flags = np.where(np.arange(9) % 2 == 0, "c", "p")
    flags.flags.writeable = False
    g = ro.greeks(flags, u, 100.0, 1.0, 0.02, sigma)
    _check_same(g, _reference(u, np.full(9, 100.0), np.full(9, 1.0), sigma))
    ro.price("p", u, 100.0, 1.0, 0.0, sigma)
    ro.implied_vol(prices, "c", u, 100.0, 1.0, 0.0)
    np.testing.assert_array_equal(u, snapshot[0])
    np.testing.assert_array_equal(sigma, snapshot[1])
    np.testing.assert_array_equal(prices, snapshot[2])


def test_outputs_are_fresh_writable_arrays():
    u = np.linspace(80.0, 120.0, 5)
    g = ro.greeks("c", u, 100.0, 1.0, 0.0, 0.4)
    for name, value in g.items():
        assert value.flags.writeable and value.flags.c_contiguous, name
        assert not np.shares_memory(value, u)
    g["price"][:] = -1.0  # writing into one output must not touch another call's result
    assert np.all(ro.greeks("c", u, 100.0, 1.0, 0.0, 0.4)["price"] > 0)
