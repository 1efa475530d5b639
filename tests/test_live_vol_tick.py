"""One option's own ticker (mark IV, forward, mark) reprices that option on what its last pricing kept: the
same bits as the full revaluation of a fresh engine on the same market, the same figures as ``ro.account``
from scratch, and a refused ticker changes nothing."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from test_live_engine import MARKET, OPTIONS, assert_matches, start_book


def counted(engine: ro.RiskEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Number of full revaluations (``_revalue`` with rows) the engine runs from now on."""
    calls = [0]
    real = engine._revalue

    def revalue(rows: Any) -> None:
        calls[0] += len(rows) > 0
        real(rows)

    monkeypatch.setattr(engine, "_revalue", revalue)
    return calls


def assert_priced_as_from_scratch(engine: ro.RiskEngine, name: str, model: str) -> None:
    """The option's kept figures equal, bit for bit, those of a fresh engine on the engine's market."""
    fresh = ro.RiskEngine(engine.book, engine.market, engine.method, balances=engine.balances, cross=engine.cross)
    a, b = engine.table.row(name), fresh.table.row(name)
    assert engine._unit_value[a] == fresh._unit_value[b]
    assert engine._unit_delta[a] == fresh._unit_delta[b]
    if engine.pm:
        np.testing.assert_array_equal(engine._inputs.vectors[a], fresh._inputs.vectors[b])
        assert engine._inputs.delta[a] == fresh._inputs.delta[b]
    assert_matches(engine, model)


@pytest.mark.parametrize(
    "method, cross, model",
    [("deribit-pm", True, "X:PM"), ("deribit-pm", False, "S:PM"), ("deribit-standard", True, "X:SM")],
)
def test_an_options_own_tickers_reprice_it_as_the_full_revaluation_does(
    method: str, cross: bool, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, method, balances=balances, cross=cross)
    calls = counted(engine, monkeypatch)
    name = OPTIONS[0]  # held by account A
    forward = float(engine.market.resolve(engine.table).forward[engine.table.row(name)])
    for t, ticker in enumerate(
        [
            {"mark_iv": 0.9},
            {"mark_iv": 0.35, "underlying_price": forward * 1.004},
            {"underlying_price": forward * 0.997},
            {"mark_price": 0.02},
            {"mark_iv": 0.6, "mark_price": 0.03, "underlying_price": forward},
        ],
        start=1,
    ):
        engine.on_ticker(name, timestamp=t, **ticker)
        assert calls[0] == 0, ticker  # the kept columns served
        assert_priced_as_from_scratch(engine, name, model)


def test_an_index_or_futures_move_reprices_in_full_then_vol_ticks_reuse_it(monkeypatch: pytest.MonkeyPatch) -> None:
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    calls = counted(engine, monkeypatch)
    name = OPTIONS[0]
    engine.on_index("BTC", MARKET.index["BTC"] * 1.05)
    engine.on_quote("BTC-25DEC26", engine.market.marks["BTC-25DEC26"] * 0.98)
    assert calls[0] == 2
    engine.on_ticker(name, mark_iv=0.7)
    assert calls[0] == 2
    assert_priced_as_from_scratch(engine, name, "X:PM")
    engine.advance(engine.market.valuation_time + np.timedelta64(1, "D").astype(object))
    assert calls[0] == 3
    engine.on_ticker(name, mark_iv=0.8)
    assert calls[0] == 3
    assert_priced_as_from_scratch(engine, name, "X:PM")


def test_a_refused_ticker_forward_changes_nothing() -> None:
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    name = next(n for n in sorted(MARKET.mark_iv) if n.startswith("BTC-25DEC26-"))  # its expiry has a future
    row = engine.table.row(name)
    engine.on_trade("A", name, 0.1, float(engine._unit_value[row]))
    engine.on_ticker(name, mark_iv=0.7)  # the option's columns kept from this pricing
    forward = float(engine.market.resolve(engine.table).forward[row])
    before = pickle.dumps((engine.accounts(), engine._unit_value, engine._inputs.vectors, engine.market.forwards))
    with pytest.raises(ValueError, match="inconsistent forwards"):
        engine.on_ticker(name, mark_iv=0.5, underlying_price=forward * 1.5)
    assert pickle.dumps((engine.accounts(), engine._unit_value, engine._inputs.vectors, engine.market.forwards)) == before
    engine.on_ticker(name, mark_iv=0.5)
    assert_priced_as_from_scratch(engine, name, "X:PM")


