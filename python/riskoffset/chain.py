"""An option chain as columns: the options of one underlying and settlement in a market snapshot, with the
forward, mark IV and time to expiry each is priced on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from .instruments import KINDS, SETTLEMENTS
from .market import Market


@dataclass(frozen=True)
class OptionChain:
    """Columns of an option chain, one row per listed option (live ones only)."""

    valuation_time: datetime
    index: float
    instrument_name: npt.NDArray[np.str_]
    expiry: npt.NDArray[np.str_]  # YYYY-MM-DD (08:00 UTC)
    strike: npt.NDArray[np.float64]
    is_call: npt.NDArray[np.bool_]
    forward: npt.NDArray[np.float64]
    mark_iv: npt.NDArray[np.float64]
    t: npt.NDArray[np.float64]  # years to expiry, ACT/365 by the second

    def __len__(self) -> int:
        return len(self.strike)

    @classmethod
    def from_market(cls, market: Market, base: str = "BTC", settlement: str = "inverse") -> OptionChain:
        """The live options on ``base`` with the given settlement among the market's listed instruments."""
        table = market.instruments
        if table is None:
            raise ValueError("the market lists no instruments")
        if base not in table.underlyings:
            raise ValueError(f"no instruments on {base!r} in this market (underlyings: {table.underlyings})")
        resolved = market.resolve(table)
        rows = np.flatnonzero(
            (table.kind == KINDS.index("option"))
            & (table.settlement == SETTLEMENTS.index(settlement))
            & (table.underlying == table.underlyings.index(base))
            & ~resolved.expired
        )
        return cls(
            valuation_time=market.valuation_time,
            index=float(resolved.index[rows[0]]) if len(rows) else float("nan"),
            instrument_name=table.names[rows],
            expiry=table.expiry_dates()[rows],
            strike=table.strike[rows],
            is_call=table.flag[rows] > 0,
            forward=resolved.forward[rows],
            mark_iv=resolved.sigma[rows],
            t=resolved.t[rows],
        )
