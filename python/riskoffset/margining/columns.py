"""Margin of many accounts as columns: one row per (account, risk group), numpy arrays throughout.

An exchange-scale book has hundreds of thousands of (account, risk group) rows; building a `MarginResult` for
each costs far more than the margin itself.  `GroupMargins` keeps the figures as arrays and builds a
`MarginResult` only for the rows a user looks at (indexing, iteration, ``to_dict``); `GroupMargins.total`
is the whole book's result, summed with arrays; `GroupMargins.by_account` sums the rows of each account
(`AccountMargins`).  Every margin method returns its figures through this one type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from .. import _core
from .._types import FloatArray, IntArray
from ..optional import require_pandas
from .result import Calibration, MarginResult, WorstScenario

#: Calibration tags from weakest to strongest; a sum carries the weakest of its parts.
CALIBRATION_ORDER: tuple[Calibration, ...] = ("candidate", "calibrated", "exact")
NO_TAG = -1  # the component has no calibration tag in that row


def plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (labels and JSON output)."""
    return value.item() if isinstance(value, np.generic) else value


def _weighted_sum(values: FloatArray, scale: FloatArray | None = None) -> float:
    """Sum of values (x scale), by numpy's pairwise sum: the same bits on every machine.  (np.dot hands a long
    vector to the threaded BLAS, whose partial sums follow the number of threads, and whose threads then spin
    on the other cores for a while after the call.)  A sum past the float range is inf, which `checked` refuses
    with the method's name."""
    with np.errstate(over="ignore"):
        return float((values if scale is None else values * scale).sum())

