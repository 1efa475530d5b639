"""The live risk engine: margins kept current as quotes, trades and balances stream in (docs/live.md), fed
by Deribit subscription notifications or recorded streams (docs/live-streams.md)."""

from __future__ import annotations

from .cluster import ClusterEngine
from .engine import IndexQuote, RawMessage, RiskEngine, TickerQuote
from .events import Event
from .messages import (
    BalanceUpdate,
    IndexUpdate,
    MessageError,
    TickerUpdate,
    TradeUpdate,
    Update,
    parse_notification,
)
from .stream import StreamItem, read_stream, sample_stream_path, tardis_ticker

__all__ = [
    "BalanceUpdate",
    "ClusterEngine",
    "Event",
    "IndexQuote",
    "IndexUpdate",
    "MessageError",
    "RawMessage",
    "RiskEngine",
    "StreamItem",
    "TickerQuote",
    "TickerUpdate",
    "TradeUpdate",
    "Update",
    "parse_notification",
    "read_stream",
    "sample_stream_path",
    "tardis_ticker",
]
