"""Liquidation prices (riskoffset.liquidation): at the price found, equity recomputed from scratch equals the
Deribit PM maintenance margin recomputed through ``ro.margin`` on the moved market; nearer prices are safe;
margin ratio, distances and the edge cases (already below maintenance, no liquidation in range)."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import riskoffset as ro
from riskoffset.liquidation import equity_usd, liquidation, moved_market
from riskoffset.whatif import one_account


@pytest.fixture(scope="module")
def market() -> ro.Market:
    return ro.Market.sample()


def _gap(
    book: ro.Book, market: ro.Market, balance: Any, underlying: str, price: float
) -> tuple[float, float]:
    move = price / market.index[underlying] - 1.0
    mm = ro.margin(book, moved_market(market, underlying, move), "deribit-pm").maintenance_usd
    assert mm is not None
    return equity_usd(book, market, balance, underlying, move), mm


@pytest.mark.parametrize(
    ("book_name", "balance", "underlying"),
    [
        ("short_strangle", {"BTC": 2.0, "ETH": 20.0}, "BTC"),
        ("short_strangle", {"BTC": 2.0, "ETH": 20.0}, "ETH"),
        ("short_strangle", {"USDC": 150_000.0}, "BTC"),
    ],
)
def test_liquidation_prices_by_recomputation(
    market: ro.Market, book_name: str, balance: Any, underlying: str
) -> None:
    book = ro.Book.sample(book_name)
    result = liquidation(book, market, balance, underlying=underlying)
    assert result.price_down is not None and result.price_up is not None
    assert result.price_down < result.index < result.price_up
    for price in (result.price_down, result.price_up):
        equity, mm = _gap(book, market, balance, underlying, price)
        assert equity == pytest.approx(mm, rel=1e-7), (price, equity, mm)
        # Halfway to the liquidation price the account is still above maintenance.
        half = 0.5 * (price + result.index)
        equity_half, mm_half = _gap(book, market, balance, underlying, half)
        assert equity_half > mm_half
    assert result.margin_ratio == pytest.approx(result.maintenance_usd / result.equity_usd)
    assert result.distance_down == pytest.approx(result.price_down / result.index - 1.0)
    assert result.distance_down < 0 < (result.distance_up or 0)
    assert "liquidation on" in str(result) and result.to_dict()["price_up"] == result.price_up


def test_short_perpetual_by_hand(market: ro.Market) -> None:
    # Short 100,000 USD of BTC-PERPETUAL against 0.5 BTC: coin P&L 100,000 (1/F' - 1/F) is a loss as the
    # price rises; equity (BTC at the moved index plus that P&L) meets maintenance above the index only.
    book = ro.Book.from_arrays(["a"], ["BTC-PERPETUAL"], [-100_000.0], instruments=market.instruments)
    result = liquidation(book, market, {"BTC": 0.5})
    assert result.price_up is not None
    equity, mm = _gap(book, market, {"BTC": 0.5}, "BTC", result.price_up)
    assert equity == pytest.approx(mm, rel=1e-7)
    f0, f1 = market.marks["BTC-PERPETUAL"], market.marks["BTC-PERPETUAL"] * result.price_up / result.index
    by_hand = 0.5 * result.price_up + (-100_000.0) * (1.0 / f0 - 1.0 / f1) * result.price_up  # coin P&L x S'
    assert equity == pytest.approx(by_hand, rel=1e-10)
    # Falling prices help a short: no down liquidation (the long 0.5 BTC collateral is smaller than the short).
    assert result.price_down is None


def test_already_below_maintenance_and_no_liquidation(market: ro.Market) -> None:
    book = ro.Book.sample("short_strangle")
    broke = liquidation(book, market, {"USD": 1.0}, underlying="BTC")
    assert broke.status == "below_maintenance" and broke.below_maintenance
    assert broke.price_down is None and broke.price_up is None  # no meaningless price
    assert broke.margin_ratio > 1.0 and "ALREADY BELOW MAINTENANCE" in str(broke)
    rich = liquidation(ro.Book.sample("calendar_spread"), market, {"BTC": 100.0})
    assert rich.price_down is None and rich.price_up is None
    assert rich.margin_ratio < 0.01
    with pytest.raises(ValueError, match="name the underlying"):
        liquidation(book, market, 1_000.0)
    with pytest.raises(ValueError, match="no index price"):
        liquidation(ro.Book.sample("calendar_spread"), market, {"SOL": 1.0})


def test_equity_scenarios_match_moved_market_values(market: ro.Market) -> None:
    # The scenario engine's equity at a move equals option values priced directly on the moved market.
    book = one_account(ro.Book.sample("calendar_spread"))
    move = -0.12
    moved = moved_market(market, "BTC", move)
    g = ro.book.instrument_greeks(book.instruments, moved)
    # Inverse options: coin value x moved index (not the forward): coin value = USD value / forward.
    coin = book.quantity * g["value_coin"][book.indices]
    expected = float(coin.sum()) * market.index["BTC"] * (1 + move)
    assert equity_usd(book, market, 0.0, "BTC", move) == pytest.approx(expected, rel=1e-12)


def test_liquidation_to_pandas(market: ro.Market, monkeypatch: pytest.MonkeyPatch) -> None:
    pd = pytest.importorskip("pandas")
    result = liquidation(
        ro.Book.sample("short_strangle"), market, {"BTC": 2.0, "ETH": 20.0}, underlying="BTC"
    )
    frame = result.to_pandas()
    assert isinstance(frame, pd.DataFrame) and list(frame.index) == ["BTC"]
    row = frame.loc["BTC"]
    assert row["price_down"] == result.price_down and row["margin_ratio"] == result.margin_ratio
    assert set(frame.columns) == set(result.to_dict()) - {"underlying"}
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
    with pytest.raises(ImportError, match=r'pip install "riskoffset\[pandas\]"'):
        result.to_pandas()
