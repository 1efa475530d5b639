"""Collateral parameters, haircuts and equity per account and currency, against hand-worked arithmetic and
published examples (Kraken's multi-collateral haircut example; Deribit's account-summary identities)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.accounts import equity, futures_unrealised_pnl

KRAKEN = {
    "name": "kraken-example",
    "currencies": {
        "BTC": {"haircut": 0.04, "equity_side_impact": "im"},
        "USD": {"haircut": 0.0, "pegged_usd": True},
    },
}


def test_kraken_haircut_example() -> None:
    """0.5 BTC at 35,000 with a 4 % haircut: 0.5 x 35,000 x 0.96 = 16,800 USD for IM; the haircut cuts IM
    only, so MM counts 0.5 x 35,000 = 17,500."""
    table = ro.CollateralTable.load(KRAKEN)
    b = ro.Balances.from_mapping({"acct": {"BTC": 0.5}})
    assert table.usd_values(b, {"BTC": 35_000.0}, "im")[0, 0] == pytest.approx(16_800.0, rel=1e-15)
    assert table.usd_values(b, {"BTC": 35_000.0}, "mm")[0, 0] == pytest.approx(17_500.0, rel=1e-15)


def test_haircut_impacts_debt_and_pegged() -> None:
    """A debt counts in full (no haircut on a negative balance: -1,000 USDT at 0.999 = -999 USD); 'im_mm'
    cuts both margins; a pegged currency without an index is valued at 1."""
    table = ro.CollateralTable.load(
        {
            "currencies": {
                "USDT": {"haircut": 0.02},
                "SOL": {"haircut": 0.1, "equity_side_impact": "im_mm"},
                "USDC": {"haircut": 0.0, "pegged_usd": True},
            }
        }
    )
    b = ro.Balances.from_mapping({"a": {"USDT": -1_000.0, "SOL": 10.0, "USDC": 5.0}}, allow_negative=True)
    im = table.usd_values(b, {"USDT": 0.999, "SOL": 200.0}, "im")
    mm = table.usd_values(b, {"USDT": 0.999, "SOL": 200.0}, "mm")
    cols = {c: j for j, c in enumerate(b.currencies)}
    assert im[0, cols["USDT"]] == pytest.approx(-999.0) and mm[0, cols["USDT"]] == pytest.approx(-999.0)
    assert im[0, cols["SOL"]] == pytest.approx(1_800.0) and mm[0, cols["SOL"]] == pytest.approx(1_800.0)
    assert im[0, cols["USDC"]] == 5.0


def test_bundled_table_has_source_and_status() -> None:
    table = ro.CollateralTable.load()
    assert table.source and table.as_of
    assert {"BTC", "ETH", "USDC"} <= set(table.currencies)
    assert all(p.status in ("published", "candidate") for p in table.currencies.values())
    assert ro.CollateralTable.load(table.name).currencies == table.currencies


def test_bad_input_names_account_and_currency(tmp_path: Path) -> None:
    table = ro.CollateralTable.load()
    b = ro.Balances.from_mapping({"desk": {"BTC": 1.0}, "hedge": {"DOGE": 5.0}})
    with pytest.raises(ValueError, match=r"'hedge'.*DOGE is not a collateral currency"):
        table.usd_values(b, {"BTC": 50_000.0, "DOGE": 0.1})
    b = ro.Balances.from_mapping({"desk": {"USDC": 1.0}, "hedge": {"ETH": 5.0}})
    with pytest.raises(ValueError, match=r"'hedge'.*no index price for collateral currency ETH"):
        table.usd_values(b, {"BTC": 50_000.0})
    with pytest.raises(ValueError, match=r"'desk'.*BTC.*negative"):
        ro.Balances.from_mapping({"desk": {"BTC": -1.0}})
    for bad, msg in (
        ({"haircut": 1.5}, "haircut"),
        ({"haircut": 0.1, "equity_side_impact": "x"}, "equity_side"),
        ({"haircut": 0.1, "max_offsetable_pnl": -1}, "max_offsetable_pnl"),
    ):
        with pytest.raises(ValueError, match=rf"BTC: {msg}"):
            ro.CollateralTable.load({"currencies": {"BTC": bad}})
    path = tmp_path / "t.json"
    path.write_text(json.dumps(KRAKEN))
    assert ro.CollateralTable.load(path).get("BTC").haircut == 0.04
    with pytest.raises(ValueError, match="neither a bundled table"):
        ro.CollateralTable.load("no-such-table")


def test_futures_unrealised_pnl_inverse_and_linear() -> None:
    """Inverse: 10,000 USD face long from 40,000 to 50,000 = 10,000 x (1/40,000 - 1/50,000) = 0.05 BTC;
    short the same = -0.05.  Linear: 2 BTC of BTC_USDC-PERPETUAL from 40,000 to 39,000 = -2,000 USDC."""
    pnl = futures_unrealised_pnl(
        [10_000, -10_000, 2.0], [40_000, 40_000, 40_000], [50_000, 50_000, 39_000], [True, True, False]
    )
    np.testing.assert_allclose(pnl, [0.05, -0.05, -2_000.0], rtol=1e-13)
    with pytest.raises(ValueError, match="position 1: avg_price"):
        futures_unrealised_pnl([1, 1], [1.0, 0.0], [1.0, 1.0], [True, True])


def test_equity_matrix_and_deribit_identities() -> None:
    """Account 0 holds 1 BTC, long 10,000 USD BTC-PERPETUAL from 40,000 (mark 50,000: +0.05 BTC), short 1 BTC
    call marked 0.02 BTC (value -0.02): equity 1 + 0.05 - 0.02 = 1.03 BTC.  Account 1 holds 500 USDC and
    2 BTC_USDC-PERPETUAL from 40,000 (mark 39,000: -2,000): equity -1,500 USDC.  Deribit's identities on
    the same figures: equity = balance + unrealised P&L (options value + futures P&L); with an IM of 0.3
    BTC, available funds = margin balance - IM = 1.03 - 0.3 = 0.73."""
    bal = np.array([[1.0, 0.0], [0.0, 500.0]])  # columns BTC, USDC
    fut = futures_unrealised_pnl([10_000, 2.0], [40_000, 40_000], [50_000, 39_000], [True, False])
    eq = equity(bal, [0, 1, 0], [0, 1, 0], [0.0, 0.0, -0.02], [fut[0], fut[1], 0.0])
    np.testing.assert_allclose(eq, [[1.03, 0.0], [0.0, -1_500.0]], rtol=1e-13)
    summary = {"balance": 1.0, "options_value": -0.02, "futures_pl": 0.05, "initial_margin": 0.3}
    assert eq[0, 0] == pytest.approx(summary["balance"] + summary["options_value"] + summary["futures_pl"])
    assert eq[0, 0] - summary["initial_margin"] == pytest.approx(0.73)


def test_equity_bad_input() -> None:
    with pytest.raises(ValueError, match="position 0: account index 5"):
        equity(np.zeros((2, 1)), [5], [0], [0.0], [0.0])
    with pytest.raises(ValueError, match="position 0: options value"):
        equity(np.zeros((1, 1)), [0], [0], [float("nan")], [0.0])
    with pytest.raises(ValueError, match="equal-length"):
        equity(np.zeros((1, 1)), [0, 0], [0], [0.0], [0.0])


def test_published_haircuts() -> None:
    """USDC 0 % (Deribit, 2025-07-08) and stETH 7.5 % (Deribit, from 2026-01-13) are published: 2 stETH at
    3,000 count 2 x 3,000 x 0.925 = 5,550 USD for IM and 6,000 for MM."""
    table = ro.CollateralTable.load()
    assert table.get("USDC").status == "published" and table.get("USDC").haircut == 0.0
    assert table.get("STETH").status == "published" and "2025-07-08" in table.source
    b = ro.Balances.from_mapping({"a": {"STETH": 2.0}})
    assert table.usd_values(b, {"STETH": 3_000.0}, "im")[0, 0] == pytest.approx(5_550.0, rel=1e-15)
    assert table.usd_values(b, {"STETH": 3_000.0}, "mm")[0, 0] == pytest.approx(6_000.0, rel=1e-15)
