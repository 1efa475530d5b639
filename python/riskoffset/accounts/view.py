"""The account view: what Deribit's account summary shows, per account and currency and in USD.

``ro.account(book, market, balances, margin_model="X:PM")`` computes the book's margins per account and
settlement currency (riskoffset.margin), sets them against the account's collateral under one of the
models of riskoffset.accounts.models, and returns an `AccountView` of columns.

Per account and currency (``[account, currency]`` matrices, in units of the currency): ``balance``,
``equity`` (balance + the options' mark value + the futures' unrealised P&L against the book's average entry
prices where it has them, or balance + ``unrealised`` when given), ``initial`` and ``maintenance`` margin.  Per account, in USD:

- S: models: ``margin_balance_usd`` = sum of equity x index; ``available_usd`` = sum over currencies of
  (equity - IM) x index; an account is ``below_initial`` / ``below_maintenance`` when any one currency's
  equity is below its own IM / MM (a surplus in another currency does not help);
- X: models: ``margin_balance_usd`` = sum of the collateral's USD value after IM haircuts;
  ``available_usd`` = margin balance - IM in USD; ``below_maintenance`` compares MM with the collateral
  valued after MM haircuts;
- ``mm_ratio`` = MM / margin balance (USD; infinite for no margin balance and some MM, 0 with no MM).

Worked example (X:SM, no haircuts): 1 BTC at 50,000 and 10,000 USDC against a BTC IM of 0.1 BTC
(5,000 USD) and a USDC IM of 2,000: margin balance 60,000, available 60,000 - 7,000 = 53,000 USD.  Under
S:SM the same account has 0.9 BTC and 8,000 USDC available (53,000 USD), and an account with 0 BTC and
60,000 USDC is below initial margin in BTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _core
from .._types import FloatArray
from ..book import Book
from ..margining.columns import GroupMargins
from ..market import Market
from ..optional import require_pandas
from ..scalars import plain
from ..sparse import account_sums, spread_by_column
from ..unit_greeks import instrument_greeks
from .balances import Balances
from .collateral import CollateralTable
from .deltas import closest_expiration, delta_totals, unit_deltas
from .equity import equity, futures_unrealised_pnl
from .models import model

_PER_CURRENCY = (
    "balance", "equity", "initial", "maintenance", "projected_initial", "projected_maintenance", "delta_total",
    "projected_delta_total",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class AccountView:
    """Columns of the account view (module doc)."""

    model: str
    calibration: str
    accounts: npt.NDArray[Any]
    currencies: tuple[str, ...]
    index: FloatArray  # USD per unit of each currency
    balance: FloatArray  # [account, currency]
    equity: FloatArray
    initial: FloatArray
    maintenance: FloatArray
    margin_balance_usd: FloatArray  # [account]
    initial_usd: FloatArray
    maintenance_usd: FloatArray
    available_usd: FloatArray
    mm_ratio: FloatArray
    below_initial: npt.NDArray[np.bool_]
    below_maintenance: npt.NDArray[np.bool_]
    collateral_source: str
    margin_source: str
    delta_total: FloatArray  # [account, currency]: coin delta of the positions settled in it (accounts.deltas)
    projected_delta_total: FloatArray  # without the positions expiring at the closest expiration

    def __len__(self) -> int:
        return len(self.accounts)

    def _projected(self, per_currency: FloatArray, usd: FloatArray) -> FloatArray:
        """Deribit's projected figure per [account, currency]: under X: models the account's total in USD
        expressed in each currency at its index ("the sum of each cross collateral currency's value converted to
        the given currency"); under S: models each currency's own figure.  Infinite where a currency has no
        index and there is margin to express."""
        if self.model.startswith("S:"):
            return np.asarray(per_currency.copy(), dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(self.index > 0, usd[:, None] / np.where(self.index > 0, self.index, 1.0), np.inf)
        return np.asarray(np.where(usd[:, None] == 0.0, 0.0, out), dtype=np.float64)

    @property
    def projected_initial(self) -> FloatArray:
        """Projected initial margin per [account, currency], as Deribit's summary reports it (`_projected`)."""
        return self._projected(self.initial, self.initial_usd)

    @property
    def projected_maintenance(self) -> FloatArray:
        """Projected maintenance margin per [account, currency] (`_projected`)."""
        return self._projected(self.maintenance, self.maintenance_usd)

    @property
    def funding_needed_usd(self) -> FloatArray:
        """USD the account must add to meet initial margin: per currency under S: models (a surplus in one
        currency does not cover another), pooled under X: models."""
        if self.model.startswith("S:"):
            return in_usd(np.maximum(self.initial - self.equity, 0.0), self.index)
        return np.asarray(np.maximum(-self.available_usd, 0.0), dtype=np.float64)

    @property
    def available(self) -> FloatArray:
        """Available funds per account and currency (segregated reading: equity - IM, in the currency)."""
        return np.asarray(self.equity - self.initial, dtype=np.float64)

    def row(self, account: Any) -> dict[str, Any]:
        """One account's figures as a dict (USD totals and per-currency amounts)."""
        hits = np.flatnonzero(self.accounts == account)
        if not hits.size:
            raise ValueError(f"account {account!r} is not in the view")
        i = int(hits[0])
        out: dict[str, Any] = {"account": plain(self.accounts[i]), "model": self.model}
        for name in ("margin_balance_usd", "initial_usd", "maintenance_usd", "available_usd", "mm_ratio"):
            out[name] = float(getattr(self, name)[i])
        out["below_initial"] = bool(self.below_initial[i])
        out["below_maintenance"] = bool(self.below_maintenance[i])
        for j, cur in enumerate(self.currencies):
            for name in _PER_CURRENCY:
                out[f"{name}_{cur}"] = float(getattr(self, name)[i, j])
        return out

    def to_pandas(self) -> Any:
        """One row per account (requires the pandas extra)."""
        pd = require_pandas("AccountView.to_pandas")
        data: dict[str, Any] = {
            "model": self.model,
            "margin_balance_usd": self.margin_balance_usd,
            "initial_usd": self.initial_usd,
            "maintenance_usd": self.maintenance_usd,
            "available_usd": self.available_usd,
            "mm_ratio": self.mm_ratio,
            "below_initial": self.below_initial,
            "below_maintenance": self.below_maintenance,
        }
        for j, cur in enumerate(self.currencies):
            for name in _PER_CURRENCY:
                data[f"{name}_{cur}"] = getattr(self, name)[:, j]
        return pd.DataFrame(data, index=pd.Index(self.accounts, name="account"))


def account(
    book: Book,
    market: Market,
    balances: Balances,
    margin_model: str = "X:PM",
    *,
    collateral: str | Any = "deribit-collateral",
    params: Any = None,
    unrealised: Any = None,
    margins: Any = None,
    dynamic_collateral: bool | None = None,
) -> AccountView:
    """The account view of ``book`` funded by ``balances`` under ``margin_model`` (module doc).

    ``collateral``: a collateral table name, path, mapping or `CollateralTable`.  ``params``: the margin
    method's parameters.  ``unrealised``: options value + futures P&L per [account, currency] of
    ``balances`` (see `riskoffset.accounts.equity`); when not given, the options' mark value and the futures' P&L
    against their average price from the book.  ``margins``: an already computed
    ``ro.margin(book, market, method)`` result of the model's method, to reuse.  ``dynamic_collateral``
    (default: on for X:PM only): coin balances revalued inside the PM scenarios of their coin
    (riskoffset.accounts.scenario_collateral)."""
    from ..margining import margin_rows  # late: margining imports the book

    m = model(margin_model)
    table = collateral if isinstance(collateral, CollateralTable) else CollateralTable.load(collateral)
    dynamic = (m.cross and m.method == "deribit-pm") if dynamic_collateral is None else bool(dynamic_collateral)
    if dynamic and m.method != "deribit-pm":
        raise ValueError(f"dynamic_collateral needs a PM model (S:PM or X:PM), not {m.name}")
    result: Any
    if margins is not None:
        result = margins
    elif dynamic:
        from .scenario_collateral import pm_with_collateral

        coins = balances.for_accounts(np.asarray(book.accounts))
        result = pm_with_collateral(book, market, coins, balances.currencies, params, table)
    else:
        result = margin_rows(book, market, m.method, params)
    groups = GroupMargins.of(result)
    accounts = np.asarray(book.accounts)
    settles = [inst.settlement_currency.upper() for inst in book.instruments]
    held_settles = sorted({settles[i] for i in book.held_rows().tolist()})
    currencies = tuple(dict.fromkeys([*balances.currencies, *groups.currencies, *held_settles]))
    col = {c: j for j, c in enumerate(currencies)}
    n, k = len(accounts), len(currencies)

    bal = np.zeros((n, k))
    bal[:, [col[c] for c in balances.currencies]] = balances.for_accounts(accounts)
    eq = bal.copy()
    resolved = market.resolve(book.instruments)
    g = instrument_greeks(book.instruments, market, resolved)
    currency_of = np.array([col[c] for c in settles], dtype=np.int64)  # per instrument: its settlement column
    delta_total, projected_delta = delta_totals(
        book.indptr,
        book.indices,
        book.quantity,
        unit_deltas(book.instruments, g["delta_pa"]),
        currency_of,
        closest_expiration(book.instruments, market),
        k,
    )
    if unrealised is None:  # the options' mark value and the futures' P&L against the book's average prices
        eq = _with_positions(bal, book, resolved, g, currency_of)
    else:
        u = np.asarray(unrealised, dtype=np.float64)
        if u.shape != (len(balances), len(balances.currencies)) or not np.isfinite(u).all():
            raise ValueError(f"unrealised must be a finite matrix of shape {(len(balances), len(balances.currencies))}")
        expanded = Balances(balances.accounts, balances.currencies, u, allow_negative=True)
        eq[:, [col[c] for c in balances.currencies]] += expanded.for_accounts(accounts)

    gcols = np.array([col[c] for c in groups.currencies], dtype=np.int64)
    cell = _book_rows(groups, accounts)[groups.account] * k + gcols[groups.currency]
    im = np.asarray(np.bincount(cell, weights=groups.initial, minlength=n * k), dtype=np.float64).reshape(n, k)
    mm = np.asarray(np.bincount(cell, weights=groups.maintenance, minlength=n * k), dtype=np.float64).reshape(n, k)

    index = _index(table, market, currencies, groups, bal, accounts)
    cuts = (table.haircuts(currencies, "im"), table.haircuts(currencies, "mm")) if m.cross else None
    f = settle(eq, im, mm, index, cuts)
    # (finite inputs whose sums overflow: huge balances at a huge price; an infinite equity, IM or MM in a currency
    # makes its USD sum infinite or NaN too)
    overflow = ~(np.isfinite(f.margin_balance_usd) & np.isfinite(f.initial_usd) & np.isfinite(f.maintenance_usd)
                 & np.isfinite(f.available_usd))  # fmt: skip
    if overflow.any():
        label = np.asarray(accounts)[int(np.flatnonzero(overflow)[0])].item()
        raise ValueError(f"account {label!r}: a margin or equity figure is not a finite number (its "
                         "balances and positions valued at the market's prices overflow)")  # fmt: skip
    calibration = m.calibration
    if any(p.status == "candidate" for c in currencies if c in table.currencies for p in [table.currencies[c]]):
        calibration = "candidate" if m.cross else calibration
    return AccountView(
        m.name, calibration, accounts, currencies, index, bal, eq, im, mm, f.margin_balance_usd, f.initial_usd,
        f.maintenance_usd, f.available_usd, f.mm_ratio, f.below_initial, f.below_maintenance,
        f"{table.name} {table.as_of}".strip(), groups.parameters_source, delta_total, projected_delta,
    )  # fmt: skip


def in_usd(amounts: FloatArray, index: FloatArray) -> FloatArray:
    """Per row, the sum of amounts per currency times each currency's USD price: a row-wise sum, so a row's
    figure does not depend on which other rows are computed with it (a matrix product may block them)."""
    return np.asarray((amounts * index).sum(axis=1), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Settled:
    """Per-account USD figures of equity against margin (`settle`)."""

    margin_balance_usd: FloatArray
    initial_usd: FloatArray
    maintenance_usd: FloatArray
    available_usd: FloatArray
    mm_ratio: FloatArray
    below_initial: npt.NDArray[np.bool_]
    below_maintenance: npt.NDArray[np.bool_]


def settle(
    equity: FloatArray,
    initial: FloatArray,
    maintenance: FloatArray,
    index: FloatArray,
    haircuts: tuple[FloatArray, FloatArray] | None,
) -> Settled:
    """Equity, IM and MM per [account, currency] against each other (module doc): segregated when
    ``haircuts`` is None, else cross collateral with the (IM, MM) haircut of each currency.  The account
    view and the live engine both settle in the same compiled code (USD sums left to right over the
    currencies; a debt takes no haircut)."""
    cuts = (None, None) if haircuts is None else haircuts
    return Settled(*_core.margin.settle(equity, initial, maintenance, index, *cuts))


def _with_positions(bal: FloatArray, book: Book, resolved: Any, g: Any, currency_of: npt.NDArray[np.int64]) -> FloatArray:
    """Equity per [account, currency] (`equity.equity`): the balances plus the book's options at their mark
    value (signed quantity x mark, in the settlement currency: coin for an inverse option, the quote currency
    for a linear one; one sparse product over the positions), plus each future's and perpetual's unrealised
    P&L against the book's average price where it has one (`equity.futures_unrealised_pnl`).  ``g``: the
    instruments' unit Greeks on the ``resolved`` market; ``currency_of``: each instrument's column."""
    from ..instruments import INVERSE, KIND_FUTURE, KIND_OPTION, KIND_PERPETUAL

    table = book.instruments
    unit = np.where(table.kind == KIND_OPTION, np.where(table.settlement == INVERSE, g["value_coin"], g["value_usd"]), 0.0)
    options = account_sums(book.indptr, book.indices, book.quantity, spread_by_column(unit, currency_of, bal.shape[1]))
    known = np.zeros(0, dtype=np.int64)
    if book.average_price is not None:
        known = np.flatnonzero(~np.isnan(book.average_price))
        rows = book.indices[known]
        known = known[(table.kind[rows] == KIND_FUTURE) | (table.kind[rows] == KIND_PERPETUAL)]
    rows = book.indices[known]
    pnl = futures_unrealised_pnl(
        book.quantity[known], np.asarray(book.average_price)[known] if len(known) else np.zeros(0),
        resolved.forward[rows], table.settlement[rows] == INVERSE,
    )  # fmt: skip
    account_of = np.searchsorted(book.indptr, known, side="right") - 1  # the futures positions' accounts
    return equity(bal + options, account_of, currency_of[rows], np.zeros(len(known)), pnl)


def _book_rows(groups: GroupMargins, accounts: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Row in the book's accounts of each of the margin result's accounts."""
    labels = np.asarray(groups.accounts)
    if len(labels) == len(accounts) and (len(labels) == 1 or np.array_equal(labels, accounts)):
        return np.arange(len(accounts), dtype=np.int64)
    where = {label: i for i, label in enumerate(accounts.tolist())}
    try:
        return np.array([where[label] for label in labels.tolist()], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"margin result has account {exc.args[0]!r}, which the book does not") from None


def _index(
    table: CollateralTable, market: Market, currencies: tuple[str, ...], groups: Any, held: FloatArray, accounts: Any
) -> FloatArray:
    """USD per unit of each currency: the market index, the margin method's own rate for a settlement
    currency, 1 for a pegged stablecoin; a ValueError naming an account that holds a currency with none."""
    rates: dict[str, float] = {}
    for c, cur in enumerate(groups.currencies):
        rows = np.flatnonzero(groups.currency == c)
        if rows.size and np.isfinite(groups.usd_rate[rows[0]]):
            rates[cur] = float(groups.usd_rate[rows[0]])
    return usd_prices(table, market, currencies, rates, held, accounts)


def usd_prices(
    table: CollateralTable,
    market: Market,
    currencies: tuple[str, ...],
    rates: dict[str, float],
    held: FloatArray,
    accounts: Any,
) -> FloatArray:
    """USD per unit of each of ``currencies``: the market index, else ``rates`` (a margin method's own rate
    for its settlement currencies), else 1 for a pegged stablecoin of the collateral table; a currency with
    none is an error naming the first account of ``held`` (accounts x currencies) that holds it."""
    known: dict[str, float] = {str(k): float(v) for k, v in market.index.items()}
    for cur, rate in rates.items():
        known.setdefault(cur, rate)
    out = np.empty(len(currencies))
    for j, cur in enumerate(currencies):
        if cur in known:
            out[j] = known[cur]
        elif cur in table.currencies and table.currencies[cur].pegged_usd:
            out[j] = 1.0
        else:
            holders = np.flatnonzero(held[:, j] != 0.0)
            if holders.size:
                raise ValueError(
                    f"account {plain(accounts[holders[0]])!r}: no index price for collateral currency {cur} "
                    f"(give the market an index for {cur})"
                )
            out[j] = 0.0
    return out
