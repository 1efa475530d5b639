"""The live engine against from-scratch computations: after any sequence of quotes, trades and balance
changes every account's figures equal ``ro.account`` (and so ``ro.margin``) on the engine's current book,
market and balances; events fire once per crossing; a failed update changes nothing; snapshots restore."""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from hypothesis import example, given, settings
from hypothesis import strategies as st
from riskoffset.accounts.equity import futures_fill
from riskoffset.live.snapshots import SNAPSHOT_HEADER

MARKET = ro.Market.sample()
OPTIONS = sorted(n for n in MARKET.mark_iv if n.startswith(("BTC-", "ETH-")))[::40]
FUTURES = ["BTC-PERPETUAL", "BTC-25DEC26", "ETH-PERPETUAL", "BTC_USDC-PERPETUAL", "ETH_USDC-PERPETUAL"]
EXAMPLES = max(settings.default.max_examples // 4, 5)


def reference(engine: ro.RiskEngine, model: str) -> tuple[ro.AccountView, dict[Any, int]]:
    """``ro.account`` from scratch on the engine's book (with its futures' average prices), market, balances and
    collateral table: equity there is balance + options at mark + futures P&L against those averages."""
    book, market, everyone = engine.book, engine.market, engine.balances
    keep = np.isin(everyone.accounts, book.accounts)  # ro.account takes balances of the book's accounts only
    balances = ro.Balances(everyone.accounts[keep], everyone.currencies, everyone.amounts[keep], allow_negative=True)
    view = engine.accounts()
    row = {a: i for i, a in enumerate(view.accounts.tolist())}
    margins = (
        None
        if engine.method in ("deribit-pm", "deribit-standard")
        else ro.margin(book, market, engine.method, engine.params)
    )
    return ro.account(book, market, balances, model, margins=margins, collateral=engine.collateral), row


def assert_matches(engine: ro.RiskEngine, model: str) -> None:
    ref, row = reference(engine, model)
    view = engine.accounts()
    assert len(ref.accounts)
    for i, a in enumerate(ref.accounts.tolist()):
        j = row[a]
        for name in ("initial_usd", "maintenance_usd", "margin_balance_usd", "available_usd", "mm_ratio"):
            x, y = float(getattr(view, name)[j]), float(getattr(ref, name)[i])
            assert x == pytest.approx(y, rel=1e-12, abs=1e-9), (a, name)
        for name in ("initial", "maintenance", "equity", "balance", "delta_total", "projected_delta_total"):
            got = dict(zip(view.currencies, getattr(view, name)[j]))
            for c, y in zip(ref.currencies, getattr(ref, name)[i]):
                assert got.get(c, 0.0) == pytest.approx(y, rel=1e-12, abs=1e-9), (a, name, c)
        assert bool(view.below_initial[j]) == bool(ref.below_initial[i])
        assert bool(view.below_maintenance[j]) == bool(ref.below_maintenance[i])
    # Accounts with no position: no margin, equity = balance.
    for a, j in row.items():
        if a not in set(ref.accounts.tolist()):
            assert view.initial_usd[j] == 0.0 and view.maintenance_usd[j] == 0.0
            np.testing.assert_array_equal(view.equity[j], view.balance[j] + engine.futures_pnl()[j])


# ---------------------------------------------------------------------------------------------- operations
OPS = st.one_of(
    st.tuples(st.just("index"), st.sampled_from(["BTC", "ETH"]), st.floats(0.7, 1.3)),
    st.tuples(st.just("iv"), st.sampled_from(OPTIONS), st.floats(0.1, 2.0)),
    st.tuples(st.just("quote"), st.sampled_from(FUTURES), st.floats(0.85, 1.15)),
    st.tuples(
        st.just("trade"),
        st.sampled_from(["A", "B", "new"]),
        st.sampled_from(OPTIONS[:6] + FUTURES),
        st.integers(-30, 30).filter(bool),
        st.floats(0.8, 1.2),
    ),
    st.tuples(
        st.just("balance"), st.sampled_from(["A", "B", "new"]), st.sampled_from(["BTC", "ETH", "USDC"]), st.floats(-5.0, 5.0)
    ),
)


def start_book() -> tuple[ro.Book, ro.Balances]:
    names = [OPTIONS[0], OPTIONS[3], "BTC-PERPETUAL", "ETH-PERPETUAL", OPTIONS[-1], "BTC_USDC-PERPETUAL"]
    book = ro.Book.from_arrays(["A", "A", "A", "B", "B", "B"], names, [-5.0, 2.0, 20_000.0, -3_000.0, 10.0, 1.5],
                               instruments=MARKET.instruments)  # fmt: skip
    balances = ro.Balances.from_mapping({"A": {"BTC": 3.0, "USDC": 50_000}, "B": {"ETH": 40.0, "BTC": 0.5}})
    return book, balances


def restored_without(engine: ro.RiskEngine, *names: str) -> ro.RiskEngine:
    """``engine`` pickled without the attributes ``names`` (as an earlier version wrote it) and restored."""
    state = engine.__getstate__()
    for name in names:
        del state[name]
    old = ro.RiskEngine.__new__(ro.RiskEngine)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    return old


def call_of(engine: ro.RiskEngine, t: int, op: tuple[Any, ...]) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """The engine method, arguments and keywords of operation ``op`` at time ``t`` (prices read from ``engine``)."""
    kind = op[0]
    if kind == "index":
        return "on_index", (op[1], MARKET.index[op[1]] * op[2]), {"timestamp": t}
    if kind == "iv":
        return "on_ticker", (op[1],), {"mark_iv": op[2], "timestamp": t}
    if kind == "quote":
        return "on_quote", (op[1], engine.market.marks[op[1]] * op[2]), {"timestamp": t}
    if kind == "trade":
        _, account, name, lots, price_factor = op
        row = engine.table.row(name)
        inst = engine.table[row]
        size = 10.0 if (not inst.is_option and inst.settlement == "inverse") else 0.1
        if inst.is_option:
            price = max(float(engine._unit_value[row]) * price_factor, 1e-4)
        else:
            price = float(engine._mark[row]) * price_factor
        return "on_trade", (account, name, lots * size, price), {"fee": 0.0002 * abs(lots), "timestamp": t}
    return "on_balance", (op[1], op[2], op[3]), {"timestamp": t}


def run(engine: ro.RiskEngine, ops: list[tuple[Any, ...]]) -> None:
    for t, op in enumerate(ops, start=1):
        method, args, kwargs = call_of(engine, t, op)
        getattr(engine, method)(*args, **kwargs)


@pytest.mark.parametrize(
    "method, cross, model",
    [
        ("deribit-pm", True, "X:PM"),
        ("deribit-pm", False, "S:PM"),
        ("deribit-standard", True, "X:SM"),
        ("deribit-standard", False, "S:SM"),
        ("grid", True, "X:SM"),
        ("grid", False, "S:SM"),
    ],
)
@settings(max_examples=EXAMPLES)
@given(ops=st.lists(OPS, min_size=1, max_size=8))
# A fill just off the mark: the P&L is a difference of close numbers, so the book's average price must be the
# fill's to the bit.
@example(ops=[("index", "BTC", 1.125), ("trade", "new", "BTC_USDC-PERPETUAL", 13, 0.99999)])
def test_every_update_sequence_ends_where_a_from_scratch_computation_does(
    method: str, cross: bool, model: str, ops: list[tuple[Any, ...]]
) -> None:
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, method, balances=balances, cross=cross)
    assert_matches(engine, model)
    run(engine, ops)
    assert_matches(engine, model)


def test_the_sample_books_match_from_scratch_after_a_crash_and_trades() -> None:
    book, balances = ro.Book.sample("market_maker"), ro.Balances.sample("market_maker")
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    assert_matches(engine, "X:PM")
    run(engine, [("index", "BTC", 0.75), ("index", "ETH", 0.7), ("iv", OPTIONS[2], 1.4),
                 ("trade", "mm-btc", OPTIONS[1], -7, 1.0), ("quote", "BTC-25DEC26", 0.9)])  # fmt: skip
    assert_matches(engine, "X:PM")


