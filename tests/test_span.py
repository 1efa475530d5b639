"""SPAN: streaming parser and algorithm (see docs/margin.md), on fixtures written by us from the
element names of CME's XSD (tests/data/span/*.spn) with every expected number worked out by hand below.

two_cc.spn (all amounts USD, risk arrays = losses of one long contract):
  AAA futures 101 (202701) and 102 (202702): f = [0,0,-30,-30,30,30,-60,-60,60,60,-90,-90,90,90,-63,63], d 1
  AAA call 111 (k 100, p 12): c = [3,-2,-12,-16,14,10,-30,-34,26,22,-50,-54,34,30,-35,12], composite d 0.5
  AAA put 112 (k 100, p 10): q = [5,-4,20,14,-25,-31,40,35,-55,-60,60,55,-80,-85,45,-40], composite d -0.5
  AAA call 113 (k 20, p 82): array f, composite d 1
  BBB future 201 (202701): g = [0,0,-10,-10,10,10,-20,-20,20,20,-30,-30,30,30,-21,21], d 1
  AAA: intra tiers 1 = 202701, 2 = 202702..202712; spread 1: tier 1 (A, i 1) vs tier 2 (B, i 1), 40 per
       spread; spot month 202701: 3 per spread delta, 7 per outright delta; SOM 5 per short option (max of
       short calls and short puts); initial (r 2) = 1.25 x maintenance (r 1).
  BBB: initial = 1.25 x maintenance.  Inter spread 1: AAA (A, i 1) vs BBB (B, i 3), credit rate 50 %.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from riskoffset.margining.result import MarginResult
from riskoffset.margining.span import SpanFileError, parse_span, span_margin

DATA = Path(__file__).parent / "data" / "span"
TWO_CC = DATA / "two_cc.spn"
MCMILLAN = DATA / "mcmillan.spn"


@pytest.fixture(scope="module")
def span():  # type: ignore[no-untyped-def]
    return parse_span(TWO_CC)


def _total(r: MarginResult) -> float:
    return sum(r.components.values())


# ---------------------------------------------------------------------------------------------- parser
def test_parser_reads_the_fixture(span) -> None:  # type: ignore[no-untyped-def]
    assert span.business_date == "20261124"
    assert span.file_format == "4.00"
    assert span.is_settlement is True
    assert len(span.orgs) == 1
    org = span.orgs[0]
    assert org.ec == "TST" and set(org.combined) == {"AAA", "BBB"}
    assert [(p.r, p.is_m) for p in org.pb_rates] == [(1, True), (2, False)]
    pdef = org.point_defs[1]
    assert len(pdef.scan_points) == 16
    p3, p15 = pdef.point(3), pdef.point(15)
    assert p3 is not None and p3.price == pytest.approx(1 / 3) and p3.vol == 1.0 and p3.paired == 4
    assert p15 is not None and p15.price == 2.0 and p15.weight == 0.35 and p15.paired == 0
    assert len(span.contracts) == 6
    row = span.row("AO:111")
    assert span.contracts.option[row] == "C" and span.contracts.strike[row] == 100.0
    assert span.contracts.pe[row] == "20270100"  # series period, normalised
    assert span.contracts.composite[1][row] == 0.5 and span.contracts.delta[row] == 0.52
    assert span.contracts.arrays[1][row].tolist() == [
        3,
        -2,
        -12,
        -16,
        14,
        10,
        -30,
        -34,
        26,
        22,
        -50,
        -54,
        34,
        30,
        -35,
        12,
    ]
    assert span.row(111) == span.row("TX:AO:111") == span.row("TST:TX:AO:111") == row
    aaa = org.combined["AAA"]
    assert [t.tn for t in aaa.intra_tiers] == ["1", "2"]
    assert aaa.spreads[0].rates == {1: 40.0} and [leg.side for leg in aaa.spreads[0].legs] == ["A", "B"]
    assert aaa.spot_rates[0].sprd == 3 and aaa.spot_rates[0].outr == 7
    assert aaa.adj_rates == ((2, 1, 1.25),)
    assert org.inter_spreads[0].legs[1].ratio == 3.0
    with pytest.raises(KeyError, match="not in"):
        span.row("AO:999")


def test_parser_accepts_a_file_object(span) -> None:  # type: ignore[no-untyped-def]
    with open(TWO_CC, "rb") as fh:
        again = parse_span(fh)
    assert np.array_equal(again.contracts.arrays[1], span.contracts.arrays[1])


# ---------------------------------------------------------------------------------------------- textbook
def test_mcmillan_scan_risk_tv_s1() -> None:
    """Textbook case: the long Dec 410 call alone has scan risk 3,990 (scenario 14: price -3/3, vol -1)."""
    f = parse_span(MCMILLAN)
    r = span_margin({"SPC:2": 1}, None, f)
    assert r.components["scan_risk"] == 3990.0
    assert r.worst_scenario is not None and r.worst_scenario.index == 14
    assert "-3/3" in r.worst_scenario.description and r.worst_scenario.pnl == -3990.0
    # a long future loses the full range 10,000 (first at scenario 13)
    fut = span_margin({"SP:1": 1}, None, f)
    assert fut.components["scan_risk"] == 10000.0 and fut.worst_scenario is not None
    assert fut.worst_scenario.index == 13
    # extreme scenario value = 0.35 x 2 x 10,000 = 7,000, already in the array (not weighted again)
    assert f.contracts.arrays[1][f.row("SP:1")][15] == 7000.0
    # net option value: a long option is paid for (20 x cvf 250 = 5,000 > 3,990), so it needs no margin
    assert r.components["net_option_value"] == -5000.0 and r.initial == 0.0


# ---------------------------------------------------------------------------------------------- assembly
def test_calendar_spread_intra_and_spot(span) -> None:  # type: ignore[no-untyped-def]
    """Spec E3: +10 AF 202701, -10 AF 202702.
    scan: L = 10 f - 10 f = 0 -> 0.
    tier deltas +10 / -10 -> A long, B short: N = min(10/1, 10/1) = 10 spreads -> intra = 10 x 40 = 400.
    spot 202701: |delta| 10, all of it consumed by the spread -> 3 x 10 + 7 x 0 = 30.
    risk = max(0 + 400 + 30 - 0, SOM 0) = 430 = maintenance;  initial = 1.25 x 430 = 537.5."""
    r = span_margin({"AF:101": 10, "AF:102": -10}, None, span)
    assert r.maintenance == 430.0
    assert r.initial == 537.5
    assert r.components["intra_spread_charge"] == 400.0
    assert r.components["spot_charge"] == 30.0
    assert r.components["initial_adjustment"] == 107.5
    assert r.worst_scenario is None  # nothing to lose in any scenario
    assert _total(r) == r.initial


def test_short_calls_som_nov(span) -> None:  # type: ignore[no-untyped-def]
    """-5 calls 111.  L = -5 c = [-15,10,60,80,-70,-50,150,170,-130,-110,250,270,-170,-150,175,-60]
    -> scan 270 at scenario 12 (+3/3, vol -1).  Delta -5 x 0.5 = -2.5 in the spot month, no spread:
    spot = 7 x 2.5 = 17.5.  SOM = 5 x max(5 short calls, 0 short puts) = 25 < 287.5.
    risk = 287.5;  NOV = -5 x 12 x 1 = -60 (short premium adds to the requirement):
    maintenance = 287.5 + 60 = 347.5;  initial = 1.25 x 287.5 + 60 = 419.375."""
    r = span_margin({"AO:111": -5}, None, span)
    assert r.components["scan_risk"] == 270.0
    assert r.components["spot_charge"] == 17.5
    assert r.components["net_option_value"] == 60.0
    assert r.maintenance == 347.5
    assert r.initial == 419.375
    assert r.worst_scenario is not None and r.worst_scenario.index == 12
    assert r.worst_scenario.description.startswith("AAA: SPAN scenario 12 (price +3/3 PSR, vol -1 VSR")
    cc = r.details["combined_commodities"][0]
    assert cc["short_option_minimum"] == 25.0 and cc["risk"] == 287.5
    assert _total(r) == r.initial
    assert r.calibration["scan_risk"] == "calibrated" and r.calibration["inter_spread_credit"] == "calibrated"


def test_inter_commodity_credit(span) -> None:  # type: ignore[no-untyped-def]
    """+2 AF 101 (AAA), -9 BF 201 (BBB).
    AAA: L = 2 f -> scan 180 (scenario 13), TR = (L1 + L2)/2 = 0, VR = |L13 - L14|/2 = 0, PR = 180;
         spot 202701: 7 x 2 = 14.
    BBB: L = -9 g -> scan 270 (scenario 11), TR 0, VR 0, PR 270.
    inter spread: AAA +2 (A, i 1), BBB -9 (B, i 3): N = min(2/1, 9/3) = 2;
         AAA credit = 0.5 x 2 x 1 x (180/2) = 90;  BBB credit = 0.5 x 2 x 3 x (270/9) = 90.
    risk AAA = 180 + 14 - 90 = 104;  BBB = 270 - 90 = 180;  maintenance 284, initial 1.25 x 284 = 355."""
    r = span_margin({"AF:101": 2, "BF:201": -9}, None, span)
    assert r.components["scan_risk"] == 450.0
    assert r.components["inter_spread_credit"] == -180.0
    assert r.maintenance == 284.0
    assert r.initial == 355.0
    by_cc = {c["cc"]: c for c in r.details["combined_commodities"]}
    assert by_cc["AAA"]["inter_spread_credit"] == 90.0 and by_cc["BBB"]["inter_spread_credit"] == 90.0
    assert by_cc["AAA"]["price_risk"] == 180.0 and by_cc["BBB"]["price_risk"] == 270.0
    assert r.worst_scenario is not None and r.worst_scenario.description.startswith("BBB: SPAN scenario 11")
    # the same signs on both legs form no spread: +2 AAA, +9 BBB -> no credit
    same = span_margin({"AF:101": 2, "BF:201": 9}, None, span)
    assert same.components["inter_spread_credit"] == 0.0


def test_net_option_value_floor(span) -> None:  # type: ignore[no-untyped-def]
    """+1 deep call 113 (array f, p 82) hedged by -1 future 101: L = 0, deltas cancel in tier 1 ->
    risk 0; NOV = +82 (long premium) -> 0 - 82 < 0 -> requirement floored at 0."""
    r = span_margin({"AO:113": 1, "AF:101": -1}, None, span)
    assert r.initial == 0.0 and r.maintenance == 0.0
    assert r.components["net_option_value"] == -82.0 and r.components["floor_adjustment"] == 82.0


def test_short_option_minimum_binds(tmp_path: Path) -> None:
    """SOM rate 1000: -1 call 111: scan = max(-c) = 54, spot = 7 x 0.5 = 3.5, SOM = 1000 x 1 = 1000 ->
    risk 1000; NOV -12 -> maintenance 1012; initial 1.25 x 1000 + 12 = 1262; som_excess = 1000 - 57.5."""
    text = TWO_CC.read_text().replace(
        "<rate><r>1</r><val>5</val></rate>", "<rate><r>1</r><val>1000</val></rate>"
    )
    path = tmp_path / "som.spn"
    path.write_text(text)
    r = span_margin({"AO:111": -1}, None, path)
    assert r.maintenance == 1012.0 and r.initial == 1262.0
    assert r.components["som_excess"] == 942.5
    assert _total(r) == r.initial


def test_som_methods(tmp_path: Path, span) -> None:  # type: ignore[no-untyped-def]
    """-2 calls 111 and -3 puts 112: max(2, 3) x 5 = 15 by default; GROSS: (2 + 3) x 5 = 25."""
    pos = {"AO:111": -2, "AO:112": -3}
    som = span_margin(pos, None, span).details["combined_commodities"][0]["short_option_minimum"]
    assert som == 15.0
    text = TWO_CC.read_text().replace(
        "<wfprMeth>1</wfprMeth>", "<wfprMeth>1</wfprMeth><somMeth>GROSS</somMeth>", 1
    )
    path = tmp_path / "gross.spn"
    path.write_text(text)
    assert span_margin(pos, None, path).details["combined_commodities"][0]["short_option_minimum"] == 25.0


def test_params_forms_and_options(span) -> None:  # type: ignore[no-untyped-def]
    a = span_margin({"AO:111": -5}, None, span)
    b = span_margin({"AO:111": -5}, None, str(TWO_CC))
    c = span_margin([("111", -2), ("AO:111", -3)], None, {"file": TWO_CC, "account_type": "SPEC"})
    assert a.initial == b.initial == c.initial
    forced = span_margin({"AO:111": -5}, None, span, initial_r=1)  # maintenance class for both
    assert forced.initial == forced.maintenance == 347.5
    with pytest.raises(ValueError, match="account type"):
        span_margin({"AO:111": -5}, None, span, account_type="HEDGE")
    with pytest.raises(ValueError, match="unknown SPAN option"):
        span_margin({"AO:111": -5}, None, span, colour="red")
    with pytest.raises(ValueError, match="needs params"):
        span_margin({"AO:111": -5}, None, None)
    assert span_margin({}, None, span).initial == 0.0


def test_book_with_mapping(span) -> None:  # type: ignore[no-untyped-def]
    import riskoffset as ro

    book = ro.Book.from_arrays(
        ["a", "a", "b"], ["BTC-27DEC24", "BTC-27DEC24-100000-C", "BTC-27DEC24"], [10.0, -5.0, 30.0]
    )
    mapping = {"BTC-27DEC24": ("AF:101", 0.1), "BTC-27DEC24-100000-C": "AO:111"}
    size = dict(zip(book.instruments.names.tolist(), book.instruments.contract_size.tolist()))
    res = span_margin(book, None, {"file": span, "mapping": mapping}, account="a")
    expect = span_margin(
        {"AF:101": 10.0 / size["BTC-27DEC24"] * 0.1, "AO:111": -5.0 / size["BTC-27DEC24-100000-C"]},
        None,
        span,
    )
    assert res.initial == pytest.approx(expect.initial, rel=1e-12)
    assert res.account == "a"
    both = span_margin(book, None, {"file": span, "mapping": mapping})
    assert [g.account for g in both.groups] == ["a", "b"]
    assert both.initial == pytest.approx(sum(g.initial for g in both.groups))
    assert both.maintenance == pytest.approx(sum(g.maintenance for g in both.groups))
    with pytest.raises(ValueError, match="mapping"):
        span_margin(book, None, span)
    with pytest.raises(ValueError, match="no entry"):
        span_margin(book, None, span, mapping={"BTC-27DEC24": "AF:101"})


# ---------------------------------------------------------------------------------------------- properties
POSITIONS = {"AF:101": 3, "AF:102": -2, "AO:111": -4, "AO:112": 6, "AO:113": 1, "BF:201": -5}


def test_permutation_and_splitting_invariance(span) -> None:  # type: ignore[no-untyped-def]
    base = span_margin(POSITIONS, None, span)
    items = list(POSITIONS.items())
    for perm in itertools.islice(itertools.permutations(items), 0, 720, 97):
        assert span_margin(list(perm), None, span).to_dict() == base.to_dict()
    split = [(k, q / 4) for k, q in items for _ in range(4)]
    assert span_margin(split, None, span).to_dict() == base.to_dict()
    assert _total(base) == pytest.approx(base.initial, abs=1e-9)


def test_long_and_short_same_contract_is_zero(span) -> None:  # type: ignore[no-untyped-def]
    r = span_margin(
        [(k, q) for k, q in POSITIONS.items()] + [(k, -q) for k, q in POSITIONS.items()], None, span
    )
    assert r.initial == 0.0 and r.maintenance == 0.0 and r.components["scan_risk"] == 0.0


@pytest.mark.parametrize("scale", [2.0, 3.0, 10.0])
def test_scan_risk_linear_in_scale(span, scale: float) -> None:  # type: ignore[no-untyped-def]
    base = span_margin(POSITIONS, None, span)
    scaled = span_margin({k: scale * q for k, q in POSITIONS.items()}, None, span)
    assert scaled.components["scan_risk"] == pytest.approx(scale * base.components["scan_risk"], rel=1e-12)
    assert scaled.maintenance == pytest.approx(scale * base.maintenance, rel=1e-12)


# ---------------------------------------------------------------------------------------------- bad files
def _write(tmp_path: Path, text: str, name: str = "bad.spn") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_truncated_file_names_the_line(tmp_path: Path) -> None:
    lines = TWO_CC.read_text().splitlines()
    p = _write(tmp_path, "\n".join(lines[:60]))
    with pytest.raises(SpanFileError, match=r"bad\.spn, line \d+: not well-formed XML") as err:
        parse_span(p)
    assert err.value.line is not None


def test_non_numeric_array_value_names_element_and_line(tmp_path: Path) -> None:
    text = TWO_CC.read_text()
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "<cId>112</cId>" in s) + 1
    bad = text.replace("<a>5</a><a>-4</a>", "<a>five</a><a>-4</a>", 1)
    with pytest.raises(SpanFileError, match=rf"line {line}: <a>: not a number: 'five'") as err:
        parse_span(_write(tmp_path, bad))
    assert err.value.element == "a" and err.value.line == line


def test_short_risk_array(tmp_path: Path) -> None:
    text = TWO_CC.read_text()
    bad = text.replace("<a>-30</a><a>-20</a>", "<a>-30</a>", 1).replace(
        "<a>-21</a><a>21</a>", "<a>-21</a>", 1
    )
    with pytest.raises(
        SpanFileError, match=r"line \d+: <ra>: risk array has 15 values, the file's arrays have 16"
    ):
        parse_span(_write(tmp_path, bad))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<o>P</o>", "<o>X</o>", r"<opt>: option 112: <o> must be C or P, got 'X'"),
        ("<pe>202702</pe>", "<pe>2027-02</pe>", r"<fut>: contract 102: period '2027-02' is not YYYYMM"),
        ("<rs>B</rs><i>3</i>", "<rs>Q</rs><i>3</i>", r"<tLeg>: <rs> must be A or B, got 'Q'"),
        ("<i>3</i>", "<i>0</i>", r"<tLeg>: <i> \(delta per spread\) must be > 0"),
        (
            "<fileFormat>4.00</fileFormat>",
            "<fileFormat>3.00</fileFormat>",
            r"fileFormat '3.00' is not supported",
        ),
        ("<cId>201</cId>", "", r"<fut>: missing <cId>"),
        ("<denominator>3</denominator>", "<denominator>0</denominator>", r"<priceScanDef>: denominator is 0"),
        ("<cId>201</cId>", "<cId>99999999999999999999</cId>", r"<fut>: <cId> is beyond the 64-bit integer range"),
    ],
)
def test_malformed_elements(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = TWO_CC.read_text()
    assert old in text
    with pytest.raises(SpanFileError, match=message):
        parse_span(_write(tmp_path, text.replace(old, new, 1)))


def test_not_a_span_file(tmp_path: Path) -> None:
    with pytest.raises(SpanFileError, match="not <spanFile>"):
        parse_span(_write(tmp_path, "<?xml version='1.0'?><portfolio><x>1</x></portfolio>"))
    with pytest.raises(SpanFileError, match="no <clearingOrg>"):
        parse_span(_write(tmp_path, "<spanFile><fileFormat>4.00</fileFormat><pointInTime><date>1</date>"
                                    "</pointInTime></spanFile>"))  # fmt: skip
    with pytest.raises(FileNotFoundError):
        parse_span(tmp_path / "missing.spn")


def test_unlinked_contract_and_unknown_charge_method(tmp_path: Path) -> None:
    text = TWO_CC.read_text()
    unlinked = text.replace("<pfLink><exch>TX</exch><pfId>3</pfId>", "<pfLink><exch>TX</exch><pfId>9</pfId>")
    with pytest.raises(ValueError, match="TX:BF:201 is not linked to any combined commodity"):
        span_margin({"BF:201": 1}, None, _write(tmp_path, unlinked, "u.spn"))
    unknown = text.replace(
        "<chargeMeth>F</chargeMeth><rate><r>1</r><val>40</val>",
        "<chargeMeth>Q</chargeMeth><rate><r>1</r><val>40</val>",
    )
    with pytest.raises(SpanFileError, match=r"line \d+: <dSpread>: <chargeMeth> must be F, P or W, got 'Q'"):
        parse_span(_write(tmp_path, unknown, "q.spn"))


# ---------------------------------------------------------------------------------------------- variants
def _variant(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    text = TWO_CC.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return _write(tmp_path, text, name)


def test_currency_conversion(tmp_path: Path) -> None:
    """BBB in EUR with curConv EUR -> USD 1.1; +2 AF, -9 BF as in test_inter_commodity_credit:
    AAA risk 104 USD; BBB risk 180 EUR = 198 USD -> maintenance 302 USD, initial 1.25 x 302 = 377.5.
    In EUR: 104 / 1.1 + 180."""
    path = _variant(
        tmp_path,
        "eur.spn",
        (
            "<cc>BBB</cc><name>Commodity B</name><currency>USD</currency>",
            "<cc>BBB</cc><name>Commodity B</name><currency>EUR</currency>",
        ),
        (
            "<daysPerYear>365</daysPerYear>",
            "<daysPerYear>365</daysPerYear><curConv><fromCur>EUR</fromCur><toCur>USD</toCur><factor>1.1</factor></curConv>",
        ),
    )
    pos = {"AF:101": 2, "BF:201": -9}
    with pytest.raises(ValueError, match="pass currency"):
        span_margin(pos, None, path)
    usd = span_margin(pos, None, path, currency="USD")
    assert usd.maintenance == pytest.approx(302.0, rel=1e-15) and usd.initial == pytest.approx(
        377.5, rel=1e-15
    )
    assert usd.initial_usd == usd.initial
    eur = span_margin(pos, None, path, currency="EUR")
    assert eur.maintenance == pytest.approx(104 / 1.1 + 180, rel=1e-15)
    assert eur.maintenance_usd == pytest.approx(302.0, rel=1e-15)
    with pytest.raises(ValueError, match="no <curConv> from USD to JPY"):
        span_margin(pos, None, path, currency="JPY")


def test_scan_tiers(tmp_path: Path) -> None:
    """Scan tiers 202701 and 202702..: +10 AF 202701 / -10 AF 202702 no longer offset in the scan:
    tier 1: L = 10 f -> 900 (scenario 13); tier 2: L = -10 f -> 900 -> scan 1,800; + intra 400 + spot 30."""
    tiers = (
        "<scanTiers><tier><tn>1</tn><sPe>202701</sPe><ePe>202701</ePe></tier>"
        "<tier><tn>2</tn><sPe>202702</sPe><ePe>202712</ePe></tier></scanTiers><intraTiers>"
    )
    path = _variant(tmp_path, "tiers.spn", ("<intraTiers>", tiers))
    r = span_margin({"AF:101": 10, "AF:102": -10}, None, path)
    assert r.components["scan_risk"] == 1800.0 and r.maintenance == 2230.0


def test_period_legs(tmp_path: Path) -> None:
    """The calendar spread given with pLeg (periods) instead of tLeg (tiers) gives the same 430."""
    path = _variant(
        tmp_path,
        "pleg.spn",
        (
            "<tLeg><cc>AAA</cc><tn>1</tn><rs>A</rs><i>1</i></tLeg>",
            "<pLeg><cc>AAA</cc><pe>202701</pe><rs>A</rs><i>1</i></pLeg>",
        ),
        (
            "<tLeg><cc>AAA</cc><tn>2</tn><rs>B</rs><i>1</i></tLeg>",
            "<pLeg><cc>AAA</cc><pe>202702</pe><rs>B</rs><i>1</i></pLeg>",
        ),
    )
    r = span_margin({"AF:101": 10, "AF:102": -10}, None, path)
    assert r.maintenance == 430.0 and r.components["spot_charge"] == 30.0


def test_apply_point_weights() -> None:
    """The arrays already carry the 35 % cover of the extreme scenarios; apply_point_weights=True
    multiplies again (for files whose arrays do not): scenario 15 of the long McMillan call 3,130 x 0.35."""
    f = parse_span(MCMILLAN)
    plain = span_margin({"SPC:2": -1}, None, f).details["combined_commodities"][0]["scenario_losses"]
    weighted = span_margin({"SPC:2": -1}, None, f, apply_point_weights=True)
    losses = weighted.details["combined_commodities"][0]["scenario_losses"]
    assert plain[14] == 3130.0 and losses[14] == pytest.approx(3130.0 * 0.35, rel=1e-15)
    assert losses[:14] == plain[:14]


def test_two_clearing_orgs(tmp_path: Path) -> None:
    """The clearing org repeated under ec TS2: contracts are told apart by EC:EXCH:PFCODE:CID, each org is
    margined on its own and the account total is the sum: 430 + 347.5 = 777.5; 537.5 + 419.375 = 956.875."""
    text = TWO_CC.read_text()
    block = text[text.index("    <clearingOrg>") : text.index("  </pointInTime>")]
    second = block.replace("<ec>TST</ec>", "<ec>TS2</ec>", 1)
    path = _write(tmp_path, text.replace(block, block + second, 1), "orgs.spn")
    f = parse_span(path)
    assert [o.ec for o in f.orgs] == ["TST", "TS2"] and len(f.contracts) == 12
    with pytest.raises(KeyError, match="ambiguous"):
        f.row("AO:111")
    r = span_margin({"TST:TX:AF:101": 10, "TST:TX:AF:102": -10, "TS2:TX:AO:111": -5}, None, f)
    assert r.maintenance == 777.5 and r.initial == 956.875


def _open_paths() -> set[str]:
    fds = Path("/proc/self/fd")
    out = set()
    for fd in fds.iterdir():
        try:
            out.add(os.readlink(fd))
        except OSError:
            continue
    return out


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to list open files")
@pytest.mark.parametrize("kind", ["semantic", "syntax"])
def test_error_path_closes_the_file(tmp_path: Path, kind: str) -> None:
    """A parse error part-way through a file given by path closes that file before the error reaches the
    caller, without waiting for the garbage collector (which on Python 3.9 finalises the handle in a
    reference cycle: a ResourceWarning, an error under -W error).  The cyclic collector is paused so
    that only deterministic closing counts."""
    import gc

    text = TWO_CC.read_text()
    if kind == "semantic":
        bad = text.replace("<a>5</a><a>-4</a>", "<a>five</a><a>-4</a>", 1)
    else:
        bad = "\n".join(text.splitlines()[:60])
    path = _write(tmp_path, bad)
    gc.collect()
    gc.disable()
    try:
        try:
            parse_span(path)
        except SpanFileError:
            pass
        else:
            raise AssertionError("parse_span accepted a broken file")
        still_open = str(path.resolve()) in _open_paths()
    finally:
        gc.enable()
        gc.collect()
    assert not still_open
