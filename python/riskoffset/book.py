"""Positions netted per (account, instrument) into a sparse matrix.

A `Book` holds ``Q``, accounts x instruments in CSR form (``indptr``, ``indices``, ``quantity``), over its
own `InstrumentTable` (the instruments with a non-zero net position, in a canonical order: underlying,
expiry, kind, strike, call before put).  Quantities are signed amounts in Deribit's size units (see
docs/units.md): the USD face value for inverse futures and perpetuals, base coin for options,
linear futures and spot; ``unit="contracts"`` on the way in multiplies by the contract size.

Netting is exact: amounts are summed as integers in units of 1e-8 (one satoshi for coin amounts), so a
netted book, and every Greek computed from it, is identical (bit for bit) whatever the order of the
positions and however they are split or merged.  Amounts finer than 1e-8 are rounded to it.

File formats live in riskoffset.io (book_files, deribit); Greeks reports in riskoffset.greeks_report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sized
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core, progress
from ._inputs import float_array
from ._types import FloatArray, IntArray
from .greeks_report import DISPLAY, GROUPINGS, GreeksReport, book_greeks
from .instruments import (
    INVERSE,
    KIND_FUTURE,
    KIND_PERPETUAL,
    KINDS,
    PERPETUAL_EXPIRY_MS,
    Instrument,
    InstrumentTable,
)
from .io.book_files import (
    positions_json,
    read_positions_csv,
    sample_book_names,
    sample_book_records,
    write_positions_csv,
)
from .io.deribit import positions_from_deribit
from .market import Market
from .optional import require_pandas
from .scalars import plain
from .unit_greeks import MEASURES, RAW_UNITS, InstrumentGreeks, instrument_greeks

QUANTUM = 1e-8  # netting resolution (amount units)
_SCALE = 1e8
_MAX_AMOUNT = 9.0e10  # |amount| below this keeps the 1e-8 integer sums inside int64


def _canonical_order(table: InstrumentTable) -> IntArray:
    """Rows sorted by underlying name, expiry, kind (future, perpetual, option, spot), strike, call first, name."""
    under = np.array([table.underlyings[u] for u in table.underlying.tolist()], dtype=str)
    strike = np.where(np.isnan(table.strike), -1.0, table.strike)
    keys = (table.names, -table.flag, strike, table.kind, table.expiration_ms, under)
    return np.lexsort(keys).astype(np.int64)


def _account_array(account: Any, n: int) -> npt.NDArray[Any]:
    if isinstance(account, (str, int, np.integer)):
        return np.full(n, account)
    a = np.asarray(account)
    if a.ndim != 1 or len(a) != n:
        raise ValueError(f"account must be one label or {n} labels, got shape {a.shape}")
    if not len(a):  # (an empty list: no label to type)
        return a.astype(str)
    if a.dtype.kind in "iu":
        return a.astype(np.int64)
    if a.dtype.kind == "O":
        if all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in a.tolist()):
            return a.astype(np.int64)
        return a.astype(str)
    if a.dtype.kind == "U":
        return a
    raise TypeError(f"account labels must be strings or integers, got dtype {a.dtype}")


class Book:
    """Positions netted per (account, instrument): ``Q`` in CSR form over ``instruments``.

    accounts: sorted labels (str or int64), one per row; indptr (int64, len accounts + 1), indices
    (int64 rows of ``instruments``, ascending within an account) and quantity (float64 signed amounts,
    never 0).  Build it with from_arrays, from_positions, from_csv, from_json, from_deribit, load or
    sample; the constructor takes an already netted CSR as is.
    """

    def __init__(
        self,
        instruments: InstrumentTable,
        accounts: npt.NDArray[Any],
        indptr: IntArray,
        indices: IntArray,
        quantity: FloatArray,
        *,
        name: str = "",
        average_price: FloatArray | None = None,
    ):
        self.instruments = instruments
        self.accounts = accounts
        self.indptr = indptr
        self.indices = indices
        self.quantity = quantity
        self.name = name
        # A futures position's average entry price (NaN where unknown and for other instruments), or None.
        self.average_price = average_price
        for a in (accounts, indptr, indices, quantity, average_price):
            if a is not None:
                a.flags.writeable = False
        if average_price is not None and len(average_price) != len(quantity):
            raise ValueError("average_price needs one entry per position")
        if (
            len(indptr) != len(accounts) + 1
            or indptr[0] != 0
            or indptr[-1] != len(indices)
            or len(indices) != len(quantity)
        ):
            raise ValueError(
                "inconsistent CSR arrays: need len(indptr) = accounts + 1, indptr[-1] = len(indices)"
            )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        account: Any,
        instrument: Any,
        quantity: Any,
        *,
        instruments: InstrumentTable | None = None,
        unit: str = "amount",
        name: str = "",
        average_price: Any = None,
    ) -> Book:
        """Net positions given as parallel arrays.

        account: labels (str or int), or one label for all.  instrument: names, or integer rows of
        ``instruments``.  quantity: signed amounts (Deribit size units) or, with unit="contracts",
        contracts (multiplied by the contract size).  instruments: the table names are looked up in
        (contract sizes, fees); names missing from it, or every name without it, are parsed.
        average_price: the average entry price of each row of a future or perpetual (NaN where unknown);
        rows netted into one position combine so that their unrealised P&L is kept (`_netted_average`).
        """
        if unit not in ("amount", "contracts"):
            raise ValueError(f"unit must be 'amount' or 'contracts', got {unit!r}")
        qty = float_array("quantity", quantity).reshape(-1)
        n = len(qty)
        inst = np.asarray(instrument)
        if inst.ndim != 1 or len(inst) != n:
            raise ValueError(f"instrument and quantity lengths differ: {inst.shape} vs {n}")
        if inst.dtype.kind in "iu":
            if instruments is None:
                raise ValueError("integer instrument rows need instruments= (an InstrumentTable)")
            table = instruments
            rows = inst.astype(np.int64)
            if n and (rows.min() < 0 or rows.max() >= len(table)):
                j = int(np.flatnonzero((rows < 0) | (rows >= len(table)))[0])
                raise ValueError(
                    f"position {j}: instrument row {rows[j]} is outside the table of {len(table)}"
                )
        else:
            names = inst.astype(str)
            unique_names = np.unique(names)
            table = (
                InstrumentTable.from_names(unique_names.tolist())
                if instruments is None
                else instruments.extended(unique_names.tolist())
            )
            rows = table.rows(names)
        bad = ~np.isfinite(qty)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"position {i} ({table.names[rows[i]]}): quantity {float(qty[i])!r} is not finite"
            )
        if unit == "contracts":
            qty = qty * table.contract_size[rows]
        too_big = np.abs(qty) >= _MAX_AMOUNT
        if too_big.any():
            i = int(np.flatnonzero(too_big)[0])
            raise ValueError(
                f"position {i} ({table.names[rows[i]]}): |quantity| {float(qty[i])!r} >= {_MAX_AMOUNT:g}"
            )
        accounts = _account_array(account, n)
        units = np.rint(qty * _SCALE).astype(np.int64)
        # The canonical sub-table of the instruments traded (the kernels then see only these rows).
        used = np.flatnonzero(np.bincount(rows[units != 0], minlength=len(table)))
        sub = table.take(used)
        order = _canonical_order(sub)
        sub = sub.take(order)
        remap = np.full(len(table), -1, dtype=np.int64)
        remap[used[order]] = np.arange(len(used))
        nonzero = units != 0
        book = cls._net(sub, accounts[nonzero], remap[rows[nonzero]], units[nonzero], name)
        if average_price is None:
            return book
        avg = np.broadcast_to(float_array("average_price", average_price), (n,))
        bad = ~(np.isnan(avg) | (np.isfinite(avg) & (avg > 0)))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"position {i} ({table.names[rows[i]]}): average_price {float(avg[i])!r} is not a positive price")
        names = table.names[rows[nonzero]]
        netted = _netted_average(book, accounts[nonzero], names, qty[nonzero], avg[nonzero])
        return cls(book.instruments, book.accounts, book.indptr, book.indices, book.quantity, name=name,
                   average_price=netted)  # fmt: skip

    @classmethod
    def _net(
        cls, table: InstrumentTable, accounts: npt.NDArray[Any], rows: IntArray, units: IntArray, name: str
    ) -> Book:
        """Sum integer amounts per (account, instrument) exactly (the C++ netting pass: a counting sort by
        account, then each account's instruments in row order); drop exact zeros and empty accounts."""
        n_instr = max(len(table), 1)
        labels: npt.NDArray[Any] | None = None
        low = 0
        if accounts.dtype.kind == "i" and len(accounts):
            low = int(accounts.min())
            span = int(accounts.max()) - low + 1
        if accounts.dtype.kind == "i" and len(accounts) and span <= 4 * len(accounts) + 1024:
            # Dense integer accounts code themselves: no sort of the labels.
            codes = (accounts - low).astype(np.int64)
            n_codes = span
        else:
            labels, inverse = np.unique(accounts, return_inverse=True)
            codes, n_codes, low = inverse.reshape(-1).astype(np.int64), len(labels), 0
        indptr_all, instr_of, sums = _core.book.net_positions(
            codes, rows.astype(np.int64), units.astype(np.int64), n_codes, n_instr
        )
        counts = np.diff(indptr_all)
        kept = np.flatnonzero(counts > 0)
        acct_out = kept + low if labels is None else labels[kept]
        # Instruments whose positions all netted to zero leave the table (an order-preserving remap).
        still = np.bincount(instr_of, minlength=len(table)) > 0
        if not still.all():
            table = table.take(np.flatnonzero(still))
            instr_of = (np.cumsum(still) - 1)[instr_of]
        accounts_out = np.ascontiguousarray(acct_out)
        indptr = np.concatenate(([0], np.cumsum(counts[kept]))).astype(np.int64)
        quantity = sums.astype(np.float64) / _SCALE
        return cls(table, accounts_out, indptr, np.ascontiguousarray(instr_of), quantity, name=name)

    @classmethod
    def from_positions(
        cls,
        positions: Iterable[Mapping[str, Any]],
        *,
        instruments: InstrumentTable | None = None,
        name: str = "",
    ) -> Book:
        """From position records: ``instrument`` (or ``instrument_name``), ``quantity`` (or Deribit's
        ``size``) in amount units or ``contracts``, and optionally ``account`` (default "default") and, for
        futures and perpetuals, ``average_price`` (the average entry price, so unrealised P&L is known)."""
        accounts: list[Any] = []
        names: list[str] = []
        amounts: list[float] = []
        averages: list[float] = []
        total = len(positions) if isinstance(positions, Sized) else None
        with progress.bar("reading positions", total, "rows", scale=True) as shown:
            for i, p in enumerate(positions):
                if i % 65536 == 65535:
                    shown.update(65536)
                Book._position_record(i, p, instruments, accounts, names, amounts)
                averages.append(_average(p, i, names[-1]))
        avg = averages if any(not math.isnan(a) for a in averages) else None
        if accounts and all(_integer_label(a) for a in accounts):
            return cls.from_arrays(
                [int(a) for a in accounts], names, amounts, instruments=instruments, name=name, average_price=avg
            )
        return cls.from_arrays(
            np.array(accounts, dtype=str), names, amounts, instruments=instruments, name=name, average_price=avg
        )

    @staticmethod
    def _position_record(
        i: int,
        p: Any,
        instruments: InstrumentTable | None,
        accounts: list[Any],
        names: list[str],
        amounts: list[float],
    ) -> None:
        """Append one position record's account, instrument and amount (from_positions)."""
        if not isinstance(p, Mapping):
            raise TypeError(
                f"position {i}: expected a record such as {{'instrument': 'BTC-PERPETUAL', 'quantity': 10}}, "
                f"got {type(p).__name__} {p!r:.60}"
            )
        inst = p.get("instrument", p.get("instrument_name"))
        if not isinstance(inst, str):
            raise ValueError(f"position {i}: no instrument name in {dict(p)!r}")  # noqa: TRY004 - bad input data, reported like every data error
        if "contracts" in p and p["contracts"] not in (None, ""):
            amount = _float(p["contracts"], i, inst) * _contract_size(inst, instruments)
        else:
            q = p.get("quantity", p.get("size"))
            if q is None or q == "":
                raise ValueError(f"position {i} ({inst}): no quantity, size or contracts")
            amount = _float(q, i, inst)
        account = p.get("account", "default")
        accounts.append(str(account) if account not in (None, "") else "default")
        names.append(inst)
        amounts.append(amount)

    @classmethod
    def from_csv(cls, path: str | Path, *, instruments: InstrumentTable | None = None) -> Book:
        """CSV with a header: instrument (or instrument_name), quantity (or size, or contracts), and an
        optional account column.  Lines starting with '#' are comments."""
        return cls.from_positions(read_positions_csv(path), instruments=instruments, name=Path(path).stem)

    @classmethod
    def from_json(cls, source: str | Path | Any, *, instruments: InstrumentTable | None = None) -> Book:
        """From a JSON list of position records (see from_positions), ``{"positions": [...]}``, or a Deribit
        `private/get_positions` response (objects carrying ``direction`` and ``kind``, a JSON-RPC envelope
        or a list of envelopes)."""
        kind, data, name = positions_json(source)
        if kind == "deribit":
            return cls.from_deribit(data, instruments=instruments, name=name)
        return cls.from_positions(data, instruments=instruments, name=name)

    @classmethod
    def from_deribit(
        cls, positions: Any, *, account: str | int = "deribit", instruments: Any = None, name: str = ""
    ) -> Book:
        """From `private/get_positions` objects: ``size`` is signed, in USD for futures and perpetuals and in
        coin for options (see docs/units.md); ``direction`` must agree with the sign; a future's
        ``average_price`` is kept (its unrealised P&L)."""

        table = instruments
        if instruments is not None and not isinstance(instruments, InstrumentTable):
            table = InstrumentTable.from_deribit(instruments)
        accounts, names, sizes, averages = positions_from_deribit(positions, account=account)
        labels: Any = accounts if all(isinstance(a, int) for a in accounts) else [str(a) for a in accounts]
        kinds = [Instrument.parse(n).kind for n in names]  # Deribit gives every position an average price
        avg = [a if k in ("future", "perpetual") else math.nan for a, k in zip(averages, kinds)]
        known = avg if any(not math.isnan(a) for a in avg) else None
        return cls.from_arrays(np.asarray(labels), names, sizes, instruments=table, name=name, average_price=known)

    @classmethod
    def load(cls, path: str | Path, *, instruments: InstrumentTable | None = None) -> Book:
        """From a .csv or .json file (by extension)."""
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"book file {str(p)!r} does not exist")
        try:
            if p.suffix.lower() == ".csv":
                return cls.from_csv(p, instruments=instruments)
            if p.suffix.lower() == ".json":
                return cls.from_json(p, instruments=instruments)
        except UnicodeDecodeError as exc:  # a binary or wrongly encoded file: name it
            raise ValueError(f"book file {str(p)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        raise ValueError(f"book file {str(p)!r}: expected a .csv or .json file")

    @staticmethod
    def samples() -> list[str]:
        """Names of the bundled SYNTHETIC sample books."""
        return sample_book_names()

    @classmethod
    def sample(cls, name: str = "market_maker") -> Book:
        """A bundled SYNTHETIC sample book, over the instruments of Market.sample(): market_maker,
        covered_calls, calendar_spread, short_strangle, linear_inverse."""
        records = sample_book_records(name)
        return cls.from_positions(records, instruments=Market.sample().instruments, name=name)

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        """Number of netted (account, instrument) positions."""
        return len(self.indices)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (
            f"Book{label}({len(self)} netted positions, {len(self.accounts)} accounts, "
            f"{len(self.instruments)} instruments)"
        )

    def __neg__(self) -> Book:
        return Book(
            self.instruments, self.accounts, self.indptr, self.indices, -self.quantity, name=self.name,
            average_price=self.average_price,
        )  # fmt: skip

    def account_range(self, start: int, stop: int) -> Book:
        """The accounts ``start:stop`` (rows of ``accounts``) as a book over the same instrument table."""
        if not 0 <= start <= stop <= len(self.accounts):
            raise ValueError(f"account range {start}:{stop} outside the book's {len(self.accounts)} accounts")
        s, e = int(self.indptr[start]), int(self.indptr[stop])
        return Book(
            self.instruments,
            self.accounts[start:stop],
            np.asarray(self.indptr[start : stop + 1] - s, dtype=np.int64),
            self.indices[s:e],
            self.quantity[s:e],
            name=self.name,
            average_price=None if self.average_price is None else self.average_price[s:e],
        )

    def equals(self, other: Book) -> bool:
        """Same netted positions (exactly, average prices included), as CSR over the same instrument names."""
        mine, theirs = self.average_price, other.average_price
        return (
            np.array_equal(self.instruments.names, other.instruments.names)
            and np.array_equal(self.accounts, other.accounts)
            and np.array_equal(self.indptr, other.indptr)
            and np.array_equal(self.indices, other.indices)
            and np.array_equal(self.quantity, other.quantity)
            and ((mine is None) == (theirs is None))
            and (mine is None or theirs is None or np.array_equal(mine, theirs, equal_nan=True))
        )

    def account_of_position(self) -> npt.NDArray[Any]:
        return np.repeat(self.accounts, np.diff(self.indptr))

    def positions(self) -> list[dict[str, Any]]:
        """The netted positions as records (account, instrument, quantity, and average_price where known)."""
        names = self.instruments.names[self.indices].tolist()
        out = [
            {"account": plain(a), "instrument": n, "quantity": float(q)}
            for a, n, q in zip(self.account_of_position(), names, self.quantity.tolist())
        ]
        if self.average_price is not None:
            for record, avg in zip(out, self.average_price.tolist()):
                if not math.isnan(avg):
                    record["average_price"] = avg
        return out

    def held_rows(self) -> IntArray:
        """The rows of self.instruments at least one position holds, in order (a count per row: np.unique would
        hash or sort every position)."""
        return np.flatnonzero(np.bincount(self.indices, minlength=len(self.instruments)))

    def net_quantity(self) -> FloatArray:
        """Net amount per instrument across accounts (rows of self.instruments)."""
        return np.bincount(self.indices, weights=self.quantity, minlength=len(self.instruments)).astype(
            np.float64
        )

    def to_pandas(self) -> Any:
        """The netted positions as a DataFrame (pandas is optional, imported here)."""
        return require_pandas().DataFrame(self.positions())

    def to_csv(self, path: str | Path) -> None:
        """Write the netted positions as a CSV that from_csv reads back exactly."""
        write_positions_csv(path, self.positions())

    # ------------------------------------------------------------------ Greeks
    def instrument_greeks(self, market: Market) -> InstrumentGreeks:
        """Per-unit measures of this book's instruments (see riskoffset.unit_greeks)."""
        return instrument_greeks(self.instruments, market)

    def greeks(self, market: Market, by: str = "underlying") -> GreeksReport:
        """Aggregated Greeks, grouped ``by`` one of GROUPINGS (see riskoffset.greeks_report.book_greeks)."""
        return book_greeks(self, market, by)


def _average(record: Any, i: int, inst: str) -> float:
    """A record's ``average_price`` (Deribit's field name) as a float, NaN when absent or empty."""
    value = record.get("average_price") if isinstance(record, Mapping) else None
    if value is None or value == "":
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"position {i} ({inst}): average_price {value!r} is not a number") from None


