"""The live engine's events as the accounts were when they crossed: an update that moves thousands of accounts
captures their figures and contributors as columns and makes the dictionaries when an event is read, so what
an event shows must not move with later updates; the compiled contributors against a sort of every position."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset import _core
from riskoffset.live.events import LEVELS, Event
from test_live_engine import MARKET, random_engine, reference_worst


def test_an_events_figures_and_contributors_are_those_of_the_update_that_raised_it() -> None:
    """Each event read after later ticks shows what `account` showed when its update was applied (recorded by
    a callback then), not the account's figures now."""
    engine = random_engine(400, 12, seed=11)
    recorded: dict[int, tuple[dict[str, Any], Any]] = {}

    def record(event: ro.Event) -> None:
        row = engine.positions.row_of[event.account]
        recorded[id(event)] = (engine.account(event.account), engine._contributors(np.array([row])).tuples()[0])

    engine.subscribe(record)
    engine.on_index("BTC", MARKET.index["BTC"] * 0.8, timestamp=1)
    crash = list(engine.events())
    assert len(crash) > 20
    engine.on_index("BTC", MARKET.index["BTC"] * 0.9, timestamp=2)
    engine.on_index("ETH", MARKET.index["ETH"] * 0.7, timestamp=3)
    moved_since = 0
    for e in crash:
        figures, contributors = recorded[id(e)]
        assert e.figures == figures
        assert e.contributors == contributors
        moved_since += engine.account(e.account)["margin_balance_usd"] != figures["margin_balance_usd"]
    assert moved_since > len(crash) // 2  # the later ticks did change these accounts


def test_events_survive_a_pickle_with_their_batch_and_from_the_earlier_format() -> None:
    engine = random_engine(200, 10, seed=3)
    engine.on_index("BTC", MARKET.index["BTC"] * 0.8, timestamp=1)
    events = list(engine.events())
    assert events
    back = pickle.loads(pickle.dumps(events))
    assert back == events and [e.to_dict() for e in back] == [e.to_dict() for e in events]
    # An event pickled when events were dataclasses carries its fields by name.
    old = Event.__new__(Event)
    old.__setstate__({"kind": "margin_call", "account": 7, "level": "margin_call", "previous": "ok", "timestamp": 5,
                      "figures": {"account": 7}, "contributors": ({"instrument": "X", "quantity": 1.0, "pnl_usd": -2.0},)})  # fmt: skip
    assert old == Event("margin_call", 7, "margin_call", "ok", 5, {"account": 7},
                        ({"instrument": "X", "quantity": 1.0, "pnl_usd": -2.0},))  # fmt: skip
    assert old != Event("margin_call", 7, "margin_call", "ok", 6, {"account": 7})
    # A batch pickled when its figures were columns (the label's, the level's, then one per figure) reads back.
    batch = events[0]._source
    figures = batch.figures
    columns = [figures.accounts, [LEVELS[code] for code in figures.levels], *figures.block.T.copy()]
    columns_state = (figures.names, columns, figures.worst)
    was = type(figures).__new__(type(figures))
    was.__setstate__(pickle.loads(pickle.dumps(columns_state)))
    assert was.dicts() == figures.dicts() and [e.figures for e in events] == figures.dicts()


def test_an_event_is_read_only() -> None:
    e = Event("recovery", "a", "ok", "margin_call", None, {"account": "a"})
    with pytest.raises(AttributeError):
        e.kind = "margin_call"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        e.note = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        hash(e)


def reference_contributors(starts, ends, indices, quantity, instrument_key, vectors, key, scenario, rate, top):  # type: ignore[no-untyped-def]
    """Every position of every account valued and sorted (by P&L, then instrument row): the losing ones, top first."""
    out = []
    for a in range(len(starts)):
        k = int(key[a])
        losses = []
        for p in range(starts[a], ends[a]):
            i = int(indices[p])
            if k >= 0 and instrument_key[i] == k:
                pnl = float(quantity[p]) * float(vectors[i, scenario[a]]) * float(rate[k])
                if pnl < 0:
                    losses.append((pnl, i, float(quantity[p])))
        out.append(sorted(losses)[:top])
    return out