# ---------------------------------------------------------------------------------------------- hand-worked
def test_futures_fill_averages_in_inverse_price_and_realises_on_close() -> None:
    """10,000 USD face at 40,000 plus 10,000 at 60,000: average 20,000 / (10,000/40,000 + 10,000/60,000) =
    48,000; selling 5,000 at 50,000 realises 5,000 x (1/48,000 - 1/50,000) = 0.00416667 BTC; selling 20,000
    more at 50,000 closes the other 15,000 (0.0125 BTC) and opens 5,000 short at 50,000."""
    held, avg, r = futures_fill(10_000.0, 40_000.0, 10_000.0, 60_000.0, True)
    assert (held, r) == (20_000.0, 0.0) and avg == pytest.approx(48_000.0, rel=1e-15)
    held, avg, r = futures_fill(held, avg, -5_000.0, 50_000.0, True)
    assert held == 15_000.0 and avg == pytest.approx(48_000.0, rel=1e-15)
    assert r == pytest.approx(5_000.0 * (1 / 48_000 - 1 / 50_000), rel=1e-12)
    held, avg, r = futures_fill(held, avg, -20_000.0, 50_000.0, True)
    assert held == -5_000.0 and avg == 50_000.0
    assert r == pytest.approx(15_000.0 * (1 / 48_000 - 1 / 50_000), rel=1e-12)
    # Linear: 2 BTC at 100 then 2 at 200 average 150; selling 1 at 180 realises 30.
    held, avg, _ = futures_fill(2.0, 100.0, 2.0, 200.0, False)
    assert avg == 150.0
    assert futures_fill(held, avg, -1.0, 180.0, False)[2] == pytest.approx(30.0)


def test_trades_move_cash_as_deribit_books_them() -> None:
    """Buying 2 BTC options at 0.05 BTC with a 0.0006 BTC fee takes 0.1006 BTC from the balance; equity
    changes by 2 x (mark - 0.05) - 0.0006.  A perpetual bought then sold 10 % higher realises its P&L into
    the balance: 10,000 x (1/P - 1/1.1P) BTC, minus the fees."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    name = OPTIONS[5]
    mark = float(engine._unit_value[engine.table.row(name)])
    before = engine.account("A")
    engine.on_trade("A", name, 2.0, 0.05, fee=0.0006)
    after = engine.account("A")
    assert after["balance_BTC"] == pytest.approx(before["balance_BTC"] - 0.1006, rel=1e-14)
    assert after["equity_BTC"] - before["equity_BTC"] == pytest.approx(2 * (mark - 0.05) - 0.0006, rel=1e-10)
    p = MARKET.marks["BTC-PERPETUAL"]
    engine.on_trade("C", "BTC-PERPETUAL", 10_000.0, p, fee=0.0001)
    engine.on_trade("C", "BTC-PERPETUAL", -10_000.0, 1.1 * p, fee=0.0001)
    c = engine.account("C")
    assert c["balance_BTC"] == pytest.approx(10_000.0 * (1 / p - 1 / (1.1 * p)) - 0.0002, rel=1e-12)
    assert c["initial_usd"] == 0.0  # flat again: the position is gone
    assert "C" not in engine.book.accounts.tolist()


def test_a_repeated_trade_id_and_an_older_quote_are_not_applied() -> None:
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    engine.on_trade("A", "BTC-PERPETUAL", 100.0, MARKET.marks["BTC-PERPETUAL"], trade_id="t1")
    once = engine.accounts()
    engine.on_trade("A", "BTC-PERPETUAL", 100.0, MARKET.marks["BTC-PERPETUAL"], trade_id="t1")
    assert engine.counters["duplicate_trades"] == 1
    np.testing.assert_array_equal(engine.accounts().initial_usd, once.initial_usd)
    engine.on_index("BTC", MARKET.index["BTC"] * 0.9, timestamp=100)
    moved = engine.accounts()
    engine.on_index("BTC", MARKET.index["BTC"] * 0.5, timestamp=99)
    assert engine.counters["out_of_order"] == 1
    assert engine.market.index["BTC"] == pytest.approx(MARKET.index["BTC"] * 0.9)
    np.testing.assert_array_equal(engine.accounts().initial_usd, moved.initial_usd)


# ---------------------------------------------------------------------------------------------- events
def test_a_crash_calls_then_liquidates_once_and_a_rebound_recovers() -> None:
    book, balances = ro.Book.sample("short_strangle"), ro.Balances.sample("short_strangle")
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    seen: list[ro.Event] = []
    engine.subscribe(seen.append)
    assert engine.account("strangle")["level"] == "ok"
    path = [1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.7, 0.65, 0.6, 0.6]
    for t, f in enumerate(path):
        engine.on_index("BTC", MARKET.index["BTC"] * f, timestamp=2 * t)
        engine.on_index("ETH", MARKET.index["ETH"] * f, timestamp=2 * t + 1)
    events = list(engine.events())
    assert [e.kind for e in events] == ["margin_call", "liquidation"]
    assert [e.kind for e in seen] == ["margin_call", "liquidation"]
    assert list(engine.events()) == []  # each event is given once
    call, liq = events
    assert call.figures["initial_usd"] > call.figures["margin_balance_usd"]
    assert liq.figures["maintenance_usd"] > liq.figures["margin_balance_usd"] * (1 - 1e-12)
    pnls = [c["pnl_usd"] for c in liq.contributors]
    assert pnls and pnls == sorted(pnls) and all(p < 0 for p in pnls)
    assert {c["instrument"] for c in liq.contributors} <= set(book.instruments.names.tolist())
    engine.on_index("BTC", MARKET.index["BTC"], timestamp=100)
    engine.on_index("ETH", MARKET.index["ETH"], timestamp=101)
    back = list(engine.events())
    assert back and all(e.kind == "recovery" for e in back) and back[-1].level == "ok"
    assert engine.at_risk(0.0)[0]["account"] == "strangle"


def test_the_first_accounts_at_risk_and_bad_limits() -> None:
    engine = random_engine(30, 5, seed=8)
    every = engine.at_risk(0.0)
    ratios = [r["mm_ratio"] for r in every]
    assert len(every) == 30 and ratios == sorted(ratios, reverse=True)
    for limit in (0, 1, 7, 30, 31, np.int64(4)):
        assert engine.at_risk(0.0, limit=limit) == every[:limit]
    above = [r for r in every if r["mm_ratio"] >= ratios[10]]
    assert engine.at_risk(ratios[10], limit=100) == above
    for limit, error in ((-1, ValueError), (2.0, TypeError), (True, TypeError), ("3", TypeError)):
        with pytest.raises(error, match="limit must be a non-negative integer or None"):
            engine.at_risk(0.0, limit=limit)


def random_engine(n: int, per_account: int, seed: int, method: str = "deribit-pm") -> ro.RiskEngine:
    """An engine on ``n`` accounts of ``per_account`` random positions each over the sample market's instruments,
    with random BTC, ETH and USDC balances."""
    rng = np.random.default_rng(seed)
    table = MARKET.instruments
    account = np.repeat(np.arange(n), per_account)
    rows = rng.integers(0, len(table), n * per_account)
    book = ro.Book.from_arrays(account, rows, rng.normal(0.0, 3.0, n * per_account).round(1), instruments=table)
    amounts = rng.uniform(0.0, 1.0, (n, 3)) * np.array([2.0, 30.0, 100_000.0])
    return ro.RiskEngine(book, MARKET, method, balances=ro.Balances(np.arange(n), ("BTC", "ETH", "USDC"), amounts))


@pytest.mark.parametrize(
    ("scale", "method", "model"),
    [(1.02, "deribit-pm", "X:PM"), (0.6, "deribit-pm", "X:PM"), (0.6, "deribit-standard", "X:SM"),
     (2.0, "grid", "X:SM")],
    ids=["small-move", "crash-in-vol", "crash-in-vol-standard", "vol-spike-grid"],
)
def test_a_markprice_message_ends_where_its_entries_one_by_one_do(scale: float, method: str, model: str) -> None:
    """A markprice.options message (every BTC option's mark and IV at once, one entry repeated and one out of
    order) leaves the engine, figure for figure and event for event, where its entries applied one by one
    leave it, and where a from-scratch computation does."""
    batch, single = random_engine(60, 8, seed=21, method=method), random_engine(60, 8, seed=21, method=method)
    names = sorted(n for n in MARKET.mark_iv if n.startswith("BTC-"))
    entries = [{"instrument_name": n, "mark_price": 0.01 + 1e-5 * i, "iv": MARKET.mark_iv[n] * scale,
                "timestamp": 1_000 + i} for i, n in enumerate(names)]  # fmt: skip
    entries.append({**entries[3], "iv": MARKET.mark_iv[names[3]] * scale * 1.1, "timestamp": 5_000})  # repeated
    entries.append({**entries[5], "iv": 3.0, "timestamp": 1})  # older than its entry above: ignored
    before = batch.accounts()
    list(batch.events())  # (none queued: the engine starts with its levels set)
    applied = batch.apply({"jsonrpc": "2.0", "method": "subscription",
                           "params": {"channel": "markprice.options.btc_usd", "data": entries}})  # fmt: skip
    assert applied == len(entries) - 1  # (the entry ignored as out of order is not applied)
    for e in entries:
        single.on_ticker(e["instrument_name"], mark_price=e["mark_price"], mark_iv=e["iv"], timestamp=e["timestamp"])
    assert batch.counters["out_of_order"] == single.counters["out_of_order"] == 1
    assert batch.counters["updates"] == single.counters["updates"] == len(entries) - 1
    assert batch.market.mark_iv == single.market.mark_iv and batch.market.marks == single.market.marks
    got, want = batch.accounts(), single.accounts()
    for name in ("initial_usd", "maintenance_usd", "margin_balance_usd", "available_usd", "mm_ratio"):
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=1e-12, atol=1e-9, err_msg=name)
    np.testing.assert_array_equal(got.below_maintenance, want.below_maintenance)
    np.testing.assert_array_equal(got.below_initial, want.below_initial)
    # One batch compares the levels once, at its end: an event for each account whose level it changed, of
    # that level (the entries one by one may pass through another level first).
    def level(view: Any, j: int) -> int:
        return 2 if view.below_maintenance[j] else int(bool(view.below_initial[j]))

    row = {a: j for j, a in enumerate(got.accounts.tolist())}
    events = {e.account: e.level for e in batch.events()}
    changed = {a for a, j in row.items() if level(got, j) != level(before, j)}
    assert set(events) == changed and (changed or scale == 1.02)  # (a vol crash or spike moves some accounts)
    assert all(events[a] == ("ok", "margin_call", "liquidation")[level(got, row[a])] for a in changed)
    assert_matches(batch, model)


def test_quotes_with_a_bad_vol_are_refused_whole_even_if_a_later_quote_of_that_option_replaces_it() -> None:
    """Options' quotes taken together reach the market as if one by one: a percentage vol is refused though
    the same option's next quote is a good one, and every quote with it."""
    from riskoffset.live.engine import TickerQuote

    engine = random_engine(10, 6, seed=3)
    names = sorted(n for n in MARKET.mark_iv if n.startswith("BTC-"))[7:9]
    before = dict(engine.market.mark_iv)
    quotes = [TickerQuote(names[1], None, 0.5, None, 9), TickerQuote(names[0], None, 65.0, None, 10),
              TickerQuote(names[0], None, 0.66, None, 11)]  # fmt: skip
    with pytest.raises(ValueError, match="percentage"):
        engine.quotes(quotes)
    assert engine.market.mark_iv == before


