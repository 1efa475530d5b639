"""Collateral parameters per currency and the USD value a balance counts for margin.

A collateral table is dated data with its source, bundled as ``riskoffset/data/collateral/NAME_DATE.json``
(like the margin parameter sets).  Per currency it gives

- ``haircut``: fraction cut from the USD value of a positive balance (a debt always counts in full);
- ``equity_side_impact``: which margin the haircut applies to: ``"im"`` (initial margin only, Deribit's
  usual setting), ``"im_mm"`` (initial and maintenance) or ``"none"``;
- ``pnl_offset``: whether the currency may offset the upside risk of products on the same coin (an
  *offset currency*: a BTC balance against short BTC calls);
- ``max_offsetable_pnl``: USD cap on that offset (``None``: no cap);
- ``pegged_usd``: valued at 1 USD when no index is given for it (USDC);
- ``status``: ``"published"`` when read from the venue's documentation, ``"candidate"`` when not checked.

Worked example (Kraken's multi-collateral wallet): 0.5 BTC at an index of 35,000 with a 4 % haircut counts
0.5 x 35,000 x (1 - 0.04) = 16,800 USD of collateral for initial margin, and 17,500 USD for maintenance when
the haircut cuts initial margin only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .. import _core
from .._types import FloatArray
from ..scalars import plain
from .balances import Balances, currency_code

_IMPACTS = ("none", "im", "im_mm")
_STATUSES = ("published", "candidate")
_METHOD = "deribit-collateral"


@dataclass(frozen=True)
class CurrencyCollateral:
    """One currency's collateral parameters (module doc)."""

    currency: str
    haircut: float
    equity_side_impact: str = "im"
    pnl_offset: bool = False
    max_offsetable_pnl: float | None = None
    pegged_usd: bool = False
    status: str = "candidate"

    def haircut_for(self, margin: str) -> float:
        """The haircut applied for ``margin`` ("im" or "mm")."""
        if margin not in ("im", "mm"):
            raise ValueError(f"margin must be 'im' or 'mm', got {margin!r}")
        if self.equity_side_impact == "im_mm" or (self.equity_side_impact == "im" and margin == "im"):
            return self.haircut
        return 0.0


@dataclass(frozen=True)
class CollateralTable:
    """Collateral parameters for every accepted currency, with the table's name, date and source."""

    name: str
    as_of: str
    source: str
    currencies: Mapping[str, CurrencyCollateral]

    @classmethod
    def load(cls, source: str | Path | Mapping[str, Any] = _METHOD) -> CollateralTable:
        """A bundled table by name (``"deribit-collateral"``: the latest; or a dated ``name``), a JSON file
        path, or a parsed mapping of the same form."""
        if isinstance(source, Mapping):
            return cls.from_dict(source, "collateral table given as an object")
        text = str(source)
        files = _bundled()
        for name, doc in files:
            if text == name:
                return cls.from_dict(doc, f"{name} (bundled)")
        if text == _METHOD and files:
            return cls.from_dict(files[-1][1], f"{files[-1][0]} (bundled, latest)")
        path = Path(text)
        if not path.exists():
            names = [_METHOD, *(n for n, _ in files)]
            raise ValueError(
                f"collateral table {text!r}: neither a bundled table ({', '.join(names)}) nor a file"
            )
        return cls.from_dict(_parse(path.read_text(), str(path)), str(path))

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], origin: str = "collateral table") -> CollateralTable:
        table = doc.get("currencies")
        if not isinstance(table, Mapping) or not table:
            raise ValueError(f"{origin}: 'currencies' must map currency -> parameters")
        out: dict[str, CurrencyCollateral] = {}
        for key, params in table.items():
            code = currency_code(key, f"{origin}: currency")
            if not isinstance(params, Mapping):
                raise TypeError(f"{origin}: {code}: parameters must be an object")
            out[code] = _currency(code, params, origin)
        return cls(str(doc.get("name", origin)), str(doc.get("as_of", "")), str(doc.get("source", "")), out)

    def get(self, currency: str, account: Any = None) -> CurrencyCollateral:
        """The parameters of ``currency``, or a ValueError naming the account and currency."""
        try:
            return self.currencies[currency]
        except KeyError:
            who = f"account {plain(account)!r}: " if account is not None else ""
            raise ValueError(
                f"{who}{currency} is not a collateral currency of {self.name} "
                f"(accepted: {', '.join(sorted(self.currencies))})"
            ) from None

    def index_prices(self, balances: Balances, index: Mapping[str, float]) -> FloatArray:
        """USD index per column of ``balances``: ``index[currency]``, 1.0 for a pegged currency without one;
        a ValueError naming the first account holding a currency with no index (or an unknown currency)."""
        out = np.empty(len(balances.currencies))
        for j, cur in enumerate(balances.currencies):
            held = np.flatnonzero(balances.amounts[:, j] != 0.0)
            account = balances.accounts[held[0]] if held.size else None
            params = self.get(cur, account)
            price = index.get(cur)
            if price is None:
                if not params.pegged_usd:
                    if account is None:
                        out[j] = math.nan  # nobody holds it: never used
                        continue
                    raise ValueError(
                        f"account {plain(account)!r}: no index price for collateral currency {cur} "
                        f"(give the market an index for {cur})"
                    )
                price = 1.0
            if not (isinstance(price, (int, float)) and math.isfinite(price) and price > 0):
                raise ValueError(
                    f"index price of collateral currency {cur}: {price!r} is not a positive number"
                )
            out[j] = float(price)
        return out

    def usd_values(self, balances: Balances, index: Mapping[str, float], margin: str = "im") -> FloatArray:
        """USD collateral value per (account, currency) for ``margin`` ("im" or "mm"): amount x index x
        (1 - haircut) for a positive amount, amount x index for a debt.  Unheld currencies count zero."""
        prices = self.index_prices(balances, index)
        return collateral_usd(balances.amounts, np.where(np.isnan(prices), 0.0, prices), self.haircuts(balances.currencies, margin))

    def gain_caps(self, currencies: Sequence[str]) -> FloatArray:
        """Per currency, the most (USD) a balance's gain in a price scenario of its coin may count against
        the risk of products on that coin: ``max_offsetable_pnl`` (infinite when uncapped) for an offset
        currency (``pnl_offset``), 0 for any other and for a currency the table does not know."""
        out = np.zeros(len(currencies))
        for j, cur in enumerate(currencies):
            params = self.currencies.get(cur)
            if params is not None and params.pnl_offset:
                out[j] = math.inf if params.max_offsetable_pnl is None else params.max_offsetable_pnl
        return out

    def haircuts(self, currencies: Sequence[str], margin: str = "im") -> FloatArray:
        """The ``margin`` ("im" or "mm") haircut of each currency."""
        return np.array([self.get(c).haircut_for(margin) for c in currencies], dtype=np.float64)


