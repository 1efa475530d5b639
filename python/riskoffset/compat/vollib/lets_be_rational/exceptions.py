"""vollib.lets_be_rational.exceptions (the lets_be_rational package's exception classes)."""

from __future__ import annotations

from .._exceptions import AboveMaximumException, BelowIntrinsicException, VolatilityValueException

PriceIsBelowIntrinsic = BelowIntrinsicException
PriceIsAboveMaximum = AboveMaximumException

__all__ = [
    "AboveMaximumException",
    "BelowIntrinsicException",
    "PriceIsAboveMaximum",
    "PriceIsBelowIntrinsic",
    "VolatilityValueException",
]
