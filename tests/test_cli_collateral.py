"""`riskoffset margin BOOK --balances FILE --models ...`: accounts under Deribit's S:SM, X:SM, S:PM, X:PM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import riskoffset as ro
from cli_runner import RunCli


def test_models_all_on_sample_balances(run_cli: RunCli) -> None:
    """linear_inverse's sample balances: account 'linear' holds 0.5 BTC and 10,000 USDC against a USDC-only
    margin.  S:SM: only the USDC counts, so it must add IM - 10,000 USD; X:SM: the BTC counts at 95,000
    (no haircut in the bundled table): available = 0.5 x 95,000 + 10,000 - IM, nothing to fund."""
    result = run_cli("margin", "linear_inverse", "--balances", "sample", "--models", "all", "--json")
    assert result.returncode == 0, result.stderr
    rows = {(r["account"], r["model"]): r for r in json.loads(result.stdout)["accounts"]}
    assert {m for _, m in rows} == {"S:SM", "X:SM", "S:PM", "X:PM"}
    s, x = rows[("linear", "S:SM")], rows[("linear", "X:SM")]
    # the account's options add their mark value (USDC-settled) to its USDC equity
    view = ro.account(ro.Book.sample("linear_inverse"), ro.Market.sample(), ro.Balances.sample("linear_inverse"), "S:SM")
    i, usdc = list(view.accounts).index("linear"), view.currencies.index("USDC")
    options = float(view.equity[i, usdc] - view.balance[i, usdc])
    assert s["funding_needed_usd"] == pytest.approx(s["initial_usd"] - 10_000.0 - options)
    assert x["available_usd"] == pytest.approx(0.5 * 95_000 + 10_000 + options - x["initial_usd"])
    assert x["funding_needed_usd"] == 0.0 and x["saved_usd"] == pytest.approx(s["funding_needed_usd"])
    library = ro.compare_collateral(
        ro.Book.sample("linear_inverse"), ro.Market.sample(), ro.Balances.sample("linear_inverse")
    ).rows()
    assert [r["initial_usd"] for r in library] == [r["initial_usd"] for r in json.loads(result.stdout)["accounts"]]


def test_table_and_file(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("account,currency,amount\nstrangle,BTC,3\nstrangle,ETH,20\n")
    result = run_cli("margin", "short_strangle", "--balances", str(path), "--models", "S:SM,X:PM")
    assert result.returncode == 0, result.stderr
    assert "S:SM" in result.stdout and "X:PM" in result.stdout and "X:SM" not in result.stdout
    assert "saved USD" in result.stdout and "candidate" in result.stdout


def test_bad_input(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("margin", "short_strangle", "--balances", "sample", "--models", "Z:PM")
    assert result.returncode != 0 and "Z:PM" in result.stderr
    path = tmp_path / "b.csv"
    path.write_text("account,currency,amount\nstrangle,DOGE,3\n")
    result = run_cli("margin", "short_strangle", "--balances", str(path))
    assert result.returncode != 0 and "'strangle'" in result.stderr and "DOGE" in result.stderr
    result = run_cli("margin", str(tmp_path / "nobook.csv"), "--balances", "sample")
    assert result.returncode != 0


def test_demo_shows_collateral_setups(run_cli: RunCli) -> None:
    """The demo's collateral table: the market-maker sample book on its sample balances, per model summed over
    accounts; saved = S:SM funding - the model's funding, and pooling (zero haircuts on its currencies) never
    needs more than segregation for the same margin method."""
    result = run_cli("demo", "--json", "--report", "")
    assert result.returncode == 0, result.stderr
    rows = {r["model"]: r for r in json.loads(result.stdout)["collateral"]}
    assert list(rows) == ["S:SM", "X:SM", "S:PM", "X:PM"]
    base = rows["S:SM"]["funding_needed_usd"]
    for r in rows.values():
        assert r["saved_usd"] == pytest.approx(base - r["funding_needed_usd"])
    assert rows["X:SM"]["funding_needed_usd"] <= base and rows["X:PM"]["funding_needed_usd"] <= rows["S:PM"]["funding_needed_usd"]
    assert base > 0
