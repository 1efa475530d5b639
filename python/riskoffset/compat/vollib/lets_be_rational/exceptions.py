"""vollib.lets_be_rational.exceptions (Let's Be Rational's exception classes)."""

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
