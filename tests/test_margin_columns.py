"""Margin as columns (GroupMargins / AccountMargins): the lazily built per-row results, the vectorised total
and the per-account sums agree with the same figures added one MarginResult at a time."""

from __future__ import annotations

import math

import numpy as np
import pytest
from random_books import MARGIN_METHODS
from riskoffset.margining.columns import NO_TAG, GroupMargins, calibration_codes
from riskoffset.margining.result import MarginResult


def _columns(currency: list[int], usd_rate: list[float]) -> GroupMargins:
    n = len(currency)
    return GroupMargins(
        method="test",
        parameters_source="hand-made",
        accounts=np.array(["a", "b", "c"]),
        account=np.array([0, 0, 1, 2][:n]),
        group_names=("btc_btc", "eth_eth", "btc_usdc"),
        group=np.array([0, 1, 2, 0][:n]),
        currencies=("BTC", "ETH", "USDC"),
        currency=np.array(currency),
        initial=np.array([0.5, 2.0, 1000.0, 0.25][:n]),
        maintenance=np.array([0.4, 1.6, 800.0, 0.2][:n]),
        usd_rate=np.array(usd_rate),
        components={
            "scan": np.array([0.5, 2.0, 1000.0, 0.25][:n]),
            "extra": np.array([0.0, 1.0, 0.0, 0.0][:n]),
        },
        calibration={
            "scan": calibration_codes(["calibrated", "candidate", "exact", "exact"][:n]),
            "extra": calibration_codes([None, "exact", None, None][:n]),
        },
    )


def test_rows_are_built_on_demand_and_match_the_columns() -> None:
    g = _columns([0, 1, 2, 0], [50_000.0, 2_000.0, 1.0, 50_000.0])
    assert len(g) == 4
    r = g[1]
    assert isinstance(r, MarginResult)
    assert (r.account, r.group, r.currency, r.initial, r.initial_usd) == ("a", "eth_eth", "ETH", 2.0, 4_000.0)
    assert r.components == {"scan": 2.0, "extra": 1.0} and r.calibration == {
        "scan": "candidate",
        "extra": "exact",
    }
    assert g[0].components == {"scan": 0.5}  # no tag: the component is absent from that row
    assert g[-1].account == "c" and [x.initial for x in g] == [0.5, 2.0, 1000.0, 0.25]
    with pytest.raises(IndexError):
        g[4]


def test_total_in_usd_when_currencies_differ() -> None:
    g = _columns([0, 1, 2, 0], [50_000.0, 2_000.0, 1.0, 50_000.0])
    t = g.total()
    # 0.5 BTC x 50,000 + 2 ETH x 2,000 + 1,000 USDC x 1 + 0.25 BTC x 50,000 = 25,000 + 4,000 + 1,000 + 12,500
    assert (
        t.currency == "USD"
        and t.initial == pytest.approx(42_500.0)
        and t.initial_usd == pytest.approx(42_500.0)
    )
    assert t.components["scan"] == pytest.approx(42_500.0) and t.components["extra"] == pytest.approx(2_000.0)
    assert t.calibration == {"scan": "candidate", "extra": "exact"}  # the weakest tag of the rows
    assert t.groups is g and len(t.groups) == 4


def test_total_in_the_common_currency() -> None:
    g = _columns([0, 0], [50_000.0, 40_000.0])
    t = g.total()
    assert (
        t.currency == "BTC" and t.initial == pytest.approx(2.5) and t.initial_usd == pytest.approx(105_000.0)
    )


def test_total_refuses_to_add_currencies_without_a_rate() -> None:
    g = _columns([0, 1], [math.nan, 2_000.0])
    with pytest.raises(ValueError, match="BTC margin .*account 'a'"):
        g.total()


def test_by_account_sums_rows_in_the_account_currency_or_usd() -> None:
    g = _columns([0, 1, 2, 0], [50_000.0, 2_000.0, 1.0, 50_000.0])
    a = g.by_account()
    cols = a.columns()
    assert cols["account"].tolist() == ["a", "b", "c"]
    assert cols["currency"].tolist() == ["USD", "USDC", "BTC"]  # account a holds BTC and ETH groups
    assert a.initial.tolist() == pytest.approx([25_000.0 + 4_000.0, 1_000.0, 0.25])
    assert a.initial_usd.tolist() == pytest.approx([29_000.0, 1_000.0, 12_500.0])
    assert cols["worst_group"].tolist() == ["btc_btc", "btc_usdc", "btc_btc"]  # largest IM in USD per account


def test_empty_and_single_rows() -> None:
    g = _columns([0], [50_000.0])
    assert g.total() == g[0]
    empty = GroupMargins(
        "test",
        "",
        np.array([], dtype=str),
        np.zeros(0, np.int64),
        (),
        np.zeros(0, np.int64),
        (),
        np.zeros(0, np.int64),
        np.zeros(0),
        np.zeros(0),
        np.zeros(0),
    )
    assert empty.total().initial == 0.0 and len(empty.by_account()) == 0
    assert NO_TAG == -1


