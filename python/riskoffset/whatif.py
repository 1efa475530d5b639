"""What-if margin: the Deribit PM initial and maintenance margin of an account after one order or a basket,
from a cached book, without revaluing anything (DESIGN §1: ``L_account += q * P[i, :]``).

`WhatIf(book, market)` revalues once, per instrument of a universe (the book's instruments, plus by default
every instrument the market lists on the book's underlyings, plus any named in ``instruments``), the 27
standard and 8 extended Deribit PM scenario P&Ls per unit of amount (`margin.portfolio.instrument_vectors`,
spec margin-methods.md §2.3 steps 2-5), and caches per risk vector key (``btc_btc``, ``btc_usdc``) of the
account:

- ``L + A``: the pre-aggregated vector plus the dampener offsets ``A`` (0 on the 27 standard entries, ``A_m``
  on the extended ones);
- the net coin delta per expiry (roll shock) and in total (delta shock), and the key's parameters.

An order of ``q`` on instrument ``i`` then costs one 35-entry multiply-add and one minimum, plus a handful of
float operations: the non-linear steps 6-9 of spec §2.3 reduce exactly, for the requirement, to

- ``worst_case = max(0, -min_j (L_j + q P_ij + A_j))``: a positive entry stays >= 0 after ``pnl_offset``
  and its cap, and a negative extended entry ``E`` dampens to ``sign(E) max(|E| - A, 0) = min(E + A, 0)``;
- ``roll_shock += (|D_e + q d_i| - |D_e|) rate_e`` for the order's expiry ``e`` (``d_i`` its coin delta per
  unit, ``rate_e = max(min_annualised_move, annualised_move_risk T_e)``; times the index for linear keys);
- the delta shock (a labelled candidate, spec §2.3 step 8) of the new total delta;
- ``MM = mm_factor (worst + roll + delta shock)``, ``IM = that + the given add-ons``.

`WhatIf.order` returns before/after figures for one order (a few microseconds from Python, see
bench/test_bench_whatif.py); `WhatIf.basket` any number of orders over any keys; `WhatIf.apply` commits
orders to the cached state.  Equality with a full recomputation through ``ro.margin(..., "deribit-pm")`` is
tested (tests/test_whatif.py).  Spot orders change no risk vector (spot is collateral under Deribit PM).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ._types import FloatArray, IntArray
from .book import Book
from .instruments import KIND_SPOT, InstrumentTable
from .margining.portfolio import (
    PMParameters,
    coin_delta_by_expiry,
    instrument_vectors,
    vector_keys,
)
from .market import Market

_min = np.minimum.reduce

Order = tuple[Any, float]  # (instrument name or universe row, signed amount in Deribit size units)


class WhatIfResult(NamedTuple):
    """Margin of the account before and after the orders.  ``initial_*`` and ``maintenance_*`` are in
    ``currency``: the touched risk group's settlement currency when the orders touch one group, else USD;
    the ``*_usd`` fields are the account's totals over every group in USD."""

    group: str
    currency: str
    initial_before: float
    initial_after: float
    maintenance_before: float
    maintenance_after: float
    initial_usd_before: float
    initial_usd_after: float
    maintenance_usd_before: float
    maintenance_usd_after: float

    @property
    def initial_change(self) -> float:
        return self.initial_after - self.initial_before

    @property
    def maintenance_change(self) -> float:
        return self.maintenance_after - self.maintenance_before

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self._asdict()
        out["initial_change"] = self.initial_change
        out["maintenance_change"] = self.maintenance_change
        return out


@dataclass
class _Group:
    """Cached state of one risk vector key of the account (see the module doc)."""

    name: str
    currency: str
    usd_rate: float  # USD per unit of currency (the index for coin keys, 1 for linear)
    per_coin: float  # coin amounts -> currency (1 for coin keys, the index for linear ones)
    shifted: FloatArray  # L + A
    shift: FloatArray  # A
    delta_by_expiry: list[float]
    rate: list[float]  # roll-shock rate per expiry column
    delta: float
    threshold: float  # delta shock threshold in coin
    m_inc: float
    max_shock: float
    addons: float
    mm_factor: float
    roll: float = 0.0
    worst: float = 0.0
    delta_shock: float = 0.0
    initial: float = 0.0  # cached by refresh()
    maintenance: float = 0.0

    def delta_shock_of(self, delta: float) -> float:
        size = abs(delta)
        excess = size - self.threshold
        if excess <= 0.0:
            return 0.0
        return size * min(self.max_shock, self.m_inc * excess) * self.per_coin

    def refresh(self) -> None:
        low = float(_min(self.shifted)) if len(self.shifted) else 0.0
        self.worst = -low if low < 0.0 else 0.0
        self.roll = sum(abs(d) * r for d, r in zip(self.delta_by_expiry, self.rate)) * self.per_coin
        self.delta_shock = self.delta_shock_of(self.delta)
        self.initial = self.risk_matrix_margin + self.addons
        self.maintenance = self.mm_factor * self.risk_matrix_margin

    @property
    def risk_matrix_margin(self) -> float:
        return self.worst + self.roll + self.delta_shock


