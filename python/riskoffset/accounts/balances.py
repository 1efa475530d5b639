"""Collateral balances per account and currency: `Balances`.

A `Balances` holds one amount per (account, currency) as a dense matrix (accounts x currencies, float64),
read from a mapping ``{account: {currency: amount}}``, a CSV of ``account,currency,amount`` rows, a JSON
document of either form, or Deribit's own responses: ``private/get_account_summary`` (one currency),
``private/get_account_summaries`` (all currencies of an account) and ``private/get_subaccounts`` with
``with_portfolio=true`` (every subaccount).  Amounts are in units of their currency (BTC, ETH, USDC, ...);
currency codes are upper-cased.  Balances attach to a `Book` by account label (`for_accounts`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._inputs import float_array
from .._types import FloatArray
from ..optional import require_pandas
from ..scalars import plain

_CURRENCY = re.compile(r"^[A-Z0-9][A-Z0-9_]{0,15}$")


def currency_code(value: Any, where: str) -> str:
    """An upper-case currency code (BTC, USDC, STETH, ...), or a ValueError naming where it was read."""
    if not isinstance(value, str) or not _CURRENCY.match(value.strip().upper()):
        raise ValueError(f"{where}: {value!r} is not a currency code such as BTC, ETH or USDC")
    return value.strip().upper()


class Balances:
    """Amounts per account and currency (module doc).  ``amounts[i, j]`` is account ``accounts[i]``'s
    balance in ``currencies[j]``; accounts are sorted as a `Book` sorts them (integers when every label is
    a canonical integer, else text)."""

    def __init__(
        self,
        accounts: Sequence[Any] | npt.NDArray[Any],
        currencies: Sequence[str],
        amounts: Any,
        *,
        allow_negative: bool = False,
        source: str = "",
    ):
        labels = np.asarray(accounts)
        curs = tuple(currency_code(c, "currency") for c in currencies)
        if len(set(curs)) != len(curs):
            raise ValueError(f"currencies repeat: {list(curs)}")
        if len(set(labels.tolist())) != len(labels):
            raise ValueError("accounts repeat: give each account once")
        matrix = np.array(float_array("amounts", amounts)).reshape(len(labels), len(curs))
        bad = ~np.isfinite(matrix) | ((matrix < 0) & (not allow_negative))
        if bad.any():
            i, j = (int(x) for x in np.argwhere(bad)[0])
            what = "is not a finite amount" if not math.isfinite(matrix[i, j]) else "is negative"
            raise ValueError(f"balance of account {plain(labels[i])!r} in {curs[j]}: {float(matrix[i, j])!r} {what}")
        order = np.argsort(labels, kind="stable")
        self.accounts: npt.NDArray[Any] = labels[order]
        self.currencies = curs
        self.amounts: FloatArray = np.ascontiguousarray(matrix[order])
        self.source = source
        for a in (self.accounts, self.amounts):
            a.flags.writeable = False

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_mapping(cls, data: Mapping[Any, Mapping[str, Any]], **options: Any) -> Balances:
        """From ``{account: {currency: amount}}``."""
        if not isinstance(data, Mapping):
            raise TypeError(f"balances must be a mapping account -> {{currency: amount}}, got {type(data).__name__}")
        records = []
        for account, per_currency in data.items():
            if not isinstance(per_currency, Mapping):
                raise ValueError(f"balances of account {account!r}: expected {{currency: amount}}, got {per_currency!r:.60}")  # noqa: TRY004 - bad file content, reported as a data error
            for currency, amount in per_currency.items():
                records.append((account, currency, amount))
        return cls.from_records(records, **options)

    @classmethod
    def from_records(cls, records: Iterable[tuple[Any, Any, Any]], **options: Any) -> Balances:
        """From ``(account, currency, amount)`` triples; an (account, currency) pair given twice is summed."""
        table: dict[Any, dict[str, float]] = {}
        for n, (account, currency, amount) in enumerate(records):
            label = _label(account, n)
            code = currency_code(currency, f"balance {n} (account {label!r})")
            value = _amount(amount, label, code)
            row = table.setdefault(label, {})
            row[code] = row.get(code, 0.0) + value
        labels = list(table)
        if labels and all(isinstance(a, str) and _integer_label(a) for a in labels):
            table = {int(a): v for a, v in table.items()}
            labels = list(table)
        currencies = sorted({c for row in table.values() for c in row})
        matrix = [[table[a].get(c, 0.0) for c in currencies] for a in labels]
        return cls(labels, currencies, matrix, **options)

    @classmethod
    def from_csv(cls, path: str | Path, **options: Any) -> Balances:
        """A CSV with a header ``account,currency,amount`` ('#' starts a comment line)."""
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"balances file {str(p)!r} does not exist")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"balances file {str(p)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
        fields = set(rows[0]) if rows else set()
        if not {"account", "currency", "amount"} <= fields:
            raise ValueError(f"{p}: a balances CSV needs columns account, currency, amount; found {sorted(fields)}")
        return cls.from_records(((r["account"], r["currency"], r["amount"]) for r in rows),
                                source=str(p), **options)  # fmt: skip

    @classmethod
    def from_json(cls, source: str | Path | Any, **options: Any) -> Balances:
        """A JSON document (a path, or the parsed value): ``{account: {currency: amount}}``, a list of
        ``{"account", "currency", "amount"}`` records, or a Deribit response (`from_deribit`)."""
        doc, name = source, ""
        if isinstance(source, (str, Path)):
            p = Path(source)
            if not p.exists():
                raise FileNotFoundError(f"balances file {str(p)!r} does not exist")
            try:
                doc = json.loads(p.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ValueError(f"balances file {str(p)!r}: not valid JSON ({exc})") from None
            name = str(p)
        if _looks_deribit(doc):
            return cls.from_deribit(doc, source=name, **options)
        if isinstance(doc, list):
            records = []
            for n, r in enumerate(doc):
                if not isinstance(r, Mapping) or not {"account", "currency", "amount"} <= set(r):
                    raise ValueError(f"balance record {n}: expected {{'account', 'currency', 'amount'}}, got {r!r:.60}")
                records.append((r["account"], r["currency"], r["amount"]))
            return cls.from_records(records, source=name, **options)
        if isinstance(doc, Mapping):
            return cls.from_mapping(doc, source=name, **options)
        raise ValueError(f"balances JSON: expected a mapping, a list of records or a Deribit response; got {type(doc).__name__}")

    @classmethod
    def from_deribit(cls, response: Any, *, account: Any = None, **options: Any) -> Balances:
        """From Deribit responses (a JSON-RPC envelope or its ``result``, or a list of them):
        ``private/get_account_summary`` (``{"currency", "balance", ...}``), ``private/get_account_summaries``
        (``{"summaries": [...], "username", "id"}``) and ``private/get_subaccounts`` with portfolios
        (``[{"username", "id", "portfolio": {"btc": {"balance", ...}}}]``).  The balance taken is Deribit's
        ``balance`` (cash, before unrealised P&L).  account: the label of a one-account response (default:
        its username, else its id, else "default")."""
        records: list[tuple[Any, Any, Any]] = []
        for item in _results(response):
            if isinstance(item, Mapping) and "summaries" in item:
                label = account if account is not None else _owner(item)
                summaries = item["summaries"]
                if not isinstance(summaries, list):
                    raise ValueError("get_account_summaries: 'summaries' must be a list")
                records += [_summary(s, label) for s in summaries]
            elif isinstance(item, Mapping) and "portfolio" in item:
                label = _owner(item)
                portfolio = item["portfolio"]
                if not isinstance(portfolio, Mapping):
                    raise ValueError(f"get_subaccounts: account {label!r}: 'portfolio' must be a mapping")
                for cur, summary in portfolio.items():
                    if not isinstance(summary, Mapping):
                        raise ValueError(f"get_subaccounts: account {label!r}, {cur}: expected a summary object")  # noqa: TRY004 - bad file content, reported as a data error
                    records.append(_summary({"currency": cur, **summary}, label))
            elif isinstance(item, Mapping) and "currency" in item:
                records.append(_summary(item, account if account is not None else "default"))
            else:
                raise ValueError(
                    "not a Deribit account summary, account summaries or subaccounts response: "
                    f"{item!r:.80}"
                )
        if not records:
            raise ValueError("the Deribit response holds no account summary")
        return cls.from_records(records, **options)

    # ------------------------------------------------------------------ access
    @classmethod
    def load(cls, path: str | Path, **options: Any) -> Balances:
        """A balances file by its suffix: ``.json`` (`from_json`, Deribit responses included) or CSV."""
        p = Path(path)
        if p.suffix.lower() == ".json":
            if not p.exists():
                raise FileNotFoundError(f"balances file {str(p)!r} does not exist")
            return cls.from_json(p, **options)
        return cls.from_csv(p, **options)

    @staticmethod
    def samples() -> list[str]:
        """Names of the bundled sample balances (one per sample book)."""
        folder = resources.files("riskoffset").joinpath("data/balances")
        return sorted(e.name[: -len(".csv")] for e in folder.iterdir() if e.name.endswith(".csv"))

    @classmethod
    def sample(cls, name: str = "market_maker") -> Balances:
        """The synthetic balances bundled for the sample book ``name`` (see `samples`)."""
        if name not in cls.samples():
            raise ValueError(f"no sample balances {name!r}; samples: {', '.join(cls.samples())}")
        with resources.as_file(resources.files("riskoffset").joinpath(f"data/balances/{name}.csv")) as path:
            return cls.from_csv(path)

    def __len__(self) -> int:
        return len(self.accounts)

    def __repr__(self) -> str:
        return f"Balances({len(self)} accounts, {', '.join(self.currencies) or 'no currency'})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Balances):
            return NotImplemented
        return (
            self.currencies == other.currencies
            and np.array_equal(self.accounts, other.accounts)
            and np.array_equal(self.amounts, other.amounts)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value object: compared, not hashed

    def amount(self, account: Any, currency: str) -> float:
        """The balance of one account in one currency (0 for a currency it does not hold)."""
        i = self._row(account)
        code = currency_code(currency, "currency")
        return float(self.amounts[i, self.currencies.index(code)]) if code in self.currencies else 0.0

    def _row(self, account: Any) -> int:
        for i, label in enumerate(self.accounts.tolist()):
            if label == account or str(label) == str(account):
                return i
        raise KeyError(f"account {account!r} has no balances (accounts: {', '.join(map(str, self.accounts.tolist()[:10]))})")

    def for_accounts(self, accounts: Sequence[Any] | npt.NDArray[Any]) -> FloatArray:
        """The amounts of ``accounts`` (a book's labels, in its order), rows of zeros for accounts without
        balances; a balance of an account the book does not have is an error (a mistyped label)."""
        wanted = np.asarray(accounts)
        if len(wanted) == len(self.accounts) and np.array_equal(wanted, self.accounts):
            return np.array(self.amounts, dtype=np.float64)  # the same accounts in the same order: no lookups
        index = {str(a): i for i, a in enumerate(self.accounts.tolist())}
        out = np.zeros((len(wanted), len(self.currencies)))
        seen = set()
        for i, a in enumerate(wanted.tolist()):
            j = index.get(str(a))
            if j is not None:
                out[i] = self.amounts[j]
                seen.add(j)
        extra = [plain(self.accounts[j]) for j in range(len(self.accounts)) if j not in seen]
        if extra:
            raise ValueError(f"balances given for account(s) not in the book: {extra[:5]}")
        return out

    def to_dict(self) -> dict[str, dict[str, float]]:
        """``{account: {currency: amount}}`` (zero amounts left out), JSON-ready."""
        return {
            str(plain(a)): {c: float(v) for c, v in zip(self.currencies, row.tolist()) if v != 0.0}
            for a, row in zip(self.accounts.tolist(), self.amounts)
        }

    def to_pandas(self) -> Any:
        """A DataFrame indexed by account, one column per currency (needs the optional pandas extra)."""
        pd = require_pandas("Balances.to_pandas()")
        return pd.DataFrame(self.amounts, index=pd.Index(self.accounts, name="account"), columns=list(self.currencies))


# ---------------------------------------------------------------------------------------------- helpers
def _integer_label(label: str) -> bool:
    from ..book import _integer_label as rule  # one rule for books and balances

    return rule(label)


def _label(account: Any, n: int) -> Any:
    if isinstance(account, bool) or account is None or (isinstance(account, float)):
        raise ValueError(f"balance {n}: account {account!r} is not a label (text or an integer)")
    if isinstance(account, (int, np.integer)):
        return int(account)
    text = str(account)
    if not text.strip():
        raise ValueError(f"balance {n}: the account label is empty")
    return text


def _amount(value: Any, account: Any, currency: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"balance of account {account!r} in {currency}: {value!r} is not a number")  # noqa: TRY004 - bad file content, reported as a data error
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"balance of account {account!r} in {currency}: {value!r:.40} is not a number") from None


def _results(response: Any) -> list[Any]:
    items = response if isinstance(response, list) else [response]
    out: list[Any] = []
    for item in items:
        if isinstance(item, Mapping) and "result" in item and ("jsonrpc" in item or "id" in item or len(item) <= 4):
            if item.get("error"):
                raise ValueError(f"the Deribit response is an error: {item['error']!r:.120}")
            result = item["result"]
            out += result if isinstance(result, list) else [result]
        else:
            out.append(item)
    return out


def _owner(item: Mapping[str, Any]) -> Any:
    for key in ("username", "id"):
        value = item.get(key)
        if value not in (None, ""):
            return value
    return "default"


def _summary(summary: Any, account: Any) -> tuple[Any, Any, Any]:
    if not isinstance(summary, Mapping) or "currency" not in summary or "balance" not in summary:
        raise ValueError(f"account {account!r}: a Deribit account summary needs 'currency' and 'balance': {summary!r:.80}")
    return account, summary["currency"], summary["balance"]


def _looks_deribit(doc: Any) -> bool:
    items = doc if isinstance(doc, list) else [doc]
    return bool(items) and all(
        isinstance(i, Mapping) and ("result" in i or "summaries" in i or "portfolio" in i or ("currency" in i and "balance" in i))
        for i in items
    )


__all__ = ["Balances", "currency_code"]
