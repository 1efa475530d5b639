"""The live refresh's settle cells (riskoffset.live.cells): an account's options value and futures P&L (and under
standard margin its IM and MM) kept per (underlying, settlement currency) cell, so that an index tick of one coin
re-sums that coin's cells only.  After any sequence of updates the kept cells equal the sums of the accounts'
positions (numpy) and every figure is exactly that of a recomputation of every account, and a coin's tick leaves
the other coins' cells as they were."""

from __future__ import annotations

import dataclasses
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.accounts.equity import futures_unrealised_pnl
from riskoffset.live.cells import MAX_SEGMENTS, settle_cells
from riskoffset.margining.standard import margins_of_positions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from benchlib import exchange_book
from test_live_engine import restored_without
from test_live_span import engine_of as span_engine

MARKET = ro.Market.sample()
LATE_BTC = "BTC-25DEC26-"  # (a BTC expiry's options)
KEPT = ("_options", "_futures", "_options_part", "_futures_part", "_initial_part", "_maintenance_part", "_initial",
        "_maintenance", "_key_initial", "_key_maintenance", "_level")  # fmt: skip
CELLED = ("deribit-pm", "deribit-standard", "grid")  # the methods whose engines keep settle cells
USD = ("margin_balance", "initial_usd", "maintenance_usd", "available", "ratio")  # (settled where read: `_figures`)


def test_cells_are_numbered_as_the_rows_first_name_them() -> None:
    underlying = np.array([3, 3, 1, 3, 1, 3])
    settle_col = np.array([0, 2, 1, 0, 2, 2])
    cells = settle_cells(underlying, settle_col)
    assert cells is not None
    np.testing.assert_array_equal(cells.cell_of, [0, 1, 2, 0, 3, 1])
    np.testing.assert_array_equal(cells.currency, [0, 2, 1, 2])
    np.testing.assert_array_equal(cells.segment, [1, 1, 0, 0])  # (segments: the underlyings in code order)
    assert len(cells) == 4
    assert settle_cells(np.array([5, 5, 5]), np.array([0, 1, 0])) is None  # one underlying: the currencies
    many = np.arange(MAX_SEGMENTS + 1)
    assert settle_cells(many, np.zeros_like(many)) is None


def _engine(method: str, interleaved: bool = False) -> ro.RiskEngine:
    book = exchange_book(MARKET, 400, seed=21)
    rng = np.random.default_rng(5)
    if interleaved:  # no position in a BTC expiry's options: the engine lists them after the ETH rows
        names = book.instruments.names[book.indices]
        keep = ~np.char.startswith(names.astype(str), LATE_BTC)
        account = np.repeat(np.asarray(book.accounts), np.diff(book.indptr))
        book = ro.Book.from_arrays(account[keep], names[keep], book.quantity[keep], instruments=MARKET.instruments)
    amounts = rng.uniform(0.0, 1.0, (len(book.accounts), 3)) * [2.0, 30.0, 20_000.0]
    balances = ro.Balances(np.asarray(book.accounts), ("BTC", "ETH", "USDC"), amounts)
    return ro.RiskEngine(book, MARKET, method=method, balances=balances)


def _kept(engine: ro.RiskEngine) -> dict[str, Any]:
    kept = {name: getattr(engine, name).copy() for name in KEPT}
    return {**kept, **dict(zip(USD, engine._figures(np.arange(len(engine.positions), dtype=np.int64))[1]))}


def _cells_by_numpy(engine: ro.RiskEngine) -> tuple[Any, Any, Any, Any]:
    """Each account's options value, futures P&L and (under standard margin, else zeros) IM and MM per cell,
    summed here over its positions (an independent reference: numpy, in another order)."""
    cells, p = engine._cells, engine.positions
    assert cells is not None
    n = len(p)
    account = np.repeat(np.arange(n), p.end[:n] - p.start[:n])
    at = np.concatenate([np.arange(s, e) for s, e in zip(p.start[:n].tolist(), p.end[:n].tolist())])
    rows, q = p.indices[at], p.quantity[at]
    options, futures = np.zeros((n, len(cells))), np.zeros((n, len(cells)))
    np.add.at(options, (account, cells.cell_of[rows]), q * engine._unit_value[rows])
    fut = engine._future[rows]
    pnl = futures_unrealised_pnl(q[fut], p.average[at][fut], engine._mark[rows][fut], engine._inverse[rows][fut])
    np.add.at(futures, (account[fut], cells.cell_of[rows][fut]), pnl)
    initial, maintenance = np.zeros((n, len(cells))), np.zeros((n, len(cells)))
    if engine._standard is not None:
        im, mm = margins_of_positions(engine._standard, rows, q)
        np.add.at(initial, (account, cells.cell_of[rows]), im)
        np.add.at(maintenance, (account, cells.cell_of[rows]), mm)
    return options, futures, initial, maintenance


