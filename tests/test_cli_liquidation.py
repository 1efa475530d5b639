"""`riskoffset liquidation` end to end, against the library's ro.liquidation."""

from __future__ import annotations

import json

import pytest
import riskoffset as ro
from cli_runner import RunCli
from riskoffset.liquidation import liquidation


def test_json_matches_the_library(run_cli: RunCli) -> None:
    result = run_cli(
        "liquidation",
        "short_strangle",
        "--balance",
        "BTC:2",
        "--balance",
        "ETH:20",
        "--underlying",
        "BTC",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    market = ro.Market.sample()
    expected = liquidation(
        ro.Book.sample("short_strangle"), market, {"BTC": 2.0, "ETH": 20.0}, underlying="BTC"
    )
    assert data["price_down"] == pytest.approx(expected.price_down, rel=1e-12)
    assert data["price_up"] == pytest.approx(expected.price_up, rel=1e-12)
    assert data["margin_ratio"] == pytest.approx(expected.margin_ratio, rel=1e-12)
    assert data["price_down"] < data["index"] < data["price_up"]


def test_human_table(run_cli: RunCli) -> None:
    result = run_cli(
        "liquidation", "short_strangle", "--balance", "BTC:2", "--balance", "ETH:20", "--underlying", "BTC"
    )
    assert result.returncode == 0, result.stderr
    assert "liquidation on BTC" in result.stdout and "down:" in result.stdout and "up:" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["short_strangle", "--balance", "BTC:x"], "CURRENCY:AMOUNT"),
        (["short_strangle", "--balance", "BTC:2"], "name the underlying"),
        (["no_such_book", "--balance", "BTC:2"], "no_such_book"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run_cli: RunCli, args: list[str], message: str) -> None:
    result = run_cli("liquidation", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
