"""Cross-underlying and basis hedges (riskoffset.hedging.cross_hedge) with a user-supplied correlation: the
minimum-variance ratio, rounding to lots, the residual by the documented formula computed by hand."""

from __future__ import annotations

import math

import pytest
import riskoffset as ro
from riskoffset.book import instrument_greeks
from riskoffset.hedging import cross_hedge
from riskoffset.hedging.cross import atm_vol


@pytest.fixture(scope="module")
def market() -> ro.Market:
    return ro.Market.sample()


def test_eth_delta_hedged_with_btc_perpetual(market: ro.Market) -> None:
    book = ro.Book.from_arrays(["a"], ["ETH_USDC-PERPETUAL"], [100.0], instruments=market.instruments)
    rho, vols = 0.8, (0.70, 0.50)
    result = cross_hedge(book, market, "ETH", "BTC-PERPETUAL", rho=rho, vols=vols, horizon_days=1.0)
    x = 100.0 * market.index["ETH"]  # 100 ETH of linear perpetual: delta 1 coin each, at the index
    assert result.exposure_usd == pytest.approx(x, rel=1e-14)
    table = market.instruments
    assert table is not None
    per_unit = float(instrument_greeks(table, market)["delta_pa_usd"][table.row("BTC-PERPETUAL")])
    target = -rho * x * vols[0] / vols[1]
    assert result.quantity == round(target / per_unit / 10.0) * 10.0  # 10 USD lots
    y = result.quantity * per_unit
    s = math.sqrt(1.0 / 365.0)
    by_hand = math.sqrt((x * 0.7 * s) ** 2 + (y * 0.5 * s) ** 2 + 2 * rho * (x * 0.7 * s) * (y * 0.5 * s))
    assert result.residual.residual_std_usd == pytest.approx(by_hand, rel=1e-12)
    assert result.residual.min_variance_std_usd == pytest.approx(
        x * 0.7 * s * math.sqrt(1 - rho**2), rel=1e-12
    )
    assert result.residual.residual_std_usd < result.residual.unhedged_std_usd
    assert result.cost_usd == pytest.approx(0.0005 * abs(result.quantity), rel=1e-12)
    full = cross_hedge(book, market, "ETH", "BTC-PERPETUAL", rho=rho, vols=vols, ratio="full")
    assert full.hedge_usd == pytest.approx(-x, abs=10.0)  # dollar for dollar, within a 10 USD lot
    assert full.residual.residual_std_usd >= result.residual.residual_std_usd  # min-variance is best


def test_basis_risk_of_another_expiry(market: ro.Market) -> None:
    book = ro.Book.sample("calendar_spread")
    result = cross_hedge(book, market, "BTC", "BTC-26MAR27", rho=0.999)
    assert result.residual.sigma_exposure == result.residual.sigma_hedge  # same underlying: one ATM vol
    assert result.residual.residual_std_usd == pytest.approx(result.residual.min_variance_std_usd, rel=1e-3)
    assert result.residual.residual_std_usd < 0.05 * result.residual.unhedged_std_usd
    assert result.to_dict()["rho"] == 0.999
    assert 0.3 < atm_vol(market, "BTC") < 1.5


def test_cross_hedge_errors(market: ro.Market) -> None:
    book = ro.Book.sample("calendar_spread")
    with pytest.raises(ValueError, match="holds no ETH"):
        cross_hedge(book, market, "ETH", "BTC-PERPETUAL", rho=0.9)
    with pytest.raises(ValueError, match="rho"):
        cross_hedge(book, market, "BTC", "BTC-PERPETUAL", rho=1.2)
    with pytest.raises(ValueError, match="ratio"):
        cross_hedge(book, market, "BTC", "BTC-PERPETUAL", rho=0.9, ratio="beta")