def _netted_average(book: Book, accounts: Any, names: Any, amounts: FloatArray, average: FloatArray) -> FloatArray:
    """Average entry price of each netted futures position from its rows' amounts ``a`` and averages ``p``,
    keeping the rows' total unrealised P&L at any mark ``m``: inverse (USD face) ``sum a (1/p - 1/m) = A (1/P
    - 1/m)`` gives ``P = A / sum(a / p)``; linear ``sum a (m - p) = A (m - P)`` gives ``P = sum(a p) / A``, with
    ``A = sum a``.  NaN where a row has no average, for anything but futures and perpetuals, and where the rows
    net to nothing but a P&L.  Example: 10,000 USD at 40,000 and 10,000 at 60,000 net to 20,000 at 48,000."""
    table = book.instruments
    out = np.full(len(book.quantity), np.nan)
    if not len(amounts):
        return out
    known = np.isin(names, table.names)
    pos_account = np.repeat(np.arange(len(book.accounts)), np.diff(book.indptr))
    key = pos_account * len(table) + book.indices
    row_account = np.searchsorted(book.accounts, np.asarray(accounts)[known])
    row_key = row_account * len(table) + table.rows(np.asarray(names)[known])
    where = np.searchsorted(key, row_key)
    hit = (where < len(key)) & (key[np.minimum(where, len(key) - 1)] == row_key)
    pos = where[hit]
    a, p = amounts[known][hit], average[known][hit]
    inverse = table.settlement[book.indices[pos]] == INVERSE
    weighted = np.where(inverse, a / p, a * p)
    total = np.bincount(pos, weights=a, minlength=len(out))
    summed = np.bincount(pos, weights=weighted, minlength=len(out))
    unknown = np.bincount(pos, weights=np.isnan(p), minlength=len(out)) > 0
    futures = (table.kind[book.indices] == KIND_FUTURE) | (table.kind[book.indices] == KIND_PERPETUAL)
    inv = table.settlement[book.indices] == INVERSE
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(inv, total / summed, summed / total)
    # Rows at one average (a position given as one row) keep it exactly: the formula can be an ulp off it, and
    # with a mark near that price the P&L is a difference of close numbers.
    one = np.full(len(out), np.nan)
    one[pos] = p
    value = np.where(np.bincount(pos, weights=p != one[pos], minlength=len(out)) == 0, one, value)
    ok = futures & ~unknown & (np.bincount(pos, minlength=len(out)) > 0) & np.isfinite(value) & (value > 0)
    out[ok] = value[ok]
    return out


