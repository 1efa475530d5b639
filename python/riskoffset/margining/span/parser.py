"""Streaming parser for SPAN XML risk-parameter files (``.spn``, fileFormat 4.00).

The element names are those of the SPAN XML layout docs/span.md describes.  The model it fills lives in riskoffset.margining.span.model.  The parser reads the file once with ``xml.etree.ElementTree.iterparse``
("end" events only) and clears every product family, series and contract as soon as it has been read,
so memory stays flat whatever the file size: contracts go into flat Python lists that become numpy
columns at the end (`SpanFile.contracts`), one row per contract, and risk arrays into one
``(rows, points)`` float matrix per rate class ``r`` (`ContractTable.arrays`).

What is read (everything the SPAN algorithm of `riskoffset.margining.span.algorithm` needs):

- ``spanFile``: fileFormat, created; ``pointInTime``: business date, isSetl, setlQualifier, time, run;
- per ``clearingOrg``: ec, name, capAnov, lookAheadDays/Years, daysPerYear, ``curConv``, ``pbRateDef``,
  ``pointDef`` (``scanPointDef`` / ``deltaPointDef``: priceScanDef and volScanDef mult x numerator /
  denominator, weight, pairedPoint), ``superSpreads`` and ``interSpreads`` (``dSpread``, and the
  scanning-based ``sSpread``: spread, rate, ``sLeg``: cc, isTarget, isRequired);
- per ``exchange``: the product families ``futPf``, ``phyPf``, ``fwdPf``, ``oofPf``, ``oopPf``, ``ooePf``,
  ``oocPf`` (pfId, pfCode, name, currency, cvf, valueMeth) and their contracts ``fut`` / ``phy`` / ``fwd``
  and ``series``/``opt`` (cId, pe, o, k, p, d, cvf, ``scanRate`` priceScan, ``ra``: r, 16 ``a``, ``d``);
- ``ccDef``: cc, name, currency, capAnov, wfprMeth, spotMeth, somMeth, ``pfLink`` (exch, pfId),
  ``adjRate``, ``scanTiers`` / ``intraTiers`` / ``interTiers`` / ``somTiers`` (tier: tn, sPe, ePe, rate),
  ``dSpread`` (spread, chargeMeth, rate, pmpsRate, ``tLeg`` / ``pLeg``: cc, tn | pe, rs, i), ``spotRate``
  (r, pe, sprd, outr), own ``pointDef``.

Malformed files raise `SpanFileError` (a ValueError) naming the element and its line.  Well-formedness
errors come from the XML parser with their position; semantic errors (a risk array with a non-numeric
value, a contract without cId, a tier without tn, ...) are located by a second, error-path-only scan that
finds the n-th occurrence of the offending element.

Why one module of ~660 lines: one streaming pass (`_Builder`) whose element handlers share its state; the
model it fills is in riskoffset.margining.span.model.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from array import array
from collections.abc import Iterator
from typing import IO, Any, Union, cast

import numpy as np

from ... import progress
from ..._types import FloatArray
from .model import (
    KIND_FORWARD,
    KIND_FUTURE,
    KIND_OPTION,
    KIND_PHYSICAL,
    ClearingOrg,
    CombinedCommodity,
    ContractTable,
    DeltaSpread,
    Leg,
    PbRateDef,
    PointDef,
    ProductFamily,
    ScanLeg,
    ScanPoint,
    ScanSpread,
    SpanFile,
    SpanFileError,
    SpotRate,
    Tier,
    normalise_period,
)

PathLike = Union[str, "os.PathLike[str]"]

_NONOPTION_PF = {"futPf": KIND_FUTURE, "phyPf": KIND_PHYSICAL, "fwdPf": KIND_FORWARD}
_OPTION_PF = {"oofPf", "oopPf", "ooePf", "oocPf"}
_CONTRACT_TAGS = {"fut": KIND_FUTURE, "phy": KIND_PHYSICAL, "fwd": KIND_FORWARD}
#: Tags whose end event the pass acts on (every other end event is skipped with one set lookup).
_HANDLED = frozenset(
    {"opt", "series", "exchange", "ccDef", "clearingOrg", "fileFormat", "created", "spanVersion"}
    | {"pointInTime", "currencyDef", "spanFile"}
    | set(_CONTRACT_TAGS)
    | set(_NONOPTION_PF)
    | _OPTION_PF
)


def _fraction_text(mult: float, num: float, den: float) -> str:
    if den == 1 and num == 1:
        return f"{mult:+g}"
    sign = "+" if mult * num >= 0 else "-"
    return f"{sign}{abs(mult * num):g}/{den:g}"


class _Semantic(Exception):
    """Raised inside the pass; converted to SpanFileError with the element's line."""

    def __init__(self, message: str, tag: str, elem: ET.Element | None = None):
        super().__init__(message)
        self.message = message
        self.tag = tag
        self.elem = elem


