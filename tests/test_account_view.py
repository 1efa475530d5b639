"""ro.account_view: equity, margin balance, IM, MM, available funds and MM ratio under S:SM, X:SM, S:PM and
X:PM.  The margins come from ro.margin on the same book; the collateral arithmetic is worked by hand below."""

from __future__ import annotations

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.accounts import compare_models

MARKET = ro.Market.sample()
CALL = "BTC-25DEC26-110000-C"  # inverse: settled and margined in BTC


def _book() -> ro.Book:
    return ro.Book.from_positions([{"account": "a", "instrument": CALL, "quantity": -10.0}])


def _call_value_coin() -> float:
    """The call's coin mark from the Greeks kernel on the market's resolved forward, vol and time."""
    book = _book()
    r = MARKET.resolve(book.instruments)
    price = float(np.asarray(ro.price("c", r.forward, book.instruments.strike, r.t, MARKET.rate, r.sigma))[0])
    return price / float(r.forward[0])


def test_segregated_keeps_usdc_away_from_btc_margin_cross_pools_it() -> None:
    """Short 10 BTC calls (coin mark c each) with 1,000,000 USDC and no BTC.
    BTC: equity = -10 c, IM = the standard margin in BTC; USDC: equity 1,000,000, IM 0.
    S:SM: BTC available = -10 c - IM < 0: short of initial margin although the account is rich in USDC.
    X:SM (USDC haircut 0 %): available = 1,000,000 + (-10 c) x index - IM x index > 0."""
    book = _book()
    c = _call_value_coin()
    index = MARKET.index["BTC"]
    im = ro.margin(book, MARKET, "deribit-standard")
    assert im.currency == "BTC" and im.initial > 0
    balances = {"a": {"USDC": 1_000_000.0}}
    seg = ro.account_view(book, MARKET, balances, "S:SM")
    cross = ro.account_view(book, MARKET, balances, "X:SM")
    btc = seg.currencies.index("BTC")
    assert seg.equity[0, btc] == pytest.approx(-10 * c, rel=1e-12)
    assert seg.initial[0, btc] == pytest.approx(im.initial, rel=1e-15)
    assert seg.short_of_initial[0] and not cross.short_of_initial[0]
    expected = 1_000_000.0 - 10 * c * index - im.initial * index
    assert cross.available_usd[0] == pytest.approx(expected, rel=1e-12)
    # Deribit's identities: available = margin balance - IM (no haircut on USDC); MM ratio = MM / margin balance
    assert cross.available_usd[0] == pytest.approx(cross.margin_balance_usd[0] - cross.initial_usd[0], rel=1e-12)
    assert cross.mm_ratio[0] == pytest.approx(cross.maintenance_usd[0] / cross.margin_balance_usd[0], rel=1e-15)
    assert cross.equity_usd[0] == pytest.approx(1_000_000.0 - 10 * c * index, rel=1e-12)


def test_haircut_counts_for_the_initial_margin_only() -> None:
    """2 BTC held with a 4 % haircut: the margin balance counts 2 x index, the IM side 2 x index x 0.96:
    available falls by 2 x index x 0.04; the MM ratio does not change."""
    book = _book()
    balances = {"a": {"BTC": 2.0}}
    index = MARKET.index["BTC"]
    none = ro.account_view(book, MARKET, balances, "X:SM", haircuts={"BTC": 0.0})
    cut = ro.account_view(book, MARKET, balances, "X:SM", haircuts={"BTC": 0.04})
    assert none.available_usd[0] - cut.available_usd[0] == pytest.approx(2 * index * 0.04, rel=1e-12)
    assert cut.mm_ratio[0] == none.mm_ratio[0]
    with pytest.raises(ValueError, match=r"account 'a' holds BTC: no haircut is known for BTC"):
        ro.account_view(book, MARKET, balances, "X:SM")


def test_pm_models_take_the_portfolio_margin_and_x_pm_is_a_candidate() -> None:
    book = ro.Book.sample("market_maker")
    balances = {"mm-btc": {"BTC": 20.0}, "mm-eth": {"ETH": 300.0}, "mm-hedge": {"USDC": 2e6}}
    views = compare_models(book, MARKET, balances, haircuts={"BTC": 0.02, "ETH": 0.02})
    pm = ro.margin(book, MARKET, "deribit-pm")
    assert views["S:PM"].initial_usd.sum() == pytest.approx(pm.initial_usd, rel=1e-12)
    assert views["X:PM"].calibration == "candidate" and views["S:SM"].calibration == "as the margin method"
    # the same equity and margins under both collateral setups; only the pooling differs
    for s, x in (("S:SM", "X:SM"), ("S:PM", "X:PM")):
        assert (views[x].equity_usd == views[s].equity_usd).all()
        assert (views[x].initial_usd == views[s].initial_usd).all()
    # mm-hedge holds USDC only but has BTC and ETH positions: short of initial margin when segregated
    assert views["S:PM"].short_of_initial.tolist()[2] and not views["X:PM"].short_of_initial.tolist()[2]
    frame = views["X:PM"].to_pandas()
    assert list(frame.index) == ["mm-btc", "mm-eth", "mm-hedge"] and "available_usd" in frame


def test_bad_input_names_the_account_or_model() -> None:
    with pytest.raises(ValueError, match="model must be one of S:SM, X:SM, S:PM, X:PM"):
        ro.account_view(_book(), MARKET, {"a": {"USDC": 1.0}}, "X:YZ")
    with pytest.raises(ValueError, match=r"balances given for account\(s\) not in the book: \['b'\]"):
        ro.account_view(_book(), MARKET, {"b": {"USDC": 1.0}}, "S:SM")
    with pytest.raises(ValueError, match="the market has no SOL index"):
        ro.account_view(_book(), MARKET, {"a": {"SOL": 1.0}}, "S:SM")
