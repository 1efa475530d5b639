"""Risk-vector keys of Deribit portfolio margin, shared by the current model (portfolio) and the legacy
presets (legacy): one vector per (base, settlement currency), named like Deribit's ``btc_btc`` (coin-settled)
or ``btc_usdc`` (linear).  Spot holdings are collateral, not risk: without_spot drops them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._types import FloatArray, IntArray
from ..book import Book
from ..instruments import KIND_SPOT
from ..market import Market, ResolvedMarket


@dataclass(frozen=True)
class VectorKeys:
    """Risk-vector keys of a book's instruments: ``names[key[i]]`` like ``btc_btc``; per key its base,
    settlement currency, whether it is coin-settled, and the index."""

    key: IntArray
    names: tuple[str, ...]
    base: tuple[str, ...]
    currency: tuple[str, ...]
    coin: npt.NDArray[np.bool_]
    index: FloatArray


def vector_keys(book: Book, market: Market, resolved: ResolvedMarket | None = None) -> VectorKeys:
    """The risk-vector key of every instrument of the book: one per (base, settlement currency)."""
    table = book.instruments
    if resolved is None:
        resolved = market.resolve(table)
    codes, pairs = table.settlement_pairs()
    key = codes.copy()
    # (keys are numbered in the order they first appear: each key's index price is that of its first row)
    first_row = np.unique(key, return_index=True)[1]
    index = np.asarray(resolved.index, dtype=np.float64)[first_row]
    missing = [pairs[k][0] for k in range(len(pairs)) if not np.isfinite(index[k])]
    if missing:
        raise ValueError(
            f"deribit-pm needs the {missing[0]} index price (dampener, caps, linear conversions)"
        )
    return VectorKeys(
        key=key,
        names=tuple(f"{b.lower()}_{c.lower()}" for b, c in pairs),
        base=tuple(b for b, _ in pairs),
        currency=tuple(c for _, c in pairs),
        coin=np.array([b == c for b, c in pairs], dtype=bool),
        index=index,
    )


def key_columns(keys: VectorKeys, key: IntArray) -> dict[str, Any]:
    """The `GroupMargins` fields that follow from each row's vector key ``key``: the group names and codes, the
    settlement currencies (each once, in key order) and codes, and the USD rate (the index for a coin-settled key,
    1 for a linear one)."""
    currencies = tuple(dict.fromkeys(keys.currency))
    currency_of_key = np.array([currencies.index(c) for c in keys.currency], dtype=np.int64)
    usd_rate = np.where(keys.coin, keys.index, 1.0).astype(np.float64)
    return {
        "group_names": keys.names,
        "group": key,
        "currencies": currencies,
        "currency": currency_of_key[key],
        "usd_rate": usd_rate[key],
    }


def without_spot(book: Book) -> Book:
    """The book without spot holdings: a coin or stable balance is collateral, not a risk position, under
    Deribit PM (cross-collateral offsets are not modelled)."""
    spot = book.instruments.kind[book.indices] == KIND_SPOT
    if not spot.any():
        return book
    keep = ~spot
    kept_before = np.concatenate(([0], np.cumsum(keep)))
    return Book(
        book.instruments,
        book.accounts,
        kept_before[book.indptr].astype(np.int64),
        book.indices[keep],
        book.quantity[keep],
        name=book.name,
    )


__all__ = ["VectorKeys", "vector_keys", "without_spot"]
