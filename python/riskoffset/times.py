"""Times: UTC valuation and expiry times, and year fractions (ACT/365 by the second)."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Union

import numpy as np

SECONDS_PER_YEAR = 365.0 * 86400.0  # ACT/365 by the second (see docs/units.md, times)

TimeLike = Union[datetime, str, int, float]


def epoch_ms(t: datetime) -> int:
    """Milliseconds since the epoch of a timezone-aware time (Deribit's timestamps)."""
    return round(t.timestamp() * 1000)


def to_utc(value: TimeLike, what: str = "time") -> datetime:
    """A timezone-aware UTC datetime from a datetime (naive is rejected), an ISO string ('Z' allowed) or
    milliseconds since the epoch."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{what} {value!r} has no timezone; give UTC explicitly (tzinfo=timezone.utc)")
        return value.astimezone(timezone.utc)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.astimezone(timezone.utc)
        except (ValueError, OverflowError):
            raise ValueError(
                f"{what} {value!r} is not an ISO 8601 time such as 2026-11-25T08:00:00Z"
            ) from None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value / 1000.0, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{what} {value!r} ms since the epoch is outside the years 1 to 9999") from None
    raise ValueError(
        f"{what} must be a datetime, an ISO string or milliseconds since the epoch, got {value!r}"
    )


_SECONDS_PER_UNIT = {
    "W": 7 * 86400.0,
    "D": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "ns": 1e-9,
    "ps": 1e-12,
    "fs": 1e-15,
    "as": 1e-18,
}


def years_from_time_argument(t: Any) -> Any:
    """A time-to-expiry argument as years: numbers pass through unchanged; np.timedelta64 values (or
    arrays of them) are converted by their unit, ACT/365 (30 days -> 30/365); np.datetime64 is a
    TypeError (a date is not a time to expiry).  Months and years have no fixed length and are refused."""
    if type(t) is float:  # the hot path
        return t
    kind = ""
    if isinstance(t, (np.timedelta64, np.datetime64, np.ndarray)):
        kind = t.dtype.kind
    elif isinstance(t, (list, tuple)) and t and isinstance(t[0], (np.timedelta64, np.datetime64)):
        t = np.asarray(t)
        kind = t.dtype.kind
    if kind == "M" or (kind == "O" and any(isinstance(x, np.datetime64) for x in np.ravel(t).tolist())):
        raise TypeError(
            f"t must be a time to expiry in years or a np.timedelta64, got a np.datetime64 ({t!r}); "
            "subtract the valuation time first"
        )
    if kind != "m":
        return t
    unit, count = np.datetime_data(t.dtype)
    if unit not in _SECONDS_PER_UNIT:
        raise TypeError(f"t: a np.timedelta64 in {unit!r} units has no fixed length; use days or seconds")
    a = np.asarray(t)
    seconds = a.astype(np.int64).astype(np.float64) * (count * _SECONDS_PER_UNIT[unit])
    if np.isnat(a).any():
        seconds = np.where(np.isnat(a), np.nan, seconds)
    years = seconds / SECONDS_PER_YEAR
    return float(years) if years.ndim == 0 else years