def one_account(book: Book, account: Any = None) -> Book:
    """The positions of one account of ``book`` as a one-account Book over the same instrument table;
    ``account=None`` takes the only account, or nets every account into one (labelled "book")."""
    if account is None:
        if len(book.accounts) <= 1:
            return book
        net = book.net_quantity()
        keep = np.flatnonzero(net != 0)
        return Book(
            book.instruments,
            np.array(["book"]),
            np.array([0, len(keep)], dtype=np.int64),
            keep.astype(np.int64),
            net[keep],
            name=book.name,
        )
    found = np.flatnonzero(book.accounts == account)
    if not len(found):
        raise ValueError(
            f"account {account!r} is not in the book (accounts: {', '.join(map(str, book.accounts.tolist()))})"
        )
    a = int(found[0])
    lo, hi = int(book.indptr[a]), int(book.indptr[a + 1])
    return Book(
        book.instruments,
        book.accounts[a : a + 1].copy(),
        np.array([0, hi - lo], dtype=np.int64),
        book.indices[lo:hi].copy(),
        book.quantity[lo:hi].copy(),
        name=book.name,
    )


def universe_table(
    book: Book, market: Market, instruments: Iterable[str] | None = None, *, listed: bool = True
) -> InstrumentTable:
    """The book's instruments, then (``listed``) those the market lists on the book's underlyings, then the
    named ``instruments`` (looked up in the market's table, else parsed)."""
    items = list(book.instruments)
    seen = {inst.name for inst in items}
    held = book.instruments
    bases = {held.underlyings[u] for u in np.unique(held.underlying[book.indices]).tolist()}
    listed_table = market.instruments
    if listed and listed_table is not None:
        for inst in listed_table:
            if inst.base in bases and inst.name not in seen:
                items.append(inst)
                seen.add(inst.name)
    extra = [n for n in dict.fromkeys(str(n) for n in instruments or ()) if n not in seen]
    if extra:
        if listed_table is not None:
            found = [n for n in extra if n in listed_table]
            items += [listed_table[n] for n in found]
            extra = [n for n in extra if n not in listed_table]
        items += list(InstrumentTable.from_names(extra))
    return InstrumentTable(items)


def _empty_book(table: InstrumentTable) -> Book:
    return Book(
        table,
        np.zeros(0, dtype=str),
        np.zeros(1, dtype=np.int64),
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.float64),
    )