def test_to_pandas() -> None:
    pd = pytest.importorskip("pandas")
    g = _columns([0, 1, 2, 0], [50_000.0, 2_000.0, 1.0, 50_000.0])
    frame = g.to_pandas()
    assert isinstance(frame, pd.DataFrame) and list(frame["initial_usd"]) == pytest.approx(
        [25_000, 4_000, 1_000, 12_500]
    )
    assert g.by_account().to_pandas().loc["a", "initial_usd"] == pytest.approx(29_000.0)


def test_of_a_result_with_groups_as_objects() -> None:
    import riskoffset as ro

    market = ro.Market.sample()
    book = ro.Book.sample("market_maker")
    from riskoffset.margining.result import aggregate

    columnar = ro.margin(book, market, "grid")
    assert isinstance(columnar.groups, GroupMargins)
    result = aggregate("grid", list(columnar.groups), columnar.parameters_source)  # one object per group
    assert isinstance(result.groups, tuple)
    assert result.initial_usd == pytest.approx(columnar.initial_usd, rel=1e-12)
    cols = GroupMargins.of(result)
    assert len(cols) == len(result.groups) > 1
    assert cols.initial_usd.sum() == pytest.approx(result.initial_usd, rel=1e-12)
    assert cols[0] is result.groups[0]
    assert cols.by_account().initial_usd.sum() == pytest.approx(result.initial_usd, rel=1e-12)


def test_standard_and_portfolio_margin_rows_are_columns() -> None:
    import riskoffset as ro

    market = ro.Market.sample()
    book = ro.Book.sample("market_maker")
    for method in ("deribit-standard", "deribit-pm"):
        result = ro.margin(book, market, method)
        assert isinstance(result.groups, GroupMargins) and GroupMargins.of(result) is result.groups
        rows = list(result.groups)
        assert result.initial_usd == pytest.approx(sum(r.initial_usd or 0.0 for r in rows), rel=1e-12)
        assert rows[0] == result.groups[0]  # rows are rebuilt on demand, equal each time


@pytest.mark.parametrize("method, params", MARGIN_METHODS)
def test_a_dropped_result_is_freed_at_once(method: str, params: object) -> None:
    """A margin result of many accounts holds no reference cycle: dropped, its columns are freed at once, not
    at a later garbage collection (a risk loop margining a large book would otherwise hold a few hundred MB per
    call until the collector ran, and fault in fresh memory every call)."""
    import gc
    import weakref

    import riskoffset as ro

    market = ro.Market.sample()
    book = ro.Book.from_arrays(
        ["a", "a", "b", "c"],
        ["BTC-PERPETUAL", "BTC-25DEC26-110000-C", "ETH-25DEC26-4000-P", "BTC-25DEC26-110000-P"],
        [10_000.0, -2.0, 5.0, 1.0],
        instruments=market.instruments,
    )
    result = ro.margin(book, market, method, params)
    rows = result.groups
    assert isinstance(rows, GroupMargins) and len(rows) >= 3
    rows[0]  # a row's full result built once (its builder is handed the columns)
    gone = weakref.ref(rows)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        del result, rows
        assert gone() is None, "the result lives on in a reference cycle"
    finally:
        if was_enabled:
            gc.enable()


def test_concat_recodes_parts_whose_names_differ() -> None:
    """Parts of one book margined apart may list their currencies and groups differently: the whole lists each
    once, in the order first met, and every code names the same currency or group as before."""
    from riskoffset.margining.columns import AccountMargins

    def part(accounts: list[str], currencies: tuple[str, ...], currency: list[int], groups: tuple[str, ...],
             group: list[int]) -> AccountMargins:  # fmt: skip
        n = len(accounts)
        label = np.empty(n, dtype=object)
        label[:] = accounts
        figures = np.arange(1.0, n + 1.0)
        return AccountMargins("test", label, currencies, np.array(currency), figures, figures, figures, figures,
                              np.array(group), np.arange(n), group_names=groups)  # fmt: skip

    first = part(["a", "b"], ("BTC", "USD"), [0, 1], ("btc_btc", "btc_usdc"), [0, 1])
    second = part(["c", "d", "e"], ("ETH", "BTC", "USD"), [0, 1, 2], ("eth_eth", "btc_btc"), [1, 0, 0])
    same = part(["f"], ("BTC", "USD"), [1], ("btc_btc", "btc_usdc"), [1])
    whole = AccountMargins.concat([first, second, same], [2, 3, 1])
    assert whole.currencies == ("BTC", "USD", "ETH") and whole.group_names == ("btc_btc", "btc_usdc", "eth_eth")
    names = [whole.currencies[c] for c in whole.currency.tolist()]
    assert names == ["BTC", "USD", "ETH", "BTC", "USD", "USD"]
    assert [whole.group_names[g] for g in whole.worst_group.tolist()] == [
        "btc_btc", "btc_usdc", "btc_btc", "eth_eth", "eth_eth", "btc_usdc"
    ]  # fmt: skip
    assert whole.worst_row.tolist() == [0, 1, 2, 3, 4, 5]
