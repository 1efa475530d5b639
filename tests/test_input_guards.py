"""Bad input gets a clear error naming the field, never a crash and never a silent NaN in a margin figure:
instrument names, numbers beyond float range, complex arrays, revaluation rates, what-if quantities, liquidation
balances and search settings, stale index prices, and the last guard on every margin figure."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import riskoffset as ro
from riskoffset import margining
from riskoffset.instruments import Instrument
from riskoffset.whatif import WhatIf


@pytest.mark.parametrize("name", ["BTC\n-27DEC24-100000-C", "BTC-27DEC24-100000-C ", "BTC-27D\tEC24-1-C", "BTC\x00-PERPETUAL"])
def test_names_with_spaces_or_control_characters_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="no spaces, line breaks or control characters"):
        Instrument.parse(name)


def test_a_python_int_beyond_float_range_names_the_field() -> None:
    with pytest.raises(ValueError, match="too large to be a float64"):
        ro.price("c", 10**400, 100.0, 1.0, 0.0, 0.5)


_REVALUE_ARGS = {"flag": [1.0], "forward": [100.0], "strike": [100.0], "t": [0.5], "sigma": [[0.5]], "move": [0.1]}


@pytest.mark.parametrize("field", [*_REVALUE_ARGS, "time_shift", "inverse"])
def test_revalue_refuses_complex_arrays_naming_the_field(field: str) -> None:
    """Casting would drop the imaginary part without a word (numpy only warns): a value nobody meant."""
    args = {k: np.array(v) for k, v in _REVALUE_ARGS.items()}
    extra = {}
    if field in args:
        args[field] = args[field] + 1j
    else:
        extra[field] = np.array([0.0 + 1j])
    with pytest.raises(TypeError, match=rf"{field} must be real"):
        ro.revalue(*args.values(), **extra)


def test_positions_balances_and_drop_in_inputs_refuse_complex_arrays() -> None:
    table = ro.Market.sample().instruments
    with pytest.raises(TypeError, match="quantity must be real"):
        ro.Book.from_arrays(np.array([0]), np.array([0]), np.array([1.0 + 1j]), instruments=table)
    with pytest.raises(TypeError, match="average_price must be real"):
        ro.Book.from_arrays(np.array([0]), np.array([0]), np.array([1.0]), instruments=table,
                            average_price=np.array([100.0 + 1j]))  # fmt: skip
    with pytest.raises(TypeError, match="amounts must be real"):
        ro.Balances(np.arange(1), ("BTC",), np.array([[1.0 + 1j]]))
    from riskoffset.compat.vectorized import vectorized_black_scholes

    for underlying in (np.array([100.0 + 1j]), [100.0 + 1j]):
        with pytest.raises(TypeError, match="must be real"):
            vectorized_black_scholes("c", underlying, 100.0, 0.5, 0.0, 0.5, return_as="numpy")


@pytest.mark.parametrize("r", [math.nan, math.inf, "0.01", None])
def test_revalue_refuses_a_rate_that_is_not_a_finite_number(r: object) -> None:
    with pytest.raises(ValueError, match="r must be a finite number"):
        ro.revalue([1.0], [100.0], [100.0], [1.0], [0.5], [0.0], r=r)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def whatif() -> WhatIf:
    return WhatIf(ro.Book.sample(), ro.Market.sample(), account="mm-btc")


@pytest.mark.parametrize("quantity", [math.nan, math.inf, -math.inf, 1e16])
def test_whatif_refuses_a_quantity_that_is_not_an_order(whatif: WhatIf, quantity: float) -> None:
    with pytest.raises(ValueError, match="BTC-PERPETUAL.*not finite or not below 1e\\+15"):
        whatif.order("BTC-PERPETUAL", quantity)
    with pytest.raises(ValueError, match="BTC-PERPETUAL.*not finite or not below 1e\\+15"):
        whatif.basket([("BTC-PERPETUAL", quantity)])
    assert math.isfinite(whatif.order("BTC-PERPETUAL", 10.0).initial_after)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"balance": {"BTC": math.nan}}, "balance of BTC: nan is not a finite amount"),
        ({"balance": {"USDC": "lots"}}, "balance of USDC: 'lots' is not a number"),
        ({"balance": math.inf}, "balance of USD: inf is not a finite amount"),
        ({"balance": 1e5, "steps": 0}, "steps must be an integer from 1 to 10,000"),
        ({"balance": 1e5, "max_up": math.nan}, "max_up must be a finite move above 0"),
        ({"balance": 1e5, "tolerance": 0.0}, "tolerance must lie in"),
    ],
)
def test_liquidation_names_the_bad_argument(kwargs: dict, message: str) -> None:
    book = ro.Book.sample("short_strangle")
    with pytest.raises(ValueError, match=message):
        ro.liquidation(book, ro.Market.sample(), underlying="BTC", **kwargs)


@pytest.mark.parametrize("method", ["deribit-standard", "deribit-pm", "grid"])
def test_a_stale_index_is_refused_with_max_age(method: str) -> None:
    m = ro.Market.sample()
    now = int(m.valuation_time.timestamp() * 1000)

    def market(age_ms: int) -> ro.Market:
        return ro.Market(valuation_time=m.valuation_time, index=m.index, marks=m.marks, mark_iv=m.mark_iv,
                         forwards=m.forwards, timestamps={"BTC": now - age_ms}, max_age=60,
                         instruments=m.instruments)  # fmt: skip

    book = ro.Book.sample()
    with pytest.raises(ro.MarketDataError, match=r"BTC index\): the quote of BTC is stale: 3600 s old"):
        ro.margin(book, market(3_600_000), method)
    fresh = ro.margin(book, market(30_000), method)
    assert fresh.initial_usd == ro.margin(book, m, method).initial_usd


@pytest.mark.parametrize(
    ("initial", "maintenance", "what"),
    [(math.nan, 1.0, "nan"), (math.inf, 1.0, "inf"), (-5.0, -6.0, "-5.0"), (1.0, 2.0, "initial 1.0")],
)
def test_no_margin_figure_leaves_margin_unless_it_is_valid(
    monkeypatch: pytest.MonkeyPatch, initial: float, maintenance: float, what: str
) -> None:
    """The last guard: whatever a parameter set or a method does, ro.margin never returns a NaN, infinite or
    negative figure or an initial margin below the maintenance margin (a corrupted set is named)."""
    real = margining.method_function("deribit-standard")

    def corrupted(book: ro.Book, market: ro.Market, params: object) -> ro.MarginResult:
        result = real(book, market, params)
        groups = margining.GroupMargins.of(result)
        im, mm = groups.initial.copy(), groups.maintenance.copy()
        im[1], mm[1] = initial, maintenance
        return dataclasses.replace(groups, initial=im, maintenance=mm).total()

    monkeypatch.setattr(margining, "method_function", lambda method: corrupted)
    with pytest.raises(ValueError, match=f"deribit-standard: account .*{what}.*not a valid margin"):
        ro.margin(ro.Book.sample(), ro.Market.sample(), "deribit-standard")


def test_a_margin_whose_usd_value_overflows_is_refused() -> None:
    """An index price the market takes (finite, > 0) but absurd: an inverse option's margin in ETH is sound,
    its USD value is not a number to hand on."""
    market = ro.Market.sample()
    market.update(index={"ETH": 1.7e308})
    book = ro.Book.from_arrays(np.zeros(1, int), np.array([market.instruments.row("ETH-26MAR27-4400-P")]),
                               np.array([57.3]), instruments=market.instruments)  # fmt: skip
    with pytest.raises(ValueError, match=r"deribit-pm: account 0, group eth_eth: initial .* ETH is beyond the float "
                                         r"range in USD: check the market's USD price of ETH"):  # fmt: skip
        ro.margin(book, market, "deribit-pm")
    with pytest.raises(ValueError, match="beyond the float range in USD"):
        ro.margin_accounts(book, market)
    market.update(index={"ETH": 3_400.0})
    assert math.isfinite(ro.margin(book, market, "deribit-pm").initial_usd)


def test_totals_past_the_float_range_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows each finite in USD can sum past the float range: the book's total is checked too."""
    real = margining.method_function("deribit-standard")

    def huge(book: ro.Book, market: ro.Market, params: object) -> ro.MarginResult:
        groups = margining.GroupMargins.of(real(book, market, params))
        im = np.where(np.isfinite(groups.usd_rate), 1.5e308 / groups.usd_rate, 1.0)
        return dataclasses.replace(groups, initial=im, maintenance=im.copy()).total()

    monkeypatch.setattr(margining, "method_function", lambda method: huge)
    with pytest.raises(ValueError, match=r"deribit-standard: the book's initial(_usd)? is inf, beyond the float range"):
        ro.margin(ro.Book.sample(), ro.Market.sample(), "deribit-standard")


