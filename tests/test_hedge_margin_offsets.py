"""Cross-underlying risk offsets in margin (riskoffset.margining.cross_underlying): the correlation-aware
aggregation of Deribit PM scan risk across underlyings, computed by hand from the per-group results of
``ro.margin``, its limits (rho = 1 same direction = Deribit PM; no parameter = no credit) and the row in the
capital-efficiency table."""

from __future__ import annotations

import json
import math

import pytest
import riskoffset as ro
from cli_runner import RunCli
from riskoffset.margining.cross_underlying import correlated_margin, pair_correlation


@pytest.fixture(scope="module")
def market() -> ro.Market:
    return ro.Market.sample()


def _groups(book: ro.Book, market: ro.Market) -> dict[str, ro.MarginResult]:
    pm = ro.margin(book, market, "deribit-pm")
    return {g.group: g for g in (pm.groups or (pm,))}


def test_long_btc_short_eth_by_hand(market: ro.Market) -> None:
    # Long BTC perpetual, short ETH perpetual: the BTC book loses when prices fall (+1), ETH when they rise (-1).
    book = ro.Book.from_arrays(
        ["a", "a"],
        ["BTC-PERPETUAL", "ETH-PERPETUAL"],
        [1_000_000.0, -900_000.0],
        instruments=market.instruments,
    )
    groups = _groups(book, market)
    btc, eth = groups["btc_btc"], groups["eth_eth"]
    w_btc = btc.components["worst_case"] * btc.details["usd_rate"]
    w_eth = eth.components["worst_case"] * eth.details["usd_rate"]
    shocks = sum(
        (g.components["roll_shock"] + g.components["delta_shock"]) * g.details["usd_rate"] for g in (btc, eth)
    )
    for rho in (0.0, 0.5, 0.8, 1.0):
        result = correlated_margin(book, market, rho)
        scan = math.sqrt(max(w_btc**2 + w_eth**2 - 2 * rho * w_btc * w_eth, 0.0))
        assert result.components["scan_risk_aggregated"] == pytest.approx(scan, rel=1e-12)
        assert result.initial_usd == pytest.approx(scan + shocks, rel=1e-12)
        assert result.maintenance_usd == pytest.approx(0.8 * (scan + shocks), rel=1e-12)
        assert result.components["cross_underlying_credit"] == pytest.approx(scan - w_btc - w_eth, rel=1e-12)
    # No parameter for the pair: no credit, Deribit PM exactly.
    plain = ro.margin(book, market, "deribit-pm")
    none = correlated_margin(book, market, {"BTC/SOL": 0.5})
    assert none.initial_usd == pytest.approx(plain.initial_usd, rel=1e-12)
    assert correlated_margin(book, market, {"ETH/BTC": 0.8}).initial_usd == pytest.approx(
        correlated_margin(book, market, 0.8).initial_usd, rel=1e-15
    )


def test_same_direction_at_rho_one_is_deribit_pm(market: ro.Market) -> None:
    book = ro.Book.from_arrays(
        ["a", "a"],
        ["BTC-PERPETUAL", "ETH-PERPETUAL"],
        [1_000_000.0, 900_000.0],
        instruments=market.instruments,
    )
    assert correlated_margin(book, market, 1.0).initial_usd == pytest.approx(
        ro.margin(book, market, "deribit-pm").initial_usd, rel=1e-12
    )
    # Lower correlation: a diversification credit, monotone in rho.
    values = [correlated_margin(book, market, rho).initial_usd for rho in (1.0, 0.8, 0.5, 0.0)]
    assert values == sorted(values, reverse=True) and values[-1] < values[0]


@pytest.mark.parametrize("name", ["calendar_spread", "short_strangle", "market_maker"])
def test_single_underlying_accounts_and_samples(market: ro.Market, name: str) -> None:
    book = ro.Book.sample(name)
    plain = ro.margin(book, market, "deribit-pm")
    result = correlated_margin(book, market, 0.8)
    assert result.initial_usd is not None and plain.initial_usd is not None
    assert result.initial_usd <= plain.initial_usd * (1 + 1e-12)
    if name == "calendar_spread":  # one underlying: nothing to offset
        assert result.initial_usd == pytest.approx(plain.initial_usd, rel=1e-12)


def test_bad_correlations() -> None:
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        pair_correlation(1.2, "BTC", "ETH")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        pair_correlation({"BTC/ETH": -2.0}, "ETH", "BTC")
    assert pair_correlation({"BTC/ETH": 0.7}, "ETH", "BTC") == 0.7
    assert pair_correlation({}, "BTC", "BTC") == 1.0


def test_capital_efficiency_table_shows_the_offset(run_cli: RunCli) -> None:
    code, out, err = run_cli("margin", "short_strangle", "--method", "all", "--correlation", "0.5", "--json")
    assert code == 0, err
    rows = {r["method"]: r for r in json.loads(out)["comparison"]}
    assert rows["pm-corr rho=0.5"]["initial_usd"] < rows["deribit-pm"]["initial_usd"]
    code, out, err = run_cli("margin", "short_strangle", "--method", "all")
    assert code == 0 and "pm-corr rho=0.8" in out, err
    code, _, err = run_cli("margin", "short_strangle", "--method", "all", "--correlation", "2")
    assert code == 2 and "--correlation must be in [-1, 1]" in err
