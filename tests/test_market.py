"""Market snapshots: forwards per expiry, time to expiry, data errors, Deribit objects, and the bar: a Deribit
option row (forward, strike, expiry, mark IV) reproduces Deribit's displayed Greeks to their printed digits."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.book import instrument_greeks
from riskoffset.instruments import Instrument, InstrumentTable
from riskoffset.market import (
    SOURCE_EXPIRY_FORWARD,
    SOURCE_FUTURE,
    SOURCE_INTERPOLATED,
    SOURCE_OPTION_FORWARD,
    SOURCE_OWN_MARK,
    Market,
    MarketDataError,
    curve_point,
)

VALUATION = "2026-11-25T08:00:00Z"
YEAR_MS = 365 * 86400 * 1000


# ------------------------------------------------------------------------------------------- Deribit rows
# A Tardis.dev options_chain CSV sample row (Deribit
# BTC-9JUN20-9875-P), from Tardis's documentation (https://docs.tardis.dev, "options_chain"), as quoted in a
# public test fixture.  Columns used: timestamp and expiration (microseconds), underlying_price (the
# expiry's forward, here a synthetic SYN.BTC-9JUN20), mark_iv (percent), mark_price (coin), and Deribit's
# displayed Greeks: delta (plain Black-76, coin), gamma (per USD), vega (USD per vol point), theta (USD per day).
# Two more rows of the same feed (BTC-3JUL20, 2020-07-01) as printed in a public notebook that loads Tardis's
# Deribit options_chain sample (webclinic017/cdcqr-1, README).  A third row printed there,
# BTC-3JUL20-8250-P, is not reproduced (its theta -11.364 against -11.99 here, delta off in the 5th digit):
# we do not know which inputs Deribit used for it, so it is left out rather than fitted.
DERIBIT_ROWS = [
    # name, timestamp us, expiration us, underlying_price, mark_iv %, mark_price coin, delta, gamma, vega, theta
    ("BTC-9JUN20-9875-P", 1591574399413000, 1591689600000000, 9756.36, 62.89, 0.02210436,
     "-0.61752", "0.00103", "2.24964", "-53.05655"),
    ("BTC-3JUL20-9500-C", 1593561597178000, 1593763200000000, 9136.98, 49.5, 0.003461,
     "0.16736", "0.00069", "1.83013", "-19.41256"),
    ("BTC-3JUL20-9250-P", 1593561598001000, 1593763200000000, 9137.12, 47.63, 0.022261,
     "-0.61919", "0.00109", "2.78342", "-28.40972"),
]  # fmt: skip


def _decimals(text: str) -> int:
    return len(text.split(".")[1])


def _ticker(row: tuple) -> dict:  # type: ignore[type-arg]
    name, ts, _, forward, iv, mark, *_ = row
    return {
        "instrument_name": name,
        "timestamp": ts // 1000,
        "underlying_price": forward,
        "underlying_index": "SYN." + name.rsplit("-", 2)[0],
        "mark_iv": iv,
        "mark_price": mark,
    }


@pytest.mark.parametrize("row", DERIBIT_ROWS, ids=[r[0] for r in DERIBIT_ROWS])
def test_deribit_row_reproduces_the_displayed_greeks(row: tuple) -> None:  # type: ignore[type-arg]
    name, ts_us, exp_us, forward, iv_pct, _mark, *printed = row
    market = Market.from_deribit({"jsonrpc": "2.0", "result": _ticker(row)})
    table = InstrumentTable.from_names([name])
    assert table.expiration_ms[0] * 1000 == exp_us  # the name's 08:00 UTC expiry is the row's expiration
    resolved = market.resolve(table)
    assert resolved.t[0] == pytest.approx((exp_us - ts_us) / 1e6 / (365 * 86400), rel=1e-15)  # ACT/365
    assert resolved.forward[0] == forward and resolved.sigma[0] == iv_pct / 100

    per_unit = instrument_greeks(table, market)
    shown = {
        "delta": per_unit["delta"][0],
        "gamma": per_unit["gamma"][0],
        "vega": per_unit["vega"][0] / 100,  # USD per vol point
        "theta": per_unit["theta"][0] / 365,  # USD per day
    }
    # The mark IV is printed to 0.01 vol points, so the Greeks carry that rounding: each must be within half
    # a printed unit plus |dGreek/dsigma| x 0.005 vol points of the printed value ...
    h = 1e-6
    up = ro.greeks(name[-1].lower(), forward, float(name.split("-")[2]), resolved.t[0], 0.0, iv_pct / 100 + h)
    down = ro.greeks(
        name[-1].lower(), forward, float(name.split("-")[2]), resolved.t[0], 0.0, iv_pct / 100 - h
    )
    scale = {"delta": 1.0, "gamma": 1.0, "vega": 0.01, "theta": 1 / 365}
    for (greek, value), text in zip(shown.items(), printed):
        slope = abs(up[greek] - down[greek]) / (2 * h) * scale[greek]
        allowed = 0.5 * 10.0 ** -_decimals(text) + slope * 0.5e-4
        assert abs(value - float(text)) <= allowed, (name, greek, value, text, allowed)
    # ... and, for the documented row, one vol inside the printed IV's rounding interval reproduces all four
    # to every printed digit.  (The notebook rows miss that by one unit in the 5th decimal of vega or theta:
    # a forward or time that differs from the printed one in digits the row does not show.)
    if name != "BTC-9JUN20-9875-P":
        return
    sigmas = iv_pct / 100 + np.linspace(-0.5e-4, 0.5e-4, 2001)
    k = float(name.split("-")[2])
    g = ro.greeks(name[-1].lower(), forward, k, resolved.t[0], 0.0, sigmas)
    fits = np.ones(len(sigmas), dtype=bool)
    for greek, text in zip(("delta", "gamma", "vega", "theta"), printed):
        value = np.asarray(g[greek]) * scale[greek]
        fits &= np.round(value, _decimals(text)) == float(text)
    assert fits.any(), f"{name}: no vol within {iv_pct} +/- 0.005 % reproduces {printed}"


@pytest.mark.parametrize("row", DERIBIT_ROWS, ids=[r[0] for r in DERIBIT_ROWS])
def test_deribit_row_coin_mark(row: tuple) -> None:  # type: ignore[type-arg]
    name, _, _, forward, iv_pct, mark, *_ = row
    market = Market.from_deribit(_ticker(row))
    table = InstrumentTable.from_names([name])
    per_unit = instrument_greeks(table, market)
    t = market.resolve(table).t[0]
    k = float(name.split("-")[2])
    # Coin mark = USD Black-76 price / forward (see docs/units.md).
    usd = ro.price(name[-1].lower(), forward, k, t, 0.0, iv_pct / 100)
    assert per_unit["value_usd"][0] == pytest.approx(usd, rel=1e-14)
    assert per_unit["value_coin"][0] == pytest.approx(usd / forward, rel=1e-14)
    # The feed's mark_price agrees to 5e-4 relative only: its implied vol at the printed forward (62.908 % for
    # the first row) lies outside the printed IV's rounding interval, so mark_price and mark_iv /
    # underlying_price were not sampled at the same instant.
    assert per_unit["value_coin"][0] == pytest.approx(mark, rel=5e-4)
    # Premium-adjusted delta of one coin = Black-76 delta - coin mark.
    assert per_unit["delta_pa"][0] == pytest.approx(
        per_unit["delta"][0] - per_unit["value_coin"][0], rel=1e-14
    )


# ------------------------------------------------------------------------------------------- forwards
def btc_market(**kwargs: object) -> Market:
    base: dict[str, object] = {
        "index": {"BTC": 95000.0},
        "marks": {"BTC-PERPETUAL": 95010.0, "BTC-25DEC26": 95500.0, "BTC-26MAR27": 97000.0},
        "mark_iv": {
            "BTC-25DEC26-100000-C": 0.55,
            "BTC-18DEC26-90000-P": 0.60,
            "BTC-25JUN27-100000-C": 0.50,
            "BTC-1DEC26-95000-C": 0.45,
            "BTC-26MAR27-80000-P": 0.52,
        },
        "forwards": {"BTC-1DEC26-95000-C": 95100.0},
    }
    base.update(kwargs)
    return Market(VALUATION, **base)  # type: ignore[arg-type]


def test_forward_sources_and_interpolation() -> None:
    market = btc_market(forwards={"BTC-1DEC26-95000-C": 95100.0, "BTC-18DEC26": 95300.0})
    table = InstrumentTable.from_names(
        [
            "BTC-1DEC26-95000-C",
            "BTC-18DEC26-90000-P",
            "BTC-25DEC26-100000-C",
            "BTC-26MAR27-80000-P",
            "BTC-25JUN27-100000-C",
            "BTC-PERPETUAL",
        ]
    )
    r = market.resolve(table)
    assert r.forward_source.tolist() == [
        SOURCE_OPTION_FORWARD,
        SOURCE_EXPIRY_FORWARD,
        SOURCE_FUTURE,
        SOURCE_FUTURE,
        SOURCE_INTERPOLATED,
        SOURCE_OWN_MARK,
    ]
    assert r.forward[:4].tolist() == [95100.0, 95300.0, 95500.0, 97000.0]
    # Beyond the last future the last annualised basis continues: ln(F/S)/t constant.
    t_mar = market.years_to(int(datetime(2027, 3, 26, 8, tzinfo=timezone.utc).timestamp() * 1000))
    basis = math.log(97000.0 / 95000.0) / float(t_mar)
    assert r.forward[4] == pytest.approx(95000.0 * math.exp(basis * r.t[4]), rel=1e-14)
    assert r.forward[5] == 95010.0 and r.t[5] == 0.0


def test_interpolation_between_futures_is_linear_in_log_forward() -> None:
    market = btc_market(forwards={})
    table = InstrumentTable.from_names(["BTC-18DEC26-90000-P", "BTC-1DEC26-95000-C"])
    r = market.resolve(table)
    t_dec = float(market.years_to(int(datetime(2026, 12, 25, 8, tzinfo=timezone.utc).timestamp() * 1000)))
    y = np.interp(r.t, [0.0, t_dec], [0.0, math.log(95500.0 / 95000.0)])
    assert r.forward == pytest.approx(95000.0 * np.exp(y), rel=1e-14)
    assert (r.forward_source == SOURCE_INTERPOLATED).all()


def test_only_dated_inverse_futures_are_points_of_the_forward_curve() -> None:
    """A perpetual's or a linear future's mark prices that instrument alone: updating it leaves every option's
    forward and the curve's stamp as they were; a dated inverse future's mark moves both."""
    assert curve_point("BTC-25DEC26") == ("BTC", Instrument.parse("BTC-25DEC26").expiration_ms)
    for name in ["BTC-PERPETUAL", "BTC_USDC-PERPETUAL", "BTC-25DEC26-100000-C", "BTC", "not-a-name", "BTC-XYZ"]:
        assert curve_point(name) is None, name
    market = btc_market(forwards={})
    table = InstrumentTable.from_names(["BTC-18DEC26-90000-P", "BTC-25JUN27-100000-C", "BTC-PERPETUAL"])
    before, stamp = market.resolve(table).forward.copy(), market.forward_stamp("BTC")
    market.update(marks={"BTC-PERPETUAL": 90000.0})
    after = market.resolve(table).forward
    assert after[:2].tolist() == before[:2].tolist() and after[2] == 90000.0
    assert market.forward_stamp("BTC") == stamp
    market.update(marks={"BTC-25DEC26": 96000.0})
    moved = market.resolve(table).forward
    assert moved[0] > after[0]  # interpolated between the index and that future
    assert market.forward_stamp("BTC") != stamp


def test_no_future_and_no_forward_is_an_error_not_the_index() -> None:
    market = Market(VALUATION, index={"BTC": 95000.0}, mark_iv={"BTC-18DEC26-90000-P": 0.6})
    with pytest.raises(
        MarketDataError, match="BTC-18DEC26-90000-P.*no forward.*never used as a forward"
    ) as info:
        market.resolve(InstrumentTable.from_names(["BTC-18DEC26-90000-P"]))
    assert info.value.instrument == "BTC-18DEC26-90000-P"


def test_an_expiry_without_a_forward_is_named_by_its_first_option_lacking_one() -> None:
    """Options of one expiry where some quote their own forward: the error names the first that does not."""
    names = ["BTC-18DEC26-80000-P", "BTC-18DEC26-90000-P", "BTC-18DEC26-100000-C", "BTC-25DEC26-100000-C"]
    market = Market(
        VALUATION, index={"BTC": 95000.0}, mark_iv={n: 0.6 for n in names},
        forwards={"BTC-18DEC26-80000-P": 95200.0, "BTC-25DEC26-100000-C": 95400.0},
    )  # fmt: skip
    with pytest.raises(MarketDataError, match="BTC-18DEC26-90000-P: no forward") as info:
        market.resolve(InstrumentTable.from_names(names))
    assert info.value.instrument == "BTC-18DEC26-90000-P"
    # each option on its own forward: no expiry forward needed
    market.update(forwards={"BTC-18DEC26-90000-P": 95210.0, "BTC-18DEC26-100000-C": 95220.0})
    resolved = market.resolve(InstrumentTable.from_names(names))
    assert resolved.forward.tolist() == [95200.0, 95210.0, 95220.0, 95400.0]


def test_interpolated_forwards_follow_the_index_and_the_curve() -> None:
    """Forwards interpolated on the futures curve, after index and curve moves, equal those of a market built
    with the same quotes (nothing kept from before the moves)."""
    table = InstrumentTable.from_names(["BTC-1DEC26-95000-C", "BTC-18DEC26-90000-P", "BTC-25JUN27-100000-C"])
    market = btc_market(forwards={})
    market.resolve(table)
    for index, marks in [({"BTC": 91000.0}, {}), ({}, {"BTC-26MAR27": 99000.0}), ({"BTC": 97000.0}, {})]:
        market.update(index=index or None, marks=marks or None)
        fresh = btc_market(forwards={}, index=dict(market.index), marks=dict(market.marks))
        assert market.resolve(table).forward.tolist() == fresh.resolve(table).forward.tolist()


def test_expiry_forward_is_what_resolve_gives_an_option_without_its_own() -> None:
    """One expiry's forward, asked alone, equals the forward `resolve` gives its options (futures' marks and
    curve interpolation alike), bit for bit."""
    market = btc_market(forwards={})
    names = ["BTC-1DEC26-95000-C", "BTC-18DEC26-90000-P", "BTC-25DEC26-100000-C", "BTC-26MAR27-80000-P",
             "BTC-25JUN27-100000-C"]  # fmt: skip
    table = InstrumentTable.from_names(names)
    resolved = market.resolve(table)
    assert len(set(resolved.forward_source.tolist())) >= 2  # a future's mark and the curve
    for i in range(len(names)):
        forward, source = market.expiry_forward("BTC", int(table.expiration_ms[i]))
        assert (forward, source) == (resolved.forward[i], resolved.forward_source[i]), names[i]


def test_interpolation_needs_the_index() -> None:
    market = btc_market(index={"ETH": 3000.0})
    with pytest.raises(MarketDataError, match="BTC-18DEC26-90000-P.*BTC index"):
        market.resolve(InstrumentTable.from_names(["BTC-18DEC26-90000-P"]))


def test_missing_data_names_the_instrument() -> None:
    market = btc_market()
    with pytest.raises(MarketDataError, match="BTC-25DEC26-120000-C: no mark_iv"):
        market.resolve(InstrumentTable.from_names(["BTC-25DEC26-120000-C"]))
    with pytest.raises(MarketDataError, match="ETH-PERPETUAL: no mark price"):
        market.resolve(InstrumentTable.from_names(["ETH-PERPETUAL"]))
    with pytest.raises(MarketDataError, match="BTC_USDC: no BTC index"):
        Market(VALUATION, index={}).resolve(InstrumentTable.from_names(["BTC_USDC"]))


def test_inconsistent_forwards_are_an_error() -> None:
    market = btc_market(forwards={"BTC-25DEC26-100000-C": 99000.0})  # future BTC-25DEC26 marks 95,500
    with pytest.raises(MarketDataError, match="BTC-25DEC26-100000-C: inconsistent forwards"):
        market.resolve(InstrumentTable.from_names(["BTC-25DEC26-100000-C"]))
    tolerant = btc_market(forwards={"BTC-25DEC26-100000-C": 99000.0}, max_forward_gap=0.05)
    assert tolerant.resolve(InstrumentTable.from_names(["BTC-25DEC26-100000-C"])).forward[0] == 99000.0


def test_an_own_forward_is_checked_against_the_curve_where_its_expiry_has_no_quote() -> None:
    """BTC-1DEC26 lists no future: an option's own forward there is checked against the curve's forward for
    the expiry (index to the futures), and refused far from it (with no futures at all, see the next test)."""
    table = InstrumentTable.from_names(["BTC-1DEC26-95000-C"])
    curve = btc_market(forwards={}).resolve(table).forward[0]
    assert btc_market(forwards={"BTC-1DEC26-95000-C": curve * 1.009}).resolve(table).forward[0] == curve * 1.009
    with pytest.raises(MarketDataError, match="BTC-1DEC26-95000-C: inconsistent forwards.*curve's forward"):
        btc_market(forwards={"BTC-1DEC26-95000-C": 1.0}).resolve(table)
    with pytest.raises(MarketDataError, match="inconsistent forwards"):
        btc_market(forwards={"BTC-1DEC26-95000-C": curve * 1.02}).resolve(table)
    # A ticker's check follows the curve as its points move (the curve's forward is kept per stamp).
    market = btc_market(forwards={})
    expiry = int(table.expiration_ms[0])
    market.check_ticker_forward("BTC-1DEC26-95000-C", "BTC", expiry, curve * 1.009)
    market.update(index={"BTC": 95000.0 * 1.03})
    with pytest.raises(MarketDataError, match="BTC-1DEC26-95000-C: inconsistent forwards"):
        market.check_ticker_forward("BTC-1DEC26-95000-C", "BTC", expiry, curve * 1.009)
    market.check_ticker_forward("BTC-1DEC26-95000-C", "BTC", expiry, market.resolve(table).forward[0])


@pytest.mark.parametrize(
    "name, factor",
    [("BTC-1DEC26-95000-C", 2.0), ("BTC-25JUN27-100000-C", 2.0), ("BTC-24NOV28-100000-C", 4.0)],
)
def test_an_own_forward_without_a_futures_curve_is_checked_against_the_index(name: str, factor: float) -> None:
    """With no future and no expiry forward for the base, nothing of the option's expiry can check its own
    forward: it must lie within a factor of 2 of the index (2 ** t beyond a year: BTC-24NOV28 is 730 days
    out at 08:00 of its day), in resolve and in a ticker's check alike; a forward of 1.0 for BTC is refused."""
    table = InstrumentTable.from_names([name])
    expiry = int(table.expiration_ms[0])
    years = (expiry - int(datetime(2026, 11, 25, 8, tzinfo=timezone.utc).timestamp() * 1000)) / YEAR_MS
    assert factor == pytest.approx(2.0 ** max(1.0, years), rel=1e-12)  # (the expiries as the ids say)
    index = 95000.0

    def options_only(forward: float) -> Market:
        return btc_market(forwards={name: forward}, marks={"BTC-PERPETUAL": 95010.0}, mark_iv={name: 0.5})

    for inside in (index * factor * 0.999, index / factor * 1.001, index):
        assert options_only(inside).resolve(table).forward[0] == inside
        btc_market(marks={}).check_ticker_forward(name, "BTC", expiry, inside)
    for outside in (index * factor * 1.001, index / factor * 0.999, 1.0):
        with pytest.raises(MarketDataError, match=f"{name}: its underlying_price .* times the BTC index") as info:
            options_only(outside).resolve(table)
        assert info.value.instrument == name
        with pytest.raises(MarketDataError, match=f"{name}: its underlying_price"):
            btc_market(marks={}).check_ticker_forward(name, "BTC", expiry, outside)
    # Without an index there is nothing to check it against.
    no_index = btc_market(index={"ETH": 3000.0}, forwards={name: 1.0}, marks={}, mark_iv={name: 0.5})
    assert no_index.resolve(table).forward[0] == 1.0


