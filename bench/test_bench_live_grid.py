"""The live engine under a scenario grid at exchange scale: the book of bench/test_bench_live.py (100,000 accounts x
20 positions over BTC and ETH, each account holding BTC, ETH and USDC), margined under the bundled Paradex-style
24-scenario grid with its minimum delta requirement (`RiskEngine(..., "grid")`).

Measured against recomputing the account view it keeps current from scratch, ``ro.account(book, market, balances,
"X:SM", margins=ro.margin(book, market, "grid"))``, in the same run: one BTC index tick, one trade of a random
account, one held option's mark-IV tick.  The engine keeps each instrument's P&L in every scenario (repriced when
its quotes move) and its compiled refresh sums them per (account, settlement currency) with the grid pass's kernel,
in the same call as the accounts' equity.  Before, each recomputation ran ``ro.margin`` on the accounts' sub-book:
at 20,000 accounts (from scratch 30.6 ms there) a trade took 2.56 ms (12x), a tick 38.7 ms (0.8x), an option's vol
tick 3.8 ms (8x), which these bars fail.  Under --benchmark-disable it runs 5,000 accounts.
"""

from __future__ import annotations

import pytest
import riskoffset as ro
from benchlib import alternating_prices, assert_speedup, median_time, random_account_trades
from test_bench_accounts import book_and_balances

ROUNDS = 7


@pytest.fixture(scope="module")
def grid(request: pytest.FixtureRequest) -> tuple[ro.Market, ro.RiskEngine, float]:
    disabled = request.config.getoption("benchmark_disable", False)
    market = ro.Market.sample()
    book, balances = book_and_balances(market, 5_000 if disabled else 100_000)
    engine = ro.RiskEngine(book, market, "grid", balances=balances)

    def from_scratch() -> ro.AccountView:
        return ro.account(book, market, balances, "X:SM", margins=ro.margin(book, market, "grid"))

    return market, engine, median_time(from_scratch, 3 if disabled else ROUNDS)


@pytest.mark.benchmark(group="live engine 100k accounts, scenario grid")
def test_grid_btc_index_tick(benchmark, grid) -> None:  # type: ignore[no-untyped-def]
    """Every account holds BTC: each is recomputed on its BTC- and USDC-settled groups (the BTC instruments'
    scenario P&L repriced once); its ETH-settled group keeps its figures."""
    market, engine, scratch_s = grid
    prices = alternating_prices(market.index["BTC"])
    benchmark.pedantic(lambda: engine.on_index("BTC", next(prices)), rounds=ROUNDS, iterations=1)
    assert engine.counters["updates"] >= 1
    if not getattr(benchmark, "disabled", False):
        # 3.1-3.7x measured (30-35 ms against 105-115 ms; 2.7-3.6x when every group was recomputed); 2.3-3.3x on a
        # noisy AMD EPYC since the from-scratch path itself got faster (68-77 ms against 83 ms).
        assert_speedup(benchmark, scratch_s, 2.5, "a grid BTC index tick", "from_scratch")


@pytest.mark.benchmark(group="live engine 100k accounts, scenario grid")
def test_grid_trade_of_a_random_account(benchmark, grid) -> None:  # type: ignore[no-untyped-def]
    """Each trade a random account's, on an instrument it holds (its first position): one compiled call."""
    _, engine, scratch_s = grid
    calls = iter(random_account_trades(engine, 2_000, seed=17))
    benchmark.pedantic(lambda: engine.on_trade(*next(calls)), rounds=400, iterations=1)
    if not getattr(benchmark, "disabled", False):
        # 17,000-28,600x measured (5.1-6.4 us).
        assert_speedup(benchmark, scratch_s, 10_000, "a grid trade of a random account", "from_scratch")


@pytest.mark.benchmark(group="live engine 100k accounts, scenario grid")
def test_grid_option_mark_iv_tick(benchmark, grid) -> None:  # type: ignore[no-untyped-def]
    """A held BTC call's own mark IV: its value, delta and scenario P&L repriced on its kept columns, then its
    holders recomputed on its settlement currency's group (~1,300 holders at 100,000 accounts)."""
    market, engine, scratch_s = grid
    names = engine.table.names.tolist()
    held = [n for n in names if n.startswith("BTC-") and n.endswith("-C") and engine._held[engine.table.row(n)]]
    option = held[len(held) // 2]
    ivs = iter([market.mark_iv[option] * (1.0 + 0.01 * (i % 2)) for i in range(10_000)])
    benchmark.pedantic(lambda: engine.on_ticker(option, mark_iv=next(ivs)), rounds=101, iterations=1)
    if not getattr(benchmark, "disabled", False):
        benchmark.extra_info.update(holders=len(engine._holders_of_row(engine.table.row(option))))
        # 148-195x measured (0.57-0.73 ms, 1,319 holders).
        assert_speedup(benchmark, scratch_s, 80, "a held option's mark-IV tick under a grid", "from_scratch")