def _text(elem: ET.Element, child: str, default: str | None = None) -> str:
    c = elem.find(child)
    if c is None or c.text is None:
        if default is not None:
            return default
        raise _Semantic(f"missing <{child}>", elem.tag, elem)
    return c.text.strip()


def _num(elem: ET.Element, child: str, default: float | None = None) -> float:
    c = elem.find(child)
    if c is None or c.text is None or not c.text.strip():
        if default is not None:
            return default
        raise _Semantic(f"missing <{child}>", elem.tag, elem)
    try:
        value = float(c.text)
    except ValueError:
        raise _Semantic(f"<{child}> is not a number: {c.text.strip()!r}", elem.tag, elem) from None
    if not math.isfinite(value):  # a NaN or infinite rate would turn into a non-finite margin
        raise _Semantic(f"<{child}> is not a finite number: {c.text.strip()!r}", elem.tag, elem)
    return value


def _int(elem: ET.Element, child: str, default: int | None = None) -> int:
    c = elem.find(child)
    try:  # (digits read exactly: through a float, ids past 2^53 would round)
        value = int(c.text) if c is not None and c.text is not None else None
    except ValueError:
        value = None
    if value is None:
        number = _num(elem, child, None if default is None else float(default))
        if number != int(number):
            raise _Semantic(f"<{child}> is not an integer: {number!r}", elem.tag, elem)
        value = int(number)
    if not -(2**63) <= value < 2**63:  # (ids and counts are stored as 64-bit integers)
        raise _Semantic(f"<{child}> is beyond the 64-bit integer range: {value!r}", elem.tag, elem)
    return value


def _bool(elem: ET.Element, child: str) -> bool | None:
    c = elem.find(child)
    if c is None or c.text is None:
        return None
    t = c.text.strip().lower()
    if t in ("1", "true", "y", "yes"):
        return True
    if t in ("0", "false", "n", "no"):
        return False
    raise _Semantic(f"<{child}> is not a boolean: {c.text.strip()!r}", elem.tag, elem)


def _rates(elem: ET.Element, tag: str = "rate") -> dict[int, float]:
    out: dict[int, float] = {}
    for rate in elem.findall(tag):
        out[_int(rate, "r")] = _num(rate, "val")
    return out


def _scan_def(elem: ET.Element, child: str) -> tuple[float, str]:
    d = elem.find(child)
    if d is None:
        raise _Semantic(f"missing <{child}>", elem.tag, elem)
    mult = _num(d, "mult")
    num = _num(d, "numerator", 1.0)
    den = _num(d, "denominator", 1.0)
    if den == 0:
        raise _Semantic("denominator is 0", child, d)
    return mult * num / den, _fraction_text(mult, num, den)


