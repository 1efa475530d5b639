"""SPAN margin of the live engine's accounts (docs/live.md, "Under SPAN").

SPAN's risk arrays are the clearing house's own revaluation of each contract, published with its risk-parameter
file: an account's SPAN margin depends on its positions and the file, not on the engine's quotes.  The engine
therefore computes it when an account's positions change (at the start, on a trade) with the same code as
``ro.margin(book, market, "span", params)`` (`riskoffset.margining.span.bulk.span_margins`), keeps it in the
account's margin columns, and lets every quote move the equity against it through the compiled settle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._types import FloatArray, IntArray
from ..instruments import InstrumentTable
from ..margining.columns import plain
from ..margining.span import contracts_of
from ..margining.span.algorithm import SpanOptions, load_params
from ..margining.span.bulk import _prepared, _usd_rate, span_margins, span_one_account
from ..margining.span.model import SpanFile


@dataclass(frozen=True)
class SpanInputs:
    """A parsed risk-parameter file bound to the engine's instrument table: per instrument row its contract row
    in the file (-1 where the mapping has none) and SPAN contracts per unit of the table's quantity."""

    span: SpanFile
    options: SpanOptions
    contract: IntArray
    per_unit: FloatArray
    names: tuple[str, ...]
    currencies: tuple[str, ...]  # every currency a SPAN figure of this file can be in
    usd_rates: dict[str, float]  # USD per unit of each of those the file converts

    @classmethod
    def of(cls, table: InstrumentTable, params: Any) -> SpanInputs:
        """``params`` as ``ro.margin(..., "span", params)`` takes them (a file, a path, "sample", or a mapping
        with "file", "mapping" and SPAN options); every instrument of ``table`` the mapping names is looked up
        in the file once (a name the file lacks raises here)."""
        if params is None:
            raise ValueError("method 'span' needs params: a parsed SpanFile, a .spn path, 'sample' or {'file': ...}")
        span, extra = load_params(params)
        mapping = extra.pop("mapping", None)
        extra.pop("account", None)
        known = set(SpanOptions.__dataclass_fields__)
        if set(extra) - known:
            raise ValueError(f"unknown SPAN option(s) {sorted(set(extra) - known)}; known: {sorted(known)}")
        if mapping is None:
            raise ValueError("method 'span' needs a 'mapping' from instrument names to the file's contracts")
        options = SpanOptions(**extra)
        names = tuple(str(n) for n in table.names.tolist())
        contract, per_unit = contracts_of(span, mapping, table)
        _, ccs = span.combined_commodity_of_rows()
        currencies = tuple(
            dict.fromkeys([*(c.currency for c in ccs), *([options.currency] if options.currency else []), "USD"])
        )
        rates = {c: _usd_rate(span, c) for c in currencies}
        return cls(span, options, contract, per_unit, names, currencies,
                   {c: r for c, r in rates.items() if np.isfinite(r)})  # fmt: skip

    def refresh_entry(self, column: dict[str, int]) -> dict[str, Any]:
        """What the engine's compiled refresh needs to compute an account's SPAN itself after a trade (the
        "span" entry of its instrument columns): the one-account call bound to the file, per instrument row its
        contract row and contracts per unit, per currency of that call the engine's column (``column``)."""
        prep = _prepared(self.span, self.options)
        return {
            "account": prep.one_account,
            "contract": np.ascontiguousarray(self.contract, dtype=np.int64),
            "per_unit": np.ascontiguousarray(self.per_unit, dtype=np.float64),
            "column": np.array([column.get(c, -1) for c in prep.cur_names], dtype=np.int64),
        }

    def margins(
        self, labels: Sequence[Any], indptr: IntArray, indices: IntArray, quantity: FloatArray,
        column: dict[str, int], n_columns: int,
    ) -> tuple[FloatArray, FloatArray]:  # fmt: skip
        """Initial and maintenance margin [account, engine currency column] of the accounts ``labels`` whose
        positions are ``indices[indptr[j]:indptr[j + 1]]`` (instrument rows) and ``quantity`` there.  A position
        in an instrument the mapping lacks raises, naming the account and the instrument."""
        rows = np.asarray(indices, dtype=np.int64)
        contract = self.contract[rows]
        unmapped = contract < 0
        if unmapped.any():
            j = int(np.flatnonzero(unmapped)[0])
            owner = int(np.searchsorted(indptr, j, side="right")) - 1
            raise ValueError(
                f"account {plain(labels[owner])!r}: instrument {self.names[int(rows[j])]!r} has no entry in the SPAN "
                "mapping"
            )
        contracts = np.asarray(quantity, dtype=np.float64) * self.per_unit[rows]
        initial, maintenance = np.zeros((len(labels), n_columns)), np.zeros((len(labels), n_columns))
        if len(labels) == 1:  # (a trade's account: one compiled call, unless the account needs the full path)
            one = span_one_account(self.span, contract, contracts, self.options)
            if one is not None:
                initial[0, column[one[2]]], maintenance[0, column[one[2]]] = one[0], one[1]
                return initial, maintenance
        account = np.repeat(np.arange(len(labels), dtype=np.int64), np.diff(indptr))
        groups = span_margins(self.span, [plain(x) for x in labels], account, contract, contracts, self.options)
        col = np.array([column[c] for c in groups.currencies], dtype=np.int64)[groups.currency]
        np.add.at(initial, (groups.account, col), groups.initial)
        np.add.at(maintenance, (groups.account, col), groups.maintenance)
        return initial, maintenance
