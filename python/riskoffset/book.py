"""Positions netted per (account, instrument) into a sparse matrix, and their Greeks aggregated the way a
trading desk reads them (DESIGN §1: revalue each instrument once, then net).

A `Book` holds ``Q``, accounts x instruments in CSR form (``indptr``, ``indices``, ``quantity``), over its
own `InstrumentTable` (the instruments with a non-zero net position, in a canonical order: underlying,
expiry, kind, strike, call before put).  Quantities are signed amounts in Deribit's size units
(conventions.md §2.6): the USD face value for inverse futures and perpetuals, base coin for options,
linear futures and spot; ``unit="contracts"`` on the way in multiplies by the contract size.

Netting is exact: amounts are summed as integers in units of 1e-8 (one satoshi for coin amounts), so a
netted book, and every Greek computed from it, is identical (bit for bit) whatever the order of the
positions and however they are split or merged.  Amounts finer than 1e-8 are rounded to it.

Greeks (`Book.greeks`): one vectorised pricing call over the instrument table gives per-unit measures
``g`` (instruments x measures, see MEASURES), then ``G = Q . g`` per account and group sums per
underlying, expiry and strike.  Greeks of different underlyings are never added together.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._types import FloatArray, IntArray
from .instruments import (
    INVERSE,
    KIND_FUTURE,
    KIND_OPTION,
    KIND_PERPETUAL,
    KIND_SPOT,
    KINDS,
    PERPETUAL_EXPIRY_MS,
    InstrumentTable,
)
from .market import FORWARD_SOURCES, Market, ResolvedMarket
from .pricing import greeks as _kernel_greeks

QUANTUM = 1e-8  # netting resolution (amount units)
_SCALE = 1e8
_MAX_AMOUNT = 9.0e10  # |amount| below this keeps the 1e-8 integer sums inside int64

#: Per-unit measures of one instrument (columns of InstrumentGreeks.values) and their raw units.
MEASURES: tuple[str, ...] = (
    "value_usd",
    "value_coin",
    "delta",
    "delta_pa",
    "delta_usd",
    "delta_pa_usd",
    "gamma",
    "vega",
    "vega_coin",
    "theta",
    "theta_coin",
)
RAW_UNITS: dict[str, str] = {
    "value_usd": "USD",
    "value_coin": "coin",
    "delta": "coin (plain Black-76 delta; futures: coin exposure)",
    "delta_pa": "coin (premium-adjusted: delta - coin mark for inverse options)",
    "delta_usd": "USD (delta x index)",
    "delta_pa_usd": "USD (delta_pa x index)",
    "gamma": "coin per USD (d delta / dF)",
    "vega": "USD per 1.00 of vol",
    "vega_coin": "coin per 1.00 of vol",
    "theta": "USD per year",
    "theta_coin": "coin per year",
}
#: Exchange display units (Deribit): raw name -> (display name, factor, unit).
DISPLAY: dict[str, tuple[str, float, str]] = {
    "vega": ("vega_per_point", 0.01, "USD per vol point"),
    "vega_coin": ("vega_coin_per_point", 0.01, "coin per vol point"),
    "theta": ("theta_per_day", 1.0 / 365.0, "USD per day"),
    "theta_coin": ("theta_coin_per_day", 1.0 / 365.0, "coin per day"),
}
GROUPINGS = ("account", "underlying", "expiry", "strike", "instrument", "position")


# ---------------------------------------------------------------------------------------------- per instrument
@dataclass(frozen=True)
class InstrumentGreeks:
    """Per-unit measures of every instrument of a table: ``values[i, MEASURES.index(m)]`` is measure m of one
    unit of amount of instrument i (one coin of an option, one USD of face of an inverse future)."""

    table: InstrumentTable
    market: ResolvedMarket
    values: FloatArray

    def __getitem__(self, measure: str) -> FloatArray:
        return self.values[:, MEASURES.index(measure)]


def instrument_greeks(table: InstrumentTable, market: Market) -> InstrumentGreeks:
    """Per-unit measures of every row of ``table`` from one vectorised kernel call over its options.

    Options (Black-76 on the forward of their expiry, r = market.rate): value V in USD, plain delta, gamma,
    vega and theta of V; coin figures are USD figures divided by the forward (an inverse option's coin mark
    is c = V / F, DESIGN §3); premium-adjusted delta is delta - c for inverse options (the coin premium is
    itself coin exposure, conventions.md §2.7) and delta for linear ones.  Inverse futures and perpetuals
    (amount in USD face, coin P&L = q (1/F0 - 1/F)): delta = 1/F coin per USD of face, the coin exposure
    Deribit adds to DeltaTotal; linear futures, perpetuals and spot (amount in coin): delta = 1.  Futures
    have no premium (value 0); spot is worth its index.  USD deltas are coin deltas times the index.  Expired
    instruments are valued at intrinsic.
    """
    resolved = market.resolve(table)
    n = len(table)
    g = np.zeros((n, len(MEASURES)))
    col = {m: i for i, m in enumerate(MEASURES)}
    forward = resolved.forward
    options = np.flatnonzero(table.kind == KIND_OPTION)
    if len(options):
        f = forward[options]
        out = _kernel_greeks(
            table.flag[options] > 0,
            f,
            table.strike[options],
            resolved.t[options],
            market.rate,
            resolved.sigma[options],
            greeks=("price", "delta", "gamma", "vega", "theta"),
        )
        value = np.asarray(out["price"])
        delta = np.asarray(out["delta"])
        inverse = table.settlement[options] == INVERSE
        g[options, col["value_usd"]] = value
        g[options, col["value_coin"]] = value / f
        g[options, col["delta"]] = delta
        g[options, col["delta_pa"]] = np.where(inverse, delta - value / f, delta)
        g[options, col["gamma"]] = out["gamma"]
        g[options, col["vega"]] = out["vega"]
        g[options, col["vega_coin"]] = np.asarray(out["vega"]) / f
        g[options, col["theta"]] = out["theta"]
        g[options, col["theta_coin"]] = np.asarray(out["theta"]) / f
    linear_like = np.flatnonzero(
        ((table.kind == KIND_FUTURE) | (table.kind == KIND_PERPETUAL)) & (table.settlement != INVERSE)
        | (table.kind == KIND_SPOT)
    )
    g[linear_like, col["delta"]] = 1.0
    g[linear_like, col["delta_pa"]] = 1.0
    spot = np.flatnonzero(table.kind == KIND_SPOT)
    g[spot, col["value_usd"]] = forward[spot]
    g[spot, col["value_coin"]] = 1.0
    inverse_futures = np.flatnonzero(
        ((table.kind == KIND_FUTURE) | (table.kind == KIND_PERPETUAL)) & (table.settlement == INVERSE)
    )
    g[inverse_futures, col["delta"]] = 1.0 / forward[inverse_futures]
    g[inverse_futures, col["delta_pa"]] = 1.0 / forward[inverse_futures]
    # USD deltas value the coin exposure at the index, so they add up across expiries like the coin deltas
    # (NaN where the market has no index for the underlying).
    g[:, col["delta_usd"]] = g[:, col["delta"]] * resolved.index
    g[:, col["delta_pa_usd"]] = g[:, col["delta_pa"]] * resolved.index
    g.flags.writeable = False
    return InstrumentGreeks(table, resolved, g)


# ---------------------------------------------------------------------------------------------- reports
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
            row: dict[str, Any] = dict(zip(self.keys, (_plain(v) for v in label)))
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
        import pandas as pd

        return pd.DataFrame(self.rows(display)).set_index(list(self.keys))

    def table(self) -> str:
        """Human-readable table in display units."""
        columns = [
            ("delta", "delta", "coin", "{:,.4f}"),
            ("delta_pa", "delta_pa", "coin", "{:,.4f}"),
            ("delta_usd", "delta", "USD", "{:,.0f}"),
            ("gamma", "gamma", "coin/USD", "{:.3e}"),
            ("vega_per_point", "vega/pt", "USD", "{:,.2f}"),
            ("vega_coin_per_point", "vega/pt", "coin", "{:,.5f}"),
            ("theta_per_day", "theta/day", "USD", "{:,.2f}"),
            ("theta_coin_per_day", "theta/day", "coin", "{:,.5f}"),
            ("value_usd", "value", "USD", "{:,.2f}"),
            ("value_coin", "value", "coin", "{:,.5f}"),
        ]
        shown = self.display()
        label_text = [[str(_plain(v)) for v in label] for label in self.labels]
        label_widths = [max([len(k)] + [len(r[j]) for r in label_text]) for j, k in enumerate(self.keys)]
        cells = [
            [fmt.format(float(shown[name][i]) + 0.0) for name, _, _, fmt in columns] for i in range(len(self))
        ]
        widths = [
            max(len(head), len(unit), *(len(r[j]) for r in cells)) if cells else max(len(head), len(unit))
            for j, (_, head, unit, _) in enumerate(columns)
        ]
        lines = []
        head = "  ".join(k.ljust(w) for k, w in zip(self.keys, label_widths))
        unit_line = "  ".join("".ljust(w) for w in label_widths)
        head += "".join(f"  {h:>{w}}" for (_, h, _, _), w in zip(columns, widths))
        unit_line += "".join(f"  {u:>{w}}" for (_, _, u, _), w in zip(columns, widths))
        lines += [head, unit_line, "-" * len(head)]
        for text, row in zip(label_text, cells):
            lines.append(
                "  ".join(t.ljust(w) for t, w in zip(text, label_widths))
                + "".join(f"  {c:>{w}}" for c, w in zip(row, widths))
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


# ---------------------------------------------------------------------------------------------- the book
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
    ):
        self.instruments = instruments
        self.accounts = accounts
        self.indptr = indptr
        self.indices = indices
        self.quantity = quantity
        self.name = name
        for a in (accounts, indptr, indices, quantity):
            a.flags.writeable = False
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
    ) -> Book:
        """Net positions given as parallel arrays.

        account: labels (str or int), or one label for all.  instrument: names, or integer rows of
        ``instruments``.  quantity: signed amounts (Deribit size units) or, with unit="contracts",
        contracts (multiplied by the contract size).  instruments: the table names are looked up in
        (contract sizes, fees); names missing from it, or every name without it, are parsed.
        """
        if unit not in ("amount", "contracts"):
            raise ValueError(f"unit must be 'amount' or 'contracts', got {unit!r}")
        qty = np.asarray(quantity, dtype=np.float64).reshape(-1)
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
        return cls._net(sub, accounts[nonzero], remap[rows[nonzero]], units[nonzero], name)

    @classmethod
    def _net(
        cls, table: InstrumentTable, accounts: npt.NDArray[Any], rows: IntArray, units: IntArray, name: str
    ) -> Book:
        """Sum integer amounts per (account, instrument) with one sort; drop exact zeros."""
        n_instr = max(len(table), 1)
        labels: npt.NDArray[Any] | None = None
        if accounts.dtype.kind == "i" and len(accounts):
            low = int(accounts.min())
            span = int(accounts.max()) - low + 1
            if span < (2**62) // n_instr:
                # Integer accounts: the key sort orders the accounts too, no separate coding pass.
                key = (accounts - low) * n_instr + rows
            else:
                labels, codes = np.unique(accounts, return_inverse=True)
                key = codes.reshape(-1).astype(np.int64) * n_instr + rows
        else:
            labels, codes = np.unique(accounts, return_inverse=True)
            key = codes.reshape(-1).astype(np.int64) * n_instr + rows
            low = 0
        order = np.argsort(key, kind="stable")
        key = key[order]
        if len(key):
            starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
            sums = np.add.reduceat(units[order], starts)
        else:
            starts, sums = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        keep = sums != 0
        key, sums = key[starts][keep], sums[keep]
        account_code, instr_of = key // n_instr, key % n_instr
        acct_of = account_code + low if labels is None else labels[account_code]
        # Instruments whose positions all netted to zero leave the table (an order-preserving remap).
        still = np.bincount(instr_of, minlength=len(table)) > 0
        if not still.all():
            table = table.take(np.flatnonzero(still))
            instr_of = (np.cumsum(still) - 1)[instr_of]
        if len(acct_of):
            starts_acct = np.flatnonzero(np.concatenate(([True], acct_of[1:] != acct_of[:-1])))
        else:
            starts_acct = np.zeros(0, dtype=np.int64)
        accounts_out = np.ascontiguousarray(acct_of[starts_acct])
        indptr = np.append(starts_acct, len(instr_of)).astype(np.int64)
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
        ``size``) in amount units or ``contracts``, and optionally ``account`` (default "default")."""
        accounts: list[Any] = []
        names: list[str] = []
        amounts: list[float] = []
        for i, p in enumerate(positions):
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
        if all(isinstance(a, str) and a.lstrip("-").isdigit() for a in accounts) and accounts:
            return cls.from_arrays(
                [int(a) for a in accounts], names, amounts, instruments=instruments, name=name
            )
        return cls.from_arrays(
            np.array(accounts, dtype=str), names, amounts, instruments=instruments, name=name
        )

    @classmethod
    def from_csv(cls, path: str | Path, *, instruments: InstrumentTable | None = None) -> Book:
        """CSV with a header: instrument (or instrument_name), quantity (or size, or contracts), and an
        optional account column.  Lines starting with '#' are comments."""
        p = Path(path)
        lines = [line for line in p.read_text().splitlines() if line.strip() and not line.startswith("#")]
        reader = csv.DictReader(lines)
        fields = set(reader.fieldnames or ())
        if not fields & {"instrument", "instrument_name"} or not fields & {"quantity", "size", "contracts"}:
            raise ValueError(
                f"{p}: a positions CSV needs columns instrument (or instrument_name) and quantity (or size or "
                f"contracts), optionally account; found {sorted(fields)}"
            )
        return cls.from_positions(reader, instruments=instruments, name=p.stem)

    @classmethod
    def from_json(cls, source: str | Path | Any, *, instruments: InstrumentTable | None = None) -> Book:
        """From a JSON list of position records (see from_positions), ``{"positions": [...]}``, or a Deribit
        `private/get_positions` response (objects carrying ``direction`` and ``kind``)."""
        data = source
        name = ""
        if isinstance(source, (str, Path)):
            p = Path(source)
            data = json.loads(p.read_text())
            name = p.stem
        if isinstance(data, Mapping) and "result" in data:
            return cls.from_deribit(data, instruments=instruments, name=name)
        if isinstance(data, Mapping) and "positions" in data:
            data = data["positions"]
        if not isinstance(data, list):
            raise ValueError(  # noqa: TRY004 - bad input data, reported like every data error
                "a positions JSON is a list of records, {'positions': [...]} or a get_positions response"
            )
        if data and all(isinstance(d, Mapping) and "direction" in d and "kind" in d for d in data):
            return cls.from_deribit(data, instruments=instruments, name=name)
        return cls.from_positions(data, instruments=instruments, name=name)

    @classmethod
    def from_deribit(
        cls, positions: Any, *, account: str | int = "deribit", instruments: Any = None, name: str = ""
    ) -> Book:
        """From `private/get_positions` objects: ``size`` is signed, in USD for futures and perpetuals and in
        coin for options (conventions.md §2.6); ``direction`` must agree with the sign."""
        from .deribit import positions_from_deribit

        table = instruments
        if instruments is not None and not isinstance(instruments, InstrumentTable):
            table = InstrumentTable.from_deribit(instruments)
        accounts, names, sizes = positions_from_deribit(positions, account=account)
        labels: Any = accounts if all(isinstance(a, int) for a in accounts) else [str(a) for a in accounts]
        return cls.from_arrays(np.asarray(labels), names, sizes, instruments=table, name=name)

    @classmethod
    def load(cls, path: str | Path, *, instruments: InstrumentTable | None = None) -> Book:
        """From a .csv or .json file (by extension)."""
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"book file {str(p)!r} does not exist")
        if p.suffix.lower() == ".csv":
            return cls.from_csv(p, instruments=instruments)
        if p.suffix.lower() == ".json":
            return cls.from_json(p, instruments=instruments)
        raise ValueError(f"book file {str(p)!r}: expected a .csv or .json file")

    @staticmethod
    def samples() -> list[str]:
        """Names of the bundled SYNTHETIC sample books (tools/make_sample_market.py)."""
        folder = resources.files("riskoffset").joinpath("data/books")
        return sorted(p.name[: -len(".csv")] for p in folder.iterdir() if p.name.endswith(".csv"))

    @classmethod
    def sample(cls, name: str = "market_maker") -> Book:
        """A bundled SYNTHETIC sample book, over the instruments of Market.sample(): market_maker,
        covered_calls, calendar_spread, short_strangle, linear_inverse."""
        names = cls.samples()
        if name not in names:
            raise ValueError(f"no sample book {name!r}; choose one of {', '.join(names)}")
        from .market import Market

        text = resources.files("riskoffset").joinpath(f"data/books/{name}.csv").read_text()
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        return cls.from_positions(csv.DictReader(lines), instruments=Market.sample().instruments, name=name)

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
            self.instruments, self.accounts, self.indptr, self.indices, -self.quantity, name=self.name
        )

    def equals(self, other: Book) -> bool:
        """Same netted positions (exactly), as CSR over the same instrument names."""
        return (
            np.array_equal(self.instruments.names, other.instruments.names)
            and np.array_equal(self.accounts, other.accounts)
            and np.array_equal(self.indptr, other.indptr)
            and np.array_equal(self.indices, other.indices)
            and np.array_equal(self.quantity, other.quantity)
        )

    def account_of_position(self) -> npt.NDArray[Any]:
        return np.repeat(self.accounts, np.diff(self.indptr))

    def positions(self) -> list[dict[str, Any]]:
        """The netted positions as records (account, instrument, quantity)."""
        names = self.instruments.names[self.indices].tolist()
        return [
            {"account": _plain(a), "instrument": n, "quantity": float(q)}
            for a, n, q in zip(self.account_of_position(), names, self.quantity.tolist())
        ]

    def net_quantity(self) -> FloatArray:
        """Net amount per instrument across accounts (rows of self.instruments)."""
        return np.bincount(self.indices, weights=self.quantity, minlength=len(self.instruments)).astype(
            np.float64
        )

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.positions())

    def to_csv(self, path: str | Path) -> None:
        with Path(path).open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["account", "instrument", "quantity"])
            writer.writeheader()
            writer.writerows({**p, "quantity": repr(p["quantity"])} for p in self.positions())

    # ------------------------------------------------------------------ Greeks
    def instrument_greeks(self, market: Market) -> InstrumentGreeks:
        return instrument_greeks(self.instruments, market)

    def greeks(self, market: Market, by: str = "underlying") -> GreeksReport:
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
        per_unit = instrument_greeks(self.instruments, market)
        g = per_unit.values
        table = self.instruments
        if by == "position":
            contributions = self.quantity[:, None] * g[self.indices]
            labels: list[tuple[Any, ...]] = list(
                zip(
                    (_plain(a) for a in self.account_of_position()),
                    table.names[self.indices].tolist(),
                    self.quantity.tolist(),
                )
            )
            keys: tuple[str, ...] = ("account", "instrument", "quantity")
            totals = contributions
        elif by == "account":
            # G = Q . g, kept apart per underlying: one row per (account, underlying) that holds anything.
            contributions = self.quantity[:, None] * g[self.indices]
            row = np.repeat(np.arange(len(self.accounts)), np.diff(self.indptr))
            n_under = max(len(table.underlyings), 1)
            group = row * n_under + table.underlying[self.indices]
            totals, present = _group_sum(group, contributions)
            accounts = self.accounts[present // n_under].tolist()
            labels = [(a, table.underlyings[u]) for a, u in zip(accounts, (present % n_under).tolist())]
            keys = ("account", "underlying")
        else:
            contributions = self.net_quantity()[:, None] * g
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
            group = np.cumsum(change) - 1
            first = np.flatnonzero(change)
            totals, _ = _group_sum(group, contributions)
            label_columns: list[list[Any]] = [
                [table.underlyings[u] for u in table.underlying[first].tolist()]
            ]
            if by in ("expiry", "strike"):
                label_columns.append(_expiry_labels(table.expiration_ms[first]))
            if by == "strike":
                label_columns.append(
                    ["-" if math.isnan(k) else f"{k:g}" for k in table.strike[first].tolist()]
                )
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


def _group_sum(group: IntArray, contributions: FloatArray) -> tuple[FloatArray, IntArray]:
    """Sums of contribution rows per group id, for the groups that occur (ascending).  ``group`` is
    non-decreasing (CSR entries are sorted by account, then by canonical instrument row, underlying first),
    so each group is a run and one reduceat sums them all, in order: the result is deterministic."""
    if len(group) == 0:
        return np.zeros((0, contributions.shape[1])), np.zeros(0, dtype=np.int64)
    if (group[1:] < group[:-1]).any():  # a CSR built by hand in another order: sort it (stable) first
        order = np.argsort(group, kind="stable")
        group, contributions = group[order], contributions[order]
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    return np.add.reduceat(contributions, starts, axis=0), group[starts]


def _float(value: Any, i: int, inst: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"position {i} ({inst}): quantity {value!r} is not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"position {i} ({inst}): quantity {value!r} is not finite")
    return x


def _contract_size(name: str, instruments: InstrumentTable | None) -> float:
    if instruments is not None and name in instruments:
        return float(instruments[name].contract_size)
    from .instruments import Instrument

    return Instrument.parse(name).contract_size


__all__ = [
    "DISPLAY",
    "GROUPINGS",
    "KINDS",
    "MEASURES",
    "PERPETUAL_EXPIRY_MS",
    "RAW_UNITS",
    "Book",
    "GreeksReport",
    "InstrumentGreeks",
    "instrument_greeks",
]