def _cells_in_position_order(engine: ro.RiskEngine, a: int) -> tuple[list[float], ...]:
    """Account ``a``'s cells summed here in plain floats (each product rounded, then added) in the order the
    settle documents: its positions by instrument row, the options' values (and under standard margin each
    position's IM and MM) in runs of one cell (each run summed on its own, then added to its cell), each futures
    P&L added to its cell.  Every path of the refresh must give these bits, whichever part of the positions an
    update reads and whichever loop reads them."""
    cells, p = engine._cells, engine.positions
    assert cells is not None
    options, futures = [0.0] * len(cells), [0.0] * len(cells)
    initial, maintenance = [0.0] * len(cells), [0.0] * len(cells)
    span = range(int(p.start[a]), int(p.end[a]))
    margins = None
    if engine._standard is not None:  # (each position's margins: `test_margin_standard` checks them)
        margins = margins_of_positions(engine._standard, p.indices[span.start : span.stop], p.quantity[span.start : span.stop])
    run_cell, run, run_im, run_mm = 0, 0.0, 0.0, 0.0
    for j, at in enumerate(span):
        row, q = int(p.indices[at]), float(p.quantity[at])
        c = int(cells.cell_of[row])
        if c != run_cell:
            options[run_cell] += run
            initial[run_cell] += run_im
            maintenance[run_cell] += run_mm
            run_cell, run, run_im, run_mm = c, 0.0, 0.0, 0.0
        run += q * float(engine._unit_value[row])
        if margins is not None:
            run_im += float(margins[0][j])
            run_mm += float(margins[1][j])
        if engine._future[row]:
            average, mark = float(p.average[at]), float(engine._mark[row])
            futures[c] += q * (1.0 / average - 1.0 / mark) if engine._inverse[row] else q * (mark - average)
    options[run_cell] += run
    initial[run_cell] += run_im
    maintenance[run_cell] += run_mm
    return options, futures, initial, maintenance


def _in_cell_order(engine: ro.RiskEngine, parts: Any, currency: int) -> float:
    """One currency's sum of an account's cells ``parts``, added in cell order (as the refresh adds them)."""
    cells = engine._cells
    assert cells is not None
    total = 0.0
    for c in np.flatnonzero(cells.currency == currency).tolist():
        total += float(parts[c])
    return total


def _assert_same_as_from_scratch(engine: ro.RiskEngine, step: str) -> None:
    standard = engine._standard is not None
    for a in range(0, len(engine.positions), 7):
        options_a, futures_a, initial_a, maintenance_a = _cells_in_position_order(engine, a)
        assert engine._options_part[a].tolist() == options_a, (step, a)
        assert engine._futures_part[a].tolist() == futures_a, (step, a)
        if standard:  # its margins per cell, and per currency the cells' sums in cell order
            assert engine._initial_part[a].tolist() == initial_a, (step, a)
            assert engine._maintenance_part[a].tolist() == maintenance_a, (step, a)
            for c in range(len(engine.currencies)):
                assert engine._initial[a, c] == _in_cell_order(engine, initial_a, c), (step, a, c)
                assert engine._maintenance[a, c] == _in_cell_order(engine, maintenance_a, c), (step, a, c)
    options, futures, initial, maintenance = _cells_by_numpy(engine)
    np.testing.assert_allclose(engine._options_part, options, rtol=1e-12, atol=1e-9, err_msg=f"options after {step}")
    np.testing.assert_allclose(engine._futures_part, futures, rtol=1e-12, atol=1e-9, err_msg=f"futures after {step}")
    if standard:
        np.testing.assert_allclose(engine._initial_part, initial, rtol=1e-12, atol=1e-9, err_msg=f"IM after {step}")
        np.testing.assert_allclose(engine._maintenance_part, maintenance, rtol=1e-12, atol=1e-9, err_msg=f"MM after {step}")
        assert np.abs(initial).sum() > 0  # (the accounts hold short options or futures)
    kept = _kept(engine)
    engine._refresh(np.arange(len(engine.positions), dtype=np.int64), emit=False)
    for name, now in _kept(engine).items():
        np.testing.assert_array_equal(kept[name], now, err_msg=f"{name} after {step}")


