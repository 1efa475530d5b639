"""vollib.helpers.constants."""

from __future__ import annotations

from .._exceptions import FLOAT_MAX, MINUS_FLOAT_MAX

__all__ = ["FLOAT_MAX", "MINUS_FLOAT_MAX"]