def test_the_events_of_a_tick_that_moves_many_accounts_carry_each_accounts_own_figures_and_contributors() -> None:
    """A crash moves hundreds of accounts at once: each event carries that account's row of the account view and
    its positions losing most in its worst scenario, recomputed here one position at a time."""
    engine = random_engine(600, 12, seed=5)
    engine.on_index("BTC", MARKET.index["BTC"] * 0.85, timestamp=1)
    events = list(engine.events())
    assert len(events) > 20
    view = engine.accounts()
    at = {a: i for i, a in enumerate(view.accounts.tolist())}
    positions = engine.book
    for e in events:
        i = at[e.account]
        assert e.figures["account"] == e.account and e.figures["level"] == e.level
        for name in ("margin_balance_usd", "initial_usd", "maintenance_usd", "available_usd", "mm_ratio"):
            assert e.figures[name] == float(getattr(view, name)[i]), name
        for c, cur in enumerate(view.currencies):
            for part in ("balance", "equity", "initial", "maintenance"):
                assert e.figures[f"{part}_{cur}"] == float(getattr(view, part)[i, c]), (part, cur)
        row = engine.positions.row_of[e.account]
        worst_key, worst_index, _ = engine._figures(np.array([row]))[2]
        k, j = int(worst_key[0]), int(worst_index[0])
        a = int(np.flatnonzero(positions.accounts == e.account)[0])
        held = range(positions.indptr[a], positions.indptr[a + 1])
        rate = float(engine._keys.index[k]) if engine._keys.coin[k] else 1.0
        losses = sorted(
            (float(positions.quantity[p]) * float(engine._inputs.vectors[r, j]) * rate, r)
            for p in held
            for r in [engine.table.row(str(positions.instruments.names[positions.indices[p]]))]
            if engine._inputs.instrument_key[r] == k
        )
        want = [(str(engine.table.names[r]), pnl) for pnl, r in losses[:3] if pnl < 0]
        assert [(c["instrument"], c["pnl_usd"]) for c in e.contributors] == want


def reference_worst(engine: ro.RiskEngine) -> dict[Any, tuple[str, str]]:
    """Per account with a margin, its worst group and scenario label as `ro.margin_accounts` finds them with the
    engine's book, market and balances (the bulk pass, which always finds the scenario)."""
    book, market, everyone = engine.book, engine.market, engine.balances
    keep = np.isin(everyone.accounts, book.accounts)
    balances = ro.Balances(everyone.accounts[keep], everyone.currencies, everyone.amounts[keep], allow_negative=True)
    ref = ro.margin_accounts(book, market, "deribit-pm", balances=balances)
    assert ref.worst_index is not None
    out = {}
    for i, a in enumerate(ref.account.tolist()):
        if ref.initial_usd[i] == 0.0:
            continue
        group = ref.group_names[int(ref.worst_group[i])]
        k = list(engine._keys.names).index(group)
        out[a] = (group, engine._labels[k][int(ref.worst_index[i])])
    return out


def assert_worst_scenarios_match(engine: ro.RiskEngine) -> None:
    """Each account's worst group and scenario as `account` shows them against `reference_worst`."""
    want = reference_worst(engine)
    assert want
    for a, (group, label) in want.items():
        got = engine.account(a)
        assert (got["worst_group"], got["worst_scenario"]) == (group, label), a


@pytest.mark.parametrize("lazy_from", [0, 10**9], ids=["every-update-bulk", "never-bulk"])
def test_worst_scenarios_after_bulk_updates_equal_the_bulk_pass(monkeypatch: pytest.MonkeyPatch, lazy_from: int) -> None:
    """A recomputation of many accounts leaves the scenario search to the queries: whichever updates ran (index
    moves, a vol tick, trades, a balance), `account` shows the worst scenario the bulk pass finds."""
    monkeypatch.setattr(ro.RiskEngine, "LAZY_WORST_ACCOUNTS", lazy_from)
    engine = random_engine(40, 8, seed=11)
    assert_worst_scenarios_match(engine)
    engine.on_index("BTC", MARKET.index["BTC"] * 0.93, timestamp=1)
    assert bool(engine._worst_stale.any()) == (lazy_from == 0)
    assert_worst_scenarios_match(engine)
    engine.on_index("ETH", MARKET.index["ETH"] * 1.08, timestamp=2)
    assert_worst_scenarios_match(engine)
    assert not engine._worst_stale.any()
    engine.on_ticker(OPTIONS[2], mark_iv=1.4, timestamp=3)
    assert_worst_scenarios_match(engine)
    # A held option's vol tick (its own compiled call) defers its holders' searches as other updates do.
    held = max(OPTIONS, key=lambda name: len(engine._holders_of_row(engine.table.row(name))))
    assert engine._kept_option(engine.table.row(held)) and not engine._worst_stale.any()
    engine.on_ticker(held, mark_iv=0.9, timestamp=3)
    assert bool(engine._worst_stale.any()) == (lazy_from == 0)
    assert_worst_scenarios_match(engine)
    engine.on_trade(3, OPTIONS[1], -4.0, 0.05)
    engine.on_balance(5, "BTC", 0.1)
    engine.on_index("BTC", MARKET.index["BTC"] * 1.05, timestamp=4)
    assert_worst_scenarios_match(engine)
    assert not engine._worst_stale.any()  # the queries found every scenario


@settings(max_examples=EXAMPLES)
@given(ops=st.lists(OPS, min_size=1, max_size=8))
def test_worst_scenarios_after_any_updates_that_all_defer_them(ops: list[tuple[Any, ...]]) -> None:
    """Whatever sequence of updates ran (index moves, vol ticks of held options and others, futures quotes,
    trades, balances), each deferring the search of every recomputed account's worst scenario, `account` shows
    the worst scenario the bulk pass finds."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    engine.LAZY_WORST_ACCOUNTS = 0  # (every recomputation leaves the worst scenarios for the queries to search)
    run(engine, ops)
    assert_worst_scenarios_match(engine)


def test_a_snapshot_with_one_stale_mark_per_account_restores_with_it_on_every_key() -> None:
    """Marks written per account (as an earlier version kept them) mean every key of that account: restored so,
    and the queries then find those accounts' worst scenarios."""
    engine = random_engine(30, 6, seed=4)
    state = engine.__getstate__()
    per_account = np.zeros(len(engine._level), dtype=bool)
    per_account[[2, 7]] = True
    state["_worst_stale"] = per_account
    old = ro.RiskEngine.__new__(ro.RiskEngine)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    assert old._worst_stale.shape == (len(old._level), len(old._keys.names))
    np.testing.assert_array_equal(old._worst_stale.all(axis=1), per_account)
    assert not old._worst_stale[~per_account].any()
    assert_worst_scenarios_match(old)
    assert not old._worst_stale.any()


