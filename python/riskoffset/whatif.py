"""What-if margin: the Deribit PM initial and maintenance margin of an account after one order or a basket,
from a cached book, without revaluing anything (the account's scenario vector moves by ``q * P[i, :]``).

`WhatIf(book, market)` revalues once, per instrument of a universe (the book's instruments, plus by default
every instrument the market lists on the book's underlyings, plus any named in ``instruments``), the 27
standard and 8 extended Deribit PM scenario P&Ls per unit of amount (`margining.portfolio.instrument_vectors`,
the scenario steps of docs/margin.md), and keeps per risk vector key (``btc_btc``, ``btc_usdc``) of the
account its scenario vector and its net coin delta per expiry.

An order then costs one 35-entry multiply-add and the portfolio-margin steps that follow the scenario P&L
(extended-table dampener, pnl_offset and its cap, worst case, roll shock, delta shock, IM/MM). Those steps run
in the same C++ code as the full ``ro.margin(..., "deribit-pm")`` pass (`_core.margin.GroupSteps`, bound once
per `WhatIf`), so the what-if and the full path cannot drift; the test suite checks equality with a full recomputation
(docs/margin.md).

`WhatIf.order` returns before/after figures for one order (a few microseconds from Python; figures in
the README); `WhatIf.basket` any number of orders over any keys; `WhatIf.apply` commits
orders to the cached state.  Spot orders change no risk vector (spot is collateral under Deribit PM).
`riskoffset.whatif_span.SpanWhatIf` has the same methods and result under SPAN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from . import _core
from ._types import FloatArray, IntArray
from .book import Book
from .instruments import KIND_SPOT, InstrumentTable
from .margining.portfolio import (
    PMParameters,
    expiry_columns,
    instrument_vectors,
    key_matrix,
    vector_keys,
)
from .market import Market
from .optional import require_pandas
from .sparse import spread_by_column

Order = tuple[Any, float]  # (instrument name or universe row, signed amount in Deribit size units)


_FIRST = np.zeros(1, dtype=np.int64)  # the one group of a basket starts at its first order

#: The largest |quantity| an order may have (amount units): larger is a typing mistake, not an order.
MAX_ORDER = 1e15


def _bad_quantity(instrument: Any, quantity: Any) -> str:
    return f"order on {instrument!r}: quantity {quantity!r} is not finite or not below {MAX_ORDER:.0e} in size"


class WhatIfResult(NamedTuple):
    """Margin of the account before and after the orders.  ``initial_*`` and ``maintenance_*`` are in
    ``currency``: the touched risk group's settlement currency when the orders touch one group, else USD;
    the ``*_usd`` fields are the account's totals over every group in USD; ``account`` is the account's label
    ("book" when every account of a book was netted into one)."""

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
    account: str = ""

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

    def to_pandas(self) -> Any:
        """A one-row pandas DataFrame of `to_dict`, indexed by the account (pandas is optional:
        ``pip install "riskoffset[pandas]"``)."""
        pd = require_pandas("WhatIfResult.to_pandas()")
        return pd.DataFrame([self.to_dict()]).set_index("account")


@dataclass
class _Group:
    """Cached state of one risk vector key of the account: its pre-aggregated vector ``L`` and net coin delta
    per expiry column, and its figures from the shared portfolio-margin steps (the same C++ kernel as
    ``ro.margin``)."""

    key: int
    name: str
    currency: str
    usd_rate: float  # USD per unit of currency (the index for coin keys, 1 for linear)
    pre: FloatArray  # L
    net_by_column: FloatArray
    # Linear pieces of the steps, for the margin-minimising hedge's linear program (hedging.solvers):
    shift: FloatArray  # the dampener amounts A (0 on the standard entries): worst = max(0, -min(L + A))
    rate: FloatArray  # roll-shock rate per expiry column
    per_coin: float  # coin amounts -> the key's currency
    initial: float = 0.0
    maintenance: float = 0.0

    @property
    def shifted(self) -> FloatArray:
        return np.asarray(self.pre + self.shift, dtype=np.float64)

    @property
    def delta_by_expiry(self) -> FloatArray:
        return self.net_by_column


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
    bases = {held.underlyings[u] for u in np.unique(held.underlying[book.held_rows()]).tolist()}
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


class OrderUniverse:
    """The instruments a what-if's orders may name (``table``, with ``_row`` from name to row), and the orders'
    checks: shared by the what-if of each margin method."""

    table: InstrumentTable
    _row: dict[str, int]

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
            if not -MAX_ORDER < q < MAX_ORDER:
                raise ValueError(_bad_quantity(instrument, quantity))
            rows.append(self.row(instrument))
            qty.append(q)
        return np.asarray(rows, dtype=np.int64), np.asarray(qty, dtype=np.float64)


class WhatIf(OrderUniverse):
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
        self.account = str(self.book.accounts[0]) if len(self.book.accounts) else "book"
        self.market = market
        table = universe_table(self.book, market, instruments, listed=listed)
        self.table = table
        shell = _empty_book(table)
        keys = vector_keys(shell, market)
        self.keys = keys
        vectors, labels, delta_unit = instrument_vectors(shell, market, self.params, keys)
        spot = table.kind == KIND_SPOT
        vectors[spot] = 0.0  # spot is collateral, not a risk position (portfolio._without_spot)
        self.vectors: FloatArray = np.ascontiguousarray(vectors)
        self.vectors.flags.writeable = False
        self.labels = labels
        column, t_column = expiry_columns(shell, market.resolve(table))
        self.delta_unit: FloatArray = delta_unit
        self.column: IntArray = column
        self._row = {str(n): i for i, n in enumerate(table.names.tolist())}
        # Per-row Python lists: the one-order path reads them without numpy scalar overhead.
        self._key_list: list[int] = keys.key.tolist()
        self._delta_list: list[float] = delta_unit.tolist()
        self._column_list: list[int] = column.tolist()
        self._rows = list(self.vectors)  # row views, no copies
        self._t_column = t_column
        self._moves = self._moves_matrix()
        self._steps = self._group_steps()
        width = self.vectors.shape[1]
        n_std, ext = self.params.n_standard, np.asarray(self.params.extended_moves)
        self.groups: list[_Group] = []
        for k, name in enumerate(keys.names):
            pair = self.params.pair(keys.base[k])
            cur = self.params.currency(keys.currency[k])
            index, coin = float(keys.index[k]), bool(keys.coin[k])
            amount = (np.maximum(np.abs(ext) / pair.price_range, 1.0) - 1.0) * cur.extended_dampener
            if coin:
                amount = amount / ((1.0 + np.sign(ext) * pair.price_range) * index)
            self.groups.append(
                _Group(
                    key=k,
                    name=name,
                    currency=keys.currency[k],
                    usd_rate=index if coin else 1.0,
                    pre=np.zeros(width),
                    net_by_column=np.zeros(len(t_column)),
                    shift=np.concatenate((np.zeros(n_std), amount)),
                    rate=np.maximum(cur.min_annualised_move, cur.annualised_move_risk * t_column),
                    per_coin=1.0 if coin else index,
                )
            )
        rows = self.table.rows(self.book.instruments.names[self.book.indices])
        self._add(rows, self.book.quantity)

    def _group_steps(self) -> Any:
        """The C++ steps after the sum (dampener, pnl_offset, worst case, shocks), shared with the full pass."""
        return _core.margin.GroupSteps(
            self.params.n_standard,
            np.asarray(self.params.extended_moves, dtype=np.float64),
            key_matrix(self.params, self.keys),
            self._t_column,
        )

    def _moves_matrix(self) -> FloatArray:
        """Per universe row, what one unit moves in a group: its scenario vector, then its delta in its expiry
        column (the matrix orders multiply in the one sparse product)."""
        deltas = spread_by_column(self.delta_unit, self.column, len(self._t_column))
        moves = np.ascontiguousarray(np.hstack((self.vectors, deltas)))
        moves.flags.writeable = False
        return moves

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the C++ step object, the row views and the moves matrix: rebuilt on unpickling."""
        state = dict(self.__dict__)
        del state["_steps"], state["_rows"], state["_moves"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.vectors.flags.writeable = False
        self._rows = list(self.vectors)
        self._steps = self._group_steps()
        self._moves = self._moves_matrix()

    # ------------------------------------------------------------------ state
    def _figures(self, g: _Group, pre: FloatArray, net_by_column: FloatArray) -> tuple[float, float]:
        """(initial, maintenance) of one group from its vector and deltas: the shared steps."""
        f = self._steps.figures(pre, g.key, net_by_column, self.params.mm_factor)
        return f[0], f[1]

    def _moved(self, g: _Group, rows: IntArray, quantity: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The group's vector and net delta per expiry column after orders (rows, quantity) of its key: the
        orders summed in their order by the package's one sparse product."""
        moved = _core.book.csr_product(
            _FIRST, np.array([len(rows)], dtype=np.int64), rows, quantity, self._moves, 1
        )[0]
        width = self.vectors.shape[1]
        return g.pre + moved[:width], g.net_by_column + moved[width:]

    def _add(self, rows: IntArray, quantity: FloatArray) -> None:
        key = self.keys.key[rows]
        for k in np.unique(key).tolist():
            sel = key == k
            g = self.groups[k]
            g.pre, g.net_by_column = self._moved(g, rows[sel], quantity[sel])
        for g in self.groups:
            g.initial, g.maintenance = self._figures(g, g.pre, g.net_by_column)
        self._initial_usd = sum(g.initial * g.usd_rate for g in self.groups)
        self._maintenance_usd = sum(g.maintenance * g.usd_rate for g in self.groups)

    def pnl_vector(self, group: str | int = 0) -> FloatArray:
        """The pre-aggregated scenario P&L vector (27 standard + extended entries) of one group."""
        g = self.groups[group if isinstance(group, int) else self.keys.names.index(group)]
        return np.asarray(g.pre, dtype=np.float64).copy()

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
        if not -MAX_ORDER < quantity < MAX_ORDER:  # NaN fails too; one comparison on the fast path
            raise ValueError(_bad_quantity(instrument, quantity))
        try:
            i = self._row[instrument] if instrument.__class__ is str else self.row(instrument)
        except KeyError:
            i = self.row(instrument)  # raises, naming the instrument
        g = self.groups[self._key_list[i]]
        x = self._rows[i] * quantity
        x += g.pre
        net = g.net_by_column.copy()
        net[self._column_list[i]] += quantity * self._delta_list[i]
        im1, mm1 = self._figures(g, x, net)
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
            self.account,
        )

    def _after(self, rows: IntArray, quantity: FloatArray) -> dict[int, tuple[float, float]]:
        """(initial, maintenance) after the orders, per touched group."""
        out: dict[int, tuple[float, float]] = {}
        key = self.keys.key[rows]
        for k in np.unique(key).tolist():
            g = self.groups[k]
            sel = key == k
            r, q = rows[sel], quantity[sel]
            out[k] = self._figures(g, *self._moved(g, r, q))
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
                g.name, g.currency, g.initial, im1, g.maintenance, mm1, im_usd, im_usd1, mm_usd, mm_usd1, self.account
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
                self.account,
            )
        return WhatIfResult(
            "", "USD", im_usd, im_usd1, mm_usd, mm_usd1, im_usd, im_usd1, mm_usd, mm_usd1, self.account
        )

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


__all__ = ["Order", "OrderUniverse", "WhatIf", "WhatIfResult", "one_account", "universe_table", "whatif"]
