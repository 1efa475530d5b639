"""Replay of the bundled sample day (`riskoffset replay --sample`): the synthetic stream of BTC and ETH index
moves, vol ticks, futures marks, trades and balance changes on the sample venue (8 accounts, X:PM), through
the public `riskoffset.live.replay.replay`, a fresh engine each round (its construction not timed).

Reported: messages per second.  Bar, a ratio measured in the same run: a message costs at most a fifth of
recomputing the venue from scratch with ``ro.account`` once (on a market already resolved, which favours
the baseline: a from-scratch loop would also resolve the market after each message).  Under
--benchmark-disable it replays the first 500 messages and checks the summary only."""

from __future__ import annotations

import pytest
import riskoffset as ro
from benchlib import median_time
from riskoffset.live import RiskEngine, sample_stream_path
from riskoffset.live.replay import ReplaySummary, replay
from riskoffset.live.samples import sample_venue


@pytest.mark.benchmark(group="replay of the bundled sample day")
def test_replay_of_the_sample_day(benchmark) -> None:  # type: ignore[no-untyped-def]
    disabled = getattr(benchmark, "disabled", False)
    book, balances = sample_venue()
    path = str(sample_stream_path())
    stop = 500 if disabled else None

    def fresh_engine() -> tuple[tuple[RiskEngine], dict[str, object]]:
        return (RiskEngine(book, ro.Market.sample(), balances=balances),), {}

    def run(engine: RiskEngine) -> ReplaySummary:
        return replay(engine, path, stop_after=stop)

    summary = benchmark.pedantic(run, setup=fresh_engine, rounds=1 if disabled else 5, iterations=1)
    assert summary.messages >= (500 if disabled else 5_000) and not summary.bad_lines
    if disabled:
        return
    assert summary.events["margin_call"] >= 1  # the crash leg margin-calls some accounts
    market = ro.Market.sample()
    from_scratch = median_time(lambda: ro.account(book, market, balances, "X:PM"), 9)
    per_message = float(benchmark.stats.stats.median) / summary.messages
    benchmark.extra_info.update(
        messages=summary.messages,
        messages_per_second=1.0 / per_message,
        account_view_s=from_scratch,
        ratio=from_scratch / per_message,
    )
    assert 5 * per_message <= from_scratch, (
        f"{per_message * 1e3:.3f} ms a message against {from_scratch * 1e3:.3f} ms for ro.account"
    )