def test_an_account_whose_groups_sum_past_the_float_range_is_refused() -> None:
    rows = margining.margin_rows(ro.Book.sample(), ro.Market.sample(), "deribit-standard")
    im = np.where(np.isfinite(rows.usd_rate), 1.5e308 / rows.usd_rate, 1.0)  # each row finite in USD
    with pytest.raises(ValueError, match="account 'mm-hedge': its groups' margins sum past the float range"):
        dataclasses.replace(rows, initial=im, maintenance=im.copy()).by_account()
    assert np.isfinite(rows.by_account().initial_usd).all()


def test_liquidation_refuses_an_equity_that_overflows_in_usd() -> None:
    market = ro.Market.sample()
    table = market.instruments
    book = ro.Book.from_arrays(np.zeros(1, int), np.array([table.row("BTC-PERPETUAL")]), np.array([10.0]),
                               instruments=table)  # fmt: skip
    huge = ro.Balances(np.zeros(1, int), ("BTC", "ETH"), np.array([[1.0, 1.7e308]]))  # finite, not in USD
    with pytest.raises(ValueError, match="the account's equity is inf USD, beyond the float range"):
        ro.liquidation(book, market, huge, underlying="BTC")
    sane = ro.Balances(np.zeros(1, int), ("BTC", "ETH"), np.array([[1.0, 1.0]]))
    assert math.isfinite(ro.liquidation(book, market, sane, underlying="BTC").equity_usd)


