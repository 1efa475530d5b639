"""The bundled SYNTHETIC sample market and books: contents, consistency with the documented model, and that the
committed generator reproduces the committed files."""

from __future__ import annotations

import csv
import importlib.util
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.book import instrument_greeks
from riskoffset.instruments import KIND_OPTION
from riskoffset.market import SOURCE_FUTURE, SOURCE_INTERPOLATED

TOOL = Path(__file__).resolve().parents[1] / "tools" / "make_sample_market.py"


@pytest.fixture(scope="module")
def market() -> ro.Market:
    return ro.Market.sample()


def test_sample_market_lists_full_chains(market: ro.Market) -> None:
    table = market.instruments
    assert table is not None and 1400 <= len(table) <= 1700  # "~1,500 instruments" (README)
    assert table.underlyings == ("BTC", "ETH")
    assert "SYNTHETIC" in market.description
    names = set(table.names.tolist())
    for base in ("BTC", "ETH"):
        assert {f"{base}-PERPETUAL", f"{base}_USDC-PERPETUAL", f"{base}_USDC", f"{base}-25DEC26"} <= names
    options = table.kind == KIND_OPTION
    expiries = set(table.expiry_dates()[options].tolist())
    assert len(expiries) == 12 and "2026-11-26" in expiries and "2027-09-24" in expiries
    # Calls and puts at every listed strike.
    assert np.count_nonzero(options & (table.flag > 0)) == np.count_nonzero(options & (table.flag < 0))
    assert table["BTC-PERPETUAL"].contract_size == 10.0 and table["ETH-PERPETUAL"].contract_size == 1.0
    assert not np.isnan(table.taker_commission).any()


def test_every_sample_instrument_resolves_and_prices(market: ro.Market) -> None:
    table = market.instruments
    assert table is not None
    g = instrument_greeks(table, market)
    assert np.isfinite(g.values).all()
    r = g.market
    options = table.kind == KIND_OPTION
    # Expiries without a future are interpolated (documented rule), the others use the future.
    interpolated = set(table.expiry_dates()[options & (r.forward_source == SOURCE_INTERPOLATED)].tolist())
    assert interpolated == {"2026-11-26", "2026-11-28", "2026-12-11", "2026-12-18", "2027-02-26"}
    assert (
        r.forward_source[options & ~np.isin(table.expiry_dates(), list(interpolated))] == SOURCE_FUTURE
    ).all()
    # The generator's forward is S exp(b t); log-linear interpolation between tick-rounded futures is within
    # a tick of it.
    tool = _load_tool()
    for i in np.flatnonzero(options & (r.forward_source == SOURCE_INTERPOLATED)).tolist():
        base = table.underlyings[table.underlying[i]]
        assert abs(r.forward[i] - tool.forward(base, r.t[i])) <= tool.FUTURE_TICK[base]
    # Coin marks in the file are the kernels' Black-76 price / forward (8 decimals) wherever the forward is
    # the generator's own (futures expiries).
    marks = np.array([market.marks[n] for n in table.names[options].tolist()])
    ours = g["value_coin"][options]
    exact = r.forward_source[options] == SOURCE_FUTURE
    linear = table.settlement[options] == 0
    ours_quoted = np.where(linear, g["value_usd"][options], ours)
    tolerance = np.where(linear, 0.6e-4, 0.6e-8)
    assert (np.abs(ours_quoted - marks)[exact] <= tolerance[exact]).all()


@pytest.mark.parametrize(
    "name", ["market_maker", "covered_calls", "calendar_spread", "short_strangle", "linear_inverse"]
)
def test_sample_books(name: str, market: ro.Market) -> None:
    assert name in ro.Book.samples()
    book = ro.Book.sample(name)
    assert book.name == name and len(book) > 0
    report = book.greeks(market, by="account")
    for m in report.values.values():
        assert np.isfinite(m).all()
    text = resources.files("riskoffset").joinpath(f"data/books/{name}.csv").read_text()
    assert text.startswith("# SYNTHETIC")


def test_sample_book_shapes(market: ro.Market) -> None:
    mm = ro.Book.sample("market_maker")
    assert mm.accounts.tolist() == ["mm-btc", "mm-eth", "mm-hedge"] and len(mm) == 402
    under = mm.greeks(market)
    # Delta-hedged with perpetuals (sized at the index, which the perpetual marks 1 bp above): the plain coin
    # delta is flat to a few thousandths of the hedge.
    hedge = mm.greeks(market, by="account").values["delta"][2:]
    assert (np.abs(under.values["delta"]) < 1e-3 * np.abs(hedge)).all()
    strangle = ro.Book.sample("short_strangle").greeks(market)
    assert (strangle.values["gamma"] < 0).all() and (strangle.values["vega"] < 0).all()
    assert (strangle.values["theta"] > 0).all()
    mixed = ro.Book.sample("linear_inverse")
    settlements = set(mixed.instruments.settlement.tolist())
    assert settlements == {0, 1}
    with pytest.raises(ValueError, match="no sample book 'nope'; choose one of"):
        ro.Book.sample("nope")


def _load_tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_sample_market", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_files_match_the_generator() -> None:
    tool = _load_tool()
    rows, info = tool.build_market()
    text = resources.files("riskoffset").joinpath("data/sample_market.csv").read_text()
    committed = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    assert [r["instrument_name"] for r in committed] == [r["instrument_name"] for r in rows]
    for c, r in zip(committed, rows):
        if r.get("mark_iv") is not None:
            assert float(c["mark_iv"]) == r["mark_iv"]
        if r.get("mark_price") is not None:
            assert math.isclose(float(c["mark_price"]), float(r["mark_price"]), rel_tol=1e-15)
    books = tool.build_books(info)
    for name, positions in books.items():
        book_text = resources.files("riskoffset").joinpath(f"data/books/{name}.csv").read_text()
        lines = [line for line in book_text.splitlines() if not line.startswith("#")]
        committed_positions = [
            (r["account"], r["instrument"], float(r["quantity"])) for r in csv.DictReader(lines)
        ]
        assert committed_positions == [(a, i, float(f"{q:g}")) for a, i, q in positions]
