"""One rule for option flags across every entry point (riskoffset.flags): True/False (True = call), "c",
"p", "call", "put" in any case, arrays of bools or of those strings (str, bytes, object); anything else
is a ValueError naming the value and its row.  And time-to-expiry arguments given as numpy times."""

from __future__ import annotations

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.flags import is_call, is_call_array
from riskoffset.instruments import format_name

F, K, T, R, VOL = 100.0, 95.0, 0.5, 0.0, 0.4

CALLS = ["c", "C", "call", "CALL", "Call", "cAll", True, np.bool_(True), b"c", b"CALL"]
PUTS = ["p", "P", "put", "PUT", "Put", "pUT", False, np.bool_(False), b"p", b"Put"]
NOT_FLAGS = ["x", "", "calls", "Cal", " c", "c ", "cp", 1, -1, 0, 1.0, None, "1", b"q"]


@pytest.mark.parametrize("flag", CALLS)
def test_calls(flag: object) -> None:
    assert is_call(flag) is True


@pytest.mark.parametrize("flag", PUTS)
def test_puts(flag: object) -> None:
    assert is_call(flag) is False


@pytest.mark.parametrize("flag", NOT_FLAGS)
def test_not_flags_are_value_errors_naming_the_value(flag: object) -> None:
    with pytest.raises(ValueError, match=r"flag must be .*got ") as err:
        is_call(flag)
    assert str(err.value).endswith(f"got {flag!r}")


@pytest.mark.parametrize(
    "array",
    [
        np.array(["c", "P", "cAll", "put"]),
        np.array([b"c", b"P", b"cAll", b"put"]),
        np.array(["c", "P", True, b"put"], dtype=object),
        np.array([True, False, True, False]),
        ["C", "p", "CALL", "Put"],
    ],
    ids=["str", "bytes", "object", "bool", "list"],
)
def test_arrays_of_every_kind(array: object) -> None:
    got = is_call_array(array)
    assert got.dtype == bool
    assert got.tolist() == [True, False, True, False]


@pytest.mark.parametrize(
    "array, row, value",
    [
        (np.array(["c", "p", "x"]), "2", "'x'"),
        (np.array([b"c", b"zz"]), "1", "b'zz'"),
        (np.array(["c", 5], dtype=object), "1", "5"),
        (np.array([["c", "p"], ["q", "c"]]), r"\(1, 0\)", "'q'"),
        (np.array([1, -1]), "0", "1"),
        (np.array([0.5]), "0", "0.5"),
    ],
)
def test_bad_array_names_value_and_row(array: object, row: str, value: str) -> None:
    with pytest.raises(ValueError, match=rf"flag at row {row} must be .*got {value}"):
        is_call_array(array)


def _price(flag: object) -> float:
    return float(ro.price(flag, F, K, T, R, VOL))


@pytest.mark.parametrize("spelling", ["c", "C", "call", "CALL", "cAll", True])
def test_every_path_reads_every_call_spelling(spelling: object) -> None:
    """Pricing, Greeks, implied vol and instrument names agree on the spelling; put-call parity
    (Black-76, r = 0: C - P = F - K = 5) checks the values are those of a call."""
    call = _price(spelling)
    put = _price("p")
    assert call - put == pytest.approx(F - K, abs=1e-9)
    assert float(ro.greeks(spelling, F, K, T, R, VOL)["price"]) == pytest.approx(call, rel=1e-14)
    arr = ro.price(np.array([spelling, spelling], dtype=object), F, K, T, R, VOL)
    assert np.allclose(arr, call, rtol=1e-14)
    assert float(ro.implied_vol(call, spelling, F, K, T, R)) == pytest.approx(VOL, rel=1e-9)
    from datetime import datetime, timezone

    name = format_name(
        "BTC",
        "option",
        expiry=datetime(2026, 12, 25, 8, tzinfo=timezone.utc),
        strike=95,
        option_type=spelling,  # type: ignore[arg-type]
    )
    assert name.endswith("-C")


def test_bytes_and_object_arrays_price_like_strings() -> None:
    want = ro.price(np.array(["c", "p", "c"]), F, K, T, R, VOL)
    for flags in (np.array([b"C", b"P", b"CALL"]), np.array(["c", "put", True], dtype=object)):
        assert np.allclose(ro.price(flags, F, K, T, R, VOL), want, rtol=1e-14)


# ---------------------------------------------------------------------------------------------- t as numpy time
def test_timedelta64_is_converted_by_its_unit() -> None:
    """30 days = 30/365 years (ACT/365), whatever the unit it is written in."""
    want = _price_t(30 / 365)
    for t in (np.timedelta64(30, "D"), np.timedelta64(720, "h"), np.timedelta64(30 * 86400, "s")):
        assert ro.price("c", F, K, t, R, VOL) == pytest.approx(want, rel=1e-14)
    arr = np.array([30, 60], dtype="m8[D]")
    got = ro.greeks("c", F, K, arr, R, VOL)["price"]
    assert np.allclose(got, [want, _price_t(60 / 365)], rtol=1e-14)
    assert float(ro.implied_vol(want, "c", F, K, np.timedelta64(30, "D"), R)) == pytest.approx(VOL, rel=1e-9)


