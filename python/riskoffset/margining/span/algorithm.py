"""CME SPAN ("classic" SPAN, XML risk-parameter files) for one account (see docs/span.md).

Per clearing organisation and performance-bond rate class ``r`` (maintenance and initial), per combined
commodity (CC):

1. scan risk: ``L_j = sum_p n_p a_p[j]`` over the CC's positions (per scan tier if the CC has scanTiers,
   summed over tiers), ``scan = max(0, max_j L_j)``; the risk arrays already include the extreme-move
   cover fraction (a SPAN calculator takes them as they are), so pointDef weights are used for the
   description only unless ``apply_point_weights=True``;
2. tier deltas ``sum n_p d_p`` with the composite delta stored in each risk array (the contract's own
   ``d`` if the array has none, 1 for futures);
3. super-intercommodity spreads (``superSpreads``), then intra-commodity spreads (``ccDef/dSpread``), in
   priority order: legs on intra tiers (tLeg) or periods (pLeg); a spread forms when all A legs have one delta
   sign and all B legs the other; ``N = min |delta_leg| / i_leg``; each leg's delta moves ``N i_leg`` toward
   zero; the charge by ``chargeMeth``: F ``N x rate``, P ``N x (val + psRate + pmRate x months between the
   legs)``, W ``rate x N x sum i_leg x WFPR`` (see 5; for an intra spread WFPR is the futures price scan range);
4. spot (delivery) month charge: ``sprd`` per spot-month delta consumed by spreads, ``outr`` per
   remaining spot-month delta (consumption is taken from the spot month's pLeg or intra tier);
5. inter-commodity spreads (``interSpreads``) on the deltas remaining after 3, priority order; W:
   ``credit_leg = rate x N x i_leg x WFPR_leg`` with ``WFPR = PR / |delta of the tier|``, price risk
   ``PR = max(scan - TR - VR, 0)``, time risk ``TR = mean L_j over the scenarios with no price move``,
   volatility risk ``VR = |L_j* - L_pair(j*)| / 2`` (wfprMeth 2 / SCANRANGE_CAP caps WFPR at the futures price
   scan range, 3 / SCANRANGE sets it to that range); F and P: a charge shared equally by the legs' CCs;
   scanning spreads (``sSpread``, also allowed in 3): the legs' scenario losses scanned together in the target
   CC, other legs' gains counted at the rate, each leg credited the scan risk it gives up;
6. short option minimum: per somTiers tier, rate x short option contracts (somMeth GROSS) or rate x the
   larger of short calls and short puts (any other somMeth);
7. ``risk = max(scan + intra + spot - inter, SOM)``;
8. net option value ``NOV = sum n p cvf`` over premium-style options; requirement ``risk - NOV``, floored
   at 0 per CC when capAnov is set (for the CC, else the clearing org), the account total floored at 0;
9. initial vs maintenance: the pbRateDef classes (isM) of the account type; a CC's ``adjRate`` (r, baseR,
   val) makes class r = val x class baseR (e.g. initial = 1.1 x maintenance).

Amounts are converted to the result currency with the clearing org's curConv factors.  What is
calibrated: scan risk reproduces a hand-worked set of risk arrays, the weighted-price inter credit and the flat
intra charge reproduce the worked examples docs/span.md gives with their numbers.  Candidates, labelled so in a result
where they contribute: P and W intra charges, F and P inter charges, super and scanning spreads; spot
charges, the SOM method choice and cross-CC use of NOV.  Per-point scanning-spread aggregation (sPointDef) and
volatility offsets (DELTAVOL) raise ValueError when such a spread forms.

The intra- and inter-commodity spreads live in riskoffset.margining.span.spreads; this module runs the steps in order on
one account: per-CC scan and deltas, spreads, SOM and NOV, then the assembly across CCs, classes and currencies.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..._types import FloatArray, IntArray
from ..result import Calibration, MarginResult, WorstScenario
from .model import (
    KIND_FUTURE,
    KIND_OPTION,
    ClearingOrg,
    CombinedCommodity,
    PointDef,
    ScanPoint,
    ScanSpread,
    SpanFile,
)
from .parser import parse_span
from .spreads import (
    CCResult,
    CCWork,
    delta_spread,
    inter_spread,
    period_match,
    rate_for,
    scanning_spread,
    tier_of,
)

COMPONENTS: tuple[str, ...] = (
    "scan_risk",
    "intra_spread_charge",
    "spot_charge",
    "inter_spread_credit",
    "som_excess",
    "initial_adjustment",
    "net_option_value",
    "floor_adjustment",
)
CALIBRATION: dict[str, Calibration] = {
    "scan_risk": "calibrated",  # reproduces a hand-worked set of risk arrays (docs/span.md)
    "intra_spread_charge": "exact",  # flat-rate rule, file-driven
    "spot_charge": "candidate",
    "inter_spread_credit": "calibrated",  # weighted-price delta spreads: the worked example of docs/span.md
    "som_excess": "exact",
    "initial_adjustment": "exact",
    "net_option_value": "candidate",  # cross-CC use of NOV
    "floor_adjustment": "exact",
}

_STANDARD_POINTS = tuple(
    ScanPoint(
        point=i + 1,
        price=p,
        vol=v,
        weight=w,
        paired=pair,
        price_text=pt,
        vol_text=vt,
    )
    for i, (p, v, w, pair, pt, vt) in enumerate(
        [
            (0.0, 1.0, 1.0, 2, "0", "+1"), (0.0, -1.0, 1.0, 1, "0", "-1"),
            (1 / 3, 1.0, 1.0, 4, "+1/3", "+1"), (1 / 3, -1.0, 1.0, 3, "+1/3", "-1"),
            (-1 / 3, 1.0, 1.0, 6, "-1/3", "+1"), (-1 / 3, -1.0, 1.0, 5, "-1/3", "-1"),
            (2 / 3, 1.0, 1.0, 8, "+2/3", "+1"), (2 / 3, -1.0, 1.0, 7, "+2/3", "-1"),
            (-2 / 3, 1.0, 1.0, 10, "-2/3", "+1"), (-2 / 3, -1.0, 1.0, 9, "-2/3", "-1"),
            (1.0, 1.0, 1.0, 12, "+3/3", "+1"), (1.0, -1.0, 1.0, 11, "+3/3", "-1"),
            (-1.0, 1.0, 1.0, 14, "-3/3", "+1"), (-1.0, -1.0, 1.0, 13, "-3/3", "-1"),
            (math.nan, 0.0, math.nan, 0, "+X (extreme)", "0"), (math.nan, 0.0, math.nan, 0, "-X (extreme)", "0"),
        ]
    )
)  # fmt: skip
STANDARD_POINT_DEF = PointDef(r=0, scan_points=_STANDARD_POINTS)


# ---------------------------------------------------------------------------------------------- options
@dataclass(frozen=True)
class SpanOptions:
    """How to read the file for one account (all optional)."""

    account_type: str | None = None  # pbRateDef acctType: the file's code for the account's kind (hedger, member, other trader)
    is_cust: bool | None = None  # pbRateDef isCust
    currency: str | None = None  # result currency (default: the CCs' currency if they share one)
    apply_point_weights: bool = False  # multiply L_j by the pointDef weight (arrays normally include it)
    maintenance_r: int | None = None  # force the rate classes
    initial_r: int | None = None


# ---------------------------------------------------------------------------------------------- per class
class _Account:
    """Positions of one account resolved to contract rows of the file."""

    def __init__(self, span: SpanFile, rows: IntArray, qty: FloatArray):
        self.span = span
        cc_of_row, ccs = span.combined_commodity_of_rows()
        self.ccs = ccs
        unlinked = rows[cc_of_row[rows] < 0]
        if len(unlinked):
            raise ValueError(
                f"contract {span.contract_label(int(unlinked[0]))} is not linked to any combined commodity "
                "(no ccDef/pfLink for its product family)"
            )
        self.rows = rows
        self.qty = qty
        self.cc_index = cc_of_row[rows]

    def by_cc(self) -> dict[int, tuple[IntArray, FloatArray]]:
        out: dict[int, tuple[IntArray, FloatArray]] = {}
        for k in np.unique(self.cc_index).tolist():
            mask = self.cc_index == k
            out[int(k)] = (self.rows[mask], self.qty[mask])
        return out


def _arrays(span: SpanFile, rows: IntArray, r: int, r_m: int) -> tuple[FloatArray, FloatArray]:
    arrays = span.contracts.arrays
    composite = span.contracts.composite
    key = r if r in arrays else (r_m if r_m in arrays else (min(arrays) if arrays else None))
    if key is None:
        raise ValueError(f"{Path(span.source).name}: the file has no risk arrays")
    a = arrays[key][rows]
    bad = np.flatnonzero(np.isnan(a).any(axis=1))
    if len(bad):
        raise ValueError(
            f"contract {span.contract_label(int(rows[bad[0]]))} has no risk array for class r={key}"
        )
    d = composite[key][rows].copy()
    own = span.contracts.delta[rows]
    d = np.where(np.isnan(d), own, d)
    d = np.where(np.isnan(d) & (span.contracts.kind[rows] == KIND_FUTURE), 1.0, d)
    bad = np.flatnonzero(np.isnan(d))
    if len(bad):
        raise ValueError(f"contract {span.contract_label(int(rows[bad[0]]))} has no delta")
    return a, d


def _cc_scan(span: SpanFile, org: ClearingOrg, org_i: int, cc: CombinedCommodity, rows: IntArray, n: FloatArray,
             r: int, r_m: int, opts: SpanOptions) -> CCWork:  # fmt: skip
    """Scan risk and tier deltas (the module doc): scan risk (with time, volatility and price risk) and the delta pools."""
    con = span.contracts
    pdef = cc.point_defs.get(r) or org.point_defs.get(r) or cc.point_defs.get(r_m) or org.point_defs.get(r_m)
    if pdef is None:
        pdef = next(iter(cc.point_defs.values()), None) or next(iter(org.point_defs.values()), None)
    a, d = _arrays(span, rows, r, r_m)
    if pdef is None:
        pdef = STANDARD_POINT_DEF if a.shape[1] == 16 else PointDef(0, ())
    elif len(pdef.scan_points) != a.shape[1]:
        raise ValueError(
            f"combined commodity {cc.cc}: pointDef has {len(pdef.scan_points)} scan points, "
            f"the risk arrays have {a.shape[1]} values"
        )
    weights = np.array([p.weight for p in pdef.scan_points]) if opts.apply_point_weights else None
    res = CCResult(org=cc.org, cc=cc.cc, currency=cc.currency, point_def=pdef)
    pe = con.pe[rows]

    # 1. scan risk (per scan tier if any)
    losses = n @ a
    if weights is not None:
        losses = losses * weights
    res.losses = losses
    if cc.scan_tiers:
        scan = 0.0
        best = -math.inf
        for tier in cc.scan_tiers:
            mask = np.array([tier.contains(p) for p in pe.tolist()], dtype=bool)
            if not mask.any():
                continue
            lt = n[mask] @ a[mask]
            if weights is not None:
                lt = lt * weights
            j = int(np.argmax(lt))
            scan += max(0.0, float(lt[j]))
            if lt[j] > best:
                best, res.active = float(lt[j]), j + 1
        res.scan = scan
    else:
        j = int(np.argmax(losses)) if len(losses) else 0
        res.scan = max(0.0, float(losses[j])) if len(losses) else 0.0
        res.active = j + 1 if res.scan > 0 else 0

    # time / volatility / price risk of the CC (for the weighted futures price risk of inter spreads)
    no_move = [i for i, p in enumerate(pdef.scan_points) if p.price == 0 and p.weight == 1.0]
    res.time_risk = float(np.mean(losses[no_move])) if no_move else 0.0
    if res.active:
        point = pdef.scan_points[res.active - 1]
        if point.paired:
            res.vol_risk = abs(float(losses[res.active - 1] - losses[point.paired - 1])) / 2.0
    res.price_risk = max(res.scan - res.time_risk - res.vol_risk, 0.0)

    # 2. deltas per intra tier and per period
    dn = n * d
    periods = sorted(set(pe.tolist()))
    period_delta = {p: float(dn[pe == p].sum()) for p in periods}
    tier_delta: dict[str, float] = {}
    for p, v in period_delta.items():
        tn = tier_of(cc.intra_tiers, p)
        if tn is not None:
            tier_delta[tn] = tier_delta.get(tn, 0.0) + v
    if not cc.intra_tiers:
        tier_delta["*"] = float(dn.sum())
    return CCWork(cc=cc, res=res, n=n, rows=rows, pe=pe, dn=dn, periods=periods, period_delta=period_delta,
                   tier_delta=tier_delta, psr=_futures_psr(span, cc, org_i), scan_now=res.scan,
                   losses_now=losses.copy())  # fmt: skip


def _cc_finish(span: SpanFile, work: CCWork, r: int, r_m: int) -> None:
    """The rest of one CC's requirement (the module doc): intra spreads, spot charge, remaining deltas, SOM and
    NOV."""
    cc, res, rows, n, pe, dn = work.cc, work.res, work.rows, work.n, work.pe, work.dn
    con = span.contracts
    one = {cc.cc: work}
    # 3. intra-commodity spreads
    for spread in cc.spreads:
        if any(leg.cc and leg.cc != cc.cc for leg in spread.legs):
            continue
        delta_spread(spread, one, r, r_m, "intra")
    consumed = work.consumed

    # 4. spot month charge
    spot = 0.0
    for sr in cc.spot_rates:
        if sr.r != r and any(s.r == r for s in cc.spot_rates):
            continue
        if sr.r != r and sr.r != r_m and any(s.r == r_m for s in cc.spot_rates):
            continue
        in_spot = [p for p in work.periods if period_match(p, sr.period)]
        if not in_spot:
            continue
        delta_spot = abs(sum(float(dn[pe == p].sum()) for p in in_spot))
        used = sum(abs(consumed.get(("p", p), 0.0)) for p in in_spot)
        if used == 0:
            tn = tier_of(cc.intra_tiers, in_spot[0])
            used = abs(consumed.get(("t", tn), 0.0)) if tn is not None else 0.0
        in_spread = min(delta_spot, used)
        spot += sr.sprd * in_spread + sr.outr * (delta_spot - in_spread)
    res.spot = spot

    # remaining deltas for the inter-commodity spreads
    def start_of(key: tuple[str, str]) -> str:
        if key[0] == "p":
            return key[1]
        for t in cc.intra_tiers:
            if t.tn == key[1]:
                return t.start
        return ""

    if cc.inter_tiers:
        for t in cc.inter_tiers:
            orig = sum(float(dn[pe == p].sum()) for p in work.periods if t.contains(p))
            moved = sum(v for k, v in consumed.items() if t.contains(start_of(k)))
            res.inter_orig[t.tn] = orig
            res.inter_deltas[t.tn] = 0.0 if work.offset else orig - moved
    else:
        total = float(dn.sum())
        res.inter_orig["*"] = total
        res.inter_deltas["*"] = 0.0 if work.offset else total - sum(consumed.values())

    # 6. short option minimum
    som = 0.0
    is_opt = con.kind[rows] == KIND_OPTION
    short = is_opt & (n < 0)
    gross = cc.som_meth.strip().upper() in ("GROSS", "G")
    for tier in cc.som_tiers:
        rate = rate_for(tier.rates, r, r_m)
        if not rate:
            continue
        mask = short & np.array([tier.contains(p) if p else True for p in pe.tolist()], dtype=bool)
        if not mask.any():
            continue
        calls = float(-n[mask & (con.option[rows] == "C")].sum())
        puts = float(-n[mask & (con.option[rows] == "P")].sum())
        som += rate * ((calls + puts) if gross else max(calls, puts))
    res.som = som

    # 8. net option value (premium-style options)
    if is_opt.any():
        pfs = span.product_families
        premium = np.array(
            [not pfs[int(pf)].value_meth.upper().startswith("FUT") for pf in con.pf[rows].tolist()],
            dtype=bool,
        )
        use = is_opt & premium
        price = con.price[rows]
        missing = np.flatnonzero(use & np.isnan(price))
        if len(missing):
            raise ValueError(
                f"option {span.contract_label(int(rows[missing[0]]))} has no price <p> (needed for the net "
                "option value)"
            )
        res.nov = float((n[use] * price[use] * con.cvf[rows][use]).sum())


def _futures_psr(span: SpanFile, cc: CombinedCommodity, org_index: int) -> float | None:
    con = span.contracts
    pfs = span.product_families
    for i, pf in enumerate(pfs):
        if pf.org == org_index and (pf.exch, pf.pf_id) in cc.pf_links and pf.kind == "futPf":
            rows = np.flatnonzero((con.pf == i) & ~np.isnan(con.price_scan))
            if len(rows):
                return float(con.price_scan[rows[0]])
    return None


def _classes(org: ClearingOrg, opts: SpanOptions) -> tuple[int, int]:
    def fits(p: Any) -> bool:
        return (opts.account_type is None or p.acct_type == opts.account_type) and (
            opts.is_cust is None or p.is_cust == opts.is_cust
        )

    cand = [p for p in org.pb_rates if fits(p)]
    if opts.account_type is not None and not cand:
        types = sorted({p.acct_type for p in org.pb_rates})
        raise ValueError(
            f"clearing org {org.ec}: no pbRateDef for account type {opts.account_type!r} ({types})"
        )
    maint = next((p.r for p in cand if p.is_m), None)
    init = next((p.r for p in cand if not p.is_m), None)
    r_m = opts.maintenance_r or maint or init or 1
    r_i = opts.initial_r or init or r_m
    return r_m, r_i


def _convert(org: ClearingOrg, amount: float, src: str, dst: str) -> float:
    if not src or not dst or src == dst or amount == 0:
        return amount
    if (src, dst) in org.cur_conv:
        return amount * org.cur_conv[(src, dst)]
    if (dst, src) in org.cur_conv:
        return amount / org.cur_conv[(dst, src)]
    raise ValueError(f"clearing org {org.ec}: no <curConv> from {src} to {dst}")


def _org_class(span: SpanFile, org_i: int, groups: dict[str, tuple[IntArray, FloatArray]], r: int, r_m: int,
               opts: SpanOptions) -> dict[str, CCResult]:  # fmt: skip
    """Every CC of one clearing org in rate class r, spreads formed in SPAN's order: super spreads (before
    the calendar spreads), intra spreads and spot charges per CC, then inter spreads in priority order."""
    org = span.orgs[org_i]
    works = {
        name: _cc_scan(span, org, org_i, org.combined[name], rows, n, r, r_m, opts)
        for name, (rows, n) in groups.items()
    }
    for spread in org.super_spreads:
        if isinstance(spread, ScanSpread):
            scanning_spread(spread, works, r, r_m, "super")
        else:
            delta_spread(spread, works, r, r_m, "super")
    for work in works.values():
        _cc_finish(span, work, r, r_m)
    for spread in org.inter_spreads:
        if isinstance(spread, ScanSpread):
            scanning_spread(spread, works, r, r_m, "inter")
        else:
            inter_spread(spread, works, r, r_m)
    return {name: w.res for name, w in works.items()}


# ---------------------------------------------------------------------------------------------- account
def span_account(
    span: SpanFile, rows: IntArray, qty: FloatArray, opts: SpanOptions, account: Any = None
) -> MarginResult:
    """SPAN margin of one account given contract rows of ``span`` and signed contract counts."""
    acct = _Account(span, rows, qty)
    per_org: dict[int, dict[str, tuple[IntArray, FloatArray]]] = {}
    for k, (r_rows, r_qty) in acct.by_cc().items():
        cc = acct.ccs[k]
        per_org.setdefault(cc.org, {})[cc.cc] = (r_rows, r_qty)
    currencies = {acct.ccs[k].currency for k in np.unique(acct.cc_index).tolist()}
    if not currencies:  # no positions: the file's currency, if it has one
        currencies = {cc.currency for cc in acct.ccs} or {"USD"}
    currency = opts.currency or (next(iter(currencies)) if len(currencies) == 1 else "")
    if not currency:
        raise ValueError(
            f"the positions span combined commodities in {sorted(currencies)}: pass currency=... to convert"
        )

    totals = dict.fromkeys(COMPONENTS, 0.0)
    maintenance_sum = 0.0
    initial_sum = 0.0
    per_cc: list[dict[str, Any]] = []
    worst: tuple[float, str, int] | None = None
    for org_i, groups in per_org.items():
        org = span.orgs[org_i]
        r_m, r_i = _classes(org, opts)
        res_m = _org_class(span, org_i, groups, r_m, r_m, opts)
        res_i_direct: dict[str, CCResult] | None = None
        for name, cm in res_m.items():
            cc = org.combined[name]
            adj = next(((base, val) for rr, base, val in cc.adj_rates if rr == r_i and r_i != r_m), None)
            if r_i == r_m:
                risk_i = cm.risk
            elif adj is not None:
                base, val = adj
                if base == r_m:
                    risk_i = val * cm.risk
                else:
                    risk_i = val * _org_class(span, org_i, groups, base, r_m, opts)[name].risk
            else:
                if res_i_direct is None:
                    res_i_direct = _org_class(span, org_i, groups, r_i, r_m, opts)
                risk_i = res_i_direct[name].risk
            cap = cc.cap_anov if cc.cap_anov is not None else org.cap_anov

            def conv(v: float, _cur: str = cm.currency, _org: ClearingOrg = org) -> float:
                return _convert(_org, v, _cur, currency)

            net_m = cm.risk - cm.nov
            net_i = risk_i - cm.nov
            if cap:
                net_m, net_i = max(net_m, 0.0), max(net_i, 0.0)
            maintenance_sum += conv(net_m)
            initial_sum += conv(net_i)
            base_sum = cm.scan + cm.intra + cm.spot - cm.inter
            totals["scan_risk"] += conv(cm.scan)
            totals["intra_spread_charge"] += conv(cm.intra)
            totals["spot_charge"] += conv(cm.spot)
            totals["inter_spread_credit"] -= conv(cm.inter)
            totals["som_excess"] += conv(max(0.0, cm.som - base_sum))
            totals["initial_adjustment"] += conv(risk_i - cm.risk)
            totals["net_option_value"] -= conv(cm.nov)
            row = cm.to_dict()
            row.update(
                {
                    "clearing_org": org.ec,
                    "maintenance_class": r_m,
                    "initial_class": r_i,
                    "risk_initial": risk_i,
                    "requirement_maintenance": net_m,
                    "requirement_initial": net_i,
                }
            )
            per_cc.append(row)
            scan_c = conv(cm.scan)
            if cm.active and (worst is None or scan_c > worst[0]):
                worst = (scan_c, name, cm.active)
    maintenance = max(maintenance_sum, 0.0)
    initial = max(initial_sum, 0.0)
    explained = sum(v for k, v in totals.items() if k != "floor_adjustment")
    totals["floor_adjustment"] = initial - explained
    worst_scenario = None
    if worst is not None:
        scan_c, name, j = worst
        org_i = next(k for k, g in per_org.items() if name in g)
        org = span.orgs[org_i]
        pdef = _point_def_for(org, org.combined[name], _classes(org, opts)[0])
        point = pdef.point(j) if pdef else None
        desc = point.describe() if point else f"SPAN scenario {j}"
        worst_scenario = WorstScenario(index=j, description=f"{name}: {desc}", pnl=-scan_c)
    usd = None
    if currency == "USD":
        usd = 1.0
    else:
        for org in span.orgs:
            try:
                usd = _convert(org, 1.0, currency, "USD")
                break
            except ValueError:
                continue
    source = (
        f"{Path(span.source).name or 'SPAN file'} {' '.join(o.ec for o in span.orgs)} {span.business_date}"
    )
    return MarginResult.in_currency(
        method="span",
        initial=initial,
        maintenance=maintenance,
        currency=currency,
        usd_rate=usd,
        worst_scenario=worst_scenario,
        components=totals,
        calibration=_calibration(per_cc),
        parameters_source=source.strip(),
        details={"combined_commodities": per_cc},
        account=account,
        group=currency,
    )


def _calibration(per_cc: list[dict[str, Any]]) -> dict[str, Calibration]:
    """The components' calibration, downgraded to candidate where a spread of an unconfirmed kind formed:
    per-month or weighted-price intra spreads, flat / per-month / scanning inter spreads, super spreads."""
    out = dict(CALIBRATION)
    for row in per_cc:
        for s in row["spreads"]:
            if s["type"] == "intra" and s["method"] in ("P", "W"):
                out["intra_spread_charge"] = "candidate"
            elif s["type"] == "super" or (s["type"] == "inter" and s["method"] != "W"):
                out["inter_spread_credit"] = "candidate"
    return out


def _point_def_for(org: ClearingOrg, cc: CombinedCommodity, r: int) -> PointDef | None:
    for pds in (cc.point_defs, org.point_defs):
        if r in pds:
            return pds[r]
    for pds in (cc.point_defs, org.point_defs):
        if pds:
            return next(iter(pds.values()))
    return STANDARD_POINT_DEF


# ---------------------------------------------------------------------------------------------- entry point
#: The preset name of the bundled synthetic SPAN file for the bundled sample market (docs/span.md).
SAMPLE = "sample"


def sample_params_path() -> Path:
    """The bundled synthetic SPAN parameters (risk-parameter file and book mapping) of the sample market."""
    return Path(__file__).resolve().parents[2] / "data" / "span" / "sample-synthetic.json"


# Files read by path, kept by (path, modification time, size) so that repeated calls on the same file (every
# `ro.margin(..., "span", "sample")`) parse it once: {key: (parsed file or JSON document)}; the latest few.
_READ: dict[tuple[str, int, int], Any] = {}
_READ_KEPT = 4
_READ_LOCK = threading.Lock()


def _read_once(path: Path, read: Any) -> Any:
    """``read(path)``, or what it returned for this file unchanged since (same modification time and size)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _READ_LOCK:
        if key in _READ:
            return _READ[key]
    value = read(path)  # (outside the lock: a parse may take seconds; two threads may both read a new file)
    with _READ_LOCK:
        if len(_READ) >= _READ_KEPT:
            _READ.pop(next(iter(_READ)))  # (the oldest)
        return _READ.setdefault(key, value)


