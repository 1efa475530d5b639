"""What a hedge trades and what one unit of it offsets: default candidate instruments, lot sizes, and the
per-unit exposure matrix of the Greeks a target neutralises.

Exposures are per unit of amount (Deribit size units) and follow `Book.greeks`: ``delta`` is the
premium-adjusted coin delta (``delta_pa``: an inverse future or perpetual ``1/F`` coin per USD of face, the
coin delta of inverse options net of their coin premium, 1 per coin of linear products), ``gamma`` the
Black-76 gamma per USD of the forward, ``vega`` USD per 1.00 of vol.  Greeks of different underlyings are
separate rows (never added); with ``by_expiry`` vega has one row per (underlying, expiry).  ``delta_b76``
(the plain Black-76 delta) is reported next to ``delta`` but never targeted.

Default candidates (``instruments=None``), per underlying the hedged account holds, from that account's
own positions only (the same account gets the same candidates inside a multi-account book and alone; an
account without options gets no option candidates, whatever the other accounts hold):

- every target: the inverse perpetual ``BASE-PERPETUAL`` (else the linear ``BASE_USDC-PERPETUAL``; the
  linear one first when the book holds only linear products of that base, so the hedge lands in the same
  Deribit PM risk group);
- ``margin`` also: the futures of the expiries the book holds (same-expiry futures hedge the roll shock);
- ``delta-gamma`` and ``delta-gamma-vega`` also: the at-the-money call (strike nearest the forward) of each
  option expiry the book holds, plus the nearest listed expiry the book does not hold: within one expiry
  gamma and vega are proportional under Black-76 (``vega = F^2 sigma T gamma``), so offsetting both needs
  a second expiry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._types import FloatArray, IntArray
from ..book import Book, InstrumentGreeks
from ..instruments import INVERSE, KIND_FUTURE, KIND_OPTION, InstrumentTable

TARGETS: dict[str, tuple[str, ...]] = {
    "delta": ("delta",),
    "delta-gamma": ("delta", "gamma"),
    "delta-gamma-vega": ("delta", "gamma", "vega"),
    "margin": (),
}
MEASURE_COLUMN = {"delta": "delta_pa", "delta_b76": "delta", "gamma": "gamma", "vega": "vega"}
ALL_MEASURES = ("delta", "gamma", "vega")
#: What a hedge result reports: the targeted measures and the plain Black-76 delta next to the
#: premium-adjusted one it neutralises.
REPORTED_MEASURES = ("delta", "delta_b76", "gamma", "vega")


def lot_sizes(table: InstrumentTable, rows: IntArray) -> FloatArray:
    """Tradable increment of each row: ``min_trade_amount`` where the table has it, else the contract size."""
    lot = table.min_trade_amount[rows]
    return np.asarray(
        np.where(np.isfinite(lot) & (lot > 0), lot, table.contract_size[rows]), dtype=np.float64
    )


def default_candidates(
    table: InstrumentTable, greeks: InstrumentGreeks, book: Book, target: str
) -> list[str]:
    """Default hedge instruments for ``target`` from ``table`` (the what-if universe; module doc)."""
    names = table.names.tolist()
    present = set(names)
    held = book.instruments
    # Only the account's own positions decide: a one-account view of a multi-account book keeps every
    # account's instruments in its table, and their expiries must not leak into this account's hedge.
    in_book = np.zeros(len(held), dtype=bool)
    in_book[book.indices[book.quantity != 0]] = True
    out: list[str] = []
    for base in [held.underlyings[u] for u in np.unique(held.underlying[in_book]).tolist()]:
        mine = (held.underlying == held.underlyings.index(base)) & in_book
        linear_only = not (held.settlement[mine] == INVERSE).any()
        order = (
            (f"{base}_USDC-PERPETUAL", f"{base}-PERPETUAL")
            if linear_only
            else (f"{base}-PERPETUAL", f"{base}_USDC-PERPETUAL")
        )
        perpetual = next((p for p in order if p in present), None)
        if perpetual is not None:
            out.append(perpetual)
        if target == "margin" and not linear_only:
            expiries = set(
                held.expiration_ms[mine & ((held.kind == KIND_FUTURE) | (held.kind == KIND_OPTION))].tolist()
            )
            code = table.underlyings.index(base)
            futures = np.flatnonzero(
                (table.kind == KIND_FUTURE) & (table.underlying == code) & (table.settlement == INVERSE)
            )
            out += [names[i] for i in futures.tolist() if int(table.expiration_ms[i]) in expiries]
        if target in ("delta-gamma", "delta-gamma-vega"):
            out += _atm_calls(table, greeks, base, held.expiration_ms[mine & (held.kind == KIND_OPTION)])
    if not out:
        raise ValueError(
            f"no default hedge instrument for {', '.join(held.underlyings) or 'an empty book'} in the market's "
            "listed instruments; pass instruments=[...]"
        )
    return list(dict.fromkeys(out))


def _atm_calls(table: InstrumentTable, greeks: InstrumentGreeks, base: str, expiries: IntArray) -> list[str]:
    code = table.underlyings.index(base)
    calls = np.flatnonzero(
        (table.kind == KIND_OPTION)
        & (table.underlying == code)
        & (table.flag > 0)
        & (table.settlement == INVERSE)
    )
    if not len(calls) or not len(expiries):
        return []
    listed = np.unique(table.expiration_ms[calls])
    wanted = set(np.unique(expiries).tolist())
    others = [e for e in listed.tolist() if e not in wanted]
    if others:  # the nearest listed expiry the book does not hold (to the book's mean expiry)
        centre = float(np.mean(sorted(wanted)))
        wanted.add(min(others, key=lambda e: abs(e - centre)))
    forward = greeks.market.forward
    out = []
    for e in sorted(wanted):
        rows = calls[table.expiration_ms[calls] == e]
        if len(rows):
            best = rows[np.argmin(np.abs(table.strike[rows] - forward[rows]))]
            out.append(str(table.names[best]))
    return out


def exposure_matrix(
    greeks: InstrumentGreeks,
    rows: IntArray,
    measures: Sequence[str],
    underlyings: Sequence[int],
    *,
    by_expiry: bool = False,
    expiries: Sequence[int] = (),
) -> tuple[list[str], FloatArray]:
    """(labels, M): ``M[r, j]`` is Greek row ``r`` (a measure of one underlying, and with ``by_expiry`` of
    one expiry for vega) of one unit of table row ``rows[j]``."""
    table = greeks.table
    labels: list[str] = []
    out: list[FloatArray] = []
    under = table.underlying[rows]
    for measure in measures:
        value = greeks[MEASURE_COLUMN[measure]][rows]
        for u in underlyings:
            base = table.underlyings[u]
            if measure == "vega" and by_expiry:
                for e in expiries:
                    sel = (under == u) & (table.expiration_ms[rows] == e)
                    day = np.datetime64(int(e), "ms").astype("datetime64[D]")
                    labels.append(f"vega {base} {day}")
                    out.append(np.where(sel, value, 0.0))
                continue
            labels.append(f"{measure} {base}")
            out.append(np.where(under == u, value, 0.0))
    matrix = np.array(out, dtype=np.float64).reshape(len(out), len(rows))
    return labels, matrix


def option_expiries(table: InstrumentTable, rows: IntArray) -> list[int]:
    sel = rows[table.kind[rows] == KIND_OPTION]
    return [int(e) for e in np.unique(table.expiration_ms[sel]).tolist()]


__all__ = [
    "ALL_MEASURES",
    "MEASURE_COLUMN",
    "REPORTED_MEASURES",
    "TARGETS",
    "default_candidates",
    "exposure_matrix",
    "lot_sizes",
    "option_expiries",
]
