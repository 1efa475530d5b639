"""SPAN spreads by charge method, super spreads and scanning spreads, each worked by hand below.

The files are written here from the element names of CME's SPAN XML schema.  Every contract is a future
whose risk array is the textbook one: the loss of one long contract under the 16 scenarios is
``-move x PSR`` with moves 0, 0, +1/3, +1/3, -1/3, -1/3, +2/3, +2/3, -2/3, -2/3, +1, +1, -1, -1 and the
two extremes +-2 x PSR covered at 35 % (-0.7 / +0.7 PSR), so one outright future needs exactly its price
scan range (PSR) and a short one loses PSR in scenario 11.

The first two tests are CME's own published worked examples ("Inter Spread Calculations" and "Intra
Spread Calculations" on CME Group's margin pages): Corn vs Soybeans 2:1 at a 55 % inter rate with
outright rates 1,750 and 2,500 -> 2,700; and a product whose months 2, 3, 4 need 500, 500, 750 with
intra charges 200 (2 v 3), 50 (2 v 4) and 0 (3 v 4) -> 200, 300, 250.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from riskoffset.margining.span import SpanFileError, parse_span, span_margin

POINT_DEF = (Path(__file__).parent / "data" / "span" / "two_cc.spn").read_text()
POINT_DEF = POINT_DEF[POINT_DEF.index("<pointDef>") : POINT_DEF.index("</pointDef>") + len("</pointDef>")]
MOVES = [0, 0, 1 / 3, 1 / 3, -1 / 3, -1 / 3, 2 / 3, 2 / 3, -2 / 3, -2 / 3, 1, 1, -1, -1, 0.7, -0.7]


def _future(cid: int, pe: str, psr: float) -> str:
    arr = "".join(f"<a>{-m * psr!r}</a>" for m in MOVES)
    return (
        f"<fut><cId>{cid}</cId><pe>{pe}</pe><p>100</p><d>1</d><cvf>1</cvf>"
        f"<scanRate><r>1</r><priceScan>{psr!r}</priceScan><volScan>0</volScan></scanRate>"
        f"<ra><r>1</r>{arr}<d>1</d></ra></fut>"
    )


def _spn(tmp_path: Path, ccs: dict[str, dict[str, Any]], *, inter: str = "", super_: str = "") -> Path:
    """ccs: name -> {"futures": [(cId, pe, PSR)], "ccdef": extra ccDef XML, "wfpr": wfprMeth}."""
    pfs, defs = [], []
    for pf_id, (name, cc) in enumerate(ccs.items(), start=1):
        futs = "".join(_future(*f) for f in cc["futures"])
        pfs.append(
            f"<futPf><pfId>{pf_id}</pfId><pfCode>{name}</pfCode><currency>USD</currency><cvf>1</cvf>"
            f"<valueMeth>FUT</valueMeth>{futs}</futPf>"
        )
        defs.append(
            f"<ccDef><cc>{name}</cc><currency>USD</currency><wfprMeth>{cc.get('wfpr', 'NORMAL')}</wfprMeth>"
            f"<pfLink><exch>TX</exch><pfId>{pf_id}</pfId></pfLink>{cc.get('ccdef', '')}</ccDef>"
        )
    text = (
        "<spanFile><fileFormat>4.00</fileFormat><pointInTime><date>20261204</date><clearingOrg><ec>TST</ec>"
        "<pbRateDef><r>1</r><isCust>1</isCust><acctType>SPEC</acctType><isM>1</isM></pbRateDef>"
        f"{POINT_DEF}<exchange><exch>TX</exch>{''.join(pfs)}</exchange>{''.join(defs)}"
        f"<superSpreads>{super_}</superSpreads><interSpreads>{inter}</interSpreads>"
        "</clearingOrg></pointInTime></spanFile>"
    )
    path = tmp_path / "spreads.spn"
    path.write_text(text)
    return path


def _t_leg(cc: str, side: str, ratio: float, tn: str = "1") -> str:
    return f"<tLeg><cc>{cc}</cc><tn>{tn}</tn><rs>{side}</rs><i>{ratio!r}</i></tLeg>"


def _p_leg(cc: str, pe: str, side: str, ratio: float = 1) -> str:
    return f"<pLeg><cc>{cc}</cc><pe>{pe}</pe><rs>{side}</rs><i>{ratio!r}</i></pLeg>"


def _d_spread(n: int, meth: str, rate: str, *legs: str) -> str:
    return f"<dSpread><spread>{n}</spread><chargeMeth>{meth}</chargeMeth>{rate}{''.join(legs)}</dSpread>"


def _rate(v: float) -> str:
    return f"<rate><r>1</r><val>{v!r}</val></rate>"


def _by_cc(r: Any) -> dict[str, dict[str, Any]]:
    return {c["cc"]: c for c in r.details["combined_commodities"]}


GRAINS = {"CORN": {"futures": [(1, "202703", 1750.0)]}, "SOY": {"futures": [(2, "202703", 2500.0)]}}


@pytest.mark.parametrize("wfpr", ["NORMAL", "SCANRANGE_CAP", "SCANRANGE", "1", "2", "3"])
def test_cme_published_inter_spread_corn_soybeans(tmp_path: Path, wfpr: str) -> None:
    """CME's example: 2 Corn vs 1 Soybeans, 55 %.  Outright 2 x 1,750 + 2,500 = 6,000; credit per leg
    = 55 % of the legs' outright margin: 0.55 x 3,500 + 0.55 x 2,500 = 3,300; margin 2,700.
    SPAN's terms: corn scan 3,500 (scenario 13), TR = VR = 0, PR 3,500, delta 2 -> WFPR 1,750 (equal to its
    PSR, so every wfprMeth agrees); N = min(2/2, 1/1) = 1; corn credit 0.55 x 1 x 2 x 1,750 = 1,925;
    soybeans: scan 2,500 (scenario 11), WFPR 2,500, credit 0.55 x 1 x 1 x 2,500 = 1,375."""
    ccs = {k: {**v, "wfpr": wfpr} for k, v in GRAINS.items()}
    inter = _d_spread(1, "W", _rate(55), _t_leg("CORN", "A", 2), _t_leg("SOY", "B", 1))
    r = span_margin({"CORN:1": 2, "SOY:2": -1}, None, _spn(tmp_path, ccs, inter=inter))
    assert r.components["scan_risk"] == 6000.0
    assert r.components["inter_spread_credit"] == pytest.approx(-3300.0, rel=1e-15)
    assert r.maintenance == pytest.approx(2700.0, rel=1e-15)
    by_cc = _by_cc(r)
    assert by_cc["CORN"]["inter_spread_credit"] == pytest.approx(1925.0, rel=1e-15)
    assert by_cc["SOY"]["inter_spread_credit"] == pytest.approx(1375.0, rel=1e-15)
    assert r.calibration["inter_spread_credit"] == "calibrated"
    # one spread only: 4 corn vs 1 soybean forms N = min(4/2, 1/1) = 1; the other 2 corn stay outright
    more = span_margin({"CORN:1": 4, "SOY:2": -1}, None, _spn(tmp_path, ccs, inter=inter))
    assert more.maintenance == pytest.approx(4 * 1750 + 2500 - 3300, rel=1e-15)


def test_inter_spread_one_to_one(tmp_path: Path) -> None:
    """1:1 at 55 %: +1 corn, -1 soybeans -> 4,250 - 0.55 x (1,750 + 2,500) = 1,912.5."""
    inter = _d_spread(1, "W", _rate(55), _t_leg("CORN", "A", 1), _t_leg("SOY", "B", 1))
    r = span_margin({"CORN:1": 1, "SOY:2": -1}, None, _spn(tmp_path, GRAINS, inter=inter))
    assert r.maintenance == pytest.approx(1912.5, rel=1e-15)


MONTHS = {"X": {"futures": [(2, "202702", 500.0), (3, "202703", 500.0), (4, "202704", 750.0)]}}


def _intra(spreads: str) -> dict[str, dict[str, Any]]:
    return {"X": {**MONTHS["X"], "ccdef": spreads}}


@pytest.mark.parametrize(
    ("long", "short", "expected"),
    [(2, 3, 200.0), (2, 4, 300.0), (3, 4, 250.0)],
)
def test_cme_published_intra_spread(tmp_path: Path, long: int, short: int, expected: float) -> None:
    """CME's example: months 2, 3, 4 need 500, 500, 750; spread charges 200 (2 v 3), 50 (2 v 4), 0 (3 v 4).
    +2 -3: scan 0 + 200 = 200;  +2 -4: scan |750 - 500| = 250 + 50 = 300;  +3 -4: 250 + 0 = 250."""
    spreads = (
        _d_spread(1, "F", _rate(200), _p_leg("X", "202702", "A"), _p_leg("X", "202703", "B"))
        + _d_spread(2, "F", _rate(50), _p_leg("X", "202702", "A"), _p_leg("X", "202704", "B"))
        + _d_spread(3, "F", _rate(0), _p_leg("X", "202703", "A"), _p_leg("X", "202704", "B"))
    )
    r = span_margin({f"X:{long}": 1, f"X:{short}": -1}, None, _spn(tmp_path, _intra(spreads)))
    assert r.maintenance == expected
    assert r.calibration["intra_spread_charge"] == "exact"


def test_per_month_per_spread_charge(tmp_path: Path) -> None:
    """chargeMeth P, pmpsRate val 10, pmRate 20, psRate 5; legs 202702 and 202704 are 2 months apart:
    per spread 10 + 5 + 20 x 2 = 55; +3 / -3 -> 3 spreads = 165, plus the scan |750 - 500| x 3 = 750."""
    pmps = "<pmpsRate><r>1</r><val>10</val><pmRate>20</pmRate><psRate>5</psRate></pmpsRate>"
    spreads = _d_spread(1, "P", pmps, _p_leg("X", "202702", "A"), _p_leg("X", "202704", "B"))
    r = span_margin({"X:2": 3, "X:4": -3}, None, _spn(tmp_path, _intra(spreads)))
    assert r.components["intra_spread_charge"] == 165.0
    assert r.maintenance == 915.0
    assert r.calibration["intra_spread_charge"] == "candidate"
    spread = _by_cc(r)["X"]["spreads"][0]
    assert spread["method"] == "P" and spread["count"] == 3.0


def test_weighted_price_intra_spread(tmp_path: Path) -> None:
    """chargeMeth W on an intra spread at 10 %: the charge is 10 % of the legs' futures price scan range
    per delta (the first future's priceScan, 500): +2 / -2 of months 2 and 3 -> scan 0;
    charge = 0.10 x 2 spreads x (1 x 500 + 1 x 500) = 200."""
    spreads = _d_spread(1, "W", _rate(10), _p_leg("X", "202702", "A"), _p_leg("X", "202703", "B"))
    r = span_margin({"X:2": 2, "X:3": -2}, None, _spn(tmp_path, _intra(spreads)))
    assert r.components["scan_risk"] == 0.0
    assert r.maintenance == pytest.approx(200.0, rel=1e-15)
    assert r.calibration["intra_spread_charge"] == "candidate"


def test_flat_inter_spread_is_shared_by_its_ccs(tmp_path: Path) -> None:
    """chargeMeth F on an inter spread: one amount per spread shared equally by the CCs, a charge, or a
    credit when the rate is negative: rate -600, N = 1 -> each CC is credited 300; 6,000 - 600 = 5,400."""
    inter = _d_spread(1, "F", _rate(-600), _t_leg("CORN", "A", 2), _t_leg("SOY", "B", 1))
    r = span_margin({"CORN:1": 2, "SOY:2": -1}, None, _spn(tmp_path, GRAINS, inter=inter))
    assert r.maintenance == 5400.0
    assert {k: v["inter_spread_credit"] for k, v in _by_cc(r).items()} == {"CORN": 300.0, "SOY": 300.0}
    assert r.calibration["inter_spread_credit"] == "candidate"


def test_super_spread_is_formed_before_the_calendar_spread(tmp_path: Path) -> None:
    """X: +1 month 2, -1 month 3 (PSR 500 each, calendar spread 2 v 3 at 200); Y: -1 future (PSR 800).
    Without the super spread: X = scan 0 + intra 200; Y = 800; total 1,000 (the inter spread below finds
    X's delta used up by the calendar spread).
    With super spread X 202702 (A) v Y (B) at 50 % (W), formed first: N = 1; X's leg: price risk 0 -> no
    credit; Y's leg: WFPR 800 / 1 -> credit 0.5 x 800 = 400.  Month 2's delta is gone, so the calendar
    spread no longer forms: X = 0; Y = 800 - 400 = 400; total 400."""
    ccs = {"X": {"futures": MONTHS["X"]["futures"][:2], "ccdef": _d_spread(
        1, "F", _rate(200), _p_leg("X", "202702", "A"), _p_leg("X", "202703", "B"))},
        "Y": {"futures": [(9, "202702", 800.0)]}}  # fmt: skip
    legs = (_p_leg("X", "202702", "A"), _t_leg("Y", "B", 1))
    pos = {"X:2": 1, "X:3": -1, "Y:9": -1}
    plain = span_margin(pos, None, _spn(tmp_path, ccs, inter=_d_spread(1, "W", _rate(50), *legs)))
    assert plain.maintenance == 1000.0
    first = span_margin(pos, None, _spn(tmp_path, ccs, super_=_d_spread(1, "W", _rate(50), *legs)))
    assert first.maintenance == 400.0
    assert first.components["intra_spread_charge"] == 0.0
    assert _by_cc(first)["Y"]["spreads"][0]["type"] == "super"
    assert first.calibration["inter_spread_credit"] == "candidate"


def _s_spread(n: int, rate: float, *legs: tuple[str, bool, bool], per_point: str = "") -> str:
    body = "".join(
        f"<sLeg><cc>{cc}</cc><isTarget>{int(t)}</isTarget><isRequired>{int(req)}</isRequired></sLeg>"
        for cc, t, req in legs
    )
    return f"<sSpread><spread>{n}</spread>{per_point}{_rate(rate)}{body}</sSpread>"


PAIR = {"X": {"futures": [(1, "202703", 1000.0)]}, "Y": {"futures": [(2, "202703", 800.0)]},
        "Z": {"futures": [(3, "202703", 100.0)]}}  # fmt: skip


@pytest.mark.parametrize("level", ["inter", "super"])
def test_scanning_spread(tmp_path: Path, level: str) -> None:
    """Scanning spread, target X, Y's gains counted at 80 %: +1 X (PSR 1,000), -1 Y (PSR 800).
    L_X = -1000 m, L_Y = +800 m.  m > 0: -1000 m + 800 m < 0.  m < 0: Y gains, counted 0.8 x 800 m:
    -1000 m + 640 m = -360 m -> 360 at m = -1 (scenarios 13/14); extreme -: 700 - 0.8 x 560 = 252.
    Joint scan 360 instead of 1,000 + 800: X credited 1,000 - 360 = 640, Y 800; requirement 360.
    A later delta spread X v Y (50 %) adds nothing: the legs' risk is already offset."""
    spread = _s_spread(1, 80, ("X", True, True), ("Y", False, True))
    delta = _d_spread(2, "W", _rate(50), _t_leg("X", "A", 1), _t_leg("Y", "B", 1))
    kw = {"inter": spread + delta} if level == "inter" else {"super_": spread, "inter": delta}
    r = span_margin({"X:1": 1, "Y:2": -1}, None, _spn(tmp_path, PAIR, **kw))
    assert r.maintenance == pytest.approx(360.0, rel=1e-15)
    by_cc = _by_cc(r)
    assert by_cc["X"]["inter_spread_credit"] == pytest.approx(640.0, rel=1e-15)
    assert by_cc["Y"]["inter_spread_credit"] == 800.0
    assert [s["method"] for s in by_cc["X"]["spreads"]] == ["scanning"]
    assert r.calibration["inter_spread_credit"] == "candidate"
    # same direction: the joint scan is the sum, no spread forms
    same = span_margin({"X:1": 1, "Y:2": 1}, None, _spn(tmp_path, PAIR, **kw))
    assert same.components["inter_spread_credit"] == 0.0 and same.maintenance == 1800.0


def test_scanning_spread_required_leg(tmp_path: Path) -> None:
    """A required leg missing from the account: no spread (1,000 + 800); optional: the spread forms (360)."""
    pos = {"X:1": 1, "Y:2": -1}
    req = _s_spread(1, 80, ("X", True, True), ("Y", False, True), ("Z", False, True))
    assert span_margin(pos, None, _spn(tmp_path, PAIR, inter=req)).maintenance == 1800.0
    opt = _s_spread(1, 80, ("X", True, True), ("Y", False, True), ("Z", False, False))
    assert span_margin(pos, None, _spn(tmp_path, PAIR, inter=opt)).maintenance == pytest.approx(360.0)


def test_unsupported_spread_features_are_refused_when_they_form(tmp_path: Path) -> None:
    per_point = "<sPointDef><point>1</point><aggMeth>1</aggMeth><nMaxLoss>2</nMaxLoss></sPointDef>"
    spread = _s_spread(1, 80, ("X", True, True), ("Y", False, True), per_point=per_point)
    with pytest.raises(ValueError, match="per-point aggregation .sPointDef. is not implemented"):
        span_margin({"X:1": 1, "Y:2": -1}, None, _spn(tmp_path, PAIR, inter=spread))
    deltavol = _d_spread(1, "W", "<spreadType>DELTAVOL</spreadType>" + _rate(50), _t_leg("X", "A", 1),
                         _t_leg("Y", "B", 1))  # fmt: skip
    with pytest.raises(ValueError, match="volatility offsets"):
        span_margin({"X:1": 1, "Y:2": -1}, None, _spn(tmp_path, PAIR, inter=deltavol))


def test_scanning_spread_needs_one_target(tmp_path: Path) -> None:
    spread = _s_spread(1, 80, ("X", True, True), ("Y", True, True))
    with pytest.raises(SpanFileError, match="exactly one target leg, got 2"):
        parse_span(_spn(tmp_path, PAIR, inter=spread))


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_non_finite_numbers_are_refused(tmp_path: Path, bad: str) -> None:
    path = _spn(tmp_path, PAIR)
    text = path.read_text()
    for old in ("<a>0.0</a>", "<priceScan>800.0</priceScan>", "<cvf>1</cvf>"):
        assert old in text
        path.write_text(text.replace(old, old.split(">")[0] + f">{bad}<" + old.split("<")[-1], 1))
        with pytest.raises(SpanFileError, match="not a finite number"):
            parse_span(path)