def load_params(params: Any) -> tuple[SpanFile, dict[str, Any]]:
    """(parsed file, other options) from a SpanFile, a path to a .spn file, a path to a JSON file holding
    {"file": path of the .spn relative to the JSON file, "mapping": ..., options}, the preset name "sample"
    (the bundled synthetic file of the sample market), or a mapping with "file" and options.  A file given by
    path is read once while it stays unchanged: the same parsed file (and its compiled models) serve every
    call, and the options are a new dict each time (their mapping is shared: read it, do not change it)."""
    if isinstance(params, SpanFile):
        return params, {}
    if isinstance(params, str) and params == SAMPLE:
        params = sample_params_path()
    if isinstance(params, (str, Path)):
        path = Path(params)
        if path.suffix.lower() != ".json":
            if not path.is_file():
                return parse_span(path), {}  # (its error names the file)
            return _read_once(path, parse_span), {}
        try:
            doc = _read_once(path, lambda p: json.loads(p.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise ValueError(f"SPAN params {str(path)!r}: not valid JSON ({exc})") from None
        if not isinstance(doc, Mapping) or not isinstance(doc.get("file"), str):
            raise ValueError(  # noqa: TRY004 - bad file content: a ValueError like every data error
                f"SPAN params {str(path)!r}: expected a JSON object with 'file' (the .spn path, relative to this "
                "file) and optionally 'mapping' and SPAN options"
            )
        rest = {k: v for k, v in doc.items() if k not in ("file", "description")}
        span, more = load_params(path.parent / doc["file"])
        return span, {**more, **rest}
    if isinstance(params, Mapping):
        rest = dict(params)
        f = rest.pop("file", None) or rest.pop("span", None) or rest.pop("path", None)
        if f is None:
            raise ValueError("SPAN params: give a parsed SpanFile, a .spn path, or a mapping with 'file'")
        span, more = load_params(f)
        return span, {**more, **rest}
    raise TypeError(f"SPAN params must be a SpanFile, a path or a mapping, not {type(params).__name__}")


def positions_rows(span: SpanFile, positions: Any) -> tuple[IntArray, FloatArray]:
    """Netted (rows, contracts) from a mapping key -> contracts or an iterable of (key, contracts)."""
    items: Iterable[tuple[Any, Any]] = positions.items() if isinstance(positions, Mapping) else positions
    rows: list[int] = []
    qty: list[float] = []
    for key, q in items:
        value = float(q)
        if not math.isfinite(value):
            raise ValueError(f"position in contract {key!r} is not a finite number: {q!r}")
        rows.append(span.row(key))
        qty.append(value)
    return net_positions(np.asarray(rows, dtype=np.int64), np.asarray(qty, dtype=np.float64))


def net_positions(rows: IntArray, qty: FloatArray) -> tuple[IntArray, FloatArray]:
    if not len(rows):
        return rows, qty
    uniq, inv = np.unique(rows, return_inverse=True)
    # integer netting at 1e-8 contracts so permutation/splitting give identical sums
    scaled = np.round(qty * 1e8).astype(np.int64)
    total = np.zeros(len(uniq), dtype=np.int64)
    np.add.at(total, inv, scaled)
    keep = total != 0
    return uniq[keep].astype(np.int64), total[keep].astype(np.float64) / 1e8
