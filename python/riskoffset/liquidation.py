"""Liquidation prices: the underlying price, below and above the current one, at which an account's equity
falls to its Deribit PM maintenance margin, found with the scenario engine; the margin ratio and the
distance to liquidation.

For a move ``m`` of one underlying ``u`` (index, futures marks and forwards of ``u`` all times ``1 + m``;
option vols held at their marks, i.e. sticky strike; other underlyings unchanged):

- ``equity(m) = balance(m) + sum_i q_i (V_i + P_i(m)) x rate_i(m)`` in USD, where the balance is the user's
  collateral per currency (a coin of ``u`` worth ``S (1 + m)``, another coin its index, USD/USDC/USDT at
  par), ``V_i`` an option's or spot holding's current value per unit in its settlement currency (futures 0:
  their P&L so far is taken to be in the balance), ``P_i(m)`` its scenario P&L from
  `margining.scenarios.scenario_pnl` (full revaluation) and ``rate_i`` USD per unit of settlement currency (the
  index at the move for coin-settled instruments, 1 for linear ones);
- ``maintenance(m)`` = ``ro.margin(book, market moved by m, "deribit-pm").maintenance_usd``;
- the liquidation prices are the roots of ``equity(m) - maintenance(m)`` nearest to ``m = 0`` on each side,
  bracketed on a grid of moves (down to -99 %, up to ``max_up``) and refined by the Illinois variant of
  regula falsi to ``tolerance`` in relative price.  No root in range gives None.

Equity and maintenance are compared in USD (for a single coin-settled risk group this is the same test as in
coin, both sides scaling with the index).  ``margin_ratio = maintenance / equity`` now (Deribit shows it as
a percentage; liquidation starts at 100 %).  An account whose equity is already at or below its maintenance
margin has no liquidation price: its ``status`` is ``"below_maintenance"`` and both prices are None.

The balance may be a `riskoffset.accounts.Balances`: the account's row is taken (its coins move with
their index as above).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ._types import FloatArray
from .accounts import Balances
from .book import Book, instrument_greeks
from .instruments import INVERSE, KIND_OPTION, KIND_SPOT
from .margining import margin as _margin
from .margining.scenarios import ScenarioSet, scenario_pnl
from .market import Market
from .optional import require_pandas
from .whatif import one_account

STABLE = ("USD", "USDC", "USDT")


@dataclass(frozen=True)
class Liquidation:
    """Liquidation of one account against moves of one underlying (module doc).  Prices are the
    underlying's index; distances are relative moves (``price / index - 1``)."""

    underlying: str
    index: float
    equity_usd: float
    maintenance_usd: float
    initial_usd: float
    price_down: float | None
    price_up: float | None
    details: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"  # "below_maintenance": liquidatable now, no price to reach

    @property
    def below_maintenance(self) -> bool:
        return self.status == "below_maintenance"

    @property
    def margin_ratio(self) -> float:
        """Maintenance margin over equity (1.0 = liquidation; inf with no positive equity)."""
        if self.equity_usd <= 0:
            return math.inf
        return self.maintenance_usd / self.equity_usd

    @property
    def distance_down(self) -> float | None:
        return None if self.price_down is None else self.price_down / self.index - 1.0

    @property
    def distance_up(self) -> float | None:
        return None if self.price_up is None else self.price_up / self.index - 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "underlying": self.underlying,
            "status": self.status,
            "index": self.index,
            "equity_usd": self.equity_usd,
            "maintenance_usd": self.maintenance_usd,
            "initial_usd": self.initial_usd,
            "margin_ratio": self.margin_ratio,
            "price_down": self.price_down,
            "price_up": self.price_up,
            "distance_down": self.distance_down,
            "distance_up": self.distance_up,
        }

    def to_pandas(self) -> Any:
        """A one-row pandas DataFrame of `to_dict`, indexed by the underlying (pandas is optional:
        ``pip install "riskoffset[pandas]"``)."""
        pd = require_pandas("Liquidation.to_pandas()")
        return pd.DataFrame([self.to_dict()]).set_index("underlying")

    def __str__(self) -> str:
        def price(p: float | None, d: float | None) -> str:
            return "none in range" if p is None or d is None else f"{p:,.2f} ({d:+.2%})"

        ratio = f"{self.margin_ratio:.2%}" if math.isfinite(self.margin_ratio) else "n/a (equity <= 0)"
        if self.below_maintenance:
            return "\n".join(
                [
                    f"liquidation on {self.underlying} (index {self.index:,.2f})",
                    (
                        f"  equity {self.equity_usd:,.2f} USD, maintenance {self.maintenance_usd:,.2f} USD, "
                        f"margin ratio {ratio}"
                    ),
                    "  ALREADY BELOW MAINTENANCE MARGIN: the account is liquidatable now (no liquidation price)",
                ]
            )
        return "\n".join(
            [
                f"liquidation on {self.underlying} (index {self.index:,.2f})",
                (
                    f"  equity {self.equity_usd:,.2f} USD, maintenance {self.maintenance_usd:,.2f} USD, "
                    f"margin ratio {ratio}"
                ),
                f"  down: {price(self.price_down, self.distance_down)}",
                f"  up:   {price(self.price_up, self.distance_up)}",
            ]
        )


