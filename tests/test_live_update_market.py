"""The live refresh moved to a new market in place (`LiveRefresh.update_market`, what an index tick does instead
of binding a new refresh): its figures are those of a refresh bound afresh to the same market, bit for bit, under
every method, and bad inputs are refused by name with nothing changed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from benchlib import exchange_book

MARKET = ro.Market.sample()
FIGURES = ("_options_part", "_futures_part", "_options", "_futures", "_initial", "_maintenance", "_key_initial",
           "_key_maintenance", "_key_worst_pnl", "_worst_usd", "_worst_key", "_level")  # fmt: skip
CONFIGS = [("deribit-pm", True), ("deribit-pm", False), ("deribit-standard", False), ("grid", False)]


# Short puts whose worst scenario is an extended one (its loss dampened by the key's dampener, which follows the
# index): an account of them makes the figures depend on every key parameter an index tick moves.
TAIL = "BTC-27NOV26-90000-P"


def _engine(method: str, cross: bool) -> ro.RiskEngine:
    venue = exchange_book(MARKET, 300, seed=8)
    accounts = np.repeat(np.asarray(venue.accounts), np.diff(venue.indptr)).tolist()
    names = venue.instruments.names[venue.indices].tolist()
    tail = max(accounts) + 1
    book = ro.Book.from_arrays(
        [*accounts, tail], [*names, TAIL], [*venue.quantity.tolist(), -50.0], instruments=MARKET.instruments
    )
    rng = np.random.default_rng(3)
    amounts = rng.uniform(0.0, 1.0, (len(book.accounts), 3)) * [2.0, 30.0, 20_000.0]
    balances = ro.Balances(np.asarray(book.accounts), ("BTC", "ETH", "USDC"), amounts)
    return ro.RiskEngine(book, MARKET, method=method, balances=balances, cross=cross)


def _figures(engine: ro.RiskEngine) -> dict[str, Any]:
    _, usd, worst = engine._figures(_every_account(engine))  # (USD figures; largest group, its worst scenario)
    derived = {f"usd {j}": a for j, a in enumerate(usd)} | {f"worst {j}": a for j, a in enumerate(worst)}
    return {**{name: getattr(engine, name).copy() for name in FIGURES}, **derived}


def _every_account(engine: ro.RiskEngine) -> Any:
    return np.arange(len(engine.positions), dtype=np.int64)


@pytest.mark.parametrize(("method", "cross"), CONFIGS)
def test_index_ticks_move_the_bound_refresh_to_what_a_new_binding_computes(method: str, cross: bool) -> None:
    engine = _engine(method, cross)
    if engine.pm:
        engine._refresh(_every_account(engine), emit=False, find_worst=True)
        tail = engine.positions.row_of[max(engine.positions.labels)]
        assert engine._key_worst_index[tail, 0] >= engine._inputs.n_standard  # (an extended scenario)
    refresh = engine._bound_refresh(None)
    for moves, (coin, factor) in enumerate((("BTC", 0.93), ("ETH", 1.06), ("BTC", 1.11)), start=1):
        engine.on_index(coin, engine.market.index[coin] * factor)
        engine._refresh(_every_account(engine), emit=False, find_worst=True)
        assert engine._bound_refresh(None) is refresh  # (moved, not bound again)
        kept = _figures(engine)
        engine._refresher_cache.clear()  # a refresh bound afresh to the same arrays and market
        engine._bound_cache.clear()
        engine._refresh(_every_account(engine), emit=False, find_worst=True)
        assert engine._bound_refresh(None) is not refresh
        for name, now in _figures(engine).items():
            np.testing.assert_array_equal(kept[name], now, err_msg=f"{name} after {moves} moves")
        refresh = engine._bound_refresh(None)
    assert engine.market.index["BTC"] != MARKET.index["BTC"]


def _pm_inputs(engine: ro.RiskEngine) -> dict[str, Any]:
    return dict(engine._pm_arrays(None))


@pytest.mark.parametrize("dynamic", [True, False])
def test_a_bad_market_is_refused_by_name_and_changes_nothing(dynamic: bool) -> None:
    engine = _engine("deribit-pm", dynamic)
    refresh = engine._bound_refresh(None)
    prices, pm = engine._prices(), _pm_inputs(engine)
    rows = _every_account(engine)
    engine._refresh(rows, emit=False, find_worst=True)
    before = _figures(engine)
    bad: list[tuple[Any, Any, str]] = [
        (prices[:-1], pm, "one entry per bound currency"),
        (np.append(prices, 1.0), pm, "one entry per bound currency"),
        (np.where(np.arange(len(prices)) == 0, np.nan, prices), pm, "price of currency column 0"),
        (-prices, pm, "price of currency column 0"),
        (prices, None, "bound to PM inputs"),
        (prices, {**pm, "keys": pm["keys"][:-1]}, "one row per bound key"),
        (prices, {**pm, "key_rate": pm["key_rate"][:-1]}, "key_rate"),
    ]
    if dynamic:
        bad += [
            (prices, {**pm, "coin_moves": None}, "coin_moves"),
            (prices, {**pm, "coin_moves": pm["coin_moves"][:, :-1]}, "coin_moves"),
            (prices, {**pm, "coin_col": np.full_like(pm["coin_col"], 99)}, "coin_col"),
        ]
    else:
        moves = np.zeros((len(pm["keys"]), pm["vectors"].shape[1]))
        coins = {"coin_moves": moves, "coin_col": np.zeros(len(moves), dtype=np.int64), "coin_gain_cap": 0 * prices}
        bad.append((prices, {**pm, **coins}, "coin_moves"))
    for price, inputs, message in bad:
        with pytest.raises(ValueError, match=message):
            refresh.update_market(price, inputs)
        engine._refresh(rows, emit=False, find_worst=True)  # (the same refresh, as it was bound)
        for name, now in _figures(engine).items():
            np.testing.assert_array_equal(before[name], now, err_msg=f"{name} after refusing {message!r}")


def test_a_refresh_without_pm_inputs_refuses_them() -> None:
    engine = _engine("deribit-standard", False)
    refresh = engine._bound_refresh(None)
    with pytest.raises(ValueError, match="no PM inputs"):
        refresh.update_market(engine._prices(), _pm_inputs(_engine("deribit-pm", False)))
    refresh.update_market(engine._prices())  # (prices alone)
