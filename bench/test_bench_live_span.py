"""The live engine under SPAN at exchange scale: the book of bench/test_bench_live.py (100,000 accounts x 20
positions over BTC and ETH, each account holding BTC, ETH and USDC), margined by the bundled synthetic SPAN file
of the sample market (`RiskEngine(..., "span", "sample")`, segregated: SPAN's USD margin against USD equity).

Measured against ``ro.margin(book, market, "span", "sample")`` on the whole book in the same run: one BTC index
tick (SPAN's margin comes from the file's risk arrays, so a tick settles every holder's equity against the margin
it keeps), and one trade of a random account (its SPAN margin recomputed for its new positions by the code of
``ro.margin``, then settled).  Under --benchmark-disable it runs 5,000 accounts.
"""

from __future__ import annotations

import pytest
import riskoffset as ro
from benchlib import alternating_prices, assert_speedup, median_time, random_account_trades
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
    """Each trade a random account's, on an instrument it holds (its first position)."""
    _, engine, margin_s = span
    calls = iter(random_account_trades(engine, 2_000, seed=19))
    benchmark.pedantic(lambda: engine.on_trade(*next(calls)), rounds=200, iterations=1)
    if not getattr(benchmark, "disabled", False):
        # ~1,700x measured (0.25 ms against 0.44 s): the account's SPAN through the bulk code, one account.
        assert_speedup(benchmark, margin_s, 500, "a SPAN trade of a random account", "margin")
