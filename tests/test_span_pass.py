"""SPAN through the C++ pass (``_core.margin.SpanAccount`` via `riskoffset.margining.span.bulk`):
CME's published intra-spread example and hand-worked charges computed by the pass alone (the per-account
Python path made to fail if it were used), random books on the bundled sample file against `span_account`
account by account, the routing of accounts the pass does not cover, and refused model arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import riskoffset as ro
from riskoffset import _core
from riskoffset.margining.columns import GroupMargins
from riskoffset.margining.span import bulk, parse_span
from riskoffset.margining.span.algorithm import SpanOptions, load_params, net_positions, span_account
from test_span_spreads import MONTHS, _d_spread, _intra, _p_leg, _rate, _spn

TWO_CC = Path(__file__).parent / "data" / "span" / "two_cc.spn"


def refuse_span_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on an account routed to span_account fails the test: what follows is the pass's alone."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the account was routed to span_account")

    monkeypatch.setattr(bulk, "span_account", refuse)


def span_account_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The labels of the accounts span_margins hands to span_account from now on (which still computes them)."""
    calls: list[Any] = []
    real = bulk.span_account

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("account"))
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk, "span_account", counted)
    return calls


def _pass_only(monkeypatch: pytest.MonkeyPatch, path: Path, positions: dict[str, float]) -> GroupMargins:
    """The columns of one account computed by the pass: span_account raises if the account were routed to it."""
    span = parse_span(path)
    refuse_span_account(monkeypatch)
    rows = np.array([span.row(k) for k in positions], dtype=np.int64)
    qty = np.array(list(positions.values()), dtype=np.float64)
    return bulk.span_margins(span, ["a"], np.zeros(len(rows), np.int64), rows, qty, SpanOptions())


@pytest.mark.parametrize(("long", "short", "expected"), [(2, 3, 200.0), (2, 4, 300.0), (3, 4, 250.0)])
def test_cme_published_intra_spread_by_the_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, long: int, short: int, expected: float
) -> None:
    """CME's example (tests/test_span_spreads.py): months 2, 3, 4 need 500, 500, 750; charges 200 (2 v 3),
    50 (2 v 4), 0 (3 v 4) -> +2 -3: 0 + 200; +2 -4: |750 - 500| + 50 = 300; +3 -4: 250 + 0."""
    spreads = (
        _d_spread(1, "F", _rate(200), _p_leg("X", "202702", "A"), _p_leg("X", "202703", "B"))
        + _d_spread(2, "F", _rate(50), _p_leg("X", "202702", "A"), _p_leg("X", "202704", "B"))
        + _d_spread(3, "F", _rate(0), _p_leg("X", "202703", "A"), _p_leg("X", "202704", "B"))
    )
    cols = _pass_only(monkeypatch, _spn(tmp_path, _intra(spreads)), {f"X:{long}": 1, f"X:{short}": -1})
    assert cols.maintenance[0] == expected and cols.initial[0] == expected
    assert cols.calibration["intra_spread_charge"][0] == 2  # exact: flat charges only


def test_per_month_and_weighted_charges_by_the_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """P: per spread 10 + 5 + 20 x 2 months = 55, 3 spreads -> 165, scan 3 x 250 -> 915.
    W at 10 %: 2 spreads x 0.10 x (1 x 500 + 1 x 500) = 200 on a zero scan.  Both candidates (code 0)."""
    pmps = "<pmpsRate><r>1</r><val>10</val><pmRate>20</pmRate><psRate>5</psRate></pmpsRate>"
    spreads = _d_spread(1, "P", pmps, _p_leg("X", "202702", "A"), _p_leg("X", "202704", "B"))
    cols = _pass_only(monkeypatch, _spn(tmp_path, _intra(spreads)), {"X:2": 3, "X:4": -3})
    assert cols.components["intra_spread_charge"][0] == 165.0 and cols.maintenance[0] == 915.0
    assert cols.calibration["intra_spread_charge"][0] == 0
    spreads = _d_spread(1, "W", _rate(10), _p_leg("X", "202702", "A"), _p_leg("X", "202703", "B"))
    cols = _pass_only(monkeypatch, _spn(tmp_path, _intra(spreads)), {"X:2": 2, "X:3": -2})
    assert cols.components["scan_risk"][0] == 0.0
    assert cols.maintenance[0] == pytest.approx(200.0, rel=1e-15)


