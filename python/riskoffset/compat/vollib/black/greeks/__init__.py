"""vollib.black.greeks: ``analytical`` (closed form) and ``numerical`` (vollib's finite differences)."""

from . import analytical, numerical

__all__ = ["analytical", "numerical"]
