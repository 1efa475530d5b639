"""Books: netting per (account, instrument) into CSR, its invariants, loaders (CSV, JSON, Deribit
get_positions, numpy), Deribit size units, and aggregated Greeks (sums of per-position kernel values, signs)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.book import MEASURES, Book, instrument_greeks
from riskoffset.instruments import INVERSE, KIND_OPTION, Instrument, InstrumentTable
from riskoffset.market import Market
from riskoffset.unit_greeks import instrument_values

VALUATION = "2026-11-25T08:00:00Z"
NAMES = [
    "BTC-PERPETUAL",
    "BTC-25DEC26",
    "BTC-26MAR27",
    "BTC-25DEC26-90000-P",
    "BTC-25DEC26-100000-C",
    "BTC-18DEC26-95000-C",
    "BTC-26MAR27-120000-C",
    "BTC_USDC-PERPETUAL",
    "BTC_USDC-25DEC26-100000-C",
    "BTC_USDC",
    "ETH-PERPETUAL",
    "ETH-25DEC26",
    "ETH-25DEC26-3500-C",
    "ETH-25DEC26-3000-P",
]


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(
        VALUATION,
        index={"BTC": 95000.0, "ETH": 3400.0},
        marks={
            "BTC-PERPETUAL": 95010.0,
            "BTC-25DEC26": 95500.0,
            "BTC-26MAR27": 97000.0,
            "BTC_USDC-PERPETUAL": 95020.0,
            "ETH-PERPETUAL": 3401.0,
            "ETH-25DEC26": 3420.0,
        },
        mark_iv={
            "BTC-25DEC26-90000-P": 0.58,
            "BTC-25DEC26-100000-C": 0.55,
            "BTC-18DEC26-95000-C": 0.56,
            "BTC-26MAR27-120000-C": 0.53,
            "BTC_USDC-25DEC26-100000-C": 0.551,
            "ETH-25DEC26-3500-C": 0.70,
            "ETH-25DEC26-3000-P": 0.74,
        },
    )


def random_positions(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    accounts = rng.choice(np.array(["alice", "bob", "carol", "dave"]), n)
    names = rng.choice(np.array(NAMES), n)
    lots = rng.integers(-40, 41, n).astype(float)
    # Exchange lots: 0.1 coin for options and linear products, USD 10 for inverse futures.
    unit = np.array([10.0 if Instrument.parse(nm).size_unit == "USD" else 0.1 for nm in names])
    return accounts, names, lots * unit


# ------------------------------------------------------------------------------------------- netting
def test_netting_sums_per_account_and_instrument() -> None:
    book = Book.from_arrays(
        ["a", "a", "b", "a", "b"],
        ["BTC-PERPETUAL", "BTC-25DEC26-100000-C", "BTC-PERPETUAL", "BTC-PERPETUAL", "BTC-PERPETUAL"],
        [100.0, 0.3, -50.0, -100.0, 20.0],
    )
    # a's perpetual nets to zero and leaves; b's two perpetual positions net to -30.
    assert book.positions() == [
        {"account": "a", "instrument": "BTC-25DEC26-100000-C", "quantity": 0.3},
        {"account": "b", "instrument": "BTC-PERPETUAL", "quantity": -30.0},
    ]
    assert book.accounts.tolist() == ["a", "b"] and book.indptr.tolist() == [0, 1, 2]
    assert len(book) == 2 and "2 netted positions" in repr(book)


def test_instruments_netted_to_zero_leave_the_table() -> None:
    book = Book.from_arrays(["a", "a"], ["BTC-PERPETUAL", "BTC-PERPETUAL"], [10.0, -10.0])
    assert len(book) == 0 and len(book.instruments) == 0 and len(book.accounts) == 0


@pytest.mark.parametrize("seed", range(5))
def test_netting_is_invariant_under_permutation_splitting_and_merging(seed: int, market: Market) -> None:
    accounts, names, qty = random_positions(seed)
    base = Book.from_arrays(accounts, names, qty)
    rng = np.random.default_rng(1000 + seed)

    perm = rng.permutation(len(qty))
    permuted = Book.from_arrays(accounts[perm], names[perm], qty[perm])
    # Split every position into 1-4 pieces of whole lots (exchange amounts are lot multiples; netting is exact
    # on the 1e-8 grid, so any split of a lot-sized amount into grid amounts nets back to it).
    lot = np.array([10.0 if Instrument.parse(nm).size_unit == "USD" else 0.1 for nm in names])
    pieces = rng.integers(1, 5, len(qty))
    split_acc = np.repeat(accounts, pieces)
    split_names = np.repeat(names, pieces)
    split_qty = []
    for p, q, step in zip(pieces, qty, lot):
        lots = round(q / step)
        cuts = np.sort(rng.integers(-50, 50, p - 1)) if p > 1 else np.zeros(0, dtype=np.int64)
        parts = np.diff(np.concatenate(([0], cuts, [lots])))  # may overshoot and come back: long and short
        split_qty.extend((parts * step).tolist())
    split_qty = np.array(split_qty)
    shuffle = rng.permutation(len(split_qty))
    split = Book.from_arrays(split_acc[shuffle], split_names[shuffle], split_qty[shuffle])
    # Merge: one record per (account, instrument) holding the already netted amount.
    merged = Book.from_positions(base.positions())

    for other in (permuted, split, merged):
        assert other.equals(base)
        for by in ("account", "underlying", "strike", "position"):
            a, b = base.greeks(market, by=by), other.greeks(market, by=by)
            assert a.labels == b.labels
            for m in MEASURES:
                assert np.array_equal(a.values[m], b.values[m]), (by, m)


def test_aggregated_greeks_equal_the_sum_of_per_position_kernel_values(market: Market) -> None:
    accounts, names, qty = random_positions(7)
    book = Book.from_arrays(accounts, names, qty)
    report = book.greeks(market, by="account")
    # Per position, one instrument at a time with the scalar kernel path.
    expected: dict[tuple[str, str], np.ndarray] = {}
    for acc, nm, q in zip(accounts, names, qty):
        inst = Instrument.parse(nm)
        table = InstrumentTable([inst])
        r = market.resolve(table)
        f = float(r.forward[0])
        row = np.zeros(len(MEASURES))
        col = {m: i for i, m in enumerate(MEASURES)}
        if inst.kind == "option":
            g = ro.greeks(inst.option_type, f, inst.strike, float(r.t[0]), 0.0, float(r.sigma[0]))
            row[col["value_usd"]], row[col["value_coin"]] = g["price"], g["price"] / f
            row[col["delta"]] = g["delta"]
            row[col["delta_pa"]] = g["delta"] - (g["price"] / f if inst.settlement == "inverse" else 0.0)
            row[col["gamma"]] = g["gamma"]
            row[col["vega"]], row[col["vega_coin"]] = g["vega"], g["vega"] / f
            row[col["theta"]], row[col["theta_coin"]] = g["theta"], g["theta"] / f
            if inst.settlement == "inverse":  # the inverse kernel's own outputs agree
                gi = ro.greeks(
                    inst.option_type,
                    f,
                    inst.strike,
                    float(r.t[0]),
                    0.0,
                    float(r.sigma[0]),
                    settlement="inverse",
                )
                assert gi["delta_pa"] == pytest.approx(row[col["delta_pa"]], rel=1e-12, abs=1e-15)
                assert gi["price"] == pytest.approx(row[col["value_coin"]], rel=1e-13)
        elif inst.size_unit == "USD":
            row[col["delta"]] = row[col["delta_pa"]] = 1.0 / f
        else:
            row[col["delta"]] = row[col["delta_pa"]] = 1.0
            if inst.kind == "spot":
                row[col["value_usd"]], row[col["value_coin"]] = f, 1.0
        index = market.index[inst.base]
        row[col["delta_usd"]] = row[col["delta"]] * index
        row[col["delta_pa_usd"]] = row[col["delta_pa"]] * index
        key = (str(acc), inst.base)
        expected[key] = expected.get(key, np.zeros(len(MEASURES))) + q * row
    assert sorted(expected) == sorted(report.labels)
    for i, label in enumerate(report.labels):
        for j, m in enumerate(MEASURES):
            want = expected[label][j]
            scale = np.abs([report.values[m][i], want]).max() + 1e-300
            assert abs(report.values[m][i] - want) <= 1e-12 * scale + 1e-9 * _typical(m), (label, m)
    # by-underlying totals are the sums of the account rows.
    under = book.greeks(market, by="underlying")
    for i, (u,) in enumerate(under.labels):
        rows = [k for k, lab in enumerate(report.labels) if lab[1] == u]
        assert under.values["delta"][i] == pytest.approx(report.values["delta"][rows].sum(), rel=1e-12)
        assert under.values["vega"][i] == pytest.approx(report.values["vega"][rows].sum(), rel=1e-12)


def _typical(measure: str) -> float:
    return 1.0 if "coin" in measure or measure in ("delta", "delta_pa", "gamma") else 1e3


def test_flipping_every_sign_flips_every_greek(market: Market) -> None:
    accounts, names, qty = random_positions(11)
    book = Book.from_arrays(accounts, names, qty)
    flipped = Book.from_arrays(accounts, names, -qty)
    assert flipped.equals(-book)
    for by in ("account", "underlying", "expiry", "strike", "instrument"):
        a, b = book.greeks(market, by=by), flipped.greeks(market, by=by)
        assert a.labels == b.labels
        for m in MEASURES:
            assert np.array_equal(a.values[m], -b.values[m]), (by, m)
    # A short option is short gamma and vega, and earns theta (OptionStratLib #428's complaint).
    short = Book.from_positions([{"instrument": "BTC-25DEC26-100000-C", "quantity": -1}]).greeks(market)
    assert short.values["gamma"][0] < 0 and short.values["vega"][0] < 0 and short.values["theta"][0] > 0


# ------------------------------------------------------------------------------------------- units
def test_deribit_size_units_futures_in_usd_options_in_coin(market: Market) -> None:
    positions = {
        "jsonrpc": "2.0",
        "result": [
            # private/get_positions objects (see docs/units.md): signed size, direction repeats the side.
            {"instrument_name": "BTC-PERPETUAL", "kind": "future", "direction": "sell", "size": -19000.0,
             "size_currency": -0.19998, "average_price": 95100.0, "mark_price": 95010.0},
            {"instrument_name": "BTC-25DEC26-100000-C", "kind": "option", "direction": "buy", "size": 2.5,
             "average_price": 0.08, "mark_price": 0.085},
            {"instrument_name": "BTC-25DEC26-90000-P", "kind": "option", "direction": "sell", "size": -1.0,
             "average_price": 0.05, "mark_price": 0.049},
            {"instrument_name": "ETH-25DEC26", "kind": "future", "direction": "zero", "size": 0.0},
        ],
    }  # fmt: skip
    book = Book.from_deribit(positions, account="main")
    assert {p["instrument"]: p["quantity"] for p in book.positions()} == {
        "BTC-25DEC26-90000-P": -1.0,
        "BTC-25DEC26-100000-C": 2.5,
        "BTC-PERPETUAL": -19000.0,
    }
    per = book.greeks(market, by="instrument")
    row = {label[1]: i for i, label in enumerate(per.labels)}
    # USD 19,000 short of BTC-PERPETUAL at 95,010 is 0.19998 BTC short: Deribit's size_currency.
    assert per.values["delta"][row["BTC-PERPETUAL"]] == pytest.approx(-19000.0 / 95010.0, rel=1e-15)
    assert per.values["delta"][row["BTC-PERPETUAL"]] == pytest.approx(-0.19998, abs=5e-6)
    # In USD at the index: 0.19998 BTC x 95,000.
    assert per.values["delta_usd"][row["BTC-PERPETUAL"]] == pytest.approx(
        -19000.0 / 95010.0 * 95000.0, rel=1e-15
    )
    assert per.values["gamma"][row["BTC-PERPETUAL"]] == 0.0
    # 2.5 BTC of a call: 2.5 times the per-coin kernel values; its coin premium is value_usd / forward.
    f = 95500.0
    g = ro.greeks("c", f, 100000.0, market.resolve(book.instruments).t[1], 0.0, 0.55)
    i = row["BTC-25DEC26-100000-C"]
    assert per.values["delta"][i] == pytest.approx(2.5 * g["delta"], rel=1e-14)
    assert per.values["value_coin"][i] == pytest.approx(2.5 * g["price"] / f, rel=1e-14)
    assert per.values["delta_pa"][i] == pytest.approx(2.5 * (g["delta"] - g["price"] / f), rel=1e-14)
    with pytest.raises(ValueError, match="BTC-PERPETUAL.*contradicts direction 'buy'"):
        Book.from_deribit(
            [{"instrument_name": "BTC-PERPETUAL", "kind": "future", "direction": "buy", "size": -10.0}]
        )
    with pytest.raises(ValueError, match="BTC-PERPETUAL.*kind 'option'"):
        Book.from_deribit(
            [{"instrument_name": "BTC-PERPETUAL", "kind": "option", "direction": "buy", "size": 10.0}]
        )


def test_linear_products(market: Market) -> None:
    book = Book.from_positions(
        [
            {"instrument": "BTC_USDC-PERPETUAL", "quantity": 0.5},  # coin amount
            {"instrument": "BTC_USDC-25DEC26-100000-C", "quantity": 1.0},
            {"instrument": "BTC_USDC", "quantity": 2.0},
        ]
    )
    per = book.greeks(market, by="instrument")
    row = {label[1]: i for i, label in enumerate(per.labels)}
    assert per.values["delta"][row["BTC_USDC-PERPETUAL"]] == 0.5
    assert per.values["delta_usd"][row["BTC_USDC-PERPETUAL"]] == 0.5 * 95000.0  # at the index
    i = row["BTC_USDC-25DEC26-100000-C"]
    assert per.values["delta_pa"][i] == per.values["delta"][i]  # premium in USDC: no coin exposure
    assert per.values["value_usd"][row["BTC_USDC"]] == 2.0 * 95000.0


def test_contracts_unit_uses_the_contract_size() -> None:
    table = InstrumentTable(
        [Instrument.parse("BTC-PERPETUAL"), Instrument.parse("BTC_USDC-PERPETUAL", contract_size=0.001)]
    )
    book = Book.from_arrays(
        ["x", "x"], ["BTC-PERPETUAL", "BTC_USDC-PERPETUAL"], [3, 250], instruments=table, unit="contracts"
    )
    assert {p["instrument"]: p["quantity"] for p in book.positions()} == {
        "BTC-PERPETUAL": 30.0,
        "BTC_USDC-PERPETUAL": 0.25,
    }
    again = Book.from_positions([{"instrument": "BTC-PERPETUAL", "contracts": 3}])
    assert again.positions()[0]["quantity"] == 30.0


# ------------------------------------------------------------------------------------------- loaders
def test_csv_json_and_numpy_loaders_agree(tmp_path: Path) -> None:
    accounts, names, qty = random_positions(3, 50)
    from_arrays = Book.from_arrays(accounts, names, qty)
    csv_path = tmp_path / "book.csv"
    csv_path.write_text(
        "# a comment\naccount,instrument,quantity\n"
        + "".join(f"{a},{n},{float(q)!r}\n" for a, n, q in zip(accounts, names, qty))
    )
    json_path = tmp_path / "book.json"
    json_path.write_text(
        json.dumps(
            [
                {"account": str(a), "instrument_name": str(n), "size": float(q)}
                for a, n, q in zip(accounts, names, qty)
            ]
        )
    )
    for loaded in (
        Book.load(csv_path),
        Book.load(json_path),
        Book.from_json({"positions": json.loads(json_path.read_text())}),
    ):
        assert loaded.equals(from_arrays)
    from_arrays.to_csv(tmp_path / "netted.csv")
    assert Book.load(tmp_path / "netted.csv").equals(from_arrays)
    # Integer accounts and integer instrument rows (the fast path for exchange-scale books).
    table = InstrumentTable.from_names(NAMES)
    rows = table.rows(names)
    ints = Book.from_arrays(np.arange(len(qty)) % 7, rows, qty, instruments=table)
    assert ints.accounts.dtype == np.int64 and ints.accounts.tolist() == list(range(7))


def test_bad_positions_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="malformed instrument name 'BTC-31FEB27'"):
        Book.from_arrays(["a"], ["BTC-31FEB27"], [1.0])
    with pytest.raises(ValueError, match="position 1 \\(BTC-PERPETUAL\\): quantity nan is not finite"):
        Book.from_arrays(["a", "a"], ["BTC-PERPETUAL", "BTC-PERPETUAL"], [1.0, math.nan])
    with pytest.raises(ValueError, match="position 0 \\(BTC-PERPETUAL\\): quantity 'ten' is not a number"):
        Book.from_positions([{"instrument": "BTC-PERPETUAL", "quantity": "ten"}])
    bad = tmp_path / "bad.csv"
    bad.write_text("name,amount\nBTC-PERPETUAL,10\n")
    with pytest.raises(ValueError, match="needs columns instrument"):
        Book.load(bad)
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        Book.load(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="integer instrument rows need instruments="):
        Book.from_arrays([1], [0], [1.0])


def test_greeks_need_market_data_for_every_instrument_held(market: Market) -> None:
    book = Book.from_positions([{"instrument": "BTC-25DEC26-110000-C", "quantity": 1}])
    with pytest.raises(ro.MarketDataError, match="BTC-25DEC26-110000-C: no mark_iv"):
        book.greeks(market)
    with pytest.raises(ValueError, match="by must be one of"):
        Book.from_positions([{"instrument": "BTC-PERPETUAL", "quantity": 10}]).greeks(market, by="desk")


def test_report_forms(market: Market) -> None:
    accounts, names, qty = random_positions(5, 40)
    report = Book.from_arrays(accounts, names, qty).greeks(market, by="expiry")
    d = report.to_dict()
    assert (
        d["units"]["vega_per_point"] == "USD per vol point" and d["units"]["theta_per_day"] == "USD per day"
    )
    assert d["rows"][0]["vega_per_point"] == pytest.approx(report.values["vega"][0] / 100, rel=1e-15)
    raw = report.to_dict(display=False)
    assert (
        raw["units"]["vega"] == "USD per 1.00 of vol" and raw["rows"][0]["theta"] == report.values["theta"][0]
    )
    json.loads(report.to_json())
    text = str(report)
    assert "vega USD/pt" in text and "theta USD/day" in text and "2026-12-25" in text
    pd = pytest.importorskip("pandas")
    frame = report.to_pandas()
    assert isinstance(frame, pd.DataFrame) and frame.index.names == ["underlying", "expiry"]


def test_pandas_views() -> None:
    pd = pytest.importorskip("pandas")
    book = Book.from_positions([{"account": "a", "instrument": "BTC-PERPETUAL", "quantity": 10}])
    assert isinstance(book.to_pandas(), pd.DataFrame) and book.to_pandas()["quantity"].tolist() == [10.0]
    assert book.instruments.to_pandas()["kind"].tolist() == ["perpetual"]


def test_instrument_greeks_are_read_only_columns(market: Market) -> None:
    table = InstrumentTable.from_names(NAMES)
    g = instrument_greeks(table, market)
    assert g.values.shape == (len(table), len(MEASURES)) and not g.values.flags.writeable


@pytest.mark.parametrize("valuation", [VALUATION, "2026-12-20T08:00:00Z"])  # the second after an expiry
def test_instrument_values_are_the_values_and_deltas_of_instrument_greeks(market: Market, valuation: str) -> None:
    """The live revaluation's lean call gives `instrument_greeks`' value in the settlement currency (options
    only) and premium-adjusted delta bit for bit: futures, perpetuals, spot, inverse and linear options, an
    expired one, a rate."""
    moved = market.copy()
    moved.update(valuation_time=valuation)
    moved.rate = 0.03
    table = InstrumentTable.from_names(NAMES)
    resolved = moved.resolve(table)
    assert resolved.expired.any() == (valuation != VALUATION)
    g = instrument_greeks(table, moved, resolved)
    value, delta_pa = instrument_values(table, moved, resolved)
    option = table.kind == KIND_OPTION
    want = np.where(option, np.where(table.settlement == INVERSE, g["value_coin"], g["value_usd"]), 0.0)
    assert np.array_equal(value, want) and np.array_equal(delta_pa, g["delta_pa"])
    assert np.all(value[option & ~resolved.expired] > 0) and np.all(delta_pa[resolved.expired] == 0)


# ---------------------------------------------------------------------------------------------- Deribit input
_POSITIONS_A = [
    {"instrument_name": "BTC-PERPETUAL", "kind": "future", "direction": "sell", "size": -19000.0},
    {"instrument_name": "BTC-25DEC26-100000-C", "kind": "option", "direction": "buy", "size": 2.5},
]
_POSITIONS_B = [
    {"instrument_name": "BTC-PERPETUAL", "kind": "future", "direction": "buy", "size": 4000.0},
]


def test_list_of_jsonrpc_envelopes_is_read(tmp_path: Path) -> None:
    """Two saved get_positions responses in one file: their results are concatenated and netted.
    BTC-PERPETUAL: -19000 + 4000 = -15000 USD; the call keeps its 2.5 coin."""
    envelopes = [
        {"jsonrpc": "2.0", "id": 1, "result": _POSITIONS_A},
        {"jsonrpc": "2.0", "id": 2, "result": _POSITIONS_B},
    ]
    path = tmp_path / "two.json"
    path.write_text(json.dumps(envelopes))
    for book in (Book.from_json(path), Book.from_json(envelopes), Book.from_deribit(envelopes)):
        got = {p["instrument"]: p["quantity"] for p in book.positions()}
        assert got == {"BTC-PERPETUAL": -15000.0, "BTC-25DEC26-100000-C": 2.5}


def test_bad_deribit_input_says_what_was_expected_briefly() -> None:
    """A refused object is shown as a short excerpt (never the whole input) next to what was expected."""
    huge = {"jsonrpc": "2.0", "result": [{"size": 1.0, "padding": "x" * 10_000}]}
    with pytest.raises(ValueError, match="without an instrument_name") as err:
        Book.from_deribit(huge)
    assert len(str(err.value)) < 300
    with pytest.raises(TypeError, match="expected a dict or a JSON-RPC envelope") as err2:
        Book.from_deribit([_POSITIONS_A[0], "y" * 10_000])
    assert len(str(err2.value)) < 300


def test_malformed_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken_positions.json"
    path.write_text('[{"instrument": "BTC-PERPETUAL", "quantity": 10,}]')
    with pytest.raises(ValueError, match=r"broken_positions\.json.*not valid JSON.*line 1"):
        Book.from_json(path)
    with pytest.raises(ValueError, match=r"broken_positions\.json"):
        Book.load(path)


def test_held_rows_are_the_distinct_instruments_of_the_positions() -> None:
    for name in ro.Book.samples():
        book = ro.Book.sample(name)
        held = book.held_rows()
        assert held.tolist() == np.unique(book.indices).tolist()
    empty = ro.Book.from_arrays(np.zeros(0, int), np.zeros(0, int), np.zeros(0), instruments=book.instruments)
    assert empty.held_rows().tolist() == []
