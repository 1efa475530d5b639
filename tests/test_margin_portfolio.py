"""Deribit-style portfolio margin (see docs/margin.md): Example A of the official API documentation
to its stated tolerances, Example C as a self-consistency regression, Deribit's own
``model_params`` object as input, properties (permutation, splitting, scale, long and short), malformed
parameter sets."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from random_books import MARGIN_METHODS, random_book
from riskoffset.instruments import InstrumentTable
from riskoffset.margining import ParameterError
from riskoffset.margining.portfolio import PMParameters, portfolio_margins

DATA = Path(ro.__file__).parent / "data" / "margin"

# ---------------------------------------------------------------------------------------------- Example A
# Official Deribit API documentation, private/pme/simulate response example, BTC, 2024-06-17.
A_TIME = 1718619740501  # model_params.general.timestamp
A_INDEX = 65_666.19
A_PERP = ("BTC-PERPETUAL", 0.314538364, 65_910.57)  # name, size in coin, mark
A_FUT = ("BTC-28JUN24", -0.001187534, 67_371.75)
A_PERP_STANDARD = [
    -0.05991206933333334,
    -0.04289159509090909,
    -0.027351162086956524,
    -0.013105765166666668,
    0.0,
    0.012097629384615385,
    0.023299138074074074,
    0.033700538999999995,
    0.043384601931034494,
]
A_PERP_EXTENDED = [-0.05991206933333334] * 2 + [0.04338460193103449] * 6
A_FUT_STANDARD = [
    0.0002261969523809524,
    0.00016193645454545456,
    0.00010326382608695652,
    0.00004948058333333334,
    0.0,
    -0.00004567438461538462,
    -0.00008796548148148148,
    -0.0001272357857142857,
    -0.00016379779310344832,
]
A_AGGREGATED = [
    -0.05968587238095239,
    -0.04272965863636364,
    -0.02724789826086957,
    -0.013056284583333334,
] + [0.0] * 5
A_WORST = 0.05968587238095239
A_ROLL = 0.00315725898
A_RISK_MATRIX = 0.06284313098
A_MMP, A_OPEN_ORDERS = 0.06, 0.000018212
A_INITIAL, A_MAINTENANCE = 0.122861343, 0.050274504784


def example_a_model_params() -> dict[str, Any]:
    doc = json.loads((DATA / "deribit-pm_2024-06-17.json").read_text())
    return doc["model_params"]  # type: ignore[no-any-return]


def example_a() -> tuple[ro.Book, ro.Market]:
    market = ro.Market(A_TIME, index={"BTC": A_INDEX}, marks={A_PERP[0]: A_PERP[2], A_FUT[0]: A_FUT[2]})
    # Deribit size units: USD face for inverse futures (coin size x mark).
    book = ro.Book.from_arrays("a", [A_PERP[0], A_FUT[0]], [A_PERP[1] * A_PERP[2], A_FUT[1] * A_FUT[2]])
    return book, market


def test_example_a_instrument_vectors_to_1e15() -> None:
    book, market = example_a()
    pm = portfolio_margins(book, market, "deribit-pm-2024-06-17")
    names = book.instruments.names.tolist()
    for (name, size, mark), standard, extended in (
        (A_PERP, A_PERP_STANDARD, A_PERP_EXTENDED),
        (A_FUT, A_FUT_STANDARD, None),
    ):
        # Per unit of USD face times the unrounded face value: the position vector of a coin size.
        vector = pm.instrument_vectors[names.index(name)] * (size * mark)
        expected = np.repeat(standard, 3)  # futures rows are equal across the three vol states
        assert np.abs(vector[:27] - expected).max() <= 1e-15, f"{name} standard: {vector[:27]}"
        if extended is not None:
            assert np.abs(vector[27:] - extended).max() <= 1e-15, f"{name} extended: {vector[27:]}"


def test_example_a_aggregation_worst_case_roll_shock() -> None:
    book, market = example_a()
    pm = portfolio_margins(book, market, "deribit-pm-2024-06-17")
    assert pm.keys.names == ("btc_btc",) and len(pm) == 1
    # Exact coin sizes: the sum of the two vectors, gains x pnl_offset 0, to 1e-15.
    names = book.instruments.names.tolist()
    exact = sum(pm.instrument_vectors[names.index(n)] * (q * f) for n, q, f in (A_PERP, A_FUT))
    exact = np.where(exact > 0, 0.0, exact)
    assert np.abs(exact[:27] - np.repeat(A_AGGREGATED, 3)).max() <= 1e-15
    # The book holds the USD face rounded to 1e-8 USD (netting quantum): 2.4e-13 relative to the coin sizes.
    assert np.abs(pm.aggregated[0, :27] - np.repeat(A_AGGREGATED, 3)).max() <= 3e-14
    assert (pm.aggregated[0, 27:] == 0.0).all()  # dampened to zero (and gains x pnl_offset 0)
    assert abs(pm.worst_case[0] - A_WORST) <= 3e-14
    assert pm.worst_index[0] == 1  # bucket 1, left: the middle entry of the tie
    assert abs(pm.roll_shock[0] - A_ROLL) <= 1e-15
    assert pm.delta_shock[0] == 0.0
    assert abs(pm.risk_matrix_margin[0] - A_RISK_MATRIX) <= 1e-9
    assert pm.maintenance[0] == 0.8 * pm.risk_matrix_margin[0]


def test_example_a_through_ro_margin_with_deribits_model_params() -> None:
    book, market = example_a()
    response = {"jsonrpc": "2.0", "id": 2255, "result": {"model_params": example_a_model_params()}}
    results = [
        ro.margin(book, market, "deribit-pm", "deribit-pm-2024-06-17"),
        ro.margin(book, market, "deribit-pm", example_a_model_params()),  # the bare model_params object
        ro.margin(book, market, "deribit-pm", response),  # a whole pme/simulate response
    ]
    for result in results:
        assert result.currency == "BTC" and result.group == "btc_btc"
        rmm = result.details["risk_matrix_margin"]
        assert abs(rmm - A_RISK_MATRIX) <= 1e-9
        assert result.maintenance == 0.8 * rmm
        assert abs(result.maintenance - A_MAINTENANCE) <= 1e-9
        assert abs(result.components["worst_case"] - A_WORST) <= 3e-14
        assert abs(result.components["roll_shock"] - A_ROLL) <= 1e-15
        ws = result.worst_scenario
        assert ws is not None and ws.index == 1 and "bucket 1 (left" in ws.description
        assert result.details["bucket"] == 1
        assert result.calibration["worst_case"] == "calibrated"
        assert result.calibration["delta_shock"] == "candidate"
        assert result.initial_usd == pytest.approx(result.initial * A_INDEX)
    assert results[0].initial == results[1].initial == results[2].initial


def test_example_a_initial_margin_with_given_mmp_and_order_margins() -> None:
    book, market = example_a()
    params = {
        "model_params": example_a_model_params(),
        "addons": {"btc_btc": {"mmp_margin": A_MMP, "open_orders_margin": A_OPEN_ORDERS}},
    }
    result = ro.margin(book, market, "deribit-pm", params)
    assert abs(result.initial - A_INITIAL) <= 1e-9
    assert result.maintenance == 0.8 * result.details["risk_matrix_margin"]  # MM excludes orders and MMP
    assert result.components["mmp_margin"] == A_MMP


# ---------------------------------------------------------------------------------------------- Example C
C_NAME = "BTC-17JUL24-70000-C"  # 30 days after the valuation time below


def example_c() -> tuple[ro.Book, ro.Market]:
    market = ro.Market(
        "2024-06-17T08:00:00Z", index={"BTC": 65_000.0}, mark_iv={C_NAME: 0.55}, forwards={C_NAME: 65_000.0}
    )
    return ro.Book.from_arrays("a", [C_NAME], [-1.0]), market


def test_example_c_self_consistency() -> None:
    """Example C (constructed, not published): short 1 BTC inverse call, printed to 1e-10."""
    book, market = example_c()
    pm = portfolio_margins(book, market, "deribit-pm-2024-06-17")
    params = PMParameters.load("deribit-pm-2024-06-17")
    sigma = params.scenarios(params.pair("BTC")).shocked_vol(np.array([0.55]), np.array([30 / 365]))
    assert sigma[0, :3] == pytest.approx([0.825, 0.55, 0.4125], abs=1e-15)
    assert ro.price("c", 65_000.0, 70_000.0, 30 / 365, 0.0, 0.55, settlement="inverse") == pytest.approx(
        0.0338543847, abs=1e-10
    )
    v = -pm.instrument_vectors[0]  # short 1
    rows = {
        0: [0.0136970286, 0.0294714774, 0.0329917869],  # m = -16 %: up, same, down
        4: [-0.0301781326, 0.0, 0.0140556537],  # m = 0
        8: [-0.0971423689, -0.0691340077, -0.0560942121],  # m = +16 %
    }
    for bucket, expected in rows.items():
        assert np.abs(v[3 * bucket : 3 * bucket + 3] - expected).max() <= 1e-10, bucket
    extended = [-0.1057215015, -0.1180477529, -0.1256216847, -0.1281682476, -0.1294415517, -0.1302055342]
    assert np.abs(v[29:] - extended).max() <= 1e-10
    assert (pm.aggregated[0, 27:] == 0.0).all()  # A_m >= 2.1 BTC dampens them all at S = 65,000
    assert abs(pm.worst_case[0] - 0.0971423689) <= 1e-10 and pm.worst_index[0] == 24
    result = ro.margin(book, market, "deribit-pm", "deribit-pm-2024-06-17")
    assert result.calibration["worst_case"] == "candidate"  # option vectors are not calibrated yet


# ---------------------------------------------------------------------------------------------- properties
def test_permutation_and_splitting_invariance() -> None:
    market = ro.Market.sample()
    base = ro.Book.sample("market_maker")
    records = base.positions()
    split = []
    for r in records:
        part = round(r["quantity"] * 0.37, 8)
        split += [dict(r, quantity=part), dict(r, quantity=round(r["quantity"] - part, 8))]
    order = np.random.default_rng(11).permutation(len(split))
    other = ro.Book.from_positions([split[i] for i in order], instruments=market.instruments)
    a = ro.margin(base, market, "deribit-pm")
    b = ro.margin(other, market, "deribit-pm")
    assert a.initial == b.initial and a.maintenance == b.maintenance
    assert [g.to_dict() for g in a.groups] == [g.to_dict() for g in b.groups]


@pytest.mark.parametrize("scale", [2.0, 4.0, 3.0, 0.1])
def test_scan_risk_linear_in_scale(scale: float) -> None:
    market = ro.Market.sample()
    base = ro.Book.sample("short_strangle")
    scaled = ro.Book.from_positions(
        [dict(r, quantity=r["quantity"] * scale) for r in base.positions()], instruments=market.instruments
    )
    a = portfolio_margins(base, market)
    b = portfolio_margins(scaled, market)
    exact = scale in (2.0, 4.0)  # powers of two scale every float exactly
    tol = 0.0 if exact else 1e-12
    assert np.allclose(b.pre_aggregated, scale * a.pre_aggregated, rtol=tol, atol=0.0)
    standard = slice(0, 27)
    worst_a = np.maximum(0.0, -a.pre_aggregated[:, standard].min(axis=1))
    worst_b = np.maximum(0.0, -b.pre_aggregated[:, standard].min(axis=1))
    assert np.allclose(worst_b, scale * worst_a, rtol=tol, atol=0.0)


def test_long_and_short_the_same_instrument_carry_no_scenario_risk() -> None:
    market = ro.Market.sample()
    names = ["BTC-25DEC26-110000-C", "BTC-PERPETUAL", "ETH-25DEC26-4000-C", "BTC_USDC-PERPETUAL"]
    netted = ro.Book.from_arrays("a", names * 2, [5.0, 1e5, 3.0, 2.0, -5.0, -1e5, -3.0, -2.0])
    assert len(netted) == 0
    result = ro.margin(netted, market, "deribit-pm")
    assert result.initial == 0.0 and result.maintenance == 0.0
    # Two accounts holding opposite positions: their scenario P&L vectors cancel exactly.
    two = ro.Book.from_arrays(
        ["long"] * 4 + ["short"] * 4, names * 2, [5.0, 1e5, 3.0, 2.0, -5.0, -1e5, -3.0, -2.0]
    )
    pm = portfolio_margins(two, market)
    by_account = {int(a): pm.pre_aggregated[pm.account == a] for a in np.unique(pm.account)}
    assert np.array_equal(by_account[0], -by_account[1])


def test_sample_books_all_groups() -> None:
    market = ro.Market.sample()
    for name in ro.Book.samples():
        result = ro.margin(ro.Book.sample(name), market)
        groups = result.groups or (result,)
        for g in groups:
            assert g.maintenance == g.details["mm_factor"] * g.details["risk_matrix_margin"]
            assert g.initial >= g.maintenance >= 0.0
        assert result.to_dict()["method"] == "deribit-pm"
    linear = ro.margin(ro.Book.sample("linear_inverse"), market)
    assert {g.group for g in linear.groups} >= {"btc_usdc", "btc_btc"}
    assert all(g.calibration["worst_case"] == "candidate" for g in linear.groups if g.currency == "USDC")


def test_default_preset_merges_the_dated_sets() -> None:
    params = PMParameters.load()
    assert set(params.pairs) >= {"btc_usd", "eth_usd"}
    assert params.pair("ETH").price_range == 0.18 and params.pair("BTC").price_range == 0.16
    assert "2024-06-17" in params.source and "2026-02-15" in params.source


# ---------------------------------------------------------------------------------------------- bad input
def _bad(mutate: Any) -> dict[str, Any]:
    doc = json.loads((DATA / "deribit-pm_2024-06-17.json").read_text())
    mutate(doc)
    return doc  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["model_params"]["currency_pair"]["btc_usd"].pop("price_range"),
            "btc_usd: missing key 'price_range'",
        ),
        (
            lambda d: d["model_params"]["currency_pair"]["btc_usd"].update(price_range=0),
            "price_range: must be > 0",
        ),
        (
            lambda d: d["model_params"]["currency"]["btc"].update(pnl_offset="0.6"),
            "currency.btc.pnl_offset: expected a number",
        ),
        (lambda d: d["model_params"]["general"].update(vol_scenarios_count=5), "only 3 vol states"),
        (
            lambda d: d["model_params"]["general"].update(buckets_count=2.5),
            "buckets_count: must be an integer",
        ),
        (lambda d: d["model_params"].pop("general"), "missing key 'general'"),
        (lambda d: d["engine"].update(extended_moves=[0.5, 0]), "extended_moves"),
        (lambda d: d.update(addons={"btc_btc": {"mmp": 1}}), "addons.btc_btc: unknown"),
        (lambda d: d.pop("model_params"), "expected a deribit-pm parameter file"),
    ],
)
def test_malformed_parameters(tmp_path: Path, mutate: Any, message: str) -> None:
    path = tmp_path / "pm.json"
    path.write_text(json.dumps(_bad(mutate)))
    with pytest.raises(ParameterError, match=message) as info:
        PMParameters.load(str(path))
    assert str(path) in str(info.value)


def test_missing_pair_names_the_key() -> None:
    market = ro.Market.sample()
    book = ro.Book.sample("covered_calls")  # BTC and ETH
    with pytest.raises(ParameterError, match="no currency_pair 'eth_usd'"):
        ro.margin(book, market, "deribit-pm", "deribit-pm-2024-06-17")
    params = copy.deepcopy(example_a_model_params())
    del params["currency"]["usd"]
    with pytest.raises(ParameterError, match="no currency 'usdc'"):
        ro.margin(
            ro.Book.sample("linear_inverse"),
            market,
            "deribit-pm",
            {
                **params,
                "currency_pair": {**params["currency_pair"], "eth_usd": params["currency_pair"]["btc_usd"]},
            },
        )


# ---------------------------------------------------------------------------------------------- legacy
LEGACY = [
    "deribit-pm-legacy-2017",
    "deribit-pm-legacy-2018",
    "deribit-pm-legacy-2019",
    "deribit-pm-legacy-2020",
]


def test_legacy_futures_grid_and_contingency_tv_p3() -> None:
    """A Deribit-like venue's legacy example, ETH-10JAN24 future, 10 long, index 2243.3,
    annualised basis 8 % over 20 days; grid +-15 % in 3 % steps = -3380 ... 3380 USD (published rounded to
    the dollar), futures contingency 0.006 x 2243.3 x 10 = 134.6 USD."""
    index = 2243.3
    forward = index * np.exp(0.08 * 20 / 365)
    market = ro.Market("2023-12-21T08:00:00Z", index={"ETH": index}, marks={"ETH_USDC-10JAN24": forward})
    book = ro.Book.from_arrays("a", ["ETH_USDC-10JAN24"], [10.0])
    result = ro.margin(book, market, "deribit-pm", "deribit-pm-legacy-2020")
    grid = np.array(result.details["vector"][::2])  # the vol-up column; futures rows equal for both
    published = np.array([-3380, -2704, -2028, -1352, -676, 0, 676, 1352, 2028, 2704, 3380], dtype=float)
    assert np.abs(grid - published).max() <= 0.5
    assert abs(result.components["futures_contingency"] - 134.6) <= 0.1
    assert result.maintenance == pytest.approx(
        -grid.min() + result.components["futures_contingency"], rel=1e-15
    )
    assert result.initial == pytest.approx(1.2 * result.maintenance, rel=1e-15)  # IM = 120 % of MM
    assert set(result.calibration.values()) == {"candidate"}


def test_legacy_option_contingency_per_strike() -> None:
    market = ro.Market.sample()
    spot = market.index["BTC"]
    call, put = "BTC-25DEC26-110000-C", "BTC-25DEC26-110000-P"
    netted = ro.Book.from_arrays("a", [call, put], [-3.0, 1.0])  # calls and puts of a strike net: 2 short
    r2019 = ro.margin(netted, market, "deribit-pm", "deribit-pm-legacy-2019")
    assert r2019.components["option_strike_contingency"] == pytest.approx(0.01 * 2.0, rel=1e-15)
    assert r2019.initial == r2019.maintenance  # the 2019 IM/MM ratio is not published
    r2020 = ro.margin(netted, market, "deribit-pm", "deribit-pm-legacy-2020")
    taper = min(1.0, abs(spot - 110_000.0) / (0.10 * spot))
    assert r2020.components["option_strike_contingency"] == pytest.approx(0.01 * 2.0 * taper, rel=1e-12)
    long_only = ro.margin(
        ro.Book.from_arrays("a", [call], [3.0]), market, "deribit-pm", "deribit-pm-legacy-2019"
    )
    assert long_only.components["option_strike_contingency"] == 0.0
    r2017 = ro.margin(netted, market, "deribit-pm", "deribit-pm-legacy-2017")
    assert r2017.components["options_contingency"] == pytest.approx(0.01 * 4.0, rel=1e-15)  # all options, 1 %


@pytest.mark.parametrize("preset", LEGACY)
def test_legacy_presets_run_on_every_sample(preset: str) -> None:
    market = ro.Market.sample()
    for name in ro.Book.samples():
        result = ro.margin(ro.Book.sample(name), market, "deribit-pm", preset)
        assert result.initial >= result.maintenance > 0.0, (name, preset)
        assert preset in result.parameters_source


@pytest.mark.parametrize("preset", ["deribit-pm-legacy-2017", "deribit-pm-legacy-2020"])
def test_legacy_rows_of_many_accounts_follow_the_rules_position_by_position(preset: str) -> None:
    """Every (account, vector key) row of a many-account book: its contingencies read off its positions one by
    one (gross futures in coin, gross options, each strike's net short tapered near the money), its risk
    matrix the worst of its grid vector, and the book's total the sum of the rows."""
    from riskoffset.margining.columns import GroupMargins
    from riskoffset.margining.legacy import LegacyParameters

    market = ro.Market.sample()
    book = random_book(7, 40, 400)
    p = LegacyParameters.load(preset)
    resolved = market.resolve(book.instruments)
    result = ro.margin(book, market, "deribit-pm", preset)
    assert isinstance(result.groups, GroupMargins) and len(result.groups) >= 40
    n_rows = 0
    for row in result.groups:
        a = list(book.accounts).index(row.account)
        held = [
            (int(book.indices[q]), float(book.quantity[q])) for q in range(int(book.indptr[a]), int(book.indptr[a + 1]))
        ]
        base = row.group.split("_")[0].upper()
        linear = row.group.endswith("usdc")
        mine = [(i, q) for i, q in held if book.instruments.names[i].startswith(base) and
                ((book.instruments.settlement[i] == 1) != linear) and book.instruments.kind[i] != 3]  # fmt: skip
        assert mine, row.group
        per_coin = resolved.index[mine[0][0]] if linear else 1.0
        futures = sum(
            abs(q) * (1.0 / resolved.forward[i] if not linear else 1.0)
            for i, q in mine
            if book.instruments.kind[i] in (0, 1)
        )
        options = [(i, q) for i, q in mine if book.instruments.kind[i] == 2]
        net: dict[tuple[int, float], float] = {}
        for i, q in options:
            strike = (int(book.instruments.expiration_ms[i]), float(book.instruments.strike[i]))
            net[strike] = net.get(strike, 0.0) + q
        index = resolved.index[mine[0][0]]
        taper = {
            k: min(1.0, abs(index - k[1]) / (p.option_contingency_atm_range * index))
            if p.option_contingency_atm_range > 0 else 1.0
            for k in net
        }  # fmt: skip
        short = sum(max(-v, 0.0) * taper[k] for k, v in net.items())
        c = row.components
        assert c["futures_contingency"] == pytest.approx(p.futures_contingency * futures * per_coin, rel=1e-12)
        assert c["options_contingency"] == pytest.approx(
            p.options_underlying_rate * sum(abs(q) for _, q in options) * per_coin, rel=1e-12
        )
        assert c["option_strike_contingency"] == pytest.approx(
            p.option_contingency_per_coin * short * per_coin, rel=1e-12, abs=1e-12
        )
        assert c["risk_matrix"] == max(0.0, -min(row.details["vector"]))
        assert row.maintenance == pytest.approx(sum(v for k, v in c.items() if k != "im_markup"), rel=1e-12)
        n_rows += 1
    assert n_rows == len(result.groups)
    assert result.initial_usd == pytest.approx(float(result.groups.initial_usd.sum()), rel=1e-12)


def test_legacy_strike_sums_stay_linear_in_positions() -> None:
    """5,000 accounts over ~780 (expiry, strike) pairs: a dense groups x strikes matrix would take ~80 MB; the
    cells the book holds take a few (5 MB measured). The call's peak of traced (numpy) memory stays far below."""
    import tracemalloc

    market = ro.Market.sample()
    table = market.instruments
    book = random_book(3, 5_000, 60_000)
    ro.margin(book, market, "deribit-pm", "deribit-pm-legacy-2020")  # (the market resolved, caches warm)
    options = table.kind == 2
    n_strikes = len({(int(e), float(k)) for e, k in zip(table.expiration_ms[options], table.strike[options])})
    groups = len(ro.margin(book, market, "deribit-pm", "deribit-pm-legacy-2020").groups)
    dense_bytes = groups * n_strikes * 8
    tracemalloc.start()
    try:
        ro.margin(book, market, "deribit-pm", "deribit-pm-legacy-2020")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dense_bytes > 40e6
    assert peak < dense_bytes / 4, f"peak {peak / 1e6:.1f} MB against a dense matrix of {dense_bytes / 1e6:.1f} MB"


def test_malformed_legacy_parameters() -> None:
    doc = json.loads((DATA / "deribit-pm-legacy_2020-06-01.json").read_text())
    doc["price_steps"] = 2.5
    with pytest.raises(ParameterError, match="price_steps an integer"):
        ro.margin(ro.Book.sample("calendar_spread"), ro.Market.sample(), "deribit-pm", doc)
    del doc["vol_up"]
    with pytest.raises(ParameterError, match="missing key 'vol_up'"):
        ro.margin(ro.Book.sample("calendar_spread"), ro.Market.sample(), "deribit-pm", doc)


@pytest.mark.parametrize("method, params", [m for m in MARGIN_METHODS if m[0] != "span"])  # (SPAN resolves none)
def test_market_resolved_once_per_margin_call(
    monkeypatch: pytest.MonkeyPatch, method: str, params: object
) -> None:
    """One margin call resolves the book's instrument table against the market once and hands the
    resolved columns down (keys, scenario P&L, Greeks), instead of asking the market again at every level."""
    book, market = ro.Book.sample(), ro.Market.sample()
    calls: list[int] = []
    original = ro.Market.resolve

    def counting(self: ro.Market, table: InstrumentTable) -> object:
        calls.append(len(table))
        return original(self, table)

    monkeypatch.setattr(ro.Market, "resolve", counting)
    result = ro.margin(book, market, method, params=params) if params else ro.margin(book, market, method)
    assert result.initial > 0
    assert len(calls) == 1


def test_margin_result_rows_and_to_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    """One row per (account, risk group); the rows' initial margins in USD add up to the book's.  Without
    pandas, to_pandas says which extra to install."""
    import sys

    result = ro.margin(ro.Book.sample(), ro.Market.sample(), "deribit-pm")
    rows = result.rows()
    assert len(rows) == len(result.groups) > 1
    assert sum(r["initial_usd"] for r in rows) == pytest.approx(result.initial_usd, rel=1e-12)
    assert {"account", "group", "currency", "initial", "maintenance"} <= set(rows[0])
    try:
        import pandas  # noqa: F401
    except ImportError:
        pass
    else:
        frame = result.to_pandas()
        assert len(frame) == len(rows)
        assert frame["initial_usd"].sum() == pytest.approx(result.initial_usd, rel=1e-12)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r'pip install "riskoffset\[pandas\]"'):
        result.to_pandas()


