"""`RiskEngine.what_if`: a pre-trade check against the live state.  Its figures are the account's after the
same fills applied for real (on a copy of the engine), and the engine is left exactly as it was: every account's
figures and levels to the bit, its positions and balances, no event, no callback, no counter; under every live
margin method, for a new account, for a basket, and for an order the engine refuses."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from hypothesis import given, settings
from hypothesis import strategies as st
from test_live_engine import EXAMPLES, FUTURES, MARKET, OPTIONS, call_of, run, start_book
from test_live_span import engine_of as span_engine

TRADES = st.lists(
    st.tuples(
        st.just("trade"),
        st.sampled_from(["A", "B", "new"]),
        st.sampled_from(OPTIONS[:6] + FUTURES),
        st.integers(-30, 30).filter(lambda x: x != 0),
        st.floats(0.8, 1.2),
    ),
    min_size=1,
    max_size=3,
)


def state_of(engine: ro.RiskEngine) -> bytes:
    """Everything an update could change that a query shows: the account view, positions, levels, counters."""
    p = engine.positions
    rows = np.arange(len(p), dtype=np.int64)
    return pickle.dumps(
        (engine.accounts(), p.csr(rows)[1:3], list(p.labels), engine._level.copy(), dict(engine.counters))
    )


def engine_of(method: str, cross: bool, params: Any = None) -> ro.RiskEngine:
    book, balances = start_book()
    if method == "span":
        return span_engine(cross) if params is None else span_engine(cross, params)
    return ro.RiskEngine(book, MARKET, method, balances=balances, cross=cross)


@pytest.mark.parametrize(
    "method, cross",
    [("deribit-pm", True), ("deribit-pm", False), ("deribit-standard", True), ("grid", False), ("span", True)],
)
@settings(max_examples=EXAMPLES, deadline=None)
@given(warmup=st.lists(TRADES.map(lambda t: t[0]), max_size=3), orders=TRADES)
def test_the_figures_are_those_of_the_fills_and_nothing_changes(
    method: str, cross: bool, warmup: list[tuple[Any, ...]], orders: list[tuple[Any, ...]]
) -> None:
    engine = engine_of(method, cross)
    run(engine, warmup)
    list(engine.events())  # (the warm-up's)
    account = orders[0][1]
    fills = []
    for t, op in enumerate(orders, start=100):
        _, args, kwargs = call_of(engine, t, ("trade", account, *op[2:]))
        fills.append((*args[1:], kwargs["fee"]))
    real = pickle.loads(pickle.dumps(engine))
    before = state_of(engine)
    seen: list[Any] = []
    engine.subscribe(seen.append)
    got = engine.what_if(account, fills)
    assert state_of(engine) == before
    assert seen == [] and list(engine.events()) == []
    for fill in fills:
        real.on_trade(account, *fill)
    assert got == real.account(account)


def test_a_refused_order_changes_nothing_and_raises_as_a_trade_does() -> None:
    engine = engine_of("deribit-pm", True)
    before = state_of(engine)
    with pytest.raises(ValueError, match="not among the engine's instruments"):
        engine.what_if("A", [("BTC-PERPETUAL", 10.0, 90_000.0), ("BTC-1JAN99-1000-C", 1.0, 0.1)])
    with pytest.raises(ValueError, match="price"):
        engine.what_if("newcomer", [("BTC-PERPETUAL", 10.0, -1.0)])
    with pytest.raises(ValueError, match="expected \\(instrument, quantity, price\\)"):
        engine.what_if("A", [("BTC-PERPETUAL", 10.0)])
    with pytest.raises(ValueError, match="account 'nobody' is not in the engine"):
        engine.what_if("nobody", [])
    assert state_of(engine) == before
    assert "newcomer" not in engine.positions.row_of


def test_a_new_account_is_checked_and_dropped() -> None:
    engine = engine_of("deribit-pm", True)
    before = state_of(engine)
    figures = engine.what_if("newcomer", [("BTC-PERPETUAL", -1_000.0, MARKET.marks["BTC-PERPETUAL"])])
    assert figures["initial_usd"] > 0 and figures["available_usd"] < 0  # (no balance: short of its margin)
    assert state_of(engine) == before and "newcomer" not in engine.positions.row_of


def test_a_crossing_order_emits_no_event_but_the_trade_does() -> None:
    """An order that would take account A below its maintenance margin: the what-if shows the level, the
    engine stays where it was and emits nothing; the same trade for real emits the event."""
    engine = engine_of("deribit-pm", True)
    seen: list[Any] = []
    engine.subscribe(seen.append)
    order = (OPTIONS[0], -40.0, 0.0001)  # (40 short calls on account A's 3 BTC and 50,000 USDC)
    figures = engine.what_if("A", [order])
    assert engine.account("A")["level"] == "ok" and figures["level"] == "liquidation"
    assert list(engine.events()) == [] and seen == []
    engine.on_trade("A", *order)
    assert [e.kind for e in engine.events()] and len(seen) == 1 and engine.account("A") == figures


def test_a_cluster_checks_on_the_accounts_shard_as_one_engine_does() -> None:
    from riskoffset.live.cluster import ClusterEngine
    from test_live_cluster import sample_venue

    book, balances = sample_venue()
    one = ro.RiskEngine(book, MARKET, balances=balances)
    cluster = ClusterEngine.in_process(book, MARKET, balances=balances, shards=3)
    orders = [("BTC-PERPETUAL", -20_000.0, MARKET.marks["BTC-PERPETUAL"]), (OPTIONS[0], -2.0, 0.01)]
    before = cluster.accounts()
    for label in [*book.accounts.tolist()[:: max(1, len(book.accounts) // 5)], "newcomer"]:
        assert cluster.what_if(label, orders) == one.what_if(label, orders)
    after = cluster.accounts()
    assert pickle.dumps(after) == pickle.dumps(before) and "newcomer" not in set(after.accounts.tolist())


@pytest.mark.parametrize("method, cross", [("deribit-pm", True), ("deribit-pm", False), ("grid", False), ("span", True)])
def test_a_basket_on_held_instruments_is_one_compiled_call(method: str, cross: bool) -> None:
    """Orders of an existing account on instruments held (the same one twice, one closing a position, one
    opening another) take the compiled call, not the undo log, and give the figures of the fills applied for
    real one after another."""
    engine = engine_of(method, cross)
    held = engine.positions.segment(engine.positions.row_of["A"])
    closing = float(held[engine._row_of_name["BTC-PERPETUAL"]][0])
    orders = [
        (OPTIONS[0], 3.0, 0.012),
        ("BTC-PERPETUAL", -closing, MARKET.marks["BTC-PERPETUAL"], 0.5),  # (A's whole perpetual: closed)
        (OPTIONS[0], -1.0, 0.011),
        ("ETH-PERPETUAL", 500.0, MARKET.marks["ETH-PERPETUAL"]),  # (held by B: opened on A)
    ]
    real = pickle.loads(pickle.dumps(engine))
    before = state_of(engine)
    compiled = engine._dry_fills("A", orders)
    assert compiled is not None and state_of(engine) == before
    for order in orders:
        real.on_trade("A", *order)
    assert compiled == real.account("A") == engine.what_if("A", orders)
    assert state_of(engine) == before


def test_a_basket_the_compiled_call_cannot_take_goes_through_the_undo_log() -> None:
    """A new account, or an instrument no account holds: no compiled call (None, nothing changed); `what_if`
    then answers through the undo log, as the same fills applied for real would."""
    engine = engine_of("deribit-pm", True)
    unheld = next(n for n in OPTIONS if not engine._held[engine._row_of_name[n]])
    before = state_of(engine)
    assert engine._dry_fills("newcomer", [("BTC-PERPETUAL", 10.0, 90_000.0)]) is None
    assert engine._dry_fills("A", [(OPTIONS[0], 1.0, 0.01), (unheld, 1.0, 0.01)]) is None
    assert state_of(engine) == before
    real = pickle.loads(pickle.dumps(engine))
    real.on_trade("A", OPTIONS[0], 1.0, 0.01)
    real.on_trade("A", unheld, 1.0, 0.01)
    assert engine.what_if("A", [(OPTIONS[0], 1.0, 0.01), (unheld, 1.0, 0.01)]) == real.account("A")
    assert state_of(engine) == before


@pytest.mark.parametrize(
    "method, cross",
    [("deribit-pm", True), ("deribit-pm", False), ("deribit-standard", True), ("grid", False), ("span", True)],
)
def test_one_accounts_figures_are_those_every_accounts_columns_give(method: str, cross: bool) -> None:
    """`account` (and a what-if's answer) build one account's dictionary directly; it equals the one the columns
    of every account give (the events' and a bulk query's), the same names in the same order, the worst scenario
    included, after trades and an index move that leave some accounts' worst scenarios to be searched."""
    engine = engine_of(method, cross)
    engine.LAZY_WORST_ACCOUNTS = 1  # (every recomputation leaves the worst scenarios for the queries to search)
    engine.on_trade("A", OPTIONS[0], -8.0, 0.01)
    engine.on_index("BTC", MARKET.index["BTC"] * 0.9)
    engine.on_trade("B", "BTC-PERPETUAL", 5_000.0, MARKET.marks["BTC-PERPETUAL"])
    if method == "deribit-pm":  # (what a lazy pass leaves in a stale cell is out of date: here, scenario 0)
        stale = engine._worst_stale.copy()
        assert stale.any()
        engine._key_worst_index[stale] = 0  # (an account's worst scenario is its largest group's)
    labels = list(engine.positions.labels)
    ones = [engine.account(label) for label in labels]
    columns = engine._rows(np.arange(len(labels), dtype=np.int64))
    assert [list(d.items()) for d in ones] == [list(d.items()) for d in columns]
    if method in ("deribit-pm", "grid"):
        assert all("worst_scenario" in d for d in ones)
