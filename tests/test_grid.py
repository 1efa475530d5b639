"""Scenario-grid margin and the Paradex-style preset: hand-computed small books, the preset's
data file, and the properties every scenario method has (permutation / splitting invariance, linear in
scale, a long and a short of the same instrument carry nothing)."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.margining.grid import MarginGrid, grid_margin, load_grid, paradex_grid
from riskoffset.margining.parameters import ParameterError
from riskoffset.margining.scenarios import ScenarioSet

T0 = "2026-11-25T08:00:00Z"
EXPIRY_T = (
    datetime(2027, 12, 31, 8, tzinfo=timezone.utc) - datetime(2026, 11, 25, 8, tzinfo=timezone.utc)
).days / 365


def market(**extra: Any) -> ro.Market:
    marks = {"BTC_USDC-PERPETUAL": 100_000.0, "BTC_USDC-27DEC26": 100_000.0, "BTC-27DEC26": 100_000.0,
             "ETH_USDC-PERPETUAL": 4_000.0, **extra.pop("marks", {})}  # fmt: skip
    return ro.Market(T0, index={"BTC": 100_000.0, "ETH": 4_000.0}, marks=marks, **extra)


def book(*positions: tuple[str, float], account: str = "a") -> ro.Book:
    names = [p[0] for p in positions]
    return ro.Book.from_arrays([account] * len(names), names, [p[1] for p in positions])


def grid(moves: Any, vols: Any = None, weights: Any = None, **kw: Any) -> MarginGrid:
    m = np.asarray(moves, dtype=float)
    n = m.shape[-1]
    return MarginGrid(
        ScenarioSet(
            price_move=m,
            vol_shift=np.zeros(n) if vols is None else np.asarray(vols, float),
            weight=np.ones(n) if weights is None else np.asarray(weights, float),
            **kw,
        )
    )


def b76_call(f: float, k: float, t: float, s: float) -> float:
    """Black-76 call (r = 0), independent of the package: math.erf."""
    d1 = (math.log(f / k) + 0.5 * s * s * t) / (s * math.sqrt(t))
    d2 = d1 - s * math.sqrt(t)
    n = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))
    return f * n(d1) - k * n(d2)


# ---------------------------------------------------------------------------------------------- hand cases
def test_linear_perpetual() -> None:
    """Long 2 BTC of BTC_USDC-PERPETUAL at 100,000: moves -10 % / +5 % -> P&L -20,000 / +10,000;
    scan = 20,000 (scenario 0); maintenance ratio 1 -> IM = MM = 20,000 USDC."""
    r = grid_margin(book(("BTC_USDC-PERPETUAL", 2.0)), market(), grid([-0.10, 0.05]))
    assert r.initial == pytest.approx(20_000.0, rel=1e-15) and r.maintenance == r.initial
    assert r.currency == "USDC" and r.initial_usd == r.initial
    assert r.worst_scenario is not None and r.worst_scenario.index == 0
    assert r.worst_scenario.pnl == pytest.approx(-20_000.0, rel=1e-15)
    assert r.details["scenario_pnl"] == pytest.approx([-20_000.0, 10_000.0], rel=1e-15)


def test_weights() -> None:
    """Weights 0.5 / 1: weighted losses 0.5 x 20,000 = 10,000 and -10,000 -> scan 10,000."""
    r = grid_margin(book(("BTC_USDC-PERPETUAL", 2.0)), market(), grid([-0.10, 0.05], weights=[0.5, 1.0]))
    assert r.initial == pytest.approx(10_000.0, rel=1e-15)
    assert r.details["weighted_loss"] == pytest.approx([10_000.0, -10_000.0], rel=1e-15)


def test_inverse_future_in_coin() -> None:
    """Long 100,000 USD face of BTC-27DEC26 at F = 100,000: coin P&L = face (1/F - 1/F') =
    (1 - 1/(1 + m)) x face / F: m = -20 % -> 1 - 1.25 = -0.25 BTC; m = +25 % -> 1 - 0.8 = +0.2 BTC.
    scan 0.25 BTC = 25,000 USD at the index."""
    r = grid_margin(book(("BTC-27DEC26", 100_000.0)), market(), grid([-0.20, 0.25]))
    assert r.currency == "BTC"
    assert r.initial == pytest.approx(0.25, rel=1e-14)
    assert r.initial_usd == pytest.approx(25_000.0, rel=1e-14)
    assert r.details["scenario_pnl"] == pytest.approx([-0.25, 0.2], rel=1e-14)


def test_option_full_revaluation_vol_and_time() -> None:
    """Short 1 BTC_USDC-31DEC27-100000-C (linear) at sigma 0.5: scenarios
    0: F +10 %, vol x 1.2 (relative +20 %);  1: F -10 %, vol - 0.1 (absolute), 30 days later.
    P&L = -(B76(F', K, t', sigma') - B76(F, K, t, sigma)) with the erf reference above."""
    name = "BTC_USDC-31DEC27-100000-C"
    m = market(mark_iv={name: 0.5}, forwards={name: 100_000.0})
    b = book((name, -1.0))
    t = EXPIRY_T
    base = b76_call(1e5, 1e5, t, 0.5)
    rel = grid_margin(b, m, grid([0.10], [0.20], vol_mode="relative"))
    assert rel.details["scenario_pnl"][0] == pytest.approx(-(b76_call(1.1e5, 1e5, t, 0.6) - base), rel=1e-11)
    shift = 30 / 365
    ab = grid_margin(b, m, grid([-0.10], [-0.10], vol_mode="absolute", time_shift=np.array([shift])))
    assert ab.details["scenario_pnl"][0] == pytest.approx(
        -(b76_call(0.9e5, 1e5, t - shift, 0.4) - base), rel=1e-11
    )


def test_per_underlying_moves() -> None:
    """BTC -10 % and ETH +20 % in one scenario: long 1 BTC perp (-10,000) and long 10 ETH perp
    (+10 x 4,000 x 0.2 = +8,000) -> -2,000 in USDC; scenario 1 (BTC +5 %, ETH -5 %): +5,000 - 2,000."""
    spec = grid(np.array([[-0.10, 0.05], [0.20, -0.05]]), underlyings=("BTC", "ETH"))
    r = grid_margin(book(("BTC_USDC-PERPETUAL", 1.0), ("ETH_USDC-PERPETUAL", 10.0)), market(), spec)
    assert r.details["scenario_pnl"] == pytest.approx([-2_000.0, 3_000.0], rel=1e-14)
    assert r.initial == pytest.approx(2_000.0, rel=1e-14)
    only_btc = grid(np.array([[-0.10, 0.05]]), underlyings=("BTC",))
    with pytest.raises(ValueError, match="ETH"):
        grid_margin(book(("ETH_USDC-PERPETUAL", 1.0)), market(), only_btc)


# ---------------------------------------------------------------------------------------------- Paradex
def test_paradex_preset_data() -> None:
    spec = paradex_grid()
    s = spec.scenarios
    assert len(s) == 24
    assert (
        spec.maintenance_ratio == 0.5
        and spec.min_delta_net_rate == 0.02
        and spec.min_delta_hedged_rate == 0.01
    )
    assert s.vol_term is not None and (s.vol_term.short_power, s.vol_term.long_power) == (0.3, 0.13)
    assert s.vol_term.pivot_days == 30
    assert sorted(set(s.vol_shift.tolist())) == [-0.22, 0.40]
    core = s.price_move[:16]
    assert sorted(set(core.tolist())) == [-0.16, -0.12, -0.08, -0.04, 0.0, 0.04, 0.08, 0.12, 0.16]
    ext = dict(zip(s.price_move[16:].tolist(), s.weight[16:].tolist()))
    for move, weight in ext.items():  # weight = 0.16 / |move|, as published (rounded)
        assert weight == pytest.approx(0.16 / abs(move), abs=0.006)
    # Its provenance: the file's date, and docs/margin.md, which names the public page it was read from.
    assert "docs/margin.md" in spec.source and "2026-11-24" in spec.source
    assert "https://docs.paradex.trade/" in (Path(__file__).parents[1] / "docs" / "margin.md").read_text()
    path = Path(ro.__file__).parent / "data" / "margin" / "paradex_2026-11-24.json"
    doc = json.loads(path.read_text())
    assert any("unverified" in note for note in doc["notes"])


def test_paradex_hedged_book_and_min_delta() -> None:
    """Long 1 BTC perp, short 0.5 BTC linear future (both 100,000): P&L_j = 50,000 m_j.
    Worst weighted loss: m = -16 % -> 8,000 (the -66 % and -33 % extremes give 33,000 x 0.24 and
    16,500 x 0.48 = 7,920).  Net delta 0.5, gross 1.5, hedged 1.0: min delta = (0.02 x 0.5 + 0.01 x 1.0)
    x 100,000 = 2,000 < 8,000.  IM = 8,000, MM = 50 % = 4,000."""
    b = book(("BTC_USDC-PERPETUAL", 1.0), ("BTC_USDC-27DEC26", -0.5))
    r = grid_margin(b, market(), "paradex")
    assert r.initial == pytest.approx(8_000.0, rel=1e-12)
    assert r.maintenance == pytest.approx(4_000.0, rel=1e-12)
    assert r.details["min_delta_requirement"] == pytest.approx(2_000.0, rel=1e-12)
    assert r.worst_scenario is not None and r.worst_scenario.description.startswith("price -16 %")
    assert r.calibration["scan_risk"] == "candidate"


def test_paradex_min_delta_binds() -> None:
    """Long 1 perp, short 0.99 future: scan = 0.01 x 100,000 x 0.16 = 160; min delta = (0.02 x 0.01 +
    0.01 x 1.98) x 100,000 = 2,000 -> IM 2,000 (min_delta_excess 1,840), MM 1,000."""
    b = book(("BTC_USDC-PERPETUAL", 1.0), ("BTC_USDC-27DEC26", -0.99))
    r = grid_margin(b, market(), None)
    assert r.components["scan_risk"] == pytest.approx(160.0, rel=1e-9)
    assert r.initial == pytest.approx(2_000.0, rel=1e-12)
    assert r.components["min_delta_excess"] == pytest.approx(1_840.0, rel=1e-9)
    assert r.maintenance == pytest.approx(1_000.0, rel=1e-12)
    with_prov = grid_margin(
        b, market(), {"preset": "paradex", "funding_provision": 5.0, "fee_provision": 2.0}
    )
    assert with_prov.initial == pytest.approx(2_007.0, rel=1e-12)
    assert with_prov.maintenance == pytest.approx(1_007.0, rel=1e-12)


def test_paradex_on_sample_book_runs() -> None:
    r = grid_margin(ro.Book.sample("market_maker"), ro.Market.sample(), None)
    assert r.initial > 0 and r.maintenance == pytest.approx(0.5 * r.initial, rel=1e-12)
    assert all(g.account is not None and g.group for g in r.groups)
    assert r.initial_usd == pytest.approx(sum(g.initial_usd or 0 for g in r.groups))


# ---------------------------------------------------------------------------------------------- properties
POS = [
    ("BTC_USDC-PERPETUAL", 1.5),
    ("BTC_USDC-31DEC27-100000-C", -2.0),
    ("BTC_USDC-31DEC27-90000-P", 3.0),
    ("BTC_USDC-27DEC26", -0.7),
]
OPT_MARKET = {
    "mark_iv": {"BTC_USDC-31DEC27-100000-C": 0.55, "BTC_USDC-31DEC27-90000-P": 0.6},
    "forwards": {"BTC_USDC-31DEC27-100000-C": 101_000.0, "BTC_USDC-31DEC27-90000-P": 101_000.0},
}


def test_permutation_and_splitting() -> None:
    m = market(**OPT_MARKET)
    base = grid_margin(book(*POS), m, None)
    perm = grid_margin(book(*POS[::-1]), m, None)
    split = grid_margin(book(*[(n, q / 4) for n, q in POS for _ in range(4)]), m, None)
    assert perm.to_dict() == base.to_dict()
    assert split.to_dict() == base.to_dict()


@pytest.mark.parametrize("scale", [2.0, 3.0, 7.5])
def test_scan_linear_in_scale(scale: float) -> None:
    m = market(**OPT_MARKET)
    base = grid_margin(book(*POS), m, None)
    big = grid_margin(book(*[(n, scale * q) for n, q in POS]), m, None)
    assert big.components["scan_risk"] == pytest.approx(scale * base.components["scan_risk"], rel=1e-12)
    assert big.initial == pytest.approx(scale * base.initial, rel=1e-12)


def test_long_and_short_same_instrument_is_zero() -> None:
    m = market(**OPT_MARKET)
    b = book(*POS, *[(n, -q) for n, q in POS])
    r = grid_margin(b, m, None)
    assert r.initial == 0.0 and r.maintenance == 0.0 and r.worst_scenario is None


def test_accounts_do_not_offset() -> None:
    """The long in one account and the short in another are margined separately: the total is twice one."""
    m = market()
    b = ro.Book.from_arrays(["x", "y"], ["BTC_USDC-PERPETUAL"] * 2, [1.0, -1.0])
    r = grid_margin(b, m, grid([-0.1, 0.1]))
    assert r.initial == pytest.approx(20_000.0, rel=1e-15) and len(r.groups) == 2


# ---------------------------------------------------------------------------------------------- params
def test_grid_documents_and_errors(tmp_path: Path) -> None:
    doc = {
        "name": "my-grid",
        "source": "test",
        "scenarios": [
            {"price_move": -0.1, "vol_shift": 0.0},
            {"price_move": 0.05, "weight": 0.5, "label": "up a bit"},
        ],
    }
    spec = load_grid(doc)
    assert spec.scenarios.labels[1] == "up a bit" and spec.name == "my-grid"
    path = tmp_path / "g.json"
    path.write_text(json.dumps(doc))
    r = grid_margin(book(("BTC_USDC-PERPETUAL", 1.0)), market(), str(path))
    assert r.initial == pytest.approx(10_000.0, rel=1e-15)
    with pytest.raises(ParameterError, match="scenarios"):
        load_grid({"scenarios": []})
    with pytest.raises(ParameterError, match=r"scenarios\[0\]: missing key 'price_move'"):
        load_grid({"scenarios": [{"vol_shift": 0.1}]})
    with pytest.raises(ParameterError, match="must be >="):
        load_grid({"scenarios": [{"price_move": -1.5}]})
    with pytest.raises(ParameterError, match="no move for 'ETH'"):
        load_grid({"scenarios": [{"price_move": {"BTC": 0.1, "ETH": 0.1}}, {"price_move": {"BTC": 0.1}}]})
    with pytest.raises(ParameterError, match="unknown paradex parameter set"):
        load_grid("nonsense")
    with pytest.raises(TypeError):
        load_grid(42)
