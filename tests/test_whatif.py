"""What-if margin on a cached book (riskoffset.whatif) equals a full Deribit PM recomputation of the book plus
the orders through ``ro.margin(..., "deribit-pm")``: one order, baskets across risk groups, committed orders,
orders that flip the worst scenario, spot orders, and the error paths."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.whatif import WhatIf, WhatIfResult, one_account, whatif

# Sums of up to ~400 positions in another order (matrix product against CSR-order accumulation): a few ulps
# of the largest scenario P&L, so 1e-11 relative is generous and still catches any real difference.
RTOL = 1e-11


@pytest.fixture(scope="module")
def market() -> ro.Market:
    return ro.Market.sample()


def _full(book: ro.Book, market: ro.Market, account: Any, orders: list[tuple[str, float]]) -> ro.MarginResult:
    """Deribit PM of the account's positions plus the orders, recomputed from scratch."""
    single = one_account(book, account)
    names = single.instruments.names[single.indices].tolist() + [n for n, _ in orders]
    qty = single.quantity.tolist() + [q for _, q in orders]
    label = single.accounts[0] if len(single.accounts) else "book"
    combined = ro.Book.from_arrays(np.array([label] * len(names)), names, qty, instruments=market.instruments)
    return ro.margin(combined, market, "deribit-pm")


def _check(result: WhatIfResult, full: ro.MarginResult) -> None:
    assert result.initial_usd_after == pytest.approx(full.initial_usd, rel=RTOL, abs=1e-9)
    assert result.maintenance_usd_after == pytest.approx(full.maintenance_usd, rel=RTOL, abs=1e-9)
    if result.group:
        group = [g for g in (full.groups or (full,)) if g.group == result.group]
        amount = group[0].initial if group else 0.0
        assert result.initial_after == pytest.approx(amount, rel=RTOL, abs=1e-12)
        mm = group[0].maintenance if group else 0.0
        assert result.maintenance_after == pytest.approx(mm, rel=RTOL, abs=1e-12)


@pytest.mark.parametrize(
    ("book_name", "account"),
    [
        ("market_maker", "mm-btc"),
        ("market_maker", "mm-eth"),
        ("market_maker", None),
        ("short_strangle", None),
        ("calendar_spread", None),
        ("linear_inverse", "inverse"),
        ("linear_inverse", "linear"),
        ("covered_calls", None),
    ],
)
def test_before_equals_full_margin(market: ro.Market, book_name: str, account: Any) -> None:
    book = ro.Book.sample(book_name)
    w = WhatIf(book, market, account=account)
    r = w.margin()
    full = _full(book, market, account, [])
    assert r.initial_usd_before == pytest.approx(full.initial_usd, rel=RTOL)
    assert r.maintenance_usd_before == pytest.approx(full.maintenance_usd, rel=RTOL)


ORDERS = [
    ("BTC-PERPETUAL", 100_000.0),
    ("BTC-PERPETUAL", -2_500_000.0),
    ("BTC-27NOV26", 50_000.0),
    ("BTC-25DEC26-110000-C", -3.0),
    ("BTC-25DEC26-80000-P", 7.5),
    ("BTC-26NOV26-90000-C", 1.0),
    ("BTC_USDC-PERPETUAL", 2.0),
    ("BTC_USDC-25DEC26-105000-C", -1.0),
    ("ETH-PERPETUAL", -30_000.0),
    ("ETH-29JAN27-4200-C", 25.0),
    ("BTC_USDC", 3.0),  # spot: collateral, no risk vector changes
]


@pytest.mark.parametrize(("instrument", "quantity"), ORDERS)
@pytest.mark.parametrize(("book_name", "account"), [("market_maker", "mm-btc"), ("linear_inverse", None)])
def test_one_order_equals_full_recomputation(
    market: ro.Market, book_name: str, account: Any, instrument: str, quantity: float
) -> None:
    book = ro.Book.sample(book_name)
    # Orders on another underlying than the account holds need naming (the universe lists the held ones).
    w = WhatIf(book, market, account=account, instruments=[instrument])
    result = w.order(instrument, quantity)
    _check(result, _full(book, market, account, [(instrument, quantity)]))
    before = w.margin()
    assert result.initial_usd_before == pytest.approx(before.initial_usd_before, rel=1e-15)


