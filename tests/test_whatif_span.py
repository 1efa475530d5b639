"""What-if margin under SPAN (`ro.SpanWhatIf`): after any orders, the figures equal ``ro.margin(book, market,
"span", params)`` on the account's positions plus those orders, computed from scratch (the compiled one-account
call and the many-account pass give the same bits; an account SPAN's full path computes, with an inter-commodity
spread, to 1e-12); baskets, committed orders, USD figures and refused orders."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from hypothesis import given, settings
from hypothesis import strategies as st
from riskoffset.margining.span.algorithm import load_params
from riskoffset.whatif import one_account
from test_live_span import inter_spread_params

MARKET = ro.Market.sample()
BOOK = ro.Book.sample("market_maker")
MAPPING = load_params("sample")[1]["mapping"]
NAMES = [str(n) for n in MARKET.instruments.names.tolist() if str(n) in MAPPING]  # (the sample maps these)


def from_scratch(account: str, orders: list[tuple[str, float]], params: Any = "sample") -> ro.MarginResult:
    """``ro.margin`` of the account's positions plus the orders, as a new book over the market's table."""
    mine = one_account(BOOK, account)
    names = [str(n) for n in mine.instruments.names[mine.indices].tolist()] + [o[0] for o in orders]
    quantity = mine.quantity.tolist() + [o[1] for o in orders]
    book = ro.Book.from_arrays([account] * len(names), names, quantity, instruments=MARKET.instruments)
    return ro.margin(book, MARKET, "span", params)


ORDERS = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from([-3.0, -1.0, -0.1, 0.5, 2.0, 10_000.0, -50_000.0])),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(account=st.sampled_from(["mm-btc", "mm-eth", "mm-hedge"]), orders=ORDERS)
def test_orders_end_where_a_from_scratch_computation_does(account: str, orders: list[tuple[str, float]]) -> None:
    w = ro.SpanWhatIf(BOOK, MARKET, "sample", account=account, instruments=NAMES)
    before = from_scratch(account, [])
    assert (w.margin().initial_after, w.margin().maintenance_after) == (before.initial, before.maintenance)
    one = w.order(*orders[0])
    after = from_scratch(account, orders[:1])
    assert (one.initial_before, one.maintenance_before) == (before.initial, before.maintenance)
    assert (one.initial_after, one.maintenance_after) == (after.initial, after.maintenance)
    assert one.currency == after.currency == "USD" and one.group == "span" and one.account == account
    assert one.initial_usd_after == after.initial_usd and one.initial_change == after.initial - before.initial
    basket = w.basket(orders)
    assert basket.initial_after == from_scratch(account, orders).initial
    w.apply(orders)  # committed: the next order starts from there
    again = w.order(*orders[0])
    assert again.initial_before == basket.initial_after
    assert again.initial_after == from_scratch(account, orders + orders[:1]).initial


def test_an_account_spans_full_path_computes() -> None:
    """With an inter-commodity spread between BTC and ETH, an account holding both takes SPAN's full path;
    its what-if figures are that path's."""
    params = inter_spread_params()
    w = ro.SpanWhatIf(BOOK, MARKET, params, account="mm-hedge")
    orders = [("ETH-PERPETUAL", 10_000.0), ("BTC-PERPETUAL", -20_000.0)]
    got = w.basket(orders)
    ref = from_scratch("mm-hedge", orders, params)
    assert got.initial_after == pytest.approx(ref.initial, rel=1e-12)
    assert got.maintenance_after == pytest.approx(ref.maintenance, rel=1e-12)


def test_an_order_costs_the_margin_it_adds() -> None:
    """From no position: a short call needs SPAN margin, the same call bought back needs none, and a basket
    of the two nets to nothing."""
    empty = ro.Book.from_arrays([], [], [], instruments=MARKET.instruments)
    w = ro.SpanWhatIf(empty, MARKET, "sample", instruments=NAMES)
    call = next(n for n in NAMES if n.startswith("BTC-") and n.endswith("-C"))
    short = w.order(call, -5.0)
    assert short.initial_before == 0.0 and short.initial_after > 0.0
    assert short.initial_after == from_scratch_book([(call, -5.0)]).initial
    assert w.basket([(call, -5.0), (call, 5.0)]).initial_after == 0.0


def test_refused_orders_name_what_is_wrong() -> None:
    w = ro.SpanWhatIf(BOOK, MARKET, "sample", account="mm-btc")
    with pytest.raises(KeyError, match="NOT-AN-INSTRUMENT"):
        w.order("NOT-AN-INSTRUMENT", 1.0)
    with pytest.raises(ValueError, match="BTC-PERPETUAL"):
        w.order("BTC-PERPETUAL", float("nan"))
    call = next(n for n in NAMES if n.startswith("BTC-") and n.endswith("-C"))
    with pytest.raises(ValueError, match="contracts, beyond the 9.2e10 SPAN nets"):
        w.order(call, 1e11)  # (an order below the what-if's bound, beyond SPAN's: 1e11 contracts)
    assert w.margin().initial_after == from_scratch("mm-btc", []).initial
    span, mapping = inter_spread_params()["file"], dict(inter_spread_params()["mapping"])
    missing = next(n for n in NAMES if n.startswith("ETH-") and n.endswith("-P"))
    del mapping[missing]
    w = ro.SpanWhatIf(BOOK, MARKET, {"file": span, "mapping": mapping}, account="mm-btc", instruments=[missing])
    with pytest.raises(ValueError, match=f"{missing}.*no entry in the SPAN mapping"):
        w.order(missing, 1.0)
    with pytest.raises(ValueError, match=f"{missing}.*no entry in the SPAN mapping"):
        w.apply([(missing, 1.0)])
    assert w.margin().initial_after == from_scratch("mm-btc", [], {"file": span, "mapping": mapping}).initial  # (nothing committed)


def from_scratch_book(orders: list[tuple[str, float]]) -> ro.MarginResult:
    book = ro.Book.from_arrays(["book"] * len(orders), [o[0] for o in orders], [o[1] for o in orders],
                               instruments=MARKET.instruments)  # fmt: skip
    return ro.margin(book, MARKET, "span", "sample")


def test_many_positions_in_any_order_net() -> None:
    """The compiled call nets repeated contracts in any order: a basket that splits an order in parts gives
    the figures of the whole."""
    w = ro.SpanWhatIf(BOOK, MARKET, "sample", account="mm-eth")
    rng = np.random.default_rng(5)
    eth = [n for n in NAMES if n.startswith("ETH-")]
    picks = rng.choice(eth, 6).tolist()
    whole = [(n, 2.0) for n in picks]
    parts = [(n, 0.5) for n in picks for _ in range(4)]
    rng.shuffle(parts)
    assert w.basket(parts) == w.basket(whole)