def moved_market(market: Market, underlying: str, move: float) -> Market:
    """``market`` with the index, futures and perpetual marks and forwards of ``underlying`` times
    ``1 + move`` (vols unchanged: sticky strike)."""
    factor = 1.0 + move
    prefix = (underlying + "-", underlying + "_")

    def scaled(values: Mapping[str, float], options_too: bool) -> dict[str, float]:
        out = {}
        for name, value in values.items():
            is_option = name.count("-") == 3
            if name.startswith(prefix) and (options_too or not is_option):
                out[name] = value * factor
            else:
                out[name] = value
        return out

    index = dict(market.index)
    index[underlying] = index[underlying] * factor
    return Market(
        market.valuation_time,
        index=index,
        marks=scaled(market.marks, False),
        mark_iv=market.mark_iv,
        forwards=scaled(market.forwards, True),
        rate=market.rate,
        max_forward_gap=market.max_forward_gap,
        instruments=market.instruments,
        description=f"{market.description} ({underlying} {move:+.4%})",
    )


class _Equity:
    """equity(m) in USD for a vector of moves, by the scenario engine (module doc)."""

    def __init__(self, book: Book, market: Market, balance: Mapping[str, float], underlying: str):
        table = book.instruments
        self.table = table
        self.market = market
        self.underlying = underlying
        greeks = instrument_greeks(table, market)
        inverse = table.settlement == INVERSE
        kind = table.kind
        self.quantity = book.net_quantity()
        value = np.where(
            kind == KIND_OPTION,
            np.where(inverse, greeks["value_coin"], greeks["value_usd"]),
            np.where(kind == KIND_SPOT, greeks["value_usd"], 0.0),
        )
        self.value = value
        self.inverse = inverse
        resolved = greeks.market
        self.index = resolved.index
        self.moved_rows = table.underlying == (
            table.underlyings.index(underlying) if underlying in table.underlyings else -1
        )
        self.balance = dict(balance)
        self.spot = market.index[underlying]

    def __call__(self, moves: FloatArray) -> FloatArray:
        table = self.table
        n = len(moves)
        rows = np.zeros((len(table.underlyings), n))
        if self.underlying in table.underlyings:
            rows[table.underlyings.index(self.underlying)] = moves
        scenarios = ScenarioSet(
            price_move=rows, vol_shift=np.zeros(n), vol_mode="absolute", underlyings=table.underlyings
        )
        pnl = scenario_pnl(table, self.market, scenarios).pnl if len(table) else np.zeros((0, n))
        factor = np.where(self.moved_rows[:, None], 1.0 + moves[None, :], 1.0)
        rate = np.where(self.inverse[:, None], self.index[:, None] * factor, 1.0)
        positions = (self.quantity[:, None] * (self.value[:, None] + pnl) * rate).sum(axis=0)
        cash = np.zeros(n)
        for currency, amount in self.balance.items():
            c = currency.upper()
            if c in STABLE:
                cash += amount
            elif c == self.underlying:
                cash += amount * self.spot * (1.0 + moves)
            elif c in self.market.index:
                cash += amount * self.market.index[c]
            else:
                raise ValueError(f"balance in {currency!r}: no index price for it in the market")
        return np.asarray(positions + cash, dtype=np.float64)


def _root(f: Callable[[float], float], a: float, fa: float, b: float, fb: float, tolerance: float) -> float:
    """A root of f in [a, b] (fa, fb of opposite signs): Illinois regula falsi."""
    side = 0
    for _ in range(200):
        c = (a * fb - b * fa) / (fb - fa)
        fc = f(c)
        if fc == 0.0 or abs(b - a) <= tolerance * (1.0 + abs(c)):
            return c
        if (fc > 0) == (fb > 0):
            b, fb = c, fc
            if side == -1:
                fa /= 2.0
            side = -1
        else:
            a, fa = c, fc
            if side == 1:
                fb /= 2.0
            side = 1
    return c


