"""Greeks of a book aggregated the way a trading desk reads them: per-unit measures times netted amounts,
summed per account, underlying, expiry, strike, instrument or position.  Greeks of different underlyings
are never added together."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from . import _core
from ._types import FloatArray, IntArray
from .instruments import PERPETUAL_EXPIRY_MS
from .market import FORWARD_SOURCES, Market
from .optional import require_pandas
from .scalars import plain
from .sparse import account_pnl
from .tables import Column, render
from .unit_greeks import MEASURES, RAW_UNITS, instrument_greeks

if TYPE_CHECKING:
    from .book import Book

#: Exchange display units (Deribit): raw name -> (display name, factor, unit).
DISPLAY: dict[str, tuple[str, float, str]] = {
    "vega": ("vega_per_point", 0.01, "USD per vol point"),
    "vega_coin": ("vega_coin_per_point", 0.01, "coin per vol point"),
    "theta": ("theta_per_day", 1.0 / 365.0, "USD per day"),
    "theta_coin": ("theta_coin_per_day", 1.0 / 365.0, "coin per day"),
}
GROUPINGS = ("account", "underlying", "expiry", "strike", "instrument", "position")


@dataclass
class GreeksReport:
    """Aggregated Greeks: one row per group (``keys`` name the label columns), raw per-unit values in
    ``values`` (measure -> array; vega per 1.00 vol, theta per year) and the exchange display units from
    ``display()`` (vega per vol point, theta per day).  Prints as a table in display units."""

    by: str
    keys: tuple[str, ...]
    labels: list[tuple[Any, ...]]
    values: dict[str, FloatArray]
    valuation_time: str
    market: str = ""
    expired: list[str] = field(default_factory=list)
    forward_sources: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def display(self) -> dict[str, FloatArray]:
        """Values in exchange display units: vega_per_point, vega_coin_per_point, theta_per_day,
        theta_coin_per_day; other measures unchanged."""
        shown: dict[str, FloatArray] = {}
        for name, value in self.values.items():
            if name in DISPLAY:
                new, factor, _ = DISPLAY[name]
                shown[new] = value * factor
            else:
                shown[name] = value
        return shown

    @staticmethod
    def units(display: bool = True) -> dict[str, str]:
        units = dict(RAW_UNITS)
        if display:
            for name, (new, _, unit) in DISPLAY.items():
                del units[name]
                units[new] = unit
        return units

    def rows(self, display: bool = True) -> list[dict[str, Any]]:
        """One dict per group: label columns then measures (display units unless display=False)."""
        data = self.display() if display else self.values
        out = []
        for i, label in enumerate(self.labels):
            row: dict[str, Any] = dict(zip(self.keys, (plain(v) for v in label)))
            row.update({name: float(values[i]) for name, values in data.items()})
            out.append(row)
        return out

    def to_dict(self, display: bool = True) -> dict[str, Any]:
        return {
            "by": self.by,
            "valuation_time": self.valuation_time,
            "market": self.market,
            "units": self.units(display),
            "rows": self.rows(display),
            "expired": list(self.expired),
            "forward_sources": dict(self.forward_sources),
        }

    def to_json(self, display: bool = True, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(display), **kwargs)

    def to_pandas(self, display: bool = True) -> Any:
        """A pandas DataFrame indexed by the label columns (pandas is optional, imported here)."""
        pd = require_pandas()

        return pd.DataFrame(self.rows(display)).set_index(list(self.keys))

    #: (measure, printed name with its unit, column kind, digits) of the printed table.
    PRINTED: ClassVar[tuple[tuple[str, str, str, int], ...]] = (
        ("delta", "delta coin", "fixed", 4),
        ("delta_pa", "delta_pa coin", "fixed", 4),
        ("delta_usd", "delta USD", "fixed", 0),
        ("gamma", "gamma coin/USD", "sci", 4),
        ("vega_per_point", "vega USD/pt", "fixed", 2),
        ("vega_coin_per_point", "vega coin/pt", "fixed", 5),
        ("theta_per_day", "theta USD/day", "fixed", 2),
        ("theta_coin_per_day", "theta coin/day", "fixed", 5),
        ("value_usd", "value USD", "fixed", 2),
        ("value_coin", "value coin", "fixed", 5),
    )

    def table_rows(self) -> tuple[list[Column], list[list[Any]]]:
        """The printed table's columns and rows (display units: vega per vol point, theta per day)."""
        shown = self.display()
        columns = [Column(k, label=True) for k in self.keys]
        columns += [Column(head, kind, digits) for _, head, kind, digits in self.PRINTED]
        rows = [
            [plain(v) for v in label] + [float(shown[name][i]) for name, _, _, _ in self.PRINTED]
            for i, label in enumerate(self.labels)
        ]
        return columns, rows

    def table(self) -> str:
        """Human-readable table in display units (wrapped to 100 characters)."""
        return "\n".join(render(*self.table_rows()))

    def __str__(self) -> str:
        return self.table()


