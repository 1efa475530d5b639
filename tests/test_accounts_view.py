"""The account view under S:SM, X:SM, S:PM, X:PM and their comparison, on margins given by hand so every
figure is hand-computed arithmetic (docstrings), plus the sample books end to end."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.accounts import CollateralComparison
from riskoffset.margining.columns import GroupMargins

BTC = 95_000.0  # the sample market's BTC index


def _book() -> ro.Book:
    return ro.Book.from_positions(
        [
            {"instrument": "BTC-PERPETUAL", "quantity": 1_000, "account": "a"},
            {"instrument": "BTC_USDC-PERPETUAL", "quantity": 1, "account": "a"},
            {"instrument": "BTC-PERPETUAL", "quantity": 1_000, "account": "b"},
        ]
    )


def _margins(method: str) -> SimpleNamespace:
    """Account a: IM 0.1 BTC + 2,000 USDC, MM 0.05 BTC + 1,000 USDC; account b: IM 0.1 BTC, MM 0.05 BTC."""
    groups = GroupMargins(
        method=method, parameters_source="by hand", accounts=np.array(["a", "b"]),
        account=np.array([0, 0, 1]), group_names=("BTC", "USDC"), group=np.array([0, 1, 0]),
        currencies=("BTC", "USDC"), currency=np.array([0, 1, 0]),
        initial=np.array([0.1, 2_000.0, 0.1]), maintenance=np.array([0.05, 1_000.0, 0.05]),
        usd_rate=np.array([BTC, 1.0, BTC]),
    )  # fmt: skip
    return SimpleNamespace(groups=groups, parameters_source="by hand")


def _balances() -> ro.Balances:
    return ro.Balances.from_mapping({"a": {"BTC": 1.0, "USDC": 10_000.0}, "b": {"USDC": 60_000.0}})


def _view(model: str, **options: object) -> ro.AccountView:
    method = "deribit-standard" if model.endswith("SM") else "deribit-pm"
    return ro.account(_book(), ro.Market.sample(), _balances(), model, margins=_margins(method), **options)


@pytest.mark.parametrize("model", ["X:SM", "X:PM"])
def test_cross_pools_in_usd(model: str) -> None:
    """a: margin balance 1 x 95,000 + 10,000 = 105,000; IM 0.1 x 95,000 + 2,000 = 11,500; available
    93,500; MM 4,750 + 1,000 = 5,750; MM ratio 5,750 / 105,000.  b: 60,000 USDC covers the 9,500 USD of
    BTC IM: available 50,500, nothing to fund."""
    v = _view(model)
    a, b = v.row("a"), v.row("b")
    assert a["margin_balance_usd"] == pytest.approx(105_000.0)
    assert a["initial_usd"] == pytest.approx(11_500.0) and a["maintenance_usd"] == pytest.approx(5_750.0)
    assert a["available_usd"] == pytest.approx(93_500.0)
    assert a["mm_ratio"] == pytest.approx(5_750.0 / 105_000.0)
    assert b["available_usd"] == pytest.approx(50_500.0) and not b["below_initial"]
    np.testing.assert_allclose(v.funding_needed_usd, [0.0, 0.0])
    assert v.calibration == "candidate"  # the bundled haircuts are candidates


def test_segregated_keeps_currencies_apart() -> None:
    """S:SM, a: (1 - 0.1) x 95,000 + (10,000 - 2,000) = 93,500 USD available, as under X:SM with no
    haircut.  b holds no BTC against 0.1 BTC of IM: below initial and maintenance margin in BTC although it
    holds 60,000 USDC; it must add 0.1 x 95,000 = 9,500 USD of BTC."""
    v = _view("S:SM")
    assert v.row("a")["available_usd"] == pytest.approx(93_500.0)
    np.testing.assert_allclose(v.available[0], [0.9, 8_000.0])
    b = v.row("b")
    assert b["below_initial"] and b["below_maintenance"]
    np.testing.assert_allclose(v.funding_needed_usd, [0.0, 9_500.0])


def test_haircut_cuts_initial_side_only() -> None:
    """BTC haircut 4 % on the IM side: a's collateral for IM = 0.96 x 95,000 + 10,000 = 101,200, available
    101,200 - 11,500 = 89,700; for MM it stays 105,000 (not below maintenance)."""
    table = {"currencies": {"BTC": {"haircut": 0.04}, "USDC": {"haircut": 0.0, "pegged_usd": True}}}
    v = _view("X:SM", collateral=table)
    assert v.row("a")["margin_balance_usd"] == pytest.approx(101_200.0)
    assert v.row("a")["available_usd"] == pytest.approx(89_700.0)
    assert not v.below_maintenance.any()


def test_unrealised_enters_equity() -> None:
    """An unrealised P&L of -0.2 BTC on a: equity 0.8 BTC, margin balance 0.8 x 95,000 + 10,000 = 86,000,
    available 86,000 - 11,500 = 74,500 (X:SM)."""
    unrealised = np.array([[-0.2, 0.0], [0.0, 0.0]])  # balances' columns: BTC, USDC
    v = _view("X:SM", unrealised=unrealised)
    assert v.equity[0, 0] == pytest.approx(0.8)
    assert v.row("a")["available_usd"] == pytest.approx(74_500.0)


def test_comparison_saved_vs_segregated() -> None:
    """b needs 9,500 USD of BTC under S:SM and nothing under X:SM: 9,500 saved; a saves nothing."""
    cmp = CollateralComparison({"S:SM": _view("S:SM"), "X:SM": _view("X:SM")})
    saved = {(r["account"], r["model"]): r["saved_usd"] for r in cmp.rows()}
    assert saved[("b", "X:SM")] == pytest.approx(9_500.0)
    assert saved[("a", "X:SM")] == 0.0 and saved[("b", "S:SM")] == 0.0


def test_sample_book_all_models() -> None:
    """End to end on a bundled book: every model runs; cross-collateral never needs more funding than
    segregated for the same margin method when haircuts are zero (pooling only adds usable collateral)."""
    book, market = ro.Book.sample("linear_inverse"), ro.Market.sample()
    balances = ro.Balances.from_mapping({"inverse": {"USDC": 1_000.0}, "linear": {"BTC": 0.01, "USDC": 10.0}})
    zero = {"currencies": {"BTC": {"haircut": 0.0}, "USDC": {"haircut": 0.0, "pegged_usd": True}}}
    cmp = ro.compare_collateral(book, market, balances, collateral=zero)
    assert list(cmp.views) == ["S:SM", "X:SM", "S:PM", "X:PM"]
    for s, x in (("S:SM", "X:SM"), ("S:PM", "X:PM")):
        assert (cmp.views[x].funding_needed_usd <= cmp.views[s].funding_needed_usd + 1e-9).all()
        np.testing.assert_allclose(cmp.views[x].initial_usd, cmp.views[s].initial_usd)
    # equity = balance + the options' mark value in their settlement currency (from the Greeks kernel)
    v = cmp.views["S:SM"]
    g = ro.Book.sample("linear_inverse").instrument_greeks(market)
    inverse = book.account_range(0, 1)
    coin = sum(q * g["value_coin"][i] for i, q in zip(inverse.indices.tolist(), inverse.quantity.tolist())
               if book.instruments.kind[i] == 2 and book.instruments.settlement[i] == 1)  # fmt: skip
    btc = v.currencies.index("BTC")
    assert v.balance[0, btc] == 0.0 and v.equity[0, btc] == pytest.approx(coin, rel=1e-12, abs=1e-15)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="margin_model 'Z:PM'"):
        _view("Z:PM")
    sol = ro.Balances.from_mapping({"a": {"BTC": 1.0}, "b": {"SOL": 3.0}})
    with pytest.raises(ValueError, match=r"'b'.*no index price for collateral currency SOL"):
        ro.account(_book(), ro.Market.sample(), sol, "X:SM", margins=_margins("deribit-standard"))
    with pytest.raises(ValueError, match="unrealised"):
        _view("X:SM", unrealised=np.zeros((1, 1)))


def test_deribit_published_portfolio_identities_hold_in_settle() -> None:
    """Deribit's documented ``user.portfolio.btc`` example (API reference): balance 0.23399957, total P&L
    0.00000425, equity 0.2340038, margin balance 0.2340038, IM 0.00012542, MM 0.00009141, available funds
    0.23387838.  Its identities are the account view's segregated (S:) arithmetic: equity = balance + P&L,
    available = margin balance - IM (to Deribit's 8 decimals; the example prints equity to 7)."""
    from riskoffset.accounts.view import settle

    balance, pnl, equity = 0.23399957, 0.00000425, 0.2340038
    assert balance + pnl == pytest.approx(equity, abs=5e-8)
    f = settle(np.array([[equity]]), np.array([[0.00012542]]), np.array([[0.00009141]]), np.array([1.0]), None)
    assert f.margin_balance_usd[0] == pytest.approx(0.2340038, abs=5e-9)
    assert f.available_usd[0] == pytest.approx(0.23387838, abs=5e-9)
    assert f.mm_ratio[0] == pytest.approx(0.00009141 / 0.2340038, rel=1e-12)
    assert not f.below_initial[0] and not f.below_maintenance[0]


def test_projected_margins_follow_deribits_definition() -> None:
    """Deribit's projected IM/MM: under cross collateral the account's total, each cross-collateral currency's
    margin converted at its index, expressed in the given currency; segregated, each currency's own.  An
    account with 0.1 BTC of IM at 50,000 and 2,000 USDC of IM: 7,000 USD, so 0.14 BTC and 7,000 USDC projected."""
    from riskoffset.accounts.view import settle

    index = np.array([50_000.0, 1.0])
    initial = np.array([[0.1, 2_000.0]])
    maintenance = initial * 0.8
    f = settle(np.array([[1.0, 10_000.0]]), initial, maintenance, index, (np.zeros(2), np.zeros(2)))
    common: dict[str, Any] = {
        "calibration": "exact", "accounts": np.array(["a"]), "currencies": ("BTC", "USDC"), "index": index,
        "balance": np.array([[1.0, 10_000.0]]), "equity": np.array([[1.0, 10_000.0]]), "initial": initial,
        "maintenance": maintenance, "margin_balance_usd": f.margin_balance_usd, "initial_usd": f.initial_usd,
        "maintenance_usd": f.maintenance_usd, "available_usd": f.available_usd, "mm_ratio": f.mm_ratio,
        "below_initial": f.below_initial, "below_maintenance": f.below_maintenance, "collateral_source": "",
        "margin_source": "", "delta_total": np.zeros((1, 2)), "projected_delta_total": np.zeros((1, 2)),
    }  # fmt: skip
    cross = ro.AccountView(model="X:SM", **common)
    np.testing.assert_allclose(cross.projected_initial, [[0.14, 7_000.0]], rtol=1e-14)
    np.testing.assert_allclose(cross.projected_maintenance, [[0.112, 5_600.0]], rtol=1e-14)
    segregated = ro.AccountView(model="S:SM", **common)
    np.testing.assert_array_equal(segregated.projected_initial, initial)
    row = cross.row("a")
    assert row["projected_initial_BTC"] == pytest.approx(0.14, rel=1e-14)


def test_figures_that_overflow_are_refused_naming_the_account() -> None:
    """Finite balances and prices whose USD sums overflow (1e300 BTC at an index of 1e10) raise a ValueError
    naming the account, rather than an infinite margin balance; at the usual index the same book is fine."""
    from riskoffset.live.samples import sample_venue

    market = ro.Market.sample()
    book, balances = sample_venue()
    amounts = balances.amounts.copy()
    whale = balances.accounts.tolist()[0]
    amounts[0, list(balances.currencies).index("BTC")] = 1e300
    huge = ro.Balances(balances.accounts, balances.currencies, amounts)
    view = ro.account(book, market, huge, "X:PM")
    assert np.isfinite(view.margin_balance_usd).all()
    moved = market.copy()
    moved.update(index={"BTC": 1e10})
    with pytest.raises(ValueError, match=f"account {whale!r}: a margin or equity figure is not a finite number"):
        ro.account(book, moved, huge, "X:PM")
