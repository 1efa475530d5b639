"""Per-unit Greeks of every instrument of a table: one vectorised pricing call over its options, plus the
closed forms of futures, perpetuals and spot.  Books multiply these by their netted amounts (greeks_report)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._types import FloatArray
from .instruments import (
    INVERSE,
    KIND_FUTURE,
    KIND_OPTION,
    KIND_PERPETUAL,
    KIND_SPOT,
    InstrumentTable,
)
from .market import Market, ResolvedMarket
from .pricing import greeks as kernel_greeks

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


@dataclass(frozen=True)
class InstrumentGreeks:
    """Per-unit measures of every instrument of a table: ``values[i, MEASURES.index(m)]`` is measure m of one
    unit of amount of instrument i (one coin of an option, one USD of face of an inverse future)."""

    table: InstrumentTable
    market: ResolvedMarket
    values: FloatArray

    def __getitem__(self, measure: str) -> FloatArray:
        return self.values[:, MEASURES.index(measure)]


def option_greeks(
    is_call: npt.NDArray[np.bool_],
    forward: FloatArray,
    strike: FloatArray,
    t: FloatArray,
    rate: float,
    sigma: FloatArray,
    threads: int | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """(value V in USD, delta, gamma, vega, theta of V) per option: one Black-76 kernel call (r = ``rate``).
    `instrument_greeks` and the live engine's vol tick of one option both come here."""
    out = kernel_greeks(
        is_call, forward, strike, t, rate, sigma, greeks=("price", "delta", "gamma", "vega", "theta"), threads=threads
    )
    return (
        np.asarray(out["price"]),
        np.asarray(out["delta"]),
        np.asarray(out["gamma"]),
        np.asarray(out["vega"]),
        np.asarray(out["theta"]),
    )


