"""The margin-minimising hedge (``ro.hedge(..., target="margin")``, a linear program solved by HiGHS): on the
sample books its Deribit PM margin (through ``ro.margin``) is at most that of the delta hedge and of no hedge
over the same candidates, and no more than a brute-force minimum over a grid of hedge quantities, within the
effect of lot rounding."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.hedging import hedge
from riskoffset.whatif import WhatIf, one_account

pytest.importorskip("scipy.optimize")

CASES = [
    ("short_strangle", None),
    ("calendar_spread", None),
    ("covered_calls", None),
    ("linear_inverse", "inverse"),
    ("linear_inverse", "linear"),
    ("market_maker", "mm-btc"),
    ("market_maker", "mm-eth"),
    ("market_maker", "mm-hedge"),
    ("market_maker", None),
]


@pytest.fixture(scope="module")
def market() -> ro.Market:
    return ro.Market.sample()


def _im(result: Any) -> float:
    assert result.margin_after is not None and result.margin_after.initial_usd is not None
    return float(result.margin_after.initial_usd)


@pytest.mark.parametrize(("book_name", "account"), CASES)
def test_margin_hedge_beats_simpler_hedges(market: ro.Market, book_name: str, account: Any) -> None:
    book = ro.Book.sample(book_name)
    best = hedge(book, market, "margin", account=account)
    candidates = list(best.candidates)
    delta_same = hedge(book, market, "delta", candidates, account=account)
    delta_default = hedge(book, market, "delta", account=account)
    assert best.margin_before is not None
    none = best.margin_before.initial_usd
    assert none is not None
    slack = 1e-9 * max(none, 1.0)
    assert _im(best) <= _im(delta_same) + slack
    assert _im(best) <= _im(delta_default) + slack
    assert _im(best) + best.cost.total <= none + slack  # never worse than not hedging (IM + cost)
    for t in best.trades:
        assert t.quantity / t.lot == pytest.approx(round(t.quantity / t.lot), abs=1e-9)


def _lipschitz(w: WhatIf, names: list[str], lots: dict[str, float], unit_cost: float) -> float:
    """How much IM + cost (USD) can change when every candidate moves by one lot."""
    total = 0.0
    for n in names:
        i = w.row(n)
        g = w.groups[int(w.keys.key[i])]
        per_lot = lots[n] * (np.abs(w.vectors[i]).max() + abs(w.delta_unit[i]) * max(g.rate) * g.per_coin)
        total += per_lot * g.usd_rate * (1.0 + 1e-9) + unit_cost * lots[n]
    return total


@pytest.mark.parametrize(
    ("book_name", "account", "candidates"),
    [
        ("linear_inverse", "inverse", ["BTC-PERPETUAL"]),
        ("linear_inverse", "inverse", ["BTC-PERPETUAL", "BTC-25DEC26"]),
        ("calendar_spread", None, ["BTC-PERPETUAL", "BTC-26MAR27"]),
        ("short_strangle", None, ["BTC-PERPETUAL", "ETH-PERPETUAL"]),
        ("market_maker", "mm-btc", ["BTC-PERPETUAL", "BTC-25DEC26"]),
    ],
)
def test_margin_hedge_no_worse_than_grid_minimum(
    market: ro.Market, book_name: str, account: Any, candidates: list[str]
) -> None:
    book = ro.Book.sample(book_name)
    best = hedge(book, market, "margin", candidates, account=account)
    w = WhatIf(book, market, account=account, instruments=candidates)
    lots = best.details["lots"]
    fee = 0.0005  # taker commission of every candidate here, per USD of face (inverse futures)
    for n in candidates:
        assert market.instruments is not None and market.instruments[n].taker_commission == fee

    def score(quantities: tuple[float, ...]) -> float:
        orders = [(n, q) for n, q in zip(candidates, quantities) if q]
        return w.basket(orders).initial_usd_after + fee * sum(abs(q) for q in quantities)

    # Grid: every candidate from -3 to +3 times the book's delta in USD face (at least 200,000 USD), 41 steps.
    delta = abs(sum(v for k, v in best.greeks_before.items() if k.startswith("delta "))) * 100_000.0
    span = max(3.0 * delta, 200_000.0)
    axes = [np.round(np.linspace(-span, span, 41) / lots[n]) * lots[n] for n in candidates]
    grid_min = min(score(q) for q in itertools.product(*(a.tolist() for a in axes)))
    lp = score(tuple(best.quantities.get(n, 0.0) for n in candidates))
    assert lp == pytest.approx(_im(best) + best.cost.total, rel=1e-9)
    assert lp <= grid_min + 1e-9 * grid_min
    # Within lot rounding of the continuous optimum: no lot point does better by more than one lot's effect.
    continuous = np.array([best.details["unrounded"][n] for n in candidates])
    near = [
        score(
            tuple(
                (np.round(continuous / np.array([lots[n] for n in candidates])) + d)
                * [lots[n] for n in candidates]
            )
        )
        for d in itertools.product((-1, 0, 1), repeat=len(candidates))
    ]
    assert lp <= min(near) + 1e-9 * lp
    assert lp - min(near) <= _lipschitz(w, candidates, lots, fee)


def test_margin_hedge_reports_cost_profile_and_margins(market: ro.Market) -> None:
    book = ro.Book.sample("calendar_spread")
    result = hedge(book, market, "margin")
    assert result.margin_before is not None and result.margin_after is not None
    assert result.margin_after.initial < result.margin_before.initial
    assert set(result.profiles) == {"btc_btc"}
    p = result.profiles["btc_btc"]
    assert p.before.shape == p.after.shape == (35,)
    assert "deribit-pm margin USD" in result.table()


@pytest.mark.parametrize(("book_name", "account"), CASES)
def test_margin_hedge_that_adds_delta_is_flagged(market: ro.Market, book_name: str, account: Any) -> None:
    """A warning names every underlying whose premium-adjusted delta grows in size, |after| > |before| (the
    short strangle's margin hedge sells perpetuals past neutral: BTC -0.38 -> -0.57 coin, ETH 0.36 -> -2.85),
    and the summary prints it; a delta hedge never warns."""
    book = ro.Book.sample(book_name)
    result = hedge(book, market, "margin", account=account)
    grown = sorted(
        label.split(" ")[1]
        for label, before in result.greeks_before.items()
        if label.split(" ")[0] == "delta"
        and abs(result.greeks_after[label]) > abs(before) * (1 + 1e-9) + 1e-9
    )
    warned = sorted(w.split(" on ")[1].split(":")[0] for w in result.warnings)
    assert warned == grown
    for w in result.warnings:
        assert "adds directional risk" in w and f"warning: {w}" in str(result)
    assert result.to_dict()["warnings"] == list(result.warnings)
    assert not hedge(book, market, "delta", account=account, margin=False).warnings


def test_short_strangle_margin_hedge_warns_on_both_underlyings(market: ro.Market) -> None:
    result = hedge(ro.Book.sample("short_strangle"), market, "margin")
    before, after = result.greeks_before, result.greeks_after
    assert abs(after["delta BTC"]) > abs(before["delta BTC"]) and abs(after["delta ETH"]) > abs(
        before["delta ETH"]
    )
    assert len(result.warnings) == 2


def test_margin_hedge_of_an_account_in_a_book_or_alone(market: ro.Market) -> None:
    """The margin hedge of one account of a multi-account book is the margin hedge of that account alone."""
    book = ro.Book.sample("market_maker")
    for account in book.accounts.tolist():
        one = one_account(book, account)
        names = one.instruments.names[one.indices].tolist()
        alone = ro.Book.from_arrays(
            [account] * len(names), names, one.quantity.tolist(), instruments=market.instruments
        )
        inside, own = hedge(book, market, "margin", account=account), hedge(alone, market, "margin")
        assert inside.candidates == own.candidates and inside.quantities == own.quantities, account