def test_the_guard_passes_every_sample_book_and_method() -> None:
    market = ro.Market.sample()
    for name in ro.Book.samples():
        for method, params in (("deribit-standard", None), ("deribit-pm", None), ("grid", None), ("span", "sample")):
            r = ro.margin(ro.Book.sample(name), market, method, params)
            rows = margining.GroupMargins.of(r)
            assert np.isfinite(rows.initial).all() and (rows.initial >= rows.maintenance).all()


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["007", "7"], ["007", "7"]),
        (["+7", "7"], ["+7", "7"]),
        (["-0", "0"], ["-0", "0"]),
        (["99999999999999999999999"], ["99999999999999999999999"]),
        (["7", "-3", "12"], [-3, 7, 12]),
    ],
)
def test_account_labels_are_never_merged_or_changed(tmp_path: Path, labels: list[str], expected: list[object]) -> None:
    """A CSV label is read as an integer only when it is written as one canonically; otherwise it stays text,
    so distinct labels stay distinct accounts."""
    path = tmp_path / "book.csv"
    path.write_text("account,instrument,quantity\n" + "".join(f"{a},BTC-PERPETUAL,10\n" for a in labels))
    book = ro.Book.load(path)
    assert [a.item() if hasattr(a, "item") else a for a in book.accounts] == expected
    assert (book.quantity == 10.0).all()


def test_contracts_beyond_float_range_are_named() -> None:
    with pytest.raises(ValueError, match=r"position 0 \(BTC-PERPETUAL\): quantity 1000.* is not finite"):
        ro.Book.from_json([{"instrument": "BTC-PERPETUAL", "contracts": 10**400}])


def test_revalue_without_instruments_takes_any_vol_states() -> None:
    empty = np.zeros(0)
    out = ro.revalue(empty, empty, empty, empty, np.zeros((0, 3)), np.zeros(4),
                     vol_state=np.array([0, 1, 2, 0], dtype=np.int32))  # fmt: skip
    assert out.shape == (0, 4)


@pytest.mark.parametrize("entry", ["margin", "margin_accounts", "account"])
def test_the_rows_without_a_total_pass_the_same_guard(monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    """``margin_rows`` (what margin_accounts and the account view read, without the book's total) refuses the
    figures ro.margin refuses, whichever public call reaches it."""
    from riskoffset.margining import standard

    real = standard.standard_rows

    def corrupted(book: ro.Book, market: ro.Market, params: object = None) -> margining.GroupMargins:
        rows = real(book, market, params)
        im = rows.initial.copy()
        im[0] = math.nan
        return dataclasses.replace(rows, initial=im)

    monkeypatch.setattr(standard, "standard_rows", corrupted)
    book, market = ro.Book.sample("market_maker"), ro.Market.sample()
    with pytest.raises(ValueError, match="deribit-standard: account .*nan.*not a valid margin"):
        if entry == "margin":
            ro.margin(book, market, "deribit-standard")
        elif entry == "margin_accounts":
            ro.margin_accounts(book, market, "deribit-standard")
        else:
            ro.account(book, market, ro.Balances.sample("market_maker"), "X:SM")


def test_the_rows_without_a_total_are_the_rows_of_the_total() -> None:
    market = ro.Market.sample()
    for name in ro.Book.samples():
        book = ro.Book.sample(name)
        for method, params in (("deribit-standard", None), ("deribit-pm", None), ("grid", None), ("span", "sample"),
                               ("deribit-pm", "deribit-pm-legacy-2020")):  # fmt: skip
            rows = margining.margin_rows(book, market, method, params)
            total = margining.GroupMargins.of(ro.margin(book, market, method, params))
            for column in ("account", "group", "currency", "initial", "maintenance", "usd_rate"):
                np.testing.assert_array_equal(getattr(rows, column), getattr(total, column), err_msg=f"{name} {method}")
            assert rows.group_names == total.group_names and rows.currencies == total.currencies
