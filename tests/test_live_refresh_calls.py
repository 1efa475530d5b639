"""The live engine's compiled one-account calls (`LiveRefresh.trade`, `LiveRefresh.balance`), called directly:
they read their positional arguments themselves (not through pybind11), so each argument's type and range is
checked here, a refused call changes nothing, and a call with numpy scalars does what one with Python numbers
does."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset._core import margin as core_margin

MARKET = ro.Market.sample()
FUTURE = "BTC-PERPETUAL"
OPTION = min(n for n in MARKET.mark_iv if n.startswith("BTC-"))


def engine_and_call() -> tuple[ro.RiskEngine, Any, list[Any], list[Any]]:
    """An engine with one account holding a BTC perpetual, its bound refresh, and the positional arguments of a
    valid trade (10 USD bought at the mark) and of a valid balance move (+0.5 BTC) of that account."""
    book = ro.Book.from_arrays(["A", "B"], [FUTURE, FUTURE], [100.0, -50.0], instruments=MARKET.instruments)
    balances = ro.Balances.from_mapping({"A": {"BTC": 1.0, "USDC": 1_000.0}, "B": {"BTC": 2.0}})
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    p = engine.positions
    a, row = p.row_of["A"], engine._row_of_name[FUTURE]
    pool = [p.start, p.end, p.indices, p.quantity, p.average, p.size]
    trade = [*pool, a, row, 10.0, float(MARKET.marks[FUTURE]), 0.0, engine._col["BTC"], True, 5, True]
    balance = [*pool, a, engine._col["BTC"], 0.5, True, 5]
    return engine, engine._bound_refresh(None), trade, balance


def state(engine: ro.RiskEngine) -> bytes:
    p = engine.positions
    return pickle.dumps((p.start, p.end, p.indices[: p.size], p.quantity[: p.size], engine.accounts()))


def assert_refused(engine: ro.RiskEngine, call: Any, args: list[Any], position: int, value: Any,
                   error: type[Exception], message: str) -> None:
    """``call`` with ``args[position]`` replaced by ``value`` raises ``error`` matching ``message``, and the engine
    is as it was."""  # fmt: skip
    before = state(engine)
    bad = list(args)
    bad[position] = value
    with pytest.raises(error, match=message):
        call(*bad)
    assert state(engine) == before


def test_a_valid_trade_and_balance_return_their_documented_tuples() -> None:
    engine, refresh, trade, balance = engine_and_call()
    before = engine.account("A")
    assert not any(column.flags.writeable for column in trade[:5])  # the engine's pool, read-only to others
    n, bad, was, now, captured, held_changed = refresh.trade(*trade)
    assert (n, bad, held_changed) == (-2, False, False)  # a fill that changes a position's size: written in place
    assert was == now and captured is None
    assert engine.positions.segment(trade[6])[trade[7]][0] == pytest.approx(110.0)
    assert engine.account("A")["maintenance_usd"] != before["maintenance_usd"]
    bad, was, now, captured = refresh.balance(*balance)
    assert bad is False and was == now and captured is None
    assert engine.account("A")["balance_BTC"] == pytest.approx(1.5)


def test_a_pool_array_over_memory_numpy_does_not_own_is_refused() -> None:
    """The trade writes the engine's read-only pool arrays in place (numpy allocated them); a read-only array
    over other memory (here a bytes object; a file mapped read-only alike) is refused, not written."""
    engine, refresh, trade, _ = engine_and_call()
    for position, name in enumerate(("start", "end", "indices", "quantity", "average")):
        frozen = np.frombuffer(trade[position].tobytes(), dtype=trade[position].dtype)
        assert_refused(engine, refresh.trade, trade, position, frozen, ValueError, f"{name} must be writeable")


def test_numpy_scalars_do_what_python_numbers_do() -> None:
    engine, refresh, trade, _ = engine_and_call()
    twin, twin_refresh, _, _ = engine_and_call()
    plain = refresh.trade(*trade)
    numpy_args = list(trade)
    numpy_args[5:15] = [np.int64(v) if type(v) is int else np.float64(v) if type(v) is float else np.bool_(v)
                        for v in trade[5:15]]  # fmt: skip
    numpy_args[:5] = [twin.positions.start, twin.positions.end, twin.positions.indices, twin.positions.quantity,
                      twin.positions.average]  # fmt: skip
    assert twin_refresh.trade(*numpy_args) == plain
    assert state(twin) == state(engine)


@pytest.mark.parametrize(
    ("position", "value", "error", "message"),
    [
        (0, [0, 1], TypeError, "start must be a numpy array"),
        (3, np.zeros(3, dtype=np.int64), TypeError, "quantity must be a float64 array"),
        (5, 1.5, TypeError, "size must be an integer"),
        (6, "A", TypeError, "row must be an integer"),
        (6, 2**70, TypeError, "row must be an integer that fits 64 bits"),
        (6, 99, ValueError, "row outside the engine's accounts"),
        (7, -1, ValueError, "instrument row outside the table"),
        (8, "10", TypeError, "amount must be a number"),
        (9, float("nan"), ValueError, "must be finite"),
        (9, -1.0, ValueError, "must be finite"),
        (11, 7, ValueError, "fee currency column outside the currencies"),
        (12, 1, TypeError, "refresh must be True or False"),
        (13, -1, ValueError, "capture"),
        (14, None, TypeError, "in_place must be True or False"),
    ],
)
def test_a_trade_with_a_bad_argument_is_refused_and_changes_nothing(
    position: int, value: Any, error: type[Exception], message: str
) -> None:
    engine, refresh, trade, _ = engine_and_call()
    assert_refused(engine, refresh.trade, trade, position, value, error, message)


def test_a_balance_with_a_bad_argument_is_refused_and_changes_nothing() -> None:
    engine, refresh, _, balance = engine_and_call()
    for position, value, error, message in [
        (7, len(engine.currencies), ValueError, "currency column outside the currencies"),
        (8, float("inf"), ValueError, "amount must be finite"),
        (9, "yes", TypeError, "add must be True or False"),
        (1, np.zeros(1, dtype=np.int64), ValueError, "start and end need one entry per account"),
    ]:
        assert_refused(engine, refresh.balance, balance, position, value, error, message)


def test_the_calls_take_their_arguments_by_position_in_the_documented_number() -> None:
    engine, refresh, trade, balance = engine_and_call()
    before = state(engine)
    with pytest.raises(TypeError, match="takes 13 to 15 positional arguments .12 given"):
        refresh.trade(*trade[:12])
    with pytest.raises(TypeError, match="takes 10 to 11 positional arguments .12 given"):
        refresh.balance(*balance, 0)
    with pytest.raises(TypeError, match="keyword"):
        refresh.trade(*trade[:13], capture_top=5)
    assert state(engine) == before
    # The optional ones default to no capture and a new segment (not written in place).
    n, *_ = refresh.trade(*trade[:13])
    assert n == len(engine.positions.segment(trade[6]))


def test_an_uninitialised_refresh_refuses_a_call_rather_than_read_its_memory() -> None:
    refresh = core_margin.LiveRefresh.__new__(core_margin.LiveRefresh)
    ints, floats = np.zeros(1, dtype=np.int64), np.zeros(1)
    with pytest.raises(TypeError, match="not initialized"):
        refresh.trade(ints, ints, ints, floats, floats, 0, 0, 0, 1.0, 1.0, 0.0, 0, True)
    with pytest.raises(TypeError, match="not initialized"):
        refresh.balance(ints, ints, ints, floats, floats, 0, 0, 0, 1.0, True)
    with pytest.raises(TypeError, match="doesn't apply"):
        core_margin.LiveRefresh.trade(1, 2)


def test_an_option_tick_with_a_bad_argument_is_refused_and_changes_nothing() -> None:
    book = ro.Book.from_arrays(["A", "A"], [FUTURE, OPTION], [100.0, -2.0], instruments=MARKET.instruments)
    engine = ro.RiskEngine(book, MARKET, balances=ro.Balances.from_mapping({"A": {"BTC": 1.0}}))
    row = engine._row_of_name[OPTION]
    holders = engine._holders_of_row(row)
    refresh = engine._bound_refresh(engine._inputs.instrument_key[row : row + 1])
    reprice = engine._kept_repricer(row, MARKET.forwards.get(OPTION))
    p = engine.positions
    starts, ends = p.ranges(holders)
    args = [reprice, row, 0.6, starts, ends, p.indices, p.quantity, p.average, holders, 5, False, True]
    for position, value, error, message in [
        (0, object(), TypeError, "reprice has the wrong type"),
        (11, 1, TypeError, "find_worst must be True or False"),
        (1, "row", TypeError, "row must be an integer"),
        (2, None, TypeError, "sigma must be a number"),
        (3, "abc", TypeError, "starts must be an array of numbers"),
        (8, np.array([5], dtype=np.int64), ValueError, "rows outside the engine's accounts"),
        (9, 100, ValueError, "capture"),
    ]:
        assert_refused(engine, refresh.option_tick, args, position, value, error, message)
    before = state(engine)
    with pytest.raises(TypeError, match="takes 9 to 12 positional arguments .8 given"):
        refresh.option_tick(*args[:8])
    assert state(engine) == before
    # Lists convert as arrays do; the tick then reprices the option and recomputes its holder.
    status, moved, levels_before, captured = refresh.option_tick(*args[:3], starts.tolist(), ends.tolist(), *args[5:])
    assert status == -1 and len(moved) == len(levels_before) == 0 and captured is None
    assert state(engine) != before


def test_a_what_if_with_a_bad_fill_is_refused_by_fill_and_changes_nothing() -> None:
    engine, refresh, trade, _ = engine_and_call()
    pool, a, row = trade[:6], trade[6], trade[7]
    good = [[row, row], [10.0, -5.0], [float(MARKET.marks[FUTURE])] * 2, [0.0, 0.0], [engine._col["BTC"]] * 2]
    before = state(engine)
    for field, value, error, message in [
        (0, [row, -1], ValueError, "fill 1: instrument row outside the table"),
        (0, [row, len(engine.table)], ValueError, "fill 1: instrument row outside the table"),
        (1, [10.0, float("nan")], ValueError, "fill 1: amount, price"),
        (2, [-1.0, 1.0], ValueError, "fill 0: amount, price"),
        (3, [0.0, float("inf")], ValueError, "fill 1: amount, price"),
        (4, [0, len(engine.currencies)], ValueError, "fill 1: fee currency column outside the currencies"),
        (1, [10.0], ValueError, "one entry per fill"),
        # (read by the call itself: lists or tuples of numbers, each entry checked)
        (0, np.array([row, row]), TypeError, "instruments must be a list of integers that fit 64 bits"),
        (0, [row, "1"], TypeError, r"instruments must be a list of integers that fit 64 bits \(entry 1\)"),
        (0, [row, 2**70], TypeError, r"\(entry 1\)"),
        (1, "10", TypeError, "amounts must be a list of numbers"),
        (2, (1.0, None), TypeError, r"prices must be a list of numbers \(entry 1\)"),
        (4, [0, 0.5], TypeError, r"fee_cols must be a list of integers that fit 64 bits \(entry 1\)"),
    ]:
        fills = list(good)
        fills[field] = value
        with pytest.raises(error, match=message):
            refresh.what_if(*pool, a, *fills)
        assert state(engine) == before
    with pytest.raises(ValueError, match="one entry per fill"):
        refresh.what_if(*pool, a, [], [], [], [], [])
    with pytest.raises(TypeError, match="takes 12 to 12 positional arguments"):
        refresh.what_if(*pool, a, *good, 1)
    assert refresh.what_if(*pool, a, *[tuple(f) for f in good])[:3] == (0, False, 0)

    class Clears:  # an entry whose conversion empties the list being read: read from a copy, no crash
        def __init__(self, target: list[Any], value: float) -> None:
            self.target, self.value = target, value

        def __float__(self) -> float:
            self.target.clear()
            return self.value

    amounts: list[Any] = []
    amounts += [Clears(amounts, good[1][0]), *good[1][1:]]
    assert refresh.what_if(*pool, a, good[0], amounts, *good[2:]) == refresh.what_if(*pool, a, *good)
    assert state(engine) == before
    status, bad, now, captured = refresh.what_if(*pool, a, *good)
    assert (status, bad, now) == (0, False, 0) and state(engine) == before
    figures, key, index = captured  # (the account as the fills leave it: the engine's capture of it, as a list)
    assert len(figures) == 6 + 4 * len(engine.currencies) and all(type(x) is float for x in figures)
    assert key >= 0 and index >= 0