def test_bad_values_are_rejected_at_construction() -> None:
    with pytest.raises(MarketDataError, match="BTC-25DEC26-100000-C.*percentage"):
        Market(VALUATION, index={"BTC": 1.0}, mark_iv={"BTC-25DEC26-100000-C": 55.0})
    with pytest.raises(MarketDataError, match="mark_iv of BTC-25DEC26-100000-C"):
        Market(VALUATION, index={"BTC": 1.0}, mark_iv={"BTC-25DEC26-100000-C": -0.1})
    with pytest.raises(MarketDataError, match="index of BTC"):
        Market(VALUATION, index={"BTC": 0.0})
    with pytest.raises(MarketDataError, match="BTC-PERPETUAL"):
        Market(VALUATION, index={"BTC": 1.0}, marks={"BTC-PERPETUAL": math.nan})
    with pytest.raises(ValueError, match="no timezone"):
        Market(datetime(2026, 11, 25, 8), index={"BTC": 1.0})


def test_stale_quotes_are_an_error_naming_the_instrument() -> None:
    now = int(datetime(2026, 11, 25, 8, tzinfo=timezone.utc).timestamp() * 1000)
    market = btc_market(
        timestamps={"BTC-25DEC26-100000-C": now - 600_000, "BTC-25DEC26": now - 1000}, max_age=60
    )
    with pytest.raises(MarketDataError, match="BTC-25DEC26-100000-C.*stale: 600 s old"):
        market.resolve(InstrumentTable.from_names(["BTC-25DEC26-100000-C"]))
    fresh = btc_market(timestamps={"BTC-25DEC26-100000-C": now - 1000}, max_age=60)
    fresh.resolve(InstrumentTable.from_names(["BTC-25DEC26-100000-C"]))
    future = btc_market(timestamps={"BTC-25DEC26": now + 3_600_000}, max_age=60)
    with pytest.raises(MarketDataError, match="after the valuation time"):
        future.resolve(InstrumentTable.from_names(["BTC-25DEC26-100000-C"]))


