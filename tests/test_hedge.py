"""Greek hedges (riskoffset.hedging): delta with futures and perpetuals (inverse contracts), multi-Greek least
squares with a cost penalty, rounding to lots and the error it adds, costs computed by hand, residual
Greeks, scenario profiles and margins before and after."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.book import instrument_greeks
from riskoffset.hedging import HedgeResult, correlation_residual, hedge
from riskoffset.whatif import WhatIf

CASES = [
    ("short_strangle", None),
    ("calendar_spread", None),
    ("covered_calls", None),
    ("linear_inverse", "inverse"),
    ("linear_inverse", "linear"),
    ("market_maker", "mm-btc"),
    ("market_maker", "mm-eth"),
    ("market_maker", None),
]


@pytest.fixture(scope="module")
def market() -> ro.Market:
    return ro.Market.sample()


def _unit(market: ro.Market, name: str, measure: str) -> float:
    table = market.instruments
    assert table is not None
    g = instrument_greeks(table, market)
    return float(g[measure][table.row(name)])


def _rounding_bound(market: ro.Market, result: HedgeResult, measure: str, base: str) -> float:
    """Largest exposure rounding can leave: one lot of every candidate of that underlying (a fine candidate
    absorbs coarse ones, so this is generous)."""
    column = {"delta": "delta_pa", "gamma": "gamma", "vega": "vega"}[measure]
    lots = result.details["lots"]
    return sum(
        abs(_unit(market, n, column)) * lots[n]
        for n in result.candidates
        if n.split("-")[0].split("_")[0] == base
    )


@pytest.mark.parametrize(("book_name", "account"), CASES)
def test_delta_hedge_is_neutral_within_half_a_lot(market: ro.Market, book_name: str, account: Any) -> None:
    book = ro.Book.sample(book_name)
    result = hedge(book, market, "delta", account=account)
    for name in result.candidates:
        assert name.endswith("PERPETUAL")
    for label, after in result.greeks_after.items():
        measure, base = label.split(" ")[:2]
        if measure != "delta":
            continue
        perpetual = [n for n in result.candidates if n.startswith(base)]
        half_lot = 0.5 * abs(_unit(market, perpetual[0], "delta_pa")) * result.details["lots"][perpetual[0]]
        assert abs(after) <= half_lot * (1 + 1e-9), (label, after, half_lot)
        # The continuous solution gives up ~cost_penalty (1e-8) of the exposure to the cost penalty.
        assert abs(result.greeks_unrounded[label]) <= 1e-7 * abs(result.greeks_before[label]) + 1e-12
    # Other Greeks are untouched by futures.
    for label, before in result.greeks_before.items():
        if not label.startswith("delta"):
            assert result.greeks_after[label] == pytest.approx(before, rel=1e-12, abs=1e-12)


def test_inverse_future_delta_is_face_over_forward(market: ro.Market) -> None:
    # One long inverse call hedged with the inverse perpetual: h = -delta_pa * F_perp (USD face), in 10 USD lots.
    book = ro.Book.from_arrays(["a"], ["BTC-25DEC26-100000-C"], [1.0], instruments=market.instruments)
    result = hedge(book, market, "delta")
    table = market.instruments
    assert table is not None
    g = instrument_greeks(table, market)
    i = table.row("BTC-25DEC26-100000-C")
    delta_pa = float(
        g["delta"][i] - g["value_coin"][i]
    )  # premium-adjusted: Black-76 delta minus coin premium
    assert result.greeks_before["delta BTC"] == pytest.approx(delta_pa, rel=1e-14)
    forward = market.marks["BTC-PERPETUAL"]
    expected = round(-delta_pa * forward / 10.0) * 10.0
    assert result.quantities == {"BTC-PERPETUAL": expected}
    assert result.greeks_after["delta BTC"] == pytest.approx(delta_pa + expected / forward, rel=1e-12)


def test_costs_by_hand(market: ro.Market) -> None:
    book = ro.Book.from_arrays(["a"], ["BTC-25DEC26-100000-C"], [1.0], instruments=market.instruments)
    quotes = {"BTC-PERPETUAL": (95_009.0, 95_010.0)}
    result = hedge(book, market, "delta", quotes=quotes)
    (trade,) = result.trades
    forward = market.marks["BTC-PERPETUAL"]
    size = abs(trade.quantity)
    assert trade.fee_usd == pytest.approx(0.0005 * size, rel=1e-14)  # taker 0.05 % of the USD face
    assert trade.half_spread_usd == pytest.approx(0.5 / forward * size, rel=1e-12)  # half a dollar of price
    assert trade.premium_usd == 0.0
    assert result.cost.total == pytest.approx(trade.fee_usd + trade.half_spread_usd, rel=1e-14)
    assert not any("bid/ask" in f and "BTC-PERPETUAL" in f for f in result.flags)
    maker = hedge(book, market, "delta", liquidity="maker")
    assert maker.cost.fees == 0.0  # the sample perpetual's maker commission is 0
    assert any("half-spread counted as 0" in f for f in maker.flags)
    # An option hedge: fee = min(0.03 % of the index, 12.5 % of the premium) per coin; premium = USD value.
    option = "BTC-25DEC26-95000-C"
    r = hedge(book, market, "delta", [option], margin=False)
    (t,) = r.trades
    value = _unit(market, option, "value_usd")
    fee = min(0.0003 * market.index["BTC"], 0.125 * value)
    assert t.fee_usd == pytest.approx(fee * abs(t.quantity), rel=1e-12)
    assert t.premium_usd == pytest.approx(value * t.quantity, rel=1e-12)
    assert r.cost.premium == pytest.approx(t.premium_usd, rel=1e-14)
    with pytest.raises(ValueError, match="bid <= ask"):
        hedge(book, market, "delta", quotes={"BTC-PERPETUAL": (2.0, 1.0)})


@pytest.mark.parametrize("target", ["delta-gamma", "delta-gamma-vega"])
@pytest.mark.parametrize(("book_name", "account"), CASES[:4])
def test_multi_greek_neutral_within_rounding(
    market: ro.Market, book_name: str, account: Any, target: str
) -> None:
    book = ro.Book.sample(book_name)
    result = hedge(book, market, target, account=account)
    measures = target.split("-")
    for label, after in result.greeks_after.items():
        measure, base = label.split(" ")[:2]
        if measure not in measures:
            continue
        before = result.greeks_before[label]
        # The continuous least-squares solution is neutral (the cost penalty gives up ~1e-8 of the exposure).
        assert abs(result.greeks_unrounded[label]) <= 1e-7 * max(abs(before), 1e-12) + 1e-12, label
        # Rounding adds at most about a lot of each candidate, and the report says how much.
        assert abs(after) <= _rounding_bound(market, result, measure, base) + 1e-12, (label, after)
        assert result.rounding_error[label] == pytest.approx(
            after - result.greeks_unrounded[label], abs=1e-15
        )
    for t in result.trades:  # whole lots
        assert t.quantity / t.lot == pytest.approx(round(t.quantity / t.lot), abs=1e-9)


def test_cost_penalty_picks_the_cheaper_of_equivalent_hedges(market: ro.Market) -> None:
    # A perpetual (taker 0.05 %) and a dated future (taker 0.05 %) hedge delta equally; with the linear
    # perpetual at the same rate but a smaller lot both are neutral; the ridge splits by cost: a candidate
    # made dearer through its half-spread gets less.
    book = ro.Book.from_arrays(["a"], ["BTC-PERPETUAL"], [-500_000.0], instruments=market.instruments)
    cheap = hedge(book, market, "delta", ["BTC-PERPETUAL", "BTC-25DEC26"], margin=False)
    dear = hedge(
        book,
        market,
        "delta",
        ["BTC-PERPETUAL", "BTC-25DEC26"],
        quotes={"BTC-25DEC26": (95_000.0, 96_000.0), "BTC-PERPETUAL": (95_009.0, 95_010.0)},
        margin=False,
    )
    q_cheap, q_dear = cheap.quantities, dear.quantities
    assert abs(q_dear.get("BTC-25DEC26", 0.0)) < abs(q_cheap.get("BTC-25DEC26", 0.0))
    assert abs(dear.greeks_after["delta BTC"]) < 1e-4


def test_profiles_and_margins_match_the_hedged_book(market: ro.Market) -> None:
    book = ro.Book.sample("short_strangle")
    result = hedge(book, market, "delta-gamma-vega")
    table = WhatIf(book, market, instruments=result.candidates)
    hedged = WhatIf(book, market, instruments=result.candidates)
    hedged.apply(list(result.quantities.items()))
    for name, profile in result.profiles.items():
        k = table.keys.names.index(name)
        np.testing.assert_allclose(profile.before, table.pnl_vector(k), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(profile.after, hedged.pnl_vector(k), rtol=1e-10, atol=1e-12)
        assert profile.upside_given_up == pytest.approx(
            profile.before[: profile.n_standard].max() - profile.after[: profile.n_standard].max()
        )
        assert profile.worst_after[2] == pytest.approx(profile.after.min())
    assert result.margin_after is not None and result.margin_before is not None
    assert result.margin_after.initial_usd == pytest.approx(hedged.initial_usd, rel=1e-10)
    assert result.margin_before.initial_usd == pytest.approx(table.initial_usd, rel=1e-10)
    text = str(result)
    assert "delta BTC" in text and "deribit-pm margin USD" in text
    d = result.to_dict()
    assert d["target"] == "delta-gamma-vega" and d["trades"] and "profiles" in d


def test_vega_by_expiry_rows(market: ro.Market) -> None:
    book = ro.Book.sample("calendar_spread")
    result = hedge(
        book,
        market,
        "delta-gamma-vega",
        ["BTC-PERPETUAL", "BTC-18DEC26-95000-C", "BTC-26MAR27-90000-C", "BTC-29JAN27-95000-C"],
        by_expiry=True,
    )
    vega_rows = [k for k in result.greeks_after if k.startswith("vega")]
    assert set(vega_rows) == {"vega BTC 2026-12-18", "vega BTC 2027-01-29", "vega BTC 2027-03-26"}
    for label in vega_rows:
        assert abs(result.greeks_after[label]) <= _rounding_bound(market, result, "vega", "BTC")


def test_bad_targets_and_instruments(market: ro.Market) -> None:
    book = ro.Book.sample("calendar_spread")
    with pytest.raises(ValueError, match="unknown hedge target"):
        hedge(book, market, "theta")
    with pytest.raises(ValueError, match="cost_penalty"):
        hedge(book, market, "delta", cost_penalty=-1.0)
    with pytest.raises(ValueError, match="liquidity"):
        hedge(book, market, "delta", liquidity="both")


def test_correlation_residual_formula() -> None:
    # 1,000,000 USD of ETH delta hedged with 900,000 USD of BTC the other way, rho 0.9, equal vols 5 %:
    # var = (50,000)^2 + (45,000)^2 - 2 0.9 50,000 45,000 = 475,000,000 -> std 21,794.49.
    r = correlation_residual(1_000_000.0, -900_000.0, 0.9, 0.05)
    assert r.residual_std_usd == pytest.approx(np.sqrt(50_000**2 + 45_000**2 - 2 * 0.9 * 50_000 * 45_000))
    assert r.min_variance_hedge_usd == pytest.approx(-900_000.0)
    assert r.min_variance_std_usd == pytest.approx(50_000 * np.sqrt(1 - 0.81))
    assert r.residual_std_usd == pytest.approx(
        r.min_variance_std_usd
    )  # the hedge above is the min-variance one
    assert correlation_residual(1.0, -1.0, 1.0, 0.1).residual_std_usd == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="rho"):
        correlation_residual(1.0, -1.0, 1.5, 0.1)


def test_public_names(market: ro.Market) -> None:
    # ro.hedge is the package and, called, the function (as ro.margin); WhatIf and liquidation are exported.
    book = ro.Book.sample("calendar_spread")
    assert ro.hedge(book, market, "delta", margin=False).quantities == hedge(book, market, "delta").quantities
    assert ro.hedging.correlation_residual is correlation_residual
    assert ro.WhatIf is WhatIf and callable(ro.liquidation)
