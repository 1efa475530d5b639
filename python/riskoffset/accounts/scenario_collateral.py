"""Dynamic collateral inside the portfolio-margin scenarios: a coin balance revalued in each price scenario of
its coin.

A balance of ``b`` coins of ``u`` (index ``S``) gains ``b x S x m`` USD in a scenario that moves ``u`` by ``m``.
It is added, in the pair's own columns and weights, to the account's *linear* risk group of that coin (the
``u_usdc`` or ``u_usdt`` vector, in USD-like units): once per account and coin, to the first such group.  A
loss counts in full: a short put funded in BTC carries the balance's loss in the down scenarios (wrong-way
risk).  A gain counts only for an *offset currency* of the collateral table (``pnl_offset``), up to its
``max_offsetable_pnl`` per scenario (USD, applied at par to the USDC or USDT group): the balance offsets the
upside risk of products on its coin (a short ``BTC_USDC`` perpetual or call on a BTC balance is hedged), and
nothing more; another currency's gains count zero.

Coin-settled groups (``btc_btc``) are margined in coins, where a balance of the same coin is worth the same
in every scenario: it pays the group's requirement in coins (the account view compares them) and adds nothing
to the scenarios.  An account with no linear group of the coin keeps its balance outside the scenarios (valued
at the index by the account view).  `coin_moves` gives each key's P&L per coin and each coin's gain cap; the
C++ portfolio-margin pass places the balances in the groups (``PMInputs.run(coins=...)``), for the account
view, the live engine and the cluster alike.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from .._types import FloatArray, IntArray
from ..book import Book
from ..margining.portfolio import from_columns, group_margins, pm_inputs
from ..market import Market
from .collateral import CollateralTable


def coin_moves(
    p: Any, keys: Any, currencies: tuple[str, ...], table: CollateralTable | None = None
) -> tuple[FloatArray, IntArray, FloatArray]:
    """Per vector key: the USD P&L of one coin held in each scenario column (0 for coin-settled keys), and the
    column of ``currencies`` holding the key's coin (-1 where the key takes no balance); per currency, the most
    its gain counts (`CollateralTable.gain_caps` of ``table``, default the bundled one)."""
    return coin_moves_at(coin_unit_moves(p, keys, currencies, table), keys.index)


def coin_unit_moves(
    p: Any, keys: Any, currencies: tuple[str, ...], table: CollateralTable | None = None
) -> tuple[FloatArray, IntArray, FloatArray]:
    """`coin_moves` at an index of 1 for every key: what does not move with the market (a live engine keeps it
    and scales it by each tick's index, `coin_moves_at`)."""
    col = {c: j for j, c in enumerate(currencies)}
    ext = np.asarray(p.extended_moves, dtype=np.float64)
    n_keys = len(keys.names)
    width = p.n_standard + len(ext)
    unit = np.zeros((n_keys, width))
    coin_col = np.full(n_keys, -1, dtype=np.int64)
    for k in range(n_keys):
        if keys.coin[k] or keys.base[k].upper() not in col:
            continue
        pair = p.pair(keys.base[k])
        weight = pair.extended_table_factor * pair.price_range / np.abs(ext)  # as the instruments' vectors
        unit[k] = np.concatenate((np.repeat(p.standard_moves(pair), 3), ext * weight))
        coin_col[k] = col[keys.base[k].upper()]
    return unit, coin_col, (table if table is not None else CollateralTable.load()).gain_caps(currencies)


def coin_moves_at(unit: tuple[FloatArray, IntArray, FloatArray], index: Any) -> tuple[FloatArray, IntArray, FloatArray]:
    """`coin_unit_moves` at each key's ``index`` (one product per entry; a key that takes no balance stays 0,
    whatever its index)."""
    moves, coin_col, caps = unit
    return moves * np.where(coin_col >= 0, np.asarray(index, dtype=np.float64), 0.0)[:, None], coin_col, caps


def pm_with_collateral(
    book: Book,
    market: Market,
    coins: FloatArray,
    currencies: tuple[str, ...],
    params: Any = None,
    table: CollateralTable | None = None,
) -> SimpleNamespace:
    """Deribit PM per (account, group) with the accounts' coin balances inside the scenarios (module doc), in
    the shape the account view reads (``groups``, ``parameters_source``); ``table``: the collateral table
    (default the bundled one)."""
    p, keys, inputs, labels = pm_inputs(book, market, params)
    moves = coin_moves(p, keys, currencies, table)
    columns = inputs.run(book.indptr, book.indices, book.quantity, coins=(coins, *moves))
    groups = group_margins(book, from_columns(book, p, keys, inputs, labels, columns))
    return SimpleNamespace(groups=groups, parameters_source=groups.parameters_source)