def book_greeks(book: Book, market: Market, by: str = "underlying") -> GreeksReport:
    """Aggregated Greeks, grouped ``by``:

    - "account": one row per (account, underlying), ``Q . g`` restricted to each underlying;
    - "underlying", "expiry" (underlying, expiry), "strike" (underlying, expiry, strike; futures and
      perpetuals show strike "-"), "instrument": totals over all accounts;
    - "position": one row per netted (account, instrument).

    Values are sums of amount x per-unit measure (see MEASURES, RAW_UNITS); ``display()`` and the
    printed table use exchange display units (vega per vol point, theta per day).
    """
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    per_unit = instrument_greeks(book.instruments, market)
    g = per_unit.values
    table = book.instruments
    if by == "position":
        contributions = book.quantity[:, None] * g[book.indices]
        labels: list[tuple[Any, ...]] = list(
            zip(
                (plain(a) for a in book.account_of_position()),
                table.names[book.indices].tolist(),
                book.quantity.tolist(),
            )
        )
        keys: tuple[str, ...] = ("account", "instrument", "quantity")
        totals = contributions
    elif by == "account":
        # G = Q . g, kept apart per underlying: one row per (account, underlying) that holds anything; the
        # one sparse product (positions summed in CSR order per group).
        n_under = max(len(table.underlyings), 1)
        sums = account_pnl(book, g, table.underlying.astype(np.int64), n_under)
        totals = sums.pnl
        accounts = book.accounts[sums.account].tolist()
        labels = [(a, table.underlyings[u]) for a, u in zip(accounts, sums.key.tolist())]
        keys = ("account", "underlying")
    else:
        # The book's table is in canonical order (underlying, expiry, kind, strike), so every group is a
        # run of consecutive rows: a new group starts where any key column changes.
        key_columns: list[npt.NDArray[Any]] = [table.underlying]
        keys = ("underlying",)
        if by in ("expiry", "strike"):
            key_columns.append(table.expiration_ms)
            keys += ("expiry",)
        if by == "strike":
            key_columns.append(np.where(np.isnan(table.strike), -1.0, table.strike))
            keys += ("strike",)
        if by == "instrument":
            key_columns.append(np.arange(len(table)))
            keys += ("instrument",)
        change = np.zeros(len(table), dtype=bool)
        if len(table):
            change[0] = True
            for column in key_columns:
                change[1:] |= column[1:] != column[:-1]
        first = np.flatnonzero(change)
        lengths = np.diff(np.append(first, len(table))).astype(np.int64)
        # Net amount x per-unit measures, summed over each run of rows by the one sparse product.
        totals = (
            _core.book.csr_product(
                first.astype(np.int64),
                lengths,
                np.arange(len(table), dtype=np.int64),
                book.net_quantity(),
                np.ascontiguousarray(g, dtype=np.float64),
                1,
            )
            if len(table)
            else np.zeros((0, g.shape[1]))
        )
        label_columns: list[list[Any]] = [[table.underlyings[u] for u in table.underlying[first].tolist()]]
        if by in ("expiry", "strike"):
            label_columns.append(_expiry_labels(table.expiration_ms[first]))
        if by == "strike":
            label_columns.append(["-" if math.isnan(k) else f"{k:g}" for k in table.strike[first].tolist()])
        if by == "instrument":
            label_columns.append(table.names[first].tolist())
        labels = list(zip(*label_columns))
    resolved = per_unit.market
    expired = table.names[resolved.expired].tolist()
    used_sources = np.bincount(
        resolved.forward_source[resolved.forward_source >= 0], minlength=len(FORWARD_SOURCES)
    )
    return GreeksReport(
        by=by,
        keys=keys,
        labels=labels,
        values={m: np.ascontiguousarray(totals[:, j]) for j, m in enumerate(MEASURES)},
        valuation_time=market.valuation_time.isoformat().replace("+00:00", "Z"),
        market=market.description,
        expired=expired,
        forward_sources={FORWARD_SOURCES[i]: int(c) for i, c in enumerate(used_sources.tolist()) if c},
    )


def _expiry_labels(expiration_ms: IntArray) -> list[str]:
    """ISO dates of expiries ('perpetual' for the perpetual sentinel), vectorised through datetime64."""
    dates = expiration_ms.astype("datetime64[ms]").astype("datetime64[D]").astype(str).tolist()
    return ["perpetual" if ms == PERPETUAL_EXPIRY_MS else d for ms, d in zip(expiration_ms.tolist(), dates)]


__all__ = ["DISPLAY", "GROUPINGS", "GreeksReport", "book_greeks"]
