"""Replaying recorded streams: a replay stopped anywhere and resumed from its snapshot ends exactly where an
uninterrupted one does; bad lines are reported with their line numbers and change nothing; the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.live import MessageError
from riskoffset.live.replay import replay
from riskoffset.live.samples import sample_venue

MARKET = ro.Market.sample()


def engine() -> ro.RiskEngine:
    book, balances = sample_venue()
    return ro.RiskEngine(book, MARKET, balances=balances)


def state(e: ro.RiskEngine) -> dict[str, Any]:
    v = e.accounts()
    return {
        "accounts": v.accounts.tolist(),
        **{name: getattr(v, name).tolist() for name in ("balance", "equity", "initial", "maintenance", "mm_ratio")},
        "book": e.book.positions(),
        "index": dict(e.market.index),
        "counters": {k: v for k, v in e.counters.items()},
    }


def test_a_replay_resumed_from_any_snapshot_ends_as_an_uninterrupted_one(short_stream: Path, tmp_path: Path) -> None:
    whole = engine()
    summary = replay(whole, short_stream, events=tmp_path / "whole.jsonl")
    assert summary.messages > 200 and not summary.bad_lines
    assert summary.events["liquidation"] >= 1  # the crash liquidates someone
    expected = state(whole)
    expected_events = (tmp_path / "whole.jsonl").read_text()
    rng = np.random.default_rng(20261204)
    for stop in sorted(rng.integers(1, summary.messages, 2).tolist()):
        snap, events = tmp_path / f"at{stop}.snap", tmp_path / f"at{stop}.jsonl"
        first = replay(engine(), short_stream, events=events, snapshot=snap, stop_after=stop)
        assert first.messages >= stop
        resumed = ro.RiskEngine.restore(snap)
        rest = replay(resumed, short_stream, events=events)
        assert rest.skipped_lines >= stop
        assert first.messages + rest.messages == summary.messages
        got = state(resumed)
        got["counters"] = {k: v for k, v in resumed.counters.items()}
        assert got == expected, f"resumed after {stop} messages"
        assert events.read_text() == expected_events


def test_periodic_snapshots_are_written(short_stream: Path, tmp_path: Path) -> None:
    snap = tmp_path / "every.snap"
    e = engine()
    replay(e, short_stream, snapshot=snap, snapshot_every=100, stop_after=250)
    assert ro.RiskEngine.restore(snap).snapshot_meta["line"] > 0
    with pytest.raises(ValueError, match="snapshot_every"):
        replay(engine(), short_stream, snapshot_every=0, snapshot=snap)


def test_bad_lines_are_reported_by_line_and_skipped(short_stream: Path, tmp_path: Path) -> None:
    lines = short_stream.read_text().splitlines()
    first_data = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    bad = list(lines)
    bad.insert(first_data + 3, "this is not json")
    broken = {"jsonrpc": "2.0", "method": "subscription",
              "params": {"channel": "deribit_price_index.btc_usd", "data": {"index_name": "btc_usd", "price": -5,
                                                                           "timestamp": 1795593600000}}}  # fmt: skip
    bad.insert(first_data + 6, json.dumps(broken))
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(bad) + "\n")
    clean, dirty = engine(), engine()
    replay(clean, short_stream)
    summary = replay(dirty, path)
    assert [n for n, _ in summary.bad_lines] == [first_data + 4, first_data + 7]
    assert "price" in summary.bad_lines[1][1]
    a, b = state(clean), state(dirty)
    a.pop("counters"), b.pop("counters")
    assert a == b
    strict = engine()
    strict.strict = True
    with pytest.raises((ValueError, MessageError), match=f"line {first_data + 4}"):
        replay(strict, path)


def test_an_older_quote_in_the_stream_is_counted_not_applied(tmp_path: Path) -> None:
    def tick(price: float, ms: int) -> str:
        data = {"index_name": "btc_usd", "price": price, "timestamp": ms}
        return json.dumps({"channel": "deribit_price_index.btc_usd", "data": data})

    path = tmp_path / "order.jsonl"
    path.write_text("\n".join([tick(90_000, 2_000), tick(50_000, 1_000), tick(91_000, 3_000)]) + "\n")
    e = engine()
    summary = replay(e, path)
    assert summary.counters["out_of_order"] == 1
    assert e.market.index["BTC"] == 91_000


def test_the_cli_replays_and_resumes(short_stream: Path, tmp_path: Path, run_cli: Any) -> None:
    events = tmp_path / "events.jsonl"
    code, out, err = run_cli("replay", str(short_stream), "--book", "sample:short_strangle", "--balances", "sample",
                             "--events", str(events))  # fmt: skip
    assert code == 0, err
    assert "messages/s" in out and "strangle" in out
    kinds = [json.loads(line)["kind"] for line in events.read_text().splitlines()]
    assert "liquidation" in kinds
    snap = tmp_path / "s.snap"
    code, out, err = run_cli("replay", str(short_stream), "--book", "sample:short_strangle", "--balances", "sample",
                             "--snapshot", str(snap), "--json")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["messages"] > 200 and doc["events"].get("liquidation", 0) >= 1
    code, out, err = run_cli("replay", str(short_stream), "--resume", str(snap), "--json")
    assert code == 0, err
    assert json.loads(out)["messages"] == 0  # everything was applied before the snapshot
    code, out, err = run_cli("replay", "--book", "sample:short_strangle")
    assert code == 2 and "STREAM" in err
    code, out, err = run_cli("replay", str(tmp_path / "missing.jsonl"), "--book", "sample:short_strangle")
    assert code == 2 and "missing.jsonl" in err


def test_the_cli_replays_under_a_users_grid(short_stream: Path, tmp_path: Path, run_cli: Any) -> None:
    """``--method grid --params FILE``: the same events and final figures as the engine built with that grid in
    this process; a grid file that is not one is refused by name."""
    grid = {"name": "two-sided 15 %", "maintenance_ratio": 0.8, "scenarios": [
        {"price_move": -0.15, "vol_shift": 0.3}, {"price_move": 0.15, "vol_shift": -0.1}]}  # fmt: skip
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(grid))
    events = tmp_path / "events.jsonl"
    code, out, err = run_cli("replay", str(short_stream), "--book", "sample:short_strangle", "--balances", "sample",
                             "--method", "grid", "--params", str(path), "--events", str(events), "--json")  # fmt: skip
    assert code == 0, err
    book, balances = ro.Book.sample("short_strangle"), ro.Balances.sample("short_strangle")
    here = ro.RiskEngine(book, MARKET, "grid", str(path), balances=balances)
    mine = tmp_path / "mine.jsonl"
    summary = replay(here, short_stream, events=mine)
    assert json.loads(out)["events"] == summary.events and summary.events
    assert events.read_text() == mine.read_text()
    assert any(json.loads(line)["figures"].get("worst_scenario") for line in mine.read_text().splitlines())
    path.write_text(json.dumps({"name": "no scenarios"}))
    code, out, err = run_cli("replay", str(short_stream), "--book", "sample:short_strangle", "--method", "grid",
                             "--params", str(path))  # fmt: skip
    assert code == 2 and "scenarios" in err


def test_quotes_applied_per_instant_end_as_one_by_one(short_stream: Path) -> None:
    """The replay applies the quotes of one timestamp together; the state it ends in is, bit for bit, the
    state of applying every message on its own, and so are the accounts margin-called and liquidated."""
    grouped = engine()
    summary = replay(grouped, short_stream)
    single = engine()
    calls, liquidations = set(), set()
    for item in ro.live.read_stream(short_stream):
        if item.message is not None:
            single.apply(item.message, line=item.line)
        for event in single.events():
            (calls if event.kind == "margin_call" else liquidations if event.kind == "liquidation" else set()).add(
                event.account
            )
    a, b = state(grouped), state(single)
    assert a.pop("counters")["updates"] == b.pop("counters")["updates"]
    assert a == b  # bit for bit: an account's figures do not depend on which accounts are computed with it
    assert summary.liquidated == liquidations and summary.called == calls