def test_a_snapshot_from_before_the_stale_marks_restores(tmp_path: Any) -> None:
    """An engine pickled without the marks (as an earlier version wrote it) restores with none stale and ticks."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    old = restored_without(engine, "_worst_stale")
    assert not old._worst_stale.any() and len(old._worst_stale) == len(old._level)
    old.on_index("BTC", MARKET.index["BTC"] * 0.95, timestamp=1)
    assert_matches(old, "X:PM")


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("method, model", [("deribit-pm", "X:PM"), ("deribit-standard", "X:SM"), ("grid", "X:SM")])
def test_a_failed_update_changes_nothing(method: str, model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, method, balances=balances)
    before = pickle.dumps(engine.accounts())
    index_before = dict(engine.market.index)
    with pytest.raises(ValueError, match="mark_iv"):
        engine.on_ticker(OPTIONS[0], mark_iv=float("nan"))
    with pytest.raises(ValueError, match="not among the engine's instruments"):
        engine.on_trade("A", "BTC-1JAN99-1000-C", 1.0, 0.1)
    with pytest.raises(ValueError, match="quantity"):
        engine.on_trade("A", "BTC-PERPETUAL", float("inf"), 1.0)
    with pytest.raises(ValueError, match="price"):
        engine.on_trade("A", "BTC-PERPETUAL", 10.0, -1.0)
    with pytest.raises(ValueError, match="currency"):
        engine.on_balance("A", "DOGE", 1.0)

    real = engine._bind_refresh
    armed = [False]

    class Broken:  # the figures are written, then the update fails
        def __init__(self, *args: Any, **kwargs: Any):
            self.refresh = real(*args, **kwargs)
            self.trade = self.refresh.trade
            self.update_market = self.refresh.update_market

        def __call__(self, *a: Any) -> Any:
            out = self.refresh(*a)
            if armed[0]:
                armed[0] = False  # once: the restore recomputes with the working refresh
                raise ValueError("injected failure")
            return out

    broken = Broken

    monkeypatch.setattr(engine, "_bind_refresh", broken)
    engine._refresher_cache.clear()
    armed[0] = True
    with pytest.raises(ValueError, match="injected"):
        engine.on_index("BTC", MARKET.index["BTC"] * 0.5, timestamp=5)
    assert not armed[0]
    armed[0] = True
    with pytest.raises(ValueError, match="injected"):
        engine.on_trade("newcomer", "BTC-PERPETUAL", 10.0, MARKET.marks["BTC-PERPETUAL"])
    assert not armed[0]
    monkeypatch.undo()
    assert engine.market.index == index_before
    assert "newcomer" not in engine.positions.row_of
    assert pickle.dumps(engine.accounts()) == before
    assert_matches(engine, model)


def test_a_dated_future_reprices_what_its_curve_point_moves() -> None:
    """A dated future's mark moves the options priced on it (its expiry, or interpolated next to it), not one on its
    own ticker forward nor one beyond its neighbours; the others keep their kept columns (their vol ticks keep
    their own path); an option on its own forward too far from the new mark makes the update fail whole."""
    own, of_expiry, interpolated, far, near = (
        "BTC-29JAN27-100000-C", "BTC-25DEC26-100000-C", "BTC-18DEC26-95000-C", "BTC-25JUN27-100000-C",
        "BTC-26NOV26-95000-C",
    )  # fmt: skip
    names = ["BTC-25DEC26", of_expiry, interpolated, far, own, near]
    book = ro.Book.from_arrays(["A", "A", "A", "A", "B", "B"], names, [10_000.0, -3.0, 2.0, 1.0, -4.0, 2.5],
                               instruments=MARKET.instruments)  # fmt: skip
    balances = ro.Balances.from_mapping({"A": {"BTC": 2.0}, "B": {"BTC": 1.0, "USDC": 20_000}})
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    row = {n: engine.table.row(n) for n in names}
    forward_own = float(engine._option_columns.forward[row[own]]) * 1.002  # within the 1 % gap to its future
    engine.on_ticker(own, underlying_price=forward_own, timestamp=1)
    kept = {n: float(engine._option_columns.forward[row[n]]) for n in names[1:]}

    repriced: list[int] = []
    revalue = engine._revalue
    engine._revalue = lambda rows: (repriced.extend(np.asarray(rows).tolist()), revalue(rows))  # type: ignore[method-assign]
    engine.on_quote("BTC-25DEC26", MARKET.marks["BTC-25DEC26"] * 1.004, timestamp=2)
    del engine._revalue
    assert sorted(repriced) == sorted(row[n] for n in ("BTC-25DEC26", of_expiry, interpolated))
    assert_matches(engine, "X:PM")
    after = {n: float(engine._option_columns.forward[row[n]]) for n in names[1:]}
    assert after[of_expiry] == pytest.approx(kept[of_expiry] * 1.004, rel=1e-15)
    assert after[interpolated] > kept[interpolated]
    assert [after[n] for n in (far, own, near)] == [kept[n] for n in (far, own, near)]
    assert all(engine._kept_option(row[n]) for n in names[1:])  # kept columns current: vol ticks stay direct
    for t, n in enumerate((far, own, near, of_expiry), start=3):
        engine.on_ticker(n, mark_iv=0.7, timestamp=t)
    assert_matches(engine, "X:PM")

    # Batched with the coin's index move (as a replay batches one timestamp's messages): the coin is repriced.
    from riskoffset.live import IndexQuote, TickerQuote

    engine.quotes([TickerQuote("BTC-25DEC26", mark_price=engine.market.marks["BTC-25DEC26"] * 0.998, timestamp=8),
                   IndexQuote("BTC", engine.market.index["BTC"] * 1.01, timestamp=8)])  # fmt: skip
    assert_matches(engine, "X:PM")

    before, mark = pickle.dumps(engine.accounts()), engine.market.marks["BTC-29JAN27"]
    with pytest.raises(ro.MarketDataError, match=own):
        engine.on_quote("BTC-29JAN27", mark * 1.05, timestamp=10)
    assert engine.market.marks["BTC-29JAN27"] == mark
    assert pickle.dumps(engine.accounts()) == before
    assert_matches(engine, "X:PM")


def test_a_coin_tick_reads_each_account_from_its_first_to_its_last_position_of_that_coin() -> None:
    """The engine keeps each account's positions sorted by instrument row, so a coin's tick starts reading an
    account at its first position of the coin's instruments (found by a search) and stops at its first past them.
    The compiled refresh checks that order: given a segment out of order it reads every position (the same
    figures), and a row outside the table is refused."""
    book, balances = start_book()
    market = MARKET.copy()
    market.instruments = None  # the engine's table is the book's: BTC rows, then ETH rows
    engine = ro.RiskEngine(book, market, balances=balances)
    twin = ro.RiskEngine(book, market, balances=balances)
    assert [twin._base[i] for i in range(len(twin.table))] == ["BTC"] * 4 + ["ETH"] * 2
    p = twin.positions
    for column in (p.indices, p.quantity, p.average):  # (read-only as the engine keeps them: written from outside)
        column.flags.writeable = True
    a = p.row_of["B"]
    s, e = int(p.start[a]), int(p.end[a])
    assert (np.diff(p.indices[s:e]) > 0).all()
    order = np.arange(s, e)[::-1]
    for column in (p.indices, p.quantity, p.average):
        column[s:e] = column[order]
    bases = [twin._base[int(i)] for i in p.indices[s:e]]
    assert bases[0] == "ETH" and bases[-1] == "BTC"  # B's BTC position now comes after its ETH ones
    for coin, timestamp in (("BTC", 1), ("ETH", 2)):  # ETH's rows follow BTC's: its tick searches where they start
        for engine_ in (engine, twin):
            engine_.on_index(coin, market.index[coin] * 0.93, timestamp=timestamp)
        assert_matches(engine, "X:PM")
        assert_matches(twin, "X:PM")
        mine, theirs = engine.accounts(), twin.accounts()
        for name in ("initial_usd", "maintenance_usd", "margin_balance_usd"):
            np.testing.assert_allclose(getattr(theirs, name), getattr(mine, name), rtol=1e-13)
    p.indices[s] = len(twin.table) + 5
    with pytest.raises(ValueError, match="outside the table"):
        twin._refresh(np.array([a], dtype=np.int64), keys=twin._keys_of("BTC"), emit=False)
    p.indices[s] = -1
    with pytest.raises(ValueError, match="outside the table"):
        twin._refresh(np.array([a], dtype=np.int64), keys=twin._keys_of("BTC"), emit=False)


@pytest.mark.parametrize("method, model", [("deribit-pm", "X:PM"), ("grid", "X:SM")])
@pytest.mark.parametrize("fee_currency", [None, "other"])
def test_a_trade_whose_figures_overflow_changes_nothing(fee_currency: str | None, method: str, model: str) -> None:
    """The compiled trade of an account on an instrument it holds: a premium that overflows to infinity makes
    its equity non-finite, so the trade is refused and the account's positions, balances and figures are
    exactly as before (its fee too, in the settlement currency or in another one)."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, method, balances=balances)
    account = engine.positions.labels[0]
    row = engine.positions.row_of[account]
    held = int(engine.positions.indices[engine.positions.start[row]])
    name = str(engine.table.names[held])
    assert engine.table.kind[held] == 2, name  # an option: its premium moves the balance
    if fee_currency is not None:
        fee_currency = next(c for c in engine.currencies if c != engine._settle_currency[held])
    before = pickle.dumps(engine.accounts())
    segment = engine.positions.segment(row)
    with pytest.raises(ValueError, match="not a finite number"):
        engine.on_trade(account, name, 1e10, 1e300, fee=3.0, fee_currency=fee_currency)
    assert pickle.dumps(engine.accounts()) == before
    assert repr(engine.positions.segment(row)) == repr(segment)  # NaN average prices compare by repr
    engine.on_trade(account, name, 1.0, 0.01)  # the engine goes on
    assert_matches(engine, model)