def _price_t(t: float) -> float:
    return float(ro.price("c", F, K, t, R, VOL))


@pytest.mark.parametrize("t", [np.datetime64("2026-12-25"), np.array(["2026-12-25"], dtype="M8[D]")])
def test_datetime64_is_refused(t: object) -> None:
    with pytest.raises(TypeError, match="time to expiry in years or a np.timedelta64"):
        ro.price("c", F, K, t, R, VOL)
    with pytest.raises(TypeError, match="time to expiry in years or a np.timedelta64"):
        ro.greeks("c", F, K, t, R, VOL)
    with pytest.raises(TypeError, match="time to expiry in years or a np.timedelta64"):
        ro.implied_vol(5.0, "c", F, K, t, R)


def test_timedelta64_in_months_is_refused() -> None:
    with pytest.raises(TypeError, match="no fixed length"):
        ro.price("c", F, K, np.timedelta64(1, "M"), R, VOL)


SPELLINGS_BY_WIDTH = {
    1: (["c", "C"], ["p", "P"]),
    4: (["c", "C", "call", "CALL", "cAlL"], ["p", "P", "put", "PUT", "pUt"]),
}


@pytest.mark.parametrize("dtype", ["<U1", "S1", "<U4", "S4", "<U6", "S7", ">U4"])
def test_every_target_decodes_string_columns_like_numpy(dtype: str, simd_target: str) -> None:
    """The compiled decoder of each SIMD target (vector loops and their tails: 1,003 rows) against the numpy
    reading of the same column; a bad value anywhere is reported at its row."""
    rng = np.random.default_rng(11)
    n = 1_003
    width = 1 if dtype.endswith("1") else 4
    calls, puts = SPELLINGS_BY_WIDTH[width]
    words = [(calls if c else puts)[int(k)] for c, k in zip(rng.random(n) < 0.5, rng.integers(0, 99, n) % len(calls))]
    flags = np.array(words if dtype[1] == "U" else [w.encode() for w in words], dtype=dtype)
    expected = is_call_array(flags)
    delta = ro.greeks(flags, F, K, T, R, VOL, greeks=["delta"], threads=1)["delta"]
    np.testing.assert_array_equal(delta > 0, expected)
    for row in (0, 7, 16, 999, n - 1):
        bad = flags.copy()
        bad[row] = "x" if dtype[1] == "U" else b"x"
        with pytest.raises(ValueError, match=rf"flag at row {row} must be"):
            ro.greeks(bad, F, K, T, R, VOL, greeks=["delta"], threads=1)
    if dtype[1] == "U":  # a character past ASCII whose low byte spells a flag ('\u0163' -> 'c') is refused too
        for row, word in ((3, "\u0163"), (16, "\u0163all"[:width]), (999, "p\u0175t"[:width] if width == 4 else "\u0170")):
            bad = flags.copy()
            bad[row] = word
            with pytest.raises(ValueError, match=rf"flag at row {row} must be"):
                ro.greeks(bad, F, K, T, R, VOL, greeks=["delta"], threads=1)
    if flags.itemsize // (4 if dtype[1] == "U" else 1) > 4:  # characters past the fourth must be NUL
        bad = flags.copy()
        bad[5] = "callx" if dtype[1] == "U" else b"callx"
        with pytest.raises(ValueError, match="flag at row 5 must be"):
            ro.greeks(bad, F, K, T, R, VOL, greeks=["delta"], threads=1)


@pytest.mark.parametrize("dtype", ["<U1", "S4", "<U4"])
def test_string_flags_read_by_each_thread_of_the_pricing(dtype: str) -> None:
    """The pricing kernel decodes string flags a chunk at a time in its own pass: split over two threads (each
    decodes its rows), the result equals that of the bool column, and a bad value in the second thread's rows
    is named with its row."""
    rng = np.random.default_rng(5)
    n = 40_000
    is_call = rng.random(n) < 0.5
    words = np.where(is_call, "c" if dtype == "<U1" else "Call", "p" if dtype == "<U1" else "put").astype(dtype)
    forward = rng.uniform(50.0, 150.0, n)
    args = (forward, np.full(n, K), np.full(n, T), np.full(n, R), np.full(n, VOL))
    want = ro.greeks(is_call, *args, greeks=["price", "delta"], threads=2)
    got = ro.greeks(words, *args, greeks=["price", "delta"], threads=2)
    for name in ("price", "delta"):
        np.testing.assert_array_equal(got[name], want[name])
    words[30_001] = "x" if dtype[1] == "U" else b"x"
    with pytest.raises(ValueError, match="flag at row 30001 must be"):
        ro.greeks(words, *args, greeks=["price", "delta"], threads=2)