def test_in_currency_is_the_one_constructor() -> None:
    """USD amounts are the currency amounts at the rate (2 BTC at 95,000 = 190,000 USD); no rate, no USD."""
    r = ro.MarginResult.in_currency("x", 2.0, 1.5, "BTC", 95_000.0, group="btc_btc")
    assert (r.initial_usd, r.maintenance_usd, r.details["usd_rate"]) == (190_000.0, 142_500.0, 95_000.0)
    assert r.group == "btc_btc"
    n = ro.MarginResult.in_currency("x", 2.0, 1.5, "ETH", None)
    assert n.initial_usd is None and n.maintenance_usd is None


def test_vectors_of_rows_take_the_option_columns_a_caller_kept() -> None:
    """Given the options' columns per underlying (as the live engine keeps them), the vectors are those built
    without them, bit for bit; columns of another length are refused, naming the underlying's code."""
    from riskoffset.margining.portfolio import vectors_of_rows
    from riskoffset.margining.scenarios import OptionColumns

    market = ro.Market.sample()
    table = market.instruments
    resolved = market.resolve(table)
    params = PMParameters.load(None)
    rows = np.arange(len(table), dtype=np.int64)
    expected = vectors_of_rows(table, market, params, resolved, rows)
    option_rows = np.flatnonzero(table.kind == 2)
    columns = {
        code: OptionColumns.of(table, resolved, option_rows[table.underlying[option_rows] == code],
                               params.scenarios(params.pair(table.underlyings[code])))
        for code in np.unique(table.underlying[option_rows]).tolist()
    }  # fmt: skip
    assert len(columns) >= 2
    got = vectors_of_rows(table, market, params, resolved, rows, option_columns=columns)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    code = next(iter(columns))
    short = {**columns, code: columns[code].at(slice(0, 1))}
    with pytest.raises(ValueError, match=f"underlying code {code}"):
        vectors_of_rows(table, market, params, resolved, rows, option_columns=short)


def test_key_matrix_at_other_index_prices_is_the_key_matrix_of_keys_there() -> None:
    """The live engine's index tick moves the keys' index column alone: the same matrix as built afresh."""
    import dataclasses

    from riskoffset.margining.portfolio import key_matrix, key_matrix_at
    from riskoffset.margining.vectors import vector_keys

    market = ro.Market.sample()
    book = ro.Book.sample("linear_inverse")
    params = PMParameters.load(None)
    keys = vector_keys(book, market)
    moved = dataclasses.replace(keys, index=keys.index * np.linspace(0.7, 1.3, len(keys.index)))
    assert not np.array_equal(moved.index, keys.index)
    assert np.array_equal(key_matrix_at(key_matrix(params, keys), moved.index), key_matrix(params, moved))
