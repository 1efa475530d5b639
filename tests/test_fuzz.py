"""Property-based fuzzing of every public entry point that takes numbers, names or files (hypothesis).

Each property says what must hold for *any* input: a right value, a documented NaN with a status, or a clear
ValueError/TypeError; never a wrong finite number, another exception type, a hang or a crash.  The "ci"
profile runs a bounded number of examples on every CI run; HYPOTHESIS_PROFILE=long runs the campaign whose
input count is recorded in bench/RESULTS.md (every kernel example is an array of up to 64 rows, counted per row).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from riskoffset.instruments import Instrument
from riskoffset.margining.span import SpanFileError, parse_span

SUPPORTED_TARGETS = list(ro.simd_info()["supported"])
CLEAR = (ValueError, TypeError)
SPAN = (Path(__file__).parent / "data" / "span" / "two_cc.spn").read_bytes()
COUNTS: dict[str, int] = {}  # inputs tried per property (printed by -s, summed for the long campaign)


def _count(name: str, n: int = 1) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + n


# ---------------------------------------------------------------------------------------------- kernels
def _magnitude() -> st.SearchStrategy[float]:
    """Positive numbers over every decade a double holds, plus the edges, zero, inf and NaN."""
    return st.one_of(
        st.floats(min_value=-320.0, max_value=308.0).map(lambda e: 10.0**e),
        st.sampled_from([1e-100, 1e100, 5e-324, 1.7e308, 0.0, -1.0, math.inf, math.nan, 1.0, 100.0]),
    )


ROW = st.tuples(
    st.sampled_from([1.0, -1.0]),
    _magnitude(),
    _magnitude(),
    st.one_of(st.floats(min_value=-1.0, max_value=50.0), st.sampled_from([0.0, 1e-12, 1e6, math.inf])),
    st.one_of(st.floats(min_value=-2.0, max_value=2.0), st.sampled_from([0.0, 400.0, -400.0, math.nan])),
    st.one_of(st.floats(min_value=0.0, max_value=20.0), _magnitude()),
)


def _block(seed: int, n: int) -> list[tuple[float, ...]]:
    """n rows from a seed, all inside the supported range: log-uniform magnitudes over 180 decades,
    strikes up to 10^6 away from the underlying, vols from 1e-12 to 1e3, times from 0 to 100 years."""
    g = np.random.default_rng(seed)
    f = 10.0 ** g.uniform(-90, 90, n)
    k = f * 10.0 ** g.uniform(-6, 6, n)
    t = np.where(g.random(n) < 0.1, 0.0, 10.0 ** g.uniform(-9, 2, n))
    r = g.uniform(-1.0, 1.0, n) * (g.random(n) < 0.3)
    sigma = 10.0 ** g.uniform(-12, 3, n)
    flag = np.where(g.random(n) < 0.5, 1.0, -1.0)
    return list(zip(flag, f, k, t, r, sigma))


def _check_rows(rows: list[tuple[float, ...]], *, must_accept: bool) -> None:
    """On every SIMD target: either a ValueError naming the field and row (never for rows inside the
    supported range), or prices inside the no-arbitrage bounds (D max(theta (F - K), 0) <= V <= D F for a
    call, D K for a put), |delta| <= D, gamma and vega >= 0, everything finite, and every target agreeing
    with the generic one."""
    flag, f, k, t, r, sigma = (np.array(c, dtype=np.float64) for c in zip(*rows))
    flags = np.where(flag > 0, "c", "p")
    results = {}
    for target in SUPPORTED_TARGETS:
        with ro.simd_target(target):
            try:
                results[target] = {
                    name: np.asarray(v)
                    for name, v in ro.greeks(flags, f, k, t, r, sigma).items()  # price and all eight Greeks
                }
            except ValueError as exc:
                assert " at row " in str(exc) and not must_accept, exc
                results[target] = None
    _count("kernel rows", len(rows) * len(SUPPORTED_TARGETS))
    outcomes = {name: res is None for name, res in results.items()}
    assert len(set(outcomes.values())) == 1, f"targets disagree on refusing: {outcomes}"
    ref = results["generic"]
    if ref is None:
        return
    T = np.maximum(t, 0.0)
    D = np.exp(-r * T)
    price, delta, gamma, vega = ref["price"], ref["delta"], ref["gamma"], ref["vega"]
    for name, values in ref.items():
        assert np.isfinite(values).all(), f"{name} not finite: rows {np.flatnonzero(~np.isfinite(values))[:5]}"
    upper = np.where(flag > 0, f, k) * D
    intrinsic = D * np.maximum(flag * (f - k), 0.0)
    tol = 1e-9 * np.maximum(f, k) * D + 1e-300
    assert (price >= intrinsic - tol).all() and (price <= upper + tol).all()
    assert (np.abs(delta) <= D * (1 + 1e-12) + 1e-300).all() and (flag * delta >= -1e-12).all()
    assert (gamma >= -1e-300).all() and (vega >= -1e-300).all()
    for target, res in results.items():
        if target == "generic" or res is None:
            continue
        for name in ref:
            a, b = res[name], ref[name]
            close = np.abs(a - b) <= 1e-9 * np.maximum(np.abs(b), 1e-300) + 1e-12 * np.maximum(f, k) * D
            assert close.all(), f"{target} {name} differs from generic at rows {np.flatnonzero(~close)[:5]}"


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=64), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_kernels_give_a_right_value_or_a_clear_error(rows: list[tuple[float, ...]], seed: int) -> None:
    """Edge values (hypothesis rows: zero, inf, NaN, every decade, the range limits) and 448 rows from a
    seed inside the supported range (never refused)."""
    _check_rows(rows, must_accept=False)
    _check_rows(_block(seed, 448), must_accept=True)


@given(rows=st.lists(ROW, min_size=1, max_size=32), price_scale=st.floats(min_value=-1.0, max_value=2.0))
def test_implied_vol_returns_a_vol_or_a_status(rows: list[tuple[float, ...]], price_scale: float) -> None:
    """Any price: a finite vol >= 0 with status ok / at intrinsic, or NaN with a status saying why."""
    flag, f, k, t, r, _ = (np.array(c, dtype=np.float64) for c in zip(*rows))
    with np.errstate(over="ignore", invalid="ignore"):
        price = price_scale * np.where(np.isfinite(f) & np.isfinite(k), np.minimum(np.abs(f), np.abs(k)), 1.0)
    try:
        sigma, status = ro.implied_vol(price, np.where(flag > 0, "c", "p"), f, k, t, r, return_status=True)
    except CLEAR:
        return
    _count("implied vol rows", len(rows))
    sigma, status = np.asarray(sigma), np.asarray(status)
    ok = np.isfinite(sigma)
    assert (sigma[ok] >= 0).all()
    assert (status[~ok] != 0).all(), "a NaN vol needs a status that is not ok"


# ---------------------------------------------------------------------------------------------- names
NAME_CHARS = st.sampled_from(list("BTCETHUSDCSOL_-0123456789dPCDEJANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDECabc \n\t\x00é"))


@given(name=st.one_of(st.text(NAME_CHARS, max_size=40), st.text(max_size=30)))
def test_instrument_parse_accepts_or_names_the_name(name: str) -> None:
    _count("instrument names")
    try:
        inst = Instrument.parse(name)
    except ValueError as exc:
        assert repr(name)[1:-1][:20] in str(exc) or name[:20] in str(exc)
        return
    assert inst.name == name and name.isprintable() and not any(c.isspace() for c in name)
    assert Instrument.parse(inst.name) == inst
    if inst.strike is not None:
        assert math.isfinite(inst.strike) and inst.strike > 0


# ---------------------------------------------------------------------------------------------- files
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=20,
)
RECORD = st.fixed_dictionaries(
    {"instrument": st.one_of(st.sampled_from(["BTC-PERPETUAL", "ETH-27DEC24-3000-C", "BTC-27DEC24"]), st.text(max_size=10))},
    optional={
        "quantity": st.one_of(st.floats(), st.integers(), st.text(max_size=6)),
        "account": st.one_of(st.text(max_size=6), st.integers()),
        "contracts": st.one_of(st.floats(), st.integers(min_value=-(10**30), max_value=10**30)),
        "average_price": st.one_of(st.floats(), st.integers(), st.text(max_size=6), st.none()),
    },
)


def _parsed_or_clear(parse: Any, doc: Any) -> Any:
    """parse(doc) after a JSON round trip, or None when it raised a clear error; a str is a path, so a
    missing or unreadable file must be named in the OSError."""
    try:
        return parse(json.loads(json.dumps(doc)))
    except CLEAR:
        return None
    except OSError as exc:
        assert isinstance(doc, str) and (doc in str(exc) or repr(doc)[1:-1] in str(exc) or doc == "")
        return None


@given(doc=st.one_of(JSON, st.lists(RECORD, max_size=6), st.fixed_dictionaries({"positions": st.lists(RECORD, max_size=6)})))
def test_json_books_give_a_book_or_a_clear_error(doc: Any) -> None:
    _count("json books")
    book = _parsed_or_clear(ro.Book.from_json, doc)
    if book is None:
        return
    assert np.isfinite(book.quantity).all() and (book.quantity != 0).all()
    if book.average_price is not None:  # a known average is a positive price; unknown ones are NaN
        known = book.average_price[~np.isnan(book.average_price)]
        assert np.isfinite(known).all() and (known > 0).all()


@given(doc=st.one_of(JSON, st.fixed_dictionaries({"valuation_time": st.one_of(st.text(max_size=25), st.floats(), st.integers()),
                                                   "index": JSON, "marks": JSON, "mark_iv": JSON})))  # fmt: skip
def test_json_markets_give_a_market_or_a_clear_error(doc: Any) -> None:
    _count("json markets")
    market = _parsed_or_clear(ro.Market.from_json, doc)
    if market is None:
        return
    assert all(math.isfinite(v) and v > 0 for v in market.index.values())


CSV_LINES = st.lists(
    st.lists(st.one_of(st.sampled_from(["BTC-PERPETUAL", "1", "-5", "1e400", "nan", "acct", "", '"q"', "x,y"]),
                       st.text(max_size=8)), min_size=1, max_size=4),
    max_size=6,
)  # fmt: skip


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.sampled_from(["account,instrument,quantity", "instrument,size", "instrument,contracts", "a,b"]),
       lines=CSV_LINES)  # fmt: skip
def test_csv_books_give_a_book_or_a_clear_error(tmp_path: Path, header: str, lines: list[list[str]]) -> None:
    _count("csv books")
    path = tmp_path / "positions.csv"
    path.write_text(header + "\n" + "\n".join(",".join(cells) for cells in lines) + "\n")
    try:
        book = ro.Book.load(path)
    except CLEAR:
        return
    assert np.isfinite(book.quantity).all()


@given(cut=st.integers(min_value=0, max_value=len(SPAN)), junk=st.binary(max_size=12),
       at=st.integers(min_value=0, max_value=len(SPAN)))  # fmt: skip
def test_span_files_give_a_file_or_a_span_error(cut: int, junk: bytes, at: int) -> None:
    """Truncated and corrupted .spn files: a SpanFileError naming what is wrong, nothing else."""
    _count("span files", 2)
    for data in (SPAN[:cut], SPAN[:at] + junk + SPAN[at + len(junk) :]):
        try:
            span = parse_span(io.BytesIO(data))
        except SpanFileError:
            continue
        for arrays in span.contracts.arrays.values():
            assert np.isfinite(arrays[~np.isnan(arrays).all(axis=1)]).all()


@given(depth=st.integers(min_value=1, max_value=200_000))
@settings(max_examples=5)
def test_span_deep_nesting_and_entities_are_refused_quickly(depth: int) -> None:
    _count("span files")
    deep = b"<spanFile>" + b"<a>" * depth + b"</a>" * depth + b"</spanFile>"
    with pytest.raises(SpanFileError):
        parse_span(io.BytesIO(deep))
    entity = b'<?xml version="1.0"?><!DOCTYPE spanFile [<!ENTITY a "x">]><spanFile>&a;</spanFile>'
    with pytest.raises(SpanFileError, match="DOCTYPE or entity declaration is not allowed"):
        parse_span(io.BytesIO(entity))


# ---------------------------------------------------------------------------------------------- margin
MARKET = ro.Market.sample()
NAMES = MARKET.instruments.names.tolist()


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    positions=st.lists(
        st.tuples(st.integers(min_value=0, max_value=4), st.sampled_from(NAMES),
                  st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)),
        min_size=1, max_size=25,
    ),
    method=st.sampled_from(["deribit-standard", "deribit-pm", "grid"]),
)  # fmt: skip
def test_margin_of_random_books_is_finite_and_not_negative(positions: list[tuple[int, str, float]], method: str) -> None:
    _count("margin books")
    account, names, quantity = zip(*positions)
    assume(any(abs(q) >= 1e-8 for q in quantity))
    try:
        book = ro.Book.from_arrays(list(account), list(names), list(quantity), instruments=MARKET.instruments)
    except CLEAR:
        return
    assume(len(book) > 0)
    try:
        result = ro.margin(book, MARKET, method)
    except CLEAR as exc:  # e.g. an expired instrument the method cannot margin: named
        assert any(n in str(exc) for n in names) or "account" in str(exc) or "market" in str(exc), exc
        return
    rows = ro.margining.GroupMargins.of(result)
    assert np.isfinite(rows.initial).all() and np.isfinite(rows.maintenance).all()
    assert (rows.maintenance >= 0).all() and (rows.initial >= rows.maintenance - 1e-9 * rows.maintenance).all()


@given(name=st.text(max_size=20))
def test_unknown_instruments_are_refused_by_name(name: str) -> None:
    _count("margin books")
    assume(name not in NAMES)
    try:
        book = ro.Book.from_arrays([1], [name], [1.0])
    except CLEAR as exc:
        assert "instrument name" in str(exc) or "malformed" in str(exc)
        return
    try:
        ro.margin(book, MARKET, "deribit-pm")
    except CLEAR as exc:
        assert name in str(exc)


def test_the_file_properties_see_valid_input_too() -> None:
    """The properties above are not vacuous: well-formed documents do load."""
    assert len(ro.Book.from_json([{"instrument": "BTC-PERPETUAL", "quantity": 10, "account": "a"}])) == 1
    market = ro.Market.from_json({"valuation_time": "2026-11-25T08:00:00Z", "index": {"BTC": 95000.0}})
    assert market.index == {"BTC": 95000.0}
    assert len(parse_span(io.BytesIO(SPAN)).contracts) == 6


def test_report_counts() -> None:
    """Prints the inputs each property tried in this run (the long campaign's count comes from here)."""
    print("fuzz inputs:", COUNTS, "total", sum(COUNTS.values()))
