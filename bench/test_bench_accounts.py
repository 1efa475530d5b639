"""The account view at exchange scale: 100,000 accounts x 20 positions over the sample market's instruments,
each account holding BTC, ETH and USDC, under X:PM (`ro.account`: Deribit PM margins per account and
settlement currency with the coin balances inside the scenarios, then collateral valued at the index with IM
haircuts and pooled in USD).

The bar is 0.5 s on one core, asserted as a ratio to ``ro.margin(book, market, "deribit-pm")`` on the same
book without collateral measured in the same run: the whole view takes at most 2.5 x the margin alone.
Under --benchmark-disable it runs 5,000 accounts.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import riskoffset as ro
from benchlib import exchange_positions

SEED = 20261204


def book_and_balances(market: ro.Market, accounts: int) -> tuple[ro.Book, ro.Balances]:
    rng = np.random.default_rng(SEED)
    table = market.instruments
    book = ro.Book.from_arrays(*exchange_positions(table, accounts, 20, rng), instruments=table)
    amounts = rng.uniform(0.0, 1.0, (accounts, 3)) * np.array([2.0, 30.0, 100_000.0])
    return book, ro.Balances(np.arange(accounts), ("BTC", "ETH", "USDC"), amounts)


@pytest.mark.benchmark(group="account view 100k accounts x 3 currencies")
def test_account_view_100k_x_pm(benchmark) -> None:  # type: ignore[no-untyped-def]
    disabled = getattr(benchmark, "disabled", False)
    accounts = 5_000 if disabled else 100_000
    market = ro.Market.sample()
    book, balances = book_and_balances(market, accounts)
    ro.margin(book, market, "deribit-pm")  # warm: the market resolved for this table, buffers pooled
    view = benchmark.pedantic(ro.account, args=(book, market, balances, "X:PM"), rounds=5, iterations=1)
    baseline_times = []
    for _ in range(5):
        start = time.perf_counter()
        margin = ro.margin(book, market, "deribit-pm")
        baseline_times.append(time.perf_counter() - start)
    assert len(view) == accounts
    static = ro.account(book, market, balances, "X:PM", dynamic_collateral=False)
    assert static.initial_usd.sum() == pytest.approx(margin.initial_usd, rel=1e-12)
    i = accounts // 2  # one account by hand: USD collateral after haircuts minus IM
    table = ro.CollateralTable.load()
    index = {"BTC": market.index["BTC"], "ETH": market.index["ETH"], "USDC": 1.0}
    # equity per currency: the balance plus the options' mark value (the view's equity minus its balance)
    equity = {c: view.equity[i, view.currencies.index(c)] for c in balances.currencies}
    coll = sum(equity[c] * index[c] * (1 - table.get(c).haircut_for("im")) for c in balances.currencies)
    assert view.available_usd[i] == pytest.approx(coll - view.initial_usd[i], rel=1e-12)
    if not disabled:
        ours = float(benchmark.stats.stats.median)
        baseline = float(np.median(baseline_times))
        benchmark.extra_info.update(account_view_s=ours, margin_s=baseline, ratio=ours / baseline)
        assert ours <= 2.5 * baseline, f"ro.account {ours:.3f} s vs ro.margin {baseline:.3f} s"
