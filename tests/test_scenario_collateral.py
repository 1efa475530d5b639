"""Coin balances inside the PM scenarios (X:PM): a short BTC_USDC perpetual on a BTC balance is margined as
hedged, a short put funded in BTC shows its wrong-way risk.  Sample market: BTC index 95,000, BTC_USDC-PERPETUAL
mark 95,011.5; bundled Deribit PM parameters: BTC price range 16 %."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.accounts.scenario_collateral import pm_with_collateral
from riskoffset.margining.columns import GroupMargins
from riskoffset.margining.pm_parameters import PMParameters


def _worst(book: ro.Book, balances: ro.Balances | None) -> float:
    market = ro.Market.sample()
    if balances is None:
        return float(GroupMargins.of(ro.margin(book, market, "deribit-pm")).components["worst_case"][0])
    result = pm_with_collateral(book, market, balances.for_accounts(book.accounts), balances.currencies)
    return float(result.groups.components["worst_case"][0])


def _one(instrument: str, quantity: float) -> ro.Book:
    return ro.Book.from_positions([{"instrument": instrument, "quantity": quantity, "account": "p"}])


def test_inputs_of_the_hand_computation() -> None:
    market = ro.Market.sample()
    assert market.index["BTC"] == 95_000.0 and market.marks["BTC_USDC-PERPETUAL"] == 95_011.5
    assert PMParameters.load("deribit-pm").pair("BTC").price_range == pytest.approx(0.16)


def test_short_perpetual_on_a_btc_balance_is_hedged() -> None:
    """Short 1 BTC_USDC-PERPETUAL: worst case 95,011.5 x 0.16 = 15,201.84 USDC alone.  With 1 BTC held the
    vector is -95,011.5 m + 95,000 m = -11.5 m: worst case 11.5 x 0.16 = 1.84."""
    book = _one("BTC_USDC-PERPETUAL", -1)
    assert _worst(book, None) == pytest.approx(15_201.84, rel=1e-12)
    assert _worst(book, ro.Balances.from_mapping({"p": {"BTC": 1.0}})) == pytest.approx(1.84, rel=1e-9)


def test_short_put_funded_in_btc_wrong_way() -> None:
    """Short 2 BTC_USDC puts: the worst scenario is the 16 % fall; 1 BTC of funding loses 95,000 x 0.16 =
    15,200 USD in it, so the worst case grows by exactly 15,200 (USDC funding would add nothing)."""
    book = _one("BTC_USDC-25DEC26-85000-P", -2)
    alone = _worst(book, None)
    assert _worst(book, ro.Balances.from_mapping({"p": {"BTC": 1.0}})) == pytest.approx(alone + 15_200.0, rel=1e-12)
    assert _worst(book, ro.Balances.from_mapping({"p": {"USDC": 100_000.0}})) == pytest.approx(alone, rel=1e-12)


def test_x_pm_view_uses_it() -> None:
    """X:PM turns it on by default (S:PM and X:SM do not)."""
    market = ro.Market.sample()
    book = _one("BTC_USDC-PERPETUAL", -1)
    balances = ro.Balances.from_mapping({"p": {"BTC": 1.0}})
    x = ro.account(book, market, balances, "X:PM")
    s = ro.account(book, market, balances, "S:PM")
    assert x.initial_usd[0] < s.initial_usd[0] - 15_000
    off = ro.account(book, market, balances, "X:PM", dynamic_collateral=False)
    np.testing.assert_allclose(off.initial_usd, s.initial_usd)
    with pytest.raises(ValueError, match="dynamic_collateral needs a PM model"):
        ro.account(book, market, balances, "X:SM", dynamic_collateral=True)


def test_the_pass_refuses_coin_arrays_that_do_not_fit() -> None:
    """The C++ pass places coin balances itself; arrays of the wrong shape, non-finite amounts or a key naming
    a coin column that does not exist are refused with the field named."""
    from riskoffset.accounts.scenario_collateral import coin_moves
    from riskoffset.margining.portfolio import pm_inputs

    book = ro.Book.sample("linear_inverse")
    p, keys, inputs, _ = pm_inputs(book, ro.Market.sample())
    moves, coin_col, caps = coin_moves(p, keys, ("BTC", "USDC"))
    coins = np.ones((len(book.accounts), 2))
    run = lambda c: inputs.run(book.indptr, book.indices, book.quantity, coins=c)
    assert len(run((coins, moves, coin_col, caps))["initial"])
    with pytest.raises(ValueError, match="coins must be"):
        run((coins[:1], moves, coin_col, caps))
    with pytest.raises(ValueError, match="coins must be finite"):
        run((np.full_like(coins, np.nan), moves, coin_col, caps))
    with pytest.raises(ValueError, match="coin_moves must be"):
        run((coins, moves[:, :3], coin_col, caps))
    with pytest.raises(ValueError, match="coin_col"):
        run((coins, moves, np.full_like(coin_col, 7), caps))
    with pytest.raises(ValueError, match="coin_gain_cap needs one entry"):
        run((coins, moves, coin_col, caps[:1]))
    with pytest.raises(ValueError, match="coin_gain_cap: coin column 0 must be >= 0"):
        run((coins, moves, coin_col, np.array([np.nan, 0.0])))


def _table(**btc: object) -> ro.CollateralTable:
    """The bundled table with BTC's offset parameters replaced."""
    table = ro.CollateralTable.load()
    doc = {"name": "test", "currencies": {c: dict(vars(v)) for c, v in table.currencies.items()}}
    for params in doc["currencies"].values():
        params.pop("currency")
    doc["currencies"]["BTC"].update(btc)
    return ro.CollateralTable.from_dict(doc)