def _point_def(elem: ET.Element) -> PointDef:
    def points(tag: str, paired: bool) -> tuple[ScanPoint, ...]:
        out = []
        for sp in elem.findall(tag):
            price, ptxt = _scan_def(sp, "priceScanDef")
            vol, vtxt = _scan_def(sp, "volScanDef")
            out.append(
                ScanPoint(
                    point=_int(sp, "point"),
                    price=price,
                    vol=vol,
                    weight=_num(sp, "weight", 1.0),
                    paired=_int(sp, "pairedPoint", 0) if paired else 0,
                    price_text=ptxt,
                    vol_text=vtxt,
                )
            )
        return tuple(sorted(out, key=lambda p: p.point))

    scan = points("scanPointDef", True)
    if not scan:
        raise _Semantic("pointDef without scanPointDef", "pointDef", elem)
    numbers = [p.point for p in scan]
    if numbers != list(range(1, len(numbers) + 1)):
        raise _Semantic(f"scan points must be numbered 1..n, got {numbers}", "pointDef", elem)
    return PointDef(r=_int(elem, "r", 1), scan_points=scan, delta_points=points("deltaPointDef", False))


def _tiers(elem: ET.Element | None) -> tuple[Tier, ...]:
    if elem is None:
        return ()
    out = []
    for t in elem.findall("tier"):
        tn = _text(t, "tn")
        try:
            start = normalise_period(_text(t, "sPe", ""))
            end = normalise_period(_text(t, "ePe", ""), end=True)
        except ValueError as exc:
            raise _Semantic(str(exc), "tier", t) from None
        out.append(Tier(tn=tn, start=start, end=end, rates=_rates(t)))
    return tuple(out)


def _spread(elem: ET.Element, default_cc: str) -> DeltaSpread:
    legs = []
    for leg in elem:
        if leg.tag not in ("tLeg", "pLeg"):
            continue
        side = _text(leg, "rs").upper()
        if side not in ("A", "B"):
            raise _Semantic(f"<rs> must be A or B, got {side!r}", leg.tag, leg)
        ratio = _num(leg, "i")
        if not ratio > 0:
            raise _Semantic(f"<i> (delta per spread) must be > 0, got {ratio!r}", leg.tag, leg)
        cc = _text(leg, "cc", default_cc)
        if leg.tag == "tLeg":
            legs.append(
                Leg(cc=cc, tier=_text(leg, "tn"), period="", side=side, ratio=ratio, rates=_rates(leg))
            )
        else:
            try:
                period = normalise_period(_text(leg, "pe"))
            except ValueError as exc:
                raise _Semantic(str(exc), "pLeg", leg) from None
            legs.append(Leg(cc=cc, tier="", period=period, side=side, ratio=ratio, rates=_rates(leg)))
    if len(legs) < 2:
        raise _Semantic("a delta spread needs at least two legs", "dSpread", elem)
    pmps: dict[int, tuple[float, float, float]] = {}
    for p in elem.findall("pmpsRate"):
        pmps[_int(p, "r")] = (_num(p, "val", 0.0), _num(p, "pmRate", 0.0), _num(p, "psRate", 0.0))
    meth = _text(elem, "chargeMeth", "F").upper()
    if meth not in ("F", "P", "W"):
        raise _Semantic(f"<chargeMeth> must be F, P or W, got {meth!r}", "dSpread", elem)
    return DeltaSpread(
        priority=_int(elem, "spread"),
        charge_meth=meth,
        rates=_rates(elem),
        pmps=pmps,
        legs=tuple(legs),
        spread_type=_text(elem, "spreadType", ""),
    )


def _scan_spread(elem: ET.Element) -> ScanSpread:
    legs = []
    for leg in elem.findall("sLeg"):
        required = _bool(leg, "isRequired")
        legs.append(ScanLeg(cc=_text(leg, "cc"), is_target=bool(_bool(leg, "isTarget")),
                            is_required=True if required is None else required))  # fmt: skip
    if len(legs) < 2:
        raise _Semantic("a scanning spread needs at least two legs", "sSpread", elem)
    targets = [leg.cc for leg in legs if leg.is_target]
    if len(targets) != 1:
        raise _Semantic(f"a scanning spread needs exactly one target leg, got {len(targets)}", "sSpread", elem)
    rates = _rates(elem)
    for r, v in rates.items():
        if not 0.0 <= v <= 100.0:
            raise _Semantic(f"<rate> for r={r} must be a fraction or a percentage, got {v!r}", "sSpread", elem)
    return ScanSpread(priority=_int(elem, "spread"), rates=rates, legs=tuple(legs),
                      per_point=elem.find("sPointDef") is not None)  # fmt: skip