def test_a_ticker_forward_far_from_the_curve_is_refused_where_the_expiry_has_no_future() -> None:
    """An option whose expiry lists no future has no quote to check its own forward against: it is checked
    against the forward the futures curve gives that expiry (within the market's max_forward_gap), so a forward
    of 1.0 is refused, naming the option, and changes nothing; one near the curve is taken."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    name = next(n for n in sorted(MARKET.mark_iv) if n.startswith("BTC-26NOV26-"))  # no BTC-26NOV26 future
    assert "BTC-26NOV26" not in MARKET.marks
    row = engine.table.row(name)
    engine.on_trade("A", name, 0.1, float(engine._unit_value[row]))
    curve = float(engine.market.resolve(engine.table).forward[row])
    before = pickle.dumps((engine.accounts(), engine._unit_value, engine.market.forwards))
    with pytest.raises(ValueError, match=f"{name}: inconsistent forwards.*curve's forward"):
        engine.on_ticker(name, mark_iv=0.5, underlying_price=1.0)
    assert pickle.dumps((engine.accounts(), engine._unit_value, engine.market.forwards)) == before
    engine.on_ticker(name, mark_iv=0.5, underlying_price=curve * 1.002)
    assert engine.market.forwards[name] == curve * 1.002
    assert_priced_as_from_scratch(engine, name, "X:PM")


def test_an_option_priced_from_its_mark_is_repriced_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    book, balances = start_book()
    market = MARKET.copy()
    name = OPTIONS[0]
    row = market.instruments.row(name)
    resolved = market.resolve(market.instruments)
    coin = ro.price(
        bool(market.instruments.flag[row] > 0),
        float(resolved.forward[row]),
        float(market.instruments.strike[row]),
        float(resolved.t[row]),
        0.0,
        0.55,
        settlement="inverse",
    )
    del market.mark_iv[name]
    market.marks[name] = float(coin)
    market.clear_caches()
    engine = ro.RiskEngine(book, market, balances=balances)
    calls = counted(engine, monkeypatch)
    engine.on_ticker(name, mark_price=float(coin) * 1.1)  # no mark IV: the vol comes from the mark
    assert calls[0] == 1
    assert_priced_as_from_scratch(engine, name, "X:PM")
    engine.on_ticker(name, mark_iv=0.5)  # now quoted by its IV: the kept columns serve
    assert calls[0] == 1
    assert_priced_as_from_scratch(engine, name, "X:PM")


def test_the_compiled_option_pass_names_a_bad_argument() -> None:
    from riskoffset import _core

    one = np.ones(1)
    layout_state, moves = np.array([1, 0], dtype=np.int32), np.array([0.0, 0.1])
    args: dict[str, Any] = {
        "flag": one, "forward": one * 100, "strike": one * 100, "t": one, "inverse": one * 0, "term": one,
        "sigma": one * 0.5, "shifts": np.array([0.2]), "relative": True, "floor_up": 0.0, "floor": 0.0,
        "vol_state": layout_state, "move": moves, "time_shift": None, "r": 0.0, "threads": 1,
        "out": np.empty((1, 1)), "base": np.empty((2, 1)),
    }  # fmt: skip
    assert _core.scenarios.option_scenarios(**args) == -1
    with pytest.raises(ValueError, match="strike has 2 entries"):
        _core.scenarios.option_scenarios(**{**args, "strike": np.ones(2)})
    with pytest.raises(ValueError, match="out has 2 elements"):
        _core.scenarios.option_scenarios(**{**args, "out": np.empty((1, 2))})
    with pytest.raises(ValueError, match="weight has 2 entries"):
        _core.scenarios.option_scenarios(**{**args, "weight": np.ones(2), "convert": np.ones(2)})
    with pytest.raises(ValueError, match="weight needs convert"):
        _core.scenarios.option_scenarios(**{**args, "weight": np.ones(1)})
    with pytest.raises(ValueError, match="term has 2 entries"):
        _core.scenarios.shock_vols(one, np.ones(2), np.array([0.2]), True, 0.0, 0.0)
    assert _core.scenarios.option_scenarios(**{**args, "sigma": one * -1.0}) >= 0  # a bad vol: its index, no crash


def _tickers(engine: ro.RiskEngine, name: str) -> list[dict[str, Any]]:
    """A held option's tickers as a stream brings them: vols that liquidate and release a thin account, a ticker
    forward, a mark, one late (out of order) and one without a timestamp."""
    forward = float(engine.market.resolve(engine.table).forward[engine.table.row(name)])
    return [
        {"mark_iv": 0.5, "timestamp": 10},
        {"mark_iv": 4.0, "timestamp": 11},
        {"mark_iv": 0.45, "underlying_price": forward * 1.002, "timestamp": 12},
        {"mark_iv": 9.0, "mark_price": 0.05, "timestamp": 13},
        {"mark_iv": 0.3, "timestamp": 9},  # late: ignored and counted
        {"mark_iv": 0.4, "underlying_price": forward * 1.002, "mark_price": 0.01},
        {"mark_iv": 6.0, "timestamp": 14},
    ]


def _state(engine: ro.RiskEngine) -> tuple[Any, ...]:
    view = engine.accounts()
    m = engine.market
    return (
        pickle.dumps((view.initial, view.maintenance, view.equity, view.balance, view.delta_total)),
        engine._unit_value.tobytes(),
        engine._unit_delta.tobytes(),
        engine._inputs.vectors.tobytes(),
        engine._inputs.delta.tobytes(),
        engine._level.tobytes(),
        sorted(m.mark_iv.items()),
        sorted(m.marks.items()),
        sorted(m.forwards.items()),
        dict(engine.counters),
    )


def test_a_held_options_vol_tick_takes_its_own_path_with_the_general_paths_figures_and_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under deribit-pm a held option's ticker with a mark IV skips the general quote path; the engine ends
    bit for bit where the general path leaves it, with the same events, and as ``ro.account`` from scratch."""
    book, _ = start_book()
    thin = ro.Balances.from_mapping({"A": {"BTC": 0.6}, "B": {"ETH": 40.0, "BTC": 0.5}})
    lean = ro.RiskEngine(book, MARKET, balances=thin)
    general = ro.RiskEngine(book, MARKET, balances=thin)
    monkeypatch.setattr(general, "_option_vol_tick", lambda q: False)
    used = [0]
    real = lean._option_vol_tick

    def spy(q: Any) -> bool:
        taken = real(q)
        used[0] += taken
        return taken

    monkeypatch.setattr(lean, "_option_vol_tick", spy)
    name = OPTIONS[0]  # account A is short 5
    seen: dict[str, list[Any]] = {"lean": [], "general": []}
    lean.subscribe(seen["lean"].append)
    general.subscribe(seen["general"].append)
    for ticker in _tickers(lean, name):
        lean.on_ticker(name, **ticker)
        general.on_ticker(name, **ticker)
        assert _state(lean) == _state(general), ticker
    assert used[0] == 7 and lean.counters["out_of_order"] == 1
    assert [(e.kind, e.account, e.timestamp) for e in seen["lean"]] == [
        (e.kind, e.account, e.timestamp) for e in seen["general"]
    ]
    assert {e.kind for e in seen["lean"]} >= {"liquidation", "recovery"}, seen["lean"]
    assert_matches(lean, "X:PM")