def _integer_label(label: str) -> bool:
    """Whether an account label read as text is an integer written canonically (as ``str(int(label))``
    gives it back, in int64 range): only then is it read as an integer, so "007" and "7", "+7" and "7",
    "-0" and "0" stay distinct accounts and no label changes."""
    body = label.removeprefix("-")
    if not (body.isdigit() and body.isascii()) or str(int(label)) != label:
        return False
    return -(2**63) <= int(label) < 2**63


def _float(value: Any, i: int, inst: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"position {i} ({inst}): quantity {value!r} is not a number") from None
    except OverflowError:  # a Python int beyond the float range
        raise ValueError(f"position {i} ({inst}): quantity {value!r:.40} is not finite") from None
    if not math.isfinite(x):
        raise ValueError(f"position {i} ({inst}): quantity {value!r} is not finite")
    return x


def _contract_size(name: str, instruments: InstrumentTable | None) -> float:
    if instruments is not None and name in instruments:
        return float(instruments[name].contract_size)
    return Instrument.parse(name).contract_size


__all__ = [
    "DISPLAY",
    "GROUPINGS",
    "KINDS",
    "MEASURES",
    "PERPETUAL_EXPIRY_MS",
    "QUANTUM",
    "RAW_UNITS",
    "Book",
    "GreeksReport",
    "InstrumentGreeks",
    "instrument_greeks",
]
