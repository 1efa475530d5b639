"""SPAN's inter-commodity delta spreads in the compiled pass (`_core.margin.SpanAccount`, after the per-CC pass):
random files (contracts with random risk arrays and deltas, intra and inter tiers or none, intra spreads, inter
spreads charged F, P and W on tier and period legs, every wfprMeth, an initial class of its own rates) and random
accounts, each account's figures from `span_margins` against `span_account` (the per-account reference) account by
account: initial, maintenance, every component and its calibration.  Plus a hand-worked credit through the pass
alone, and the accounts still routed to span_account (a scanning spread that could form, a spread the pass cannot
charge)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from riskoffset.margining.span import bulk, parse_span
from riskoffset.margining.span.algorithm import SpanOptions, net_positions, span_account
from test_span_pass import refuse_span_account, span_account_calls
from test_span_spreads import POINT_DEF, _d_spread, _p_leg, _t_leg

PERIODS = ("202701", "202702", "202703", "202704")
CCS = ("A", "B", "C")


def _rates(maintenance: float, initial: float) -> str:
    return f"<rate><r>1</r><val>{maintenance!r}</val></rate><rate><r>2</r><val>{initial!r}</val></rate>"


def _pmps(val: float, per_month: float, per_spread: float) -> str:
    return "".join(
        f"<pmpsRate><r>{r}</r><val>{val * k!r}</val><pmRate>{per_month * k!r}</pmRate><psRate>{per_spread * k!r}</psRate>"
        "</pmpsRate>"
        for r, k in ((1, 1.0), (2, 1.25))
    )


def _tiers(tag: str, bounds: list[tuple[str, str, str]]) -> str:
    body = "".join(f"<tier><tn>{tn}</tn><sPe>{s}</sPe><ePe>{e}</ePe></tier>" for tn, s, e in bounds)
    return f"<{tag}>{body}</{tag}>"


def _random_file(tmp_path: Path, rng: np.random.Generator, *, initial_class: bool, extra_inter: str = "",
                 extra_super: str = "") -> Path:  # fmt: skip
    """Three CCs of four contracts each (one per period, random risk arrays and composite deltas), random tiers,
    intra spreads, super spreads (on intra tiers or periods) and inter spreads; class 1 maintenance, and with
    ``initial_class`` class 2 initial with rates of its own."""
    pfs, defs = [], []
    inter_names: dict[str, list[str]] = {}
    intra_names: dict[str, list[str]] = {}
    for pf_id, cc in enumerate(CCS, start=1):
        futs = []
        for k, pe in enumerate(PERIODS):
            arr = "".join(f"<a>{v!r}</a>" for v in np.round(rng.normal(0, 400, 16), 2).tolist())
            delta = float(np.round(rng.choice([-1, 1]) * rng.uniform(0.2, 1.5), 3))
            futs.append(
                f"<fut><cId>{pf_id * 10 + k}</cId><pe>{pe}</pe><p>100</p><d>{delta!r}</d><cvf>1</cvf>"
                f"<scanRate><r>1</r><priceScan>{float(rng.uniform(100, 900))!r}</priceScan><volScan>0</volScan></scanRate>"
                f"<ra><r>1</r>{arr}<d>{delta!r}</d></ra></fut>"
            )
        pfs.append(
            f"<futPf><pfId>{pf_id}</pfId><pfCode>{cc}</pfCode><currency>USD</currency><cvf>1</cvf>"
            f"<valueMeth>FUT</valueMeth>{''.join(futs)}</futPf>"
        )
        extra = ""
        if rng.random() < 0.5:
            extra += _tiers("intraTiers", [("1", "202701", "202702"), ("2", "202703", "202712")])
        intra_names[cc] = ["1", "2"] if "intraTiers" in extra else []
        names: list[str] = []
        if rng.random() < 0.6:
            names = ["1", "2"]
            cut = PERIODS[int(rng.integers(1, 4))]
            extra += _tiers("interTiers", [("1", "202701", str(int(cut) - 1)), ("2", cut, "202712")])
        inter_names[cc] = names
        for n in range(int(rng.integers(0, 3))):  # intra spreads on periods
            a, b = rng.choice(len(PERIODS), 2, replace=False)
            extra += _d_spread(n + 1, "F", _rates(float(rng.uniform(10, 300)), float(rng.uniform(10, 300))),
                               _p_leg(cc, PERIODS[a], "A"), _p_leg(cc, PERIODS[b], "B"))  # fmt: skip
        wfpr = str(rng.choice(["NORMAL", "1", "2", "3", "SCANRANGE_CAP", "SCANRANGE"]))
        defs.append(
            f"<ccDef><cc>{cc}</cc><currency>USD</currency><wfprMeth>{wfpr}</wfprMeth>"
            f"<pfLink><exch>TX</exch><pfId>{pf_id}</pfId></pfLink>{extra}</ccDef>"
        )
    inter = []
    for n in range(int(rng.integers(2, 6))):
        members = [str(c) for c in rng.choice(CCS, int(rng.integers(2, 4)), replace=False)]
        legs = []
        for k, cc in enumerate(members):
            side = "A" if k == 0 else str(rng.choice(["A", "B"]))
            ratio = float(rng.choice([0.5, 1.0, 2.0, 3.0]))
            if not inter_names[cc] and rng.random() < 0.3:  # (in a CC with inter tiers it would never form)
                legs.append(_p_leg(cc, str(rng.choice(PERIODS)), side, ratio))
            else:
                tn = str(rng.choice(inter_names[cc])) if inter_names[cc] else "1"
                legs.append(_t_leg(cc, side, ratio, tn))
        if legs and all("<rs>A</rs>" in leg for leg in legs):
            legs[-1] = legs[-1].replace("<rs>A</rs>", "<rs>B</rs>")
        meth = "W" if n == 0 else str(rng.choice(["W", "W", "F", "P"]))
        if meth == "W":
            rate = _rates(float(rng.uniform(20, 90)), float(rng.uniform(20, 90)))
        elif meth == "F":
            rate = _rates(float(rng.uniform(-500, 200)), float(rng.uniform(-500, 200)))
        else:
            legs = [_p_leg(cc, str(rng.choice(PERIODS)), "A" if k == 0 else "B") for k, cc in enumerate(members)]
            rate = _pmps(float(rng.uniform(-300, 0)), float(rng.uniform(0, 40)), float(rng.uniform(-20, 20)))
        inter.append(_d_spread(n + 1, meth, rate, *legs))
    supers = []
    for n in range(int(rng.integers(0, 3))):  # super spreads: formed before the intra spreads, on their pools
        members = [str(c) for c in rng.choice(CCS, 2, replace=False)]
        legs = []
        for k, cc in enumerate(members):
            side = "A" if k == 0 else "B"
            if intra_names[cc] and rng.random() < 0.6:
                legs.append(_t_leg(cc, side, float(rng.choice([1.0, 2.0])), str(rng.choice(intra_names[cc]))))
            else:
                legs.append(_p_leg(cc, str(rng.choice(PERIODS)), side, float(rng.choice([1.0, 2.0]))))
        meth = str(rng.choice(["W", "F", "P"]))
        if meth == "P":
            legs = [_p_leg(cc, str(rng.choice(PERIODS)), "A" if k == 0 else "B") for k, cc in enumerate(members)]
        rate = {"W": _rates(float(rng.uniform(20, 90)), float(rng.uniform(20, 90))),
                "F": _rates(float(rng.uniform(-400, 100)), float(rng.uniform(-400, 100))),
                "P": _pmps(float(rng.uniform(-300, 0)), float(rng.uniform(0, 40)), float(rng.uniform(-20, 20)))}[meth]  # fmt: skip
        supers.append(_d_spread(n + 1, meth, rate, *legs))
    classes = "<pbRateDef><r>1</r><isCust>1</isCust><acctType>SPEC</acctType><isM>1</isM></pbRateDef>"
    if initial_class:
        classes += "<pbRateDef><r>2</r><isCust>1</isCust><acctType>SPEC</acctType><isM>0</isM></pbRateDef>"
    text = (
        "<spanFile><fileFormat>4.00</fileFormat><pointInTime><date>20261204</date><clearingOrg><ec>TST</ec>"
        f"{classes}{POINT_DEF}<exchange><exch>TX</exch>{''.join(pfs)}</exchange>{''.join(defs)}"
        f"<superSpreads>{''.join(supers)}{extra_super}</superSpreads>"
        f"<interSpreads>{''.join(inter)}{extra_inter}</interSpreads></clearingOrg></pointInTime></spanFile>"
    )
    path = tmp_path / "inter.spn"
    path.write_text(text)
    return path


def _accounts(span: Any, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keys = [f"{cc}:{pf * 10 + k}" for pf, cc in enumerate(CCS, start=1) for k in range(len(PERIODS))]
    sizes = rng.integers(1, 7, n)
    account = np.repeat(np.arange(n), sizes)
    rows = np.array([span.row(keys[i]) for i in rng.integers(0, len(keys), len(account))], dtype=np.int64)
    qty = rng.integers(-5, 6, len(account)).astype(float)
    return account, rows, qty


def _compare(span: Any, account: np.ndarray, rows: np.ndarray, qty: np.ndarray, n: int,
             monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], np.ndarray]:  # fmt: skip
    """Every account of span_margins against span_account; returns the accounts routed to span_account and the
    inter credits."""
    real = bulk.span_account
    routed = span_account_calls(monkeypatch)
    opts = SpanOptions()
    cols = bulk.span_margins(span, list(range(n)), account, rows, qty, opts)
    monkeypatch.setattr(bulk, "span_account", real)
    for a in range(n):
        r, q = net_positions(rows[account == a], qty[account == a])
        if not len(r):
            continue
        ref = span_account(span, r, q, opts)
        assert cols.initial[a] == pytest.approx(ref.initial, rel=1e-12, abs=1e-9), a
        assert cols.maintenance[a] == pytest.approx(ref.maintenance, rel=1e-12, abs=1e-9), a
        for name, value in ref.components.items():
            assert cols.components[name][a] == pytest.approx(value, rel=1e-12, abs=1e-8), (a, name)
        result = cols[a]
        assert result.calibration == ref.calibration, a
    return routed, cols.components["inter_spread_credit"]


@pytest.mark.parametrize("seed", range(12))
def test_random_files_and_accounts_match_span_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      seed: int) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    span = parse_span(_random_file(tmp_path, rng, initial_class=seed % 2 == 1))
    n = 80
    account, rows, qty = _accounts(span, rng, n)
    routed, credit = _compare(span, account, rows, qty, n, monkeypatch)
    assert len(routed) < n // 4, f"{len(routed)} of {n} accounts left the pass"
    in_pass = np.ones(n, dtype=bool)
    in_pass[routed] = False
    assert np.count_nonzero(credit[in_pass]) > 0, "no inter spread formed in the pass"


def test_a_hand_worked_inter_credit_by_the_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/data/span/two_cc.spn's W spread (AAA A x1 v BBB B x3 at 0.5): +2 AF:101 and -9 BF:201.  AAA: scan 2 x 90
    = 180 (scenario 13), no time or volatility risk, price risk 180 over a delta of 2 -> WFPR 90; BBB: scan 9 x 30 =
    270, WFPR 30.  N = min(2 / 1, 9 / 3) = 2: credits 0.5 x 2 x 1 x 90 = 90 and 0.5 x 2 x 3 x 30 = 90.  With AAA's
    spot-month charge (2 outright at 7): 450 + 14 - 180 = 284."""
    span = parse_span(Path(__file__).parent / "data" / "span" / "two_cc.spn")
    refuse_span_account(monkeypatch)
    rows = np.array([span.row("AF:101"), span.row("BF:201")], dtype=np.int64)
    cols = bulk.span_margins(span, ["a"], np.zeros(2, np.int64), rows, np.array([2.0, -9.0]), SpanOptions())
    assert cols.components["scan_risk"][0] == 450.0
    assert cols.components["inter_spread_credit"][0] == -180.0
    assert cols.components["spot_charge"][0] == 14.0
    assert cols.maintenance[0] == 284.0
    assert cols.calibration["inter_spread_credit"][0] == 1  # calibrated (W)