@pytest.mark.parametrize("top", [1, 3, 5])
def test_worst_contributors_equal_a_sort_of_every_position(top: int) -> None:
    rng = np.random.default_rng(top)
    n_instr, width, n_keys, n = 40, 7, 2, 300
    instrument_key = rng.integers(-1, n_keys, n_instr)
    vectors = rng.choice([-2.0, -1.0, 0.0, 1.0, 3.0], (n_instr, width))  # few values: many ties
    lengths = rng.integers(0, 40, n)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    indices = rng.integers(0, n_instr, int(ends[-1]))
    quantity = rng.choice([-1.0, 0.5, 1.0, 2.0], len(indices))
    key = rng.integers(-1, n_keys, n)
    scenario = rng.integers(0, width, n)
    rate = np.array([2.5, 0.5])
    args = (starts, ends, indices, quantity, instrument_key, vectors, key, scenario, rate, top)
    got_i, got_q, got_pnl = _core.margin.worst_contributors(*args)
    assert got_i.shape == (n, top)
    want = reference_contributors(*args)
    assert sum(len(w) for w in want) > n // 4 and sum(len(w) == top for w in want) > 20  # full slots too
    for a in range(n):
        m = len(want[a])
        assert got_i[a, :m].tolist() == [i for _, i, _ in want[a]]
        assert got_pnl[a, :m].tolist() == [v for v, _, _ in want[a]]
        assert got_q[a, :m].tolist() == [q for _, _, q in want[a]]
        assert (got_i[a, m:] == -1).all() and (got_pnl[a, m:] == 0).all()


def test_worst_contributors_refuse_what_they_cannot_read() -> None:
    starts, ends = np.array([0, 2]), np.array([2, 3])
    indices, quantity = np.array([0, 1, 2]), np.ones(3)
    instrument_key, vectors = np.array([0, 0, 1]), np.ones((3, 4))
    key, scenario, rate = np.array([0, 1]), np.array([0, 3]), np.ones(2)

    def call(**change: Any) -> Any:
        args: dict[str, Any] = {"starts": starts, "ends": ends, "indices": indices, "quantity": quantity,
                                "instrument_key": instrument_key, "vectors": vectors, "key": key, "scenario": scenario,
                                "rate": rate, "top": 3}  # fmt: skip
        return _core.margin.worst_contributors(**{**args, **change})

    call()
    with pytest.raises(ValueError, match="position 2 names an instrument row outside"):
        call(indices=np.array([0, 1, 3]))
    with pytest.raises(ValueError, match="account 1: positions outside the pool"):
        call(ends=np.array([2, 4]))
    with pytest.raises(ValueError, match="account 1: scenario outside"):
        call(scenario=np.array([0, 4]))
    with pytest.raises(ValueError, match="account 0: key outside"):
        call(key=np.array([2, 1]))
    with pytest.raises(ValueError, match="instrument row 2: key outside"):
        call(instrument_key=np.array([0, 0, 5]))
    with pytest.raises(ValueError, match="top must be"):
        call(top=0)
    with pytest.raises(ValueError, match="one entry per account"):
        call(key=np.array([0]))


