"""Equity per account and currency: balance + options value + futures unrealised P&L.

This is the one place the formula lives; the account view and any live engine call it.  Amounts are in the
position's settlement currency (BTC for inverse BTC products, USDC for ``BTC_USDC`` ones), as Deribit's
account summary reports them:

- a future's or perpetual's unrealised P&L from its average entry price ``avg`` and mark ``m``:
  inverse (amount is USD face ``A``): ``A x (1/avg - 1/m)`` coins; linear (amount ``q`` coins):
  ``q x (m - avg)`` quote units;
- an option's value: signed quantity x its mark price in the settlement currency (a short option is a
  negative value).

Example (inverse future): long 10,000 USD face of BTC-PERPETUAL bought at 40,000, mark 50,000:
10,000 x (1/40,000 - 1/50,000) = 0.05 BTC.  With 1 BTC of balance and a short call marked at 0.02 BTC on
1 BTC: equity = 1 + 0.05 - 0.02 = 1.03 BTC.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _core
from .._types import FloatArray


def futures_unrealised_pnl(amount: Any, avg_price: Any, mark: Any, inverse: Any) -> FloatArray:
    """Unrealised P&L of futures and perpetuals in their settlement currency (module doc); vectorised.
    ``inverse`` is a bool per position; prices must be positive and finite."""
    a, avg, m = (np.asarray(x, dtype=np.float64) for x in (amount, avg_price, mark))
    inv = np.asarray(inverse, dtype=bool)
    a, avg, m, inv = np.broadcast_arrays(a, avg, m, inv)
    for name, arr in (("avg_price", avg), ("mark", m)):
        bad = ~(np.isfinite(arr) & (arr > 0.0))
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            raise ValueError(f"position {i}: {name} {float(arr.ravel()[i])!r} is not a positive price")
    shape = a.shape
    pnl = _core.margin.futures_pnl(a.ravel(), avg.ravel(), m.ravel(), inv.ravel().view(np.uint8))
    return np.asarray(pnl, dtype=np.float64).reshape(shape)


def futures_fill(held: float, average: float, quantity: float, price: float, inverse: bool) -> tuple[float, float, float]:
    """A fill of ``quantity`` at ``price`` on a futures position of ``held`` bought at ``average``:
    (position after, its average price, P&L realised by the part that closes).  Adding to a position
    averages the entry price, in 1 / price for inverse contracts (USD face) and in price for linear ones;
    closing realises the formula of `futures_unrealised_pnl` on the closed amount at ``price``; a fill
    through zero closes all and opens the rest at ``price``.

    Example (inverse): 10,000 USD face at 40,000 plus 10,000 at 60,000 averages 1 / ((1/40,000 + 1/60,000)
    / 2) = 48,000; selling 5,000 at 50,000 then realises 5,000 x (1/48,000 - 1/50,000) = 0.0041667 BTC."""
    after, average, realised = _core.margin.futures_fill(held, average, quantity, price, inverse)
    return after, average, realised


def equity(
    balances: Any,
    position_account: Any,
    position_currency: Any,
    options_value: Any,
    futures_pnl: Any,
) -> FloatArray:
    """Equity matrix (accounts x currencies) = ``balances`` + per-position ``options_value`` +
    ``futures_pnl`` summed into the cell (``position_account[k]``, ``position_currency[k]``) of each
    position.  Give 0 for the options value of a future and the P&L of an option."""
    bal = np.asarray(balances, dtype=np.float64)
    if bal.ndim != 2:
        raise ValueError(f"balances must be a matrix accounts x currencies, got shape {bal.shape}")
    n_acc, n_cur = bal.shape
    acc = np.asarray(position_account, dtype=np.int64)
    cur = np.asarray(position_currency, dtype=np.int64)
    opt = np.asarray(options_value, dtype=np.float64)
    fut = np.asarray(futures_pnl, dtype=np.float64)
    n = acc.shape[0]
    if not (acc.shape == cur.shape == opt.shape == fut.shape == (n,)):
        raise ValueError(
            "position_account, position_currency, options_value and futures_pnl must be equal-length"
        )
    _check_index(acc, n_acc, "account")
    _check_index(cur, n_cur, "currency")
    value = opt + fut
    if not np.isfinite(value).all():
        i = int(np.flatnonzero(~np.isfinite(value))[0])
        raise ValueError(f"position {i}: options value or futures P&L is not finite")
    flat = np.asarray(
        np.bincount(acc * n_cur + cur, weights=value, minlength=n_acc * n_cur), dtype=np.float64
    )
    return np.asarray(bal + flat.reshape(n_acc, n_cur), dtype=np.float64)


def _check_index(idx: npt.NDArray[np.int64], size: int, what: str) -> None:
    bad = (idx < 0) | (idx >= size)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"position {i}: {what} index {int(idx[i])} outside 0..{size - 1}")
