"""Recorded streams (riskoffset.live.stream): line numbers, bad lines reported and not raised, gzip, Tardis
CSV rows as Deribit ticker notifications, and the bundled SYNTHETIC sample day."""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.live import (
    BalanceUpdate,
    IndexUpdate,
    TickerUpdate,
    TradeUpdate,
    parse_notification,
    read_stream,
    sample_stream_path,
)

TOOL = Path(__file__).resolve().parents[1] / "tools" / "make_sample_stream.py"

INDEX_LINE = json.dumps(
    {
        "jsonrpc": "2.0",
        "method": "subscription",
        "params": {
            "channel": "deribit_price_index.btc_usd",
            "data": {"timestamp": 1535098298227, "price": 6521.17, "index_name": "btc_usd"},
        },
    }
)
LINES = [
    "# SYNTHETIC test stream",  # 1
    INDEX_LINE,  # 2
    "",  # 3
    "{not json",  # 4
    "[1, 2]",  # 5
    "   ",  # 6
    "  # an indented comment",  # 7
    '{"channel": "x", "data": NaN}',  # 8: NaN is not JSON
    INDEX_LINE,  # 9
]
MIXED = "\n".join(LINES)


def _summary(items: Any) -> list[tuple[int, bool]]:
    return [(i.line, i.error is None) for i in items]


EXPECTED = [(2, True), (4, False), (5, False), (8, False), (9, True)]


def test_json_lines_numbers_skips_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(MIXED + "\n")
    items = list(read_stream(path))
    assert _summary(items) == EXPECTED
    assert items[0].message == json.loads(INDEX_LINE)
    # (an item's error leaves its line number to ``line``: a report printing both said it twice)
    assert str(items[1].error).startswith("not valid JSON")
    assert items[2].error == "expected a JSON object, got list"
    assert "NaN is not a JSON number" in str(items[3].error)
    assert parse_notification(items[4].message or {}) == [IndexUpdate("BTC", 6521.17, 1535098298227)]
    # the same from a str path, an open text file and CRLF line ends
    assert _summary(read_stream(str(path))) == EXPECTED
    assert _summary(read_stream(io.StringIO(MIXED))) == EXPECTED
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(MIXED.replace("\n", "\r\n").encode())
    assert _summary(read_stream(crlf)) == EXPECTED


def test_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_text(INDEX_LINE + "\n", encoding="utf-8-sig")
    assert _summary(read_stream(path)) == [(1, True)]
    bom_csv = tmp_path / "bom.csv"
    bom_csv.write_text(OPTIONS_HEADER + "\n" + DOCUMENTED_ROW + "\n", encoding="utf-8-sig")
    assert _summary(read_stream(bom_csv)) == [(2, True)]


def test_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write(MIXED)
    assert _summary(read_stream(path)) == EXPECTED


def test_a_line_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(INDEX_LINE.encode() + b"\n\xff\xfe{}\n" + INDEX_LINE.encode() + b"\n")
    items = list(read_stream(path))
    assert _summary(items) == [(1, True), (2, False), (3, True)]
    assert "not UTF-8" in str(items[1].error)


