"""CME SPAN margin from XML risk-parameter files (``.spn``): parser and algorithm.

    from riskoffset.margining.span import parse_span, span_margin

    span = parse_span("cme.20261124.s.spn")                     # streaming; ~4 s for 50 MB
    r = span_margin({"ES:12345": 2, "ES:23456": -1}, None, span)  # positions in contracts by contract id
    r = span_margin(book, None, {"file": span, "mapping": {"BTC-27DEC24": "BTC:101"}})

Positions are signed numbers of contracts keyed by the file's contract identifiers: the cId (if unique
in the file), ``PFCODE:CID``, ``EXCH:PFCODE:CID`` or ``EC:EXCH:PFCODE:CID``.  A riskoffset `Book` is
accepted with a ``mapping`` from its instrument names to those identifiers (a value may also be
``(identifier, factor)``: SPAN contracts per book contract); the book's amounts are divided by the
instrument's contract size to give contracts.  The market argument is not used (SPAN arrays are
precomputed by the clearing house) and may be None.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..._types import FloatArray, IntArray
from ..columns import plain
from ..result import MarginResult
from .algorithm import SpanOptions, load_params, positions_rows, span_account
from .bulk import span_margins
from .model import SpanFile, SpanFileError
from .parser import parse_span

__all__ = ["SpanFile", "SpanFileError", "SpanOptions", "parse_span", "span_margin"]

_OPTION_KEYS = {f for f in SpanOptions.__dataclass_fields__}


def span_margin(
    book_or_positions: Any,
    market_or_none: Any = None,
    params: Any = None,
    *,
    mapping: Mapping[str, Any] | None = None,
    account: Any = None,
    **options: Any,
) -> MarginResult:
    """SPAN initial and maintenance margin of a position set under a parsed ``.spn`` file.

    params: a `SpanFile`, a path to a .spn file, a JSON file naming one (``{"file": ..., "mapping": ...}``), the
    preset ``"sample"`` (the bundled synthetic file for the bundled sample market, docs/span.md), or a mapping {"file": SpanFile | path, "mapping": ...,
    "account": ..., plus any `SpanOptions` field: account_type, is_cust, currency, apply_point_weights,
    maintenance_r, initial_r}.  Keyword arguments override the mapping's entries.

    A Book with several accounts gives the sum over accounts (no offsets between them) with each account's
    result in ``groups`` (`riskoffset.margining.result.aggregate`); pass ``account=`` to margin one account.
    """
    del market_or_none  # SPAN needs no market: the risk arrays are the clearing house's revaluation
    if params is None:
        raise ValueError("span_margin needs params: a parsed SpanFile, a .spn path or {'file': ...}")
    span, extra = load_params(params)
    mapping = mapping if mapping is not None else extra.pop("mapping", None)
    account = account if account is not None else extra.pop("account", None)
    extra.pop("mapping", None)
    extra.pop("account", None)
    merged = {**extra, **options}
    unknown = set(merged) - _OPTION_KEYS
    if unknown:
        raise ValueError(f"unknown SPAN option(s) {sorted(unknown)}; known: {sorted(_OPTION_KEYS)}")
    opts = SpanOptions(**merged)

    from ...book import Book

    if isinstance(book_or_positions, Book):
        return _book_margin(span, book_or_positions, mapping, account, opts)
    rows, qty = positions_rows(span, book_or_positions)
    return span_margins(span, [None], np.zeros(len(rows), np.int64), rows, qty, opts).total()


# Per parsed file (by identity, dropped with the file), the contract row and factor of each instrument of a table
# under a mapping, by the identities of the mapping and the table (and the mapping's content): looked up once, not
# on every call.
_CONTRACTS: dict[int, dict[tuple[int, int], tuple[Any, Any, IntArray, FloatArray]]] = {}


def contracts_of(span: SpanFile, mapping: Mapping[str, Any], table: Any) -> tuple[IntArray, FloatArray]:
    """Per instrument row of ``table``: its contract row in ``span`` (-1 where the mapping has no entry) and SPAN
    contracts per unit of the table's quantity (the mapping's factor over the contract size).  An entry naming a
    contract the file lacks raises."""
    if id(span) not in _CONTRACTS:
        _CONTRACTS[id(span)] = {}
        weakref.finalize(span, _CONTRACTS.pop, id(span), None)
    kept = _CONTRACTS[id(span)]
    entry = kept.get((id(mapping), id(table)))
    # (the mapping compared with a copy of what it held: a dict changed in place is looked up again)
    if entry is not None and entry[1] is table and entry[0] == mapping:
        return entry[2], entry[3]
    names = table.names.tolist()
    size = table.contract_size
    row_of: list[int] = []
    factor: list[float] = []
    for i, name in enumerate(names):
        target = mapping.get(name)
        if target is None:
            row_of.append(-1)
            factor.append(0.0)
            continue
        key, f = target if isinstance(target, (tuple, list)) else (target, 1.0)
        row_of.append(span.row(key))
        factor.append(float(f) / float(size[i]))
    rows, per_unit = np.asarray(row_of, dtype=np.int64), np.asarray(factor, dtype=np.float64)
    if len(kept) >= 16:
        kept.clear()
    kept[(id(mapping), id(table))] = (dict(mapping), table, rows, per_unit)
    return rows, per_unit


def _book_margin(
    span: SpanFile, book: Any, mapping: Mapping[str, Any] | None, account: Any, opts: SpanOptions
) -> MarginResult:
    if mapping is None:
        raise ValueError(
            "a Book needs a mapping from its instrument names to the SPAN file's contract identifiers "
            "(mapping={'BTC-27DEC24': 'EXCH:PFCODE:CID', ...})"
        )
    row_arr, fac = contracts_of(span, mapping, book.instruments)
    held = book.held_rows()  # (np.unique over every position was a quarter of the pass at 100,000 accounts)
    unmapped = held[row_arr[held] < 0]
    if len(unmapped):
        name = str(book.instruments.names[int(unmapped[0])])
        raise ValueError(f"instrument {name!r} of the book has no entry in the SPAN mapping")
    accounts = book.accounts.tolist()
    account_row = np.repeat(np.arange(len(accounts), dtype=np.int64), np.diff(book.indptr))
    rows, qty = row_arr[book.indices], book.quantity * fac[book.indices]
    if account is not None:
        if account not in accounts:
            raise ValueError(f"account {account!r} is not in the book")
        a = accounts.index(account)
        lo, hi = int(book.indptr[a]), int(book.indptr[a + 1])
        labels, account_row, rows, qty = [accounts[a]], account_row[lo:hi] - a, rows[lo:hi], qty[lo:hi]
    else:
        labels = accounts
    if not labels:
        return span_account(span, np.zeros(0, np.int64), np.zeros(0), opts)
    if book.accounts.dtype == object:  # (tolist gives Python scalars of every other dtype already)
        labels = [plain(x) for x in labels]
    return span_margins(span, labels, account_row, rows, qty, opts).total()