@dataclass(frozen=True, eq=False)
class GroupMargins(Sequence[MarginResult]):
    """Initial and maintenance margin of every (account, risk group) row of a book under one method.

    Amounts are in each row's ``currency`` (``currencies[currency[i]]``); ``usd_rate`` converts them to USD
    (NaN where no rate is known).  ``components[name][i]`` is the amount of an add-on in row ``i``;
    ``calibration[name][i]`` indexes `CALIBRATION_ORDER` (or is `NO_TAG`).  ``row_result(columns, i)``, when
    given, builds the method's full result for one row (with its details); otherwise a plain one is built from
    the columns.  It is handed the columns rather than closing over them: a result then holds no reference
    cycle, and its arrays (hundreds of MB at exchange scale) are freed as soon as it is dropped, not at some
    later garbage collection."""

    method: str
    parameters_source: str
    accounts: npt.NDArray[Any]  # account labels of the book
    account: IntArray  # row -> index into accounts (rows are account-major)
    group_names: tuple[str, ...]
    group: IntArray  # row -> index into group_names
    currencies: tuple[str, ...]
    currency: IntArray  # row -> index into currencies
    initial: FloatArray
    maintenance: FloatArray
    usd_rate: FloatArray
    components: Mapping[str, FloatArray] = field(default_factory=dict)
    calibration: Mapping[str, IntArray] = field(default_factory=dict)
    worst_index: IntArray | None = None  # -1: the row has no worst scenario
    worst_pnl: FloatArray | None = None
    worst_description: Callable[[int, int], str] | None = None  # (row, scenario index) -> text
    row_result: Callable[[GroupMargins, int], MarginResult] | None = None

    def __len__(self) -> int:
        return len(self.initial)

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickled with every column and each row's worst-scenario text (to cross to a Dask worker or a
        file); the details a method adds to a row (e.g. the PM's scenario vectors) stay in the process
        that computed them: an unpickled row is built from the columns."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if self.worst_description is not None and self.worst_index is not None:
            describe = self.worst_description
            fields["worst_description"] = _RowTexts(
                tuple(describe(i, int(self.worst_index[i])) for i in range(len(self)))
            )
        if not isinstance(self.row_result, _ListedRows):  # rows given as results pickle as they are
            fields["row_result"] = None
        return _group_margins, (fields,)

    @classmethod
    def of(cls, result: MarginResult | GroupMargins) -> GroupMargins:
        """The rows of a margin result as columns: its ``groups`` when they already are, else built from its
        groups (or from the result itself when it is one row); rows given as columns already, as they are."""
        if isinstance(result, GroupMargins):
            return result
        if isinstance(result.groups, GroupMargins):
            return result.groups
        rows: Sequence[MarginResult] = result.groups or (result,)
        accounts: list[Any] = []
        account = np.empty(len(rows), dtype=np.int64)
        for i, r in enumerate(rows):
            if not accounts or accounts[-1] != r.account:
                accounts.append(r.account)
            account[i] = len(accounts) - 1
        groups = tuple(dict.fromkeys(r.group for r in rows))
        currencies = tuple(dict.fromkeys(r.currency for r in rows))
        names = tuple(dict.fromkeys(k for r in rows for k in r.components))
        components = {k: np.array([r.components.get(k, 0.0) for r in rows]) for k in names}
        calibration = {k: calibration_codes([r.calibration.get(k) for r in rows]) for k in names}
        rate = [
            (r.initial_usd / r.initial)
            if r.initial_usd is not None and r.initial
            else float(r.details.get("usd_rate", 1.0 if r.currency in ("USD", "USDC", "USDT") else np.nan))
            for r in rows
        ]
        label = np.empty(len(accounts), dtype=object)
        label[:] = accounts
        return cls(
            method=result.method,
            parameters_source=result.parameters_source,
            accounts=label,
            account=account,
            group_names=groups,
            group=np.array([groups.index(r.group) for r in rows], dtype=np.int64),
            currencies=currencies,
            currency=np.array([currencies.index(r.currency) for r in rows], dtype=np.int64),
            initial=np.array([r.initial for r in rows], dtype=np.float64),
            maintenance=np.array([r.maintenance for r in rows], dtype=np.float64),
            usd_rate=np.array(rate, dtype=np.float64),
            components=components,
            calibration=calibration,
            row_result=_ListedRows(tuple(rows)),
        )

    @overload
    def __getitem__(self, i: int) -> MarginResult: ...

    @overload
    def __getitem__(self, i: slice) -> list[MarginResult]: ...

    def __getitem__(self, i: int | slice) -> MarginResult | list[MarginResult]:
        if isinstance(i, slice):
            return [self.result(j) for j in range(len(self))[i]]
        n = len(self)
        j = int(i)
        if not -n <= j < n:
            raise IndexError(f"row {i} outside the {n} rows")
        return self.result(j % n if n else j)

    def __iter__(self) -> Iterator[MarginResult]:
        return (self.result(i) for i in range(len(self)))

    def __repr__(self) -> str:
        return f"GroupMargins({self.method!r}, {len(self)} rows, {len(self.accounts)} accounts)"

    @property
    def initial_usd(self) -> FloatArray:
        return np.asarray(self.initial * self.usd_rate, dtype=np.float64)

    @property
    def maintenance_usd(self) -> FloatArray:
        return np.asarray(self.maintenance * self.usd_rate, dtype=np.float64)

    def account_label(self, i: int) -> Any:
        return plain(self.accounts[int(self.account[i])])

    def worst(self, i: int) -> WorstScenario | None:
        if self.worst_index is None or self.worst_pnl is None:
            return None
        index = int(self.worst_index[i])
        if index < 0:  # no scenario loses in this row (a grid row whose scan risk is 0)
            return None
        text = self.worst_description(i, index) if self.worst_description else f"scenario {index}"
        return WorstScenario(index, text, float(self.worst_pnl[i]))

    def result(self, i: int) -> MarginResult:
        """The `MarginResult` of row ``i`` (the method's full one when it builds them)."""
        if self.row_result is not None:
            return self.row_result(self, i)
        return self.result_from_columns(i)

    def result_from_columns(self, i: int) -> MarginResult:
        """The `MarginResult` of row ``i`` from the columns alone (without the details a method adds)."""
        rate = float(self.usd_rate[i])
        return MarginResult.in_currency(
            self.method,
            float(self.initial[i]),
            float(self.maintenance[i]),
            self.currencies[int(self.currency[i])],
            rate if np.isfinite(rate) else None,
            worst_scenario=self.worst(i),
            components={k: float(v[i]) for k, v in self.components.items() if self._has(k, i)},
            calibration={
                k: CALIBRATION_ORDER[int(v[i])] for k, v in self.calibration.items() if int(v[i]) != NO_TAG
            },
            parameters_source=self.parameters_source,
            account=self.account_label(i),
            group=self.group_names[int(self.group[i])],
        )

    def _has(self, component: str, i: int) -> bool:
        tags = self.calibration.get(component)
        return tags is None or int(tags[i]) != NO_TAG

    def total(self) -> MarginResult:
        """The book's requirement: one row's result as it is, or the sum of all rows (in their common
        currency, else in USD at each row's rate); components add by name, each keeping the weakest
        calibration of its rows; the worst scenario shown is that of the row with the largest initial
        margin in USD among the rows that have one (worst_index >= 0)."""
        n = len(self)
        if n == 0:  # an empty book (e.g. a long and a short that netted to nothing) needs no margin
            return MarginResult(
                self.method, 0.0, 0.0, "USD", 0.0, 0.0, parameters_source=self.parameters_source
            )
        if n == 1:
            return self.result(0)
        used = np.flatnonzero(np.bincount(self.currency, minlength=len(self.currencies)))
        common = len(used) == 1
        currency = self.currencies[int(used[0])] if common else "USD"
        finite_rate = np.isfinite(self.usd_rate)
        usd_known = bool(finite_rate.all())
        scale: FloatArray | None = None  # (one currency: the amounts as they are)
        if not common:
            is_usd = np.array([c == "USD" for c in self.currencies], dtype=bool)[self.currency]
            unknown = ~finite_rate & ~is_usd
            if unknown.any():
                i = int(np.flatnonzero(unknown)[0])
                raise ValueError(
                    f"{self.method}: cannot add a {self.currencies[int(self.currency[i])]} margin (account "
                    f"{self.account_label(i)!r}, group {self.group_names[int(self.group[i])]!r}) to other "
                    "currencies without its USD rate"
                )
            scale = np.where(finite_rate, self.usd_rate, 1.0)
        components: dict[str, float] = {}
        calibration: dict[str, Calibration] = {}
        for name, values in self.components.items():
            tags = self.calibration.get(name)
            if tags is None:
                components[name] = _weighted_sum(values, scale)
                continue
            weakest = int(tags.min())
            if weakest != NO_TAG:  # (every row has the component: NO_TAG is below every tag)
                components[name] = _weighted_sum(values, scale)
                calibration[name] = CALIBRATION_ORDER[weakest]
                continue
            present = tags != NO_TAG
            if present.any():
                components[name] = _weighted_sum(values[present], None if scale is None else scale[present])
                calibration[name] = CALIBRATION_ORDER[int(tags[present].min())]
        initial_usd = self.initial_usd if usd_known else None
        worst = None
        scanned = None if self.worst_index is None else np.flatnonzero(self.worst_index >= 0)
        if scanned is not None and len(scanned):
            size = initial_usd if initial_usd is not None else self.initial
            top = int(scanned[np.argmax(size[scanned])])
            ws = self.worst(top)
            assert ws is not None
            who = " ".join(
                str(x)
                for x in (self.account_label(top), self.group_names[int(self.group[top])])
                if x not in (None, "")
            )
            worst = WorstScenario(ws.index, f"{who}: {ws.description}", ws.pnl)
        return MarginResult(
            method=self.method,
            initial=_weighted_sum(self.initial, scale),
            maintenance=_weighted_sum(self.maintenance, scale),
            currency=currency,
            initial_usd=_weighted_sum(initial_usd) if initial_usd is not None else None,
            maintenance_usd=_weighted_sum(self.maintenance_usd) if usd_known else None,
            worst_scenario=worst,
            components=components,
            calibration=calibration,
            parameters_source=self.parameters_source,
            groups=self,
        )

    def by_account(self) -> AccountMargins:
        """The rows of each account summed in row order (one compiled pass): in the account's one currency when
        all its rows share it, else in USD; its worst group is the first row with the largest USD initial
        margin."""
        if len(self) == 0:
            zeros = np.zeros(0)
            return AccountMargins(
                self.method,
                self.accounts[:0],
                ("USD",),
                np.zeros(0, np.int64),
                zeros,
                zeros,
                zeros,
                zeros,
                np.zeros(0, np.int64),
                np.zeros(0, np.int64),
            )
        currencies = self.currencies if "USD" in self.currencies else (*self.currencies, "USD")
        first, currency, initial, maintenance, initial_usd, maintenance_usd, worst_row = _core.margin.rows_by_account(
            self.account, self.currency, self.usd_rate, self.initial, self.maintenance, currencies.index("USD")
        )
        accounts = self.account[first]
        # (each row is checked finite, in USD too: two of them can still sum past the float range)
        past = np.isinf(initial) | np.isinf(initial_usd)
        if past.any():
            a = int(np.flatnonzero(past)[0])
            raise ValueError(
                f"{self.method}: account {plain(self.accounts[accounts[a]])!r}: its groups' margins sum past the "
                "float range: check the market data"
            )
        return AccountMargins(
            self.method,
            self.accounts[accounts],
            tuple(currencies),
            currency,
            initial,
            maintenance,
            initial_usd,
            maintenance_usd,
            self.group[worst_row],
            worst_row.astype(np.int64),
            group_names=self.group_names,
            worst_index=None if self.worst_index is None else self.worst_index[worst_row],
        )

    def to_dict(self) -> dict[str, list[Any]]:
        """The columns as lists (JSON-ready)."""
        out: dict[str, list[Any]] = {
            "account": [plain(a) for a in self.accounts[self.account]],
            "group": [self.group_names[int(g)] for g in self.group],
            "currency": [self.currencies[int(c)] for c in self.currency],
            "initial": self.initial.tolist(),
            "maintenance": self.maintenance.tolist(),
            "initial_usd": [None if not np.isfinite(x) else x for x in self.initial_usd.tolist()],
            "maintenance_usd": [None if not np.isfinite(x) else x for x in self.maintenance_usd.tolist()],
        }
        if self.worst_index is not None:
            out["worst_index"] = self.worst_index.tolist()
        for name, values in self.components.items():
            out[name] = values.tolist()
        return out

    def to_pandas(self) -> Any:
        """The columns as a pandas DataFrame (needs the optional pandas extra)."""
        pd = require_pandas("GroupMargins.to_pandas()")
        return pd.DataFrame(self.to_dict())


@dataclass(frozen=True)
class _RowTexts:
    """The worst-scenario text of every row, as a pickled GroupMargins carries them."""

    texts: tuple[str, ...]

    def __call__(self, row: int, index: int) -> str:
        return self.texts[row]


@dataclass(frozen=True)
class _ListedRows:
    """Rows given as results (`GroupMargins.of` a list of them): row ``i`` is the ``i``-th."""

    rows: tuple[MarginResult, ...]

    def __call__(self, columns: GroupMargins, row: int) -> MarginResult:
        return self.rows[row]


def _group_margins(fields: dict[str, Any]) -> GroupMargins:
    return GroupMargins(**fields)


@dataclass(frozen=True, eq=False)
class AccountMargins:
    """Margin of every account of a book: one row per account, columns as numpy arrays.  ``initial`` and
    ``maintenance`` are in ``currencies[currency[i]]`` (the account's one settlement currency, or USD when it
    has several); ``worst_group`` names the group with the largest initial margin in USD."""

    method: str
    account: npt.NDArray[Any]  # labels
    currencies: tuple[str, ...]
    currency: IntArray
    initial: FloatArray
    maintenance: FloatArray
    initial_usd: FloatArray
    maintenance_usd: FloatArray
    worst_group: IntArray  # index into group_names
    worst_row: IntArray  # row of the GroupMargins that is the account's largest
    group_names: tuple[str, ...] = ()
    worst_index: IntArray | None = None

    def __len__(self) -> int:
        return len(self.account)

    def __repr__(self) -> str:
        return f"AccountMargins({self.method!r}, {len(self)} accounts)"

    @classmethod
    def concat(cls, parts: Sequence[AccountMargins], group_rows: Sequence[int]) -> AccountMargins:
        """The accounts of consecutive parts of one book as one result; ``group_rows[i]`` is the number of
        (account, group) rows of part ``i`` (so ``worst_row`` stays a row of the whole book)."""
        if not parts:
            raise ValueError("no parts to concatenate")
        currencies = tuple(dict.fromkeys(c for p in parts for c in p.currencies))
        names = tuple(dict.fromkeys(n for p in parts for n in p.group_names))
        offsets = np.concatenate(([0], np.cumsum(np.asarray(group_rows, dtype=np.int64))))[:-1]

        def recode(values: IntArray, old: tuple[str, ...], new: tuple[str, ...]) -> IntArray:
            if old == new[: len(old)]:  # the codes hold (the usual case: every part has the book's names)
                return values.astype(np.int64, copy=False)
            table = np.array([new.index(x) for x in old], dtype=np.int64)
            return table[values]

        worst_index = None
        if all(p.worst_index is not None for p in parts):
            worst_index = np.concatenate([p.worst_index for p in parts if p.worst_index is not None])
        return cls(
            parts[0].method,
            np.concatenate([p.account for p in parts]),
            currencies,
            np.concatenate([recode(p.currency, p.currencies, currencies) for p in parts]),
            np.concatenate([p.initial for p in parts]),
            np.concatenate([p.maintenance for p in parts]),
            np.concatenate([p.initial_usd for p in parts]),
            np.concatenate([p.maintenance_usd for p in parts]),
            np.concatenate(
                [recode(p.worst_group, p.group_names, names) if p.group_names else p.worst_group for p in parts]
            ),
            np.concatenate([p.worst_row + off for p, off in zip(parts, offsets.tolist())]),
            group_names=names,
            worst_index=worst_index,
        )

    def equals(self, other: AccountMargins) -> bool:
        """The same figures, bit for bit (NaN equal to NaN), the same labels and codes."""
        a, b = self.columns(), other.columns()
        if a.keys() != b.keys() or self.method != other.method:
            return False
        for k in a:
            x, y = np.asarray(a[k]), np.asarray(b[k])
            if x.dtype.kind == "f" and y.dtype.kind == "f":
                if x.shape != y.shape or x.tobytes() != y.tobytes():
                    return False
            elif not np.array_equal(x, y):
                return False
        return bool(np.array_equal(self.worst_row, other.worst_row))

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """The figures as named numpy arrays."""
        out: dict[str, npt.NDArray[Any]] = {
            "account": self.account,
            "currency": np.asarray(self.currencies, dtype=object)[self.currency],
            "initial": self.initial,
            "maintenance": self.maintenance,
            "initial_usd": self.initial_usd,
            "maintenance_usd": self.maintenance_usd,
            "worst_group": np.asarray(self.group_names or ("",), dtype=object)[self.worst_group]
            if self.group_names
            else self.worst_group,
        }
        if self.worst_index is not None:
            out["worst_index"] = self.worst_index
        return out

    def to_dict(self) -> dict[str, list[Any]]:
        return {k: [plain(x) for x in v.tolist()] for k, v in self.columns().items()}

    def to_pandas(self) -> Any:
        """The columns as a pandas DataFrame indexed by account (needs the optional pandas extra)."""
        pd = require_pandas("AccountMargins.to_pandas()")
        frame = pd.DataFrame(self.columns())
        return frame.set_index("account")


def calibration_codes(tags: Sequence[str | None]) -> IntArray:
    """Calibration tags (or None) as codes into `CALIBRATION_ORDER` (`NO_TAG` for None)."""
    return np.array([NO_TAG if t is None else CALIBRATION_ORDER.index(t) for t in tags], dtype=np.int64)


__all__ = ["CALIBRATION_ORDER", "NO_TAG", "AccountMargins", "GroupMargins", "calibration_codes", "plain"]
