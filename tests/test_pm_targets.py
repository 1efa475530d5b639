"""The portfolio-margin kernels on every SIMD target this CPU supports (AVX-512, AVX2, generic): the bulk pass
gives the figures of the numpy reference (bench/pm_numpy_baseline.py: the same formulas written over
(groups x 35) matrices) on a random exchange book, and the live engine's compiled refresh ends where the
account view computed from scratch ends, under each target."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.margining.portfolio import pm_inputs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from benchlib import exchange_book
from pm_numpy_baseline import portfolio_margin_numpy

MARKET = ro.Market.sample()


@pytest.fixture(scope="module")
def book() -> ro.Book:
    return exchange_book(MARKET, 3_000, seed=11)



def written_from_outside(engine: ro.RiskEngine) -> Any:
    """The engine's position pool with its arrays made writeable, as a caller writing into them would have to:
    the refresh then checks every segment again (it trusts the pool only while its arrays are read-only)."""
    p = engine.positions
    assert p.trusted  # (checked when the engine was built: only the arrays' being writeable makes it check again)
    for column in (p.start, p.end, p.indices, p.quantity, p.average):
        column.flags.writeable = True
    return p

def test_the_pm_pass_matches_the_numpy_reference(simd_target: str, book: ro.Book) -> None:
    _, _, inputs, _ = pm_inputs(book, MARKET)
    got = inputs.run(book.indptr, book.indices, book.quantity)
    ref = portfolio_margin_numpy(book, inputs)
    assert np.array_equal(got["account"], ref["account"]) and np.array_equal(got["key"], ref["key"])
    for name in ("initial", "maintenance", "worst_case", "roll_shock", "delta_shock"):
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-12, atol=1e-9, err_msg=f"{name} on {simd_target}")
    clear = np.abs(got["worst_case"]) > 1e-6  # the worst scenario is the reference's where there is a loss
    assert (got["worst_index"][clear] == ref["worst_index"][clear]).mean() > 0.999


def test_positions_in_any_order_give_the_reference(simd_target: str, book: ro.Book) -> None:
    """Each account's positions shuffled, so its groups come back after other groups' positions: the sums the
    pass keeps in registers while a group's positions follow one another are stored and taken up again."""
    _, _, inputs, _ = pm_inputs(book, MARKET)
    rng = np.random.default_rng(17)
    order = np.concatenate([rng.permutation(np.arange(s, e)) for s, e in zip(book.indptr[:-1], book.indptr[1:])])
    key = inputs.instrument_key[book.indices[order]]
    switches = (np.diff(key) != 0) & (np.diff(np.searchsorted(book.indptr, np.arange(len(order)), "right")) == 0)
    assert switches.sum() > len(book.accounts)  # more group changes than accounts: groups are left and taken up again
    got = inputs.run(book.indptr, book.indices[order], book.quantity[order])
    ref = portfolio_margin_numpy(book, inputs)
    for name in ("initial", "maintenance", "worst_case", "roll_shock", "delta_shock"):
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-12, atol=1e-9, err_msg=f"{name} on {simd_target}")


def test_the_live_refresh_matches_the_view(simd_target: str, book: ro.Book) -> None:
    rng = np.random.default_rng(5)
    balances = ro.Balances(np.asarray(book.accounts), ("BTC", "ETH", "USDC"),
                           rng.uniform(0.0, 1.0, (len(book.accounts), 3)) * np.array([2.0, 30.0, 100_000.0]))  # fmt: skip
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    engine.on_index("BTC", MARKET.index["BTC"] * 0.93)
    assert_equals_the_view(engine, simd_target)


def assert_equals_the_view(engine: ro.RiskEngine, simd_target: str) -> None:
    """Every account's figures in the engine equal the account view computed from scratch."""
    view = ro.account(engine.book, engine.market, engine.balances, "X:PM")
    mine = engine.accounts()
    where = {a: j for j, a in enumerate(mine.accounts.tolist())}
    rows = np.array([where[a] for a in view.accounts.tolist()])
    for name in ("initial_usd", "maintenance_usd", "margin_balance_usd", "available_usd"):
        np.testing.assert_allclose(getattr(mine, name)[rows], getattr(view, name), rtol=1e-12, atol=1e-9,
                                   err_msg=f"{name} on {simd_target}")  # fmt: skip
    np.testing.assert_array_equal(mine.below_maintenance[rows], view.below_maintenance)


