"""Margin of a book under each method a user meets in practice:

- ``"deribit-standard"``: per-position Deribit standard margin, no offsets (`standard`);
- ``"deribit-pm"``: Deribit-style portfolio margin, scenarios over the whole book (`portfolio`);
- ``"span"``: CME SPAN from a ``.spn`` risk-parameter file (`span`, when installed);
- ``"grid"``: a user-defined scenario grid, e.g. the Paradex 24-scenario preset (`grid`).

``margin(book, market, method, params)`` returns a `MarginResult`: one (account, risk group) result as is,
or the sum of several with each in ``groups``; ``margin_rows`` returns those rows alone (`GroupMargins`), without
summing the book, for figures per account.  ``compare(book, market)`` runs every available method on
one book (capital efficiency: isolated per-position margin against portfolio margin).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..book import Book
from ..market import Market
from .columns import GroupMargins
from .parameters import ParameterError
from .result import MarginResult, WorstScenario

METHODS: tuple[str, ...] = ("deribit-standard", "deribit-pm", "span", "grid")
#: Where each method lives: (module, function(book, market, params) -> MarginResult).
_ENTRY: dict[str, tuple[str, str]] = {
    "deribit-standard": ("riskoffset.margining.standard", "standard_margin"),
    "deribit-pm": ("riskoffset.margining.portfolio", "portfolio_margin"),
    "span": ("riskoffset.margining.span", "span_margin"),
    "grid": ("riskoffset.margining.grid", "grid_margin"),
}
#: Where a method's (account, risk group) rows come from without the book's total, for the methods that build
#: them as columns: (module, function(book, market, params) -> GroupMargins).
_ROWS: dict[str, tuple[str, str]] = {
    "deribit-standard": ("riskoffset.margining.standard", "standard_rows"),
    "deribit-pm": ("riskoffset.margining.portfolio", "portfolio_rows"),
    "grid": ("riskoffset.margining.grid", "grid_margins"),
}


class MethodUnavailable(ValueError):
    """The margin method's module is not part of this installation (yet)."""


def method_function(method: str) -> Callable[[Book, Market, Any], MarginResult]:
    """The function computing ``method``; imported on first use (SPAN and grids are optional modules)."""
    if method not in _ENTRY:
        raise ValueError(f"unknown margin method {method!r}; choose one of {', '.join(METHODS)}")
    return _imported(method, *_ENTRY[method])  # type: ignore[no-any-return]


def _imported(method: str, module_name: str, function_name: str) -> Any:
    """``module_name.function_name``, imported on first use (`MethodUnavailable` when it is not installed)."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise MethodUnavailable(
                f"margin method {method!r} is not available in this installation ({module_name} is missing)"
            ) from None
        raise
    function = getattr(module, function_name, None)
    if function is None:
        raise MethodUnavailable(f"margin method {method!r}: {module_name} has no {function_name}()")
    return function


def available_methods() -> list[str]:
    """The methods whose modules import in this installation."""
    out = []
    for method in METHODS:
        try:
            method_function(method)
        except MethodUnavailable:
            continue
        out.append(method)
    return out


def margin(book: Book, market: Market, method: str = "deribit-pm", params: Any = None) -> MarginResult:
    """Initial and maintenance margin of ``book`` on ``market`` under ``method`` (see the module doc).

    params: the method's parameter set: a preset name, a path to a JSON file or a parsed mapping
    (``deribit-pm`` also takes Deribit's ``model_params`` object or a whole ``private/pme/simulate``
    response; ``span`` a ``.spn`` file; ``grid`` a scenario grid); None takes the method's default.
    """
    return checked(method_function(method)(book, market, params))


def margin_rows(book: Book, market: Market, method: str = "deribit-pm", params: Any = None) -> GroupMargins:
    """The (account, risk group) rows of ``margin(book, market, method, params)``, checked as ``margin`` checks
    them, without the book's total: what figures per account read (``margin_accounts``, the account view)."""
    entry = _ROWS.get(method)
    if entry is None:  # (a method that builds one result per group: its total comes with them)
        return GroupMargins.of(margin(book, market, method, params))
    rows: GroupMargins = _imported(method, *entry)(book, market, params)
    check_rows(rows)
    return rows


def checked(result: MarginResult) -> MarginResult:
    """The result, after `check_rows` of its rows and a check of its totals (finite rows can sum past the
    float range)."""
    check_rows(GroupMargins.of(result))
    totals = {"initial": result.initial, "maintenance": result.maintenance, "initial_usd": result.initial_usd,
              "maintenance_usd": result.maintenance_usd}  # fmt: skip
    for name, value in totals.items():
        if value is not None and not math.isfinite(value):
            raise ValueError(
                f"{result.method}: the book's {name} is {value!r}, beyond the float range: check the market data"
            )
    return result


def check_rows(rows: GroupMargins) -> None:
    """Refuse a figure no parameter set should give (a corrupted or mistyped one): a non-finite or negative
    initial or maintenance margin, an initial margin below the maintenance margin, or one whose USD value
    overflows (an absurd price in the market).  The error names the method, account and group."""
    im, mm = rows.initial, rows.maintenance
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(im) & np.isfinite(mm)) | (im < 0) | (mm < 0) | (im < mm - 1e-9 * np.abs(mm) - 1e-12)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{rows.method}: account {rows.account_label(i)!r}, group {rows.group_names[int(rows.group[i])]}: "
            f"initial {float(im[i])!r} and maintenance {float(mm[i])!r} are not a valid margin (finite, >= 0, "
            "initial >= maintenance): check the parameter set and the market data"
        )
    # The USD values: initial >= maintenance >= 0 now, so the initial's is the larger (an unknown rate is NaN,
    # which this skips).
    with np.errstate(over="ignore", invalid="ignore"):
        overflow = np.isinf(im * rows.usd_rate)
    if overflow.any():
        i = int(np.flatnonzero(overflow)[0])
        currency = rows.currencies[int(rows.currency[i])]
        raise ValueError(
            f"{rows.method}: account {rows.account_label(i)!r}, group {rows.group_names[int(rows.group[i])]}: "
            f"initial {float(im[i])!r} {currency} is beyond the float range in USD: check the market's USD price "
            f"of {currency}"
        )


def compare(
    book: Book, market: Market, methods: list[str] | None = None, params: dict[str, Any] | None = None
) -> dict[str, MarginResult | Exception]:
    """Every method's result on one book, side by side (a method that cannot run gives its error)."""
    out: dict[str, MarginResult | Exception] = {}
    for method in methods or available_methods():
        try:
            out[method] = margin(book, market, method, (params or {}).get(method))
        except (ValueError, TypeError, OSError) as exc:
            out[method] = exc
    return out


__all__ = [
    "METHODS",
    "MarginResult",
    "MethodUnavailable",
    "ParameterError",
    "WorstScenario",
    "available_methods",
    "compare",
    "margin",
    "margin_rows",
    "method_function",
]
