"""Liquidation with collateral from `ro.Balances`: coin collateral moves with its price (wrong-way risk of
a short put funded in BTC, a covered call funded in BTC), and an account already below maintenance has a
status instead of a price (library and CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
import riskoffset as ro
from cli_runner import RunCli
from riskoffset.liquidation import equity_usd, liquidation


def _book(instrument: str, quantity: float) -> ro.Book:
    return ro.Book.from_positions([{"instrument": instrument, "quantity": quantity, "account": "p"}])


def test_short_put_funded_in_btc_shows_wrong_way_risk() -> None:
    """10 short BTC puts funded by 5 BTC or by the same 475,000 USD in USDC (BTC index 95,000).  After a
    30 % fall the BTC is worth 5 x 66,500 = 332,500: 142,500 USD less equity than the USDC funding, the puts'
    P&L being the same; so the BTC-funded account is liquidated at a higher price (sooner)."""
    market = ro.Market.sample()
    book = _book("BTC-25DEC26-80000-P", -10)
    in_btc = equity_usd(book, market, {"BTC": 5.0}, "BTC", -0.3)
    in_usdc = equity_usd(book, market, {"USDC": 475_000.0}, "BTC", -0.3)
    assert in_usdc - in_btc == pytest.approx(142_500.0, rel=1e-12)
    btc = liquidation(book, market, ro.Balances.from_mapping({"p": {"BTC": 5.0}}))
    usdc = liquidation(book, market, ro.Balances.from_mapping({"p": {"USDC": 475_000.0}}))
    assert btc.equity_usd == pytest.approx(usdc.equity_usd, rel=1e-12)
    assert btc.price_down is not None and (usdc.price_down is None or btc.price_down > usdc.price_down)


def test_covered_call_funded_in_btc_lasts_longer() -> None:
    """10 short BTC calls covered by 10 BTC against the same 950,000 USD in USDC: on a rise the BTC gains
    what the calls lose above the strike, so the covered account is liquidated later (or never in range)."""
    market = ro.Market.sample()
    book = _book("BTC-25DEC26-110000-C", -10)
    covered = liquidation(book, market, ro.Balances.from_mapping({"p": {"BTC": 10.0}}))
    naked = liquidation(book, market, {"USDC": 950_000.0})
    assert naked.price_up is not None
    assert covered.price_up is None or covered.price_up > naked.price_up


def test_balances_match_the_mapping_and_name_the_account() -> None:
    market = ro.Market.sample()
    book = ro.Book.sample("calendar_spread")
    via_balances = liquidation(book, market, ro.Balances.sample("calendar_spread"))
    via_mapping = liquidation(book, market, {"BTC": 1.5, "USDC": 20_000.0})
    assert via_balances.to_dict() == via_mapping.to_dict()
    with pytest.raises(ValueError, match="account 'calendar': no balances"):
        liquidation(book, market, ro.Balances.from_mapping({"other": {"BTC": 1.0}}))


def test_cli_below_maintenance_exit_code(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("account,currency,amount\nstrangle,USDC,1\n")
    result = run_cli("liquidation", "short_strangle", "--balances", str(path), "--underlying", "BTC")
    assert result.returncode == 3, result.stderr
    assert "ALREADY BELOW MAINTENANCE" in result.stdout and "down:" not in result.stdout
    result = run_cli("liquidation", "calendar_spread", "--balances", "sample", "--json")
    assert result.returncode == 0 and '"status": "ok"' in result.stdout
    result = run_cli("liquidation", "calendar_spread")
    assert result.returncode == 2 and "--balance" in result.stderr
