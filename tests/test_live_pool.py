"""The live engine's position pool: read-only to everyone but the engine's own writers, and checked by the
compiled refresh until a refresh of every account has checked it; after that an index tick does not read every
position again, unless an array was made writeable (written from outside) or the pool was read back from a
pickle or a snapshot."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import riskoffset as ro
from test_pm_targets import MARKET, exchange_book


def pool_columns(p: object) -> list[np.ndarray]:
    return [getattr(p, name) for name in ("start", "end", "indices", "quantity", "average")]


def test_the_pool_is_read_only_and_trusted_once_every_account_was_checked() -> None:
    engine = ro.RiskEngine(exchange_book(MARKET, 200, seed=3), MARKET)
    p = engine.positions
    assert p.trusted  # (the engine's first refresh recomputed, so checked, every account)
    for column in pool_columns(p):
        assert not column.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        p.indices[0] = 0
    # Trades, an undone update and a compaction keep the pool read-only and trusted.
    account = p.labels[0]
    engine.on_trade(account, "BTC-PERPETUAL", 10.0, MARKET.marks["BTC-PERPETUAL"])
    with pytest.raises(ValueError):
        engine.on_trade(account, "BTC-PERPETUAL", float("nan"), MARKET.marks["BTC-PERPETUAL"])
    p.compact()
    engine.on_index("BTC", MARKET.index["BTC"] * 0.95)
    assert p.trusted and not any(column.flags.writeable for column in pool_columns(p))


def test_a_pool_read_back_is_checked_before_it_is_trusted() -> None:
    """A pickled engine whose pool holds a row outside the table (as a damaged or doctored file would) comes back
    untrusted, and its first refresh refuses that position by name."""
    engine = ro.RiskEngine(exchange_book(MARKET, 200, seed=3), MARKET)
    p = engine.positions
    at = int(p.start[5])
    p.indices.flags.writeable = True
    p.indices[at] = len(engine.table) + 4
    p.indices.flags.writeable = False  # (never refreshed like this: it would be trusted)
    back = pickle.loads(pickle.dumps(engine))
    q = back.positions
    assert not q.trusted and not any(column.flags.writeable for column in pool_columns(q))
    with pytest.raises(ValueError, match=f"position {at} names an instrument row outside the table"):
        back._refresh(np.arange(len(q), dtype=np.int64), emit=False)
    assert not q.trusted


def test_the_refresh_honours_trusted_only_for_read_only_pool_arrays() -> None:
    """Called directly, the compiled refresh skips the position check only while the pool's start, end and index
    arrays are all read-only: a bad row in a writeable copy of any of them is refused even with trusted=True."""
    engine = ro.RiskEngine(exchange_book(MARKET, 200, seed=3), MARKET)
    p = engine.positions
    refresh = engine._bound_refresh(None)
    rows = np.arange(len(p), dtype=np.int64)
    bad = p.indices.copy()  # writeable
    at = int(p.start[9])
    bad[at] = len(engine.table) + 2
    for starts, ends in ((p.start, p.end), (p.start.copy(), p.end), (p.start, p.end.copy())):
        with pytest.raises(ValueError, match=f"position {at} names an instrument row outside the table"):
            refresh(starts, ends, bad, p.quantity, p.average, rows, True, 0, True)
    # The engine's own read-only arrays with trusted=True: recomputed, the same figures as a checked call.
    before = engine.accounts().initial_usd.copy()
    refresh(p.start, p.end, p.indices, p.quantity, p.average, rows, True, 0, True)
    np.testing.assert_array_equal(engine.accounts().initial_usd, before)
    with pytest.raises(ValueError, match="rows outside the engine's accounts"):
        refresh(p.start[:2], p.end[:2], p.indices, p.quantity, p.average, np.array([0, len(p)]), True, 0, True)


def test_an_option_tick_honours_trusted_only_for_read_only_pool_arrays() -> None:
    """The vol tick's compiled call takes the pool's trust as the refresh does: a bad row in a writeable copy of
    the index array is refused even with trusted=True (nothing changed); the engine's own arrays are trusted."""
    engine = ro.RiskEngine(exchange_book(MARKET, 200, seed=3), MARKET)
    p = engine.positions
    held = [n for n in engine._names if engine._held[engine.table.row(n)]]
    option = next(n for n in held if n.startswith("BTC-") and n[-1] in "CP")
    row = engine.table.row(option)
    holders = engine._holders_of_row(row)
    starts, ends = p.ranges(holders)
    refresh = engine._bound_refresh(engine._inputs.instrument_key[row : row + 1])
    reprice = engine._kept_repricer(row, None)
    bad = p.indices.copy()
    at = int(starts[0])
    bad[at] = len(engine.table) + 2
    before = engine.accounts().initial_usd.copy()
    sigma = float(MARKET.mark_iv[option]) * 1.5
    with pytest.raises(ValueError, match=f"position {at} names an instrument row outside the table"):
        refresh.option_tick(reprice, row, sigma, starts, ends, bad, p.quantity, p.average, holders, 0, True)
    np.testing.assert_array_equal(engine.accounts().initial_usd, before)
    pool = (p.indices, p.quantity, p.average)
    status, _, _, _ = refresh.option_tick(reprice, row, sigma, starts, ends, *pool, holders, 0, True)
    assert status == -1 and not np.array_equal(engine.accounts().initial_usd, before)


@pytest.mark.parametrize(("column", "value"), [("end", 10**9), ("start", -1), ("end", -3)])
def test_a_segment_moved_outside_the_pool_from_outside_is_refused_by_name(column: str, value: int) -> None:
    """An account's start or end made writeable and moved outside the pool (nothing valid does this) is refused
    by the account's name wherever the pool is read: whole-book queries, ticks and trades; never an IndexError,
    an allocation of the moved size, or positions read from the pool's unused room."""
    engine = ro.RiskEngine(exchange_book(MARKET, 50, seed=3), MARKET)
    p = engine.positions
    label = p.labels[4]
    array = getattr(p, column)
    array.flags.writeable = True
    array[4] = value
    for call in (engine.accounts, lambda: engine.book, lambda: engine.on_index("BTC", MARKET.index["BTC"] * 1.01)):
        with pytest.raises(ValueError, match=f"account {label!r}: the account's segment .* lies outside the pool"):
            call()
    with pytest.raises(ValueError, match="segment lies outside the pool"):
        engine.on_trade(label, str(engine.table.names[int(p.indices[0])]), 1.0, 1.0)