def test_unreadable_files_raise(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_stream(tmp_path / "missing.jsonl")  # at the call, before iterating
    with pytest.raises(FileNotFoundError, match="is not a file"):
        read_stream(tmp_path)
    fake = tmp_path / "fake.jsonl.gz"
    fake.write_text(INDEX_LINE)
    with pytest.raises(OSError, match="fake.jsonl.gz: cannot read the stream"):
        list(read_stream(fake))
    with pytest.raises(TypeError, match="path or an open text file"):
        read_stream(42)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- Tardis CSV
OPTIONS_HEADER = (
    "exchange,symbol,timestamp,local_timestamp,type,strike_price,expiration,open_interest,last_price,bid_price,"
    "bid_amount,bid_iv,ask_price,ask_amount,ask_iv,mark_price,mark_iv,underlying_index,underlying_price,delta,"
    "gamma,vega,theta,rho"
)
# Tardis.dev's documented Deribit options_chain row (the one tests/test_market.py quotes: timestamp, expiration,
# mark_price, mark_iv in percent, underlying_index and _price, delta, gamma, vega, theta); the open interest,
# last, bid/ask and rho cells as a public fixture quotes the same documented row.
DOCUMENTED_ROW = (
    "deribit,BTC-9JUN20-9875-P,1591574399413000,1591574400196008,put,9875,1591689600000000,0.1,0.0295,0.0205,"
    "15.0,55.91,0.0235,15.0,68.94,0.02210436,62.89,SYN.BTC-9JUN20,9756.36,-0.61752,0.00103,2.24964,-53.05655,"
    "-0.22796"
)
DERIVATIVE_HEADER = (
    "exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,"
    "open_interest,last_price,index_price,mark_price"
)
# A hand-written derivative_ticker row (SYNTHETIC values) for Deribit's perpetual.
PERPETUAL_ROW = "deribit,BTC-PERPETUAL,1591574399413000,1591574399500000,,,,502097590,9745.5,9742.13,9746.02"


def test_tardis_options_chain_row_becomes_a_ticker(tmp_path: Path) -> None:
    path = tmp_path / "options_chain.csv"
    path.write_text(OPTIONS_HEADER + "\n" + DOCUMENTED_ROW + "\n")
    (item,) = read_stream(path)
    assert item.line == 2 and item.error is None and item.message is not None
    params = item.message["params"]
    assert params["channel"] == "ticker.BTC-9JUN20-9875-P.raw"
    data = params["data"]
    assert data["timestamp"] == 1591574399413  # 1591574399413000 us
    assert data["mark_iv"] == 62.89 and data["underlying_index"] == "SYN.BTC-9JUN20"
    assert data["greeks"] == {
        "delta": -0.61752,
        "gamma": 0.00103,
        "vega": 2.24964,
        "theta": -53.05655,
        "rho": -0.22796,
    }
    assert (data["best_bid_price"], data["best_ask_price"], data["bid_iv"], data["ask_iv"]) == (
        0.0205,
        0.0235,
        55.91,
        68.94,
    )
    (u,) = parse_notification(item.message)
    assert u == TickerUpdate(
        "BTC-9JUN20-9875-P", 1591574399413, 0.02210436, pytest.approx(0.6289, rel=1e-15), 9756.36, None
    )
    # the ticker feeds a Market as the documented row does in tests/test_market.py
    market = ro.Market.from_deribit(data)
    assert market.mark_iv["BTC-9JUN20-9875-P"] == pytest.approx(0.6289, rel=1e-15)
    assert market.forwards["BTC-9JUN20-9875-P"] == 9756.36


def test_tardis_derivative_ticker_row(tmp_path: Path) -> None:
    text = "\n".join([DERIVATIVE_HEADER, PERPETUAL_ROW, PERPETUAL_ROW.replace("9746.02", "abc")])
    items = list(read_stream(io.StringIO(text)))
    assert _summary(items) == [(2, True), (3, False)]
    assert "column mark_price = 'abc' is not a number" in str(items[1].error)
    (u,) = parse_notification(items[0].message or {})
    assert u == TickerUpdate("BTC-PERPETUAL", 1591574399413, 9746.02, None, None, 9742.13)


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (("62.89", "nan"), "mark_iv"),
        (("9756.36", "inf"), "underlying_price"),
        (("0.02210436", "0.02x"), "mark_price"),
        (("1591574399413000", "1591574399.413"), "timestamp"),
        (("deribit", "okex-options"), "exchange"),
        (("-0.22796", "-0.22796,extra"), "cells"),
    ],
)
def test_tardis_bad_cells_name_the_column(change: tuple[str, str], column: str) -> None:
    bad = DOCUMENTED_ROW.replace(*change)
    items = list(read_stream(io.StringIO(f"{OPTIONS_HEADER}\n{bad}\n{DOCUMENTED_ROW}")))
    assert _summary(items) == [(2, False), (3, True)]
    assert items[0].line == 2 and column in str(items[0].error) and not str(items[0].error).startswith("line")


def test_tardis_header_without_needed_columns_raises() -> None:
    header = OPTIONS_HEADER.replace(",mark_price", "")
    with pytest.raises(ValueError, match="line 1: Tardis options_chain CSV without the columns mark_price"):
        list(read_stream(io.StringIO(header + "\n" + DOCUMENTED_ROW)))


def test_text_that_is_neither_format_is_reported_per_line() -> None:
    items = list(read_stream(io.StringIO("hello world\n" + INDEX_LINE)))
    assert _summary(items) == [(1, False), (2, True)]


# ------------------------------------------------------------------------------------------- sample day
def _sample_updates() -> list[Any]:
    updates: list[Any] = []
    ignored: Counter[str] = Counter()
    for item in read_stream(sample_stream_path()):
        assert item.error is None, item.error
        assert item.message is not None
        updates.extend(parse_notification(item.message, ignored))
    assert not ignored
    return updates


def test_sample_stream_is_labelled_small_and_parses() -> None:
    path = sample_stream_path()
    first = path.read_text().splitlines()[0]
    assert first.startswith("#") and "SYNTHETIC" in first and "not market data" in first
    assert path.stat().st_size < 1_500_000
    updates = _sample_updates()
    kinds = Counter(type(u).__name__ for u in updates)
    assert kinds["IndexUpdate"] == 2 * (24 * 60 + 1)  # both coins every 60 s over 24 h, both ends included
    assert kinds["TickerUpdate"] > 1000 and kinds["TradeUpdate"] >= 5 and kinds["BalanceUpdate"] >= 2
    times = [u.timestamp for u in updates if u.timestamp is not None]
    assert times == sorted(times)
    start = ro.Market.sample().valuation_time.timestamp() * 1000
    assert times[0] == start and times[-1] == start + 86_400_000
    market = ro.Market.sample()
    for u in updates:
        if isinstance(u, (TickerUpdate, TradeUpdate)):
            assert u.instrument in market.marks, u.instrument
        if isinstance(u, (TradeUpdate, BalanceUpdate)):
            assert u.account in ro.Balances.sample("market_maker").accounts


