"""The live engine under SPAN: an account's margin is SPAN's for its positions now (``ro.margin(book, market,
"span", params)`` from scratch, the bundled synthetic file of the sample market), recomputed when its positions
change; quotes move its equity against it.  After any sequence of updates every account's figures equal
``ro.account`` on the engine's book, market and balances with those margins (segregated, and cross collateral
with a table that lists USD, SPAN's currency); a trade the mapping cannot margin changes nothing; an update that
fails after a trade puts the account's SPAN margin back; snapshots restore."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from hypothesis import given, settings
from hypothesis import strategies as st
from riskoffset.margining.span import bulk
from riskoffset.margining.span.algorithm import load_params
from riskoffset.margining.span.model import DeltaSpread, Leg, ScanLeg, ScanSpread
from test_live_engine import EXAMPLES, MARKET, OPS, OPTIONS, assert_matches, run

DATA = Path(ro.__file__).resolve().parent / "data"
# Deribit's table with USD added (SPAN's figures are in USD): no haircut, valued at 1.
TABLE = json.loads(next((DATA / "collateral").glob("deribit-collateral_*.json")).read_text())
TABLE["currencies"]["USD"] = {"haircut": 0.0, "equity_side_impact": "im", "pnl_offset": True,
                              "max_offsetable_pnl": None, "status": "candidate", "pegged_usd": True}  # fmt: skip
COLLATERAL = ro.CollateralTable.load(TABLE)


def start_book() -> tuple[ro.Book, ro.Balances]:
    names = [OPTIONS[0], OPTIONS[3], "BTC-PERPETUAL", "ETH-PERPETUAL", OPTIONS[-1], "BTC_USDC-PERPETUAL"]
    book = ro.Book.from_arrays(["A", "A", "A", "B", "B", "B"], names, [-5.0, 2.0, 20_000.0, -3_000.0, 10.0, 1.5],
                               instruments=MARKET.instruments)  # fmt: skip
    balances = ro.Balances.from_mapping(
        {"A": {"BTC": 3.0, "USDC": 50_000, "USD": 40_000}, "B": {"ETH": 40.0, "BTC": 0.5, "USD": 30_000}}
    )
    return book, balances


def engine_of(cross: bool, params: Any = "sample") -> ro.RiskEngine:
    book, balances = start_book()
    return ro.RiskEngine(book, MARKET, "span", params, balances=balances, cross=cross, collateral=COLLATERAL)


@pytest.mark.parametrize(
    "cross, model, spread", [(True, "X:SM", False), (False, "S:SM", False), (True, "X:SM", True)]
)
@settings(max_examples=EXAMPLES)
@given(ops=st.lists(OPS, min_size=1, max_size=8))
def test_every_update_sequence_ends_where_a_from_scratch_computation_does(
    cross: bool, model: str, spread: bool, ops: list[tuple[Any, ...]]
) -> None:
    """(spread: with an inter-commodity spread, so that accounts holding BTC and ETH take SPAN's full path)"""
    engine = engine_of(cross, inter_spread_params() if spread else "sample")
    assert_matches(engine, model)
    run(engine, ops)
    assert_matches(engine, model)


def test_quotes_move_the_equity_and_trades_the_margin() -> None:
    """An index tick leaves SPAN's margin as it was (the file's risk arrays, not the quotes) and moves the
    equity; a trade changes the traded account's margin to SPAN's for its new positions, and no other's."""
    engine = engine_of(True)
    before = {a: engine.account(a) for a in ("A", "B")}
    engine.on_index("BTC", MARKET.index["BTC"] * 0.8)
    after = {a: engine.account(a) for a in ("A", "B")}
    for a in ("A", "B"):
        assert after[a]["initial_usd"] == before[a]["initial_usd"] > 0
    assert after["A"]["margin_balance_usd"] != before["A"]["margin_balance_usd"]
    engine.on_trade("A", OPTIONS[1], -4.0, 0.01)
    assert engine.account("A")["initial_usd"] != after["A"]["initial_usd"]
    assert engine.account("B")["initial_usd"] == after["B"]["initial_usd"]
    assert_matches(engine, "X:SM")


def test_a_crash_calls_margin_then_liquidates() -> None:
    """Equity falls against a fixed margin: account A, holding 0.5 BTC besides its positions, stays above its
    SPAN initial margin through a 20 % BTC fall, gets a margin call at 30 % and a liquidation at 40 %, one
    event per crossing, as ``ro.account`` says at each step."""
    book, balances = start_book()
    balances = ro.Balances.from_mapping({"A": {"BTC": 0.5}, "B": {"ETH": 40.0, "BTC": 0.5, "USD": 30_000}})
    engine = ro.RiskEngine(book, MARKET, "span", "sample", balances=balances, collateral=COLLATERAL)
    seen = []
    for fall, level in ((0.2, "ok"), (0.3, "margin_call"), (0.3, "margin_call"), (0.4, "liquidation")):
        engine.on_index("BTC", MARKET.index["BTC"] * (1 - fall))
        assert engine.account("A")["level"] == level, fall
        seen += [e.kind for e in engine.events() if e.account == "A"]
        assert_matches(engine, "X:SM")
    assert seen == ["margin_call", "liquidation"]


def test_a_trade_the_mapping_cannot_margin_changes_nothing() -> None:
    span, extra = load_params("sample")
    mapping = dict(extra["mapping"])
    del mapping[OPTIONS[5]]
    engine = engine_of(True, {"file": span, "mapping": mapping})
    before = engine.accounts()
    with pytest.raises(ValueError, match=rf"account 'A'.*{OPTIONS[5]}.*SPAN mapping"):
        engine.on_trade("A", OPTIONS[5], 1.0, 0.01)
    after = engine.accounts()
    for name in ("initial_usd", "margin_balance_usd", "equity", "balance"):
        np.testing.assert_array_equal(getattr(before, name), getattr(after, name), err_msg=name)
    assert engine.counters["updates"] == 0


def test_a_failed_update_puts_the_span_margin_back() -> None:
    """A trade whose account comes out with a non-finite figure is refused whole: its positions, balance and
    SPAN margin are as they were."""
    engine = engine_of(True)
    was = engine.account("A")
    with pytest.raises(ValueError, match="not a finite"):
        engine.on_trade("A", OPTIONS[2], 1.0, 1e306)  # (its premium in USD overflows)
    assert engine.account("A") == was


def test_a_failed_trade_in_one_compiled_call_puts_the_span_margin_back() -> None:
    """The same on an instrument the account holds (its trade, SPAN margin and refresh in one compiled call): the
    call computes the account's SPAN for the new positions, then finds its premium non-finite and puts
    everything back."""
    engine = engine_of(True)
    engine.on_trade("A", OPTIONS[0], 1.0, 0.01)  # (its SPAN margin moved: a put-back would show)
    was = engine.account("A")
    with pytest.raises(ValueError, match="not a finite"):
        engine.on_trade("A", OPTIONS[0], 3.0, 1e306)
    assert engine.account("A") == was
    assert_matches(engine, "X:SM")


def test_a_trade_beyond_what_span_nets_changes_nothing() -> None:
    """A fill that takes a position beyond what a book (9e10) and SPAN (9.2e10 contracts) net in units of 1e-8 is
    refused, naming it, and leaves the account as it was (in the compiled call and in the full path alike)."""
    for account, instrument in (("A", OPTIONS[0]), ("B", OPTIONS[2])):  # (A holds it; B does not yet)
        engine = engine_of(True)
        was = engine.account(account)
        with pytest.raises(ValueError, match=rf"trade of account '{account}' in {instrument}: .* below 9e\+10"):
            engine.on_trade(account, instrument, 1e12, 0.01)
        assert engine.account(account) == was
        assert_matches(engine, "X:SM")


def inter_spread_params(scanning: bool = False) -> dict[str, Any]:
    """The sample file with an inter-commodity spread between BTC and ETH: a delta spread (a 50 % weighted-price
    credit) or a scanning spread (ETH's losses scanned in BTC, gains at 50 %), both formed by the compiled call."""
    span, extra = load_params("sample")
    span = copy.deepcopy(span)  # (the parsed sample is shared by every call on its path)
    if scanning:
        scan_legs = (ScanLeg("BTC", True), ScanLeg("ETH", False))
        span.orgs[0].inter_spreads = (ScanSpread(1, {1: 50.0}, scan_legs),)
    else:
        legs = (Leg("BTC", "", "", "A", 1.0), Leg("ETH", "", "", "B", 10.0))
        span.orgs[0].inter_spreads = (DeltaSpread(1, "W", {1: 50.0}, {}, legs),)
    return {"file": span, "mapping": extra["mapping"]}


@pytest.mark.parametrize("scanning", [False, True], ids=["delta spread", "scanning spread"])
def test_a_trade_across_an_inter_spread_stays_in_the_compiled_call(monkeypatch: pytest.MonkeyPatch,
                                                                        scanning: bool) -> None:  # fmt: skip
    """B holds BTC and ETH, which the inter spread links, A only BTC: both trades stay in the compiled call (SPAN's
    full path, `span_account`, is not called) and end where a from-scratch computation does."""
    engine = engine_of(True, inter_spread_params(scanning))
    full: list[Any] = []
    real = bulk.span_account
    monkeypatch.setattr(bulk, "span_account", lambda *a, **k: full.append(k.get("account")) or real(*a, **k))
    engine.on_trade("A", "BTC-PERPETUAL", 10_000.0, MARKET.marks["BTC-PERPETUAL"])
    assert full == []
    engine.on_trade("B", "ETH-PERPETUAL", 500.0, MARKET.marks["ETH-PERPETUAL"])
    assert full == []
    assert_matches(engine, "X:SM")


def test_a_snapshot_restores_and_follows_the_same_updates(tmp_path: Path) -> None:
    engine = engine_of(True)
    engine.on_trade("B", OPTIONS[4], 2.0, 0.02)
    engine.snapshot(tmp_path / "span.snap")
    restored = ro.RiskEngine.restore(tmp_path / "span.snap")
    for e in (engine, restored):
        e.on_index("ETH", MARKET.index["ETH"] * 0.9)
        e.on_trade("A", "ETH-PERPETUAL", 100.0, MARKET.marks["ETH-PERPETUAL"])
    assert restored.account("A") == engine.account("A") and restored.account("B") == engine.account("B")


def test_cross_collateral_needs_a_table_that_lists_spans_currency() -> None:
    book, balances = start_book()
    with pytest.raises(ValueError, match=r"SPAN's margin is in USD, which the collateral table deribit-collateral"):
        ro.RiskEngine(book, MARKET, "span", "sample", balances=balances)
    with pytest.raises(ValueError, match="needs params"):
        ro.RiskEngine(book, MARKET, "span", balances=balances, cross=False)


def test_a_cluster_under_span_keeps_the_figures_of_one_engine() -> None:
    """Shards margin their own accounts with the same file: after trades (new accounts among them), ticks and
    deposits, every account's figures are bit for bit those of one engine."""
    from riskoffset.live.cluster import ClusterEngine
    from test_live_cluster import assert_same

    book, balances = start_book()
    one = ro.RiskEngine(book, MARKET, "span", "sample", balances=balances, collateral=COLLATERAL)
    cluster = ClusterEngine.in_process(book, MARKET, "span", "sample", balances=balances, collateral=COLLATERAL)
    for e in (one, cluster):
        e.on_trade("C", OPTIONS[2], 3.0, 0.01, timestamp=1)
        e.on_balance("C", "USD", 50_000.0, timestamp=2)
        e.on_index("BTC", MARKET.index["BTC"] * 0.85, timestamp=3)
        e.on_trade("A", "BTC-PERPETUAL", -10_000.0, MARKET.index["BTC"] * 0.85, timestamp=4)
    assert_same(one, cluster)


def test_the_replay_command_margins_the_sample_venue_under_span(run_cli: Any, short_stream: Path,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    """``riskoffset replay --method span --params sample --collateral TABLE``: a sample book's accounts under
    the bundled synthetic SPAN file, cross collateral with a table that lists USD; without such a table the
    command says which currency is missing."""
    table = tmp_path / "collateral-with-usd.json"
    table.write_text(json.dumps(TABLE))
    venue = ("--book", "sample:short_strangle", "--balances", "sample", "--method", "span", "--params", "sample")
    code, out, err = run_cli("replay", str(short_stream), *venue, "--collateral", str(table), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["messages"] > 100 and summary["updates"] > 0
    code, _, err = run_cli("replay", str(short_stream), *venue)
    assert code != 0 and "--collateral on the command line" in err


def test_an_engine_saved_before_span_restores_and_trades() -> None:
    """An engine pickled without the SPAN attributes (as versions without the method wrote it) restores as the
    engine it was, trades and ticks, and ends where a from-scratch computation does."""
    from test_live_engine import restored_without
    from test_live_engine import start_book as pm_book

    book, balances = pm_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    old = restored_without(engine, "span", "_span")
    assert old._span is None and not old.span
    old.on_trade("A", OPTIONS[1], -2.0, 0.01, timestamp=1)
    old.on_index("BTC", MARKET.index["BTC"] * 0.9, timestamp=2)
    assert_matches(old, "X:PM")