def test_an_eth_tick_finds_where_each_accounts_eth_positions_start(simd_target: str) -> None:
    """ETH's rows follow BTC's in the sample market's table, so an ETH tick searches each account for its first
    position at or past ETH's first row: accounts of 0 to 12 BTC positions, their ETH positions starting at that
    very row (ETH-PERPETUAL), at a later one, or none; after the tick every account equals the view from scratch."""
    names = [str(n) for n in MARKET.instruments.names]
    btc = [n for n in names if n.startswith("BTC")][:12]
    first_eth = next(n for n in names if n.startswith("ETH"))
    later_eth = [n for n in names if n.startswith("ETH")][3:6]
    accounts, instruments, quantities = [], [], []
    for k in range(len(btc) + 1):
        for eth in ([first_eth, *later_eth], later_eth, [first_eth], []):
            label = f"{k}-{len(eth)}-{eth[:1] == [first_eth]}"
            held = btc[:k] + eth
            if not held:
                continue
            accounts += [label] * len(held)
            instruments += held
            quantities += [(-1.0) ** j * (j + 1) for j in range(len(held))]
    book = ro.Book.from_arrays(accounts, instruments, quantities, instruments=MARKET.instruments)
    balances = ro.Balances(np.asarray(book.accounts), ("BTC", "ETH"), np.ones((len(book.accounts), 2)))
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    engine.on_index("ETH", MARKET.index["ETH"] * 0.9)
    assert_equals_the_view(engine, simd_target)


def test_a_descending_row_anywhere_in_an_account_is_found(simd_target: str) -> None:
    """The engine's refresh checks an account's first and last instrument rows alone when its positions ascend
    (found W at a time): a row out of the table at any place in between (in a vector's lanes or the scalar
    tail) makes the rows descend there and is refused by name; nothing is recomputed."""
    engine = ro.RiskEngine(exchange_book(MARKET, 300, seed=4), MARKET)
    p = written_from_outside(engine)
    rows = np.arange(len(p), dtype=np.int64)
    a = int(np.argmax(p.end - p.start))
    n = int(p.end[a] - p.start[a])
    assert n >= 12  # several vectors and a tail on every target
    before = engine.accounts().initial_usd.copy()
    saved = p.indices.copy()
    for offset in range(1, n - 1):
        at = int(p.start[a]) + offset
        for bad in (-1, len(engine.table) + 7):
            p.indices[at] = bad
            with pytest.raises(ValueError, match=f"position {at} names an instrument row outside the table"):
                engine._refresh(rows, emit=False)
            p.indices[:] = saved
    np.testing.assert_array_equal(engine.accounts().initial_usd, before)


def test_a_row_out_of_the_table_at_either_end_of_an_account_is_found(simd_target: str) -> None:
    """Rows still ascending, the first one below the table or the last one past it: refused by name, nothing
    recomputed (the one-pass check reads each account's first and last rows against the table)."""
    engine = ro.RiskEngine(exchange_book(MARKET, 300, seed=4), MARKET)
    p = written_from_outside(engine)
    rows = np.arange(len(p), dtype=np.int64)
    before = engine.accounts().initial_usd.copy()
    saved = p.indices.copy()
    a = int(np.flatnonzero(p.end - p.start >= 2)[7])
    for at, bad in ((int(p.start[a]), -1), (int(p.end[a]) - 1, len(engine.table) + 7)):
        p.indices[at] = bad
        with pytest.raises(ValueError, match=f"position {at} names an instrument row outside the table"):
            engine._refresh(rows, emit=False)
        p.indices[:] = saved
    np.testing.assert_array_equal(engine.accounts().initial_usd, before)


def test_the_first_bad_position_in_account_order_is_named() -> None:
    """A row out of the table inside one account (its rows then descend) and at the end of another: whichever
    way the check finds each, the error names the one in the earlier account."""
    engine = ro.RiskEngine(exchange_book(MARKET, 300, seed=4), MARKET)
    p = written_from_outside(engine)
    rows = np.arange(len(p), dtype=np.int64)
    long = np.flatnonzero(p.end - p.start >= 4)
    early, late = int(long[10]), int(long[200])
    saved = p.indices.copy()
    for inside, at_end in ((early, late), (late, early)):
        middle, last = int(p.start[inside]) + 2, int(p.end[at_end]) - 1
        p.indices[middle] = len(engine.table) + 3
        p.indices[last] = len(engine.table) + 3
        first = middle if inside == early else last
        with pytest.raises(ValueError, match=f"position {first} names an instrument row outside the table"):
            engine._refresh(rows, emit=False)
        p.indices[:] = saved