def _scanning(n: int, rate: float, *legs: tuple[str, bool, bool], per_point: str = "") -> str:
    body = "".join(
        f"<sLeg><cc>{cc}</cc><isTarget>{int(t)}</isTarget><isRequired>{int(req)}</isRequired></sLeg>"
        for cc, t, req in legs
    )
    return f"<sSpread><spread>{n}</spread>{per_point}<rate><r>1</r><val>{rate!r}</val></rate>{body}</sSpread>"


@pytest.mark.parametrize("seed", range(8))
def test_scanning_spreads_in_the_pass_match_span_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         seed: int) -> None:  # fmt: skip
    """Random files with scanning spreads among the super and the inter spreads (a required or optional third leg,
    gains at a random allowance): every account in the pass (none routed), equal to span_account."""
    rng = np.random.default_rng(100 + seed)
    target, other, third = (str(c) for c in rng.permutation(CCS))
    super_scan = _scanning(7, float(rng.uniform(0, 100)), (target, True, True), (other, False, True))
    inter_scan = _scanning(8, float(rng.uniform(0, 100)), (other, True, True), (target, False, True),
                           (third, False, bool(rng.random() < 0.5)))  # fmt: skip
    span = parse_span(_random_file(tmp_path, rng, initial_class=seed % 2 == 1, extra_inter=inter_scan,
                                   extra_super=super_scan if seed % 3 else ""))  # fmt: skip
    n = 60
    account, rows, qty = _accounts(span, rng, n)
    routed, _ = _compare(span, account, rows, qty, n, monkeypatch)
    assert len(routed) < n // 4, f"{len(routed)} of {n} accounts left the pass"
    scanned = 0
    for a in sorted(set(range(n)) - set(routed)):
        ref = span_account(span, *net_positions(rows[account == a], qty[account == a]), SpanOptions())
        scanned += any(x["method"] == "scanning" for c in ref.details["combined_commodities"] for x in c["spreads"])
    assert scanned > 0, "no scanning spread formed in the pass"