def _option_state(engine: ro.RiskEngine, name: str) -> tuple[Any, ...]:
    row = engine.table.row(name)
    m = engine.market
    return (
        engine._unit_value[row],
        engine._unit_delta[row],
        engine._inputs.vectors[row].tobytes(),
        engine._inputs.delta[row],
        engine._option_columns.forward[row],
        m.mark_iv.get(name),
        m.marks.get(name),
        m.forwards.get(name),
    )


def test_a_vol_tick_with_a_non_finite_figure_is_undone_whole() -> None:
    """A holder whose figures come out non-finite stops the compiled vol tick: the option's values, the other
    holders' figures, every level and the market are put back, and the error names the account."""
    name = OPTIONS[0]
    book = ro.Book.from_arrays(["A", "C", "D"], [name, name, "BTC-PERPETUAL"], [-5.0, 3.0, 1000.0],
                               instruments=MARKET.instruments)  # fmt: skip
    balances = ro.Balances.from_mapping({"A": {"BTC": 0.9}, "C": {"BTC": 1.0}, "D": {"BTC": 1.0}})
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    forward = float(engine._option_columns.forward[engine.table.row(name)])
    engine.on_ticker(name, mark_iv=0.6, timestamp=1)
    option, levels, view = _option_state(engine, name), engine._level.copy(), engine.accounts()
    c = list(engine.positions.labels).index("C")
    engine._balance[c, :] = np.nan  # an input gone bad under the tick (nothing valid does this)
    with pytest.raises(ValueError, match="account 'C'.*not a finite"):
        engine.on_ticker(name, mark_iv=2.5, mark_price=0.04, underlying_price=forward * 1.01, timestamp=2)
    assert _option_state(engine, name) == option
    np.testing.assert_array_equal(engine._level, levels)
    after = engine.accounts()
    kept = [i for i, label in enumerate(view.accounts) if label != "C"]
    for column in ("initial", "maintenance", "equity", "initial_usd", "maintenance_usd", "available_usd", "mm_ratio"):
        np.testing.assert_array_equal(getattr(after, column)[kept], getattr(view, column)[kept])
    assert engine.counters["updates"] == 1  # the first tick only