def test_every_method_but_span_keeps_cells_only_standard_margin_its_margins() -> None:
    """Under portfolio margin, standard margin and a grid the engine keeps the cells; only standard margin keeps
    its margins per cell (portfolio margin's are per vector key, a grid's per currency).  Under SPAN every update
    settles its accounts whole: no cells, the currencies' sums made directly (and the figures of
    `test_live_span`)."""
    span = span_engine(cross=False)
    assert span._cells is None and span._options_part.shape == (len(span.positions), 0)
    assert span._options.shape == (len(span.positions), len(span.currencies))
    n = 400
    for method in CELLED:
        engine = _engine(method)
        assert engine._cells is not None and engine._options.shape == (n, 0)
        width = len(engine._cells) if method == "deribit-standard" else 0
        assert engine._initial_part.shape == engine._maintenance_part.shape == (n, width)


def test_standard_margin_in_another_currency_than_the_settlement_keeps_no_cells() -> None:
    """Standard margin kept per cell needs each instrument's margin in the currency its value settles in: the
    engine keeps no cells when one is not (and the refresh refuses to bind such cells)."""
    engine = _engine("deribit-standard")
    assert engine._standard_col is not None and engine._cells is not None
    engine._standard_col = engine._standard_col.copy()
    engine._standard_col[0] = (engine._settle_col[0] + 1) % len(engine.currencies)
    assert engine._settle_cells() is None
    engine._columns_cache = None  # (the refresh bound afresh: to the altered column, with the kept cells)
    engine._bound_cache, engine._refresher_cache = {}, {}
    with pytest.raises(ValueError, match="standard_col of instrument row 0: with settle cells, its settlement currency"):
        engine.on_index("BTC", MARKET.index["BTC"] * 1.01)


@pytest.mark.parametrize("method", CELLED)
@pytest.mark.parametrize("interleaved", [False, True])
def test_any_sequence_of_updates_keeps_the_cells_of_a_full_recomputation(
    method: str, interleaved: bool, simd_target: str
) -> None:
    engine = _engine(method, interleaved)
    assert engine._cells is not None and len(engine._cells) >= 4  # BTC and ETH, each in its coin and USDC
    rng = np.random.default_rng(17)
    options = [n for n in sorted(MARKET.mark_iv) if n.startswith(("BTC-", "ETH-"))][::25]
    if interleaved:  # accounts open positions in them: their BTC positions lie on both sides of their ETH ones
        late = [n for n in sorted(MARKET.mark_iv) if n.startswith(LATE_BTC)][::5]
        for a in range(0, 400, 3):
            engine.on_trade(engine.positions.labels[a], late[a % len(late)], 1.0, 0.01)
        rows = engine._row_of_name
        assert min(rows[n] for n in late) > max(rows[n] for n in options if n.startswith("ETH-"))
        options += late
    futures = ["BTC-PERPETUAL", "ETH-PERPETUAL", "BTC_USDC-PERPETUAL", "ETH_USDC-PERPETUAL"]
    accounts = engine.positions.labels
    for step in range(40):
        kind = step % 5
        if kind in (0, 1):
            coin = "BTC" if rng.random() < 0.5 else "ETH"
            engine.on_index(coin, engine.market.index[coin] * float(rng.uniform(0.97, 1.03)))
            what = f"{coin} index tick"
        elif kind == 2:
            name = options[int(rng.integers(len(options)))]
            engine.on_ticker(name, mark_iv=float(engine.market.mark_iv[name] * rng.uniform(0.9, 1.1)))
            what = f"vol tick of {name}"
        elif kind == 3:
            name = (options + futures)[int(rng.integers(len(options) + len(futures)))]
            account = accounts[int(rng.integers(len(accounts)))]
            price = engine.market.marks.get(name, 0.01)
            engine.on_trade(account, name, float(rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 5.0)), price)
            what = f"trade of {name}"
        else:
            account = accounts[int(rng.integers(len(accounts)))]
            engine.on_balance(account, "ETH", float(rng.uniform(0.0, 10.0)))
            what = "balance"
        _assert_same_as_from_scratch(engine, what)