def test_a_spread_the_pass_cannot_compute_takes_span_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scanning spread with per-point aggregation (sPointDef): the accounts that would form it go to span_account,
    which refuses them by name; the others stay in the pass."""
    rng = np.random.default_rng(99)
    per_point = _scanning(9, 50.0, ("A", True, True), ("B", False, True), per_point="<sPointDef><point>1</point></sPointDef>")
    span = parse_span(_random_file(tmp_path, rng, initial_class=False, extra_inter=per_point))
    routed = span_account_calls(monkeypatch)
    a_only = np.array([span.row("A:10")], dtype=np.int64)
    cols = bulk.span_margins(span, ["a"], np.zeros(1, np.int64), a_only, np.array([2.0]), SpanOptions())
    assert routed == [] and cols.maintenance[0] >= 0
    both = np.array([span.row("A:10"), span.row("B:20")], dtype=np.int64)
    with pytest.raises(ValueError, match="per-point aggregation"):
        bulk.span_margins(span, ["ab"], np.zeros(2, np.int64), both, np.array([2.0, -3.0]), SpanOptions())
    assert routed == ["ab"]


def test_a_super_spread_is_formed_before_the_calendar_spread_by_the_pass(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """tests/test_span_spreads.py's worked example through the pass alone: X +1 month 2, -1 month 3 (PSR 500 each,
    calendar spread at 200), Y -1 (PSR 800).  The super spread X 202702 (A) v Y (B) at 50 % (W) forms first: N = 1,
    Y's credit 0.5 x 800 = 400 (X's price risk is 0), and month 2's delta is gone, so the calendar spread does not
    form: 0 + 800 - 400 = 400 (1,000 as an inter spread, which finds X's delta taken by the calendar spread)."""
    from test_span_spreads import MONTHS, _rate, _spn
    refuse_span_account(monkeypatch)
    ccs = {"X": {"futures": MONTHS["X"]["futures"][:2], "ccdef": _d_spread(
        1, "F", _rate(200), _p_leg("X", "202702", "A"), _p_leg("X", "202703", "B"))},
        "Y": {"futures": [(9, "202702", 800.0)]}}  # fmt: skip
    legs = (_p_leg("X", "202702", "A"), _t_leg("Y", "B", 1))
    for where, expected, intra in (("super_", 400.0, 0.0), ("inter", 1000.0, 200.0)):
        spread = _d_spread(1, "W", _rate(50), *legs)
        span = parse_span(_spn(tmp_path, ccs, **({"super_": spread} if where == "super_" else {"inter": spread})))
        rows = np.array([span.row(k) for k in ("X:2", "X:3", "Y:9")], dtype=np.int64)
        cols = bulk.span_margins(span, ["a"], np.zeros(3, np.int64), rows, np.array([1.0, -1.0, -1.0]), SpanOptions())
        assert cols.maintenance[0] == expected and cols.components["intra_spread_charge"][0] == intra
        assert cols.calibration["inter_spread_credit"][0] == (0 if where == "super_" else 1)  # candidate / calibrated


@pytest.mark.parametrize("level", ["inter", "super"])
def test_the_hand_worked_scanning_spread_by_the_pass(tmp_path: Path, level: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/test_span_spreads.py's worked scanning spread through the pass alone: target X, Y's gains at 80 %, +1 X
    (PSR 1,000), -1 Y (PSR 800): joint scan 360 instead of 1,000 + 800, X credited 640, Y 800, a later W delta
    spread X v Y adds nothing (their risk is offset); a required third leg missing: no spread (1,800); the same
    direction: no spread (1,800)."""
    from test_span_spreads import PAIR, _rate, _s_spread, _spn
    refuse_span_account(monkeypatch)
    spread = _s_spread(1, 80, ("X", True, True), ("Y", False, True))
    delta = _d_spread(2, "W", _rate(50), _t_leg("X", "A", 1), _t_leg("Y", "B", 1))
    required = _s_spread(1, 80, ("X", True, True), ("Y", False, True), ("Z", False, True))
    for kw, quantities, expected, credit in (
        ({"inter": spread + delta} if level == "inter" else {"super_": spread, "inter": delta}, (1.0, -1.0), 360.0, -1440.0),
        ({"inter": spread + delta} if level == "inter" else {"super_": spread, "inter": delta}, (1.0, 1.0), 1800.0, 0.0),
        ({"inter": required} if level == "inter" else {"super_": required}, (1.0, -1.0), 1800.0, 0.0),
    ):
        span = parse_span(_spn(tmp_path, PAIR, **kw))
        rows = np.array([span.row("X:1"), span.row("Y:2")], dtype=np.int64)
        cols = bulk.span_margins(span, ["a"], np.zeros(2, np.int64), rows, np.array(quantities), SpanOptions())
        assert cols.maintenance[0] == pytest.approx(expected, rel=1e-15)
        assert cols.components["inter_spread_credit"][0] == pytest.approx(credit, rel=1e-15)
