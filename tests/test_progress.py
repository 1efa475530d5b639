"""Progress bars: drawn on standard error only when switched on (the command line on a terminal, without
--quiet) and tqdm is installed; the chunked local run behind the many-accounts bar gives the same figures."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import riskoffset as ro
from riskoffset import progress
from riskoffset.margining import bulk
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


def test_chunked_local_run_equals_the_plain_one(monkeypatch: pytest.MonkeyPatch) -> None:
    market = ro.Market.sample()
    table = market.instruments
    rng = np.random.default_rng(8)
    account = np.repeat(np.arange(300), 5)
    rows = rng.integers(0, len(table), len(account))
    book = ro.Book.from_arrays(account, rows, np.full(len(rows), 0.1), instruments=table)
    plain = ro.margin_accounts(book, market)
    monkeypatch.setattr(bulk, "CHUNKED", 100)
    calls = []
    real = bulk.account_ranges
    monkeypatch.setattr(bulk, "account_ranges", lambda b, n: calls.append(n) or real(b, 7))
    chunked = ro.margin_accounts(book, market, progress=True)
    assert calls and chunked.equals(plain)


def test_cli_quiet_flag(run_cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli("--quiet", "margin", "market_maker", "--by", "account")
    assert code == 0 and "3 accounts" in out and err == ""
