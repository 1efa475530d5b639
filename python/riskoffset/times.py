"""Times: UTC valuation and expiry times, and year fractions (ACT/365 by the second)."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Union

SECONDS_PER_YEAR = 365.0 * 86400.0  # ACT/365 by the second (see docs/conventions.md, times)

TimeLike = Union[datetime, str, int, float]


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
        except ValueError:
            raise ValueError(
                f"{what} {value!r} is not an ISO 8601 time such as 2026-11-25T08:00:00Z"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return datetime.fromtimestamp(value / 1000.0, tz=timezone.utc)
    raise ValueError(
        f"{what} must be a datetime, an ISO string or milliseconds since the epoch, got {value!r}"
    )
