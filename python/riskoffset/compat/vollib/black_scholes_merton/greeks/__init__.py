"""vollib.black_scholes_merton.greeks: ``analytical`` and ``numerical``."""

from . import analytical, numerical

__all__ = ["analytical", "numerical"]
