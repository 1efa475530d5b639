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
from ..margining.span.bulk import _usd_rate, span_margins
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

    def margins(
        self, labels: Sequence[Any], indptr: IntArray, indices: IntArray, quantity: FloatArray,
        column: dict[str, int], n_columns: int,
    ) -> tuple[FloatArray, FloatArray]:  # fmt: skip
        """Initial and maintenance margin [account, engine currency column] of the accounts ``labels`` whose
        positions are ``indices[indptr[j]:indptr[j + 1]]`` (instrument rows) and ``quantity`` there.  A position
        in an instrument the mapping lacks raises, naming the account and the instrument."""
        rows = np.asarray(indices, dtype=np.int64)
        unmapped = self.contract[rows] < 0
        if unmapped.any():
            j = int(np.flatnonzero(unmapped)[0])
            owner = int(np.searchsorted(indptr, j, side="right")) - 1
            raise ValueError(
                f"account {plain(labels[owner])!r}: instrument {self.names[int(rows[j])]!r} has no entry in the SPAN "
                "mapping"
            )
        account = np.repeat(np.arange(len(labels), dtype=np.int64), np.diff(indptr))
        groups = span_margins(self.span, [plain(x) for x in labels], account, self.contract[rows],
                              np.asarray(quantity, dtype=np.float64) * self.per_unit[rows], self.options)  # fmt: skip
        initial, maintenance = np.zeros((len(labels), n_columns)), np.zeros((len(labels), n_columns))
        col = np.array([column[c] for c in groups.currencies], dtype=np.int64)[groups.currency]
        np.add.at(initial, (groups.account, col), groups.initial)
        np.add.at(maintenance, (groups.account, col), groups.maintenance)
        return initial, maintenance
