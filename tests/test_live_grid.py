"""The live engine under a scenario grid: the compiled refresh sums each instrument's scenario P&L per (account,
settlement currency) group as ``ro.margin``'s grid pass does, and an option's own vol tick reprices its row on
the columns its last pricing kept.  Checked against ``ro.margin`` and ``ro.account`` from scratch: the figures
after updates (a user grid with per-underlying moves, a vol term, a time shift, provisions, a maintenance ratio
and a minimum delta requirement; one without the requirement; one where it binds), each account's worst scenario,
the contributors its events name, threads, and an engine pickled before the grid's columns were kept."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.margining.columns import GroupMargins
from riskoffset.margining.grid import grid_inputs
from test_live_engine import MARKET, OPTIONS, assert_matches, run, start_book

USER_GRID: dict[str, Any] = {
    "name": "test grid",
    "vol_mode": "absolute",
    "vol_term": {"short_power": 0.35, "long_power": 0.1, "pivot_days": 30.0},
    "maintenance_ratio": 0.6,
    "min_delta": {"net_rate": 0.02, "hedged_rate": 0.004},
    "funding_provision": 3.0,
    "fee_provision": 0.5,
    "scenarios": [
        {"price_move": {"BTC": -0.12, "ETH": -0.18}, "vol_shift": 0.15, "label": "crash"},
        {"price_move": {"BTC": 0.10, "ETH": 0.14}, "vol_shift": -0.05, "weight": 0.9},
        {"price_move": {"BTC": -0.03, "ETH": 0.02}, "vol_shift": 0.0, "time_shift_days": 2.0},
        {"price_move": {"BTC": 0.0, "ETH": 0.0}, "vol_shift": 0.25, "weight": 0.5, "label": "vol up"},
    ],
}
NO_MIN_DELTA = {**USER_GRID, "min_delta": None, "name": "no minimum delta"}
# a requirement above the scan risk of the linear (USD-valued) groups: their figures then move with the index
BINDING_MIN_DELTA = {**USER_GRID, "min_delta": {"net_rate": 0.4, "hedged_rate": 0.05}, "name": "binding minimum delta"}
OPS: list[tuple[Any, ...]] = [
    ("index", "BTC", 0.88),
    ("iv", OPTIONS[3], 1.3),
    ("trade", "A", OPTIONS[2], -12, 1.0),
    ("quote", "BTC-25DEC26", 0.97),
    ("index", "ETH", 1.07),
    ("trade", "new", "ETH_USDC-PERPETUAL", 25, 1.01),
    ("balance", "B", "USDC", 2_500.0),
    ("iv", OPTIONS[0], 0.4),
    ("trade", "B", OPTIONS[-1], -10, 1.0),
]


@pytest.mark.parametrize(
    "params", [None, USER_GRID, NO_MIN_DELTA, BINDING_MIN_DELTA], ids=["paradex", "user-grid", "no-min-delta", "binding"]
)
@pytest.mark.parametrize("cross, model", [(True, "X:SM"), (False, "S:SM")])
def test_updates_under_a_grid_end_where_a_from_scratch_computation_does(params: Any, cross: bool, model: str) -> None:
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, "grid", params, balances=balances, cross=cross)
    assert engine._grid is not None and (engine._grid.delta is None) == (params is NO_MIN_DELTA)
    assert_matches(engine, model)
    for k in range(len(OPS)):  # after each update, not only at the end
        run(engine, OPS[k : k + 1])
        assert_matches(engine, model)
    if params is BINDING_MIN_DELTA:  # (else this grid tests nothing more)
        groups = GroupMargins.of(ro.margin(engine.book, engine.market, "grid", params))
        linear = np.array([c == "USDC" for c in groups.currencies])[groups.currency]
        assert (groups.components["min_delta_excess"][linear] > 0).any()


def largest_groups(engine: ro.RiskEngine) -> dict[Any, tuple[str, str, float]]:
    """Per account of the engine's book, from ``ro.margin`` from scratch: its group with the largest IM in USD
    (currency, that group's worst scenario label, its P&L there in USD)."""
    groups = GroupMargins.of(ro.margin(engine.book, engine.market, "grid", engine.params))
    out: dict[Any, tuple[str, str, float, float]] = {}
    for g in range(len(groups.initial)):
        account = groups.accounts[int(groups.account[g])].item()
        usd = float(groups.initial[g] * groups.usd_rate[g])
        j = int(groups.worst_index[g])
        if usd > 0 and j >= 0 and (account not in out or usd > out[account][3]):
            label = groups.worst_description(g, j)
            out[account] = (groups.currencies[int(groups.currency[g])], label, float(groups.worst_pnl[g] * groups.usd_rate[g]), usd)
    return {a: v[:3] for a, v in out.items()}


@pytest.mark.parametrize("params", [None, USER_GRID])
def test_each_accounts_worst_scenario_is_its_largest_groups_as_ro_margin_finds_it(params: Any) -> None:
    book, balances = ro.Book.sample("market_maker"), ro.Balances.sample("market_maker")
    engine = ro.RiskEngine(book, MARKET, "grid", params, balances=balances)
    run(engine, [("index", "BTC", 0.9), ("iv", OPTIONS[1], 1.2), ("trade", "mm-btc", OPTIONS[1], -7, 1.0)])
    want = largest_groups(engine)
    assert want
    for account, (currency, label, pnl_usd) in want.items():
        got = engine.account(account)
        assert (got["worst_group"], got["worst_scenario"]) == (currency, label), account
        assert got["worst_pnl_usd"] == pytest.approx(pnl_usd, rel=1e-12), account


def test_a_crash_under_a_grid_names_the_positions_losing_most_in_the_worst_scenario() -> None:
    book, balances = ro.Book.sample("short_strangle"), ro.Balances.sample("short_strangle")
    engine = ro.RiskEngine(book, MARKET, "grid", balances=balances)
    engine.on_index("ETH", MARKET.index["ETH"] * 0.7, timestamp=1)
    list(engine.events())
    engine.on_index("BTC", MARKET.index["BTC"] * 0.6, timestamp=2)  # its events: the figures as it leaves them
    events = list(engine.events())
    assert events and {e.kind for e in events} <= {"margin_call", "liquidation"}
    inputs = grid_inputs(engine.book, engine.market)
    table = engine.book.instruments
    for event in events:
        figures = event.figures
        group, scenario = figures["worst_group"], inputs.grid.scenarios.labels.index(figures["worst_scenario"])
        rate = engine.market.index.get(group, 1.0)
        # every position of the group in that scenario, from scratch: the contributors are the most negative ones
        a = int(np.flatnonzero(engine.book.accounts == event.account)[0])
        s, e = engine.book.indptr[a], engine.book.indptr[a + 1]
        losses = sorted(
            (float(q * inputs.pnl[i, scenario] * rate), str(table.names[i]))
            for i, q in zip(engine.book.indices[s:e].tolist(), engine.book.quantity[s:e].tolist())
            if table[i].settlement_currency == group and q * inputs.pnl[i, scenario] < 0
        )[: len(event.contributors)]
        assert losses and len(event.contributors) == min(3, len(losses))
        for (pnl, name), c in zip(losses, event.contributors):
            assert c["instrument"] == name
            assert c["pnl_usd"] == pytest.approx(pnl, rel=1e-12)
    assert_matches(engine, "X:SM")


def test_threads_give_the_same_figures_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    n, per = 3_000, 6
    table = MARKET.instruments
    book = ro.Book.from_arrays(np.repeat(np.arange(n), per), rng.integers(0, len(table), n * per),
                               rng.normal(0.0, 3.0, n * per).round(1), instruments=table)  # fmt: skip
    balances = ro.Balances(np.arange(n), ("BTC", "ETH", "USDC"), rng.uniform(0, 1, (n, 3)) * [2.0, 30.0, 1e5])
    one, two = (ro.RiskEngine(book, MARKET, "grid", USER_GRID, balances=balances, threads=t) for t in (1, 2))
    for engine in (one, two):
        engine.on_index("BTC", MARKET.index["BTC"] * 0.8, timestamp=1)
    a, b = one.accounts(), two.accounts()
    for name in ("initial", "maintenance", "equity", "initial_usd", "maintenance_usd", "mm_ratio"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert [e.account for e in one.events()] == [e.account for e in two.events()]


def test_a_grid_snapshot_from_before_the_kept_scenarios_restores_and_ticks() -> None:
    """An engine under a grid pickled without its per-instrument scenario P&L and per-currency worst scenarios (as
    an earlier version wrote it) restores with them, with the same figures and worst scenarios, and an index move
    (which recomputes the groups of its coin alone) and a trade then end where a from-scratch computation does."""
    book, balances = ro.Book.sample("market_maker"), ro.Balances.sample("market_maker")
    engine = ro.RiskEngine(book, MARKET, "grid", USER_GRID, balances=balances)
    state = engine.__getstate__()
    del state["_grid"]
    n = len(state["_level"])
    state["_key_worst_index"], state["_key_worst_pnl"] = np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0))
    old = ro.RiskEngine.__new__(ro.RiskEngine)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    assert old._grid is not None and old._key_worst_index.shape == (n, len(old.currencies))
    assert [old.account(a) for a in book.accounts.tolist()] == [engine.account(a) for a in book.accounts.tolist()]
    old.on_index("ETH", MARKET.index["ETH"] * 0.9, timestamp=1)
    old.on_trade("mm-btc", OPTIONS[0], -2.0, 0.01, timestamp=2)
    assert_matches(old, "X:SM")
    for account, (currency, label, pnl_usd) in largest_groups(old).items():
        got = old.account(account)
        assert (got["worst_group"], got["worst_scenario"]) == (currency, label), account
        assert got["worst_pnl_usd"] == pytest.approx(pnl_usd, rel=1e-12), account


def test_the_compiled_refresh_refuses_a_grid_key_filter_that_does_not_fit() -> None:
    book, balances = start_book()
    grid = ro.RiskEngine(book, MARKET, "grid", balances=balances)
    standard = ro.RiskEngine(book, MARKET, "deribit-standard", balances=balances)
    bind = ro._core.margin.LiveRefresh
    k = len(grid.currencies)
    bind(grid._instrument_columns(), None, grid._state(), grid._prices(), grid_keys=np.ones(k, dtype=np.uint8))
    with pytest.raises(ValueError, match="grid_keys needs one entry per currency"):
        bind(grid._instrument_columns(), None, grid._state(), grid._prices(), grid_keys=np.ones(k + 1, dtype=np.uint8))
    with pytest.raises(ValueError, match="grid_keys without a grid"):
        bind(standard._instrument_columns(), None, standard._state(), standard._prices(), grid_keys=np.ones(k, np.uint8))
