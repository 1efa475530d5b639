"""Live margin inputs: Deribit subscription notifications as typed updates, and recorded streams
(docs/live-streams.md)."""

from __future__ import annotations

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
    "IndexUpdate",
    "MessageError",
    "StreamItem",
    "TickerUpdate",
    "TradeUpdate",
    "Update",
    "parse_notification",
    "read_stream",
    "sample_stream_path",
    "tardis_ticker",
]
