"""The live risk engine: margins kept current as quotes, trades and balances stream in (docs/live.md)."""

from .engine import RiskEngine
from .events import Event

__all__ = ["Event", "RiskEngine"]