def test_expired_option_is_priced_at_intrinsic_and_flagged() -> None:
    market = Market(
        "2026-12-26T08:00:00Z",
        index={"BTC": 101000.0},
        marks={"BTC-25DEC26": 100000.0},
        mark_iv={"BTC-25DEC26-95000-C": 0.5},
    )
    table = InstrumentTable.from_names(["BTC-25DEC26-95000-C"])
    r = market.resolve(table)
    assert r.expired.tolist() == [True] and r.t[0] == 0.0
    g = instrument_greeks(table, market)
    assert g["value_usd"][0] == 5000.0 and g["delta"][0] == 0.0 and g["gamma"][0] == 0.0  # settled: no risk, as Deribit shows it
    book = ro.Book.from_positions([{"instrument": "BTC-25DEC26-95000-C", "quantity": 1}])
    assert book.greeks(market).expired == ["BTC-25DEC26-95000-C"]


# ------------------------------------------------------------------------------------------- constructors
def test_from_deribit_tickers_and_book_summaries() -> None:
    tickers = [
        {
            "instrument_name": "BTC-PERPETUAL",
            "mark_price": 95010.0,
            "index_price": 95000.0,
            "timestamp": 1795593600000,
        },
        {
            "instrument_name": "BTC-25DEC26",
            "mark_price": 95500.0,
            "index_price": 95000.0,
            "timestamp": 1795593599000,
        },
    ]
    summaries = [  # get_book_summary_by_currency: creation_timestamp, mark_iv in percent
        {
            "instrument_name": "BTC-25DEC26-100000-C",
            "mark_price": 0.0850,
            "mark_iv": 55.0,
            "underlying_price": 95500.0,
            "underlying_index": "BTC-25DEC26",
            "creation_timestamp": 1795593598000,
        }
    ]
    market = Market.from_deribit(tickers + summaries)
    assert market.valuation_time == datetime(2026, 11, 25, 8, tzinfo=timezone.utc)  # the latest quote
    assert market.index == {"BTC": 95000.0}
    assert market.mark_iv == {"BTC-25DEC26-100000-C": 0.55}
    assert market.forwards == {"BTC-25DEC26-100000-C": 95500.0}
    assert market.marks["BTC-25DEC26-100000-C"] == 0.0850