def test_sample_stream_has_the_crash() -> None:
    updates = _sample_updates()
    for coin, fall in (("BTC", 0.8), ("ETH", 0.75)):
        prices = np.array([u.price for u in updates if isinstance(u, IndexUpdate) and u.underlying == coin])
        assert prices[0] == ro.Market.sample().index[coin]
        trough = int(np.argmin(prices))
        assert prices[trough] < fall * prices[0]
        assert 6 * 60 <= trough <= 8 * 60  # in the afternoon: between 14:00 and 16:00 UTC
        assert prices[trough] < prices[-1] < prices[0]  # a partial recovery
        hour = prices[trough - 60 : trough + 1]
        assert hour[-1] / hour[0] < 0.8  # most of the fall within about an hour
    # vols up: each listed option's mark IV at the trough is above its first one
    first: dict[str, float] = {}
    at_trough: dict[str, float] = {}
    trough_ms = next(u.timestamp for u in updates if isinstance(u, IndexUpdate)) + 7 * 3_600_000
    for u in updates:
        if isinstance(u, TickerUpdate) and u.mark_iv is not None:
            first.setdefault(u.instrument, u.mark_iv)
            if u.timestamp <= trough_ms:
                at_trough[u.instrument] = u.mark_iv
    assert first and all(at_trough[k] > 1.2 * first[k] for k in first)


def _replay(updates: list[Any], times_ms: list[int]) -> Iterator[ro.Market]:
    """The sample market with the stream's index, marks, IVs and forwards applied up to each of times_ms
    (ascending), valued then."""
    base = ro.Market.sample()
    index, marks, ivs, forwards = dict(base.index), dict(base.marks), dict(base.mark_iv), dict(base.forwards)
    i = 0
    for until in times_ms:
        while i < len(updates) and (updates[i].timestamp is None or updates[i].timestamp <= until):
            u = updates[i]
            i += 1
            if isinstance(u, IndexUpdate):
                index[u.underlying] = u.price
            elif isinstance(u, TickerUpdate):
                marks[u.instrument] = u.mark_price if u.mark_price is not None else marks[u.instrument]
                if u.mark_iv is not None:
                    ivs[u.instrument] = u.mark_iv
                    if u.underlying_price is not None:
                        forwards[u.instrument] = u.underlying_price
        when = np.datetime64(until, "ms").item().isoformat() + "Z"
        yield ro.Market(when, index=index, marks=marks, mark_iv=ivs, forwards=forwards)


START_MS = int(ro.Market.sample().valuation_time.timestamp() * 1000)


def test_sample_crash_puts_accounts_below_margin() -> None:
    """Under deribit-pm with segregated balances (S:PM), accounts of the sample books that meet their initial
    or maintenance margin at the start fall below it at the trough (15:00 UTC)."""
    start, trough = _replay(_sample_updates(), [START_MS, START_MS + 7 * 3_600_000])
    newly_below_im, newly_below_mm = [], []
    for name in ("linear_inverse", "short_strangle"):
        book, balances = ro.Book.sample(name), ro.Balances.sample(name)
        before = ro.account(book, start, balances, "S:PM")
        after = ro.account(book, trough, balances, "S:PM")
        for i, acc in enumerate(before.accounts):
            if not before.below_initial[i] and after.below_initial[i]:
                newly_below_im.append(str(acc))
            if not before.below_maintenance[i] and after.below_maintenance[i]:
                newly_below_mm.append(str(acc))
    assert newly_below_im == ["inverse"]
    assert newly_below_mm == ["inverse", "strangle"]


def test_sample_replays_into_a_consistent_market() -> None:
    """Every 15 minutes the replayed market values every sample book under deribit-pm: the options' forwards
    agree with the futures' marks (within the market's 1 % max_forward_gap) throughout the day."""
    books = [ro.Book.sample(name) for name in ro.Book.samples()]
    for market in _replay(_sample_updates(), [START_MS + m * 60_000 for m in range(0, 24 * 60 + 1, 15)]):
        for book in books:
            assert np.isfinite(ro.margin(book, market, "deribit-pm").initial).all()


def test_committed_sample_matches_the_generator() -> None:
    spec = importlib.util.spec_from_file_location("make_sample_stream", TOOL)
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert "\n".join(tool.build_stream()) + "\n" == sample_stream_path().read_text()
