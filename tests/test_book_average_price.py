"""Futures positions carry their average entry price: rows netted into one position keep their unrealised
P&L, files and Deribit responses read it, and the account view's equity counts the futures' P&L against it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import riskoffset as ro

MARKET = ro.Market.sample()


def test_rows_net_to_the_average_that_keeps_their_pnl() -> None:
    """Inverse: 10,000 USD face at 40,000 and 10,000 at 60,000 -> 20,000 at 20,000 / (1/4 + 1/6) = 48,000.
    Linear: 2 BTC at 100 and 2 at 200 -> 4 at 150.  A long and a short row: 30,000 at 50,000 and -10,000 at
    40,000 -> 20,000 at 20,000 / (30,000/50,000 - 10,000/40,000) = 57,142.857...; its P&L at any mark equals the
    rows' P&L.  An option's or a row without a price leaves the position's average unknown (NaN)."""
    book = ro.Book.from_positions([
        {"account": "a", "instrument": "BTC-PERPETUAL", "quantity": 10_000, "average_price": 40_000},
        {"account": "a", "instrument": "BTC-PERPETUAL", "quantity": 10_000, "average_price": "60000"},
        {"account": "a", "instrument": "BTC_USDC-PERPETUAL", "quantity": 2, "average_price": 100},
        {"account": "a", "instrument": "BTC_USDC-PERPETUAL", "quantity": 2, "average_price": 200},
        {"account": "b", "instrument": "BTC-25DEC26", "quantity": 30_000, "average_price": 50_000},
        {"account": "b", "instrument": "BTC-25DEC26", "quantity": -10_000, "average_price": 40_000},
        {"account": "b", "instrument": "BTC-PERPETUAL", "quantity": 10, "average_price": 50_000},
        {"account": "b", "instrument": "BTC-PERPETUAL", "quantity": 10},
        {"account": "b", "instrument": "BTC-25DEC26-80000-P", "quantity": -1, "average_price": 0.05},
    ], instruments=MARKET.instruments)  # fmt: skip
    got = {(r["account"], r["instrument"]): r.get("average_price") for r in book.positions()}
    assert got[("a", "BTC-PERPETUAL")] == pytest.approx(48_000, rel=1e-14)
    assert got[("a", "BTC_USDC-PERPETUAL")] == pytest.approx(150, rel=1e-14)
    avg = got[("b", "BTC-25DEC26")]
    assert avg == pytest.approx(20_000 / (30_000 / 50_000 - 10_000 / 40_000), rel=1e-14)
    for mark in (35_000.0, 61_000.0):
        rows = 30_000 * (1 / 50_000 - 1 / mark) - 10_000 * (1 / 40_000 - 1 / mark)
        assert 20_000 * (1 / avg - 1 / mark) == pytest.approx(rows, rel=1e-12)
    assert got[("b", "BTC-PERPETUAL")] is None and got[("b", "BTC-25DEC26-80000-P")] is None
    assert ro.Book.sample("market_maker").average_price is None  # no prices given, none invented
    with pytest.raises(ValueError, match="average_price"):
        ro.Book.from_positions([{"instrument": "BTC-PERPETUAL", "quantity": 10, "average_price": -1}])
    with pytest.raises(ValueError, match="average_price 'x' is not a number"):
        ro.Book.from_positions([{"instrument": "BTC-PERPETUAL", "quantity": 10, "average_price": "x"}])


def test_rows_at_one_price_keep_it_exactly() -> None:
    """A position given as one row, or as rows at one price, keeps that price to the bit, where the P&L-keeping
    formula can round an ulp off it (1.3 x 106,886.868620625 / 1.3 is not 106,886.868620625): with a mark near the
    price, the P&L is a difference of close numbers that the ulp would move."""
    linear, inverse = 106_886.868620625, 104_698.0
    assert (1.3 * linear) / 1.3 != linear and 1_300.0 / (1_300.0 / inverse) != inverse
    book = ro.Book.from_positions([
        {"account": "a", "instrument": "BTC_USDC-PERPETUAL", "quantity": 1.3, "average_price": linear},
        {"account": "a", "instrument": "BTC-PERPETUAL", "quantity": 1_300, "average_price": inverse},
        {"account": "b", "instrument": "BTC_USDC-PERPETUAL", "quantity": 0.4, "average_price": linear},
        {"account": "b", "instrument": "BTC_USDC-PERPETUAL", "quantity": 0.9, "average_price": linear},
        {"account": "b", "instrument": "BTC-PERPETUAL", "quantity": 1_000, "average_price": inverse},
        {"account": "b", "instrument": "BTC-PERPETUAL", "quantity": 300, "average_price": inverse + 1.0},
    ], instruments=MARKET.instruments)  # fmt: skip
    got = {(r["account"], r["instrument"]): r["average_price"] for r in book.positions()}
    assert got[("a", "BTC_USDC-PERPETUAL")] == linear and got[("a", "BTC-PERPETUAL")] == inverse
    assert got[("b", "BTC_USDC-PERPETUAL")] == linear
    assert inverse < got[("b", "BTC-PERPETUAL")] < inverse + 1.0  # two prices: the P&L-keeping average