def test_json_round_trip_and_csv(tmp_path: Path) -> None:
    market = btc_market(rate=0.01)
    path = tmp_path / "market.json"
    path.write_text(json.dumps(market.to_dict()))
    again = Market.load(path)
    table = InstrumentTable.from_names(["BTC-25DEC26-100000-C", "BTC-18DEC26-90000-P", "BTC-PERPETUAL"])
    assert np.array_equal(again.resolve(table).forward, market.resolve(table).forward)
    assert again.rate == 0.01

    csv_path = tmp_path / "market.csv"
    csv_path.write_text(
        "# valuation_time=2026-11-25T08:00:00Z index.BTC=95000\n"
        "instrument_name,mark_price,mark_iv,underlying_price\n"
        "BTC-25DEC26,95500,,\n"
        "BTC-25DEC26-100000-C,,0.55,\n"
    )
    from_csv = Market.load(csv_path)
    assert from_csv.resolve(InstrumentTable.from_names(["BTC-25DEC26-100000-C"])).forward[0] == 95500.0
    bad = tmp_path / "bad.csv"
    bad.write_text("instrument_name,mark_iv\nBTC-25DEC26-100000-C,0.5\n")
    with pytest.raises(MarketDataError, match="valuation_time"):
        Market.load(bad)
    with pytest.raises(FileNotFoundError, match="nope.json"):
        Market.load(tmp_path / "nope.json")