@pytest.mark.parametrize("method", CELLED)
def test_a_coin_tick_keeps_the_other_coins_cells(method: str) -> None:
    """A BTC tick re-sums the BTC cells and keeps the ETH ones: values planted in the ETH options' USDC and ETH
    cells survive it, and each currency's options value is its cells' sum in cell order (the engine keeps no
    column of it), planted ones included, in the account's queried equity too; the next full recomputation
    replaces the planted values.  Under standard margin the same holds of the IM cells and the IM."""
    engine = _engine(method)
    cells = engine._cells
    assert cells is not None
    assert engine._options.shape == (len(engine.positions), 0)  # (derived from the cells: `_parts`)
    base = np.array(engine._base)
    eth_cells = np.unique(cells.cell_of[base == "ETH"])
    btc_cells = np.unique(cells.cell_of[base == "BTC"])
    assert not set(eth_cells) & set(btc_cells)
    usdc, eth = engine.currencies.index("USDC"), engine.currencies.index("ETH")
    cell = int(next(c for c in eth_cells if cells.currency[c] == usdc))  # the ETH options settled in USDC
    eth_cell = int(next(c for c in eth_cells if cells.currency[c] == eth))
    a = int(np.flatnonzero(engine._options_part[:, cell] != 0)[0])
    row = np.array([a], dtype=np.int64)

    def options_of(currency: int) -> float:
        return float(engine._figures(row)[0][0][0, currency])

    def cell_sum(currency: int) -> float:
        total = 0.0  # its cells added in cell order
        for c in np.flatnonzero(cells.currency == currency).tolist():
            total += float(engine._options_part[a, c])
        return total

    true_value, eth_sum = engine._options_part[a, cell], options_of(eth)
    assert eth_sum == cell_sum(eth)
    planted = true_value + 1.0
    engine._options_part[a, cell] = planted
    engine._options_part[a, eth_cell] += 1.0
    btc_before = engine._options_part[a, btc_cells].copy()
    standard = method == "deribit-standard"
    if standard:
        true_im = engine._initial_part[a, eth_cell]
        engine._initial_part[a, eth_cell] += 0.5
        btc_im_before = engine._initial_part[a, btc_cells].copy()
    engine.on_index("BTC", MARKET.index["BTC"] * 1.01)
    if standard:
        assert engine._initial_part[a, eth_cell] == true_im + 0.5
        assert not np.array_equal(engine._initial_part[a, btc_cells], btc_im_before)
        assert engine._initial[a, eth] == _in_cell_order(engine, engine._initial_part[a], eth)
        assert engine.account(engine.positions.labels[a])["initial_ETH"] == engine._initial[a, eth]
    assert engine._options_part[a, cell] == planted
    assert not np.array_equal(engine._options_part[a, btc_cells], btc_before)  # (the BTC cells were re-summed)
    assert options_of(usdc) == cell_sum(usdc)
    assert options_of(eth) == cell_sum(eth) != eth_sum
    figures = engine.account(engine.positions.labels[a])
    futures = engine._figures(row)[0][1][0]
    for currency, c in (("USDC", usdc), ("ETH", eth)):
        assert figures[f"equity_{currency}"] == engine._balance[a, c] + cell_sum(c) + futures[c]
    engine._refresh(np.arange(len(engine.positions), dtype=np.int64), emit=False)
    assert engine._options_part[a, cell] == true_value
    assert options_of(eth) == eth_sum
    if standard:
        assert engine._initial_part[a, eth_cell] == true_im


def _assert_both_follow(engine: ro.RiskEngine, old: ro.RiskEngine) -> None:
    """An ETH tick and a trade applied to both engines leave them with the same kept arrays, bit for bit."""
    for e in (engine, old):
        e.on_index("ETH", MARKET.index["ETH"] * 0.98)
        e.on_trade(e.positions.labels[3], "ETH-PERPETUAL", 100.0, MARKET.marks["ETH-PERPETUAL"])
    for name, now in _kept(engine).items():
        np.testing.assert_array_equal(_kept(old)[name], now, err_msg=name)


def test_an_engine_saved_before_the_cells_restores_with_them() -> None:
    """An engine pickled without the cells (as an earlier version wrote it) gets them, filled from its
    positions, and then follows the same updates to the same figures as the engine it was saved from."""
    engine = _engine("deribit-pm")
    engine.on_index("BTC", MARKET.index["BTC"] * 1.02)
    old = restored_without(engine, "_cells", "_options_part", "_futures_part")
    assert old._cells is not None
    np.testing.assert_array_equal(old._options_part, engine._options_part)
    _assert_both_follow(engine, old)


