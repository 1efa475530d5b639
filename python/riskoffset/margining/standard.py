"""Deribit standard margin (S:SM): per-position initial and maintenance margin, no offsets between positions
(see docs/margin.md, Deribit standard margin); parameters from dated JSON,
riskoffset/data/margin/deribit-standard_*.json.

Futures and perpetuals, size-dependent rate on the whole position, ``n`` = position size in coin
(inverse: ``|USD face| / mark``; linear: the coin amount), taken per instrument:

    IM = n (a_IM + b n),  MM = n (a_MM + b n)   in coin; linear (USDC-settled): times the index.

Short options, per coin of position, ``OTM`` = out-of-the-money amount on the option's forward ``F``
(its underlying price), ``mark`` = the option's mark (coin for inverse, USDC for linear), ``I`` = index:

    inverse call:  IM = max(c_IM - OTM/F, floor) + mark,            MM = c_MM + mark
    inverse put:   IM = max(max(c_IM - OTM/F, floor) + mark, MM),   MM = max(c_MM, c_MM mark) + mark
    linear call:   IM = max(c_IM - OTM/F, floor) I + mark,          MM = c_MM I + mark
    linear put:    IM = max((c_IM - OTM/F) I, floor K) + mark,      MM = c_MM min(I, K) + mark

with (c_IM, floor, c_MM) = (0.15, 0.10, 0.075) (altcoin linear options 0.20 / 0.13 / 0.10,
candidate).  Long options need no margin beyond the premium paid; spot holdings need none.  Margin is
summed per account and settlement currency (S:SM); open orders are not part of a Book and are not charged.
The option mark is the market's quoted mark where it has one, else the Black-76 value at the mark IV.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _core
from .._types import FloatArray, IntArray
from ..book import Book, instrument_greeks
from ..instruments import INVERSE, KIND_FUTURE, KIND_OPTION, KIND_PERPETUAL, InstrumentTable
from ..market import Market
from . import parameters as P
from .columns import CALIBRATION_ORDER, NO_TAG, GroupMargins
from .result import Calibration, MarginResult

METHOD = "deribit-standard"
STATUSES = ("calibrated", "candidate", "exact")


@dataclass(frozen=True)
class FuturesRates:
    """Size-dependent futures rates of one instrument family (``BTC`` inverse, ``BTC_USDC`` linear)."""

    initial_base: float
    maintenance_base: float
    slope_per_coin: float
    status: Calibration
    source: str


@dataclass(frozen=True)
class OptionRates:
    """Short-option coefficients: IM base and floor, MM base (fractions of the underlying)."""

    initial_base: float
    initial_floor: float
    maintenance: float
    status: Calibration
    source: str


@dataclass(frozen=True)
class StandardParameters:
    name: str
    as_of: str
    source: str
    futures: Mapping[str, FuturesRates]
    options_inverse: OptionRates
    options_linear: OptionRates | None
    options_linear_altcoin: OptionRates | None
    altcoins: frozenset[str]

    @classmethod
    def load(cls, source: str | Path | Mapping[str, Any] | None = None) -> StandardParameters:
        """From a preset name (default: the latest bundled set), a JSON path or a parsed mapping."""
        if isinstance(source, StandardParameters):
            return source
        doc, origin = P.load(METHOD if source is None else source, METHOD)
        where = origin
        futures_doc = P.section(doc, "futures", where)
        futures = {}
        for family, rates in futures_doc.items():
            w = f"{where}: futures.{family}"
            if not isinstance(rates, Mapping):
                raise P.ParameterError(f"{w}: expected an object")
            futures[str(family)] = FuturesRates(
                P.number(rates, "initial_base", w, minimum=0.0, maximum=1.0),
                P.number(rates, "maintenance_base", w, minimum=0.0, maximum=1.0),
                P.number(rates, "slope_per_coin", w, minimum=0.0),
                _status(rates, w),
                P.text(rates, "source", w),
            )
        options = P.section(doc, "options", where)

        def option_rates(key: str, required: bool) -> OptionRates | None:
            if key not in options and not required:
                return None
            w = f"{where}: options.{key}"
            r = P.section(options, key, f"{where}: options")
            return OptionRates(
                P.number(r, "initial_base", w, minimum=0.0, maximum=1.0),
                P.number(r, "initial_floor", w, minimum=0.0, maximum=1.0),
                P.number(r, "maintenance", w, minimum=0.0, maximum=1.0),
                _status(r, w),
                P.text(r, "source", w),
            )

        inverse = option_rates("inverse", True)
        assert inverse is not None
        altcoin = option_rates("linear_altcoin", False)
        altcoins: frozenset[str] = frozenset()
        if altcoin is not None:
            names = options["linear_altcoin"].get("underlyings", [])
            if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
                raise P.ParameterError(f"{where}: options.linear_altcoin.underlyings must be a list of names")
            altcoins = frozenset(names)
        return cls(
            name=P.text(doc, "name", where, default=origin),
            as_of=P.text(doc, "as_of", where),
            source=P.describe(doc, origin),
            futures=futures,
            options_inverse=inverse,
            options_linear=option_rates("linear", False),
            options_linear_altcoin=altcoin,
            altcoins=altcoins,
        )

    def futures_rates(self, family: str) -> FuturesRates:
        try:
            return self.futures[family]
        except KeyError:
            raise P.ParameterError(
                f"{self.name}: no futures rates for {family!r} (families: {', '.join(sorted(self.futures))})"
            ) from None

    def linear_option_rates(self, base: str) -> OptionRates:
        rates = self.options_linear_altcoin if base in self.altcoins else self.options_linear
        if rates is None:
            raise P.ParameterError(f"{self.name}: no linear option rates for {base}")
        return rates


def _status(doc: Mapping[str, Any], where: str) -> Calibration:
    status = P.text(doc, "status", where)
    if status not in STATUSES:
        raise P.ParameterError(f"{where}.status: must be one of {', '.join(STATUSES)}, got {status!r}")
    return status  # type: ignore[return-value]  # checked against the Literal's values just above


# ---------------------------------------------------------------------------------------------- formulas
def _size_rated(n: Any, base: Any, slope: Any) -> FloatArray:
    """``n (base + slope n)``: the whole position at the size-dependent rate."""
    return np.asarray(n * (base + slope * n), dtype=np.float64)


def futures_margin(size_coin: Any, rates: FuturesRates) -> tuple[FloatArray, FloatArray]:
    """(IM, MM) in coin of futures positions of ``|size_coin|`` coin: ``n (a + b n)``."""
    n = np.abs(np.asarray(size_coin, dtype=np.float64))
    return (
        _size_rated(n, rates.initial_base, rates.slope_per_coin),
        _size_rated(n, rates.maintenance_base, rates.slope_per_coin),
    )


def _otm(is_call: npt.NDArray[np.bool_], forward: FloatArray, strike: FloatArray) -> FloatArray:
    return np.where(is_call, np.maximum(strike - forward, 0.0), np.maximum(forward - strike, 0.0))


def inverse_option_margin(
    is_call: Any, forward: Any, strike: Any, mark_coin: Any, rates: OptionRates
) -> tuple[FloatArray, FloatArray]:
    """(IM, MM) in coin per coin of a short inverse option."""
    call = np.asarray(is_call, dtype=bool)
    f = np.asarray(forward, dtype=np.float64)
    mark = np.asarray(mark_coin, dtype=np.float64)
    base = np.maximum(
        rates.initial_base - _otm(call, f, np.asarray(strike, dtype=np.float64)) / f, rates.initial_floor
    )
    mm = np.where(call, rates.maintenance, np.maximum(rates.maintenance, rates.maintenance * mark)) + mark
    im = np.where(call, base + mark, np.maximum(base + mark, mm))
    return im, mm


def linear_option_margin(
    is_call: Any, forward: Any, strike: Any, index: Any, mark_usd: Any, rates: OptionRates
) -> tuple[FloatArray, FloatArray]:
    """(IM, MM) in the quote currency per coin of a short linear (USDC-settled) option."""
    call = np.asarray(is_call, dtype=bool)
    f = np.asarray(forward, dtype=np.float64)
    k = np.asarray(strike, dtype=np.float64)
    i = np.asarray(index, dtype=np.float64)
    mark = np.asarray(mark_usd, dtype=np.float64)
    moneyness = rates.initial_base - _otm(call, f, k) / f
    im = (
        np.where(
            call,
            np.maximum(moneyness, rates.initial_floor) * i,
            np.maximum(moneyness * i, rates.initial_floor * k),
        )
        + mark
    )
    mm = rates.maintenance * np.where(call, i, np.minimum(i, k)) + mark
    return im, mm


def _option_marks(
    table: InstrumentTable, market: Market, rows: npt.NDArray[np.intp], model: FloatArray
) -> FloatArray:
    """Quoted marks where the market has them (coin for inverse, quote currency for linear), else model values."""
    names = table.names[rows].tolist()
    quoted = np.array([market.marks.get(n, np.nan) for n in names], dtype=np.float64)
    return np.where(np.isnan(quoted), model, quoted)


@dataclass(frozen=True)
class UnitMargins:
    """Per instrument row of a table, on one market, what a position's standard margin is made of: a short
    option's IM and MM per unit (0 for other kinds); a future's or perpetual's rates (`futures_margin`), what
    divides its quantity into its size in coin (the forward inverse, 1 linear) and what turns coin into its
    settlement currency (1 inverse, the index linear); the settlement currency's code into ``currencies``, USD
    per unit of it, the rule's calibration (an index into CALIBRATION_ORDER) and the component (0 futures,
    1 options, 2 none: spot).  `margins_of_positions` applies them; the live engine keeps them per instrument
    and updates the rows a quote moves."""

    short_initial: FloatArray
    short_maintenance: FloatArray
    initial_base: FloatArray
    maintenance_base: FloatArray
    slope: FloatArray
    size_divisor: FloatArray
    to_currency: FloatArray
    currency: npt.NDArray[np.int64]
    currencies: tuple[str, ...]
    usd_rate: FloatArray
    status_rank: npt.NDArray[np.int64]
    component: npt.NDArray[np.int8]

    #: The fields a market move changes (the others follow from the table and the parameters).
    MARKET_FIELDS = ("short_initial", "short_maintenance", "size_divisor", "to_currency", "usd_rate")
    #: The fields the compiled per-position margin reads.
    KERNEL_FIELDS = (
        "short_initial", "short_maintenance", "initial_base", "maintenance_base", "slope", "size_divisor",
        "to_currency", "component",
    )  # fmt: skip

    def arrays(self) -> dict[str, Any]:
        """The arrays the compiled per-position margin reads, by name (the objects themselves)."""
        return {name: getattr(self, name) for name in self.KERNEL_FIELDS}


def unit_margins(
    table: InstrumentTable, market: Market, params: StandardParameters, per_unit: Any = None
) -> UnitMargins:
    """`UnitMargins` of every row of ``table`` on ``market`` (``per_unit``: the table's `instrument_greeks`
    on that market, when the caller has them)."""
    if per_unit is None:
        per_unit = instrument_greeks(table, market)
    resolved = per_unit.market
    n_rows = len(table)
    im_unit = np.zeros(n_rows)
    mm_unit = np.zeros(n_rows)
    kind, settlement = table.kind, table.settlement
    inverse = settlement == INVERSE
    # Each row's settlement currency from the table's (base, settlement currency) pairs: no loop over the rows.
    pair_of_row, pairs = table.settlement_pairs()
    currencies = tuple(sorted({c for _, c in pairs}))
    currency_of_row = np.array([currencies.index(c) for _, c in pairs], dtype=np.int64)[pair_of_row]
    usd_rate_row = np.where(inverse, resolved.index, 1.0)  # USDC/USDT taken at par with USD
    status_rank = np.full(n_rows, CALIBRATION_ORDER.index("exact"), dtype=np.int64)
    component_row = np.full(n_rows, 2, dtype=np.int8)

    options = np.flatnonzero(kind == KIND_OPTION)
    opt_inv = options[inverse[options]]
    groups = [(opt_inv, "", True)] if len(opt_inv) else []
    opt_lin = options[~inverse[options]]
    lin_base = table.underlying[opt_lin]
    for u in np.unique(lin_base).tolist():  # (underlyings are sorted: the bases in order)
        groups.append((opt_lin[lin_base == u], table.underlyings[u], False))
    for rows, b, inv in groups:
        model = per_unit["value_coin" if inv else "value_usd"][rows]
        im_unit[rows], mm_unit[rows], status = option_unit_margins(
            params,
            b,
            inv,
            table.flag[rows] > 0,
            resolved.forward[rows],
            table.strike[rows],
            resolved.index[rows],
            _option_marks(table, market, rows, model),
        )
        status_rank[rows] = CALIBRATION_ORDER.index(status)
    component_row[options] = 1

    # Futures are quadratic in size: their rates are applied per position (`margins_of_positions`).
    futures = np.flatnonzero((kind == KIND_FUTURE) | (kind == KIND_PERPETUAL))
    component_row[futures] = 0
    a_im, a_mm, slope = np.zeros(n_rows), np.zeros(n_rows), np.zeros(n_rows)
    for row in futures.tolist():
        base = table.underlyings[table.underlying[row]]
        family = params.futures_rates(base if inverse[row] else f"{base}_{table[row].quote}")
        a_im[row], a_mm[row], slope[row] = family.initial_base, family.maintenance_base, family.slope_per_coin
        status_rank[row] = CALIBRATION_ORDER.index(family.status)
    return UnitMargins(
        short_initial=im_unit,
        short_maintenance=mm_unit,
        initial_base=a_im,
        maintenance_base=a_mm,
        slope=slope,
        size_divisor=np.where(inverse, resolved.forward, 1.0),
        to_currency=np.where(inverse, 1.0, resolved.index),  # linear: margin on the index price
        currency=currency_of_row,
        currencies=currencies,
        usd_rate=usd_rate_row,
        status_rank=status_rank,
        component=component_row,
    )


def option_unit_margins(
    params: StandardParameters,
    base: str,
    inverse: bool,
    is_call: Any,
    forward: Any,
    strike: Any,
    index: Any,
    mark: Any,
) -> tuple[FloatArray, FloatArray, Calibration]:
    """IM and MM per unit short of options of one underlying ``base`` and settlement, and the calibration of
    the rule applied: what `unit_margins` fills for them, and what the live engine recomputes for one option
    whose own ticker moved (its mark: the quoted one, else its model value)."""
    if inverse:
        rates = params.options_inverse
        im, mm = inverse_option_margin(is_call, forward, strike, mark, rates)
    else:
        rates = params.linear_option_rates(base)
        im, mm = linear_option_margin(is_call, forward, strike, index, mark, rates)
    return im, mm, rates.status


def margins_of_positions(
    units: UnitMargins, rows: npt.NDArray[np.int64], quantity: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(IM, MM) in the settlement currency of positions of ``quantity`` in the instruments at ``rows`` of
    ``units``' table: a short option's units times its size, a future's rates on its whole size n, n (a + b n)
    (`futures_margin`), in one compiled pass (the live engine's refresh runs the same code per position)."""
    margins = _position_matrix(units, rows, quantity, by_component=False)
    return margins[:, 0], margins[:, 1]