def test_spreads_take_deltas_in_priority_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """+3 of month 2, -1 of month 3, -2 of month 4 (deltas 1): spread 1 (2 v 3) at 200 forms once (pools 2, 0,
    -2), spread 2 (2 v 4) at 50 twice (pools 0, 0, 0), spread 3 (3 v 4) finds month 3 empty: 200 + 100.  Scan: the
    book loses -m x (3 x 500 - 500 - 2 x 750) = 500 m at a price move of m PSR, 500 at +1 PSR."""
    spreads = (
        _d_spread(1, "F", _rate(200), _p_leg("X", "202702", "A"), _p_leg("X", "202703", "B"))
        + _d_spread(2, "F", _rate(50), _p_leg("X", "202702", "A"), _p_leg("X", "202704", "B"))
        + _d_spread(3, "F", _rate(7), _p_leg("X", "202703", "A"), _p_leg("X", "202704", "B"))
    )
    cols = _pass_only(monkeypatch, _spn(tmp_path, _intra(spreads)), {"X:2": 3, "X:3": -1, "X:4": -2})
    assert cols.components["intra_spread_charge"][0] == 300.0
    assert cols.components["scan_risk"][0] == 500.0
    assert cols.maintenance[0] == 800.0


def _random_accounts(span: Any, mapping: dict[str, Any], n_accounts: int, seed: int) -> ro.Book:
    rng = np.random.default_rng(seed)
    names = sorted(mapping)
    sizes = rng.integers(1, 9, n_accounts)
    account = np.repeat(np.arange(n_accounts), sizes)
    # few instruments per seed so that spreads and netting to zero happen often
    pool = rng.choice(len(names), 24, replace=False)
    chosen = [names[i] for i in pool[rng.integers(0, len(pool), len(account))]]
    quantity = rng.integers(-4, 5, len(account)).astype(float)
    quantity[quantity == 0] = 1.0
    return ro.Book.from_arrays(account, chosen, quantity, instruments=ro.Market.sample().instruments)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_random_books_match_span_account(seed: int) -> None:
    span, extra = load_params("sample")
    mapping = extra["mapping"]
    book = _random_accounts(span, mapping, 60, seed)
    total = ro.margin(book, None, "span", "sample")  # type: ignore[arg-type]
    cols = total.groups
    assert isinstance(cols, GroupMargins) and len(cols) == len(book.accounts)
    names = book.instruments.names.tolist()
    size = book.instruments.contract_size
    row_of = np.array([span.row(mapping[x][0]) for x in names])
    factor = np.array([mapping[x][1] / size[i] for i, x in enumerate(names)])
    for a in range(len(book.accounts)):
        lo, hi = int(book.indptr[a]), int(book.indptr[a + 1])
        idx = book.indices[lo:hi]
        rows, qty = net_positions(row_of[idx], book.quantity[lo:hi] * factor[idx])
        ref = span_account(span, rows, qty, SpanOptions(), account=book.accounts[a].item())
        assert cols.initial[a] == pytest.approx(ref.initial, rel=1e-12, abs=1e-9)
        assert cols.maintenance[a] == pytest.approx(ref.maintenance, rel=1e-12, abs=1e-9)
        for name, value in ref.components.items():
            assert cols.components[name][a] == pytest.approx(value, rel=1e-12, abs=1e-8), name
        mine = cols.worst(a)
        if ref.worst_scenario is None:
            assert mine is None
        else:
            assert mine is not None and mine.index == ref.worst_scenario.index
            assert mine.description == ref.worst_scenario.description
            assert mine.pnl == pytest.approx(ref.worst_scenario.pnl, rel=1e-12)
        row = cols[a]
        assert row.details["combined_commodities"] == ref.details["combined_commodities"]
        assert row.calibration == ref.calibration


def test_spot_month_charge_by_the_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """two_cc.spn (tests/test_span.py): +10 AF 202701, -10 AF 202702: scan 0; tier deltas +10 / -10 form 10
    spreads at 40 = 400; the spot month 202701's delta 10 was all taken by the spread: 3 x 10 + 7 x 0 = 30;
    maintenance 430, initial 1.25 x 430 = 537.5.  +4 AF 202701 alone: no spread, 7 x 4 = 28 outright spot
    charge on a scan of 4 x 90 = 360."""
    cols = _pass_only(monkeypatch, TWO_CC, {"AF:101": 10, "AF:102": -10})
    assert cols.components["intra_spread_charge"][0] == 400.0 and cols.components["spot_charge"][0] == 30.0
    assert (cols.maintenance[0], cols.initial[0]) == (430.0, 537.5)
    cols = _pass_only(monkeypatch, TWO_CC, {"AF:101": 4})
    assert cols.components["spot_charge"][0] == 28.0 and cols.components["scan_risk"][0] == 360.0
    assert cols.maintenance[0] == 388.0