def collateral_usd(amounts: FloatArray, prices: FloatArray, haircuts: FloatArray) -> FloatArray:
    """USD value per (account, currency): amount x price x (1 - haircut) for a positive amount, amount x
    price for a debt (no haircut helps a debt)."""
    return np.asarray(_core.margin.collateral_usd(amounts, prices, haircuts), dtype=np.float64)


def _currency(code: str, params: Mapping[str, Any], origin: str) -> CurrencyCollateral:
    where = f"{origin}: {code}"
    haircut = params.get("haircut")
    if not isinstance(haircut, (int, float)) or isinstance(haircut, bool) or not 0.0 <= haircut < 1.0:
        raise ValueError(f"{where}: haircut must be a number in [0, 1), got {haircut!r}")
    impact = params.get("equity_side_impact", "im")
    if impact not in _IMPACTS:
        raise ValueError(f"{where}: equity_side_impact must be one of {_IMPACTS}, got {impact!r}")
    cap = params.get("max_offsetable_pnl")
    if cap is not None and (not isinstance(cap, (int, float)) or isinstance(cap, bool) or not cap >= 0):
        raise ValueError(f"{where}: max_offsetable_pnl must be a non-negative number or null, got {cap!r}")
    status = params.get("status", "candidate")
    if status not in _STATUSES:
        raise ValueError(f"{where}: status must be one of {_STATUSES}, got {status!r}")
    for flag in ("pnl_offset", "pegged_usd"):
        if not isinstance(params.get(flag, False), bool):
            raise TypeError(f"{where}: {flag} must be true or false")
    return CurrencyCollateral(
        code,
        float(haircut),
        str(impact),
        bool(params.get("pnl_offset", False)),
        None if cap is None else float(cap),
        bool(params.get("pegged_usd", False)),
        str(status),
    )


def _parse(text: str, origin: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{origin}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise TypeError(f"{origin}: a collateral table is a JSON object")
    return doc


def _bundled() -> list[tuple[str, dict[str, Any]]]:
    """(name, document) of the bundled tables, oldest first."""
    out = []
    for entry in resources.files("riskoffset").joinpath("data/collateral").iterdir():
        if entry.name.startswith(_METHOD + "_") and entry.name.endswith(".json"):
            doc = _parse(entry.read_text(), entry.name)
            out.append((str(doc.get("as_of", "")), str(doc.get("name", entry.name)), doc))
    return [(name, doc) for _, name, doc in sorted(out, key=lambda item: item[0])]