def test_a_bulk_tick_searches_the_worst_scenario_of_the_accounts_it_moves_and_their_events_show_the_bulk_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every update bulk (the scenario search left to the queries), a crash: the accounts whose level changed were
    searched and captured in the same compiled call (no recomputation when their events are made: their BTC
    groups are not left stale, the others' are), and each event names the worst group and scenario `ro.margin_accounts` finds."""
    monkeypatch.setattr(ro.RiskEngine, "LAZY_WORST_ACCOUNTS", 0)
    engine = random_engine(300, 10, seed=21)
    assert not engine._worst_stale.any()  # the engine's first pass searched every account
    btc = engine._keys_of("BTC")
    assert btc is not None and len(btc)
    recomputed: list[int] = []
    fresh = engine._fresh_worst

    def counting(rows: Any) -> None:
        recomputed.append(int(engine._worst_stale[rows].any(axis=1).sum()))
        fresh(rows)

    monkeypatch.setattr(engine, "_fresh_worst", counting)
    engine.on_index("BTC", MARKET.index["BTC"] * 0.8, timestamp=1)
    events = list(engine.events())
    assert len(events) > 10 and sum(recomputed) == 0  # captured by that call: none searched again
    moved = np.array([engine.positions.row_of[e.account] for e in events])
    assert not engine._worst_stale[moved[:, None], btc].any()
    still = np.setdiff1d(np.arange(len(engine.positions)), moved)
    assert engine._worst_stale[still[:, None], btc].all()
    want = reference_worst(engine)
    checked = [e for e in events if e.account in want]
    assert checked
    for e in checked:
        assert (e.figures["worst_group"], e.figures["worst_scenario"]) == want[e.account]


def test_events_of_accounts_whose_largest_group_awaits_its_search_show_it_searched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every update bulk: a BTC crash leaves the BTC groups of the accounts it did not move awaiting their scenario
    search; an ETH crash then moves accounts whose largest group is BTC.  Their events show the worst scenario and
    contributors that `account` and the contributors' own call show at that moment, as every other event does."""
    monkeypatch.setattr(ro.RiskEngine, "LAZY_WORST_ACCOUNTS", 0)
    engine = random_engine(800, 12, seed=8)
    recorded: dict[int, tuple[dict[str, Any], Any]] = {}
    searched_late: list[int] = []

    def record(event: ro.Event) -> None:
        row = engine.positions.row_of[event.account]
        recorded[id(event)] = (engine.account(event.account), contributors(np.array([row])).tuples()[0])

    engine.on_index("BTC", MARKET.index["BTC"] * 0.9, timestamp=1)
    list(engine.events())
    btc = engine._keys_of("BTC")
    assert btc is not None and engine._worst_stale[:, btc].any()
    contributors = engine._contributors

    def counting(rows: Any, top: int = 3, worst: Any = None) -> Any:
        searched_late.append(len(rows))
        return contributors(rows, top, worst)

    monkeypatch.setattr(engine, "_contributors", counting)
    engine.subscribe(record)
    engine.on_index("ETH", MARKET.index["ETH"] * 0.5, timestamp=2)
    events = list(engine.events())
    assert len(events) > 10
    assert len(searched_late) == 1  # (the callbacks call the contributors' own method)
    late = searched_late[0]  # the first call: the events' accounts whose BTC group awaited its search
    assert 0 < late < len(events)
    for e in events:
        figures, contributors_then = recorded[id(e)]
        assert e.figures == figures
        assert e.contributors == contributors_then


@pytest.mark.parametrize("method", ["deribit-standard", "deribit-pm"])
def test_a_crash_tick_s_events_carry_the_figures_the_account_view_shows(method: str) -> None:
    """Figures captured by the tick's compiled call, under each method, equal the engine's account view after it."""
    engine = random_engine(300, 10, seed=13)
    if method != engine.method:
        engine = ro.RiskEngine(engine.book, MARKET, method, balances=engine.balances)
    engine.on_index("BTC", MARKET.index["BTC"] * 0.7, timestamp=1)
    events = list(engine.events())
    assert len(events) > 10
    view = engine.accounts()
    at = {a: i for i, a in enumerate(view.accounts.tolist())}
    for e in events:
        i = at[e.account]
        assert e.figures["level"] == e.level
        for name in ("margin_balance_usd", "initial_usd", "maintenance_usd", "available_usd", "mm_ratio"):
            assert e.figures[name] == float(getattr(view, name)[i]), name
        for c, cur in enumerate(view.currencies):
            for part in ("balance", "equity", "initial", "maintenance"):
                assert e.figures[f"{part}_{cur}"] == float(getattr(view, part)[i, c]), (part, cur)
        assert ("worst_group" in e.figures) == (method == "deribit-pm")
        assert bool(e.contributors) == (method == "deribit-pm" and e.figures["initial_usd"] > 0)


def test_the_events_of_a_trade_a_balance_and_a_vol_tick_show_the_account_as_that_update_left_it() -> None:
    """Trades, balance changes and one option's vol ticks that move an account across a level, and back: each
    event shows what `account` and the contributors' own call show right after its update (their compiled calls
    capture the account as they leave it)."""
    engine = random_engine(200, 10, seed=17)
    recorded: list[tuple[ro.Event, dict[str, Any], Any]] = []
    contributors = engine._contributors

    def record(event: ro.Event) -> None:
        row = engine.positions.row_of[event.account]
        recorded.append((event, engine.account(event.account), contributors(np.array([row])).tuples()[0]))

    engine.subscribe(record)
    view = engine.accounts()
    account = view.accounts[int(np.flatnonzero(~view.below_initial & (view.initial_usd > 0))[0])]
    row = engine.positions.row_of[account]
    held = engine.positions.segment(row)
    shorts = [(q, str(engine.table.names[i])) for i, (q, _) in held.items() if str(engine.table.names[i]).startswith("BTC-")]
    option = min(s for s in shorts if s[1] in MARKET.mark_iv)[1]  # its largest short BTC option
    perpetual, price = "BTC-PERPETUAL", MARKET.marks["BTC-PERPETUAL"]
    size = 1_000.0
    while engine.account(account)["level"] == "ok":  # a short perpetual large enough to take it below a level
        engine.on_trade(account, perpetual, -size, price)
        size *= 2
    engine.on_trade(account, perpetual, size - 1_000.0, price)  # back to none (the sum of the sales): it recovers
    cash = engine.account(account)["available_usd"] / MARKET.index["BTC"]
    engine.on_balance(account, "BTC", -2.0 * cash)  # a withdrawal past its available funds
    engine.on_balance(account, "BTC", 2.0 * cash)
    iv = MARKET.mark_iv[option]
    for vol in (iv * 6.0, iv):  # its own option's vol, up and back
        engine.on_ticker(option, mark_iv=vol)
    assert [e.kind for e, _, _ in recorded] == ["liquidation", "recovery"] * 3  # trades, balances, vol ticks
    assert {e.account for e, _, _ in recorded} == {account}
    for event, figures, contributors_then in recorded:
        assert event.figures == figures
        assert event.contributors == contributors_then


def test_a_batch_s_events_name_each_move_between_levels_and_refuse_a_non_move() -> None:
    from riskoffset.live.events import level_change

    moves = [(w, n) for w in range(3) for n in range(3) if w != n]
    events = Event.of_batch(None, [w for w, _ in moves], [n for _, n in moves], list(range(6)), 7)  # type: ignore[arg-type]
    for e, (w, n), at in zip(events, moves, range(6)):
        assert (e.kind, e.level, e.previous, e.account, e.timestamp) == (level_change(w, n), LEVELS[n], LEVELS[w], at, 7)
    back = pickle.loads(pickle.dumps(Event("recovery", "A", "ok", "liquidation", 3, {"account": "A"})))
    assert (back.kind, back.level, back.previous, back.figures) == ("recovery", "ok", "liquidation", {"account": "A"})
    for was, now in [(1, 1), (0, 3), (-1, 0)]:
        with pytest.raises(ValueError, match="no level change"):
            Event.of_batch(None, [was], [now], ["A"], None)  # type: ignore[arg-type]