def liquidation(
    book: Book,
    market: Market,
    balance: Mapping[str, float] | float | Balances,
    *,
    underlying: str | None = None,
    account: Any = None,
    params: Any = None,
    max_up: float = 10.0,
    steps: int = 40,
    tolerance: float = 1e-10,
) -> Liquidation:
    """Liquidation prices of one account (module doc).  balance: collateral per currency (``{"BTC": 1.5,
    "USDC": 20_000}``), or one number in USD.  underlying: the price that moves (default: the book's only
    underlying).  max_up: the largest up move searched (10 = +1,000 %)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 10_000:
        raise ValueError(f"steps must be an integer from 1 to 10,000, got {steps!r}")
    if not (isinstance(max_up, (int, float)) and 0.0 < max_up < 1e6):
        raise ValueError(f"max_up must be a finite move above 0 (10 = +1,000 %), got {max_up!r}")
    if not (isinstance(tolerance, (int, float)) and 0.0 < tolerance < 1.0):
        raise ValueError(f"tolerance must lie in (0, 1), got {tolerance!r}")
    single = one_account(book, account)
    held = sorted(
        {single.instruments.underlyings[u] for u in single.instruments.underlying[single.indices].tolist()}
    )
    if underlying is None:
        if len(held) != 1:
            raise ValueError(f"the book holds {', '.join(held) or 'nothing'}: name the underlying that moves")
        underlying = held[0]
    if underlying not in market.index:
        raise ValueError(f"no {underlying} index in the market")
    cash = _cash(_account_balance(balance, single) if isinstance(balance, Balances) else balance)
    equity = _Equity(single, market, cash, underlying)

    def maintenance(move: float) -> float:
        result = _margin(
            single, moved_market(market, underlying, move) if move else market, "deribit-pm", params
        )
        return float(result.maintenance_usd or 0.0)

    def excess(move: float) -> float:
        return float(equity(np.array([move]))[0]) - maintenance(move)

    now = _margin(single, market, "deribit-pm", params)
    equity_now = float(equity(np.zeros(1))[0])
    if not math.isfinite(equity_now):  # (finite balances at a finite price can still overflow in USD)
        raise ValueError(
            f"the account's equity is {equity_now!r} USD, beyond the float range: check its balances and the "
            "market's prices"
        )
    f0 = equity_now - float(now.maintenance_usd or 0.0)
    spot = market.index[underlying]

    def search(grid: FloatArray) -> float | None:
        if f0 <= 0:
            return None
        values = equity(grid)
        a, fa = 0.0, f0
        for m, eq in zip(grid.tolist(), values.tolist()):
            fm = eq - maintenance(m)
            if fm <= 0:
                return spot * (1.0 + (m if fm == 0 else _root(excess, a, fa, m, fm, tolerance)))
            a, fa = m, fm
        return None

    down = search(-np.linspace(0.99, 0.0, steps, endpoint=False)[::-1])
    up = search(np.linspace(max_up, 0.0, steps, endpoint=False)[::-1])
    return Liquidation(
        underlying=underlying,
        index=spot,
        equity_usd=equity_now,
        maintenance_usd=float(now.maintenance_usd or 0.0),
        initial_usd=float(now.initial_usd or 0.0),
        price_down=down,
        price_up=up,
        details={"balance": cash, "account": None if not len(single.accounts) else str(single.accounts[0])},
        status="below_maintenance" if f0 <= 0 else "ok",
    )


def _account_balance(balances: Balances, single: Book) -> dict[str, float]:
    """The one account's row of ``balances`` (currency -> amount), or a ValueError naming the account."""
    if len(single.accounts) != 1:
        raise ValueError("balances per account need a book of one account: name the account")
    label = single.accounts[0]
    if label not in set(balances.accounts.tolist()):
        raise ValueError(f"account {str(label)!r}: no balances given for it")
    amounts = {c: balances.amount(label, c) for c in balances.currencies}
    return {c: v for c, v in amounts.items() if v != 0.0}  # a currency it does not hold needs no index


def _cash(balance: Mapping[str, float] | float) -> dict[str, float]:
    """Collateral per currency, each amount a finite number (a NaN balance would make every price NaN)."""
    cash = {"USD": balance} if isinstance(balance, (int, float)) and not isinstance(balance, bool) else balance
    if not isinstance(cash, Mapping):
        raise TypeError(f"balance must be a number (USD) or a mapping currency -> amount, got {type(balance).__name__}")
    out: dict[str, float] = {}
    for currency, amount in cash.items():
        try:
            value = float(amount)
        except (TypeError, ValueError):
            raise ValueError(f"balance of {currency}: {amount!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"balance of {currency}: {amount!r} is not a finite amount")
        out[str(currency)] = value
    return out


def equity_usd(
    book: Book, market: Market, balance: Mapping[str, float] | float, underlying: str, move: float
) -> float:
    """Equity (USD) of ``book`` with ``balance`` after ``underlying`` moves by ``move`` (module doc)."""
    cash = _cash(balance)
    return float(_Equity(one_account(book), market, cash, underlying)(np.array([move]))[0])


__all__ = ["Liquidation", "equity_usd", "liquidation", "moved_market"]
