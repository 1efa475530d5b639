"""`riskoffset greeks` and the demo's risk report end to end, in a subprocess as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import riskoffset as ro
from cli_runner import RunCli


def test_sample_book_human_table(run_cli: RunCli) -> None:
    result = run_cli("greeks", "short_strangle", "--by", "strike")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "SYNTHETIC" in out and "vega per vol point" in out and "theta per day" in out
    assert "2026-12-25" in out and "110000" in out and "vega USD/pt" in out and "theta USD/day" in out


def test_json_matches_the_library(run_cli: RunCli) -> None:
    result = run_cli("greeks", "sample:market_maker", "--by", "account", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    report = ro.Book.sample("market_maker").greeks(ro.Market.sample(), by="account")
    assert data["book"]["positions"] == 402 and data["by"] == "account"
    assert [(r["account"], r["underlying"]) for r in data["rows"]] == report.labels
    for row, i in zip(data["rows"], range(len(report))):
        assert row["delta"] == report.values["delta"][i]
        assert row["vega_per_point"] == pytest.approx(report.values["vega"][i] / 100, rel=1e-15)
        assert row["theta_per_day"] == pytest.approx(report.values["theta"][i] / 365, rel=1e-15)
    assert data["units"]["vega_per_point"] == "USD per vol point"
    raw = json.loads(run_cli("greeks", "market_maker", "--json", "--raw").stdout)
    assert raw["units"]["theta"] == "USD per year"


def test_book_and_market_files(run_cli: RunCli, tmp_path: Path) -> None:
    book = tmp_path / "positions.csv"
    book.write_text(
        "account,instrument,quantity\n"
        "desk,BTC-25DEC26-100000-C,2\n"
        "desk,BTC-PERPETUAL,-100000\n"
        "desk,BTC-25DEC26-100000-C,-0.5\n"
    )
    market = tmp_path / "market.json"
    market.write_text(
        json.dumps(
            {
                "valuation_time": "2026-11-25T08:00:00Z",
                "index": {"BTC": 95000.0},
                "marks": {"BTC-PERPETUAL": 95010.0, "BTC-25DEC26": 95500.0},
                "mark_iv": {"BTC-25DEC26-100000-C": 0.55},
            }
        )
    )
    result = run_cli("greeks", str(book), "--market", str(market), "--json", "--by", "instrument")
    assert result.returncode == 0, result.stderr
    rows = {r["instrument"]: r for r in json.loads(result.stdout)["rows"]}
    g = ro.greeks("c", 95500.0, 100000.0, 30 / 365, 0.0, 0.55)
    assert rows["BTC-25DEC26-100000-C"]["delta"] == pytest.approx(1.5 * g["delta"], rel=1e-13)
    assert rows["BTC-PERPETUAL"]["delta"] == pytest.approx(-100000.0 / 95010.0, rel=1e-15)
    # Deribit get_positions JSON works as a book too.
    deribit = tmp_path / "positions.json"
    deribit.write_text(
        json.dumps(
            {"jsonrpc": "2.0", "result": [
                {"instrument_name": "BTC-PERPETUAL", "kind": "future", "direction": "sell", "size": -100000.0}
            ]}
        )
    )  # fmt: skip
    result = run_cli("greeks", str(deribit), "--market", str(market), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows"][0]["delta"] == pytest.approx(-100000.0 / 95010.0, rel=1e-15)


@pytest.mark.parametrize(
    ("content", "market_json", "message"),
    [
        (
            "account,instrument,quantity\nx,BTC-31FEB27-1-C,1\n",
            None,
            "malformed instrument name 'BTC-31FEB27-1-C'",
        ),
        ("account,instrument,quantity\nx,BTC-PERPETUAL,abc\n", None, "quantity 'abc' is not a number"),
        ("account,instrument,quantity\nx,BTC-25DEC26-123000-C,1\n", None, "BTC-25DEC26-123000-C: no mark_iv"),
        ("account,instrument,quantity\nx,SOL_USDC-PERPETUAL,1\n", None, "SOL_USDC-PERPETUAL: no mark price"),
        ("account,instrument,quantity\nx,BTC-PERPETUAL,1\n", "{not json", "Expecting property name"),
        ("account,instrument,quantity\nx,BTC-PERPETUAL,1\n", '{"index": {}}', "needs 'valuation_time'"),
    ],
)
def test_bad_input_is_a_clear_message_and_exit_code_2(
    run_cli: RunCli, tmp_path: Path, content: str, market_json: str | None, message: str
) -> None:
    book = tmp_path / "book.csv"
    book.write_text(content)
    args = ["greeks", str(book)]
    if market_json is not None:
        (tmp_path / "m.json").write_text(market_json)
        args += ["--market", str(tmp_path / "m.json")]
    result = run_cli(*args)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("riskoffset: error:")


def test_stale_quotes_with_max_age(run_cli: RunCli, tmp_path: Path) -> None:
    book = tmp_path / "book.csv"
    book.write_text("account,instrument,quantity\nx,BTC-PERPETUAL,10\n")
    market = tmp_path / "tickers.json"
    market.write_text(
        json.dumps(
            [
                {"instrument_name": "BTC-PERPETUAL", "mark_price": 95010.0, "timestamp": 1795593000000},
                {"instrument_name": "BTC-25DEC26", "mark_price": 95500.0, "timestamp": 1795593600000},
            ]
        )
    )
    assert run_cli("greeks", str(book), "--market", str(market)).returncode == 0
    result = run_cli("greeks", str(book), "--market", str(market), "--max-age", "60")
    assert (
        result.returncode == 2
        and "BTC-PERPETUAL: the quote of BTC-PERPETUAL is stale: 600 s old" in result.stderr
    )


def test_missing_files_and_unknown_samples(run_cli: RunCli) -> None:
    result = run_cli("greeks", "no_such_book")
    assert result.returncode == 2 and "samples: calendar_spread" in result.stderr
    result = run_cli("greeks", "market_maker", "--market", "missing.json")
    assert result.returncode == 2 and "missing.json" in result.stderr
    result = run_cli("greeks", "market_maker", "--by", "desk")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_demo_includes_the_risk_report(run_cli: RunCli) -> None:
    result = run_cli("demo", "--json")
    assert result.returncode == 0, result.stderr
    books = json.loads(result.stdout)["books"]
    assert sorted(books) == ro.Book.samples()
    market = ro.Market.sample()
    for name, data in books.items():
        report = ro.Book.sample(name).greeks(market)
        assert np.allclose(
            [r["delta_pa"] for r in data["rows"]], report.values["delta_pa"], rtol=1e-15, atol=0
        )
    text = run_cli("demo").stdout
    assert "Risk report" in text and "[market_maker]" in text and "SYNTHETIC" in text
