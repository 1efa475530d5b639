"""``riskoffset margin BOOK --balances FILE|sample --models ...``: the library's account views, side by side."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import riskoffset as ro
from cli_runner import RunCli
from riskoffset.accounts.balances import sample_haircuts


def test_sample_balances_under_every_model(run_cli: RunCli) -> None:
    code, out, err = run_cli("margin", "market_maker", "--balances", "sample", "--csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["model"] for r in rows] == ["S:SM"] * 3 + ["X:SM"] * 3 + ["S:PM"] * 3 + ["X:PM"] * 3
    book = ro.Book.sample("market_maker")
    views = ro.accounts.compare_models(book, ro.Market.sample(), ro.Balances.sample(book.accounts),
                                       haircuts=sample_haircuts())  # fmt: skip
    for r in rows:
        v = views[r["model"]]
        i = list(v.accounts).index(r["account"])
        assert float(r["available USD"]) == v.available_usd[i]
        assert float(r["saved vs S:SM USD"]) == v.available_usd[i] - views["S:SM"].available_usd[i]
    # mm-hedge holds only USDC against BTC and ETH positions: short of IM when segregated, not when cross
    hedge = {r["model"]: r["short of IM"] for r in rows if r["account"] == "mm-hedge"}
    assert hedge == {"S:SM": "yes", "X:SM": "no", "S:PM": "yes", "X:PM": "no"}
    code, text, _ = run_cli("margin", "market_maker", "--balances", "sample", "--models", "X:PM")
    assert code == 0 and "SYNTHETIC" in text and "(candidate)" in text and "S:SM  " not in text


def test_balances_file_and_json(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("account,currency,amount\nstrangle,USDC,500000\n")
    code, out, err = run_cli("margin", "short_strangle", "--balances", str(path), "--models", "S:PM,X:PM", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc["models"]) == {"S:PM", "X:PM"} and doc["candidate"] == ["X:PM"]
    assert doc["models"]["X:PM"]["short_of_initial"] == [False] and doc["models"]["S:PM"]["short_of_initial"] == [True]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--models", "all"], "--models and --haircut need --balances"),
        (["--balances", "sample", "--models", "Z:ZZ"], "unknown ['Z:ZZ']"),
        (["--balances", "missing.csv"], "balances file 'missing.csv' does not exist"),
        (["--balances", "sample", "--haircut", "BTC"], "--haircut 'BTC': expected CUR:FRACTION"),
        (["--balances", "sample", "--method", "all"], "without --method all"),
    ],
)
def test_bad_flags(run_cli: RunCli, args: list[str], message: str) -> None:
    code, out, err = run_cli("margin", "market_maker", *args)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