def test_a_vol_tick_the_kernels_refuse_takes_the_general_functions_that_name_the_input() -> None:
    """Kept columns the compiled reprice refuses (a strike gone bad, which nothing valid does) leave nothing
    changed; the general functions report the input and the transaction is undone."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    name = OPTIONS[0]
    engine.on_ticker(name, mark_iv=0.6, timestamp=1)
    before = _state(engine)
    row = engine.table.row(name)
    strike = engine._option_columns.strike[row]
    engine._option_columns.strike[row] = -1.0
    with pytest.raises(ValueError, match="strike"):
        engine.on_ticker(name, mark_iv=2.5, mark_price=0.04, timestamp=2)
    engine._option_columns.strike[row] = strike
    assert _state(engine)[:-1] == before[:-1]  # figures, instrument columns, levels and market as they were
    with pytest.raises(ValueError, match="mark_iv"):
        engine.on_ticker(name, mark_iv=-0.1, timestamp=3)  # refused before anything changes
    assert _state(engine)[:-1] == before[:-1]
    engine.on_ticker(name, mark_iv=2.5, timestamp=4)
    assert_priced_as_from_scratch(engine, name, "X:PM")


def test_an_out_of_order_vol_tick_is_ignored_before_its_values_are_judged() -> None:
    """As on the general path: a ticker older than the last one of its option is counted and dropped, whatever it
    carries; an in-order one with a percentage for a decimal vol is refused and changes nothing."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, balances=balances)
    name = OPTIONS[0]
    engine.on_ticker(name, mark_iv=0.6, timestamp=10)
    before = _state(engine)
    engine.on_ticker(name, mark_iv=60.0, timestamp=9)
    assert engine.counters["out_of_order"] == 1
    assert _state(engine)[:-1] == before[:-1]
    with pytest.raises(ValueError, match="percentage"):
        engine.on_ticker(name, mark_iv=60.0, timestamp=11)
    assert _state(engine)[:-1] == before[:-1]


