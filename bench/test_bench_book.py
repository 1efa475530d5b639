"""Books at desk and exchange scale (the speed bars are in README.md):

* aggregated Greeks of a 10,000-position book over the ~1,500 instruments of the bundled sample market
  (bar: under 5 ms), warm (the market already resolved for the book's instruments, the steady state of a
  risk loop) and cold (a fresh Market each round: forwards, vols and times resolved again);
* netting 2,000,000 positions across 100,000 accounts into the CSR book.

Each benchmark checks its result against an independent path: dense numpy sums of quantity x per-instrument
measure over the raw (un-netted) positions.  Under --benchmark-disable the netting case runs on 200,000
positions so the one-pass CI run stays quick.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.book import MEASURES, instrument_greeks

SEED = 20261125


@pytest.fixture(scope="module")
def market() -> ro.Market:
    return ro.Market.sample()


def _positions(
    table: ro.InstrumentTable, n: int, accounts: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    account = rng.integers(0, accounts, n)
    rows = rng.integers(0, len(table), n)
    # Deribit size units: inverse futures and perpetuals in USD lots of 10, everything else in 0.1 coin lots.
    usd_face = (table.kind[rows] <= 1) & (table.settlement[rows] == 1)
    lot = np.where(usd_face, 10.0, 0.1)
    quantity = rng.integers(-50, 51, n) * lot
    return account, rows, quantity


def _reference_by_underlying(
    table: ro.InstrumentTable, market: ro.Market, rows: np.ndarray, qty: np.ndarray
) -> np.ndarray:
    g = instrument_greeks(table, market).values
    out = np.zeros((len(table.underlyings), len(MEASURES)))
    np.add.at(out, table.underlying[rows], qty[:, None] * g[rows])
    return out


def _check(report: ro.GreeksReport, reference: np.ndarray, table: ro.InstrumentTable) -> None:
    assert [u for (u,) in report.labels] == list(table.underlyings)
    for j, m in enumerate(MEASURES):
        scale = np.abs(reference[:, j]).max() + 1e-300
        assert np.allclose(report.values[m], reference[:, j], rtol=1e-9, atol=1e-12 * scale), m


@pytest.mark.benchmark(group="book greeks 10,000 positions")
def test_book_greeks_10k_positions_warm(benchmark, market: ro.Market) -> None:  # type: ignore[no-untyped-def]
    table = market.instruments
    account, rows, qty = _positions(table, 10_000, 500, SEED)
    book = ro.Book.from_arrays(account, rows, qty, instruments=table)
    assert len(book.instruments) > 1_400
    benchmark.extra_info.update(
        positions=len(book), instruments=len(book.instruments), accounts=len(book.accounts)
    )
    book.greeks(market, by="account")  # resolves and caches the market for the book's instrument table
    report = benchmark(book.greeks, market, "account")
    assert len(report) == 2 * len(book.accounts)
    _check(book.greeks(market, by="underlying"), _reference_by_underlying(table, market, rows, qty), table)
    per_account = report.values["delta"].reshape(len(book.accounts), 2).sum(axis=0)
    assert np.allclose(per_account, book.greeks(market).values["delta"], rtol=1e-9)


@pytest.mark.benchmark(group="book greeks 10,000 positions")
def test_book_greeks_10k_positions_cold(benchmark, market: ro.Market) -> None:  # type: ignore[no-untyped-def]
    table = market.instruments
    account, rows, qty = _positions(table, 10_000, 500, SEED)
    book = ro.Book.from_arrays(account, rows, qty, instruments=table)
    snapshot = market.to_dict()

    def fresh_market() -> tuple[tuple[ro.Market], dict[str, str]]:
        return (ro.Market.from_json(snapshot),), {"by": "underlying"}

    report = benchmark.pedantic(book.greeks, setup=fresh_market, rounds=20, iterations=1)
    _check(report, _reference_by_underlying(table, market, rows, qty), table)


@pytest.mark.benchmark(group="netting")
def test_netting_2m_positions_100k_accounts(benchmark, market: ro.Market) -> None:  # type: ignore[no-untyped-def]
    table = market.instruments
    n = 200_000 if getattr(benchmark, "disabled", False) else 2_000_000
    account, rows, qty = _positions(table, n, 100_000, SEED + 1)
    benchmark.extra_info.update(positions=n, accounts=100_000, instruments=len(table))
    book = benchmark.pedantic(
        ro.Book.from_arrays, args=(account, rows, qty), kwargs={"instruments": table}, rounds=3, iterations=1
    )
    # Netted quantities equal an exact (integer, 1e-8 units) dictionary sum of the raw positions.
    expected: dict[tuple[int, str], int] = defaultdict(int)
    names = table.names.tolist()
    for a, r, q in zip(account.tolist(), rows.tolist(), np.rint(qty * 1e8).astype(np.int64).tolist()):
        expected[(a, names[r])] += q
    expected = {k: v for k, v in expected.items() if v}
    got = dict(
        zip(
            zip(book.account_of_position().tolist(), book.instruments.names[book.indices].tolist()),
            np.rint(book.quantity * 1e8).astype(np.int64).tolist(),
        )
    )
    assert got == expected
    assert np.all(np.diff(book.accounts) > 0) and len(book) == len(expected)