def test_csv_round_trip_and_deribit_positions(tmp_path: Path) -> None:
    book = ro.Book.from_positions([
        {"account": "a", "instrument": "BTC-PERPETUAL", "quantity": 10_000, "average_price": 41_234.5},
        {"account": "a", "instrument": "BTC-25DEC26-80000-P", "quantity": -1},
    ], instruments=MARKET.instruments)  # fmt: skip
    book.to_csv(tmp_path / "b.csv")
    assert "average_price" in (tmp_path / "b.csv").read_text().splitlines()[0]
    again = ro.Book.from_csv(tmp_path / "b.csv", instruments=MARKET.instruments)
    assert again.equals(book) and not again.equals(ro.Book.from_positions(
        [{"account": "a", "instrument": "BTC-PERPETUAL", "quantity": 10_000},
         {"account": "a", "instrument": "BTC-25DEC26-80000-P", "quantity": -1}], instruments=MARKET.instruments))  # fmt: skip
    # private/get_positions objects carry average_price for every kind: kept for futures only
    response = {"jsonrpc": "2.0", "result": [
        {"instrument_name": "BTC-PERPETUAL", "kind": "future", "direction": "sell", "size": -20.0,
         "average_price": 61_000.5},
        {"instrument_name": "BTC-25DEC26-80000-P", "kind": "option", "direction": "buy", "size": 1.0,
         "average_price": 0.0123},
    ]}  # fmt: skip
    deribit = ro.Book.from_deribit(response, instruments=MARKET.instruments)
    prices = {r["instrument"]: r.get("average_price") for r in deribit.positions()}
    assert prices == {"BTC-PERPETUAL": 61_000.5, "BTC-25DEC26-80000-P": None}


def test_the_account_view_counts_futures_pnl_against_the_average() -> None:
    """Long 10,000 USD face of BTC-PERPETUAL bought at 40,000 with the perpetual marked at M: equity in BTC
    = balance + 10,000 x (1/40,000 - 1/M)."""
    mark = MARKET.marks["BTC-PERPETUAL"]
    priced = ro.Book.from_positions([{"account": "a", "instrument": "BTC-PERPETUAL", "quantity": 10_000,
                                      "average_price": 40_000}], instruments=MARKET.instruments)  # fmt: skip
    plain = ro.Book.from_positions([{"account": "a", "instrument": "BTC-PERPETUAL", "quantity": 10_000}],
                                   instruments=MARKET.instruments)  # fmt: skip
    balances = ro.Balances.from_mapping({"a": {"BTC": 1.0}})
    with_avg = ro.account(priced, MARKET, balances, "S:SM")
    without = ro.account(plain, MARKET, balances, "S:SM")
    j = with_avg.currencies.index("BTC")
    assert with_avg.equity[0, j] == pytest.approx(1.0 + 10_000 * (1 / 40_000 - 1 / mark), rel=1e-14)
    assert without.equity[0, j] == 1.0
    assert with_avg.initial[0, j] == without.initial[0, j]  # margin does not depend on the entry price
    # the live engine starts from the same average
    engine = ro.RiskEngine(priced, MARKET, "deribit-standard", balances=balances, cross=False)
    assert engine.account("a")["equity_BTC"] == pytest.approx(with_avg.equity[0, j], rel=1e-14)
    assert math.isclose(engine.futures_pnl()[0, list(engine.currencies).index("BTC")],
                        10_000 * (1 / 40_000 - 1 / mark), rel_tol=1e-14)  # fmt: skip
    assert np.isfinite(with_avg.mm_ratio).all()
