"""Collateral valued in USD for cross-collateral margin: every currency at its index, and for the initial
margin cut by the currency's haircut (Deribit's X:SM and X:PM models; see docs/collateral.md).

Haircuts are dated data with their source (riskoffset/data/collateral/*.json), as the margin parameters are;
a currency without a known haircut is an error naming it, never a silent 0.  Stable coins in the ``par`` list
(USD, USDC, USDT) are valued at the market's index for them when it has one, else at 1 USD.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._types import FloatArray
from ..market import Market
from ..scalars import plain
from .balances import Balances, currency_code

PRESET = "deribit-collateral"


@dataclass(frozen=True)
class CollateralParameters:
    """IM haircut per currency (0.04 = 4 %) with its status ("published" or "given") and source."""

    name: str
    as_of: str
    source: str
    haircut: Mapping[str, float]
    status: Mapping[str, str] = field(default_factory=dict)
    par: tuple[str, ...] = ("USD", "USDC", "USDT")

    @classmethod
    def load(cls, params: Any = None, *, haircuts: Mapping[str, float] | None = None) -> CollateralParameters:
        """The bundled dated set (None or "deribit-collateral"), a JSON file, or a mapping of the same shape;
        ``haircuts`` adds or overrides currencies (status "given")."""
        if params is None or params == PRESET:
            text = resources.files("riskoffset").joinpath("data/collateral/deribit-collateral_2026-01-13.json").read_text()
            doc, where = json.loads(text), PRESET
        elif isinstance(params, (str, Path)):
            p = Path(params)
            try:
                doc, where = json.loads(p.read_text(encoding="utf-8")), str(p)
            except FileNotFoundError:
                raise FileNotFoundError(f"collateral parameters {str(p)!r} do not exist") from None
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ValueError(f"collateral parameters {str(p)!r}: not valid JSON ({exc})") from None
        elif isinstance(params, Mapping):
            doc, where = params, "parameters given as a mapping"
        else:
            raise TypeError(f"collateral parameters must be a preset name, a path or a mapping, not {type(params).__name__}")
        currencies = doc.get("currencies", {}) if isinstance(doc, Mapping) else None
        if not isinstance(currencies, Mapping):
            raise ValueError(f"{where}: 'currencies' must map a currency to {{'haircut': ...}}")  # noqa: TRY004 - bad file content, reported as a data error
        haircut: dict[str, float] = {}
        status: dict[str, str] = {}
        for cur, entry in currencies.items():
            code = currency_code(cur, f"{where}: currencies")
            value = entry.get("haircut") if isinstance(entry, Mapping) else None
            haircut[code] = _haircut(value, f"{where}: currencies.{cur}.haircut")
            status[code] = str(entry.get("status", "given"))
        for cur, value in (haircuts or {}).items():
            code = currency_code(cur, "haircuts")
            haircut[code] = _haircut(value, f"haircuts[{cur!r}]")
            status[code] = "given"
        par = tuple(currency_code(c, f"{where}: par") for c in doc.get("par", ("USD", "USDC", "USDT")))
        return cls(str(doc.get("name", where)), str(doc.get("as_of", "")), str(doc.get("source", "")), haircut, status, par)


def _haircut(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{where}: a haircut is a fraction in [0, 1), got {value!r}")
    return float(value)


@dataclass(frozen=True)
class CollateralValue:
    """Per account (rows of ``balances.accounts``): the USD value of each currency held (``usd``), the total
    for the maintenance margin (no haircut) and for the initial margin (after haircuts)."""

    accounts: npt.NDArray[Any]
    currencies: tuple[str, ...]
    price_usd: FloatArray  # per currency
    haircut: FloatArray  # per currency
    usd: FloatArray  # accounts x currencies
    total_usd: FloatArray
    total_usd_for_im: FloatArray


def collateral_value(
    balances: Balances, market: Market, params: Any = None, *, haircuts: Mapping[str, float] | None = None
) -> CollateralValue:
    """Every account's collateral in USD: each currency at its index (stable coins in ``par`` at 1 USD when
    the market has no index for them); for the initial margin each currency's value times (1 - haircut).
    A currency without an index, or held without a known haircut, is an error naming the account and it.

    Example (Kraken's, for its multi-collateral wallet): 0.5 BTC at an index of 35,000 with a 4 % haircut
    counts 0.5 x 35,000 x 0.96 = 16,800 USD for the initial margin and 17,500 USD for the maintenance."""
    p = CollateralParameters.load(params, haircuts=haircuts)
    price = np.empty(len(balances.currencies))
    cut = np.zeros(len(balances.currencies))
    held = (balances.amounts != 0).any(axis=0)
    for j, cur in enumerate(balances.currencies):
        if cur in market.index:
            price[j] = market.index[cur]
        elif cur in p.par:
            price[j] = 1.0
        else:
            i = int(np.flatnonzero(balances.amounts[:, j] != 0)[0]) if held[j] else 0
            raise ValueError(
                f"account {plain(balances.accounts[i])!r} holds {cur}, and the market has no {cur} index to value it"
            )
        if held[j]:
            if cur not in p.haircut:
                i = int(np.flatnonzero(balances.amounts[:, j] != 0)[0])
                raise ValueError(
                    f"account {plain(balances.accounts[i])!r} holds {cur}: no haircut is known for {cur} in {p.name} "
                    f"(give it: haircuts={{'{cur}': ...}})"
                )
            cut[j] = p.haircut[cur]
    usd = balances.amounts * price
    return CollateralValue(
        accounts=balances.accounts,
        currencies=balances.currencies,
        price_usd=price,
        haircut=cut,
        usd=usd,
        total_usd=usd.sum(axis=1),
        total_usd_for_im=(usd * (1.0 - cut)).sum(axis=1),
    )


__all__ = ["PRESET", "CollateralParameters", "CollateralValue", "collateral_value"]
