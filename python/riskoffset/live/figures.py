"""Accounts' figures and worst-scenario contributors captured as columns at one moment, turned into one
dictionary per account only when read.

The engine's queries read them at once; its events keep them, so an update that moves thousands of accounts
(a crash) copies a few arrays, and the dictionaries are made the first time one of its events is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._types import FloatArray, IntArray

LEVELS = ("ok", "margin_call", "liquidation")  # an account's levels, by code (the engine's `_level`)


class FigureColumns:
    """Figures of some accounts: ``names`` are the account's label, its level (``levels``: codes into LEVELS),
    then one per column of ``block`` (numbers, one row per account).  With ``worst`` (group key, scenario index,
    P&L in USD per account, the groups' names and each group's scenario labels), accounts with a group (key >= 0)
    also get worst_group, worst_scenario and worst_pnl_usd."""

    __slots__ = ("_dicts", "accounts", "block", "levels", "names", "worst")

    def __init__(
        self,
        names: Sequence[str],
        accounts: list[Any],
        levels: list[int],
        block: FloatArray,
        worst: tuple[IntArray, IntArray, FloatArray, Sequence[str], Sequence[Sequence[str]]] | None = None,
    ) -> None:
        if len(names) != 2 + block.shape[1] or not len(accounts) == len(levels) == len(block):
            raise ValueError("one name per column and one row per account")
        self.names, self.accounts, self.levels, self.block, self.worst = tuple(names), accounts, levels, block, worst
        self._dicts: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return len(self.accounts)

    def dicts(self) -> list[dict[str, Any]]:
        """One dictionary per account (made once, then kept)."""
        if self._dicts is None:
            names = self.names
            out = [
                dict(zip(names, (account, LEVELS[level], *numbers)))
                for account, level, numbers in zip(self.accounts, self.levels, self.block.tolist())
            ]
            if self.worst is not None:
                key, index, usd, groups, labels = self.worst
                for d, k, i, v in zip(out, key.tolist(), index.tolist(), usd.tolist()):
                    add_worst(d, k, i, v, groups, labels)
            self._dicts = out
        return self._dicts

    def __getstate__(self) -> tuple[Any, ...]:
        return self.names, self.accounts, self.levels, self.block, self.worst

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        if len(state) == 3:  # (saved as columns: the label's, the level's, then one per figure)
            names, columns, worst = state
            state = (names, list(columns[0]), list(columns[1]), np.column_stack(columns[2:]).astype(np.float64), worst)
        names, accounts, levels, block, worst = state
        levels = [LEVELS.index(level) if isinstance(level, str) else level for level in levels]  # (saved as names)
        self.names, self.accounts, self.levels, self.block, self.worst = names, accounts, levels, block, worst
        self._dicts = None


def add_worst(
    figures: dict[str, Any], key: int, index: int, pnl_usd: float, groups: Sequence[str], labels: Sequence[Sequence[str]]
) -> None:
    """An account's worst scenario added to its figures: its largest group (``key``, none when < 0), that group's
    scenario ``index`` and the P&L there in USD."""
    if key >= 0:
        figures["worst_group"] = groups[key]
        figures["worst_scenario"] = labels[key][index]
        figures["worst_pnl_usd"] = pnl_usd


class Contributors:
    """Per account, the positions losing most in its worst scenario: slot j of row a is its j-th largest loss
    (instrument row, quantity, P&L in USD; instrument -1 where it has fewer), the instruments named by
    ``names``."""

    __slots__ = ("_tuples", "instrument", "names", "pnl", "quantity")

    def __init__(self, instrument: IntArray, quantity: FloatArray, pnl: FloatArray, names: Sequence[str]) -> None:
        self.instrument, self.quantity, self.pnl, self.names = instrument, quantity, pnl, names
        self._tuples: list[tuple[dict[str, Any], ...]] | None = None

    def tuples(self) -> list[tuple[dict[str, Any], ...]]:
        """Per account, its contributors as dictionaries (instrument name, quantity, pnl_usd), largest loss first."""
        if self._tuples is None:
            names = self.names
            self._tuples = [
                tuple({"instrument": names[i], "quantity": q, "pnl_usd": v} for i, q, v in zip(ii, qq, vv) if i >= 0)
                for ii, qq, vv in zip(self.instrument.tolist(), self.quantity.tolist(), self.pnl.tolist())
            ]
        return self._tuples

    def __getstate__(self) -> tuple[Any, ...]:
        return self.instrument, self.quantity, self.pnl, self.names

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.instrument, self.quantity, self.pnl, self.names = state
        self._tuples = None


__all__ = ["LEVELS", "Contributors", "FigureColumns"]