# ---------------------------------------------------------------------------------------------- the pool
def test_a_long_run_of_trades_keeps_the_pool_within_8_3_of_the_positions_and_every_figure_true() -> None:
    """Each trade that opens or closes a position writes its account's new segment at the end of the engine's
    pool; one that changes a position's size writes it where it lies (the pool does not grow).  Over thousands of
    trades the pool drops what they left behind rather than growing without end: it doubles only when the
    accounts' positions fill more than three quarters of it, so its capacity stays below 8/3 of what they hold.
    After collections, the vol ticks still find every holder (the holders' index is kept, or rebuilt when many
    accounts traded) and every figure equals a from-scratch recomputation."""
    market = MARKET
    rng = np.random.default_rng(7)
    names = [n for n in OPTIONS if n.startswith("BTC-")][:6] + ["BTC-PERPETUAL"]
    accounts = [f"acct-{i}" for i in range(40)]
    rows = [(a, n, float(rng.choice([-2.0, -1.0, 1.0, 3.0]))) for a in accounts for n in rng.choice(names, 4, replace=False)]
    book = ro.Book.from_arrays([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], instruments=market.instruments)
    balances = ro.Balances.from_mapping({a: {"BTC": 5.0, "USDC": 20_000.0} for a in accounts})
    engine = ro.RiskEngine(book, market, balances=balances)
    p = engine.positions
    held = int((p.end - p.start).sum())
    capacities, collections, size_before, most, in_place = set(), 0, p.size, held, 0
    for t in range(3_000):
        account, name = accounts[int(rng.integers(len(accounts)))], names[int(rng.integers(len(names)))]
        side = 10.0 if name.endswith("PERPETUAL") else 0.1
        a, row = p.row_of[account], engine.table.row(name)
        was, start = p.segment(a).get(row, [0.0])[0], int(p.start[a])
        closes = was != 0.0 and t % 3 == 0  # a third of the trades close what they hold
        engine.on_trade(account, name, -was if closes else side * float(rng.choice([-1.0, 1.0])),
                        market.marks.get(name, 0.01) if name.endswith("PERPETUAL") else 0.01)  # fmt: skip
        resized = was != 0.0 and p.segment(a).get(row, [0.0])[0] != 0.0
        if resized:  # written where it lies
            assert (p.size, int(p.start[a])) == (size_before, start), t
            in_place += 1
        collections += p.size < size_before
        size_before = p.size
        capacities.add(len(p.indices))
        most = max(most, int((p.end - p.start).sum()))
        if t % 25 == 0:  # the holders of an instrument, from the index and the traded accounts' own segments
            row = engine.table.row(names[t % len(names)])
            mask = np.zeros(len(engine.table), dtype=bool)
            mask[row] = True
            truth = [r for r in range(len(p)) if row in p.indices[p.start[r] : p.end[r]].tolist()]
            assert p.holders(mask).tolist() == truth, t
            assert engine._holders_of_row(row).tolist() == truth, t  # kept, and brought up to date by the trades
            coin = set(np.flatnonzero(engine.table.underlying == engine.table.underlying[row]).tolist())
            truth = [r for r in range(len(p)) if coin & set(p.indices[p.start[r] : p.end[r]].tolist())]
            assert engine._holders_of(engine._base[row]).tolist() == truth, t
        if t % 500 == 250:  # an index tick: every BTC holder, found from the kept holders, recomputed
            engine.on_index("BTC", market.index["BTC"] * (1.0 + 0.002 * (t % 3)))
        if t == 1_500:
            assert_matches(engine, "X:PM")
        if t % 500 == 499:  # a vol tick on an option the traders hold: its holders from the (kept) index
            option = names[t % 6]
            engine.on_ticker(option, mark_iv=float(market.mark_iv[option]) * (1.0 + 0.01 * (t % 3)))
            holders = set(engine._holders_of_row(engine.table.row(option)).tolist())
            truth = {r for r in range(len(p)) if engine.table.row(option) in p.indices[p.start[r] : p.end[r]].tolist()}
            assert holders == truth
    assert collections >= 3, collections  # the pool was collected, not only grown
    assert in_place > 500, in_place
    assert max(capacities) <= 8 * most / 3 + 64, (sorted(capacities), most)
    assert_matches(engine, "X:PM")


def test_the_pool_is_not_collected_inside_an_update_that_may_be_undone() -> None:
    """A trade on an instrument no account held yet goes the general way: inside an update whose undo keeps the
    account's place in the pool.  When the pool is full then, it grows rather than being collected (which would
    move every account), so a trade that fails (an overflowing premium) still puts everything back."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    p = engine.positions
    a = p.row_of["A"]
    length = int(p.end[a] - p.start[a])
    for i in range(100):  # what trades leave behind (A opens and closes a position B holds): most of the pool
        engine.on_trade("A", OPTIONS[-1], -1.0 if i % 2 else 1.0, 0.01)
    assert p.row_of["A"] not in engine._holders_of_row(engine.table.row(OPTIONS[-1])).tolist()
    assert len(p.indices) - p.size > length
    p.size = len(p.indices) - length  # the pool full for A's next segment (its tail as if trades had left it)
    unheld = next(n for n in OPTIONS if not engine._held[engine.table.row(n)])
    before, segments = pickle.dumps(engine.accounts()), [repr(p.segment(r)) for r in range(len(p))]
    capacity = len(p.indices)
    with pytest.raises(ValueError, match="not a finite number"):
        engine.on_trade("A", unheld, 1e10, 1e300)
    assert len(p.indices) > capacity  # grown, not collected
    assert pickle.dumps(engine.accounts()) == before
    assert [repr(p.segment(r)) for r in range(len(p))] == segments
    engine.on_trade("A", unheld, 1.0, 0.01)
    assert_matches(engine, "X:PM")


def test_accounts_added_one_at_a_time_and_one_dropped_by_an_undone_update_keep_every_figure_true() -> None:
    """New accounts arrive one by one (a deposit, a first trade): the per-account arrays grow into room kept for
    them.  An update that adds an account and then fails drops it again; the next new account takes its row and
    starts from nothing."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    for i in range(40):
        if i % 2:
            engine.on_balance(f"new-{i}", "BTC", 0.5 + i)
        else:
            engine.on_trade(f"new-{i}", OPTIONS[i % 5], 1.0 + i, 0.01)
    assert_matches(engine, "X:PM")
    n = len(engine.positions)
    with pytest.raises(ValueError, match="not a finite number"):
        engine.on_trade("dropped", OPTIONS[1], 1e10, 1e300)  # a new account whose premium overflows: undone
    assert len(engine.positions) == n and "dropped" not in engine.positions.row_of
    engine.on_balance("after", "ETH", 2.0)  # takes the dropped account's row
    view = engine.account("after")
    assert view["balance_ETH"] == 2.0 and view["equity_ETH"] == 2.0
    assert view["balance_BTC"] == 0.0 and view["equity_BTC"] == 0.0 and view["initial_usd"] == 0.0
    assert_matches(engine, "X:PM")


def test_rows_grown_again_after_a_drop_start_from_the_fill_value() -> None:
    """The stores behind the per-account arrays: rows dropped (a view of fewer rows) and grown again start from
    the fill value, whatever was written in them before; a full store doubles and keeps the rows it had."""
    from riskoffset.live.rows import RowStores

    stores = RowStores()
    a = stores.grown("x", np.zeros((0, 2)), 3, -1.0)
    a[:] = 7.0
    b = stores.grown("x", a[:1], 3, -1.0)  # two rows dropped, then taken again
    assert b.tolist() == [[7.0, 7.0], [-1.0, -1.0], [-1.0, -1.0]]
    assert np.shares_memory(a, b)  # in the same store
    c = stores.grown("x", b, 40, -1.0)  # past the store's room: a new one, the rows kept
    assert c[:3].tolist() == b.tolist() and (c[3:] == -1.0).all() and not np.shares_memory(b, c)


