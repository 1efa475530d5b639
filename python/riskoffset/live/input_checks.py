"""Checks and conversions of what `RiskEngine`'s callers pass in: account labels, numbers (finite, positive),
timestamps, a trade's numbers, a ticker's quotes; each error names what it refuses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io.deribit import excerpt
from ..whatif import MAX_ORDER
from .messages import MAX_TIMESTAMP_MS

if TYPE_CHECKING:
    from .market_updates import TickerQuote


def account_label(account: Any, labels: Sequence[Any]) -> Any:
    """An account label in the type of the engine's labels (``labels``, the first telling): a canonical
    integer string names an integer account."""
    if type(account) is int:  # the usual label, as it is (a bool is not of type int)
        return account
    if isinstance(account, (bool, float)) or account is None:
        raise TypeError(f"account must be a label (str or int), got {account!r}")
    if isinstance(account, np.generic):
        account = account.item()
    if labels and isinstance(labels[0], int) and isinstance(account, str):
        text = account.strip()
        if text.lstrip("-").isdigit() and str(int(text)) == text:
            return int(text)
    return account


def _finite(value: Any, what: str) -> float:
    kind = type(value)  # float and int first: the usual types, and a bool is not of type int
    if (kind is not float and kind is not int) and (
        isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
    ):
        raise TypeError(f"{what} must be a number, got {value!r}")
    try:
        x = float(value)
    except OverflowError:  # (a Python int beyond the float range)
        x = math.inf
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {excerpt(value, 40)}")
    return x


def _checked_time(value: Any) -> int | None:
    """An update's timestamp: None, or whole milliseconds since 1970 below 1e15 (as Deribit's messages carry them;
    a whole float is taken as its int)."""
    if value is None or (type(value) is int and 0 <= value < MAX_TIMESTAMP_MS):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"timestamp must be whole milliseconds since 1970 (an int), got {excerpt(value, 40)}")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not (0 <= x < MAX_TIMESTAMP_MS and x == int(x)):
        raise ValueError(f"timestamp must be whole milliseconds since 1970 (0 to 1e15), got {excerpt(value, 40)}")
    return int(x)


_PLAIN_NUMBERS = (float, int)

_INF = math.inf


def _trade_numbers(instrument: str, quantity: Any, price: Any, fee: Any) -> tuple[float, float, float]:
    """A trade's quantity (non-zero, below MAX_ORDER in size), price (> 0) and fee (finite), checked."""
    if type(quantity) is float and type(price) is float and type(fee) is float:  # (a feed's numbers; NaN fails)
        if quantity != 0.0 and -MAX_ORDER < quantity < MAX_ORDER and 0.0 < price < _INF and -_INF < fee < _INF:
            return quantity, price, fee
    elif type(quantity) in _PLAIN_NUMBERS and type(price) in _PLAIN_NUMBERS and type(fee) in _PLAIN_NUMBERS:
        try:
            q, px, f = float(quantity), float(price), float(fee)  # (plain numbers, ints among them)
        except OverflowError:  # (an int beyond the float range: the checks below name it)
            q = px = f = math.nan
        if q != 0.0 and -MAX_ORDER < q < MAX_ORDER and 0.0 < px < math.inf and math.isfinite(f):
            return q, px, f
    q = _finite(quantity, "quantity")
    if q == 0.0 or not -MAX_ORDER < q < MAX_ORDER:
        raise ValueError(
            f"trade on {instrument}: quantity {quantity!r} must be non-zero and below {MAX_ORDER:.0e} in size"
        )
    px = _finite(price, "price")
    if not px > 0:
        raise ValueError(f"price of the trade on {instrument} must be > 0, got {price!r}")
    return q, px, _finite(fee, "fee")


def _positive(value: Any, what: str) -> float:
    x = _finite(value, what)
    if not x > 0:
        raise ValueError(f"{what} must be > 0, got {value!r}")
    return x


def _ticker_tables(
    q: TickerQuote, name: str, *, option: bool
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """A ticker's marks, mark IVs and (an option's) forwards, checked: a mark and a forward > 0, a vol >= 0."""
    marks = {name: _quote(q.mark_price, "mark_price", name)} if q.mark_price is not None else {}
    if not option:
        return marks, {}, {}
    ivs = {name: _quote(q.mark_iv, "mark_iv", name, zero=True)} if q.mark_iv is not None else {}
    fw = {name: _quote(q.underlying_price, "underlying_price", name)} if q.underlying_price is not None else {}
    return marks, ivs, fw


def _quote(value: Any, field: str, name: str, *, zero: bool = False) -> float:
    """A ticker's ``field`` of instrument ``name``: finite and > 0 (>= 0 with ``zero``)."""
    if type(value) is float and (0.0 <= value if zero else 0.0 < value) and value < math.inf:  # the usual quote
        return value
    what = f"{field} of {name}"  # (the message only where the value needs more than that check)
    return _non_negative(value, what) if zero else _positive(value, what)


def _non_negative(value: Any, what: str) -> float:
    x = _finite(value, what)
    if x < 0:
        raise ValueError(f"{what} must be >= 0, got {value!r}")
    return x
