"""`riskoffset margin` and the demo's capital-efficiency table, end to end in a subprocess."""

from __future__ import annotations

import json

import pytest
import riskoffset as ro
from cli_runner import RunCli


def test_margin_human_table(run_cli: RunCli) -> None:
    result = run_cli("margin", "linear_inverse", "--method", "deribit-pm")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "btc_btc" in out and "btc_usdc" in out and "worst scenario" in out and "candidate" in out
    assert "total" in out and "parameters: deribit-pm" in out


def test_margin_json_matches_the_library(run_cli: RunCli) -> None:
    result = run_cli("margin", "short_strangle", "--method", "deribit-standard", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    expected = ro.margin(ro.Book.sample("short_strangle"), ro.Market.sample(), "deribit-standard")
    assert data["initial"] == expected.initial and data["currency"] == expected.currency
    assert len(data["groups"]) == len(expected.groups)


def test_margin_all_methods_side_by_side(run_cli: RunCli) -> None:
    result = run_cli("margin", "market_maker", "--method", "all", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["method"]: r for r in json.loads(result.stdout)["comparison"]}
    assert rows["deribit-standard"]["of_standard"] == 1.0
    pm = rows["deribit-pm"]
    assert pm["available"] and pm["initial_usd"] < rows["deribit-standard"]["initial_usd"]
    assert pm["capital_saved_usd"] == pytest.approx(
        rows["deribit-standard"]["initial_usd"] - pm["initial_usd"]
    )
    human = run_cli("margin", "market_maker", "--method", "all")
    assert human.returncode == 0 and "vs isolated" in human.stdout and "deribit-pm" in human.stdout


def test_margin_params_and_errors(run_cli: RunCli, tmp_path: object) -> None:
    ok = run_cli("margin", "calendar_spread", "--method", "deribit-pm", "--params", "deribit-pm-2024-06-17")
    assert ok.returncode == 0, ok.stderr and "2024-06-17" in ok.stdout
    bad = run_cli("margin", "covered_calls", "--params", "deribit-pm-2024-06-17")
    assert bad.returncode == 2 and "eth_usd" in bad.stderr
    unknown = run_cli("margin", "calendar_spread", "--params", "nope.json")
    assert unknown.returncode == 2 and "does not exist" in unknown.stderr
    several = run_cli("margin", "calendar_spread", "--method", "all", "--params", "x.json")
    assert several.returncode == 2 and "METHOD=SOURCE" in several.stderr


def test_demo_shows_capital_efficiency(run_cli: RunCli) -> None:
    result = run_cli("demo")
    assert result.returncode == 0, result.stderr
    assert "Margin side by side" in result.stdout and "vs isolated" in result.stdout
    data = json.loads(run_cli("demo", "--json").stdout)
    assert set(data["margin"]) == set(ro.Book.samples())