# ---------------------------------------------------------------------------------------------- snapshots
def test_a_restored_snapshot_continues_exactly_like_the_original(tmp_path: Any) -> None:
    book, balances = ro.Book.sample("market_maker"), ro.Balances.sample("market_maker")
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    first = [("index", "BTC", 0.9), ("trade", "mm-btc", OPTIONS[1], -3, 1.0), ("iv", OPTIONS[2], 1.1)]
    rest = [("index", "BTC", 0.7), ("quote", "BTC-PERPETUAL", 0.95), ("balance", "mm-eth", "ETH", -100.0)]
    run(engine, first)
    engine.snapshot(tmp_path / "engine.snap", line=3)
    restored = ro.RiskEngine.restore(tmp_path / "engine.snap")
    assert restored.snapshot_meta == {"line": 3}
    run(engine, rest)
    run(restored, rest)
    a, b = engine.accounts(), restored.accounts()
    for name in ("initial_usd", "maintenance_usd", "margin_balance_usd", "equity", "balance"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert pickle.loads(pickle.dumps(engine)).accounts().initial_usd.tolist() == a.initial_usd.tolist()
    (tmp_path / "junk").write_bytes(pickle.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a riskoffset engine snapshot"):
        ro.RiskEngine.restore(tmp_path / "junk")


def test_a_damaged_snapshot_is_refused_not_restored(tmp_path: Any) -> None:
    """A snapshot carries its SHA-256: a byte changed anywhere after it was written (a value of an array included,
    which unpickles without a word) and a file cut short are refused with the path named; a bare pickle (how
    snapshots were written before) still restores."""
    engine = ro.RiskEngine(ro.Book.sample("market_maker"), MARKET, balances=ro.Balances.sample("market_maker"))
    good = tmp_path / "engine.snap"
    engine.snapshot(good)
    data = good.read_bytes()
    assert data.startswith(SNAPSHOT_HEADER)
    expected = engine.accounts().initial_usd.tolist()
    for at in (len(SNAPSHOT_HEADER) + 3, len(data) // 2, len(data) - 9):  # the checksum, the middle, near the end
        bad = bytearray(data)
        bad[at] ^= 0x10
        (tmp_path / "bad.snap").write_bytes(bytes(bad))
        with pytest.raises(ValueError, match=r"bad\.snap: the snapshot is corrupted"):
            ro.RiskEngine.restore(tmp_path / "bad.snap")
    (tmp_path / "cut.snap").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match=r"cut\.snap: the snapshot is corrupted"):
        ro.RiskEngine.restore(tmp_path / "cut.snap")
    (tmp_path / "cut-bare.snap").write_bytes(pickle.dumps(engine.snapshot_document())[:1000])
    with pytest.raises(ValueError, match=r"cut-bare\.snap: not a readable riskoffset snapshot \(UnpicklingError"):
        ro.RiskEngine.restore(tmp_path / "cut-bare.snap")
    (tmp_path / "bare.snap").write_bytes(pickle.dumps(engine.snapshot_document()))
    assert ro.RiskEngine.restore(tmp_path / "bare.snap").accounts().initial_usd.tolist() == expected
    assert ro.RiskEngine.restore(good).accounts().initial_usd.tolist() == expected


def test_the_engine_refuses_what_it_cannot_use() -> None:
    book, balances = start_book()
    with pytest.raises(TypeError, match="Book"):
        ro.RiskEngine("book.csv", MARKET)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dynamic_collateral"):
        ro.RiskEngine(book, MARKET, "deribit-standard", dynamic_collateral=True)
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    with pytest.raises(ValueError, match="no SOL index"):
        engine.on_index("SOL", 100.0)
    with pytest.raises(ValueError, match="not in the engine"):
        engine.account("nobody")
    assert math.isfinite(engine.account("A")["mm_ratio"])


def test_a_deribit_ticker_object_is_read_as_deribit_sends_it() -> None:
    """``on_ticker`` takes Deribit's ticker object: mark_iv 65.0 (percent) is the decimal 0.65 the keyword
    form takes, so both engines end equal; a malformed object is refused with the field named."""
    book, balances = start_book()
    a, b = (ro.RiskEngine(book, MARKET, balances=balances) for _ in range(2))
    name = OPTIONS[0]
    a.on_ticker({"instrument_name": name, "timestamp": 5, "mark_iv": 65.0, "mark_price": 0.01,
                 "underlying_price": MARKET.index["BTC"]})  # fmt: skip
    b.on_ticker(name, mark_iv=0.65, mark_price=0.01, underlying_price=MARKET.index["BTC"], timestamp=5)
    assert a.market.mark_iv[name] == b.market.mark_iv[name] == 0.65
    np.testing.assert_array_equal(a.accounts().initial_usd, b.accounts().initial_usd)
    with pytest.raises(ValueError, match="mark_iv"):
        a.on_ticker({"instrument_name": name, "timestamp": 6, "mark_iv": "high"})


def test_listed_instruments_without_quotes_are_left_out_not_fatal() -> None:
    """A market that lists instruments it has no quotes for (an option without mark or IV, a SOL future
    without a SOL index) still runs the engine; those instruments cannot be traded (a clear error)."""
    extra = ro.InstrumentTable.from_names(["BTC-25DEC26-250000-C", "SOL_USDC-PERPETUAL"])
    listed = ro.InstrumentTable(list(MARKET.instruments) + list(extra))
    market = ro.Market(MARKET.valuation_time, index=MARKET.index, marks={**MARKET.marks, "SOL_USDC-PERPETUAL": 150.0},
                       mark_iv=MARKET.mark_iv, forwards=MARKET.forwards, instruments=listed)  # fmt: skip
    book, balances = start_book()
    engine = ro.RiskEngine(book, market, balances=balances)
    assert "BTC-25DEC26-250000-C" not in engine.table and "SOL_USDC-PERPETUAL" not in engine.table
    with pytest.raises(ValueError, match="not among the engine's instruments"):
        engine.on_trade("A", "BTC-25DEC26-250000-C", 1.0, 0.001)
    engine.on_trade("A", OPTIONS[7], 1.0, 0.01)  # a listed, quoted instrument still trades
    assert_matches(engine, "X:PM")


# ---------------------------------------------------------------------------------------------- messages
PRICES = st.one_of(st.floats(), st.integers(-10, 10**6), st.text(max_size=4), st.none(), st.booleans())
MESSAGES = st.one_of(
    st.fixed_dictionaries({"channel": st.sampled_from(["deribit_price_index.btc_usd", "deribit_price_index.eth_usd"]),
                           "data": st.fixed_dictionaries({"index_name": st.sampled_from(["btc_usd", "eth_usd"]),
                                                          "price": PRICES, "timestamp": st.integers(0, 10**13)})}),
    st.fixed_dictionaries({"channel": st.just("ticker.x.raw"),
                           "data": st.fixed_dictionaries({"instrument_name": st.sampled_from(OPTIONS[:4] + FUTURES + ["NOPE"]),
                                                          "timestamp": st.integers(0, 10**13)},
                                                         optional={"mark_iv": PRICES, "mark_price": PRICES,
                                                                   "underlying_price": PRICES})}),
    st.fixed_dictionaries({"account": st.sampled_from(["A", "B", "C"]), "channel": st.just("user.trades.any.any.raw"),
                           "data": st.lists(st.fixed_dictionaries({
                               "trade_id": st.text(max_size=3), "instrument_name": st.sampled_from(OPTIONS[:3] + FUTURES),
                               "direction": st.sampled_from(["buy", "sell", "zero"]), "amount": PRICES, "price": PRICES,
                               "fee": PRICES, "fee_currency": st.sampled_from(["BTC", "ETH", "USDC", "XYZ"]),
                               "timestamp": st.integers(0, 10**13)}), max_size=2)}),
    st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=8), st.integers()), max_size=3),
)  # fmt: skip


@settings(max_examples=EXAMPLES)
@given(messages=st.lists(MESSAGES, max_size=10))
def test_any_messages_leave_the_engine_consistent(messages: list[Any]) -> None:
    """Arbitrary (mostly malformed) notifications on a non-strict engine: nothing escapes but what `apply`
    records, and the state stays the from-scratch state of the book, market and balances it ends with."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    for line, message in enumerate(messages, start=1):
        engine.apply(message, line=line)
    assert all(line is not None for line, _ in engine.errors)
    assert_matches(engine, "X:PM")


# ---------------------------------------------------------------------------------------------- threads
def test_updates_from_several_threads_take_turns() -> None:
    """Two threads feeding index moves and trades at once (the compiled refresh releases the GIL): every update
    applies whole, and the engine ends where a from-scratch computation does."""
    import threading

    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    errors: list[BaseException] = []

    def ticks() -> None:
        try:
            for i in range(200):
                engine.on_index("BTC", MARKET.index["BTC"] * (1.0 + 0.01 * ((i % 7) - 3)))
        except BaseException as exc:  # noqa: BLE001 - a thread's failure is reported by the main thread
            errors.append(exc)

    def trades() -> None:
        try:
            for i in range(200):
                engine.on_trade("A" if i % 2 else "B", OPTIONS[i % 6], 0.1 if i % 3 else -0.1, 0.01)
        except BaseException as exc:  # noqa: BLE001 - a thread's failure is reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=ticks), threading.Thread(target=trades)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    assert engine.counters["updates"] == 400
    assert_matches(engine, "X:PM")


@pytest.mark.parametrize("method, model", [("deribit-pm", "X:PM"), ("grid", "X:SM")])
def test_a_balance_whose_equity_overflows_changes_nothing(method: str, model: str) -> None:
    """The compiled balance update of an existing account: a deposit that overflows its equity to infinity is
    refused and the account is exactly as before; a set balance and a deposit otherwise match a from-scratch
    computation."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, method, balances=balances)
    account = engine.positions.labels[0]
    engine.set_balance(account, "USDC", 1.5e308)
    before = pickle.dumps(engine.accounts())
    with pytest.raises(ValueError, match="not a finite number"):
        engine.on_balance(account, "USDC", 1.5e308)
    assert pickle.dumps(engine.accounts()) == before
    engine.set_balance(account, "USDC", 25_000.0)
    engine.on_balance(account, "BTC", -0.25)
    assert engine.account(account)["balance_USDC"] == 25_000.0
    assert_matches(engine, model)


