"""The compiled index of integer account labels (`_core.book.LabelIndex`) that the live engine looks accounts up
in: against a dict kept alongside through random appends, truncations and lookups (hits, misses, labels beyond 64
bits), its refusals, and the engine's accounts found through it as through the dict (new accounts, an update
undone, labels of mixed types, pickles)."""

from __future__ import annotations

import pickle
import random

import pytest
import riskoffset as ro
from hypothesis import given, settings
from hypothesis import strategies as st
from riskoffset._core.book import LabelIndex
from test_live_engine import EXAMPLES, FUTURES, MARKET, OPTIONS, assert_matches, call_of, random_engine

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def assert_same(index: LabelIndex, labels: list[int], probes: list[int]) -> None:
    assert len(index) == len(labels)
    rows = {label: r for r, label in enumerate(labels)}
    for label in labels + probes:
        assert index.get(label) == rows.get(label), label


@pytest.mark.parametrize("span", [40, 5_000, 2**64])
def test_random_appends_truncations_and_lookups_agree_with_a_dict(span: int) -> None:
    # A narrow span makes long probe runs (labels removed from the middle of one must leave the rest found).
    rng = random.Random(span)
    low = max(INT64_MIN, -span // 2)
    draw = lambda: rng.randint(low, min(INT64_MAX, low + span))
    labels = list(dict.fromkeys(draw() for _ in range(span // 4 if span < 1000 else 300)))
    index = LabelIndex(labels)
    for _ in range(400):
        if rng.random() < 0.3 and labels:
            n = rng.randrange(len(labels) + 1)
            index.truncate(n)
            del labels[n:]
        else:
            label = draw()
            if label in labels:
                with pytest.raises(ValueError, match=f"account label {label} is given twice"):
                    index.append(label)
            else:
                index.append(label)
                labels.append(label)
        assert_same(index, labels, [draw() for _ in range(5)])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(INT64_MIN, INT64_MAX), unique=True, max_size=60),
    st.lists(st.integers(-(2**70), 2**70), max_size=20),
)
def test_any_64_bit_labels_are_found_and_nothing_else(labels: list[int], probes: list[int]) -> None:
    assert_same(LabelIndex(labels), labels, probes + [INT64_MIN, INT64_MAX, 2**63, -(2**63) - 1])


def test_refusals() -> None:
    with pytest.raises(ValueError, match="account label 7 is given twice"):
        LabelIndex([3, 7, 7])
    index = LabelIndex([3, 7])
    with pytest.raises(ValueError, match="given twice"):
        index.append(3)
    assert len(index) == 2 and index.get(3) == 0  # (nothing changed)
    for bad in ("3", 3.0, True, None):
        with pytest.raises(TypeError, match="label must be an int"):
            index.get(bad)
    with pytest.raises(TypeError, match="takes 1 to 1 positional arguments"):
        index.get()


def int_engine() -> ro.RiskEngine:
    book = ro.Book.from_arrays([1001, 1001, 2**40, 7], [OPTIONS[0], "BTC-PERPETUAL", OPTIONS[3], "ETH-PERPETUAL"],
                               [-5.0, 20_000.0, 2.0, -3_000.0], instruments=MARKET.instruments)  # fmt: skip
    balances = ro.Balances.from_mapping({1001: {"BTC": 3.0}, 2**40: {"BTC": 1.0}, 7: {"ETH": 40.0}})
    return ro.RiskEngine(book, MARKET, balances=balances)


def test_the_engine_finds_integer_accounts_through_the_index() -> None:
    engine = int_engine()
    p = engine.positions
    assert p.int_rows is not None and len(p.int_rows) == len(p.labels)
    for label in p.labels:
        assert p.find(label) == p.row_of[label] == p.int_rows.get(label)
    engine.on_trade(2**40, OPTIONS[3], 1.0, 0.01)
    assert p.segment(p.find(2**40))[engine.table.row(OPTIONS[3])][0] == pytest.approx(3.0)
    engine.on_trade("1001", "BTC-PERPETUAL", 10.0, 60_000.0)  # (a canonical integer string names the int)
    assert p.segment(p.find(1001))[engine.table.row("BTC-PERPETUAL")][0] == pytest.approx(20_010.0)
    # A new account is added to both; an update that created one and then failed leaves neither with it.
    engine.on_trade(55, OPTIONS[0], 1.0, 0.01)
    assert p.find(55) == p.row_of[55] == len(p.labels) - 1 and len(p.int_rows) == len(p.labels)
    before = len(p.labels)
    engine.what_if(99, [(OPTIONS[0], 1.0, 0.01)])
    assert len(p.labels) == before and p.find(99) is None and p.int_rows.get(99) is None
    assert len(p.int_rows) == before
    # Pickled, the index is built again from the labels.
    back = pickle.loads(pickle.dumps(engine))
    assert back.positions.int_rows is not None
    assert [back.positions.find(label) for label in p.labels] == list(range(len(p.labels)))
    assert back.account(2**40) == engine.account(2**40)


def test_a_label_of_another_type_leaves_the_engine_with_the_dict_alone() -> None:
    engine = int_engine()
    p = engine.positions
    engine.on_balance("desk-a", "BTC", 1.0)
    assert p.int_rows is None
    assert p.find("desk-a") == len(p.labels) - 1 and p.find(1001) == p.row_of[1001]
    engine.on_trade(1001, OPTIONS[0], 1.0, 0.01)
    assert p.segment(p.find(1001))[engine.table.row(OPTIONS[0])][0] == pytest.approx(-4.0)
    strings = ro.RiskEngine(ro.Book.from_arrays(["x"], ["BTC-PERPETUAL"], [10.0], instruments=MARKET.instruments),
                            MARKET)  # fmt: skip
    assert strings.positions.int_rows is None and strings.positions.find("x") == 0


def test_an_engine_saved_with_the_labels_dict_reads_back() -> None:
    """Engines saved before the index kept the label dict in their pickles: it is rebuilt from the labels."""
    engine = int_engine()
    state = engine.positions.__getstate__()
    assert "row_of" not in state and "int_rows" not in state
    state["row_of"] = {label: r for r, label in enumerate(engine.positions.labels)}
    old = type(engine.positions).__new__(type(engine.positions))
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    assert old.row_of == state["row_of"] and old.int_rows is not None
    assert [old.find(label) for label in old.labels] == list(range(len(old.labels)))


INT_OPS = st.one_of(
    st.tuples(st.just("index"), st.sampled_from(["BTC", "ETH"]), st.floats(0.8, 1.2)),
    st.tuples(
        st.just("trade"),
        st.sampled_from([0, 3, 29, 30, 2**40, -7]),  # (30 and after: new accounts)
        st.sampled_from(OPTIONS[:6] + FUTURES),
        st.integers(-30, 30).filter(bool),
        st.floats(0.8, 1.2),
    ),
    st.tuples(st.just("balance"), st.sampled_from([1, 29, 31, 2**40]), st.sampled_from(["BTC", "USDC"]), st.floats(-1, 1)),
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(ops=st.lists(INT_OPS, min_size=1, max_size=8), what_if=st.booleans(), pickled=st.booleans())
def test_integer_accounts_updated_through_the_index_match_a_computation_from_scratch(
    ops: list[tuple[object, ...]], what_if: bool, pickled: bool
) -> None:
    """Trades, balances (new accounts among them), pre-trade checks and a pickle in the middle of an engine whose
    accounts are integers: every account's figures equal a from-scratch `ro.account`, and each label finds its row."""
    engine = random_engine(30, 4, seed=5)
    for t, op in enumerate(ops, start=1):
        if pickled and t == len(ops) // 2 + 1:
            engine = pickle.loads(pickle.dumps(engine))
        method, args, kwargs = call_of(engine, t, op)
        if what_if and method == "on_trade":
            engine.what_if(args[0], [args[1:]])
        try:
            getattr(engine, method)(*args, **kwargs)
        except ValueError:
            pass  # (a balance that would go below what the account may hold, refused as a whole)
    p = engine.positions
    assert p.int_rows is not None and len(p.int_rows) == len(p.labels)
    assert [p.find(label) for label in p.labels] == list(range(len(p.labels)))
    assert_matches(engine, "X:PM")