def option_value_delta(
    is_call: npt.NDArray[np.bool_], forward: FloatArray, strike: FloatArray, t: FloatArray, rate: float, sigma: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(value V in USD, delta) per option: `option_greeks`' first two, from the same kernel asked for them alone
    (the same bits: tested)."""
    out = kernel_greeks(is_call, forward, strike, t, rate, sigma, greeks=("price", "delta"))
    return np.asarray(out["price"]), np.asarray(out["delta"])


def premium_adjusted(delta: FloatArray, value: FloatArray, forward: FloatArray, inverse: Any) -> FloatArray:
    """The delta Deribit's totals count: delta minus the coin mark V / F for inverse options, delta for
    linear ones."""
    if (  # the usual call, columns of one length (an index tick's): straight to the kernel
        type(delta) is np.ndarray
        and type(value) is np.ndarray
        and type(forward) is np.ndarray
        and type(inverse) is np.ndarray
        and delta.ndim == 1
        and delta.dtype == value.dtype == forward.dtype == np.float64
        and inverse.dtype == np.bool_
        and delta.shape == value.shape == forward.shape == inverse.shape
    ):
        out: FloatArray = _core.scenarios.premium_adjusted_delta(delta, value, forward, inverse.view(np.uint8))
        return out
    d = np.asarray(delta, dtype=np.float64)
    flags = np.broadcast_to(np.asarray(inverse, dtype=bool), d.shape)
    dd, v, f = (np.ravel(a) for a in np.broadcast_arrays(d, np.asarray(value, np.float64), np.asarray(forward, np.float64)))
    return _core.scenarios.premium_adjusted_delta(dd, v, f, np.ravel(flags).view(np.uint8)).reshape(d.shape)


def instrument_greeks(
    table: InstrumentTable, market: Market, resolved: ResolvedMarket | None = None
) -> InstrumentGreeks:
    """Per-unit measures of every row of ``table`` from one vectorised kernel call over its options.

    Options (Black-76 on the forward of their expiry, r = market.rate): value V in USD, plain delta, gamma,
    vega and theta of V; coin figures are USD figures divided by the forward (an inverse option's coin mark
    is c = V / F); premium-adjusted delta is delta - c for inverse options (the coin premium is
    itself coin exposure, see docs/units.md) and delta for linear ones.  Inverse futures and perpetuals
    (amount in USD face, coin P&L = q (1/F0 - 1/F)): delta = 1/F coin per USD of face, the coin exposure
    Deribit adds to DeltaTotal; linear futures, perpetuals and spot (amount in coin): delta = 1.  Futures
    have no premium (value 0); spot is worth its index.  USD deltas are coin deltas times the index.  Expired
    instruments are valued at intrinsic and have every Greek 0.
    """
    if resolved is None:  # callers that resolved the table already pass it (one resolution per call)
        resolved = market.resolve(table)
    n = len(table)
    # Filled one measure at a time (a contiguous row each: a handful of numpy calls on a few hundred rows cost
    # more than the kernel when they scatter into a row-major matrix), transposed once at the end.
    by_measure = np.zeros((len(MEASURES), n))
    m = dict(zip(MEASURES, by_measure))
    forward = resolved.forward
    kind = table.kind
    plain = _plain_deltas(table, forward)
    m["delta"][:] = plain
    m["delta_pa"][:] = plain
    spot = kind == KIND_SPOT
    m["value_usd"][spot] = forward[spot]
    m["value_coin"][spot] = 1.0
    options = np.flatnonzero(kind == KIND_OPTION)
    if len(options):
        f = forward[options]
        value, delta, gamma, vega, theta = option_greeks(
            table.flag[options] > 0,
            f,
            table.strike[options],
            resolved.t[options],
            market.rate,
            resolved.sigma[options],
        )
        m["value_usd"][options] = value
        m["value_coin"][options] = value / f
        m["delta"][options] = delta
        m["delta_pa"][options] = premium_adjusted(delta, value, f, table.settlement[options] == INVERSE)
        m["gamma"][options] = gamma
        m["vega"][options] = vega
        m["vega_coin"][options] = vega / f
        m["theta"][options] = theta
        m["theta_coin"][options] = theta / f
    # USD deltas value the coin exposure at the index, so they add up across expiries like the coin deltas
    # (NaN where the market has no index for the underlying).
    np.multiply(m["delta"], resolved.index, out=m["delta_usd"])
    np.multiply(m["delta_pa"], resolved.index, out=m["delta_pa_usd"])
    # Past expiry a position is settled: it keeps its value (intrinsic at delivery) but carries no risk, as
    # Deribit shows it (delta 0), not the t -> 0 limit of the live formulas (a put's delta -1).
    expired = np.flatnonzero(resolved.expired)
    if len(expired):
        for name, column in m.items():
            if not name.startswith("value"):
                column[expired] = 0.0
    g = np.ascontiguousarray(by_measure.T)
    g.flags.writeable = False
    return InstrumentGreeks(table, resolved, g)


def _plain_deltas(table: InstrumentTable, forward: FloatArray) -> FloatArray:
    """Per row, the coin delta of futures and spot: 1 coin per unit (linear), 1/F coin per USD of face
    (inverse); 0 for options (priced apart)."""
    kind = table.kind
    futures = (kind == KIND_FUTURE) | (kind == KIND_PERPETUAL)
    plain = np.where(futures | (kind == KIND_SPOT), 1.0, 0.0)
    np.divide(1.0, forward, out=plain, where=futures & (table.settlement == INVERSE))
    return plain


def instrument_values(
    table: InstrumentTable, market: Market, resolved: ResolvedMarket
) -> tuple[FloatArray, FloatArray]:
    """Per row of ``table``: an option's value per unit in its settlement currency (coin when coin-settled; 0
    for the other instruments) and the premium-adjusted delta, `instrument_greeks`' ``value_coin`` or
    ``value_usd`` and ``delta_pa`` by the same arithmetic, for a caller that needs nothing else (the live
    engine's revaluation of a coin's instruments on every index tick): the options priced for price and delta
    alone."""
    value = np.zeros(len(table))
    delta_pa = _plain_deltas(table, resolved.forward)
    options = np.flatnonzero(table.kind == KIND_OPTION)
    if len(options):
        f = resolved.forward[options]
        inverse = table.settlement[options] == INVERSE
        v, delta = option_value_delta(
            table.flag[options] > 0, f, table.strike[options], resolved.t[options], market.rate, resolved.sigma[options]
        )
        value[options] = np.where(inverse, v / f, v)
        delta_pa[options] = premium_adjusted(delta, v, f, inverse)
    delta_pa[resolved.expired] = 0.0  # settled: no risk left (`instrument_greeks`)
    return value, delta_pa


__all__ = [
    "MEASURES",
    "RAW_UNITS",
    "InstrumentGreeks",
    "instrument_greeks",
    "instrument_values",
    "option_greeks",
    "option_value_delta",
    "premium_adjusted",
]