def _spread_block(block: ET.Element | None) -> tuple[DeltaSpread | ScanSpread, ...]:
    """The delta and scanning spreads of a superSpreads / interSpreads block, in priority order."""
    if block is None:
        return ()
    out: list[DeltaSpread | ScanSpread] = []
    for child in block:
        if child.tag == "dSpread":
            out.append(_spread(child, ""))
        elif child.tag == "sSpread":
            out.append(_scan_spread(child))
    return tuple(sorted(out, key=lambda s: s.priority))


def _cc_def(elem: ET.Element, org: int) -> CombinedCommodity:
    cc = _text(elem, "cc")
    links = tuple((_text(pl, "exch"), _int(pl, "pfId")) for pl in elem.findall("pfLink"))
    adj = tuple((_int(a, "r"), _int(a, "baseR"), _num(a, "val")) for a in elem.findall("adjRate"))
    spot = []
    for s in elem.findall("spotRate"):
        try:
            period = normalise_period(_text(s, "pe"))
        except ValueError as exc:
            raise _Semantic(str(exc), "spotRate", s) from None
        spot.append(
            SpotRate(r=_int(s, "r"), period=period, sprd=_num(s, "sprd", 0.0), outr=_num(s, "outr", 0.0))
        )
    pds = {}
    for pd in elem.findall("pointDef"):
        p = _point_def(pd)
        pds[p.r] = p
    return CombinedCommodity(
        org=org,
        cc=cc,
        name=_text(elem, "name", ""),
        currency=_text(elem, "currency", ""),
        cap_anov=_bool(elem, "capAnov"),
        wfpr_meth=_text(elem, "wfprMeth", "1"),
        spot_meth=_text(elem, "spotMeth", ""),
        som_meth=_text(elem, "somMeth", ""),
        pf_links=links,
        adj_rates=adj,
        scan_tiers=_tiers(elem.find("scanTiers")),
        intra_tiers=_tiers(elem.find("intraTiers")),
        inter_tiers=_tiers(elem.find("interTiers")),
        som_tiers=_tiers(elem.find("somTiers")),
        spreads=tuple(sorted((_spread(d, cc) for d in elem.findall("dSpread")), key=lambda s: s.priority)),
        spot_rates=tuple(spot),
        point_defs=pds,
    )


