"""Plain Python scalars from numpy ones, for records, JSON and tables."""

from __future__ import annotations

from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """``value`` as a Python scalar when it is a numpy scalar (np.float64 -> float), otherwise unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    return value