def test_positions_out_of_order_are_read_whole_by_a_coin_tick(simd_target: str) -> None:
    """A coin's update reads each account from its first to its last position of that coin when every
    account's positions ascend; an account whose rows descend somewhere (an ETH position before a BTC one) is
    read whole, so a BTC update still counts all of its BTC positions."""
    engine = ro.RiskEngine(exchange_book(MARKET, 300, seed=4), MARKET)
    p = written_from_outside(engine)
    is_btc = np.array([b == "BTC" for b in engine._base])
    eth_before_btc = []
    for a in range(len(p)):
        seg = slice(int(p.start[a]), int(p.end[a]))
        coins = is_btc[p.indices[seg]]
        if coins.any() and (~coins).any():
            order = np.argsort(coins, kind="stable")  # the ETH positions first
            for arr in (p.indices, p.quantity, p.average):
                arr[seg] = arr[seg][order]
            eth_before_btc.append(a)
    assert len(eth_before_btc) > 100
    rows = np.arange(len(p), dtype=np.int64)
    engine._refresh(rows, emit=False)  # every key, positions in any order
    whole = engine.accounts()
    engine._refresh(rows, keys=engine._keys_of("BTC"), emit=False)  # a BTC update's keys only
    coin = engine.accounts()
    for name in ("initial_usd", "maintenance_usd", "margin_balance_usd"):
        np.testing.assert_array_equal(getattr(coin, name), getattr(whole, name), err_msg=name)


def test_threads_give_the_same_bits(book: ro.Book) -> None:
    """An update's accounts split across threads (3,000 accounts: more than one part of 1,024) give exactly
    the figures and events of one thread."""
    rng = np.random.default_rng(9)
    balances = ro.Balances(np.asarray(book.accounts), ("BTC", "USDC"), rng.uniform(0.0, 1.0, (len(book.accounts), 2)) * [1.0, 5_000.0])
    views = []
    for threads in (1, 2, 3):
        engine = ro.RiskEngine(book, MARKET, balances=balances, threads=threads)
        for move in (0.97, 0.9, 0.85):
            engine.on_index("BTC", MARKET.index["BTC"] * move)
        engine.on_trade(5, "BTC-PERPETUAL", -1_000, MARKET.marks["BTC-PERPETUAL"])
        views.append((engine.accounts(), [e.to_dict() for e in engine.events()]))
    (first, events), *others = views
    assert len(events) > 0
    for view, ev in others:
        for name in ("initial_usd", "maintenance_usd", "margin_balance_usd", "available_usd", "mm_ratio"):
            np.testing.assert_array_equal(getattr(view, name), getattr(first, name), err_msg=name)
        assert ev == events
    with pytest.raises(ValueError, match="threads"):
        ro.RiskEngine(book, MARKET, threads=0)


def test_a_bad_position_is_refused_by_name_when_the_check_is_split_across_threads() -> None:
    """With threads, a bulk update's check of the accounts' positions is split too: a row outside the instrument
    table is refused naming the first such position in account order, whichever part finds it, and nothing is
    recomputed."""
    book = exchange_book(MARKET, 20_000, seed=2)
    engine = ro.RiskEngine(book, MARKET, threads=2)
    p = written_from_outside(engine)
    rows = np.arange(len(p), dtype=np.int64)
    early, late = int(p.start[100]), int(p.start[15_000])  # in the first part and in the second
    before = engine.accounts().initial_usd.copy()
    saved = p.indices.copy()
    p.indices[late] = len(engine.table) + 1
    with pytest.raises(ValueError, match=f"position {late} names an instrument row outside the table"):
        engine._refresh(rows, emit=False)
    p.indices[early] = -1
    with pytest.raises(ValueError, match=f"position {early} names an instrument row outside the table"):
        engine._refresh(rows, emit=False)
    p.indices[:] = saved
    np.testing.assert_array_equal(engine.accounts().initial_usd, before)