# ---------------------------------------------------------------------------------------------- the pass
class _Builder:
    def __init__(self) -> None:
        # Columns as typed arrays (8 bytes a number, not a Python float object): memory stays near the
        # size of the final numpy columns whatever the file size.
        self.cid = array("q")
        self.pf = array("q")
        self.kind = array("b")
        self.pe: list[str] = []
        self.periods: dict[str, str] = {}  # interned normalised periods
        self.option: list[str] = []
        self.strike = array("d")
        self.price = array("d")
        self.delta = array("d")
        self.cvf = array("d")
        self.cvf_given = array("b")
        self.price_scan = array("d")
        # risk arrays: rate class -> (rows, flat values, composite deltas)
        self.ra: dict[int, tuple[array[int], array[float], array[float]]] = {}
        self.n_points = 0
        self.contracts_at_series = 0
        self.series_pe = ""
        self.series_cvf: float | None = None
        self.contracts_at_pf = 0
        self.pfs: list[ProductFamily] = []
        self.pfs_at_exchange = 0
        self.pf_exch: list[str] = []
        self.orgs: list[ClearingOrg] = []
        self.ccs: list[CombinedCommodity] = []
        self.pfs_at_org = 0
        self.ccs_at_org = 0

    # contract rows ------------------------------------------------------------------------------------
    def contract(self, elem: ET.Element, kind: int) -> None:
        row = len(self.cid)
        cid = _int(elem, "cId")
        price = delta = math.nan
        cvf = math.nan
        strike = math.nan
        option = ""
        pe = ""
        price_scan = math.nan
        for child in elem:
            tag = child.tag
            if tag == "ra":
                self.risk_array(child, row)
            elif tag == "p":
                price = _float(child)
            elif tag == "d":
                delta = _float(child)
            elif tag == "cvf":
                cvf = _float(child)
            elif tag == "pe":
                pe = (child.text or "").strip()
            elif tag == "k":
                strike = _float(child)
            elif tag == "o":
                option = (child.text or "").strip().upper()[:1]
            elif tag == "scanRate" and math.isnan(price_scan):
                ps = child.find("priceScan")
                if ps is not None and ps.text:
                    price_scan = _float(ps)
        if kind == KIND_OPTION:
            if option not in ("C", "P"):
                raise _Semantic(f"option {cid}: <o> must be C or P, got {option!r}", "opt", elem)
            if math.isnan(strike):
                raise _Semantic(f"option {cid}: missing <k>", "opt", elem)
            pe = self.series_pe
            if math.isnan(cvf) and self.series_cvf is not None:
                cvf = self.series_cvf
        pe_norm = self.periods.get(pe)
        if pe_norm is None:
            try:
                pe_norm = self.periods[pe] = normalise_period(pe) if pe else ""
            except ValueError as exc:
                raise _Semantic(f"contract {cid}: {exc}", elem.tag, elem) from None
        self.cid.append(cid)
        self.kind.append(kind)
        self.pe.append(pe_norm)
        self.option.append(option)
        self.strike.append(strike)
        self.price.append(price)
        self.delta.append(delta)
        self.cvf_given.append(not math.isnan(cvf))
        self.cvf.append(cvf)
        self.price_scan.append(price_scan)

    def risk_array(self, elem: ET.Element, row: int) -> None:
        try:
            values = [float(c.text) for c in elem if c.tag == "a"]  # type: ignore[arg-type]
        except (TypeError, ValueError):
            for c in elem:
                if c.tag == "a":
                    _float(c)  # raises, naming the value
            raise
        if not all(map(math.isfinite, values)):  # a NaN or infinite loss would make the margin non-finite
            for c in elem:
                if c.tag == "a":
                    _float(c)
        r_elem = elem.find("r")
        r = 1 if r_elem is None else int(_float(r_elem))
        d_elem = elem.find("d")
        comp = math.nan if d_elem is None else _float(d_elem)
        if not values:
            raise _Semantic("risk array without <a> values", "ra", elem)
        if self.n_points == 0:
            self.n_points = len(values)
        elif len(values) != self.n_points:
            raise _Semantic(
                f"risk array has {len(values)} values, the file's arrays have {self.n_points}", "ra", elem
            )
        entry = self.ra.get(r)
        if entry is None:
            entry = self.ra[r] = (array("q"), array("d"), array("d"))
        rows, flat, comps = entry
        rows.append(row)
        flat.extend(values)
        comps.append(comp)

    def end_series(self, elem: ET.Element) -> None:
        pe = _text(elem, "pe")
        try:
            pe_norm = normalise_period(pe)
        except ValueError as exc:
            raise _Semantic(str(exc), "series", elem) from None
        cvf_elem = elem.find("cvf")
        cvf = _float(cvf_elem) if cvf_elem is not None and cvf_elem.text else math.nan
        for row in range(self.contracts_at_series, len(self.cid)):
            self.pe[row] = pe_norm
            if not self.cvf_given[row] and not math.isnan(cvf):
                self.cvf[row] = cvf
                self.cvf_given[row] = True
        self.contracts_at_series = len(self.cid)

    def end_pf(self, elem: ET.Element, org: int) -> None:
        pf_index = len(self.pfs)
        cvf = _num(elem, "cvf", 1.0)
        self.pfs.append(
            ProductFamily(
                org=org,
                exch="",  # set at the end of the exchange
                pf_id=_int(elem, "pfId"),
                pf_code=_text(elem, "pfCode", ""),
                kind=elem.tag,
                currency=_text(elem, "currency", ""),
                cvf=cvf,
                value_meth=_text(elem, "valueMeth", ""),
                name=_text(elem, "name", ""),
            )
        )
        for row in range(self.contracts_at_pf, len(self.cid)):
            self.pf.append(pf_index)
            if not self.cvf_given[row]:
                self.cvf[row] = cvf
        self.contracts_at_pf = len(self.cid)
        self.contracts_at_series = len(self.cid)

    def end_exchange(self, elem: ET.Element) -> None:
        exch = _text(elem, "exch")
        for i in range(self.pfs_at_exchange, len(self.pfs)):
            p = self.pfs[i]
            self.pfs[i] = ProductFamily(
                org=p.org, exch=exch, pf_id=p.pf_id, pf_code=p.pf_code, kind=p.kind, currency=p.currency,
                cvf=p.cvf, value_meth=p.value_meth, name=p.name,
            )  # fmt: skip
        self.pfs_at_exchange = len(self.pfs)

    def end_org(self, elem: ET.Element) -> None:
        org_index = len(self.orgs)
        conv: dict[tuple[str, str], float] = {}
        for c in elem.findall("curConv"):
            conv[(_text(c, "fromCur"), _text(c, "toCur"))] = _num(c, "factor")
        pb = tuple(
            PbRateDef(
                r=_int(p, "r"),
                is_cust=bool(_bool(p, "isCust")),
                acct_type=_text(p, "acctType", ""),
                is_m=bool(_bool(p, "isM")),
                pbc=_text(p, "pbc", ""),
            )
            for p in elem.findall("pbRateDef")
        )
        pds: dict[int, PointDef] = {}
        for pd_elem in elem.findall("pointDef"):
            pdef = _point_def(pd_elem)
            pds[pdef.r] = pdef
        inter = _spread_block(elem.find("interSpreads"))
        super_spreads = _spread_block(elem.find("superSpreads"))
        combined = {}
        for cc in self.ccs[self.ccs_at_org :]:
            if cc.cc in combined:
                raise _Semantic(f"combined commodity {cc.cc!r} is defined twice", "ccDef", None)
            combined[cc.cc] = cc
        self.ccs_at_org = len(self.ccs)
        for cc in combined.values():
            cc.org = org_index
        for i in range(self.pfs_at_org, len(self.pfs)):
            p = self.pfs[i]
            if p.org != org_index:
                self.pfs[i] = ProductFamily(
                    org=org_index, exch=p.exch, pf_id=p.pf_id, pf_code=p.pf_code, kind=p.kind,
                    currency=p.currency, cvf=p.cvf, value_meth=p.value_meth, name=p.name,
                )  # fmt: skip
        self.pfs_at_org = len(self.pfs)
        look = elem.find("lookAheadDays")
        dpy = elem.find("daysPerYear")
        self.orgs.append(
            ClearingOrg(
                ec=_text(elem, "ec"),
                name=_text(elem, "name", ""),
                cap_anov=bool(_bool(elem, "capAnov")),
                look_ahead_days=_float(look) if look is not None and look.text else None,
                days_per_year=_float(dpy) if dpy is not None and dpy.text else None,
                cur_conv=conv,
                pb_rates=pb,
                point_defs=pds,
                combined=combined,
                inter_spreads=inter,
                super_spreads=super_spreads,
            )
        )

    def table(self) -> ContractTable:
        n = len(self.cid)
        if len(self.pf) != n:
            raise _Semantic("contracts outside a product family", "spanFile", None)
        arrays: dict[int, FloatArray] = {}
        composite: dict[int, FloatArray] = {}
        for r, (rows, flat, comps) in self.ra.items():
            m = np.full((n, self.n_points), math.nan)
            d = np.full(n, math.nan)
            idx = np.frombuffer(rows, dtype=np.int64)
            m[idx] = np.frombuffer(flat, dtype=np.float64).reshape(len(rows), self.n_points)
            d[idx] = np.frombuffer(comps, dtype=np.float64)
            arrays[r] = m
            composite[r] = d
        return ContractTable(
            cid=np.frombuffer(self.cid, dtype=np.int64).copy(),
            pf=np.frombuffer(self.pf, dtype=np.int64).copy(),
            kind=np.frombuffer(self.kind, dtype=np.int8).copy(),
            pe=np.asarray(self.pe, dtype=str) if n else np.zeros(0, dtype="<U8"),
            option=np.asarray(self.option, dtype=str) if n else np.zeros(0, dtype="<U1"),
            strike=np.frombuffer(self.strike, dtype=np.float64).copy(),
            price=np.frombuffer(self.price, dtype=np.float64).copy(),
            delta=np.frombuffer(self.delta, dtype=np.float64).copy(),
            cvf=np.frombuffer(self.cvf, dtype=np.float64).copy(),
            price_scan=np.frombuffer(self.price_scan, dtype=np.float64).copy(),
            arrays=arrays,
            composite=composite,
        )


