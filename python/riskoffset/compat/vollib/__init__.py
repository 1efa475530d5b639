"""riskoffset.compat.vollib: a drop-in replacement for vollib 1.0.11 (and the ``py_vollib`` tree).

Same module tree, function names, argument orders, units and exceptions as vollib::

    import riskoffset.compat.vollib as vollib            # instead of: import vollib / import py_vollib
    from riskoffset.compat.vollib.black_scholes import black_scholes
    from riskoffset.compat.vollib.black_scholes.greeks.analytical import delta, gamma, theta, vega, rho
    from riskoffset.compat.vollib.black_scholes.implied_volatility import implied_volatility

Models: ``black`` (Black-76 on a forward, discounted), ``black_scholes`` (spot, no dividend) and
``black_scholes_merton`` (spot, dividend yield q), each with the pricing function, ``greeks.analytical``,
``greeks.numerical`` and ``implied_volatility``; plus ``helpers`` (binary_flag, pdf, forward_price,
``constants``, ``exceptions``, ``numerical_greeks``) and ``lets_be_rational``.

Units are vollib's: theta per calendar day, vega per vol point (x 0.01), rho per rate point (x 0.01).
Values agree with vollib to 1e-10 relative (~1e-13 in practice); a call costs ~0.4 us (prices, analytical
Greeks), ~0.7 us (implied volatility) or 0.7-1.2 us (numerical Greeks, two or three prices each) instead of
vollib's 1.2-4.5 us, 27 us and 8-12 us.

Differences from vollib, all deliberate and small:

* results are Python floats (vollib often returns numpy.float64, a float subclass);
* the exceptions raised for a price below intrinsic / above maximum are the lets_be_rational package's
  ``BelowIntrinsicException`` / ``AboveMaximumException`` as in vollib 1.0.11, but here they are also
  subclasses of ``helpers.exceptions.PriceIsBelowIntrinsic`` / ``PriceIsAboveMaximum``;
* ``..._limited_iterations`` functions ignore N and always solve to full precision;
* where the price carries no volatility information (time value below ~1e-13 of the price, or prices below
  ~1e-300) the implied volatility is whatever the last bits say, in vollib as here, and the two may differ;
* ``vollib.ref_python`` (vollib's slow pure-Python reference implementation), ``helpers.distributions``
  and ``helpers.doctest_helper`` are not reproduced.
"""

from __future__ import annotations

from importlib import import_module as _import_module

from . import black, black_scholes, black_scholes_merton, helpers, lets_be_rational

for _name in (
    "black.greeks.analytical",
    "black.greeks.numerical",
    "black.implied_volatility",
    "black_scholes.greeks.analytical",
    "black_scholes.greeks.numerical",
    "black_scholes.implied_volatility",
    "black_scholes_merton.greeks.analytical",
    "black_scholes_merton.greeks.numerical",
    "black_scholes_merton.implied_volatility",
    "helpers.constants",
    "helpers.exceptions",
    "helpers.numerical_greeks",
    "lets_be_rational.exceptions",
):
    _import_module(f"{__name__}.{_name}")
del _name, _import_module

__all__ = ["black", "black_scholes", "black_scholes_merton", "helpers", "lets_be_rational"]
