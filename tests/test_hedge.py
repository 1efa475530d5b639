"""Greek hedges (riskoffset.hedging): delta with futures and perpetuals (inverse contracts), multi-Greek least
squares with a cost penalty, rounding to lots and the error it adds, costs computed by hand, residual
Greeks, scenario profiles and margins before and after."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.book import instrument_greeks
from riskoffset.hedging import HedgeResult, correlation_residual, hedge
from riskoffset.hedging.solvers import equivalent_keep
from riskoffset.whatif import WhatIf, one_account

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


def test_equivalent_instruments_trade_as_one_ticket(market: ro.Market) -> None:
    """Two inverse futures of BTC move only delta, so they are equivalent for a delta target; fees are linear
    in the amount, so splitting saves nothing: one ticket, in the one with the lower cost per coin of delta.

    Short 500,000 USD of BTC-PERPETUAL is -500,000 / F_perp coin.  Both candidates charge 0.05 % of face,
    and a USD of face is 1/F coin, so a coin of delta costs 0.0005 F: the perpetual (lower F) is cheaper and
    takes it all, +500,000 USD.  A 1,000 USD wide perpetual quote adds 500 / F per USD of face: now the
    future is cheaper and takes it all, 500,000 F_fut / F_perp rounded to its 10 USD lot.  With no cost at
    all (maker, no quotes) the first listed gets it.
    """
    book = ro.Book.from_arrays(["a"], ["BTC-PERPETUAL"], [-500_000.0], instruments=market.instruments)
    pair = ["BTC-PERPETUAL", "BTC-25DEC26"]
    f_perp, f_fut = market.marks["BTC-PERPETUAL"], market.marks["BTC-25DEC26"]
    assert f_perp < f_fut
    cheap = hedge(book, market, "delta", pair, margin=False)
    assert cheap.quantities == {"BTC-PERPETUAL": 500_000.0}
    dear_perp = hedge(
        book,
        market,
        "delta",
        pair,
        quotes={"BTC-PERPETUAL": (95_000.0, 96_000.0), "BTC-25DEC26": (95_469.0, 95_470.0)},
        margin=False,
    )
    expected = round(500_000.0 * f_fut / f_perp / 10.0) * 10.0
    assert dear_perp.quantities == {"BTC-25DEC26": expected}
    assert abs(dear_perp.greeks_after["delta BTC"]) <= 0.5 * 10.0 / f_fut
    # Two dated futures: the nearer (lower F) one, whichever order they are listed in.
    dated = ["BTC-26MAR27", "BTC-25DEC26"]
    for order in (dated, dated[::-1]):
        assert list(hedge(book, market, "delta", order, margin=False).quantities) == ["BTC-25DEC26"]
    # As a maker the future pays a 0.01 % rebate and the perpetual nothing: the future takes it all.
    for order in (pair, pair[::-1]):
        maker = hedge(book, market, "delta", order, liquidity="maker", margin=False)
        assert maker.quantities == {"BTC-25DEC26": expected} and maker.cost.total < 0.0


def test_equivalent_columns_keep_the_cheapest_per_unit_of_exposure() -> None:
    """Column 2 moves the Greeks twice as much per lot as column 1 (proportional: equivalent).  Costs 1 and 2
    per lot are the same per unit of exposure: the first listed is kept.  Costs 1 and 1: column 2 is half the
    price per unit.  Column 3 moves another Greek: always kept; a column moving nothing is dropped."""
    e = np.array([[1.0, 2.0, 0.0, 0.0], [0.5, 1.0, 3.0, 0.0]])
    assert equivalent_keep(e, np.array([1.0, 2.0, 5.0, 0.0])).tolist() == [True, False, True, False]
    assert equivalent_keep(e[:, [1, 0, 2, 3]], np.array([2.0, 1.0, 5.0, 0.0])).tolist() == [
        True,
        False,
        True,
        False,
    ]
    assert equivalent_keep(e, np.array([1.0, 1.0, 5.0, 0.0])).tolist() == [False, True, True, False]
    # Opposite directions are equivalent too (sell one instead of buying the other).
    assert equivalent_keep(np.array([[1.0, -1.0]]), np.array([2.0, 1.0])).tolist() == [False, True]


def test_account_hedged_in_a_book_or_alone_is_the_same(market: ro.Market) -> None:
    """Default candidates come from the hedged account's own positions: every account of the market-maker
    book gets the same candidates and trades whether it is hedged inside the book or as a book of its own,
    and the futures-only account (no gamma, no vega) is hedged with its two perpetuals only."""
    book = ro.Book.sample("market_maker")
    for account in book.accounts.tolist():
        one = one_account(book, account)
        names = one.instruments.names[one.indices].tolist()
        alone = ro.Book.from_arrays(
            [account] * len(names), names, one.quantity.tolist(), instruments=market.instruments
        )
        for target in ("delta", "delta-gamma", "delta-gamma-vega"):
            inside, own = hedge(book, market, target, account=account), hedge(alone, market, target)
            assert inside.candidates == own.candidates, (account, target)
            assert inside.quantities == own.quantities, (account, target)
            assert inside.cost.total == own.cost.total
    futures_only = hedge(book, market, "delta-gamma-vega", account="mm-hedge")
    assert futures_only.candidates == ("BTC-PERPETUAL", "ETH-PERPETUAL")
    for label, before in futures_only.greeks_before.items():
        if label.split(" ")[0] in ("gamma", "vega"):
            assert before == 0.0 and futures_only.greeks_after[label] == 0.0


def test_greeks_carry_the_package_units(market: ro.Market) -> None:
    """One long BTC-25DEC26-100000-C: vega is in USD per 1.00 vol, the unit of ``ro.greeks``, checked by a
    central difference of the Black-76 USD price (F, K, t, sigma of the market) over +/- 0.0001 of vol;
    the printed table shows it per vol point (x 0.01) and names the unit of every row."""
    name = "BTC-25DEC26-100000-C"
    book = ro.Book.from_arrays(["a"], [name], [1.0], instruments=market.instruments)
    result = hedge(
        book, market, "delta-gamma-vega", ["BTC-PERPETUAL", "BTC-26MAR27-100000-C", name], margin=False
    )
    table = market.instruments
    assert table is not None
    sub = table.take(np.array([table.row(name)]))
    r = market.resolve(sub)
    f, t, sigma = float(r.forward[0]), float(r.t[0]), float(r.sigma[0])
    h = 1e-4
    up = float(ro.price("c", f, 100_000.0, t, market.rate, sigma + h))
    down = float(ro.price("c", f, 100_000.0, t, market.rate, sigma - h))
    vega = (up - down) / (2 * h)
    assert result.greeks_before["vega BTC"] == pytest.approx(vega, rel=1e-6)
    assert float(ro.greeks("c", f, 100_000.0, t, market.rate, sigma)["vega"]) == pytest.approx(
        result.greeks_before["vega BTC"], rel=1e-9
    )
    units = result.greek_units
    assert set(units) == set(result.greeks_before)
    assert units["vega BTC"] == "USD per 1.00 vol" and units["gamma BTC"] == "coin per USD"
    assert (
        units["delta BTC"] == "coin (premium-adjusted)" and units["delta_b76 BTC"] == "coin (plain Black-76)"
    )
    assert result.to_dict()["greek_units"] == units
    line = next(x for x in str(result).splitlines() if x.startswith("vega BTC"))
    assert "USD per vol point" in line
    assert float(line.split()[-3]) == pytest.approx(0.01 * vega, rel=1e-5)


def test_both_deltas_reported_and_the_neutralised_one_named(market: ro.Market) -> None:
    """One long inverse call hedged with BTC-PERPETUAL: ``delta`` (neutralised) is the Black-76 delta minus
    the coin premium, ``delta_b76`` the plain Black-76 delta; the perpetual adds h / F_perp to both."""
    name = "BTC-25DEC26-100000-C"
    book = ro.Book.from_arrays(["a"], [name], [1.0], instruments=market.instruments)
    result = hedge(book, market, "delta", margin=False)
    table = market.instruments
    assert table is not None
    sub = table.take(np.array([table.row(name)]))
    r = market.resolve(sub)
    f, t, sigma = float(r.forward[0]), float(r.t[0]), float(r.sigma[0])
    b76 = float(ro.greeks("c", f, 100_000.0, t, market.rate, sigma)["delta"])
    coin_premium = float(ro.price("c", f, 100_000.0, t, market.rate, sigma)) / f
    assert result.greeks_before["delta_b76 BTC"] == pytest.approx(b76, rel=1e-12)
    assert result.greeks_before["delta BTC"] == pytest.approx(b76 - coin_premium, rel=1e-12)
    added = result.quantities["BTC-PERPETUAL"] / market.marks["BTC-PERPETUAL"]
    assert result.greeks_after["delta_b76 BTC"] == pytest.approx(b76 + added, rel=1e-12)
    assert result.neutralised == ("delta",)
    assert "premium-adjusted" in str(result) and "delta_b76" in str(result)
    assert [row["neutralised"] for row in result.greek_rows() if row["measure"].startswith("delta")] == [
        True,
        False,
    ]


@pytest.mark.parametrize(("book_name", "account"), CASES)
def test_upside_given_up_is_non_negative_usd(market: ro.Market, book_name: str, account: Any) -> None:
    """Upside given up = max(0, best standard scenario before - after) x the group's USD rate (the index for
    a coin group, 1 for a USDC one); a hedge that raises the best scenario gives up 0."""
    for target in ("delta", "delta-gamma-vega"):
        result = hedge(ro.Book.sample(book_name), market, target, account=account, margin=False)
        for p in result.profiles.values():
            n = p.n_standard
            rate = market.index.get(p.currency, 1.0)
            by_hand = max(0.0, float(p.before[:n].max() - p.after[:n].max())) * rate
            assert p.upside_given_up_usd == pytest.approx(by_hand, rel=1e-12, abs=1e-9)
            assert p.upside_given_up_usd >= 0.0
            assert f"upside given up {p.upside_given_up_usd:,.2f} USD" in str(result)
        assert result.upside_given_up_usd >= 0.0


def test_calendar_delta_hedge_raising_the_best_scenario_gives_up_nothing(market: ro.Market) -> None:
    result = hedge(ro.Book.sample("calendar_spread"), market, "delta", margin=False)
    p = result.profiles["btc_btc"]
    assert p.best_after > p.best_before  # the hedge raises the best scenario ...
    assert p.upside_given_up_usd == 0.0  # ... so it gives up nothing (never a negative amount)


def test_to_pandas(market: ro.Market, monkeypatch: pytest.MonkeyPatch) -> None:
    pd = pytest.importorskip("pandas")
    result = hedge(ro.Book.sample("short_strangle"), market, "delta-gamma-vega", margin=False)
    greeks = result.to_pandas()
    assert isinstance(greeks, pd.DataFrame) and list(greeks.index) == list(result.greeks_before)
    assert greeks.loc["vega BTC", "unit"] == "USD per 1.00 vol"
    assert greeks.loc["delta ETH", "after"] == result.greeks_after["delta ETH"]
    assert bool(greeks.loc["delta ETH", "neutralised"]) and not bool(
        greeks.loc["delta_b76 ETH", "neutralised"]
    )
    trades = result.to_pandas("trades")
    assert trades["quantity"].to_dict() == result.quantities
    profiles = result.to_pandas("profiles")
    assert len(profiles) == sum(len(p.labels) for p in result.profiles.values())
    assert (
        profiles.loc[("btc_btc", result.profiles["btc_btc"].labels[0]), "after"]
        == result.profiles["btc_btc"].after[0]
    )
    with pytest.raises(ValueError, match="table"):
        result.to_pandas("margins")
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
    with pytest.raises(ImportError, match=r'pip install "riskoffset\[pandas\]"'):
        result.to_pandas()


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
        assert profile.best_before == pytest.approx(profile.before[: profile.n_standard].max())
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
    # NaN or inf reached the least-squares solver (LAPACK printed its complaint); the margin target took anything.
    for target in ("delta", "delta-gamma", "margin"):
        for bad in (-1.0, float("nan"), float("inf"), "1e-8"):
            with pytest.raises(ValueError, match="cost_penalty must be a finite number >= 0"):
                hedge(book, market, target, cost_penalty=bad)
    with pytest.raises(ValueError, match="liquidity"):
        hedge(book, market, "delta", liquidity="both")
    for quote in ((-1.0, 1.0), (2.0, 1.0), (float("nan"), 1.0)):
        with pytest.raises(ValueError, match=r"quotes\['BTC-PERPETUAL'\]: need finite prices 0 <= bid <= ask"):
            hedge(book, market, "delta", quotes={"BTC-PERPETUAL": quote})


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
    # ro.hedge is the function, ro.hedging the package; WhatIf and liquidation are exported.
    book = ro.Book.sample("calendar_spread")
    assert ro.hedge(book, market, "delta", margin=False).quantities == hedge(book, market, "delta").quantities
    assert ro.hedging.correlation_residual is correlation_residual
    assert ro.WhatIf is WhatIf and callable(ro.liquidation)