@pytest.mark.parametrize("currencies", [("BTC", "ETH", "USDC"), ("BTC", "ETH", "USDC", "USDT"),
                                        ("BTC", "ETH", "USDC", "USDT", "STETH")])  # fmt: skip
def test_every_number_of_currencies_settles_as_the_account_view(currencies: tuple[str, ...]) -> None:
    """The compiled settle has an instance for three and for four currencies and a general one: each ends where
    the account view computed from scratch ends, after index moves and a trade."""
    market = MARKET.copy()
    market.update(index={"STETH": MARKET.index["ETH"] * 0.998})
    rng = np.random.default_rng(len(currencies))
    table = market.instruments
    n = 60
    account = np.repeat(np.arange(n), 6)
    rows = rng.integers(0, len(table), n * 6)
    book = ro.Book.from_arrays(account, rows, rng.normal(0.0, 2.0, n * 6).round(1), instruments=table)
    scale = {"BTC": 2.0, "ETH": 30.0, "USDC": 100_000.0, "USDT": 50_000.0, "STETH": 20.0}
    amounts = rng.uniform(0.0, 1.0, (n, len(currencies))) * np.array([scale[c] for c in currencies])
    engine = ro.RiskEngine(book, market, balances=ro.Balances(np.arange(n), currencies, amounts))
    assert engine.currencies == currencies
    engine.on_index("BTC", market.index["BTC"] * 0.9, timestamp=1)
    engine.on_index("ETH", market.index["ETH"] * 1.1, timestamp=2)
    engine.on_trade(3, OPTIONS[2], -2.0, 0.02)
    assert_matches(engine, "X:PM")


def test_a_snapshot_from_before_the_spot_rows_restores_and_trades() -> None:
    """An engine pickled without its per-instrument spot flags (as an earlier version wrote it) restores with
    them: a spot trade moves the balances (no position), a perpetual's goes through the one compiled call, and
    both end where a from-scratch computation does."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    old = restored_without(engine, "_spot")
    assert old._spot == engine._spot and sum(old._spot) >= 1
    before = old.account("A")
    old.on_trade("A", "BTC_USDC", 0.5, 90_000.0, fee=3.0, timestamp=1)
    after = old.account("A")
    assert after["balance_BTC"] == before["balance_BTC"] + 0.5
    assert after["balance_USDC"] == before["balance_USDC"] - 0.5 * 90_000.0 - 3.0
    old.on_trade("A", "BTC-PERPETUAL", 10_000.0, MARKET.marks["BTC-PERPETUAL"], timestamp=2)
    assert_matches(old, "X:PM")


def test_a_standard_margin_snapshot_from_before_the_kept_units_restores_and_ticks() -> None:
    """An engine under deribit-standard pickled without its per-instrument unit margins (as an earlier version
    wrote it) restores with them, and an index move and a trade then end where a from-scratch computation does."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, "deribit-standard", balances=balances)
    old = restored_without(engine, "_standard", "_standard_params", "_standard_col")
    assert old._standard is not None and old._standard_col is not None
    old.on_index("BTC", MARKET.index["BTC"] * 0.93, timestamp=1)
    old.on_trade("B", OPTIONS[0], -2.0, 0.01, timestamp=2)
    assert_matches(old, "X:SM")


def test_a_method_the_engine_does_not_keep_is_refused_by_name(run_cli: Any) -> None:
    """A method outside LIVE_METHODS is refused at construction with the methods it keeps, in Python and in the
    replay command."""
    book, balances = start_book()
    with pytest.raises(ValueError, match="method 'nonsense': the live engine margins under deribit-pm, "):
        ro.RiskEngine(book, MARKET, "nonsense", balances=balances)
    code, _, err = run_cli("replay", "--sample", "--method", "nonsense")
    assert code == 2 and "deribit-standard, grid, span" in err


def test_a_refused_quote_does_not_make_the_quotes_before_it_look_out_of_order() -> None:
    """Quotes of a batch are applied together; when the batch fails (here the last quote overflows an account's
    USD figures: 1e300 BTC at an index of 1e10), each message is applied on its own.  The failed attempt took the
    refused quote's time: it is put back, so the earlier BTC quote still applies (it was once counted out of
    order and dropped).  One message applied alone gives the same state."""
    from riskoffset.live import IndexUpdate
    from riskoffset.live.samples import sample_venue

    book, balances = sample_venue()
    engines = [ro.RiskEngine(book, MARKET, balances=balances) for _ in range(2)]
    btc, eth = MARKET.index["BTC"], MARKET.index["ETH"]
    batch = [(10, [IndexUpdate("BTC", btc * 0.9, 3)]), (11, [IndexUpdate("ETH", eth * 0.8, 4)]),
             (12, [IndexUpdate("BTC", 1e10, 5)])]  # fmt: skip
    for e in engines:
        e.set_balance(book.accounts[0], "BTC", 1e300, timestamp=1)
    assert engines[0].apply_updates(batch) == 2
    for line, updates in batch:
        engines[1].apply_updates([(line, updates)])
    for e in engines:
        assert e.market.index["BTC"] == btc * 0.9 and e.market.index["ETH"] == eth * 0.8
        assert e.counters["out_of_order"] == 0 and e.counters["rejected"] == 1
        assert [line for line, _ in e.errors] == [12] and "not a finite number" in e.errors[0][1]
    np.testing.assert_array_equal(engines[0].accounts().margin_balance_usd, engines[1].accounts().margin_balance_usd)
    assert_matches(engines[0], "X:PM")


def test_a_failed_update_puts_back_the_options_kept_columns() -> None:
    """A batch of a dated future's ticker (it moves the BTC forward curve, so the options it moves are repriced and
    their kept columns take the new forwards) and an ETH index move that overflows an account fails; the ticker
    alone then applies.  The options' kept columns must be back to what they were: the ticker finds the options it
    moves by comparing them with the market's forwards, and columns left at the new forwards hid the move (an
    option's value stayed at the old forward)."""
    from riskoffset.live import IndexUpdate, TickerUpdate

    book, _ = start_book()
    balances = ro.Balances.from_mapping({"A": {"BTC": 3.0, "USDC": 50_000}, "W": {"ETH": 1e300}})
    mark = MARKET.marks["BTC-25DEC26"] * 0.875
    items = [(1, [TickerUpdate("BTC-25DEC26", 1, mark, None, None, None)]),
             (2, [IndexUpdate("ETH", MARKET.index["ETH"] * 1e7, 2)])]  # fmt: skip
    engine, alone = ro.RiskEngine(book, MARKET, balances=balances), ro.RiskEngine(book, MARKET, balances=balances)
    assert engine.apply_updates(items) == 1 and [line for line, _ in engine.errors] == [2]
    alone.apply_updates(items[:1])
    np.testing.assert_array_equal(engine._unit_value, alone._unit_value)
    np.testing.assert_array_equal(engine.accounts().equity, alone.accounts().equity)
    assert_matches(engine, "X:PM")


@pytest.mark.parametrize("method", ["deribit-pm", "deribit-standard", "grid"])
def test_one_account_s_figures_are_those_of_the_many_account_query(method: str) -> None:
    """`account` (one compiled call giving one account's figures) and the figures of many accounts at once (an
    array per figure) give the same dictionary, bit for bit, after updates of every kind."""
    engine = random_engine(40, 8, seed=9, method=method)
    engine.on_index("BTC", MARKET.index["BTC"] * 0.91, timestamp=1)
    engine.on_ticker(OPTIONS[2], mark_iv=1.3, timestamp=2)
    engine.on_trade(3, OPTIONS[1], -4.0, 0.05)
    engine.on_balance(5, "USDC", -1_000.0)
    rows = np.arange(len(engine.positions), dtype=np.int64)
    many = engine._rows(rows)
    for row, label in enumerate(engine.positions.labels):
        assert engine.account(label) == many[row], label


