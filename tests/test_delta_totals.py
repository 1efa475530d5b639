"""Deribit's delta totals in the account view and the live engine: delta total = options' net transaction delta
(Black delta minus the coin mark of an inverse option) + futures' coin position; the projected total leaves out
the positions expiring at the closest expiration.  References: Black-76 delta and price in mpmath."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import riskoffset as ro

MARKET = ro.Market.sample()


def _black_call(name: str) -> tuple[float, float]:
    """(Black-76 call delta N(d1), coin price c / F) of an inverse call of the sample market, in mpmath."""
    mp.mp.dps = 40
    r = MARKET.resolve(ro.InstrumentTable([ro.Instrument.parse(name)]))
    f, k, t, s = (mp.mpf(float(x)) for x in (r.forward[0], ro.Instrument.parse(name).strike, r.t[0], r.sigma[0]))
    d1 = (mp.log(f / k) + s * s * t / 2) / (s * mp.sqrt(t))
    d2 = d1 - s * mp.sqrt(t)
    price = f * mp.ncdf(d1) - k * mp.ncdf(d2)
    return float(mp.ncdf(d1)), float(price / f)


def _book() -> ro.Book:
    return ro.Book.from_positions(
        [
            {"instrument": "BTC-25DEC26", "quantity": 10_000, "account": "a"},  # inverse: USD face
            {"instrument": "BTC-26NOV26-90000-C", "quantity": -1, "account": "a"},  # the closest expiration
            {"instrument": "BTC-25DEC26-100000-C", "quantity": 2, "account": "a"},
            {"instrument": "BTC_USDC-PERPETUAL", "quantity": 0.5, "account": "a"},  # linear: coin amount
            {"instrument": "BTC-PERPETUAL", "quantity": -5_000, "account": "b"},
        ]
    )


def test_the_view_reports_deribits_delta_totals() -> None:
    """Account a, BTC column: 10,000 / F(25DEC26) - (N(d1) - c/F) of the 26NOV26 call + 2 (N(d1) - c/F) of the
    25DEC26 call; projected: the same without the 26NOV26 call (the sample's closest expiration, 26 Nov 2026,
    the day after its valuation time).  USDC column: the linear perpetual's 0.5 BTC.  Account b: -5,000 / the
    perpetual's mark, in both."""
    book = _book()
    view = ro.account(book, MARKET, ro.Balances.from_mapping({"a": {"BTC": 1.0}, "b": {"BTC": 1.0}}), "X:PM")
    btc, usdc = view.currencies.index("BTC"), view.currencies.index("USDC")
    d_near, c_near = _black_call("BTC-26NOV26-90000-C")
    d_far, c_far = _black_call("BTC-25DEC26-100000-C")
    future = 10_000 / MARKET.marks["BTC-25DEC26"]
    expected = future - (d_near - c_near) + 2 * (d_far - c_far)
    assert view.delta_total[0, btc] == pytest.approx(expected, rel=1e-12)
    assert view.projected_delta_total[0, btc] == pytest.approx(future + 2 * (d_far - c_far), rel=1e-12)
    assert view.delta_total[0, usdc] == view.projected_delta_total[0, usdc] == pytest.approx(0.5, rel=1e-15)
    perpetual = -5_000 / MARKET.marks["BTC-PERPETUAL"]
    assert view.delta_total[1, btc] == view.projected_delta_total[1, btc] == pytest.approx(perpetual, rel=1e-14)
    row = view.row("a")
    assert row["projected_delta_total_BTC"] == view.projected_delta_total[0, btc]


def test_the_engine_keeps_them_current() -> None:
    """After an index move and a trade the engine's delta totals equal the view's from scratch."""
    book = _book()
    balances = ro.Balances.from_mapping({"a": {"BTC": 1.0}, "b": {"BTC": 1.0}})
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    engine.on_index("BTC", 90_000.0)
    engine.on_trade("b", "BTC-26NOV26-90000-C", 3.0, 0.01)
    ref = ro.account(engine.book, engine.market, engine.balances, "X:PM")
    mine = engine.accounts()
    for name in ("delta_total", "projected_delta_total"):
        for i, a in enumerate(ref.accounts.tolist()):
            j = mine.accounts.tolist().index(a)
            got = dict(zip(mine.currencies, getattr(mine, name)[j]))
            for c, y in zip(ref.currencies, getattr(ref, name)[i]):
                assert got[c] == pytest.approx(y, rel=1e-12, abs=1e-15), (a, name, c)
    b = mine.accounts.tolist().index("b")
    near = mine.delta_total[b] - mine.projected_delta_total[b]
    assert near[mine.currencies.index("BTC")] > 0.0  # the 3 calls bought expire at the closest expiration


def test_closest_expiration_counts_the_markets_listed_instruments() -> None:
    """A book holding only December instruments still has the venue's closest expiration (26 Nov) ahead: its
    projected total equals its total."""
    from riskoffset.accounts.deltas import closest_expiration

    book = ro.Book.from_positions([{"instrument": "BTC-25DEC26-100000-C", "quantity": 1, "account": "a"}])
    assert not closest_expiration(book.instruments, MARKET).any()
    view = ro.account(book, MARKET, ro.Balances.from_mapping({"a": {"BTC": 1.0}}), "S:PM")
    np.testing.assert_array_equal(view.delta_total, view.projected_delta_total)