def test_scan_tiers_by_the_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """two_cc.spn with scan tiers 202701 and 202702..202712 (tests/test_span.py): +10 AF 202701 / -10 AF
    202702 no longer offset: tier 1 loses 10 x 90 (scenario 13), tier 2 10 x 90 (scenario 11) -> 1,800, plus
    the intra charge 400 and the spot charge 30 = 2,230; the scenario is the first tier's 13.  Only tier 2
    held (-10 AF 202702): 900 at scenario 11; 202701 in neither tier (a tier 202702..): its loss is not scanned."""
    text = TWO_CC.read_text()
    tiers = (
        "<scanTiers><tier><tn>1</tn><sPe>202701</sPe><ePe>202701</ePe></tier>"
        "<tier><tn>2</tn><sPe>202702</sPe><ePe>202712</ePe></tier></scanTiers><intraTiers>"
    )
    path = tmp_path / "tiers.spn"
    path.write_text(text.replace("<intraTiers>", tiers, 1))
    cols = _pass_only(monkeypatch, path, {"AF:101": 10, "AF:102": -10})
    assert cols.components["scan_risk"][0] == 1800.0 and cols.maintenance[0] == 2230.0
    assert cols.worst_index is not None and int(cols.worst_index[0]) == 13
    cols = _pass_only(monkeypatch, path, {"AF:102": -10})
    assert cols.components["scan_risk"][0] == 900.0 and int(cols.worst_index[0]) == 11
    path.write_text(
        text.replace(
            "<intraTiers>",
            tiers.replace("<sPe>202701</sPe><ePe>202701</ePe>", "<sPe>202702</sPe><ePe>202702</ePe>"),
            1,
        )
    )
    cols = _pass_only(monkeypatch, path, {"AF:101": 10})
    assert cols.components["scan_risk"][0] == 0.0 and int(cols.worst_index[0]) == -1


def test_accounts_across_an_inter_spread_stay_in_the_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """two_cc.spn: an inter spread (weighted price) links AAA and BBB; the account holding both goes through the
    pass with its inter credit, as those holding one of them do.  All agree with span_account."""
    span = parse_span(TWO_CC)
    real = bulk.span_account
    calls = span_account_calls(monkeypatch)
    names = ["AF:101", "AF:102", "BF:201", "BF:201", "AF:101", "BF:201", "AO:111"]
    rows = np.array([span.row(k) for k in names])
    qty = np.array([10.0, -7.0, 3.0, -5.0, 2.0, -9.0, -3.0])
    account = np.array([0, 0, 1, 1, 2, 2, 0])
    cols = bulk.span_margins(span, ["aaa", "bbb", "both"], account, rows, qty, SpanOptions())
    assert calls == []
    assert cols.components["inter_spread_credit"][2] == -180.0  # (tests/test_span_inter_pass.py works it by hand)
    for a in range(3):
        r, q = net_positions(rows[account == a], qty[account == a])
        ref = real(span, r, q, SpanOptions())
        assert cols.initial[a] == pytest.approx(ref.initial, rel=1e-12)
        assert cols.maintenance[a] == pytest.approx(ref.maintenance, rel=1e-12)
        for name, value in ref.components.items():
            assert cols.components[name][a] == pytest.approx(value, rel=1e-12, abs=1e-12), (a, name)
    # BBB alone, net short 2: its worst loss is 2 x 30 (scenario 11), initial 1.25 x 60
    assert cols.maintenance[1] == 60.0 and cols.initial[1] == 75.0


def test_refused_model_arrays_name_the_field() -> None:
    """The compiled object checks the model it is bound to once, naming the field; positions it cannot read
    are refused by name."""
    span, _ = load_params("sample")
    prep = bulk._prepared(span, SpanOptions())
    model, routing = dict(prep.model_m.arrays), prep.routing
    row = int(np.flatnonzero(model["cc_of_row"] == 0)[0])
    assert _core.margin.SpanAccount(model, None, routing)(np.array([row]), np.array([1.0])) is not None
    with pytest.raises(ValueError, match="'leg_pool' has"):
        _core.margin.SpanAccount({**model, "leg_pool": model["leg_pool"][:-1]}, None, routing)
    bad = model["leg_pool"].copy()
    bad[0] = 10_000
    with pytest.raises(ValueError, match="a leg names a pool outside its CC"):
        _core.margin.SpanAccount({**model, "leg_pool": bad}, None, routing)
    with pytest.raises(ValueError, match="no 'delta' array"):
        _core.margin.SpanAccount({k: v for k, v in model.items() if k != "delta"}, None, routing)
    pool = model["period_pool"].copy()
    pool[row] = 10_000
    with pytest.raises(ValueError, match=f"contract row {row}: period pool outside its CC"):
        _core.margin.SpanAccount({**model, "period_pool": pool}, None, routing)(np.array([row]), np.array([1.0]))
    arrays = model["arrays"].copy()
    arrays[row, 3] = np.nan
    with pytest.raises(ValueError, match=f"contract row {row}: risk array not finite"):
        _core.margin.SpanAccount({**model, "arrays": arrays}, None, routing)(np.array([row]), np.array([1.0]))
    with pytest.raises(ValueError, match="position 0: contracts not finite"):
        _core.margin.SpanAccount(model, None, routing)(np.array([row]), np.array([np.nan]))
    with pytest.raises(ValueError, match="indptr must run from 0 to the number of positions"):
        _core.margin.SpanAccount(model, None, routing).accounts(np.array([0, 2]), np.array([row]), np.array([1.0]))