def test_a_position_may_not_outgrow_what_a_book_nets() -> None:
    """A fill that would take a position to 9e10 in size or beyond (the largest a Book nets exactly in units of
    1e-8) is refused, naming the account and the instrument, with nothing changed; so is a what-if whose fills
    would; just below the limit the engine's book still builds and a fill back nets to the position before."""
    name = OPTIONS[0]
    book = ro.Book.from_arrays(["A"], [name], [-5.0], instruments=MARKET.instruments)
    engine = ro.RiskEngine(book, MARKET, balances=ro.Balances.from_mapping({"A": {"BTC": 3.0}}))
    before = engine.account("A")
    with pytest.raises(ValueError, match=rf"trade of account 'A' in {name}: the position would be .*below 9e\+10"):
        engine.on_trade("A", name, 1e11, 0.05)
    with pytest.raises(ValueError, match=r"what-if of account 'A': fill 1: the position would be"):
        engine.what_if("A", [(name, 5e10, 0.05), (name, 5e10, 0.05)])
    assert engine.account("A") == before and engine.book.quantity.tolist() == [-5.0]
    engine.on_trade("A", name, 8.9e10, 0.05)
    assert engine.book.quantity.tolist() == [8.9e10 - 5.0]
    engine.on_trade("A", name, -8.9e10, 0.05)  # (exact below 2**53 units; here within the doubles' spacing)
    assert engine.book.quantity.tolist() == pytest.approx([-5.0], abs=np.spacing(9e10))


@pytest.mark.parametrize(
    "call",
    [
        lambda e, x: e.on_trade("A", "BTC-PERPETUAL", x, 90000.0),
        lambda e, x: e.on_trade("A", "BTC-PERPETUAL", 10.0, x),
        lambda e, x: e.on_trade("A", "BTC-PERPETUAL", 10.0, 90000.0, fee=x),
        lambda e, x: e.on_balance("A", "BTC", x),
        lambda e, x: e.set_balance("A", "BTC", x),
        lambda e, x: e.on_index("BTC", x),
        lambda e, x: e.on_quote("BTC-PERPETUAL", x),
        lambda e, x: e.on_ticker(OPTIONS[0], mark_iv=x),
        lambda e, x: e.at_risk(x),
        lambda e, x: e.what_if("A", [("BTC-PERPETUAL", x, 90000.0)]),
    ],
)
def test_an_int_beyond_the_float_range_is_a_value_error(call: Any) -> None:
    """A Python int too large for a float (10**400) is refused as a non-finite number (ValueError, the value
    shortened in the message as every error excerpts a value), never an OverflowError, and changes nothing."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    before = engine.accounts()
    with pytest.raises(ValueError, match=r"must be finite, got 1(0){36}\.\.\.$"):
        call(engine, 10**400)
    after = engine.accounts()
    np.testing.assert_array_equal(after.initial, before.initial)
    np.testing.assert_array_equal(after.equity, before.equity)


@pytest.mark.parametrize("labels", [["A"], [1]], ids=["str labels", "int labels"])
@pytest.mark.parametrize("new", [b"A", ("x", 1), 2**63, -(2**63) - 1, 1.5j, 2**200, "B", 7], ids=repr)
def test_a_new_account_needs_a_label_the_book_can_hold(labels: list[Any], new: Any) -> None:
    """A new account (its first trade or balance) is labelled by a str or an int within 64 bits (what the engine's
    book and balances hold); anything else is refused (TypeError) with nothing changed, so they still build."""
    book = ro.Book.from_arrays(labels, ["BTC-PERPETUAL"], [20000.0], instruments=MARKET.instruments)
    engine = ro.RiskEngine(book, MARKET, balances=ro.Balances.from_mapping({labels[0]: {"BTC": 3.0}}))
    fits = type(new) is str or (type(new) is int and -(2**63) <= new < 2**63)
    for update in (lambda: engine.on_trade(new, "BTC-PERPETUAL", 10.0, 90000.0), lambda: engine.on_balance(new, "BTC", 1.0)):
        if fits:
            update()
            continue
        with pytest.raises(TypeError, match="account .*label"):
            update()
    assert len(engine.accounts().accounts) == (2 if fits else 1)
    assert len(engine.book.accounts) == len(engine.accounts().accounts) and engine.balances is not None


@pytest.mark.parametrize("stamp", [True, "5", 1.5, -1, 1e18, 2**64, 2**70], ids=repr)
@pytest.mark.parametrize(
    "call",
    [
        lambda e, t: e.on_index("BTC", 90000.0, timestamp=t),
        lambda e, t: e.on_quote("BTC-PERPETUAL", 90100.0, timestamp=t),
        lambda e, t: e.on_ticker(OPTIONS[0], mark_iv=0.55, timestamp=t),
        lambda e, t: e.on_trade("A", "BTC-PERPETUAL", 10.0, 90000.0, timestamp=t),
        lambda e, t: e.on_balance("A", "BTC", 1.0, timestamp=t),
        lambda e, t: e.set_balance("A", "BTC", 1.0, timestamp=t),
    ],
)
def test_a_timestamp_is_whole_milliseconds_as_in_deribits_messages(call: Any, stamp: Any) -> None:
    """A direct call's timestamp is checked as a message's is (whole milliseconds since 1970, 0 to 1e15): anything
    else is refused with nothing changed; a timestamp of 2**64 would have made every later update of that key look
    out of order."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    engine.on_index("BTC", MARKET.index["BTC"], timestamp=5)
    before, times = engine.accounts(), dict(engine._last_time)
    error = TypeError if isinstance(stamp, (bool, str)) else ValueError
    with pytest.raises(error, match="timestamp must be whole milliseconds since 1970"):
        call(engine, stamp)
    assert engine._last_time == times
    np.testing.assert_array_equal(engine.accounts().equity, before.equity)
    call(engine, 10)  # a valid one goes through


def test_a_strict_engine_names_the_line_it_stops_at() -> None:
    """A strict engine raises at the first message it refuses, with the message's line, channel and field; the
    messages before it stay applied (each whole) and are counted."""
    from riskoffset.live import MessageError, parse_notification

    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances, strict=True)

    def index(price: Any, ts: int) -> dict[str, Any]:
        data = {"index_name": "btc_usd", "timestamp": ts, **({} if price is None else {"price": price})}
        return {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": "deribit_price_index.btc_usd", "data": data}}

    batch = [(1, parse_notification(index(80_000.0, 1_795_600_000_000)))]
    before = engine.counters["updates"]
    with pytest.raises(MessageError) as refused:
        engine.apply_updates(batch)
        engine.apply(index(None, 1_795_600_000_002), line=3)
    assert refused.value.line == 3 and refused.value.field == "price"
    assert "line 3" in str(refused.value)
    assert engine.counters["updates"] == before + 1 and engine.market.index["BTC"] == 80_000.0


def test_a_notification_of_several_fills_is_read_whole_then_applied_fill_by_fill() -> None:
    """A malformed field in any fill refuses the whole notification (nothing applied, counted malformed); a fill the
    engine refuses (an instrument it does not list) leaves the fills before it applied (counted rejected)."""
    engine = ro.RiskEngine(ro.Book.sample("market_maker"), MARKET, balances=ro.Balances.sample("market_maker"))

    def fill(i: int, name: str = "BTC-PERPETUAL", **drop: Any) -> dict[str, Any]:
        f = {"trade_id": f"t{i}", "instrument_name": name, "direction": "buy", "amount": 10.0, "price": 90000.0,
             "fee": 0.0, "fee_currency": "BTC", "timestamp": 1_795_600_000_000 + i}  # fmt: skip
        return {k: v for k, v in f.items() if k not in drop}

    def message(*fills: dict[str, Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "method": "subscription", "account": "mm-btc",
                "params": {"channel": "user.trades.any.any.raw", "data": list(fills)}}  # fmt: skip

    def perpetual_of_mm_btc() -> float:
        book = engine.book
        a = list(book.accounts).index("mm-btc")
        lo, hi = int(book.indptr[a]), int(book.indptr[a + 1])
        names = book.instruments.names[book.indices[lo:hi]]
        return float(book.quantity[lo:hi][names == "BTC-PERPETUAL"].sum())

    quantity, held = engine.book.quantity.copy(), perpetual_of_mm_btc()
    assert engine.apply(message(fill(1), fill(2, price=None))) == 0
    np.testing.assert_array_equal(engine.book.quantity, quantity)
    assert engine.counters["malformed"] == 1 and "data[1].price" in engine.errors[-1][1]
    assert engine.apply(message(fill(3), fill(4, "BTC-1JAN30"))) == 1
    assert engine.counters["rejected"] == 1 and engine.counters["updates"] == 1
    assert perpetual_of_mm_btc() == held + 10.0
