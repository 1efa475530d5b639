"""The live engine spread over a Dask cluster (`ro.ClusterEngine`), in 2 shards on a `LocalCluster` of 2 worker
processes, against one `RiskEngine` over the same book in this process.

The BTC index tick of 100,000 accounts x 20 positions over BTC and ETH with BTC, ETH and USDC balances under X:PM,
measured in pairs (one engine's BTC index tick, then the cluster's, one right after the other, so the machine's
state moves both sides alike): the cluster's tick as a multiple of one engine's, and one trade's round trip to its
shard.  On a 2-core machine the client, the scheduler and both workers share the cores, so no speed-up is expected
there; the guard keeps what the cluster adds to an update (the round trip, the events and counters brought back)
from growing: its tick at most 2.5x one engine's.  The figures after the ticks are checked equal to one engine's,
bit for bit.

The replay of the bundled sample day (8 accounts): the cluster's time as a multiple of one engine's, timed before
and after it; at most 3x (each shard prices every quote again, and the batches of messages travel to the workers).

Rebalancing the same 100,000 accounts over the 2 shards (`ClusterEngine.rebalance`: every shard's accounts
gathered on the client, cut again and rebuilt on the workers): its time as a multiple of starting a cluster
engine on the book in the same run; at most 3x.

Under --benchmark-disable they run 2,000 accounts and 500 messages and check only the equality."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
import riskoffset as ro
from benchlib import alternating_prices
from riskoffset.live import sample_stream_path
from riskoffset.live.replay import ReplaySummary, replay
from riskoffset.live.samples import sample_venue
from test_bench_accounts import book_and_balances

pytest.importorskip("dask.distributed")

from riskoffset.distributed import local_cluster

PAIRS = 15
BAR = 2.5  # the cluster's tick at most this multiple of one engine's
REPLAY_BAR = 3.0  # the cluster's replay of the sample day at most this multiple of one engine's
REBALANCE_BAR = 3.0  # a rebalance at most this multiple of starting the cluster engine


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    with local_cluster(2) as c:
        yield c


def _venue(disabled: bool) -> tuple[ro.Market, ro.Book, ro.Balances, ro.RiskEngine]:
    """The sample market, the benchmark book (2,000 accounts under --benchmark-disable, else 100,000) with its
    balances, and one engine over them."""
    market = ro.Market.sample()
    book, balances = book_and_balances(market, 2_000 if disabled else 100_000)
    return market, book, balances, ro.RiskEngine(book, market, balances=balances)


@pytest.mark.benchmark(group="live engine on a Dask cluster, 100k accounts")
def test_cluster_btc_index_tick(benchmark, client) -> None:  # type: ignore[no-untyped-def]
    disabled = getattr(benchmark, "disabled", False)
    market, book, balances, one = _venue(disabled)
    with ro.ClusterEngine(book, market, balances=balances, client=client) as cluster:
        assert cluster.shards == 2
        prices = alternating_prices(market.index["BTC"])
        pairs = []
        for _ in range(1 if disabled else PAIRS):
            price = next(prices)
            start = time.perf_counter()
            one.on_index("BTC", price)
            middle = time.perf_counter()
            cluster.on_index("BTC", price)
            pairs.append((middle - start, time.perf_counter() - middle))
        a, b = one.accounts(), cluster.accounts()
        for name in ("equity", "initial", "maintenance", "mm_ratio"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
        account = book.accounts[7]
        trade = iter([1_000.0, -1_000.0] * 20)
        benchmark.pedantic(lambda: cluster.on_trade(account, "BTC-PERPETUAL", next(trade), market.index["BTC"]),
                           rounds=1 if disabled else 21, iterations=1)  # fmt: skip
    if disabled:
        return
    ratio = statistics.median(c / o for o, c in pairs)
    benchmark.extra_info.update(
        one_engine_tick_s=statistics.median(o for o, _ in pairs),
        cluster_tick_s=statistics.median(c for _, c in pairs),
        cluster_vs_one_engine=ratio,
        cluster_trade_s=float(benchmark.stats.stats.median),
    )
    assert ratio <= BAR, f"the cluster's BTC tick took {ratio:.2f}x one engine's (bar {BAR}x)"


@pytest.mark.benchmark(group="live engine on a Dask cluster, 100k accounts")
def test_cluster_rebalance(benchmark, client) -> None:  # type: ignore[no-untyped-def]
    disabled = getattr(benchmark, "disabled", False)
    market, book, balances, one = _venue(disabled)
    start = time.perf_counter()
    with ro.ClusterEngine(book, market, balances=balances, client=client) as cluster:
        started = time.perf_counter() - start
        counts = benchmark.pedantic(cluster.rebalance, rounds=1 if disabled else 3, iterations=1)
        assert sum(counts) == len(book.indices) and len(counts) == 2
        for engine in (one, cluster):
            engine.on_index("BTC", market.index["BTC"] * 0.97)
        a, b = one.accounts(), cluster.accounts()
        for name in ("equity", "initial", "maintenance", "mm_ratio"):
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-12, atol=1e-9, err_msg=name)
    if disabled:
        return
    took = float(benchmark.stats.stats.median)
    benchmark.extra_info.update(rebalance_s=took, start_s=started, ratio=took / started)
    assert took <= REBALANCE_BAR * started, f"rebalance {took:.2f} s against a start of {started:.2f} s"

@pytest.mark.benchmark(group="live engine on a Dask cluster: replay of the sample day")
def test_cluster_replay_of_the_sample_day(benchmark, client) -> None:  # type: ignore[no-untyped-def]
    disabled = getattr(benchmark, "disabled", False)
    book, balances = sample_venue()
    market = ro.Market.sample()
    path, stop = str(sample_stream_path()), 500 if disabled else None
    rounds = 1 if disabled else 3

    def one_engine() -> float:
        times = []
        for _ in range(rounds):
            engine = ro.RiskEngine(book, market, balances=balances)
            start = time.perf_counter()
            replay(engine, path, stop_after=stop)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    def fresh_cluster() -> tuple[tuple[ro.ClusterEngine], dict[str, object]]:
        return (ro.ClusterEngine(book, market, balances=balances, client=client),), {}

    def run(cluster: ro.ClusterEngine) -> ReplaySummary:
        with cluster:
            return replay(cluster, path, stop_after=stop)

    before = one_engine()
    spread = benchmark.pedantic(run, setup=fresh_cluster, rounds=rounds, iterations=1)
    alone = replay(ro.RiskEngine(book, market, balances=balances), path, stop_after=stop)
    assert spread.events == alone.events and spread.worst == alone.worst and spread.counters == alone.counters
    if disabled:
        return
    baseline = statistics.median([before, one_engine()])
    ours = float(benchmark.stats.stats.median)
    benchmark.extra_info.update(messages=spread.messages, one_engine_s=baseline, cluster_vs_one_engine=ours / baseline,
                                cluster_messages_per_s=spread.messages / ours)  # fmt: skip
    assert ours <= REPLAY_BAR * baseline, f"the cluster's replay took {ours / baseline:.2f}x one engine's (bar {REPLAY_BAR}x)"
