"""riskoffset.compat: drop-in replacements for the two most used Python option calculators.

* ``riskoffset.compat.vollib`` -- vollib 1.0.11 / py_vollib: same module tree, signatures, units and
  exceptions; a scalar call costs 0.4-1.2 us (vollib: 1.2-27 us).
* ``riskoffset.compat.vectorized`` -- py_vollib_vectorized 0.1.1: same functions and signatures, analytic
  Greeks and a discounted Black-76 price (its finite-difference and Black-76 defects are fixed; see that
  module's docstring), pandas optional.
"""

from __future__ import annotations

from . import vectorized, vollib

__all__ = ["vectorized", "vollib"]
