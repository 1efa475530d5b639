"""Progress bars: drawn on standard error only when switched on (the command line on a terminal, without
--quiet) and tqdm is installed; the chunked local run behind the many-accounts bar gives the same figures."""

from __future__ import annotations

import contextlib
import io
import types
from pathlib import Path

import numpy as np
import pytest
import riskoffset as ro
from riskoffset import progress
from riskoffset.accounts.scenario_collateral import pm_with_collateral
from riskoffset.margining import bulk, margin_rows, pm_ranges
from riskoffset.margining.span import parse_span

SPAN = Path(__file__).parent / "data" / "span" / "two_cc.spn"


def test_bars_only_when_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tqdm")
    monkeypatch.setattr(progress, "DELAY", 0.0)
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    parse_span(SPAN)
    ro.Book.from_positions([{"instrument": "BTC-PERPETUAL", "quantity": 10}] * 70_000)
    assert err.getvalue() == ""
    with progress.enabled(True):
        assert progress.is_enabled()
        span = parse_span(SPAN)
        book = ro.Book.from_positions([{"instrument": "BTC-PERPETUAL", "quantity": 10}] * 70_000)
    assert not progress.is_enabled()
    assert "reading SPAN file" in err.getvalue() and "reading positions" in err.getvalue()
    assert len(span.contracts) == 6 and book.quantity[0] == 700_000.0


def _random_book(market: ro.Market) -> ro.Book:
    rng = np.random.default_rng(8)
    account = np.repeat(np.arange(300), 5)
    rows = rng.integers(0, len(market.instruments), len(account))
    return ro.Book.from_arrays(account, rows, np.full(len(rows), 0.1), instruments=market.instruments)


def test_chunked_local_run_equals_the_plain_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A method other than deribit-pm with a progress bar goes range by range: the same figures."""
    market = ro.Market.sample()
    book = _random_book(market)
    plain = ro.margin_accounts(book, market, "deribit-standard")
    monkeypatch.setattr(bulk, "CHUNKED", 100)
    calls = []
    real = bulk.account_ranges
    monkeypatch.setattr(bulk, "account_ranges", lambda b, n: calls.append(n) or real(b, 7))
    chunked = ro.margin_accounts(book, market, "deribit-standard", progress=True)
    assert calls and chunked.equals(plain)


def test_pm_passes_over_account_ranges_equal_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """deribit-pm runs range by range on instruments revalued once: ranges of 40 accounts (8 passes, with
    and without balances, and with a progress bar counting every account) give the figures of the whole book's
    rows (and of its coin balances revalued in the scenarios)."""
    market = ro.Market.sample()
    book = _random_book(market)
    balances = ro.Balances.from_records([(a, c, 0.5 + a % 3) for a in range(0, 300, 7) for c in ("BTC", "USDC")])
    whole = margin_rows(book, market).by_account()
    coins = balances.for_accounts(book.accounts)
    whole_with_balances = pm_with_collateral(book, market, coins, balances.currencies).groups.by_account()
    passes = []
    real = pm_ranges.indptr_ranges
    monkeypatch.setattr(pm_ranges, "indptr_ranges", lambda indptr, n: passes.append(n) or real(indptr, n))
    monkeypatch.setattr(pm_ranges, "ACCOUNTS_PER_PASS", 40)
    monkeypatch.setattr(bulk, "CHUNKED", 100)
    done: list[int] = []
    monkeypatch.setattr(bulk, "bar", _counting_bar(done))
    assert ro.margin_accounts(book, market, progress=True).equals(whole)
    assert passes == [8] and sum(done) == 300
    assert ro.margin_accounts(book, market, balances=balances).equals(whole_with_balances)
    assert not whole_with_balances.equals(whole)  # (the balances move the figures)


def _counting_bar(done: list[int]):  # type: ignore[no-untyped-def]
    """A stand-in for the progress bar that records each update."""

    @contextlib.contextmanager
    def counting(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        yield types.SimpleNamespace(update=done.append)

    return counting


def test_cli_quiet_flag(run_cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli("--quiet", "margin", "market_maker", "--by", "account")
    assert code == 0 and "3 accounts" in out and err == ""
