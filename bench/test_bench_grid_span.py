"""Scenario-grid and SPAN margin of many accounts through the public ``ro.margin`` (one core), against the
reductions they replaced, measured in the same run on the same book (bench/grid_span_baseline.py: a Python
loop building one result per (account, currency) group for grids, one ``span_account`` call per account for
SPAN).  Both paths agree to 1e-12 (relative) on every account's figures.

* grid (Paradex preset, with its minimum delta requirement): 20,000 accounts x 20 positions over the sample
  market; the C++ pass with columnar rows must be >= 5x the Python reduction;
* SPAN (the bundled synthetic file, 78 intra-commodity spreads per combined commodity): 2,000 accounts x 20
  positions for the ratio (the per-account path takes ~1 ms an account), >= 5x; and 100,000 accounts through
  the pass alone for the absolute figure (bench/RESULTS.md).

Under --benchmark-disable the books are small (2,000 / 300 / 3,000 accounts) and only agreement is checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from benchlib import exchange_book, median_time
from grid_span_baseline import grid_margin_python, span_margin_python
from riskoffset.margining.span.algorithm import load_params


@pytest.fixture(scope="module")
def market() -> ro.Market:
    return ro.Market.sample()


@pytest.fixture(scope="module")
def span_params() -> dict[str, Any]:
    span, extra = load_params("sample")
    return {"file": span, "mapping": extra["mapping"]}


def _agree(new: ro.MarginResult, old: ro.MarginResult) -> None:
    rows = new.groups
    assert len(rows) == len(old.groups)
    im = np.array([g.initial for g in old.groups])
    mm = np.array([g.maintenance for g in old.groups])
    np.testing.assert_allclose(rows.initial, im, rtol=1e-12, atol=1e-9)  # type: ignore[attr-defined]
    np.testing.assert_allclose(rows.maintenance, mm, rtol=1e-12, atol=1e-9)  # type: ignore[attr-defined]
    assert new.initial == pytest.approx(old.initial, rel=1e-12)
    assert new.worst_scenario == old.worst_scenario or new.worst_scenario.pnl == pytest.approx(  # type: ignore[union-attr]
        old.worst_scenario.pnl,
        rel=1e-12,  # type: ignore[union-attr]
    )


@pytest.mark.benchmark(group="grid margin, many accounts, public ro.margin")
def test_grid_20k_accounts_vs_python_reduction(benchmark: Any, market: ro.Market) -> None:
    disabled = getattr(benchmark, "disabled", False)
    book = exchange_book(market, 2_000 if disabled else 20_000, seed=7)
    for _ in range(3):  # warm: the market resolved for this table, result buffers pooled
        ro.margin(book, market, "grid")
    result = benchmark.pedantic(ro.margin, args=(book, market, "grid"), rounds=7, iterations=1)
    old = grid_margin_python(book, market)
    _agree(result, old)
    if not disabled:
        ours = float(benchmark.stats.stats.median)
        baseline = median_time(lambda: grid_margin_python(book, market), 3)
        benchmark.extra_info.update(
            accounts=len(book.accounts), python_path_s=baseline, ratio=baseline / ours
        )
        assert baseline / ours >= 5.0, f"ro.margin grid {ours:.3f} s vs the Python reduction {baseline:.3f} s"


@pytest.mark.benchmark(group="SPAN margin, many accounts, public ro.margin")
def test_span_2k_accounts_vs_per_account_path(
    benchmark: Any, market: ro.Market, span_params: dict[str, Any]
) -> None:
    disabled = getattr(benchmark, "disabled", False)
    book = exchange_book(market, 300 if disabled else 2_000, seed=8)
    ro.margin(book, market, "span", span_params)  # warm: the file's parameters compiled once
    result = benchmark.pedantic(ro.margin, args=(book, market, "span", span_params), rounds=5, iterations=1)
    old = span_margin_python(book, span_params["file"], span_params["mapping"])
    _agree(result, old)
    if not disabled:
        ours = float(benchmark.stats.stats.median)
        baseline = median_time(
            lambda: span_margin_python(book, span_params["file"], span_params["mapping"]), 1
        )
        benchmark.extra_info.update(
            accounts=len(book.accounts), python_path_s=baseline, ratio=baseline / ours
        )
        assert baseline / ours >= 5.0, f"ro.margin span {ours:.3f} s vs the per-account path {baseline:.3f} s"


@pytest.mark.benchmark(group="SPAN margin, many accounts, public ro.margin")
def test_span_2k_accounts_across_an_inter_spread_vs_per_account_path(benchmark: Any, market: ro.Market) -> None:
    """The bundled file with an inter-commodity spread between BTC and ETH (a 50 % weighted-price credit, BTC
    1 : ETH 10), which most of the book's accounts hold both of: the pass forms it for every account (before, each
    such account took the per-account path).  >= 5x the per-account path, agreeing account by account."""
    import copy

    from riskoffset.margining.span.model import DeltaSpread, Leg

    span, extra = load_params("sample")
    span = copy.deepcopy(span)
    legs = (Leg("BTC", "", "", "A", 1.0), Leg("ETH", "", "", "B", 10.0))
    span.orgs[0].inter_spreads = (DeltaSpread(1, "W", {1: 50.0}, {}, legs),)
    params = {"file": span, "mapping": extra["mapping"]}
    disabled = getattr(benchmark, "disabled", False)
    book = exchange_book(market, 300 if disabled else 2_000, seed=8)
    ro.margin(book, market, "span", params)
    result = benchmark.pedantic(ro.margin, args=(book, market, "span", params), rounds=5, iterations=1)
    old = span_margin_python(book, span, params["mapping"])
    _agree(result, old)
    credited = int(np.count_nonzero(result.groups.components["inter_spread_credit"]))  # type: ignore[attr-defined]
    assert credited >= len(book.accounts) // 4, f"{credited} accounts formed the spread"
    if not disabled:
        ours = float(benchmark.stats.stats.median)
        baseline = median_time(lambda: span_margin_python(book, span, params["mapping"]), 1)
        benchmark.extra_info.update(
            accounts=len(book.accounts), credited=credited, python_path_s=baseline, ratio=baseline / ours
        )
        assert baseline / ours >= 5.0, f"ro.margin span {ours:.3f} s vs the per-account path {baseline:.3f} s"


@pytest.mark.benchmark(group="SPAN margin, many accounts, public ro.margin")
def test_span_100k_accounts(benchmark: Any, market: ro.Market, span_params: dict[str, Any]) -> None:
    """100,000 accounts x 20 positions through the pass (absolute figure only: the per-account path would take
    minutes); sampled accounts are checked against their own one-account books."""
    disabled = getattr(benchmark, "disabled", False)
    book = exchange_book(market, 3_000 if disabled else 100_000, seed=9)
    ro.margin(book, market, "span", span_params)
    result = benchmark.pedantic(ro.margin, args=(book, market, "span", span_params), rounds=3, iterations=1)
    rows = result.groups
    for a in np.random.default_rng(0).choice(len(book.accounts), 5, replace=False).tolist():
        label = book.accounts[a].item()
        one = ro.margin(book, market, "span", {**span_params, "account": label})
        assert one.initial == pytest.approx(float(rows.initial[a]), rel=1e-15)  # type: ignore[attr-defined]
    benchmark.extra_info.update(accounts=len(book.accounts))
