"""Deribit standard margin (see docs/margin.md): the published worked examples (futures cases D1..D3 below) and the
constructed option table (D4) to the cent (1e-12 for the per-coin option figures), through the formulas and
through `ro.margin` on a Book; the dispatcher; malformed parameter files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import riskoffset as ro
from random_books import random_book
from riskoffset.margining import MethodUnavailable, ParameterError, method_function
from riskoffset.margining.standard import (
    StandardParameters,
    futures_margin,
    inverse_option_margin,
    linear_option_margin,
)

CENT = 0.005
VALUATION = "2024-11-25T08:00:00Z"


def margin_of(name: str, quantity: float, market: ro.Market, params: object = None) -> ro.MarginResult:
    book = ro.Book.from_arrays("acct", [name], [quantity])
    return ro.margin(book, market, "deribit-standard", params)


# ---------------------------------------------------------------------------------------------- futures
# (source, family, price, size in coin, IM, MM, settlement currency): Deribit's published futures examples D1..D3.
FUTURES_CASES = [
    ("D1", "BTC_USDC-PERPETUAL", 100_000.0, 0.0, 0.0, 0.0),
    ("D1", "BTC_USDC-PERPETUAL", 100_000.0, 25.0, 53_125.0, 28_125.0),
    ("D1", "BTC_USDC-PERPETUAL", 100_000.0, 350.0, 1_312_500.0, 962_500.0),
    ("D2", "SOL_USDC-PERPETUAL", 200.0, 25.0, 200.625, 100.625),
    ("D2", "SOL_USDC-PERPETUAL", 200.0, 6000.0, 84_000.0, None),
    ("D3", "BTC-PERPETUAL", 100_000.0, 25.0, 0.53125, None),
    ("D3", "BTC-PERPETUAL", 100_000.0, 350.0, 13.125, None),
]


@pytest.mark.parametrize(("source", "name", "price", "size", "im", "mm"), FUTURES_CASES)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_futures_worked_examples(
    source: str, name: str, price: float, size: float, im: float, mm: float | None, sign: float
) -> None:
    base = name.split("_")[0].split("-")[0]
    market = ro.Market(VALUATION, index={base: price}, marks={name: price})
    inverse = "_" not in name
    quantity = sign * size * (price if inverse else 1.0)  # Deribit size units: USD face for inverse
    if size == 0:
        params = StandardParameters.load()
        got_im, got_mm = futures_margin(0.0, params.futures_rates("BTC_USDC"))
        assert float(got_im) == 0.0 and float(got_mm) == 0.0, source
        return
    result = margin_of(name, quantity, market)
    msg = f"{source}: {name} size {size} at {price}: got IM {result.initial!r} MM {result.maintenance!r}"
    assert abs(result.initial - im) <= (CENT if not inverse else 1e-12), msg
    if mm is not None:
        assert abs(result.maintenance - mm) <= (CENT if not inverse else 1e-12), msg
    assert result.currency == ("USDC" if not inverse else "BTC")
    assert result.calibration["futures"] == "calibrated"


def test_inverse_perpetual_maintenance_and_older_rates() -> None:
    market = ro.Market(VALUATION, index={"BTC": 100_000.0}, marks={"BTC-PERPETUAL": 100_000.0})
    current = margin_of("BTC-PERPETUAL", 25 * 100_000.0, market)
    assert current.maintenance == pytest.approx(25 * (0.01 + 0.00005 * 25), abs=1e-12)  # 1 % + n 0.005 %
    older = margin_of("BTC-PERPETUAL", 25 * 100_000.0, market, "deribit-standard-2019")
    assert older.initial == pytest.approx(0.53125, abs=1e-12)
    assert older.maintenance == pytest.approx(25 * (0.015 + 0.00005 * 25), abs=1e-12)
    assert "2019" in older.parameters_source
    assert current.initial_usd == pytest.approx(0.53125 * 100_000.0)


# ---------------------------------------------------------------------------------------------- options
# A constructed short-option table (D4), worked by hand from the formulas in docs/margin.md: (case, call, F, K, mark, size, IM, MM), inverse in BTC.
INVERSE_OPTIONS = [
    ("short call OTM", True, 100_000.0, 110_000.0, 0.0100, 1.0, 0.110, 0.085),
    ("short call ITM", True, 100_000.0, 90_000.0, 0.1050, 1.0, 0.255, 0.180),
    ("short 2 puts", False, 100_000.0, 95_000.0, 0.0150, 2.0, 0.230, 0.180),
    ("short put after crash", False, 20_000.0, 95_000.0, 3.76, 1.0, 4.042, 4.042),
]


@pytest.mark.parametrize(("case", "call", "forward", "strike", "mark", "size", "im", "mm"), INVERSE_OPTIONS)
def test_inverse_option_table(
    case: str, call: bool, forward: float, strike: float, mark: float, size: float, im: float, mm: float
) -> None:
    rates = StandardParameters.load().options_inverse
    got_im, got_mm = inverse_option_margin(call, forward, strike, mark, rates)
    assert abs(size * float(got_im) - im) <= 1e-12, f"D4 {case}: IM {size * float(got_im)!r} != {im}"
    assert abs(size * float(got_mm) - mm) <= 1e-12, f"D4 {case}: MM {size * float(got_mm)!r} != {mm}"


@pytest.mark.parametrize(("case", "call", "forward", "strike", "mark", "size", "im", "mm"), INVERSE_OPTIONS)
def test_inverse_option_table_through_a_book(
    case: str, call: bool, forward: float, strike: float, mark: float, size: float, im: float, mm: float
) -> None:
    name = f"BTC-27DEC24-{strike:.0f}-{'C' if call else 'P'}"
    market = ro.Market(
        VALUATION,
        index={"BTC": forward},
        marks={name: mark},
        mark_iv={name: 0.5},
        forwards={name: forward},
    )
    result = margin_of(name, -size, market)
    assert abs(result.initial - im) <= 1e-12, case
    assert abs(result.maintenance - mm) <= 1e-12, case
    assert result.calibration == {"options": "exact"}
    long = margin_of(name, size, market)
    assert long.initial == 0.0 and long.maintenance == 0.0  # premium paid, no margin


def test_linear_put_table_row() -> None:
    rates = StandardParameters.load().options_linear
    assert rates is not None
    im, mm = linear_option_margin(False, 100_000.0, 95_000.0, 100_000.0, 1_500.0, rates)
    assert abs(float(im) - 11_500.0) <= CENT and abs(float(mm) - 8_625.0) <= CENT
    name = "BTC_USDC-27DEC24-95000-P"
    market = ro.Market(
        VALUATION, index={"BTC": 100_000.0}, marks={name: 1_500.0}, mark_iv={name: 0.5}, forwards={name: 1e5}
    )
    result = margin_of(name, -1.0, market)
    assert abs(result.initial - 11_500.0) <= CENT and abs(result.maintenance - 8_625.0) <= CENT
    assert result.currency == "USDC" and result.calibration["options"] == "candidate"


def test_linear_call_uses_the_index() -> None:
    rates = StandardParameters.load().options_linear
    assert rates is not None
    im, mm = linear_option_margin(True, 101_000.0, 110_000.0, 100_000.0, 900.0, rates)
    otm = (110_000.0 - 101_000.0) / 101_000.0
    assert float(im) == pytest.approx(max(0.15 - otm, 0.10) * 100_000.0 + 900.0, abs=1e-9)
    assert float(mm) == pytest.approx(0.075 * 100_000.0 + 900.0, abs=1e-9)


# ---------------------------------------------------------------------------------------------- books
def test_sample_books_sum_per_account_and_currency() -> None:
    market = ro.Market.sample()
    book = ro.Book.sample("linear_inverse")
    result = ro.margin(book, market, "deribit-standard")
    assert result.currency == "USD" and len(result.groups) >= 2
    assert result.initial == pytest.approx(sum(g.initial_usd or 0.0 for g in result.groups))
    for g in result.groups:
        positions = g.details["positions"]
        assert g.initial == pytest.approx(sum(positions["initial"]))
        assert g.initial >= g.maintenance >= 0
    data = result.to_dict()
    assert data["method"] == "deribit-standard" and len(data["groups"]) == len(result.groups)


def test_permutation_and_splitting_invariance() -> None:
    market = ro.Market.sample()
    base = ro.Book.sample("market_maker")
    records = base.positions()
    rng = np.random.default_rng(7)
    split = []
    for r in records:
        q = r["quantity"]
        part = round(q * 0.3, 8)
        split += [dict(r, quantity=part), dict(r, quantity=round(q - part, 8))]
    order = rng.permutation(len(split))
    shuffled = ro.Book.from_positions([split[i] for i in order], instruments=market.instruments)
    a = ro.margin(base, market, "deribit-standard")
    b = ro.margin(shuffled, market, "deribit-standard")
    assert a.initial == b.initial and a.maintenance == b.maintenance


def test_many_accounts_sum_each_groups_positions_in_order() -> None:
    """A random 60-account book over every kind of instrument: each (account, currency) row is the sum, position
    after position in the book's order, of the margins of its positions (each position margined on its own),
    and each component's calibration is the weakest rule applied to one of its charged positions (futures
    always, options when short; exact where the component only holds long options)."""
    from riskoffset.margining.columns import CALIBRATION_ORDER, NO_TAG
    from riskoffset.margining.standard import unit_margins

    market = ro.Market.sample()
    mixed = random_book(11, 60, 700, futures_lot=100.0, other_lot=0.1, most_lots=30)
    futures_only = {"account": "futures only", "instrument": "BTC-PERPETUAL", "quantity": 1_000.0}
    book = ro.Book.from_positions([*mixed.positions(), futures_only], instruments=market.instruments)
    result = ro.margin(book, market, "deribit-standard")
    units = unit_margins(book.instruments, market, StandardParameters.load(None))
    rows_seen = 0
    for g in result.groups:
        a = list(book.accounts).index(g.account)
        currency = units.currencies.index(g.currency)
        im = mm = 0.0
        weakest: dict[str, int] = {}
        held: set[str] = set()
        for p in range(int(book.indptr[a]), int(book.indptr[a + 1])):
            i, q = int(book.indices[p]), float(book.quantity[p])
            if units.currency[i] != currency:
                continue
            alone = ro.margin(
                ro.Book.from_arrays("x", [book.instruments.names[i]], [q]), market, "deribit-standard"
            )
            im, mm = im + alone.initial, mm + alone.maintenance
            component = int(units.component[i])
            if component == 2:
                continue
            label = ("futures", "options")[component]
            held.add(label)
            if component == 0 or q < 0:
                weakest[label] = min(weakest.get(label, 3), int(units.status_rank[i]))
        assert g.initial == im and g.maintenance == mm, (g.account, g.currency)
        for label in ("futures", "options"):
            if label not in held:
                assert label not in g.calibration
                continue
            assert g.calibration[label] == CALIBRATION_ORDER[weakest.get(label, CALIBRATION_ORDER.index("exact"))]
        rows_seen += 1
    assert rows_seen == len(result.groups) >= 61
    assert NO_TAG in result.groups.calibration["options"]  # some rows hold no option: the component is untagged


def test_standard_groups_refuse_inconsistent_arrays() -> None:
    from riskoffset import _core
    from riskoffset.margining.columns import CALIBRATION_ORDER
    from riskoffset.margining.standard import unit_margins

    market = ro.Market.sample()
    book = ro.Book.sample("market_maker")
    units = unit_margins(book.instruments, market, StandardParameters.load(None))
    args = [book.indptr, book.indices, book.quantity, units.arrays(), units.currency, len(units.currencies),
            units.status_rank, len(CALIBRATION_ORDER)]  # fmt: skip
    ids, sums, _, _ = _core.margin.standard_groups(*args)
    assert len(ids) == len(ro.margin(book, market, "deribit-standard").groups) and sums.shape == (6, len(ids))
    for at, value, message in [
        (0, np.array([0, 1], dtype=np.int64), "run over the positions"),
        (1, np.full(len(book.indices), len(book.instruments), dtype=np.int64), "outside the unit margins"),
        (4, units.currency[:-1], "one entry per instrument"),
        (5, 0, "n_currencies"),
        (6, np.full(len(book.instruments), len(CALIBRATION_ORDER), dtype=np.int64), "status rank"),
        (7, 0, "n_ranks"),
    ]:
        bad = list(args)
        bad[at] = value
        with pytest.raises(ValueError, match=message):
            _core.margin.standard_groups(*bad)


# ---------------------------------------------------------------------------------------------- dispatcher
def test_dispatcher_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    market = ro.Market.sample()
    book = ro.Book.sample("calendar_spread")
    with pytest.raises(ValueError, match="unknown margin method 'nope'"):
        ro.margin(book, market, "nope")
    import riskoffset.margining as margin_module

    entry = dict(margin_module._ENTRY, span=("riskoffset.margining.not_installed", "span_margin"))
    monkeypatch.setattr(margin_module, "_ENTRY", entry)
    with pytest.raises(MethodUnavailable, match="'span' is not available"):
        method_function("span")
    assert "span" not in margin_module.available_methods()
    compared = margin_module.compare(book, market, list(margin_module.METHODS))
    assert isinstance(compared["span"], MethodUnavailable) and compared["deribit-pm"].initial > 0


# ---------------------------------------------------------------------------------------------- bad files
def _write(tmp_path: Path, doc: object) -> str:
    path = tmp_path / "params.json"
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return str(path)


def _valid() -> dict[str, object]:
    folder = Path(ro.__file__).parent / "data" / "margin"
    return json.loads((folder / "deribit-standard_2026-11-24.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("futures"), "missing key 'futures'"),
        (lambda d: d["futures"]["BTC"].pop("slope_per_coin"), "futures.BTC: missing key 'slope_per_coin'"),
        (
            lambda d: d["futures"]["BTC"].update(initial_base="2%"),
            "futures.BTC.initial_base: expected a number",
        ),
        (lambda d: d["futures"]["BTC"].update(initial_base=-0.1), "must be >= 0"),
        (lambda d: d["futures"]["BTC"].update(status="maybe"), "status: must be one of"),
        (lambda d: d["options"].pop("inverse"), "missing key 'inverse'"),
        (lambda d: d["options"]["inverse"].update(maintenance=float("nan")), "must be finite"),
    ],
)
def test_malformed_parameter_files(tmp_path: Path, mutate: object, message: str) -> None:
    doc = _valid()
    mutate(doc)  # type: ignore[operator]
    path = _write(tmp_path, doc)
    with pytest.raises(ParameterError, match=message) as info:
        StandardParameters.load(path)
    assert str(tmp_path) in str(info.value)


def test_unreadable_and_unknown_parameter_sets(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="not valid JSON"):
        StandardParameters.load(_write(tmp_path, "{not json"))
    with pytest.raises(ParameterError, match="a JSON object"):
        StandardParameters.load(_write(tmp_path, "[1, 2]"))
    with pytest.raises(ParameterError, match="does not exist"):
        StandardParameters.load(str(tmp_path / "missing.json"))
    with pytest.raises(
        ParameterError, match="unknown deribit-standard parameter set 'deribit-standard-1999'"
    ):
        StandardParameters.load("deribit-standard-1999")
    market = ro.Market(VALUATION, index={"XRP": 1.0}, marks={"XRP_USDC-PERPETUAL": 1.0})
    with pytest.raises(ParameterError, match="no futures rates for 'XRP_USDC'"):
        margin_of("XRP_USDC-PERPETUAL", 10.0, market)
