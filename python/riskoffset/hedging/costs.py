"""What a hedge trade costs (docs/hedging.md): premium, exchange fees and half the bid/ask spread, per unit of
amount (Deribit size units: USD face for inverse futures and perpetuals, coin otherwise), in USD.

- **Premium** (options only): the mark value paid (bought) or received (sold), ``h x value``; an inverse
  option's coin mark is converted at its forward (``value_usd = c F``).  Premium is an exchange of value at
  mark, not a loss: it is reported, and left out of the cost that the solvers penalise.
- **Fees**, Deribit's schedule: a commission rate (``taker_commission`` by default, ``maker_commission``
  with ``liquidity="maker"``; from the instrument table) times the notional of the trade: the USD face of an
  inverse future or perpetual, ``F`` per coin of a linear future, the index per coin of an option or spot;
  an option's fee is capped at 12.5 % of its premium (Deribit fee schedule).  A missing rate (NaN, e.g. an
  instrument parsed from its name) counts 0 and is flagged.
- **Half-spread**: ``(ask - bid) / 2`` from ``quotes = {name: (bid, ask)}`` in the exchange's quote units
  (USD for futures, coin for inverse options, USDC for linear products), per unit of amount in USD: for an
  inverse future ``half / F`` of its face (``d(1/F) x F``), for an inverse option ``half x F``, for linear
  products ``half``.  The sample market and a Market have no bid/ask: the default is 0 and flagged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .._types import FloatArray, IntArray
from ..book import InstrumentGreeks
from ..instruments import INVERSE, KIND_FUTURE, KIND_OPTION, KIND_PERPETUAL, KIND_SPOT

OPTION_FEE_CAP = 0.125  # Deribit: an option's fee is at most 12.5 % of its price
LIQUIDITY = ("taker", "maker")


@dataclass(frozen=True)
class UnitCosts:
    """Per unit of amount of each candidate, in USD: premium (signed value), fee and half-spread (>= 0 for
    takers; a maker rebate makes the fee negative)."""

    premium: FloatArray
    fee: FloatArray
    half_spread: FloatArray
    flags: tuple[str, ...]

    @property
    def transaction(self) -> FloatArray:
        """Fee plus half-spread per unit traded (what a solver penalises per unit of |h|)."""
        return np.asarray(self.fee + self.half_spread, dtype=np.float64)


def unit_costs(
    greeks: InstrumentGreeks,
    rows: IntArray,
    *,
    quotes: Mapping[str, tuple[float, float]] | None = None,
    liquidity: str = "taker",
) -> UnitCosts:
    """Costs per unit of amount of the table rows ``rows`` (see the module doc)."""
    if liquidity not in LIQUIDITY:
        raise ValueError(f"liquidity must be one of {LIQUIDITY}, got {liquidity!r}")
    table = greeks.table
    resolved = greeks.market
    kind = table.kind[rows]
    inverse = table.settlement[rows] == INVERSE
    forward = resolved.forward[rows]
    index = resolved.index[rows]
    value = greeks["value_usd"][rows]
    option = kind == KIND_OPTION
    futures = (kind == KIND_FUTURE) | (kind == KIND_PERPETUAL)
    premium = np.where(option, value, 0.0)
    column = table.taker_commission if liquidity == "taker" else table.maker_commission
    rate = column[rows]
    flags: list[str] = []
    missing = ~np.isfinite(rate)
    if missing.any():
        names = ", ".join(table.names[rows][missing].tolist())
        flags.append(f"no {liquidity} commission for {names}: fee counted as 0")
        rate = np.where(missing, 0.0, rate)
    notional = np.where(futures & inverse, 1.0, np.where(futures, forward, index))
    fee = rate * notional
    fee = np.where(option, np.minimum(fee, OPTION_FEE_CAP * np.abs(value)), fee)
    half = np.zeros(len(rows))
    names = table.names[rows].tolist()
    if quotes:
        for j, name in enumerate(names):
            if name not in quotes:
                continue
            bid, ask = (float(x) for x in quotes[name])
            if not (math.isfinite(bid) and math.isfinite(ask) and 0.0 <= bid <= ask):
                raise ValueError(f"quotes[{name!r}]: need finite prices 0 <= bid <= ask, got ({bid!r}, {ask!r})")
            h = (ask - bid) / 2.0
            if futures[j] and inverse[j]:
                half[j] = h / forward[j]
            elif option[j] and inverse[j]:
                half[j] = h * forward[j]
            else:
                half[j] = h
        without = [n for n, k in zip(names, kind.tolist()) if n not in quotes and k != KIND_SPOT]
        if without:
            flags.append(f"no bid/ask for {', '.join(without)}: half-spread counted as 0")
    else:
        flags.append("no bid/ask quotes given: half-spread counted as 0 (pass quotes={name: (bid, ask)})")
    return UnitCosts(premium.astype(np.float64), fee.astype(np.float64), half, tuple(flags))


@dataclass(frozen=True)
class TradeCost:
    """Cost of a set of trades in USD: premium (paid > 0, received < 0), fees, half-spread; ``total`` is
    fees plus half-spread (premium is value exchanged at mark and reported apart)."""

    premium: float
    fees: float
    half_spread: float
    flags: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        return self.fees + self.half_spread

    def to_dict(self) -> dict[str, object]:
        return {
            "premium_usd": self.premium,
            "fees_usd": self.fees,
            "half_spread_usd": self.half_spread,
            "total_usd": self.total,
            "flags": list(self.flags),
        }


def trade_cost(costs: UnitCosts, quantity: FloatArray) -> TradeCost:
    """Cost of trading ``quantity`` (signed amounts, one per candidate) at ``costs``."""
    size = np.abs(quantity)
    return TradeCost(
        premium=float(costs.premium @ quantity),
        fees=float(costs.fee @ size),
        half_spread=float(costs.half_spread @ size),
        flags=costs.flags,
    )


__all__ = ["LIQUIDITY", "OPTION_FEE_CAP", "TradeCost", "UnitCosts", "trade_cost", "unit_costs"]
