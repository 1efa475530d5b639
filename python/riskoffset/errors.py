"""Errors shared by the market readers and the resolver."""

from __future__ import annotations


class MarketDataError(ValueError):
    """Missing, stale or inconsistent market data; ``instrument`` names what it concerns."""

    def __init__(self, message: str, instrument: str | None = None):
        super().__init__(message)
        self.instrument = instrument