@pytest.mark.parametrize("method", ["deribit-standard", "grid"])
def test_an_engine_saved_before_its_method_kept_cells_restores_with_them(method: str) -> None:
    """A standard-margin or grid engine pickled while it kept no cells (as an earlier version wrote it: its options
    value and futures P&L per currency, and no margins per cell) gets them (and under standard margin its margins
    per cell), filled from its positions, and then follows the same updates to the same figures as the engine it
    was saved from."""
    engine = _engine(method)
    engine.on_index("BTC", MARKET.index["BTC"] * 1.02)
    every = np.arange(len(engine.positions), dtype=np.int64)
    (options, futures, _, _), _, _ = engine._figures(every)
    state = engine.__getstate__()
    del state["_initial_part"], state["_maintenance_part"]
    n = len(every)
    state.update(_cells=None, _options_part=np.zeros((n, 0)), _futures_part=np.zeros((n, 0)))
    state.update(_options=options, _futures=futures)
    old = ro.RiskEngine.__new__(ro.RiskEngine)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    assert old._cells is not None and old._options.shape == (n, 0)
    np.testing.assert_array_equal(old._initial_part, engine._initial_part)
    np.testing.assert_array_equal(old._options_part, engine._options_part)
    _assert_both_follow(engine, old)


def test_an_engine_saved_with_the_currency_columns_restores_without_them() -> None:
    """An engine pickled while it kept each account's options value, futures P&L and margin per currency, its USD
    figures and its worst group (as an earlier version wrote it; now added up and settled from the settle cells
    and the PM groups where read) drops those columns when read back, and shows and follows the same figures as
    the engine it was saved from."""
    engine = _engine("deribit-pm")
    engine.on_index("BTC", MARKET.index["BTC"] * 1.02)
    every = np.arange(len(engine.positions), dtype=np.int64)
    (options, futures, initial, maintenance), usd, (worst_key, worst_index, worst_usd) = engine._figures(every)
    state = engine.__getstate__()
    state.update(_options=options, _futures=futures, _initial=initial, _maintenance=maintenance)
    state.update(_worst_key=worst_key, _worst_index=worst_index, _worst_usd=worst_usd)
    state.update(dict(zip(("_margin_balance", "_initial_usd", "_maintenance_usd", "_available", "_ratio"), usd)))
    old = ro.RiskEngine.__new__(ro.RiskEngine)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    for name in ("_options", "_futures", "_initial", "_maintenance", "_worst_key", "_worst_index", "_worst_usd"):
        assert getattr(old, name).shape == (len(every), 0), name
    assert not hasattr(old, "_margin_balance") and not hasattr(old, "_ratio")
    _assert_same_views(old.accounts(), engine.accounts())
    _assert_both_follow(engine, old)
    _assert_same_views(old.accounts(), engine.accounts())


def _assert_same_views(a: Any, b: Any) -> None:
    """Two account views with the same figures, bit for bit."""
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=field.name)
        else:
            assert x == y, field.name


@pytest.mark.parametrize("method", CELLED)
def test_a_coin_tick_whose_rows_follow_the_other_coins_sums_the_cells_of_the_settle(method: str, simd_target: str) -> None:
    """Every instrument held (one account holds them all), so the engine keeps the market's rows, each coin's in
    one block: a tick of ETH, whose rows follow BTC's, re-sums the ETH cells from its first row on, the margin
    pass taking the settle's sums on its way through the positions; they are the settle's own, bit for bit, and
    the BTC cells stay as they were."""
    book = exchange_book(MARKET, 300, seed=23)
    names = book.instruments.names
    account = np.concatenate([np.repeat(np.asarray(book.accounts), np.diff(book.indptr)), np.full(len(names), 300)])
    rows = np.concatenate([book.indices, np.arange(len(names))])
    quantity = np.concatenate([book.quantity, np.full(len(names), 0.5)])
    book = ro.Book.from_arrays(account, rows, quantity, instruments=MARKET.instruments)  # (rows: the market's order)
    rng = np.random.default_rng(8)
    amounts = rng.uniform(0.0, 1.0, (len(book.accounts), 3)) * [2.0, 30.0, 20_000.0]
    engine = ro.RiskEngine(book, MARKET, method=method, balances=ro.Balances(np.asarray(book.accounts), ("BTC", "ETH", "USDC"), amounts))
    base = np.array(engine._base)
    first_eth = int(np.flatnonzero(base == "ETH")[0])
    assert first_eth > 0 and (base[:first_eth] == "BTC").all() and (base[first_eth:] == "ETH").all()
    cells = engine._cells
    assert cells is not None
    btc_cells = np.unique(cells.cell_of[base == "BTC"])
    for step, (coin, move) in enumerate([("ETH", 1.02), ("BTC", 0.99), ("ETH", 0.97), ("ETH", 1.01)]):
        btc_before = engine._options_part[:, btc_cells].copy()
        engine.on_index(coin, engine.market.index[coin] * move)
        if coin == "ETH":
            np.testing.assert_array_equal(engine._options_part[:, btc_cells], btc_before)
        _assert_same_as_from_scratch(engine, f"{coin} tick {step}")
