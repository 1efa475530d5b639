"""The scenario engine: full revaluation against element-by-element pricing, closed forms of futures and
spot, vol term structure and floors, time shifts, per-underlying moves, the delta-gamma-vega approximation
and its reported error, and the sparse product L = Q . P against a dense reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.margining.scenarios import ScenarioSet, VolTerm, closed_form_pnl, scenario_pnl
from riskoffset.sparse import account_pnl


@pytest.fixture(scope="module")
def market() -> ro.Market:
    return ro.Market.sample()


def _rows(table: ro.InstrumentTable, names: list[str]) -> np.ndarray:
    return np.array([table.row(n) for n in names])


def test_full_revaluation_matches_pricing_each_cell(market: ro.Market) -> None:
    table = market.instruments
    names = ["BTC-25DEC26-110000-C", "BTC-26NOV26-90500-P", "BTC_USDC-25DEC26-70000-P", "ETH-25DEC26-4000-C"]
    rows = _rows(table, names)
    scen = ScenarioSet(
        price_move=[-0.2, 0.0, 0.1, 0.0, 0.3],
        vol_shift=[0.5, 0.0, -0.25, 0.2, 0.0],
        vol_term=VolTerm(0.3, 0.13),
        vol_floor_up=0.5,
        vol_floor=1e-4,
        time_shift=[0.0, 0.0, 1 / 365, 0.0, 2 / 365],
    )
    out = scenario_pnl(table, market, scen, rows=rows)
    resolved = market.resolve(table)
    for i, r in enumerate(rows.tolist()):
        inst = table[r]
        f, s, t = resolved.forward[r], resolved.sigma[r], resolved.t[r]
        d = t * 365
        p = 0.3 if d < 30 else 0.13
        factor = (30 / max(d, 1.0)) ** p
        settlement = inst.settlement
        v0 = ro.price(inst.option_type[0], f, inst.strike, t, 0.0, s, settlement=settlement)
        for j in range(len(scen)):
            m, v, dt = scen.price_move[j], scen.vol_shift[j], scen.time_shift[j]
            s1 = s * (1 + v * factor)
            if v > 0:
                s1 = max(s1, 0.5)
            if v != 0:
                s1 = max(s1, 1e-4)
            v1 = ro.price(
                inst.option_type[0],
                f * (1 + m),
                inst.strike,
                max(t - dt, 0.0),
                0.0,
                s1,
                settlement=settlement,
            )
            assert out.pnl[i, j] == pytest.approx(v1 - v0, rel=1e-12, abs=1e-15 * f), (inst.name, j)
    assert out.pnl[:, 1].tolist() == [0.0] * len(rows)  # the unshocked scenario is exactly flat


def test_futures_and_spot_closed_forms(market: ro.Market) -> None:
    table = market.instruments
    names = ["BTC-PERPETUAL", "BTC-25DEC26", "BTC_USDC-PERPETUAL", "BTC_USDC", "ETH-PERPETUAL"]
    rows = _rows(table, names)
    moves = np.array([-0.66, -0.16, 0.0, 0.04, 5.0])
    out = scenario_pnl(table, market, ScenarioSet(price_move=moves, vol_shift=np.zeros(5)), rows=rows)
    f = market.resolve(table).forward[rows]
    for i, name in enumerate(names):
        if "_USDC" in name:
            expected = f[i] * moves  # linear: coin amount x price change
        else:
            expected = 1 / f[i] - 1 / (f[i] * (1 + moves))  # inverse: per USD of face
        assert np.allclose(out.pnl[i], expected, rtol=1e-15, atol=1e-20), name


@pytest.mark.parametrize(
    "moves",
    [[-0.66, -0.16, 0.0, 0.04, 5.0], [[0.1, 0.0, -0.2], [0.3, 0.0, 0.0]]],
    ids=["one-row", "per-underlying"],
)
def test_closed_forms_of_rows_equal_the_full_matrix(market: ro.Market, moves: list[Any]) -> None:
    """The futures' and spots' rows priced without their sub-table (as a live update of a few futures does)
    equal, bit for bit, the rows of the full scenario matrix, the unshocked scenario exactly flat."""
    table = market.instruments
    rows = _rows(table, ["ETH-PERPETUAL", "BTC-PERPETUAL", "BTC-25DEC26", "BTC_USDC-PERPETUAL", "BTC_USDC"])
    move = np.asarray(moves)
    scen = ScenarioSet(
        price_move=move, vol_shift=np.zeros(move.shape[-1]), underlyings=("BTC", "ETH") if move.ndim == 2 else None
    )
    got = closed_form_pnl(table, market.resolve(table), scen, rows)
    want = scenario_pnl(table, market, scen, rows=rows).pnl
    assert got.tolist() == want.tolist()
    flat = np.flatnonzero((move.reshape(-1, move.shape[-1]) == 0).all(axis=0))
    assert len(flat) == 1 and (got[:, flat] == 0.0).all() and np.count_nonzero(got) > 0


def test_vol_term_structure() -> None:
    term = VolTerm(0.3, 0.13, 30.0, 1.0)
    f = term.factor(np.array([0.0, 0.5, 1.0, 7.5, 30.0, 120.0]))
    assert f[:3].tolist() == [30.0**0.3] * 3  # floored at 1 day
    assert f[3] == pytest.approx(4.0**0.3) and f[4] == 1.0 and f[5] == pytest.approx(0.25**0.13)


def test_per_underlying_moves(market: ro.Market) -> None:
    table = market.instruments
    rows = _rows(table, ["BTC-PERPETUAL", "ETH-PERPETUAL"])
    scen = ScenarioSet(
        price_move=np.array([[0.1, -0.1], [0.0, 0.2]]), vol_shift=[0.0, 0.0], underlyings=("BTC", "ETH")
    )
    out = scenario_pnl(table, market, scen, rows=rows)
    assert out.pnl[0, 0] > 0 and out.pnl[0, 1] < 0 and out.pnl[1, 0] == 0.0 and out.pnl[1, 1] > 0
    only_btc = ScenarioSet(price_move=np.array([[0.1]]), vol_shift=[0.0], underlyings=("BTC",))
    with pytest.raises(ValueError, match=r"not \['ETH'\]"):
        scenario_pnl(table, market, only_btc, rows=rows)


def test_delta_gamma_vega_error_is_reported(market: ro.Market) -> None:
    table = market.instruments
    options = np.flatnonzero(table.kind == 2)[::7]
    small = ScenarioSet.grid([-0.002, 0.0, 0.002], [-0.01, 0.0, 0.01])
    approx = scenario_pnl(table, market, small, rows=options, method="delta-gamma-vega", report_error=True)
    full = scenario_pnl(table, market, small, rows=options)
    assert approx.error is not None and approx.max_error is not None
    assert np.allclose(approx.error, approx.pnl - full.pnl, rtol=0, atol=1e-12)
    assert np.allclose(approx.max_error, np.abs(approx.pnl - full.pnl).max(axis=1), rtol=0, atol=1e-12)
    scale = np.abs(full.pnl).max()
    assert np.abs(approx.error).max() <= 0.02 * scale  # second-order accurate for small shocks
    large = ScenarioSet.grid([-0.3, 0.3], [0.5])
    big = scenario_pnl(table, market, large, rows=options, method="delta-gamma-vega", report_error=True)
    assert big.max_error is not None and big.max_error.max() > np.abs(approx.error).max()


def test_scenario_set_validation() -> None:
    with pytest.raises(ValueError, match="price_move must be finite and > -1"):
        ScenarioSet(price_move=[-1.0], vol_shift=[0.0])
    with pytest.raises(ValueError, match="vol_shift must be a 1-D array of 2"):
        ScenarioSet(price_move=[0.1, 0.2], vol_shift=[0.0])
    with pytest.raises(ValueError, match="vol_mode"):
        ScenarioSet(price_move=[0.1], vol_shift=[0.0], vol_mode="log")
    with pytest.raises(ValueError, match="method must be one of"):
        scenario_pnl(
            ro.Market.sample().instruments, ro.Market.sample(), ScenarioSet([0.1], [0.0]), method="taylor"
        )
    grid = ScenarioSet.grid([-0.1, 0.1], [0.2, 0.0, -0.2], weight=np.arange(6.0))
    assert len(grid) == 6 and grid.price_move.tolist() == [-0.1] * 3 + [0.1] * 3
    assert grid.labels[1] == "price -10.00%, vol same"


def test_account_pnl_is_the_sparse_product(market: ro.Market) -> None:
    table = market.instruments
    rng = np.random.default_rng(3)
    n = 3_000
    account = rng.integers(0, 200, n)
    rows = rng.integers(0, len(table), n)
    qty = rng.integers(-20, 21, n) * 0.5
    book = ro.Book.from_arrays(account, rows, qty, instruments=table)
    scen = ScenarioSet.grid([-0.1, 0.0, 0.1], [0.3, 0.0, -0.2], vol_term=VolTerm(0.3, 0.13))
    pnl = scenario_pnl(book.instruments, market, scen).pnl
    dense = np.zeros((len(book.accounts), len(book.instruments)))
    account_row = np.repeat(np.arange(len(book.accounts)), np.diff(book.indptr))
    np.add.at(dense, (account_row, book.indices), book.quantity)
    reference = dense @ pnl
    got = account_pnl(book, pnl)
    assert np.array_equal(got.account, np.arange(len(book.accounts)))
    assert np.allclose(got.pnl, reference, rtol=1e-12, atol=1e-9)
    # Threads split groups, never a group: identical bits whatever the split.
    assert np.array_equal(account_pnl(book, pnl, threads=2).pnl, got.pnl)
    # Grouped by underlying: the groups of an account add up to the account.
    by_underlying = account_pnl(book, pnl, book.instruments.underlying.astype(np.int64), 2)
    total = np.zeros_like(got.pnl)
    np.add.at(total, by_underlying.account, by_underlying.pnl)
    assert np.allclose(total, got.pnl, rtol=1e-12, atol=1e-9)


def test_long_and_short_accounts_cancel(market: ro.Market) -> None:
    table = market.instruments
    rows = np.arange(0, len(table), 5)
    book = ro.Book.from_arrays(
        np.r_[np.zeros(len(rows), int), np.ones(len(rows), int)],
        np.r_[rows, rows],
        np.r_[np.ones(len(rows)), -np.ones(len(rows))],
        instruments=table,
    )
    pnl = scenario_pnl(book.instruments, market, ScenarioSet.grid([-0.2, 0.2], [0.5, -0.25])).pnl
    out = account_pnl(book, pnl)
    assert np.array_equal(out.pnl[0], -out.pnl[1])


def test_csr_product_rejects_out_of_range_indices() -> None:
    from riskoffset import _core

    pnl = np.ones((3, 4))
    with pytest.raises(ValueError, match="outside the P&L matrix"):
        _core.book.csr_product(np.array([0]), np.array([2]), np.array([0, 3]), np.ones(2), pnl, 1)
    with pytest.raises(ValueError, match="outside the positions"):
        _core.book.csr_product(np.array([1]), np.array([2]), np.array([0, 1]), np.ones(2), pnl, 1)
