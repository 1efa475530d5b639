"""`MessageApplication`: Deribit subscription notifications applied to `RiskEngine` (docs/live-streams.md lists
the channels): parsed, consecutive quotes applied together, and a message the engine refuses counted and
recorded, or raised when the engine is strict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from .engine_state import EngineState, _locked
from .market_updates import IndexQuote, TickerQuote
from .messages import BalanceUpdate, IndexUpdate, MessageError, TickerUpdate, TradeUpdate, parse_notification


class RawMessage(NamedTuple):
    """A notification as received (``apply`` parses it), and its line in a stream, for `RiskEngine.apply_batches`."""

    line: int | None
    message: Mapping[str, Any]


class MessageApplication(EngineState):
    """Notifications, parsed or as received, applied in order (module doc)."""

    @_locked
    def apply(self, message: Mapping[str, Any], *, line: int | None = None) -> int:
        """Apply one Deribit JSON-RPC subscription notification (docs/live-streams.md lists the channels);
        returns the number of updates it carried.  A malformed message, or one whose quotes the market refuses
        (a forward far from its future's mark, a vol that reads as a percentage), raises `MessageError` when
        the engine is ``strict``; otherwise it is counted (``counters["malformed"]`` / ``["rejected"]``),
        recorded in ``errors`` with its ``line``, and skipped.  Either way the engine's state is unchanged by
        it (the quotes of one message are applied together)."""
        try:
            updates = parse_notification(message)
        except MessageError as exc:
            self._refuse(exc, line)
            return 0
        if not updates:
            self.counters["ignored"] += 1
            return 0
        if len(updates) == 1:  # (the usual message: one update, applied as `apply_updates` applies it)
            before = self.counters["updates"]
            try:
                self._apply_update(updates[0])
            except ValueError as exc:
                self._refuse(exc, line)
            return self.counters["updates"] - before
        return self.apply_updates([(line, updates)])

    def _apply_update(self, u: Any) -> None:
        """One parsed update (`parse_notification`) applied on its own."""
        if isinstance(u, TradeUpdate):
            self.on_trade(u.account, u.instrument, u.quantity, u.price, u.fee, fee_currency=u.fee_currency,
                          timestamp=u.timestamp, trade_id=u.trade_id)  # fmt: skip
        elif isinstance(u, BalanceUpdate):
            self.set_balance(u.account, u.currency, u.balance, u.timestamp)
        elif isinstance(u, (IndexUpdate, TickerUpdate)):
            self.quotes([_quote_of(u)])
        else:
            raise TypeError(f"not an update parse_notification gives: {u!r}")

    @_locked
    def apply_updates(self, items: Sequence[tuple[int | None, Sequence[Any]]]) -> int:
        """Apply parsed notifications, ``(line, updates)`` each (`riskoffset.live.parse_notification`), in
        order: consecutive quotes (index and ticker updates) together through `quotes`, so the accounts are
        recomputed once for them, trades and balances one by one.  When quotes applied together fail, each
        message's quotes are applied on their own so only the bad message is refused (as `apply`).  Returns
        the number of updates applied (the engine's "updates" counter: an update ignored as out of order or a
        trade seen before is not one)."""
        applied_before = self.counters["updates"]
        pending: list[tuple[int | None, list[IndexQuote | TickerQuote]]] = []

        def flush() -> None:
            if not pending:
                return
            try:
                self.quotes([q for _, qs in pending for q in qs])
            except ValueError as exc:
                if len(pending) == 1:
                    self._refuse(exc, pending[0][0])
                else:
                    for line, qs in pending:
                        try:
                            self.quotes(qs)
                        except ValueError as one:
                            self._refuse(one, line)
            pending.clear()

        for line, updates in items:
            if all(isinstance(u, (IndexUpdate, TickerUpdate)) for u in updates):
                pending.append((line, [_quote_of(u) for u in updates]))
                continue
            flush()
            try:
                for u in updates:  # a message with trades or balances: its updates in order
                    self._apply_update(u)
            except ValueError as exc:
                self._refuse(exc, line)
        flush()
        return self.counters["updates"] - applied_before

    @_locked
    def apply_batches(self, batches: Sequence[Sequence[tuple[int | None, Sequence[Any]]] | RawMessage]) -> int:
        """Apply ``batches`` in order, each a list of parsed notifications as `apply_updates` takes them (applied
        together as it applies them) or a `RawMessage` as `apply` takes it.  Returns the number of updates
        applied.  One engine applies them one after another; `ClusterEngine` sends each shard all of them in one
        call.  A strict engine raises at the first message it refuses (`MessageError`, its ``line`` set): the
        messages before it stay applied, each whole, and ``counters["updates"]`` counts them."""
        applied = 0
        for batch in batches:
            if isinstance(batch, RawMessage):
                applied += self.apply(batch.message, line=batch.line)
            else:
                applied += self.apply_updates(batch)
        return applied

    def _refuse(self, exc: ValueError, line: int | None) -> None:
        """A message the engine does not apply: raised when strict, else counted and recorded."""
        if self.strict:
            channel, field = (exc.channel, exc.field) if isinstance(exc, MessageError) else (None, None)
            raise MessageError(f"line {line}: {exc}" if line is not None else str(exc), channel, field, line) from None
        self.counters["malformed" if isinstance(exc, MessageError) else "rejected"] += 1
        self.errors.append((line, str(exc)))


def _quote_of(u: IndexUpdate | TickerUpdate) -> IndexQuote | TickerQuote:
    """A parsed index or ticker update as the quote `RiskEngine.quotes` takes."""
    if isinstance(u, IndexUpdate):
        return IndexQuote(u.underlying, u.price, u.timestamp)
    return TickerQuote(u.instrument, u.mark_price, u.mark_iv, u.underlying_price, u.timestamp)
