"""What-if margin under SPAN: an account's SPAN initial and maintenance margin after one order or a basket,
from the account's positions kept with the risk-parameter file bound to them.

SPAN's risk arrays are the clearing house's own revaluation of each contract, so nothing is revalued here: an
order adds a position, and the account's SPAN is computed again for its positions in one compiled call (the same
steps, netting, grouping by combined commodity, scan, spreads, spot and short-option charges, the sum in the
account's currency, as ``ro.margin(book, market, "span", params)`` gives the account, to the same bits; an
account that needs steps across combined commodities takes that function's full path).  A few microseconds an
order from Python (docs/span.md, "What-if").

`SpanWhatIf(book, market, params)` has the methods of `riskoffset.WhatIf`: `order`, `basket`, `apply` and
`margin`, each returning a `WhatIfResult` (its ``group`` is "span", its currency SPAN's, USD for most files).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ._types import FloatArray, IntArray
from .book import Book
from .live.span_margins import SpanInputs
from .margining.columns import plain
from .margining.span.bulk import span_margins, span_one_account
from .market import Market
from .whatif import MAX_ORDER, Order, OrderUniverse, WhatIfResult, _bad_quantity, one_account, universe_table

_UNITS = 1e8  # amounts net in integer units of 1e-8, as a Book nets them


class SpanWhatIf(OrderUniverse):
    """One account's positions under a SPAN risk-parameter file, for what-if margin (module doc).

    book: the positions (one account is taken: ``account``, or the only one, or all netted as one).  params: as
    ``ro.margin(..., "span", params)`` takes them (a parsed file, a path, "sample", or a mapping with "file",
    "mapping" and SPAN options).  Orders may name the book's instruments, those the market lists on the book's
    underlyings (unless ``listed=False``) and ``instruments``; each must have an entry in the mapping.
    """

    def __init__(
        self,
        book: Book,
        market: Market,
        params: Any = "sample",
        *,
        account: Any = None,
        instruments: Iterable[str] | None = None,
        listed: bool = True,
    ):
        self.book = one_account(book, account)
        self.account = str(self.book.accounts[0]) if len(self.book.accounts) else "book"
        self.table = universe_table(self.book, market, instruments, listed=listed)
        self._row = {str(n): i for i, n in enumerate(self.table.names.tolist())}
        self.inputs = SpanInputs.of(self.table, params)
        self._names = self.inputs.names
        self._units: dict[int, int] = {}  # per universe row held: its amount in integer units of 1e-8, netted
        rows = self.table.rows(self.book.instruments.names[self.book.indices])
        self._commit(self._netted(rows.tolist(), np.asarray(self.book.quantity, dtype=np.float64).tolist()))

    # ------------------------------------------------------------------ state
    def _netted(self, rows: list[int], quantity: list[float]) -> dict[int, int]:
        """The account's amounts after adding ``quantity`` of universe rows ``rows``: summed in integer units of
        1e-8 (rounded half to even, as a Book nets them), zero sums dropped."""
        units = dict(self._units)
        for i, q in zip(rows, quantity):
            units[i] = units.get(i, 0) + round(q * _UNITS)
        return {i: u for i, u in units.items() if u}

    def _commit(self, units: dict[int, int]) -> None:
        """The account's positions become ``units`` (`_netted`); its margin is computed for them."""
        rows = np.fromiter(units, dtype=np.int64, count=len(units))
        amounts = np.array(list(units.values()), dtype=np.float64) / _UNITS
        figures = self._figures(rows, amounts)
        self._units = units
        self._initial, self._maintenance, self.currency = figures
        self._usd_rate = self._rate(self.currency)
        # The positions as the compiled call reads them (contract rows, contracts), with room for one order.
        self._slot = {i: j for j, i in enumerate(units)}
        self._contract = np.append(self.inputs.contract[rows], 0)
        self._contracts = np.append(amounts * self.inputs.per_unit[rows], 0.0)

    def _figures(self, rows: IntArray, quantity: FloatArray) -> tuple[float, float, str]:
        """(initial, maintenance, currency) of the account holding ``quantity`` of universe rows ``rows`` (a row
        may repeat: the quantities net)."""
        contract = self.inputs.contract[rows]
        unmapped = np.flatnonzero(contract < 0)
        if len(unmapped):
            raise ValueError(
                f"instrument {self._names[int(rows[unmapped[0]])]!r} has no entry in the SPAN mapping"
            )
        return self._contracts_figures(contract, quantity * self.inputs.per_unit[rows])

    def _contracts_figures(self, contract: IntArray, contracts: FloatArray) -> tuple[float, float, str]:
        inputs = self.inputs
        one = span_one_account(inputs.span, contract, contracts, inputs.options)
        if one is not None:
            return one
        # an account the compiled call leaves to SPAN's full path (or with no position left)
        cols = span_margins(inputs.span, [plain(self.account)], np.zeros(len(contract), np.int64), contract,
                            contracts, inputs.options)  # fmt: skip
        return float(cols.initial[0]), float(cols.maintenance[0]), cols.currencies[int(cols.currency[0])]

    def _rate(self, currency: str) -> float:
        rate = self.inputs.usd_rates.get(currency)
        if rate is None:
            raise ValueError(f"the SPAN file gives no conversion of {currency} to USD")
        return rate

    def _result(self, after: tuple[float, float, str]) -> WhatIfResult:
        im1, mm1, currency = after
        rate1 = self._usd_rate if currency == self.currency else self._rate(currency)
        im0, mm0, rate0 = self._initial, self._maintenance, self._usd_rate
        if currency != self.currency:  # (the account's currency moved: the figures before in USD too)
            im0, mm0, im1, mm1, currency = im0 * rate0, mm0 * rate0, im1 * rate1, mm1 * rate1, "USD"
        return WhatIfResult(
            "span", currency, im0, im1, mm0, mm1, self._initial * rate0, after[0] * rate1,
            self._maintenance * rate0, after[1] * rate1, self.account,
        )  # fmt: skip

    @property
    def initial_usd(self) -> float:
        """The account's SPAN initial margin in USD."""
        return self._initial * self._usd_rate

    @property
    def maintenance_usd(self) -> float:
        return self._maintenance * self._usd_rate

    # ------------------------------------------------------------------ what-if
    def order(self, instrument: Any, quantity: float) -> WhatIfResult:
        """Margin before and after one order of ``quantity`` (signed, in the table's size units) on
        ``instrument`` (name or universe row)."""
        if not -MAX_ORDER < quantity < MAX_ORDER:  # NaN fails too
            raise ValueError(_bad_quantity(instrument, quantity))
        try:
            i = self._row[instrument] if instrument.__class__ is str else self.row(instrument)
        except KeyError:
            i = self.row(instrument)  # raises, naming the instrument
        contract = int(self.inputs.contract[i])
        if contract < 0:
            raise ValueError(f"instrument {self._names[i]!r} has no entry in the SPAN mapping")
        j = self._slot.get(i, -1)  # (the instrument's position, or the spare slot at the end)
        amount = (self._units.get(i, 0) + round(quantity * _UNITS)) / _UNITS
        rows, contracts = self._contract, self._contracts
        was = contracts[j]
        rows[j], contracts[j] = contract, amount * float(self.inputs.per_unit[i])
        try:
            return self._result(self._contracts_figures(rows, contracts))
        finally:
            contracts[j] = was

    def basket(self, orders: Iterable[Order]) -> WhatIfResult:
        """Margin before and after a basket of orders ``[(instrument, quantity), ...]``."""
        rows, quantity = self._rows_and_quantities(orders)
        units = self._netted(rows.tolist(), quantity.tolist())
        amounts = np.array(list(units.values()), dtype=np.float64) / _UNITS
        return self._result(self._figures(np.fromiter(units, dtype=np.int64, count=len(units)), amounts))

    def apply(self, orders: Iterable[Order]) -> None:
        """Commit orders to the account (later what-ifs start from its positions plus these orders)."""
        rows, quantity = self._rows_and_quantities(orders)
        self._commit(self._netted(rows.tolist(), quantity.tolist()))

    def margin(self) -> WhatIfResult:
        """The account's margin now (before = after)."""
        return self.basket(())


__all__ = ["SpanWhatIf"]
