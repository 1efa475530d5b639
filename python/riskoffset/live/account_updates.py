"""`AccountUpdates`: `RiskEngine`'s updates of one account: fills (`on_trade`), the pre-trade check (`what_if`,
computed by the same code and undone), deposits, withdrawals and balances as the venue reports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..accounts.balances import currency_code
from .engine_state import EngineState, _locked
from .input_checks import _checked_time, _finite, _trade_numbers, account_label
from .messages import MAX_TIMESTAMP_MS
from .savepoints import Savepoints

if TYPE_CHECKING:
    from .._core.margin import Captured


class AccountUpdates(EngineState):
    """Trades, pre-trade checks and balances (module doc)."""

    def on_trade(
        self,
        account: Any,
        instrument: str,
        quantity: float,
        price: float,
        fee: float = 0.0,
        *,
        fee_currency: str | None = None,
        timestamp: int | None = None,
        trade_id: str | None = None,
    ) -> None:
        """A fill of the account: ``quantity`` signed (buy +, sell -) in Deribit size units at ``price`` (coin
        for inverse options, USD for futures, the quote currency for linear ones).  Cash: an option's premium
        and the fee (in ``fee_currency``, default the settlement currency) leave the balance at once, and the
        P&L a futures fill realises enters it (Deribit books it at the daily settlement: equity is the same, the
        balance moves earlier here).  A repeated ``trade_id`` is ignored."""
        lock = self._lock  # taken here rather than by _locked: a trade is the hottest update (a frame less)
        lock.acquire()
        try:
            row_i = self._row_of_name.get(instrument) if type(instrument) is str else None  # (the usual call)
            if row_i is None:
                row_i = self._instrument(instrument)
            q, px, fee_amount = _trade_numbers(instrument, quantity, price, fee)
            if timestamp is not None and not (type(timestamp) is int and 0 <= timestamp < MAX_TIMESTAMP_MS):
                timestamp = _checked_time(timestamp)
            if trade_id is not None and str(trade_id) in self._trade_ids:
                self.counters["duplicate_trades"] += 1
                return
            settle_cur = self._settle_currency[row_i]
            # (a fee currency named as the engine names it, the usual call, is its column at once)
            fee_col = self._col.get(fee_currency) if type(fee_currency) is str else None
            if fee_col is None:
                fee_cur = settle_cur if fee_currency is None else currency_code(fee_currency, "fee_currency")
                fee_col = self._col.get(fee_cur)
            if fee_col is None:
                raise ValueError(
                    f"fee_currency {fee_cur}: not a currency of this engine ({', '.join(self.currencies)})"
                )
            p = self.positions
            if type(account) is int and p.int_rows is not None:  # (the usual call: the compiled index)
                label, a = account, p.int_rows.get(account)
            else:
                label = account_label(account, p.labels)
                a = p.row_of.get(label)
            # (with savepoints every update goes through the undo log: `_trade_in_steps`)
            filled = None
            if a is not None and self._held[row_i] and not self._spot[row_i] and self._savepoints is None:
                # The common case in one compiled call: position, cash and the account's figures (under SPAN its
                # margin too, unless the account needs SPAN's full path: None), all or nothing.
                filled = self._fill(a, row_i, q, px, fee_amount, fee_col, refresh=True)
                if filled is not None and filled[0] != filled[1]:
                    self._emit(a, filled[0], filled[1], timestamp, filled[2])
            if filled is None:
                self._trade_in_steps(label, row_i, q, px, fee_amount, fee_col, timestamp)
            if trade_id is not None:
                self._trade_ids.add(str(trade_id))
                if self._savepoints is not None:
                    self._savepoints.trade_ids.append(str(trade_id))
            self.counters["updates"] += 1
            if self._to_notify:
                self._notify()
        finally:
            lock.release()

    @_locked
    def what_if(self, account: Any, orders: Iterable[tuple[Any, ...]]) -> dict[str, Any]:
        """The account's figures (as `account` gives them) after fills of ``orders``, each ``(instrument,
        quantity, price)`` or ``(instrument, quantity, price, fee)`` as `on_trade` takes them, computed by the
        same code and then undone: the engine is left exactly as it was (positions, balances, figures, levels),
        no event is emitted and no counter moves.  A pre-trade check against the live state; an order the
        engine would refuse raises as `on_trade` does, and changes nothing either.  The orders of an account on
        instruments held are one compiled call (the fills, the account recomputed and read, everything put
        back); a new account, an instrument no account holds yet or SPAN's full path go through the engine's
        undo log."""
        fills = [tuple(order) for order in orders]
        for fill in fills:
            if not 3 <= len(fill) <= 4:
                raise ValueError(f"order {fill!r}: expected (instrument, quantity, price) or with a fee")
        if fills and self._savepoints is None:  # (the usual check: one compiled call)
            figures = self._dry_fills(account, fills)
            if figures is not None:
                return figures
        outer = self._savepoints
        savepoints = outer if outer is not None else Savepoints()
        mark = savepoints.mark()
        counters, events, to_notify, callbacks = dict(self.counters), len(self._events), self._to_notify, self._callbacks
        self._savepoints, self._to_notify, self._callbacks = savepoints, [], []
        try:
            for fill in fills:
                self.on_trade(account, *fill)
            label = account if type(account) is int else account_label(account, self.positions.labels)
            row = self.positions.find(label)
            if row is None:  # (no order: an account the engine does not have)
                raise ValueError(f"account {account!r} is not in the engine")
            return self._row(row)
        finally:
            savepoints.rollback(self, mark)
            self._savepoints, self._to_notify, self._callbacks = outer, to_notify, callbacks
            self.counters.clear()
            self.counters.update(counters)
            while len(self._events) > events:
                self._events.pop()

    def _dry_fills(self, account: Any, fills: Sequence[tuple[Any, ...]]) -> dict[str, Any] | None:
        """`what_if` of an account's orders in one compiled call (the fills as `on_trade` applies them, the
        account's figures as they leave it, then everything put back), or None where it takes the undo log (a new
        account, an instrument no account holds, spot, SPAN's full path, a full pool).  Orders are checked in
        order, as `on_trade` would check them one after another."""
        rows: list[int] = []
        amounts: list[float] = []
        prices: list[float] = []
        fees: list[float] = []
        fee_cols: list[int] = []
        a: int | None = None
        for j, (instrument, quantity, price, *fee) in enumerate(fills):
            row_i = self._instrument(instrument)
            q, px, fee_amount = _trade_numbers(instrument, quantity, price, fee[0] if fee else 0.0)
            if j == 0:  # (on_trade reads the account after the first order's numbers)
                label = account if type(account) is int else account_label(account, self.positions.labels)
                a = self.positions.find(label)
            if a is None or not self._held[row_i] or self._spot[row_i]:
                return None
            rows.append(row_i)
            amounts.append(q)
            prices.append(px)
            fees.append(fee_amount)
            fee_cols.append(self._col[self._settle_currency[row_i]])
        if a is None:  # (no orders)
            return None
        p = self.positions
        try:
            status, bad, now, captured = self._bound_refresh(None).what_if(
                p.start, p.end, p.indices, p.quantity, p.average, p.size, a, rows, amounts, prices, fees, fee_cols
            )
        except ValueError as exc:  # (refused with everything put back: name the account)
            raise ValueError(f"what-if of account {p.labels[a]!r}: {exc}") from None
        if bad:
            raise self._not_finite(a)
        if status < 0 or captured is None:  # (a full pool, SPAN's full path: nothing was changed)
            return None
        figures, key, index = captured
        return self._figures_of(a, now, figures, key, index)  # (the fills' level: the engine's is back)

    def _trade_in_steps(
        self, label: Any, row_i: int, q: float, px: float, fee: float, fee_col: int, timestamp: int | None
    ) -> None:
        """`on_trade` where one compiled call does not cover it: a new account, an instrument no account held
        yet, spot (collateral: the balances move, no position), SPAN (the account's margin computed after the
        fill) or a cluster shard's savepoints (every update through the undo log)."""
        with self._transaction() as undo:
            a = self.positions.account_row(label, create=True)
            self._alloc(len(self.positions))
            undo.account(a)
            if not self._held[row_i]:
                undo.instruments(np.array([row_i], dtype=np.int64))
                self._held[row_i] = True
                if self._stale[row_i]:
                    self._revalue(np.array([row_i], dtype=np.int64))
                    self._stale[row_i] = False
            if self._spot[row_i]:
                s = self._col[self._settle_currency[row_i]]
                self._balance[a, self._col[self._base[row_i]]] += q
                self._balance[a, s] -= q * px
                self._balance[a, fee_col] -= fee
            else:
                self._fill(a, row_i, q, px, fee, fee_col, refresh=False)
                if self._span is not None:  # (its positions changed: its SPAN margin with them)
                    self._span_margins(np.array([a], dtype=np.int64))
            self._refresh(np.array([a], dtype=np.int64), timestamp=timestamp)

    def _fill(
        self, a: int, row_i: int, q: float, px: float, fee: float, fee_col: int, *, refresh: bool, anew: bool = False
    ) -> tuple[int, int, Captured | None] | None:
        """The fill in the pool and the account's balances (premium, realised futures P&L, fee), and with
        ``refresh`` the account recomputed, in one compiled call (all or nothing: a non-finite figure leaves
        the account as it was and raises).  Outside an update's undo, a fill that neither opens nor closes a
        position changes it where it lies (no new segment, nothing for the pool to collect later; ``anew``
        writes the segment anew all the same, as every fill once did, for comparisons).  Returns the
        account's level before and after, and what the call captured of it for its event when the level changed
        (`_emit_rows`); None, with nothing changed, where under SPAN the refresh leaves the account to SPAN's full
        path (`_trade_in_steps`)."""
        p = self.positions
        trade = self._bound_refresh(None).trade
        top = self.TOP_CONTRIBUTORS if refresh else 0
        in_place = self._undo is None and not anew  # (an undo points the account back at its old segment)
        try:
            n, bad, was, now, captured, held = trade(p.start, p.end, p.indices, p.quantity, p.average, p.size, a,
                                                     row_i, q, px, fee, fee_col, refresh, top, in_place)  # fmt: skip
            if n == -1:  # the pool is full (nothing was written): make room (outside an update's undo, by dropping
                p.reserve(a, collect=self._undo is None)  # what trades left behind when that is most of it), trade
                n, bad, was, now, captured, held = trade(p.start, p.end, p.indices, p.quantity, p.average, p.size, a,
                                                         row_i, q, px, fee, fee_col, refresh, top, in_place)  # fmt: skip
        except ValueError as exc:  # (refused before anything changed: name the account and the instrument)
            raise ValueError(f"trade of account {p.labels[a]!r} in {self._names[row_i]}: {exc}") from None
        if bad:
            raise self._not_finite(a)
        if n == -3:  # (SPAN's full path)
            return None
        if n >= 0:  # (-2: written in place)
            p.appended(a, n, row_i if held else -1)
        return was, now, captured

    @_locked
    def on_balance(self, account: Any, currency: str, amount: float, timestamp: int | None = None) -> None:
        """A deposit (``amount`` > 0), withdrawal or transfer (< 0) of ``currency``."""
        self._set_balance(account, currency, _finite(amount, "amount"), add=True, timestamp=timestamp)

    @_locked
    def set_balance(self, account: Any, currency: str, balance: float, timestamp: int | None = None) -> None:
        """The account's balance in ``currency`` as the venue reports it (e.g. Deribit's portfolio update)."""
        self._set_balance(account, currency, _finite(balance, "balance"), add=False, timestamp=timestamp)

    def _set_balance(
        self, account: Any, currency: str, amount: float, *, add: bool, timestamp: int | None
    ) -> None:
        timestamp = _checked_time(timestamp)
        cur = currency_code(currency, "currency")
        if cur not in self._col:
            raise ValueError(
                f"account {account!r}: currency {cur} is not one of the engine's ({', '.join(self.currencies)})"
            )
        label = account_label(account, self.positions.labels)
        if not add and not self._in_order(f"balance:{label}:{cur}", timestamp):
            return
        a = self.positions.find(label)
        if a is not None and self._savepoints is None:  # one compiled call, all or nothing
            p = self.positions
            bad, was, now, captured = self._bound_refresh(None).balance(
                p.start, p.end, p.indices, p.quantity, p.average, p.size, a, self._col[cur], amount, add,
                self.TOP_CONTRIBUTORS,
            )  # fmt: skip
            if bad:
                raise self._not_finite(a)
            self._emit(a, was, now, timestamp, captured)
        else:
            with self._transaction() as undo:
                a = self.positions.account_row(label, create=True)
                self._alloc(len(self.positions))
                undo.account(a)
                self._balance[a, self._col[cur]] = (self._balance[a, self._col[cur]] + amount) if add else amount
                self._refresh(np.array([a], dtype=np.int64), timestamp=timestamp)
        self.counters["updates"] += 1
        self._notify()