def test_basket_across_groups_and_apply(market: ro.Market) -> None:
    book = ro.Book.sample("linear_inverse")
    w = WhatIf(book, market)
    basket = [
        ("BTC-PERPETUAL", 40_000.0),
        ("BTC_USDC-PERPETUAL", -0.5),
        ("ETH_USDC-26MAR27-3400-P", -10.0),
        ("BTC-25DEC26-100000-C", -1.0),
    ]
    result = w.basket(basket)
    assert result.currency == "USD" and result.group == ""
    _check(result, _full(book, market, None, basket))
    w.apply(basket)
    again = w.order("BTC-PERPETUAL", -40_000.0)
    _check(again, _full(book, market, None, [*basket, ("BTC-PERPETUAL", -40_000.0)]))
    assert again.initial_usd_before == pytest.approx(result.initial_usd_after, rel=RTOL)


def test_order_equals_basket_of_one_and_random_orders(market: ro.Market) -> None:
    book = ro.Book.sample("market_maker")
    w = WhatIf(book, market, account="mm-btc")
    rng = np.random.default_rng(6)
    btc = [i for i, n in enumerate(w.table.names.tolist()) if n.startswith("BTC-")]
    for i in rng.choice(btc, 8, replace=False).tolist():
        name = str(w.table.names[i])
        lot = 0.5 if name.count("-") == 3 else 10_000.0  # options in coin, futures in USD face
        q = float(rng.integers(1, 21)) * lot * float(rng.choice([-1.0, 1.0]))
        one = w.order(name, q)
        np.testing.assert_allclose(one[2:10], w.basket([(name, q)])[2:10], rtol=1e-13)
        _check(one, _full(book, market, "mm-btc", [(name, q)]))


def test_closing_the_book_costs_no_margin(market: ro.Market) -> None:
    book = ro.Book.sample("short_strangle")
    w = WhatIf(book, market)
    close = [(p["instrument"], -p["quantity"]) for p in book.positions()]
    result = w.basket(close)
    assert result.initial_usd_after == pytest.approx(0.0, abs=1e-9)
    assert result.initial_usd_before > 0


def test_one_shot_and_errors(market: ro.Market) -> None:
    book = ro.Book.sample("calendar_spread")
    r = whatif(book, market, [("BTC-PERPETUAL", 10_000.0)])
    _check(r, _full(book, market, None, [("BTC-PERPETUAL", 10_000.0)]))
    w = WhatIf(book, market, listed=False)
    with pytest.raises(KeyError, match="BTC-PERPETUAL"):
        w.order("BTC-PERPETUAL", 10.0)
    with pytest.raises(ValueError, match="not finite"):
        w.basket([("BTC-18DEC26-95000-C", float("nan"))])
    with pytest.raises(ValueError, match="account 'nobody'"):
        WhatIf(book, market, account="nobody")


def test_result_names_the_account_and_converts_to_pandas(market: ro.Market) -> None:
    book = ro.Book.sample("market_maker")
    w = WhatIf(book, market, account="mm-btc")
    r = w.order("BTC-PERPETUAL", -10_000.0)
    assert r.account == "mm-btc" and r.to_dict()["account"] == "mm-btc"
    assert WhatIf(book, market).margin().account == "book"  # every account netted into one
    pd = pytest.importorskip("pandas")
    frame = r.to_pandas()
    assert isinstance(frame, pd.DataFrame) and list(frame.index) == ["mm-btc"]
    assert frame.loc["mm-btc", "maintenance_change"] == pytest.approx(r.maintenance_change, rel=1e-15)