def _worst_with(book: ro.Book, balances: ro.Balances, table: ro.CollateralTable) -> float:
    result = pm_with_collateral(book, ro.Market.sample(), balances.for_accounts(book.accounts), balances.currencies,
                                table=table)  # fmt: skip
    return float(result.groups.components["worst_case"][0])


def test_offset_currency_gains_count_up_to_the_cap() -> None:
    """Short 1 BTC_USDC-PERPETUAL on 1 BTC.  The perpetual's P&L in a move m is -95,011.5 m, the balance's
    +95,000 m.  In the up scenarios the balance gains: with BTC an offset currency capped at 1,000 USD, the
    +16 % scenario is -95,011.5 x 0.16 + min(95,000 x 0.16, 1,000) = -15,201.84 + 1,000 = -14,201.84, the worst;
    in the down scenarios the perpetual gains and the balance's loss counts in full (15,200 - 15,201.84 x
    pnl_offset, never worse).  Not an offset currency: the gain counts zero and the worst case is the
    perpetual's alone, 15,201.84; uncapped (the bundled table): 1.84, hedged."""
    book = _one("BTC_USDC-PERPETUAL", -1)
    btc = ro.Balances.from_mapping({"p": {"BTC": 1.0}})
    capped = _worst_with(book, btc, _table(pnl_offset=True, max_offsetable_pnl=1_000.0))
    assert capped == pytest.approx(14_201.84, rel=1e-12)
    none = _worst_with(book, btc, _table(pnl_offset=False))
    assert none == pytest.approx(15_201.84, rel=1e-12)
    full = _worst_with(book, btc, _table(pnl_offset=True, max_offsetable_pnl=None))
    assert full == pytest.approx(1.84, rel=1e-9)


def test_a_loss_counts_in_full_whatever_the_offset() -> None:
    """Short 2 BTC_USDC puts funded by 1 BTC: the worst scenario is the 16 % fall, where the balance loses
    95,000 x 0.16 = 15,200: added in full with or without the offset, capped or not."""
    book = _one("BTC_USDC-25DEC26-85000-P", -2)
    alone = _worst(book, None)
    btc = ro.Balances.from_mapping({"p": {"BTC": 1.0}})
    for table in (_table(pnl_offset=False), _table(pnl_offset=True, max_offsetable_pnl=10.0), _table()):
        worst = _worst_with(book, btc, table)
        assert worst == pytest.approx(alone + 15_200.0, rel=1e-12)


def test_the_view_and_the_engine_read_the_table() -> None:
    """ro.account and the live engine take the offset from the collateral table they are given."""
    market = ro.Market.sample()
    book = _one("BTC_USDC-PERPETUAL", -1)
    btc = ro.Balances.from_mapping({"p": {"BTC": 1.0}})
    table = _table(pnl_offset=False)
    view = ro.account(book, market, btc, "X:PM", collateral=table)
    assert view.initial[0, list(view.currencies).index("USDC")] > 15_201.84
    engine = ro.RiskEngine(book, market, balances=btc, collateral=table)
    assert engine.account("p")["initial_usd"] == view.initial_usd[0]


def test_the_moves_a_live_engine_scales_by_the_index_are_the_same_bits() -> None:
    """A live engine keeps the coin moves at an index of 1 and multiplies them by each tick's index: the same
    products as computing them at that index, and a key that takes no balance stays 0 whatever its index."""
    from riskoffset.accounts.scenario_collateral import coin_moves, coin_moves_at, coin_unit_moves
    from riskoffset.margining.portfolio import pm_inputs

    market = ro.Market.sample()
    book = ro.Book.from_arrays(["A", "A"], ["BTC_USDC-PERPETUAL", "ETH-PERPETUAL"], [1.0, 100.0],
                               instruments=market.instruments)  # fmt: skip
    p, keys, _, _ = pm_inputs(book, market, None)
    currencies = ("BTC", "ETH", "USDC")
    unit = coin_unit_moves(p, keys, currencies)
    for scale in (1.0, 0.87, 1.3):
        moved = dataclasses.replace(keys, index=np.asarray(keys.index, dtype=np.float64) * scale)
        want, got = coin_moves(p, moved, currencies), coin_moves_at(unit, moved.index)
        assert all(np.array_equal(a, b) for a, b in zip(want, got))
    assert (unit[1] >= 0).any() and (unit[1] < 0).any()  # (keys that take a balance, and keys that do not)
    idle = unit[1] < 0
    nan_index = np.where(idle, np.nan, np.asarray(keys.index, dtype=np.float64))
    assert np.array_equal(coin_moves_at(unit, nan_index)[0][idle], np.zeros((int(idle.sum()), unit[0].shape[1])))
