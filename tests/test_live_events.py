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
from riskoffset.live.events import Event
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
    searched in the same compiled call (no recomputation when their events are made: their BTC groups are not
    left stale, the others' are), and each event names the worst group and scenario `ro.margin_accounts` finds."""
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
    assert len(events) > 10 and recomputed and max(recomputed) == 0
    moved = np.array([engine.positions.row_of[e.account] for e in events])
    assert not engine._worst_stale[moved[:, None], btc].any()
    still = np.setdiff1d(np.arange(len(engine.positions)), moved)
    assert engine._worst_stale[still[:, None], btc].all()
    want = reference_worst(engine)
    checked = [e for e in events if e.account in want]
    assert checked
    for e in checked:
        assert (e.figures["worst_group"], e.figures["worst_scenario"]) == want[e.account]
