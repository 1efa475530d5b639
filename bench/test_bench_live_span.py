"""The live engine under SPAN at exchange scale: the book of bench/test_bench_live.py (100,000 accounts x 20
positions over BTC and ETH, each account holding BTC, ETH and USDC), margined by the bundled synthetic SPAN file
of the sample market (`RiskEngine(..., "span", "sample")`, segregated: SPAN's USD margin against USD equity).

Measured against ``ro.margin(book, market, "span", "sample")`` on the whole book in the same run: one BTC index
tick (SPAN's margin comes from the file's risk arrays, so a tick settles every holder's equity against the margin
it keeps), and one trade of a random account (its SPAN margin recomputed for its new positions, then settled, in
one compiled call).  Under --benchmark-disable it runs 5,000 accounts.
"""

from __future__ import annotations

import numpy as np
import pytest
import riskoffset as ro
from benchlib import alternating_prices, assert_speedup, median_time, random_account_trades
from riskoffset.margining.span.algorithm import net_positions, span_account
from test_bench_accounts import book_and_balances

ROUNDS = 7


@pytest.fixture(scope="module")
def span(request: pytest.FixtureRequest) -> tuple[ro.Market, ro.RiskEngine, float]:
    disabled = request.config.getoption("benchmark_disable", False)
    market = ro.Market.sample()
    book, balances = book_and_balances(market, 5_000 if disabled else 100_000)
    engine = ro.RiskEngine(book, market, "span", "sample", balances=balances, cross=False)
    margin_s = median_time(lambda: ro.margin(book, market, "span", "sample"), 3 if disabled else ROUNDS)
    return market, engine, margin_s


@pytest.mark.benchmark(group="live engine 100k accounts, SPAN")
def test_span_btc_index_tick(benchmark, span) -> None:  # type: ignore[no-untyped-def]
    market, engine, margin_s = span
    prices = alternating_prices(market.index["BTC"])
    benchmark.pedantic(lambda: engine.on_index("BTC", next(prices)), rounds=ROUNDS, iterations=1)
    assert engine.counters["updates"] >= 1
    if not getattr(benchmark, "disabled", False):
        # ~40x measured (11 ms against 0.44 s).
        assert_speedup(benchmark, margin_s, 20, "a SPAN BTC index tick", "margin")


@pytest.mark.benchmark(group="live engine 100k accounts, SPAN")
def test_span_trade_of_a_random_account(benchmark, span) -> None:  # type: ignore[no-untyped-def]
    """Each trade a random account's, on an instrument it holds (its first position): position, cash, the
    account's SPAN margin for its new positions and its figures in one compiled call.  Against ``ro.margin`` on
    the book, and against SPAN's per-account path (`span_account`) on an account's positions."""
    _, engine, margin_s = span
    calls = iter(random_account_trades(engine, 2_000, seed=19))
    benchmark.pedantic(lambda: engine.on_trade(*next(calls)), rounds=200, iterations=1)
    if getattr(benchmark, "disabled", False):
        return
    inputs, p = engine._span, engine.positions
    accounts = iter(np.random.default_rng(23).integers(len(p), size=50).tolist())

    def per_account_path() -> None:
        a = next(accounts)
        rows = p.indices[p.start[a] : p.end[a]]
        contracts = p.quantity[p.start[a] : p.end[a]] * inputs.per_unit[rows]
        span_account(inputs.span, *net_positions(inputs.contract[rows], contracts), inputs.options)

    per_account_s = median_time(per_account_path, 50)
    # ~115x measured (7.95 us against 0.91 ms), and ~50,000x ro.margin (0.35-0.48 s).
    assert_speedup(benchmark, per_account_s, 50, "a SPAN trade of a random account", "per_account_path")
    assert_speedup(benchmark, margin_s, 10_000, "a SPAN trade of a random account", "margin")