class WhatIf:
    """A book's Deribit PM state for one account, cached for incremental what-if margin (module doc).

    book: the positions (one account is taken: ``account``, or the only one, or all netted as one).
    instruments: extra instrument names orders may use; ``listed=False`` leaves out the market's listed
    instruments (then orders may use only the book's and the named ones).  params: the deribit-pm
    parameter set (as `ro.margin`).
    """

    def __init__(
        self,
        book: Book,
        market: Market,
        params: Any = None,
        *,
        account: Any = None,
        instruments: Iterable[str] | None = None,
        listed: bool = True,
    ):
        self.params = PMParameters.load(params)
        self.book = one_account(book, account)
        self.market = market
        table = universe_table(self.book, market, instruments, listed=listed)
        self.table = table
        shell = _empty_book(table)
        keys = vector_keys(shell, market)
        self.keys = keys
        vectors, labels = instrument_vectors(shell, market, self.params, keys)
        spot = table.kind == KIND_SPOT
        vectors[spot] = 0.0  # spot is collateral, not a risk position (portfolio._without_spot)
        self.vectors: FloatArray = np.ascontiguousarray(vectors)
        self.vectors.flags.writeable = False
        self.labels = labels
        delta_unit, column, t_column = coin_delta_by_expiry(shell, market, self.params)
        self.delta_unit: FloatArray = delta_unit
        self.column: IntArray = column
        self._row = {str(n): i for i, n in enumerate(table.names.tolist())}
        # Per-row Python lists: the one-order path reads them without numpy scalar overhead.
        self._key_list: list[int] = keys.key.tolist()
        self._delta_list: list[float] = delta_unit.tolist()
        self._column_list: list[int] = column.tolist()
        self._rows = list(self.vectors)  # row views, no copies
        n_std = self.params.n_standard
        ext = np.asarray(self.params.extended_moves)
        self.groups: list[_Group] = []
        for k, name in enumerate(keys.names):
            pair = self.params.pair(keys.base[k])
            cur = self.params.currency(keys.currency[k])
            index = float(keys.index[k])
            coin = bool(keys.coin[k])
            excess = np.maximum(np.abs(ext) / pair.price_range, 1.0) - 1.0
            amount = excess * cur.extended_dampener
            if coin:
                amount = amount / ((1.0 + np.sign(ext) * pair.price_range) * index)
            shift = np.concatenate((np.zeros(n_std), amount))
            rate = np.maximum(cur.min_annualised_move, cur.annualised_move_risk * t_column)
            self.groups.append(
                _Group(
                    name=name,
                    currency=keys.currency[k],
                    usd_rate=index if coin else 1.0,
                    per_coin=1.0 if coin else index,
                    shifted=shift.copy(),
                    shift=shift,
                    delta_by_expiry=[0.0] * len(t_column),
                    rate=rate.tolist(),
                    delta=0.0,
                    threshold=pair.delta_total_liq_shock_threshold / index,
                    m_inc=pair.m_inc,
                    max_shock=pair.max_delta_shock,
                    addons=float(sum(self.params.addons.get(name, {}).values())),
                    mm_factor=self.params.mm_factor,
                )
            )
        rows = self.table.rows(self.book.instruments.names[self.book.indices])
        self._add(rows, self.book.quantity)

    # ------------------------------------------------------------------ state
    def _add(self, rows: IntArray, quantity: FloatArray) -> None:
        key = self.keys.key[rows]
        for k in np.unique(key).tolist():
            sel = key == k
            g = self.groups[k]
            r, q = rows[sel], quantity[sel]
            g.shifted = g.shifted + q @ self.vectors[r]
            d = q * self.delta_unit[r]
            by_expiry = np.asarray(g.delta_by_expiry) + np.bincount(
                self.column[r], weights=d, minlength=len(g.rate)
            )
            g.delta_by_expiry = by_expiry.tolist()
            g.delta = float(g.delta + d.sum())
        for g in self.groups:
            g.refresh()
        self._initial_usd = sum(g.initial * g.usd_rate for g in self.groups)
        self._maintenance_usd = sum(g.maintenance * g.usd_rate for g in self.groups)

    def row(self, instrument: Any) -> int:
        """Row of an instrument (name or row) in the universe table; KeyError names a missing one."""
        if isinstance(instrument, (int, np.integer)):
            if not 0 <= int(instrument) < len(self.table):
                raise KeyError(f"row {instrument} is outside the universe of {len(self.table)} instruments")
            return int(instrument)
        try:
            return self._row[instrument]
        except KeyError:
            raise KeyError(
                f"instrument {instrument!r} is not in this what-if universe (the book's instruments, the market's "
                "listed ones on the book's underlyings and those passed as instruments=)"
            ) from None

    def _rows_and_quantities(self, orders: Iterable[Order]) -> tuple[IntArray, FloatArray]:
        rows: list[int] = []
        qty: list[float] = []
        for instrument, quantity in orders:
            q = float(quantity)
            if not np.isfinite(q):
                raise ValueError(f"order on {instrument!r}: quantity {quantity!r} is not finite")
            rows.append(self.row(instrument))
            qty.append(q)
        return np.asarray(rows, dtype=np.int64), np.asarray(qty, dtype=np.float64)

    def pnl_vector(self, group: str | int = 0) -> FloatArray:
        """The pre-aggregated scenario P&L vector (27 standard + extended entries) of one group."""
        g = self.groups[group if isinstance(group, int) else self.keys.names.index(group)]
        return np.asarray(g.shifted - g.shift, dtype=np.float64)

    @property
    def initial_usd(self) -> float:
        """The account's initial margin in USD (every group)."""
        return self._initial_usd

    @property
    def maintenance_usd(self) -> float:
        return self._maintenance_usd

    # ------------------------------------------------------------------ what-if
    def order(self, instrument: Any, quantity: float) -> WhatIfResult:
        """Margin before and after one order of ``quantity`` (signed, Deribit size units: USD face for
        inverse futures and perpetuals, coin otherwise) on ``instrument`` (name or universe row)."""
        try:
            i = self._row[instrument] if instrument.__class__ is str else self.row(instrument)
        except KeyError:
            i = self.row(instrument)  # raises, naming the instrument
        g = self.groups[self._key_list[i]]
        x = self._rows[i] * quantity
        x += g.shifted
        low = float(_min(x))
        c = self._column_list[i]
        d = quantity * self._delta_list[i]
        old = g.delta_by_expiry[c]
        rmm = (-low if low < 0.0 else 0.0) + g.roll + (abs(old + d) - abs(old)) * g.rate[c] * g.per_coin
        total = g.delta + d
        if total > g.threshold or -total > g.threshold:
            rmm += g.delta_shock_of(total)
        im1 = rmm + g.addons
        mm1 = g.mm_factor * rmm
        im0, mm0, rate = g.initial, g.maintenance, g.usd_rate
        im_usd, mm_usd = self._initial_usd, self._maintenance_usd
        return WhatIfResult(
            g.name,
            g.currency,
            im0,
            im1,
            mm0,
            mm1,
            im_usd,
            im_usd + (im1 - im0) * rate,
            mm_usd,
            mm_usd + (mm1 - mm0) * rate,
        )

    def _after(self, rows: IntArray, quantity: FloatArray) -> dict[int, tuple[float, float]]:
        """(initial, maintenance) after the orders, per touched group."""
        out: dict[int, tuple[float, float]] = {}
        key = self.keys.key[rows]
        for k in np.unique(key).tolist():
            g = self.groups[k]
            sel = key == k
            r, q = rows[sel], quantity[sel]
            x = g.shifted + q @ self.vectors[r]
            low = float(x.min())
            worst = -low if low < 0.0 else 0.0
            d = q * self.delta_unit[r]
            by_expiry = np.asarray(g.delta_by_expiry) + np.bincount(
                self.column[r], weights=d, minlength=len(g.rate)
            )
            roll = float(np.abs(by_expiry) @ np.asarray(g.rate)) * g.per_coin
            rmm = worst + roll + g.delta_shock_of(g.delta + float(d.sum()))
            out[k] = (rmm + g.addons, g.mm_factor * rmm)
        return out

    def basket(self, orders: Iterable[Order]) -> WhatIfResult:
        """Margin before and after a basket of orders ``[(instrument, quantity), ...]`` (any groups)."""
        rows, quantity = self._rows_and_quantities(orders)
        after = self._after(rows, quantity)
        im_usd, mm_usd = self.initial_usd, self.maintenance_usd
        im_usd1 = im_usd + sum(
            (a[0] - self.groups[k].initial) * self.groups[k].usd_rate for k, a in after.items()
        )
        mm_usd1 = mm_usd + sum(
            (a[1] - self.groups[k].maintenance) * self.groups[k].usd_rate for k, a in after.items()
        )
        if len(after) == 1:
            ((k, (im1, mm1)),) = after.items()
            g = self.groups[k]
            return WhatIfResult(
                g.name, g.currency, g.initial, im1, g.maintenance, mm1, im_usd, im_usd1, mm_usd, mm_usd1
            )
        if not after and len(self.groups) == 1:
            g = self.groups[0]
            return WhatIfResult(
                g.name,
                g.currency,
                g.initial,
                g.initial,
                g.maintenance,
                g.maintenance,
                im_usd,
                im_usd,
                mm_usd,
                mm_usd,
            )
        return WhatIfResult("", "USD", im_usd, im_usd1, mm_usd, mm_usd1, im_usd, im_usd1, mm_usd, mm_usd1)

    def apply(self, orders: Iterable[Order]) -> None:
        """Commit orders to the cached state (later what-ifs start from the book plus these orders)."""
        rows, quantity = self._rows_and_quantities(orders)
        self._add(rows, quantity)

    def margin(self) -> WhatIfResult:
        """The current state's margin (before = after)."""
        return self.basket(())


def whatif(
    book: Book, market: Market, orders: Sequence[Order], params: Any = None, **options: Any
) -> WhatIfResult:
    """One-shot what-if: `WhatIf(book, market, params, **options).basket(orders)`."""
    names = [o[0] for o in orders if isinstance(o[0], str)]
    extra = list(options.pop("instruments", None) or ()) + names
    return WhatIf(book, market, params, instruments=extra, **options).basket(orders)


__all__ = ["Order", "WhatIf", "WhatIfResult", "one_account", "universe_table", "whatif"]
