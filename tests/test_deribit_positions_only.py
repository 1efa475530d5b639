"""Deribit inputs as they come: a `private/get_positions` response alone (marks, no mark IV), tickers at expiry,
and settled positions.  Expected margins are worked from Deribit's published standard-margin rule for short
inverse options: IM per coin = max(0.15 - OTM / F, 0.1) + mark (docs/margin.md)."""

from __future__ import annotations

import math

import pytest
import riskoffset as ro
from riskoffset.market import MarketDataError

# Shaped like Deribit's private/get_positions result objects (the fields riskoffset reads, values made up).
POSITIONS = [
    {
        "instrument_name": "BTC-25DEC26-110000-C",
        "kind": "option",
        "direction": "sell",
        "size": -3.0,
        "mark_price": 0.02,
        "index_price": 100000.0,
        "average_price": 0.025,
    },
    {
        "instrument_name": "BTC-25DEC26",
        "kind": "future",
        "direction": "buy",
        "size": 0.0,
        "mark_price": 100500.0,
        "index_price": 100000.0,
        "average_price": 99000.0,
    },
]


def test_standard_margin_from_a_positions_response_alone() -> None:
    market = ro.Market.from_deribit(POSITIONS, valuation_time="2026-11-25T08:00:00Z")
    book = ro.Book.from_deribit(POSITIONS)
    r = ro.margin(book, market, "deribit-standard")
    otm = (110_000 - 100_500) / 100_500
    assert r.initial == pytest.approx(3 * (max(0.15 - otm, 0.1) + 0.02), rel=1e-12)
    # The vol implied by the mark reprices the mark (Deribit's mark IV is the IV of its mark price).
    table = book.instruments
    sigma = float(market.resolve(table).sigma[table.row("BTC-25DEC26-110000-C")])
    t = market.resolve(table).t[table.row("BTC-25DEC26-110000-C")]
    assert ro.price("c", 100_500.0, 110_000.0, t, 0.0, sigma, settlement="inverse") == pytest.approx(0.02, rel=1e-12)


def test_an_option_with_neither_mark_nor_iv_is_refused_by_name() -> None:
    market = ro.Market("2026-11-25T08:00:00Z", index={"BTC": 1e5}, marks={"BTC-25DEC26": 100500.0})
    book = ro.Book.from_positions([{"instrument": "BTC-25DEC26-110000-C", "quantity": -1}])
    with pytest.raises(MarketDataError, match="BTC-25DEC26-110000-C: no mark_iv and no mark price"):
        ro.margin(book, market, "deribit-standard")


def test_a_mark_below_intrinsic_is_refused_not_priced() -> None:
    market = ro.Market(
        "2026-11-25T08:00:00Z",
        index={"BTC": 1e5},
        marks={"BTC-25DEC26": 100500.0, "BTC-25DEC26-90000-C": 0.01},  # intrinsic is 0.1045 coin
    )
    book = ro.Book.from_positions([{"instrument": "BTC-25DEC26-90000-C", "quantity": -1}])
    with pytest.raises(MarketDataError, match="BTC-25DEC26-90000-C.*no implied vol"):
        book.greeks(market)


def test_ticker_at_expiry_loads_and_the_settled_position_has_no_risk() -> None:
    tickers = [
        {
            "instrument_name": "BTC-27NOV26-110000-P",
            "mark_price": 0.1,
            "mark_iv": 50.0,
            "underlying_price": 100000.0,
            "index_price": 100000.0,
            "estimated_delivery_price": "expired",
            "timestamp": 1795766400000,  # 2026-11-27 08:00 UTC, the expiry
        },
        {
            "instrument_name": "BTC-27NOV26",
            "mark_price": 100000.0,
            "index_price": 100000.0,
            "estimated_delivery_price": "expired",
            "timestamp": 1795766400000,
        },
    ]
    market = ro.Market.from_deribit(tickers)
    book = ro.Book.from_positions([{"instrument": "BTC-27NOV26-110000-P", "quantity": -3}])
    g = book.greeks(market)
    assert g.expired == ["BTC-27NOV26-110000-P"]
    assert g.values["delta"][0] == 0.0 and g.values["gamma"][0] == 0.0
    assert g.values["value_usd"][0] == pytest.approx(-3 * 10_000.0)  # short 3 puts, 10,000 USD intrinsic each
    with pytest.raises(ValueError, match="estimated_delivery_price"):
        ro.Market.from_deribit([{**tickers[0], "estimated_delivery_price": "soon"}])
    assert math.isfinite(market.index["BTC"])


def test_rho_deribit_is_the_spot_held_black_scholes_rho_per_point() -> None:
    """K t exp(-r t) N(d2) / 100 for a call, -K t exp(-r t) N(-d2) / 100 for a put, with d2 on the underlying
    held; worked with math.erf, not our kernel.  Differs from the Black-76 rho (-t V per 1.00)."""
    f, k, t, sigma, r = 100_000.0, 110_000.0, 0.25, 0.55, 0.0
    d2 = (math.log(f / k) + (r - 0.5 * sigma * sigma) * t) / (sigma * math.sqrt(t))
    n = lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))
    assert ro.pricing.rho_deribit("c", f, k, t, sigma) == pytest.approx(k * t * n(d2) / 100.0, rel=1e-12)
    assert ro.pricing.rho_deribit("p", f, k, t, sigma) == pytest.approx(-k * t * n(-d2) / 100.0, rel=1e-12)
    b76 = ro.greeks("c", f, k, t, r, sigma)["rho"]
    assert b76 == pytest.approx(-t * ro.price("c", f, k, t, r, sigma), rel=1e-12)
    assert abs(ro.pricing.rho_deribit("c", f, k, t, sigma) - b76 / 100.0) > 10.0
