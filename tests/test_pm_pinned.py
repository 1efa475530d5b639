"""Deribit portfolio margin steps pinned by hand-worked cases (docs/margin.md, Deribit portfolio margin).

Every case is one BTC inverse perpetual at index = mark = S = 50,000 USD, so its coin P&L at a price move m
is ``c m / (1 + m)`` for a coin size c (USD face c S), and its coin delta is c.  The expected figures below
are worked by hand from the published rules and the parameter set written out in `_params`; none is copied
from the engine's output.  Each case is also run through the what-if path, which must agree with the full
path.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.margining.portfolio import portfolio_margins
from riskoffset.whatif import WhatIf

S = 50_000.0
TIME = 1_718_619_740_501
PERP = "BTC-PERPETUAL"
EXTENDED_MOVES = [-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0]


def _params(**currency: float) -> dict[str, Any]:
    """A parameter set in our file layout: Deribit's published BTC values of 2024-06-17, with
    extended_table_factor 2 (so extended entries exceed the standard ones and the dampener decides the worst
    case) and the BTC currency values overridden by ``currency``."""
    btc = {
        "annualised_move_risk": 0.075,
        "min_annualised_move": 0.01,
        "extended_dampener": 100_000.0,
        "pnl_offset": 0.0,
        "max_offsetable_pnl": 0.0,
    }
    btc.update(currency)
    return {
        "name": "pinned",
        "source": "hand-worked test parameters",
        "model_params": {
            "currency_pair": {
                "btc_usd": {
                    "price_range": 0.16,
                    "volatility_range_up": 0.5,
                    "volatility_range_down": 0.25,
                    "min_volatility_for_shock_up": 0.5,
                    "short_term_vega_power": 0.3,
                    "long_term_vega_power": 0.13,
                    "extended_table_factor": 2.0,
                    "max_delta_shock": 0.1,
                    "delta_total_liq_shock_threshold": 20_000_000.0,
                    "m_inc": 5e-05,
                }
            },
            "currency": {"btc": btc},
            "general": {"mm_factor": 0.8, "buckets_count": 4, "vol_scenarios_count": 3},
        },
        "engine": {
            "extended_moves": list(EXTENDED_MOVES),
            "vol_pivot_days": 30,
            "vol_days_floor": 1,
            "vol_down_floor": 0.0001,
            "roll_shock_includes_options": True,
        },
    }


def _book(coin: float) -> tuple[ro.Book, ro.Market]:
    market = ro.Market(TIME, index={"BTC": S}, marks={PERP: S})
    return ro.Book.from_arrays("a", [PERP], [coin * S]), market


def _run(coin: float, params: dict[str, Any]) -> Any:
    book, market = _book(coin)
    pm = portfolio_margins(book, market, copy.deepcopy(params))
    assert len(pm) == 1
    w = WhatIf(book, market, copy.deepcopy(params), listed=False).margin()
    assert w.initial_after == pytest.approx(float(pm.initial[0]), rel=1e-14, abs=1e-14)
    assert w.maintenance_after == pytest.approx(float(pm.maintenance[0]), rel=1e-14, abs=1e-14)
    return pm


def test_extended_dampener_binds_partly() -> None:
    """Long 20 BTC.  Standard worst: 20 x (-0.16 / 0.84) = -3.809524.  Extended, weight 2 x 0.16 / |m| and
    re-expressed at the range edge (1 + m) / 0.84, so every down entry is 20 x (-0.16 / 0.84) x 2 = -7.619048.
    Dampener per coin (|m| / 0.16 - 1) x 100,000 / (0.84 x 50,000):
      m = -0.33: 1.0625 x 100,000 / 42,000 = 2.529762  -> entry -5.089286 (shrunk partly, the worst);
      m = -0.66: 3.125 x 100,000 / 42,000 = 7.440476  -> entry -0.178571 (shrunk almost to zero).
    Worst case 5.089286; roll 20 x max(0.01, 0.075 x 0) = 0.2; delta 20 < 20e6 / 50,000 = 400: no shock.
    Risk matrix 5.289286, MM 0.8 x that = 4.231429."""
    pm = _run(20.0, _params())
    assert pm.aggregated is not None
    ext = pm.aggregated[0, 27:]
    assert ext[1] == pytest.approx(-7.619047619047619 + 2.5297619047619047, rel=1e-12)
    assert ext[0] == pytest.approx(-7.619047619047619 + 7.440476190476190, rel=1e-12)
    assert pm.worst_case[0] == pytest.approx(5.089285714285714, rel=1e-12)
    assert int(pm.worst_index[0]) == 27 + 1
    assert pm.roll_shock[0] == pytest.approx(0.2, rel=1e-12)
    assert pm.delta_shock[0] == 0.0
    assert pm.risk_matrix_margin[0] == pytest.approx(5.289285714285714, rel=1e-12)
    assert pm.maintenance[0] == pytest.approx(0.8 * 5.289285714285714, rel=1e-12)
    assert pm.initial[0] == pytest.approx(5.289285714285714, rel=1e-12)


def test_delta_shock_above_the_liquidity_threshold() -> None:
    """Short 500 BTC (delta -500; threshold 20e6 / 50,000 = 400 coin).
    Delta shock 500 x min(0.1, 5e-5 x (500 - 400)) = 500 x 0.005 = 2.5.
    Standard worst at +16%: a loss of 500 x 0.16 / 1.16 = 68.965517.  Extended up
    entries are 2 x that = 137.931034 before the dampener (m = 0.5: 2.125 x 100,000 / 58,000 = 3.663793,
    so 134.267241, the worst).  Roll 500 x 0.01 = 5.  Risk matrix 134.267241 + 5 + 2.5 = 141.767241."""
    pm = _run(-500.0, _params())
    assert pm.delta[0] == pytest.approx(-500.0, rel=1e-12)
    assert pm.delta_shock[0] == pytest.approx(2.5, rel=1e-9)
    worst = 2 * 500 * 0.16 / 1.16 - 2.125 * 100_000 / (1.16 * S)
    assert worst == pytest.approx(134.26724137931035, rel=1e-12)  # the hand figure above
    assert pm.worst_case[0] == pytest.approx(worst, rel=1e-12)
    assert pm.roll_shock[0] == pytest.approx(5.0, rel=1e-12)
    assert pm.risk_matrix_margin[0] == pytest.approx(worst + 7.5, rel=1e-12)


def test_delta_shock_capped_at_max_delta_shock() -> None:
    """Long 3,000 BTC: m_inc x (3,000 - 400) = 0.13 > max_delta_shock 0.1, so the shock is 3,000 x 0.1 = 300."""
    pm = _run(3000.0, _params())
    assert pm.delta_shock[0] == pytest.approx(300.0, rel=1e-12)


def test_roll_shock_uses_the_minimum_annualised_move() -> None:
    """A perpetual has T = 0, so its roll move is max(min_annualised_move, 0.075 x 0) = the minimum.
    Long 20 BTC with min_annualised_move 0.03: roll 20 x 0.03 = 0.6."""
    pm = _run(20.0, _params(min_annualised_move=0.03))
    assert pm.roll_shock[0] == pytest.approx(0.6, rel=1e-12)
    assert pm.risk_matrix_margin[0] == pytest.approx(5.089285714285714 + 0.6, rel=1e-12)


def test_pnl_offset_and_its_cap() -> None:
    """Long 20 BTC with pnl_offset 0.5 and max_offsetable_pnl 50,000 USD (1 coin at 50,000).
    Gains: at +4% 20 x 0.04 / 1.04 = 0.769231 -> x 0.5 = 0.384615 (under the cap);
    at +8% 20 x 0.08 / 1.08 = 1.481481 -> 0.740741; at +12% 20 x 0.12 / 1.12 = 2.142857 -> 1.071429 -> capped
    at 1; at +16% 2.758621 -> 1.379310 -> capped at 1.  The extended m = 0.5 entry 2 x 2.758621 = 5.517241
    dampened by 3.663793 to 1.853448, x 0.5 = 0.926724 (under the cap).  Losses are unchanged: worst case
    still 5.089286."""
    pm = _run(20.0, _params(pnl_offset=0.5, max_offsetable_pnl=50_000.0))
    assert pm.aggregated is not None
    agg = pm.aggregated[0]
    # entry 3 b + 1 is bucket b with vol same; buckets 5..8 are +4% .. +16%
    same = agg[1:27:3]
    np.testing.assert_allclose(same[5:], [0.38461538461538464, 0.7407407407407407, 1.0, 1.0], rtol=1e-12)
    assert agg[27 + 2] == pytest.approx(0.5 * (5.517241379310345 - 3.663793103448276), rel=1e-12)
    assert pm.worst_case[0] == pytest.approx(5.089285714285714, rel=1e-12)


def test_roll_shock_scales_with_time_to_expiry_above_the_minimum() -> None:
    """Long 20 BTC of delta through BTC-27JUN25 (expiry 2025-06-27 08:00 UTC): T = (expiry - valuation) / 365 days
    = about 1.03 y, so the roll move 0.075 x T (about 0.077) beats the minimum 0.01 and
    the roll shock is 20 x 0.075 x T coin."""
    future = "BTC-27JUN25"
    expiry = datetime(2025, 6, 27, 8, 0, tzinfo=timezone.utc).timestamp() * 1000.0
    t = (expiry - TIME) / 1000.0 / (365.0 * 86400.0)
    assert 0.075 * t > 0.01
    market = ro.Market(TIME, index={"BTC": S}, marks={PERP: S, future: S})
    book = ro.Book.from_arrays("a", [future], [20.0 * S])
    pm = portfolio_margins(book, market, copy.deepcopy(_params()))
    assert pm.roll_shock[0] == pytest.approx(20.0 * 0.075 * t, rel=1e-9)
    w = WhatIf(book, market, copy.deepcopy(_params()), listed=False).margin()
    assert w.initial_after == pytest.approx(float(pm.initial[0]), rel=1e-14)
