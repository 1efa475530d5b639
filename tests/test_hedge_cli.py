"""`riskoffset hedge` and `riskoffset whatif`: human tables, --json equal to the library, clear errors with
exit code 2 (through the run_cli fixture; one run in a child process checks the entry point)."""

from __future__ import annotations

import csv
import io
import json

import pytest
import riskoffset as ro
from cli_runner import RunCli
from riskoffset.hedging import hedge
from riskoffset.whatif import WhatIf


@pytest.mark.parametrize("target", ["delta", "delta-gamma", "delta-gamma-vega", "margin"])
def test_hedge_table(run_cli: RunCli, target: str) -> None:
    code, out, err = run_cli("hedge", "short_strangle", "--target", target)
    assert code == 0, err
    assert f"hedge target {target}" in out and "delta BTC" in out and "deribit-pm margin USD" in out
    assert "worst scenario before" in out and "upside given up" in out


def test_hedge_json_matches_library(run_cli: RunCli) -> None:
    code, out, err = run_cli(
        "hedge",
        "calendar_spread",
        "--target",
        "delta",
        "--with",
        "BTC-PERPETUAL,BTC-26MAR27",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    expected = hedge(
        ro.Book.sample("calendar_spread"), ro.Market.sample(), "delta", ["BTC-PERPETUAL", "BTC-26MAR27"]
    )
    assert data["candidates"] == ["BTC-PERPETUAL", "BTC-26MAR27"]
    assert {t["instrument"]: t["quantity"] for t in data["trades"]} == expected.quantities
    assert data["margin_after"]["initial"] == expected.margin_after.initial  # type: ignore[union-attr]
    assert len(data["profiles"]["btc_btc"]["after"]) == 35


def test_hedge_account_and_errors(run_cli: RunCli) -> None:
    code, out, _ = run_cli("hedge", "market_maker", "--account", "mm-eth", "--json")
    assert code == 0 and json.loads(out)["account"] == "mm-eth"
    for args, message in [
        (("hedge", "market_maker", "--account", "nobody"), "account 'nobody'"),
        (("hedge", "short_strangle", "--with", "BTC-32DEC26"), "malformed instrument name"),
        (("hedge", "no_such_book"), "neither a file"),
    ]:
        code, _, err = run_cli(*args)
        assert code == 2 and message in err and err.count("\n") == 1, err


def test_whatif_table_and_json(run_cli: RunCli) -> None:
    args = (
        "whatif",
        "market_maker",
        "--account",
        "mm-btc",
        "--order",
        "BTC-PERPETUAL:-100000",
        "--order",
        "BTC-25DEC26-110000-C:2",
    )
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert "BTC-PERPETUAL -100,000" in out and "basket" in out
    assert "account mm-btc" in out.splitlines()[0] and "MM change" in out
    code, out, err = run_cli(*args, "--json")
    data = json.loads(out)
    w = WhatIf(ro.Book.sample("market_maker"), ro.Market.sample(), account="mm-btc")
    expected = w.basket([("BTC-PERPETUAL", -100_000.0), ("BTC-25DEC26-110000-C", 2.0)])
    assert data["basket"]["initial_usd_after"] == pytest.approx(expected.initial_usd_after, rel=1e-12)
    assert data["orders"][0]["instrument"] == "BTC-PERPETUAL" and data["orders"][0]["group"] == "btc_btc"
    assert data["account"] == "mm-btc" and data["basket"]["account"] == "mm-btc"
    mm_change = expected.maintenance_usd_after - expected.maintenance_usd_before
    assert data["basket"]["maintenance_change"] != 0
    code, out, _ = run_cli(*args, "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["order"] for r in rows] == ["BTC-PERPETUAL -100,000", "BTC-25DEC26-110000-C +2", "basket"]
    assert float(rows[-1]["MM change USD"]) == pytest.approx(mm_change, rel=1e-12)
    code, out, _ = run_cli(*args)
    assert "MM change USD" in out and max(len(line) for line in out.splitlines()[1:]) <= 100


def test_whatif_under_span(run_cli: RunCli) -> None:
    """--method span: the bundled synthetic SPAN file on the sample market, the figures of ro.SpanWhatIf."""
    args = ("whatif", "market_maker", "--account", "mm-btc", "--order", "BTC-PERPETUAL:-100000", "--method", "span")
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert "SPAN margin (USD)" in out.splitlines()[0] and "basket" in out
    code, out, err = run_cli(*args, "--json")
    assert code == 0, err
    w = ro.SpanWhatIf(ro.Book.sample("market_maker"), ro.Market.sample(), "sample", account="mm-btc")
    expected = w.order("BTC-PERPETUAL", -100_000.0)
    data = json.loads(out)
    assert data["orders"][0]["group"] == "span"
    assert data["orders"][0]["initial_after"] == expected.initial_after
    assert data["basket"]["maintenance_after"] == expected.maintenance_after


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ("BTC-PERPETUAL", "expected NAME:QTY"),
        ("BTC-PERPETUAL:ten", "is not a number"),
        ("BTC-PERPETUAL:inf", "not finite"),
        ("BTC-PERPETUAL:1e308", "larger than any real order"),
        ("BTC-PERPETUAL:-2e15", "larger than any real order"),
        ("FOO:1", "malformed instrument name"),
        ("SOL-PERPETUAL:10", "SOL-PERPETUAL"),
    ],
)
def test_whatif_errors(run_cli: RunCli, order: str, message: str) -> None:
    code, _, err = run_cli("whatif", "calendar_spread", "--order", order)
    assert code == 2 and message in err and err.startswith("riskoffset: error:"), err


def test_entry_point_subprocess(run_cli: RunCli) -> None:
    code, out, err = run_cli("whatif", "short_strangle", "--order", "BTC-PERPETUAL:50000", subprocess=True)
    assert code == 0, err
    assert "BTC-PERPETUAL +50,000" in out