@pytest.mark.parametrize("method", ["deribit-pm", "deribit-standard"])
def test_a_refused_vol_tick_leaves_its_options_last_time(method: str) -> None:
    """A refused ticker (a percentage for a decimal vol, or a figure that comes out non-finite) is not a quote the
    engine applied: a later valid one stamped between the last applied and the refused one is applied, not dropped
    as out of order (a held option's own path and the general one)."""
    book, balances = start_book()
    engine = ro.RiskEngine(book, MARKET, method, balances=balances)
    name = OPTIONS[0]
    engine.on_ticker(name, mark_iv=0.6, timestamp=10)
    with pytest.raises(ValueError, match="percentage"):
        engine.on_ticker(name, mark_iv=60.0, timestamp=30)
    engine.on_ticker(name, mark_iv=0.7, timestamp=20)
    assert engine.counters["out_of_order"] == 0 and engine.market.mark_iv[name] == 0.7
    row = int(engine._holders_of_row(engine.table.row(name))[0])
    saved = engine._balance[row, :].copy()
    engine._balance[row, :] = np.nan  # an input gone bad under the tick (nothing valid does this)
    with pytest.raises(ValueError, match="not a finite"):
        engine.on_ticker(name, mark_iv=0.8, timestamp=40)
    engine._balance[row, :] = saved
    engine.on_ticker(name, mark_iv=0.75, timestamp=35)
    assert engine.counters["out_of_order"] == 0 and engine.market.mark_iv[name] == 0.75
    engine.on_ticker(name, mark_iv=0.9, timestamp=34)  # older than the last applied: dropped
    assert engine.counters["out_of_order"] == 1 and engine.market.mark_iv[name] == 0.75
    assert_priced_as_from_scratch(engine, name, "X:PM" if method == "deribit-pm" else "X:SM")


def test_a_short_linear_options_own_tickers_under_standard_margin() -> None:
    """Deribit standard margin of a short USDC-settled option rests on its mark and, for the floor, on the
    index: its own tickers (vol, mark, forward) reprice it on the kept columns, and the account's margin is
    what a from-scratch computation gives after each."""
    names = ["BTC_USDC-25DEC26-70000-P", "BTC_USDC-25DEC26-80000-C", OPTIONS[0]]
    book = ro.Book.from_arrays(["A", "A", "A"], names, [-3.0, -2.0, -1.0], instruments=MARKET.instruments)
    balances = ro.Balances.from_mapping({"A": {"BTC": 2.0, "USDC": 90_000}})
    engine = ro.RiskEngine(book, MARKET, "deribit-standard", balances=balances)
    revalued = [0]
    real = engine._revalue

    def revalue(rows: Any) -> None:
        revalued[0] += len(rows) > 0
        real(rows)

    engine._revalue = revalue  # type: ignore[method-assign]
    forward = float(engine.market.resolve(engine.table).forward[engine.table.row(names[0])])
    before = engine.account("A")["initial_usd"]
    for t, (name, ticker) in enumerate(
        [
            (names[0], {"mark_iv": 0.9}),
            (names[0], {"mark_price": 3_500.0}),
            (names[1], {"mark_iv": 0.4, "underlying_price": forward * 1.004}),
            (names[0], {"mark_iv": 0.6, "mark_price": 2_000.0, "underlying_price": forward * 0.996}),
        ],
        start=1,
    ):
        engine.on_ticker(name, timestamp=t, **ticker)
        assert revalued[0] == 0, ticker  # the kept columns served
        assert_priced_as_from_scratch(engine, name, "X:SM")
    assert engine.account("A")["initial_usd"] != before


def test_a_ticker_forward_far_from_the_index_is_refused_where_the_base_has_no_futures_curve() -> None:
    """A market with BTC options on their own forwards and no BTC future or expiry forward: nothing of an
    option's expiry can check a new forward, so it is checked against the index (within a factor of 2 at this
    expiry); a forward of 1.0 is refused, naming the option, and changes nothing; a plausible one is taken."""
    name = next(n for n in sorted(MARKET.mark_iv) if n.startswith("BTC-26NOV26-"))
    forward = float(MARKET.resolve(ro.InstrumentTable.from_names([name])).forward[0])
    market = ro.Market(MARKET.valuation_time, index=MARKET.index, mark_iv={name: MARKET.mark_iv[name]},
                       forwards={name: forward})  # fmt: skip
    book = ro.Book.from_positions([{"account": "A", "instrument": name, "quantity": 2.0}])
    engine = ro.RiskEngine(book, market, "deribit-standard")
    before = pickle.dumps((engine.accounts(), engine.market.forwards))
    for bad in (1.0, forward * 2.5):
        with pytest.raises(ValueError, match=f"{name}: its underlying_price .* times the BTC index"):
            engine.on_ticker(name, mark_iv=0.5, underlying_price=bad)
        assert pickle.dumps((engine.accounts(), engine.market.forwards)) == before
    engine.on_ticker(name, mark_iv=0.5, underlying_price=forward * 1.05)
    assert engine.market.forwards[name] == forward * 1.05
