"""``riskoffset margin BOOK --by account [--dask local:N] [--out FILE]``: one row per account, the library's
figures, locally and on a local Dask cluster, from a book file or from a glob of CSV files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import riskoffset as ro
from cli_runner import RunCli


def _book_files(tmp_path: Path, parts: int = 3) -> tuple[ro.Book, list[Path]]:
    market = ro.Market.sample()
    table = market.instruments
    rng = np.random.default_rng(4)
    account = np.repeat(np.arange(60), 6)
    rows = rng.integers(0, len(table), len(account))
    qty = np.where((table.kind[rows] <= 1) & (table.settlement[rows] == 1), 10.0, 0.1) * rng.integers(1, 9, len(rows))
    book = ro.Book.from_arrays(account, rows, qty, instruments=table)
    records = book.positions()
    paths = []
    for i in range(parts):
        path = tmp_path / f"pos-{i}.csv"
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, ["account", "instrument", "quantity"])
            w.writeheader()
            w.writerows(records[i::parts])
        paths.append(path)
    return book, paths


def test_by_account_prints_the_library_figures(run_cli: RunCli) -> None:
    code, out, err = run_cli("margin", "market_maker", "--by", "account", "--json")
    assert code == 0, err
    doc = json.loads(out)
    rows = ro.margin_accounts(ro.Book.sample("market_maker"), ro.Market.sample())
    assert doc["accounts"]["account"] == rows.to_dict()["account"]
    assert doc["accounts"]["initial_usd"] == rows.initial_usd.tolist()
    code, text, _ = run_cli("margin", "market_maker", "--by", "account")
    assert code == 0 and "3 accounts" in text and "mm-hedge" in text


def test_dask_local_cluster_from_csv_files(run_cli: RunCli, tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    book, _ = _book_files(tmp_path)
    out = tmp_path / "rows.csv"
    code, text, err = run_cli(
        "margin", str(tmp_path / "pos-*.csv"), "--dask", "local:2", "--out", str(out), "--method", "deribit-standard"
    )
    assert code == 0, err
    assert "60 accounts written to" in text
    expected = ro.margin_accounts(book, ro.Market.sample(), "deribit-standard")
    with out.open() as f:
        got = list(csv.DictReader(f))
    assert [int(r["account"]) for r in got] == expected.account.tolist()
    assert [float(r["initial_usd"]) for r in got] == expected.initial_usd.tolist()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--partitions", "2"], "--partitions applies to a Dask run: add --dask"),
        (["--out", "x.txt"], "--out 'x.txt': write a .parquet or a .csv file"),
        (["--dask", "local:0"], "--dask 'local:0': write local or local:N"),
        (["--by", "account", "--method", "all"], "take one --method, not all"),
    ],
)
def test_bad_flags_name_the_flag(run_cli: RunCli, args: list[str], message: str) -> None:
    code, out, err = run_cli("margin", "market_maker", *args)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
