"""`Queries`: what `RiskEngine` tells of its accounts as they are now: one account's figures, every account's
as columns, the accounts at risk, futures P&L, the book and the balances.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._types import FloatArray, IntArray
from ..accounts.balances import Balances
from ..accounts.deltas import closest_expiration, delta_totals
from ..accounts.view import AccountView
from ..book import Book
from .engine_state import EngineState, _locked
from .events import LEVELS
from .figures import FigureColumns, add_worst
from .input_checks import _finite, account_label


class Queries(EngineState):
    """The accounts' figures, read (module doc)."""

    def _row(self, row: int) -> dict[str, Any]:
        """The figures of the account ``row`` (as `account` gives them)."""
        if self.pm and self._worst_stale[row].any():
            self._fresh_worst(np.array([row], dtype=np.int64))
        flat, worst_key, worst_index = self._bound_refresh(None).account_row(row)  # (the refresh's own sums)
        return self._figures_of(row, int(self._level[row]), flat, worst_key, worst_index)

    def _figures_of(self, row: int, level: int, flat: list[float], worst_key: int, worst_index: int) -> dict[str, Any]:
        """One account's figures as `account` gives them (the same names, in the same order, as `_figure_columns`
        gives every account's): ``flat`` its margin balance, IM, MM and available funds in USD, MM ratio, worst P&L
        in USD, then per currency its balance, equity, IM and MM (a row of the compiled capture)."""
        names, worst = self._figure_names()
        # (the figures' own order but for the worst P&L, sixth: named with the worst scenario)
        figures = dict(zip(names, (self.positions.labels[row], LEVELS[level], *flat[:5], *flat[6:])))
        if worst is not None:
            add_worst(figures, worst_key, worst_index, flat[5], *worst)
        return figures

    def _figure_names(self) -> tuple[tuple[str, ...], tuple[Sequence[str], Sequence[Sequence[str]]] | None]:
        """The figures' names (account, level, the USD figures, then balance, equity, IM and MM per currency) and
        the groups and scenario labels that name a worst scenario (None where the method has none).  The names
        are made once per list of currencies (a query's dictionary is a few microseconds: they were one)."""
        cached = self.__dict__.get("_figure_names_cache")
        if cached is None or cached[0] is not self.currencies:
            usd = ("account", "level", "margin_balance_usd", "initial_usd", "maintenance_usd", "available_usd", "mm_ratio")
            parts = ("balance", "equity", "initial", "maintenance")
            cached = self._figure_names_cache = (
                self.currencies, (*usd, *(f"{part}_{cur}" for cur in self.currencies for part in parts))
            )
        names: tuple[str, ...] = cached[1]
        if self._grid is not None:  # its groups: the settlement currencies, each with every scenario
            return names, (self.currencies, [self._grid.grid.scenarios.labels] * len(self.currencies))
        if not self.pm:
            return names, None
        return names, (self._keys.names, self._labels)

    def _rows(self, rows: IntArray) -> list[dict[str, Any]]:
        """The figures of the accounts ``rows``, one dictionary per account (as `account` gives them)."""
        return self._columns(rows).dicts()

    def _columns(self, rows: IntArray) -> FigureColumns:
        """The figures of the accounts ``rows`` as they are now, column by column (copies)."""
        self._fresh_worst(rows)
        balance = self._balance[rows]
        (options, futures, initial, maintenance), usd_figures, (worst_key, worst_index, worst_usd) = self._figures(rows)
        k = len(self.currencies)
        block = np.empty((len(rows), 5 + 4 * k))
        block[:, :5] = np.column_stack(usd_figures)
        by_currency = block[:, 5:].reshape(len(rows), k, 4)  # (balance, equity, IM, MM of each currency in turn)
        by_currency[:, :, 0], by_currency[:, :, 2], by_currency[:, :, 3] = balance, initial, maintenance
        by_currency[:, :, 1] = balance + options + futures  # (the equity summed as the refresh sums it)
        return self._figure_columns(rows, block, worst_key, worst_index, worst_usd)

    def _figure_columns(
        self, rows: IntArray, block: FloatArray, worst_key: IntArray, worst_index: IntArray, worst_usd: FloatArray
    ) -> FigureColumns:
        """The figures of the accounts ``rows``: ``block`` their margin balance, IM, MM and available funds in USD
        and MM ratio, then each currency's balance, equity, IM and MM (the figures' order, a row per account); their
        largest group, that group's worst scenario index and its P&L in USD."""
        names, worst = self._figure_names()
        accounts = list(map(self.positions.labels.__getitem__, rows.tolist()))  # (Python scalars, as labels are)
        kept = None if worst is None else (worst_key, worst_index, worst_usd, *worst)
        return FigureColumns(names, accounts, self._level[rows].tolist(), block, kept)

    def _figures(self, rows: IntArray) -> tuple[tuple[FloatArray, ...], tuple[FloatArray, ...], tuple[Any, ...]]:
        """The accounts ``rows`` as the refresh left them: per currency ([account, currency]) their options value
        at mark, futures P&L, IM and MM; their margin balance, IM, MM and available funds in USD and MM ratio; their
        largest group (-1: none), its worst scenario index and worst P&L in USD (kept as the last search left
        them: `_fresh_worst` first where it matters).
        The engine keeps only what no other figure gives (the settle cells, each PM group's figures, the
        level ...): the compiled refresh adds these up and settles them here as its settle does (the same code on
        the same inputs, so the figures it leveled the accounts on)."""
        figures = self._bound_refresh(None).figures(np.asarray(rows, dtype=np.int64))
        return tuple(figures[:4]), tuple(figures[4:9]), tuple(figures[9:])

    @_locked
    def account(self, account: Any) -> dict[str, Any]:
        """One account's figures: per currency (balance, equity, initial, maintenance) and in USD (margin
        balance, IM, MM, available funds, MM ratio), its level and, under deribit-pm or a grid, its worst
        scenario."""
        row = self.positions.find(account_label(account, self.positions.labels))
        if row is None:
            raise ValueError(f"account {account!r} is not in the engine")
        return self._row(row)

    @_locked
    def accounts(self) -> AccountView:
        """Every account's figures as columns (the account view's type: ``to_pandas()`` with pandas)."""
        rows = np.arange(len(self.positions), dtype=np.int64)
        labels = np.asarray(self.positions.labels)
        indptr, indices, quantity, _ = self.positions.csr(rows)
        delta_total, projected_delta = delta_totals(
            indptr,
            indices,
            quantity,
            self._unit_delta,
            self._settle_col,
            closest_expiration(self.table, self.market),
            len(self.currencies),
        )
        (options, futures, initial, maintenance), usd, _ = self._figures(rows)
        margin_balance, initial_usd, maintenance_usd, available, ratio = usd
        model = ("X:" if self.cross else "S:") + (
            "PM" if self.pm else "SM" if self.method == "deribit-standard" else self.method
        )
        return AccountView(
            model, "candidate" if (self.cross and self.pm) else "exact", labels, self.currencies, self._prices(),
            self._balance.copy(), np.asarray(self._balance + options + futures, dtype=np.float64), initial, maintenance,
            margin_balance, initial_usd, maintenance_usd, available, ratio, self._level >= 1, self._level >= 2,
            f"{self.collateral.name} {self.collateral.as_of}".strip(), self.method, delta_total, projected_delta,
        )  # fmt: skip

    @_locked
    def at_risk(self, threshold: float = 0.0, limit: int | None = None) -> list[dict[str, Any]]:
        """The accounts whose MM ratio (MM / margin balance) is at least ``threshold``, highest first (equal
        ratios in the engine's account order); with ``limit``, the first ``limit`` of them.  Each account returned
        is a dictionary made for the call (a few microseconds each: ask a venue of 100,000 accounts for its top
        ones, or read `accounts` as columns)."""
        return self._rows(self._at_risk_rows(threshold, limit))

    def _at_risk_rows(self, threshold: float, limit: int | None, ties: bool = False) -> IntArray:
        """The engine rows of `at_risk`'s accounts, in its order; with ``ties``, past ``limit`` also those whose
        ratio equals the last one's (what a shard of a `ClusterEngine` sends, so that the merged list cuts exactly
        where one engine would)."""
        t = _finite(threshold, "threshold")
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)):
                raise TypeError(f"limit must be a non-negative integer or None, got {limit!r}")
            if limit < 0:
                raise ValueError(f"limit must be a non-negative integer or None, got {limit!r}")
        ratio = self._figures(np.arange(len(self.positions), dtype=np.int64))[1][4]
        rows = np.flatnonzero(ratio >= t)
        rows = rows[np.argsort(-ratio[rows], kind="stable")].astype(np.int64, copy=False)
        if limit is not None and limit < len(rows):
            cut = int(limit)
            if ties and cut > 0:  # (sorted: the ratios equal to the last one kept follow it)
                cut += int(np.count_nonzero(ratio[rows[cut:]] == ratio[rows[cut - 1]]))
            rows = rows[:cut]
        return rows

    @_locked
    def futures_pnl(self) -> FloatArray:
        """Futures P&L against the average entry price per [account, currency] (settlement currency units)."""
        return np.asarray(self._figures(np.arange(len(self.positions), dtype=np.int64))[0][1], dtype=np.float64)

    @property
    @_locked
    def book(self) -> Book:
        """The current positions as a `Book`."""
        return self.positions.book(self.table)

    @property
    @_locked
    def balances(self) -> Balances:
        """The current balances (negative where premiums or fees exceeded them)."""
        return Balances(
            np.asarray(self.positions.labels), self.currencies, self._balance, allow_negative=True
        )