def _position_matrix(units: UnitMargins, rows: Any, quantity: Any, *, by_component: bool) -> FloatArray:
    """`margins_of_positions` as one matrix: columns IM, MM and, ``by_component``, the IM of futures and of
    options, then their MM (0 where a position is not of that component)."""
    return np.asarray(
        _core.margin.standard_positions(
            np.asarray(rows, dtype=np.int64), np.asarray(quantity, dtype=np.float64), units.arrays(), by_component
        ),
        dtype=np.float64,
    )


_COMPONENTS = ("futures", "options")


def standard_margin(
    book: Book, market: Market, params: str | Path | Mapping[str, Any] | StandardParameters | None = None
) -> MarginResult:
    """Deribit standard margin of every position of ``book``, summed per account and settlement currency;
    the result of a book with several (account, currency) groups is their sum (in USD when the currencies
    differ) with the groups as columns in ``groups`` (a `GroupMargins`)."""
    return standard_rows(book, market, params).total()


def standard_rows(
    book: Book, market: Market, params: str | Path | Mapping[str, Any] | StandardParameters | None = None
) -> GroupMargins:
    """The (account, settlement currency) rows of `standard_margin`, without their total."""
    p = StandardParameters.load(params)  # type: ignore[arg-type]  # StandardParameters passes through
    return standard_group_margins(book, market, p)


