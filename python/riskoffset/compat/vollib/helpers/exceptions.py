"""vollib.helpers.exceptions: InvalidArgument, PriceIsAboveMaximum, PriceIsBelowIntrinsic.

What riskoffset.compat.vollib raises for a price below intrinsic / above maximum is
``lets_be_rational.exceptions.BelowIntrinsicException`` / ``AboveMaximumException`` (the classes vollib 1.0.11
really raises), which here subclass these two, so ``except PriceIsBelowIntrinsic`` works as users expect.
"""

from __future__ import annotations

from .._exceptions import InvalidArgument, PriceIsAboveMaximum, PriceIsBelowIntrinsic

__all__ = ["InvalidArgument", "PriceIsAboveMaximum", "PriceIsBelowIntrinsic"]
