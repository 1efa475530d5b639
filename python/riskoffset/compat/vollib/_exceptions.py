"""One exception hierarchy for the vollib compatibility layer.

vollib 1.0.11 has two families of exception classes:

* ``vollib.helpers.exceptions.{InvalidArgument, PriceIsAboveMaximum, PriceIsBelowIntrinsic}``, which its
  implied-volatility functions import but never actually raise, and
* the lets_be_rational package's ``BelowIntrinsicException`` / ``AboveMaximumException`` (both subclasses of
  ``VolatilityValueException``), which are what vollib really raises for a price below intrinsic or at/above
  the maximum (re-exported as ``vollib.lets_be_rational.PriceIsBelowIntrinsic`` / ``PriceIsAboveMaximum``).

Here the lets_be_rational classes also derive from the ``helpers.exceptions`` classes, so every ``except``
clause written against either family catches what riskoffset.compat raises.
"""

from __future__ import annotations

import sys

FLOAT_MAX = sys.float_info.max
MINUS_FLOAT_MAX = -FLOAT_MAX


class InvalidArgument(Exception):
    """vollib.helpers.exceptions.InvalidArgument (never raised by vollib itself)."""


class PriceIsAboveMaximum(Exception):
    """The option price is at or above its maximum (the forward for calls, the strike for puts)."""


class PriceIsBelowIntrinsic(Exception):
    """The option price is below its intrinsic value."""


class VolatilityValueException(Exception):
    """The lets_be_rational package's base class; ``value`` is the sentinel volatility it associates with the error."""

    def __init__(self, message: str = "Volatility value out of range.", value: float | None = None) -> None:
        Exception.__init__(self, message)
        self.value = value


class BelowIntrinsicException(VolatilityValueException, PriceIsBelowIntrinsic):
    """Raised by every implied-volatility function for a price below intrinsic (as vollib 1.0.11 does)."""

    def __init__(self, message: str = "The volatility is below the intrinsic value.") -> None:
        VolatilityValueException.__init__(self, message, MINUS_FLOAT_MAX)


class AboveMaximumException(VolatilityValueException, PriceIsAboveMaximum):
    """Raised by every implied-volatility function for a price at or above the maximum."""

    def __init__(self, message: str = "The volatility is above the maximum value.") -> None:
        VolatilityValueException.__init__(self, message, FLOAT_MAX)


class CompatArgumentError(ValueError, AssertionError):
    """A bad argument that py_vollib_vectorized reports with ``assert`` (AssertionError): raised here as a
    ValueError that ``except AssertionError`` still catches."""