def standard_group_margins(book: Book, market: Market, p: StandardParameters) -> GroupMargins:
    """Per (account, settlement currency) group: the positions' margins summed in one compiled pass over the
    book (each group's in CSR order), the weakest calibration of each component's charged positions, and a full
    `MarginResult` (with the positions in its details) built only for a group that is looked at."""
    units = unit_margins(book.instruments, market, p)
    n_cur = max(len(units.currencies), 1)
    ids, total, weakest, present = _core.margin.standard_groups(
        book.indptr, book.indices, book.quantity, units.arrays(), units.currency, n_cur, units.status_rank,
        len(CALIBRATION_ORDER),
    )
    group_account = ids // n_cur
    group_currency = ids % n_cur
    n_groups = len(ids)
    # Calibration per group and component: the weakest status of its charged positions; a component with
    # positions but none charged (long options only) is exact: nothing applies; NO_TAG where it has none.
    components: dict[str, FloatArray] = {}
    calibration: dict[str, IntArray] = {}
    maintenance_parts: dict[str, FloatArray] = {}
    for c, label in enumerate(_COMPONENTS):
        if not n_groups or not present[:, c].any():
            continue
        tag = np.where(weakest[:, c] == len(CALIBRATION_ORDER), CALIBRATION_ORDER.index("exact"), weakest[:, c])
        calibration[label] = np.where(present[:, c], tag, NO_TAG).astype(np.int64)
        components[label] = total[2 + c]  # (each figure a contiguous row of the groups)
        maintenance_parts[label] = total[4 + c]
    usd_rate_of_currency = np.full(n_cur, np.nan)
    usd_rate_of_currency[units.currency] = units.usd_rate
    names = book.instruments.names

    def full_result(columns: GroupMargins, g: int) -> MarginResult:
        base = columns.result_from_columns(g)
        a = int(group_account[g])
        s, e = int(book.indptr[a]), int(book.indptr[a + 1])
        at = s + np.flatnonzero(units.currency[book.indices[s:e]] == group_currency[g])  # (in CSR order)
        margins = _position_matrix(units, book.indices[at], book.quantity[at], by_component=False)
        details = {
            **base.details,
            "maintenance_components": {
                k: float(v[g]) for k, v in maintenance_parts.items() if calibration[k][g] != NO_TAG
            },
            "positions": {
                "instrument": names[book.indices[at]].tolist(),
                "quantity": book.quantity[at].tolist(),
                "initial": margins[:, 0].tolist(),
                "maintenance": margins[:, 1].tolist(),
            },
        }
        return dataclasses.replace(base, details=details)

    return GroupMargins(
        method=METHOD,
        parameters_source=p.source,
        accounts=book.accounts,
        account=group_account,
        group_names=units.currencies,
        group=group_currency,
        currencies=units.currencies,
        currency=group_currency,
        initial=total[0],
        maintenance=total[1],
        usd_rate=usd_rate_of_currency[group_currency],
        components=components,
        calibration=calibration,
        row_result=full_result,
    )


def _charged(quantity: float, component: int) -> bool:
    """Whether a position's rule is applied (futures always; options only when short)."""
    return component == 0 or quantity < 0


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