def _float(elem: ET.Element) -> float:
    try:
        value = float(elem.text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _Semantic(f"not a number: {(elem.text or '').strip()!r}", elem.tag, elem) from None
    if not math.isfinite(value):
        raise _Semantic(f"not a finite number: {(elem.text or '').strip()!r}", elem.tag, elem)
    return value


def _iterparse_events(source: Any) -> Iterator[tuple[str, ET.Element]]:
    return ET.iterparse(source, events=("end",))


def _line_events(fh: IO[bytes]) -> Iterator[tuple[str, ET.Element]]:
    """The same "end" events as iterparse, from expat, with each element's start line in its ``_line``
    attribute (used only to locate an error once the fast pass has found one)."""
    import xml.parsers.expat

    parser = xml.parsers.expat.ParserCreate()
    builder = ET.TreeBuilder()
    pending: list[tuple[str, ET.Element]] = []
    parser.StartElementHandler = lambda name, attrs: builder.start(
        name, {**attrs, "_line": str(parser.CurrentLineNumber)}
    )
    parser.EndElementHandler = lambda name: pending.append(("end", builder.end(name)))
    parser.CharacterDataHandler = builder.data
    fh.seek(0)  # the caller owns (and closes) the file
    while True:
        chunk = fh.read(1 << 16)
        parser.Parse(chunk, not chunk)
        yield from pending
        pending.clear()
        if not chunk:
            break


def parse_span(source: PathLike | IO[bytes]) -> SpanFile:
    """Parse a SPAN XML risk-parameter file (path or binary file object) into a `SpanFile`.

    Raises SpanFileError (a ValueError) naming the element and the line for malformed files, and
    FileNotFoundError for a missing path."""
    if isinstance(source, (str, os.PathLike)):
        # Opened here, not by iterparse: an error part-way through the file must not leave the handle to
        # the garbage collector (a ResourceWarning, an error under -W error).
        with open(source, "rb") as fh:
            if not progress.is_enabled():
                return _parse(fh, str(source))
            with progress.bar("reading SPAN file", os.path.getsize(source), "B", scale=True) as shown:
                return _parse(cast(IO[bytes], progress.ReadCounter(fh, shown)), str(source))
    return _parse(source, str(getattr(source, "name", "")))


class _Prolog:
    """A byte stream whose prolog (what precedes the root element) is checked for a DOCTYPE first: a SPAN
    file declares no entities, so entity expansion and external entities are refused outright."""

    def __init__(self, raw: IO[bytes], name: str):
        self._raw = raw
        head = raw.read(1 << 16)
        if not isinstance(head, bytes):
            raise TypeError(f"a SPAN file is read as bytes, got {type(head).__name__} from the stream")
        upper = head.upper()
        if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
            raise SpanFileError("a DOCTYPE or entity declaration is not allowed in a SPAN file", source=name)
        if len(head) == 1 << 16 and not _ROOT_START.search(head):
            raise SpanFileError("no element in the first 64 kB: not a SPAN file", source=name)
        self._head = head

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._raw.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._raw.read(size)


_ROOT_START = re.compile(rb"<[A-Za-z_]")


def _parse(fh: IO[bytes], name: str) -> SpanFile:
    try:
        return _run(_iterparse_events(cast(IO[bytes], _Prolog(fh, name))), name)
    except ET.ParseError as exc:
        raise SpanFileError(f"not well-formed XML ({exc})", line=exc.position[0], source=name) from None
    except _Semantic as first:
        error, line = _relocate(fh, name, first)
        raise SpanFileError(error.message, element=error.tag, line=line, source=name) from None


def _relocate(fh: IO[bytes], name: str, first: _Semantic) -> tuple[_Semantic, int | None]:
    """Run the pass again with line numbers (error path only) to find where ``first`` happened."""
    if not getattr(fh, "seekable", lambda: False)():
        return first, None
    try:
        _run(_line_events(fh), name)
    except _Semantic as again:
        line = again.elem.get("_line") if again.elem is not None else None
        return again, int(line) if line else None
    except Exception:  # noqa: BLE001 - best effort: keep the first message
        return first, None
    return first, None


def _run(events: Iterator[tuple[str, ET.Element]], name: str) -> SpanFile:
    b = _Builder()
    header: dict[str, str] = {}
    root_tag = None
    interesting = _HANDLED
    elem = None
    for _event, elem in events:
        tag = elem.tag
        if tag not in interesting:
            continue
        if tag == "opt":
            b.contract(elem, KIND_OPTION)
            elem.clear()
        elif tag in _CONTRACT_TAGS:
            b.contract(elem, _CONTRACT_TAGS[tag])
            elem.clear()
        elif tag == "series":
            b.end_series(elem)
            elem.clear()
        elif tag in _NONOPTION_PF or tag in _OPTION_PF:
            b.end_pf(elem, len(b.orgs))
            elem.clear()
        elif tag == "exchange":
            b.end_exchange(elem)
            elem.clear()
        elif tag == "ccDef":
            b.ccs.append(_cc_def(elem, len(b.orgs)))
            elem.clear()
        elif tag == "clearingOrg":
            b.end_org(elem)
            elem.clear()
        elif tag in ("fileFormat", "created", "spanVersion"):
            header[tag] = (elem.text or "").strip()
        elif tag == "pointInTime":
            for child in ("date", "isSetl", "setlQualifier", "time", "run"):
                c = elem.find(child)
                if c is not None and c.text:
                    header[child] = c.text.strip()
            elem.clear()
        elif tag == "currencyDef":
            header["currencies"] = header.get("currencies", "") + _text(elem, "currency", "") + " "
    if elem is not None:
        root_tag = elem.tag  # the last element to end is the root
    if root_tag != "spanFile":
        raise _Semantic(
            f"the root element is <{root_tag}>, not <spanFile> (not a SPAN XML risk-parameter file)",
            "spanFile",
        )
    fmt = header.get("fileFormat", "")
    if fmt and not fmt.startswith("4."):
        raise _Semantic(f"fileFormat {fmt!r} is not supported (4.00 expected)", "fileFormat")
    if not b.orgs:
        raise _Semantic("no <clearingOrg> in the file", "pointInTime")
    contracts = b.table()
    setl = header.get("isSetl")
    return SpanFile(
        source=name,
        file_format=fmt,
        created=header.get("created", ""),
        business_date=header.get("date", ""),
        is_settlement=None if setl is None else setl.lower() in ("1", "true", "y"),
        settlement_qualifier=header.get("setlQualifier", ""),
        time=header.get("time", ""),
        run=header.get("run", ""),
        currencies=tuple(header.get("currencies", "").split()),
        orgs=b.orgs,
        product_families=b.pfs,
        contracts=contracts,
    )
