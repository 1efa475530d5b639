"""Deribit standard margin per (account, settlement currency) group of a book, its reductions written in numpy:
how the package summed it before one compiled pass did (the per-position margins from the compiled
`standard_positions`, the positions grouped, summed by the sparse product, the calibrations by reduceat).
The baseline of the standard-margin benchmark, and a second reading of its figures."""

from __future__ import annotations

from typing import Any

import numpy as np
from riskoffset import Book, Market, _core
from riskoffset.margining.columns import CALIBRATION_ORDER, NO_TAG
from riskoffset.margining.standard import StandardParameters, unit_margins
from riskoffset.sparse import group_positions


def standard_margin_numpy(book: Book, market: Market, params: Any = None) -> dict[str, np.ndarray]:
    """Per group (ids = account x currencies + currency, ascending): initial, maintenance, the components' IM and
    MM, and each component's calibration code (NO_TAG where the group holds none of it)."""
    units = unit_margins(book.instruments, market, StandardParameters.load(params))
    n_cur = max(len(units.currencies), 1)
    rows = book.indices
    values = _core.margin.standard_positions(rows, book.quantity, units.arrays(), True)
    grouping = group_positions(book, units.currency, n_cur)
    n_positions = len(rows)
    order = grouping.order if grouping.order is not None else np.arange(n_positions, dtype=np.int64)
    total = _core.book.csr_product(grouping.starts, grouping.lengths, order, np.ones(n_positions), values, 1)
    component = units.component[rows][order]
    charged = (component == 0) | ((component == 1) & (book.quantity[order] < 0))
    rank = units.status_rank[rows][order]
    out = {"ids": grouping.ids, "initial": total[:, 0], "maintenance": total[:, 1]}
    for c, label in enumerate(("futures", "options")):
        in_component = component == c
        tag = np.where(in_component & charged, rank, len(CALIBRATION_ORDER))
        weakest = np.minimum.reduceat(tag, grouping.starts)
        present = np.add.reduceat(in_component.astype(np.int64), grouping.starts) > 0
        weakest = np.where(weakest == len(CALIBRATION_ORDER), CALIBRATION_ORDER.index("exact"), weakest)
        out[f"{label}_calibration"] = np.where(present, weakest, NO_TAG)
        out[f"{label}_initial"], out[f"{label}_maintenance"] = total[:, 2 + c], total[:, 4 + c]
    return out