def test_months_fixture_is_the_published_one() -> None:
    assert [f[2] for f in MONTHS["X"]["futures"]] == [500.0, 500.0, 750.0]


def _variant(name: str) -> tuple[Any, SpanOptions]:
    """The sample file changed so that each way of adding an account's CCs is taken: class 2 computed by
    the pass itself (no adjRate, class-2 rates of its own), conversion by multiplication and by division,
    capAnov floors, the pointDef weights applied."""
    import copy
    import dataclasses

    span = copy.deepcopy(load_params("sample")[0])  # (a copy: the parsed file is shared by every call on its path)
    org = span.orgs[0]
    btc, eth = org.combined["BTC"], org.combined["ETH"]
    if name == "class 2 by the pass":
        for cc in (btc, eth):
            cc.adj_rates = ()
            cc.spreads = tuple(
                dataclasses.replace(s, rates={**s.rates, 2: 1.5 * s.rates[1] + 1.0}) if s.rates else s
                for s in cc.spreads
            )
            cc.som_tiers = tuple(
                dataclasses.replace(t, rates={**t.rates, 2: 3.0 * t.rates[1]}) for t in cc.som_tiers
            )
        return span, SpanOptions()
    if name == "EUR by multiplication":
        org.cur_conv[("USD", "EUR")] = 0.9
        return span, SpanOptions(currency="EUR")
    if name == "GBP by division":
        org.cur_conv[("GBP", "USD")] = 1.25
        return span, SpanOptions(currency="GBP")
    if name == "capAnov":
        eth.cap_anov = True
        btc.cap_anov = True
        return span, SpanOptions()
    if name == "scan tiers":
        from riskoffset.margining.span.model import Tier

        periods = sorted(set(span.contracts.pe.tolist()))
        cut = periods[len(periods) // 2]
        for cc in (btc, eth):  # two overlapping tiers, one of them open-ended
            cc.scan_tiers = (Tier("1", "", cut), Tier("2", periods[len(periods) // 3], ""))
        return span, SpanOptions()
    assert name == "point weights"
    return span, SpanOptions(apply_point_weights=True)


@pytest.mark.parametrize(
    "variant",
    [
        "class 2 by the pass",
        "EUR by multiplication",
        "GBP by division",
        "capAnov",
        "point weights",
        "scan tiers",
    ],
)
def test_file_variants_match_span_account(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    span, opts = _variant(variant)
    rng = np.random.default_rng(len(variant))
    n_accounts = 40
    account = np.repeat(np.arange(n_accounts), rng.integers(1, 10, n_accounts))
    linked = np.flatnonzero(span.combined_commodity_of_rows()[0] >= 0)
    rows = rng.choice(linked[:: max(1, len(linked) // 30)], len(account))  # few contracts: spreads form
    qty = rng.integers(-5, 6, len(account)).astype(float)
    real = bulk.span_account
    routed = span_account_calls(monkeypatch)
    cols = bulk.span_margins(span, list(range(n_accounts)), account, rows, qty, opts)
    netted = [
        a for a in range(n_accounts) if np.any(np.bincount(rows[account == a], weights=qty[account == a]))
    ]
    assert set(routed) == set(range(n_accounts)) - set(netted)  # only accounts left with no position
    for a in range(n_accounts):
        mine = account == a
        r, q = net_positions(rows[mine], qty[mine])
        ref = real(span, r, q, opts)
        assert cols.initial[a] == pytest.approx(ref.initial, rel=1e-12, abs=1e-9), a
        assert cols.maintenance[a] == pytest.approx(ref.maintenance, rel=1e-12, abs=1e-9), a
        assert cols.currencies[int(cols.currency[a])] == ref.currency
        for name, value in ref.components.items():
            assert cols.components[name][a] == pytest.approx(value, rel=1e-12, abs=1e-8), (a, name)
        mine, theirs = cols.worst(a), ref.worst_scenario
        assert (mine is None) == (theirs is None)
        if mine is not None and theirs is not None:
            assert (mine.index, mine.description) == (theirs.index, theirs.description)
            assert mine.pnl == pytest.approx(theirs.pnl, rel=1e-12, abs=1e-12)