def test_years_are_act365_by_the_second() -> None:
    market = Market(VALUATION, index={"BTC": 1.0})
    one_day = int(datetime(2026, 11, 26, 8, tzinfo=timezone.utc).timestamp() * 1000)
    assert float(market.years_to(one_day)) == 1 / 365
    assert float(market.years_to(one_day + 1000)) == (86400 + 1) / (365 * 86400)


def test_market_from_list_of_envelopes_and_malformed_file(tmp_path: Path) -> None:
    """Ticker responses saved as a list of JSON-RPC envelopes are read as one set of quotes; a file that
    is not JSON is an error naming it."""
    tickers = [
        {
            "jsonrpc": "2.0",
            "result": {
                "instrument_name": "BTC-PERPETUAL",
                "mark_price": 95_100.0,
                "index_price": 95_000.0,
                "timestamp": 1_795_600_800_000,
            },
        },
        {
            "jsonrpc": "2.0",
            "result": {
                "instrument_name": "ETH-PERPETUAL",
                "mark_price": 3_401.0,
                "index_price": 3_400.0,
                "timestamp": 1_795_600_800_000,
            },
        },
    ]
    path = tmp_path / "tickers.json"
    path.write_text(json.dumps(tickers))
    m = Market.from_json(path)
    assert m.index == {"BTC": 95_000.0, "ETH": 3_400.0}
    assert m.marks == {"BTC-PERPETUAL": 95_100.0, "ETH-PERPETUAL": 3_401.0}
    bad = tmp_path / "not_json.json"
    bad.write_text("{valuation_time: 2026}")
    with pytest.raises(ValueError, match=r"not_json\.json.*not valid JSON"):
        Market.load(bad)


