"""The account view: equity, margin balance, initial and maintenance margin, available funds and the
maintenance-margin ratio of every account under one of Deribit's four margin models (docs/collateral.md).

Per account and settlement currency c (the currencies of its balances and of its positions):

- equity_c = balance_c + the mark value of its options settled in c (long positive, short negative);
  futures carry no value here: their unrealised P&L needs average entry prices, which positions do not carry
  yet, so a balance should include it (Deribit's ``balance`` does not);
- initial_c and maintenance_c: the margin method's rows settled in c (standard margin for S:SM and X:SM,
  Deribit-style portfolio margin for S:PM and X:PM).

Segregated models (S:SM, S:PM) keep each currency apart: margin balance_c = equity_c, available_c =
margin balance_c - initial_c; the account's USD figures are the sums at the index, and an account is short
of initial margin when any currency is.  Cross models (X:SM, X:PM) pool every currency in USD at its index:
margin balance = sum of equities in USD; for the initial margin each positive balance counts after its
haircut (`collateral_value`); available funds = that haircut margin balance - initial margin.  The
maintenance-margin ratio is maintenance / margin balance (in USD).  X:PM sums the per-currency portfolio
margins in USD without any offset between currencies: a conservative reading of a rule Deribit has not
published, labelled ``candidate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._types import FloatArray
from ..book import Book
from ..instruments import INVERSE, KIND_OPTION
from ..margining import margin
from ..margining.columns import GroupMargins
from ..market import Market
from ..optional import require_pandas
from ..scalars import plain
from ..unit_greeks import instrument_greeks
from .balances import Balances
from .collateral import CollateralParameters

MODELS: dict[str, tuple[str, bool]] = {  # name -> (margin method, cross collateral)
    "S:SM": ("deribit-standard", False),
    "X:SM": ("deribit-standard", True),
    "S:PM": ("deribit-pm", False),
    "X:PM": ("deribit-pm", True),
}


@dataclass(frozen=True)
class AccountView:
    """Every account's figures under one model (module doc).  Per currency (accounts x currencies, in the
    currency's units): ``balance``, ``options_value``, ``equity``, ``initial``, ``maintenance``.  Per account,
    in USD: ``equity_usd``, ``margin_balance_usd``, ``initial_usd``, ``maintenance_usd``, ``available_usd``,
    ``mm_ratio`` (maintenance / margin balance; inf when the margin balance is not positive)."""

    model: str
    accounts: npt.NDArray[Any]
    currencies: tuple[str, ...]
    price_usd: FloatArray
    balance: FloatArray
    options_value: FloatArray
    equity: FloatArray
    initial: FloatArray
    maintenance: FloatArray
    equity_usd: FloatArray
    margin_balance_usd: FloatArray
    initial_usd: FloatArray
    maintenance_usd: FloatArray
    available_usd: FloatArray
    mm_ratio: FloatArray
    short_of_initial: npt.NDArray[np.bool_]  # segregated: any currency below its IM; cross: available < 0
    calibration: str  # "candidate" for X:PM (cross-currency aggregation), else "as the margin method"

    def __len__(self) -> int:
        return len(self.accounts)

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """Per-account figures in USD as named arrays."""
        return {
            "account": self.accounts,
            "equity_usd": self.equity_usd,
            "margin_balance_usd": self.margin_balance_usd,
            "initial_usd": self.initial_usd,
            "maintenance_usd": self.maintenance_usd,
            "available_usd": self.available_usd,
            "mm_ratio": self.mm_ratio,
            "short_of_initial": self.short_of_initial,
        }

    def to_dict(self) -> dict[str, list[Any]]:
        return {k: [plain(x) for x in v.tolist()] for k, v in self.columns().items()}

    def to_pandas(self) -> Any:
        """The per-account USD figures as a DataFrame indexed by account (needs the optional pandas extra)."""
        pd = require_pandas("AccountView.to_pandas()")
        return pd.DataFrame(self.columns()).set_index("account")


def account_view(
    book: Book,
    market: Market,
    balances: Balances | Mapping[Any, Mapping[str, Any]],
    model: str = "X:PM",
    *,
    params: Any = None,
    collateral: Any = None,
    haircuts: Mapping[str, float] | None = None,
) -> AccountView:
    """The account view of ``book`` with ``balances`` on ``market`` under ``model`` ("S:SM", "X:SM", "S:PM",
    "X:PM"; module doc).  params: the margin method's parameters; collateral / haircuts: the haircut set
    (`CollateralParameters.load`), used by the cross models."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    method, cross = MODELS[model]
    if not isinstance(balances, Balances):
        balances = Balances.from_mapping(balances)
    table = book.instruments
    settles = [inst.settlement_currency.upper() for inst in table]
    currencies = tuple(sorted(set(balances.currencies) | {settles[i] for i in np.unique(book.indices).tolist()}))
    col = {c: j for j, c in enumerate(currencies)}
    n = len(book.accounts)
    # balances, aligned to the book's accounts and these currencies
    held = balances.for_accounts(book.accounts)
    balance = np.zeros((n, len(currencies)))
    for j, c in enumerate(balances.currencies):
        balance[:, col[c]] = held[:, j]
    # options' mark value per unit in their settlement currency: coin for inverse, quote currency for linear
    g = instrument_greeks(table, market)
    unit_value = np.where(table.settlement == INVERSE, g["value_coin"], g["value_usd"])
    unit_value = np.where(table.kind == KIND_OPTION, unit_value, 0.0)
    position_value = book.quantity * unit_value[book.indices]
    account_of = np.repeat(np.arange(n), np.diff(book.indptr))
    currency_of = np.array([col[settles[i]] for i in book.indices.tolist()], dtype=np.int64)
    options_value = np.zeros((n, len(currencies)))
    np.add.at(options_value, (account_of, currency_of), position_value)
    equity = balance + options_value
    # margin per (account, settlement currency), from the method's rows
    rows = GroupMargins.of(margin(book, market, method, params))
    initial = np.zeros((n, len(currencies)))
    maintenance = np.zeros((n, len(currencies)))
    row_currency = np.array([col[rows.currencies[int(c)].upper()] for c in rows.currency], dtype=np.int64)
    np.add.at(initial, (rows.account, row_currency), rows.initial)
    np.add.at(maintenance, (rows.account, row_currency), rows.maintenance)
    price = np.array([_price_usd(market, c) for c in currencies])
    equity_usd = equity @ price
    initial_usd = initial @ price
    maintenance_usd = maintenance @ price
    margin_balance_usd = equity_usd
    if cross:
        haircut = _haircuts(currencies, balance, book.accounts, collateral, haircuts)
        for_im = equity_usd - (np.maximum(balance, 0.0) * price * haircut).sum(axis=1)
        available_usd = for_im - initial_usd
        short = available_usd < 0
    else:
        available_usd = (equity - initial) @ price
        short = ((equity - initial) < 0).any(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(margin_balance_usd > 0, maintenance_usd / margin_balance_usd, np.inf)
    return AccountView(
        model=model,
        accounts=book.accounts,
        currencies=currencies,
        price_usd=price,
        balance=balance,
        options_value=options_value,
        equity=equity,
        initial=initial,
        maintenance=maintenance,
        equity_usd=equity_usd,
        margin_balance_usd=margin_balance_usd,
        initial_usd=initial_usd,
        maintenance_usd=maintenance_usd,
        available_usd=available_usd,
        mm_ratio=ratio,
        short_of_initial=short,
        calibration="candidate" if model == "X:PM" else "as the margin method",
    )


def _price_usd(market: Market, currency: str) -> float:
    if currency in market.index:
        return float(market.index[currency])
    if currency in CollateralParameters.load().par:
        return 1.0
    raise ValueError(f"the market has no {currency} index to value {currency} in USD")


def _haircuts(currencies: tuple[str, ...], balance: FloatArray, accounts: npt.NDArray[Any], collateral: Any,
              given: Mapping[str, float] | None) -> FloatArray:  # fmt: skip
    p = CollateralParameters.load(collateral, haircuts=given)
    out = np.zeros(len(currencies))
    for j, c in enumerate(currencies):
        if (balance[:, j] > 0).any():
            if c not in p.haircut:
                i = int(np.flatnonzero(balance[:, j] > 0)[0])
                raise ValueError(
                    f"account {plain(accounts[i])!r} holds {c}: no haircut is known for {c} in {p.name} "
                    f"(give it: haircuts={{'{c}': ...}})"
                )
            out[j] = p.haircut[c]
    return out


def compare_models(book: Book, market: Market, balances: Balances | Mapping[Any, Any], **options: Any) -> dict[str, AccountView]:
    """The same accounts under S:SM, X:SM, S:PM and X:PM: the cost of keeping collateral apart made visible
    (compare ``available_usd`` across models)."""
    return {model: account_view(book, market, balances, model, **options) for model in MODELS}


__all__ = ["MODELS", "AccountView", "account_view", "compare_models"]