_QUOTE_VALUES = [0.0, 0.65, 10.0, 10.000000001, -0.1, -0.0, math.nan, math.inf, 1, 0, True, "0.6", None, np.float64(0.5)]


@pytest.mark.parametrize("mark_iv", _QUOTE_VALUES[:-2] + [np.float64(0.5)])
@pytest.mark.parametrize("mark_price", [None, 0.01, 0.0, -1.0, math.inf, math.nan, 2, "x"])
@pytest.mark.parametrize("forward", [None, 61_000.0, 0.0, math.nan, 61_000])
def test_one_option_quote_is_checked_as_check_update_checks_it(
    mark_iv: object, mark_price: object, forward: object
) -> None:
    """`check_option_quote` (a vol tick's check in one call) gives what `check_update` gives, or None where it
    leaves the values to the full checks: never a quote `check_update` refuses, never other numbers."""
    name = "BTC-27MAR26-60000-C"
    fast = Market.check_option_quote(name, mark_iv, mark_price, forward)
    try:
        full = Market.check_update(
            mark_iv={name: mark_iv},
            marks=None if mark_price is None else {name: mark_price},
            forwards=None if forward is None else {name: forward},
        )
    except MarketDataError:
        assert fast is None
        return
    if fast is not None:
        assert fast == full
        for got, want in zip(fast, full):
            if isinstance(want, dict):
                assert [type(v) for v in got.values()] == [type(v) for v in want.values()]
    else:  # (left to the full checks: a value of another type than float, or a mark of 0, which no ticker has)
        assert mark_price == 0.0 or any(v is not None and type(v) is not float for v in (mark_iv, mark_price, forward))


def test_the_curve_interpolation_is_numpys_bit_for_bit() -> None:
    """The forward curve is interpolated in Python floats by np.interp's arithmetic: the same bits at random
    points of random curves, at their knots and next to them."""
    from riskoffset.market import _interp

    rng = np.random.default_rng(7)
    for _ in range(300):
        xp = np.concatenate(([0.0], np.sort(rng.uniform(0.001, 3.0, rng.integers(1, 12)))))
        fp = np.concatenate(([0.0], rng.normal(0.0, 0.05, len(xp) - 1)))
        x = np.concatenate((rng.uniform(xp[0], xp[-1], 20), xp[1:-1], np.nextafter(xp[1:-1], 0.0)))
        x = x[(x > xp[0]) & (x < xp[-1])]
        want = np.interp(x, xp, fp)
        got = np.array([_interp(v, xp.tolist(), fp.tolist()) for v in x.tolist()])
        assert np.array_equal(got, want)
