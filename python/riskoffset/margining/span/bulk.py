"""SPAN margin of many accounts at once, and of one: the per-(account, combined commodity) steps compiled.

The file's parameters are compiled once into arrays (`SpanModel`, cached on the parsed file): per contract
its risk array, composite delta, delta pool, short-option-minimum tiers and premium; per combined commodity
(CC) its delta pools (intra tiers, or the whole CC, then its periods), inter pools and scan points; per
intra-commodity spread its legs and its charge (flat or per month per spread, or the weighted-price rate of each
leg); the super and inter-commodity delta spreads across CCs likewise.  With the classes, adjRate, capAnov and
currency conversions of the options (`_prepare`) they are bound to one compiled object
(``_core.margin.SpanAccount``) that takes an account's positions, nets them in units of 1e-8 contracts, groups
them by CC, routes the account (below), runs the pass per CC (scan risk and its scenario, price risk, then after
the super spreads the intra-commodity spread charge, spot-month charge, short option minimum, net option value),
forms the inter-commodity spreads (scanning spreads at either level), and adds the CCs up in the account's currency as
`riskoffset.margining.span.algorithm.span_account` does: for every account of a book at once (`span_margins`,
without the GIL) or for one (`span_one_account`, a trade's or an order's).

An account takes `span_account` itself where a step is not in the pass: a super spread with a leg the pass cannot
place that could form between its CCs, an adjRate on another base class, a spread the pass cannot compute
(volatility offsets, per-point scanning aggregation, more than 8 legs, a missing rate) that forms, a contract without risk
array, delta or price, a CC whose currency needs a conversion the file does not give, or no position at all.
Those paths raise the errors the file's gaps call for.  Every row's full result (its per-CC breakdown in details)
is built by `span_account` when it is looked at.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ... import _core
from ..._types import FloatArray, IntArray
from ..columns import CALIBRATION_ORDER, GroupMargins, plain
from ..result import MarginResult
from .algorithm import (
    CALIBRATION,
    COMPONENTS,
    STANDARD_POINT_DEF,
    SpanOptions,
    _classes,
    _convert,
    _futures_psr,
    _point_def_for,
    net_positions,
    span_account,
)
from .model import KIND_FUTURE, KIND_OPTION, CombinedCommodity, DeltaSpread, PointDef, ScanSpread, SpanFile
from .spreads import credit_rate, month_index, period_match, rate_for, tier_of

#: Bits of a formed spread's charge method (calibration: per-month and weighted-price intra charges are candidates).
KIND_PER_MONTH, KIND_WEIGHTED = 1, 2
MAX_LEGS = 8  # legs of an intra spread the pass charges (more: the account takes span_account)


@dataclass(frozen=True)
class SpanModel:
    """The arrays of the C++ pass for one choice of rate class per clearing org, and which CCs it covers."""

    arrays: dict[str, Any]
    supported: npt.NDArray[np.bool_]  # per CC: the pass computes it
    row_ok: npt.NDArray[np.bool_]  # per contract: risk array, delta and (premium options) price present


def _periods_in(tier: Any, pe: Sequence[str]) -> npt.NDArray[np.bool_]:
    return np.array([tier.contains(p) if p else True for p in pe], dtype=bool)


def compile_model(span: SpanFile, classes: dict[int, tuple[int, int]], opts: SpanOptions) -> SpanModel:
    """`SpanModel` of ``span`` with rate class ``classes[org] = (r, r_m)`` (r_m: the fallback class)."""
    con = span.contracts
    cc_of_row, ccs = span.combined_commodity_of_rows()
    n_rows, n_cc = len(con), len(ccs)
    n_points = span.n_points
    arrays = np.zeros((n_rows, n_points))
    delta = np.zeros(n_rows)
    row_ok = np.zeros(n_rows, dtype=bool)
    period_pool = np.zeros(n_rows, dtype=np.int64)
    som_mask = np.zeros(n_rows, dtype=np.uint64)
    scan_mask = np.zeros(n_rows, dtype=np.uint64)
    n_scan_tiers: list[int] = []
    option = np.where(
        con.kind == KIND_OPTION, np.where(con.option == "C", 1, np.where(con.option == "P", 2, 3)), 0
    )
    pfs = span.product_families
    premium_pf = np.array([not pf.value_meth.upper().startswith("FUT") for pf in pfs], dtype=bool)
    premium = (con.kind == KIND_OPTION) & (premium_pf[con.pf] if len(pfs) else False)
    supported = np.zeros(n_cc, dtype=bool)
    pool_offset, n_tier_pools, period_tier, star = [0], [], [], []
    spread_offset, som_offset, som_gross, som_rate = [0], [0], [], []
    leg_offset, method, amount, kind = [0], [], [], []
    leg_pool, leg_side, leg_ratio, leg_rate = [], [], [], []
    spot_offset, spot_pool_offset = [0], [0]
    spot_pool: list[int] = []
    spot_sprd: list[float] = []
    spot_outr: list[float] = []
    # what the inter-commodity spreads read of each CC: its inter pools and their member pools, the pointDef's
    # no-move and paired scenarios, how the weighted futures price risk is formed
    inter_offset, inter_member_offset = [0], [0]
    inter_member_pool: list[int] = []
    inter_member_use: list[int] = []
    inter_tier_names: list[list[str]] = []
    pool_maps: list[tuple[list[str], dict[str, int], int]] = []  # per CC: intra tiers, period pools, the zero pool
    no_move = np.zeros((n_cc, n_points), dtype=np.uint8)
    paired = np.zeros((n_cc, n_points), dtype=np.int64)
    wfpr_mode = np.zeros(n_cc, dtype=np.int8)
    psr = np.full(n_cc, np.nan)
    rows_of_cc = np.argsort(cc_of_row, kind="stable")
    bounds = np.searchsorted(cc_of_row[rows_of_cc], np.arange(n_cc + 1))
    for c, cc in enumerate(ccs):
        org = span.orgs[cc.org]
        r, r_m = classes.get(cc.org, (1, 1))
        rows = rows_of_cc[bounds[c] : bounds[c + 1]]
        pe = con.pe[rows].tolist()
        ok, pdef = _cc_arrays(span, cc, org, rows, r, r_m, opts, arrays, delta, row_ok)
        for j, point in enumerate(pdef.scan_points if pdef is not None else ()):
            no_move[c, j] = point.price == 0 and point.weight == 1.0
            paired[c, j] = point.paired
        wfpr_mode[c] = _WFPR_MODES.get(cc.wfpr_meth.strip().upper(), 0)
        cc_psr = _futures_psr(span, cc, cc.org)
        psr[c] = np.nan if cc_psr is None else cc_psr
        # delta pools: intra tiers (or "*"), then the CC's periods in order, then one that stays 0
        tiers = list(dict.fromkeys(t.tn for t in cc.intra_tiers))
        periods = sorted(set(pe))
        n_t = len(tiers) if tiers else 1
        pool_of_period = {p: n_t + k for k, p in enumerate(periods)}
        zero_pool = n_t + len(periods)
        n_tier_pools.append(len(tiers))
        star.append(0 if tiers else 1)
        period_tier.extend([-1] * n_t)
        for p in periods:
            tn = tier_of(cc.intra_tiers, p) if tiers else None
            period_tier.append(tiers.index(tn) if tn is not None else -1)
        period_tier.append(-1)
        pool_offset.append(pool_offset[-1] + zero_pool + 1)
        # inter pools: each inter tier, or the whole CC ("*"); a pool's first period (a tier pool's start, "" for
        # the "*" pool) decides whether what the spreads took from it counts against an inter tier
        firsts = [next((t.start for t in cc.intra_tiers if t.tn == tn), "") for tn in tiers] if tiers else [""]
        firsts += periods
        names = [t.tn for t in cc.inter_tiers]
        if len(set(names)) < len(names):
            ok = False  # an inter tier named twice: span_account keeps the last of them
        inter_tier_names.append(names)
        pool_maps.append((tiers, pool_of_period, zero_pool))
        for tier in cc.inter_tiers or [None]:
            for k, first in enumerate(firsts):
                period = k >= n_t
                if tier is None:
                    use = (1 if period else 0) | 2
                else:
                    use = (1 if period and tier.contains(first) else 0) | (2 if tier.contains(first) else 0)
                if use:
                    inter_member_pool.append(k)
                    inter_member_use.append(use)
            inter_member_offset.append(len(inter_member_pool))
        inter_offset.append(len(inter_member_offset) - 1)
        period_pool[rows] = [pool_of_period[p] for p in pe]
        # intra-commodity spreads (those whose legs all name this CC)
        for spread in cc.spreads:
            if any(leg.cc != cc.cc for leg in spread.legs):
                continue  # another CC's leg (or none named): never forms within one CC
            pools = _leg_pools(cc, spread, tiers, pool_of_period, zero_pool)
            if pools is None:
                ok = False  # span_account raises for this CC
                break
            meth, per_spread, rates, bits = _charge(span, cc, spread, r, r_m)
            if len(spread.legs) > MAX_LEGS:
                meth = 2
            method.append(meth)
            amount.append(per_spread)
            kind.append(bits)
            for leg, pool, rate in zip(spread.legs, pools, rates):
                leg_pool.append(pool)
                leg_side.append(1.0 if leg.side == "A" else -1.0)
                leg_ratio.append(leg.ratio)
                leg_rate.append(rate)
            leg_offset.append(len(leg_pool))
        spread_offset.append(len(method))
        # short option minimum: tiers with a rate in this class
        gross = cc.som_meth.strip().upper() in ("GROSS", "G")
        som_gross.append(1 if gross else 0)
        bit = 0
        for tier in cc.som_tiers:
            som = rate_for(tier.rates, r, r_m)
            if not som:
                continue
            if bit == 64:
                ok = False
                break
            som_mask[rows[_periods_in(tier, pe)]] |= np.uint64(1) << np.uint64(bit)
            som_rate.append(som)
            bit += 1
        som_offset.append(len(som_rate))
        # spot-month charges of the class (as _cc_finish picks them): the CC's periods in each spot month
        for sr in cc.spot_rates:
            if sr.r != r and any(x.r == r for x in cc.spot_rates):
                continue
            if sr.r != r and sr.r != r_m and any(x.r == r_m for x in cc.spot_rates):
                continue
            spot_pool.extend(pool_of_period[p] for p in periods if period_match(p, sr.period))
            spot_pool_offset.append(len(spot_pool))
            spot_sprd.append(sr.sprd)
            spot_outr.append(sr.outr)
        spot_offset.append(len(spot_sprd))
        # scan tiers: each row counts in every tier holding its period
        for t, tier in enumerate(cc.scan_tiers[:64]):
            scan_mask[rows[np.array([tier.contains(p) for p in pe], dtype=bool)]] |= np.uint64(1) << np.uint64(t)
        n_scan_tiers.append(min(len(cc.scan_tiers), 64))
        supported[c] = ok and len(cc.scan_tiers) <= 64
    cross = _cross_spreads(span, ccs, classes, inter_tier_names, pool_maps, psr, wfpr_mode)
    price = np.where(premium, con.price, 0.0)
    row_ok &= ~(premium & np.isnan(con.price))
    model = {
        "arrays": arrays,
        "delta": delta,
        "period_pool": period_pool,
        "som_mask": som_mask,
        "scan_mask": scan_mask,
        "n_scan_tiers": np.array(n_scan_tiers, dtype=np.int64),
        "option": option.astype(np.int8),
        "premium": premium.astype(np.uint8),
        "price": np.where(np.isnan(price), 0.0, price),
        "cvf": np.where(premium, con.cvf, 0.0),
        "cc_of_row": cc_of_row.astype(np.int64),
        "pool_offset": np.array(pool_offset, dtype=np.int64),
        "n_tier_pools": np.array(n_tier_pools, dtype=np.int64),
        "period_tier": np.array(period_tier, dtype=np.int64),
        "star": np.array(star, dtype=np.uint8),
        "spread_offset": np.array(spread_offset[: n_cc + 1], dtype=np.int64),
        "som_offset": np.array(som_offset, dtype=np.int64),
        "som_gross": np.array(som_gross, dtype=np.uint8),
        "som_rate": np.array(som_rate, dtype=np.float64),
        "leg_offset": np.array(leg_offset, dtype=np.int64),
        "method": np.array(method, dtype=np.int8),
        "amount": np.array(amount, dtype=np.float64),
        "kind": np.array(kind, dtype=np.uint8),
        "leg_pool": np.array(leg_pool, dtype=np.int64),
        "leg_side": np.array(leg_side, dtype=np.float64),
        "leg_ratio": np.array(leg_ratio, dtype=np.float64),
        "leg_rate": np.array(leg_rate, dtype=np.float64),
        "spot_offset": np.array(spot_offset, dtype=np.int64),
        "spot_sprd": np.array(spot_sprd, dtype=np.float64),
        "spot_outr": np.array(spot_outr, dtype=np.float64),
        "spot_pool_offset": np.array(spot_pool_offset, dtype=np.int64),
        "spot_pool": np.array(spot_pool, dtype=np.int64),
        "inter_offset": np.array(inter_offset, dtype=np.int64),
        "inter_member_offset": np.array(inter_member_offset, dtype=np.int64),
        "inter_member_pool": np.array(inter_member_pool, dtype=np.int64),
        "inter_member_use": np.array(inter_member_use, dtype=np.uint8),
        "no_move": no_move.reshape(-1),
        "paired": paired.reshape(-1),
        "wfpr_mode": wfpr_mode,
        "psr": psr,
        **cross,
    }
    return SpanModel(model, supported, row_ok)


#: wfprMeth codes: the price risk per delta capped at the futures price scan range (1), or that range (2).
_WFPR_MODES = {"2": 1, "SCANRANGE_CAP": 1, "3": 2, "SCANRANGE": 2}


def _cross_spreads(span: SpanFile, ccs: list[CombinedCommodity], classes: dict[int, tuple[int, int]],
                   inter_tier_names: list[list[str]], pool_maps: list[tuple[list[str], dict[str, int], int]],
                   psr: FloatArray, wfpr_mode: Any) -> dict[str, Any]:  # fmt: skip
    """The delta spreads across combined commodities of every clearing org in the order they form, as the "super_*"
    (legs on a CC's delta pool, `spreads.leg_pool`) and "inter_*" (legs on its inter pool, `spreads.inter_spread`)
    arrays of a model: per spread its method (0 a per-spread amount shared by its CCs, 1 weighted price, 2 one the
    pass cannot charge: the account takes span_account when it forms), amount and kind (1: a candidate charge), per
    leg its CC, pool, side, ratio and W credit rate.  A spread with a leg no account can hold (a CC the file lacks,
    an inter tier its CC does not have) never forms and is left out; so is a super spread with a leg the pass cannot
    place (`super_leg_placed`: routed).  Scanning spreads are routed."""
    cc_index = {(c.org, c.cc): k for k, c in enumerate(ccs)}
    out: dict[str, Any] = {}
    for prefix in ("super_", "inter_"):
        leg_offset, method, amount, kind = [0], [], [], []
        leg_cc, leg_pool, leg_side, leg_ratio, leg_rate = [], [], [], [], []
        for org_i, org in enumerate(span.orgs):
            r, r_m = classes.get(org_i, (1, 1))
            for spread in org.super_spreads if prefix == "super_" else org.inter_spreads:
                if isinstance(spread, ScanSpread):
                    scanning = _scanning_arrays(spread, org_i, cc_index, r, r_m)
                    if scanning is None:
                        continue
                    meth, allowance, legs = scanning
                    method.append(meth)
                    amount.append(allowance)
                    kind.append(1)  # (a candidate)
                    for k, is_target, is_required in legs:
                        leg_cc.append(k)
                        leg_pool.append(0)
                        leg_side.append(1.0 if is_target else 0.0)
                        leg_ratio.append(1.0)
                        leg_rate.append(1.0 if is_required else 0.0)
                    leg_offset.append(len(leg_cc))
                    continue
                members = [cc_index.get((org_i, leg.cc)) for leg in spread.legs]
                if not spread.legs or any(k is None for k in members):
                    continue
                ks = [int(k) for k in members]  # type: ignore[arg-type]
                if prefix == "super_":
                    if not all(super_leg_placed(ccs[k], leg) for leg, k in zip(spread.legs, ks)):
                        continue
                    pools = [_super_leg_pool(leg, *pool_maps[k]) for leg, k in zip(spread.legs, ks)]
                else:
                    names = [inter_tier_names[k] for k in ks]
                    pools = [n.index(leg.tier) if leg.tier in n else (-1 if n else 0) for leg, n in zip(spread.legs, names)]
                    if min(pools) < 0:
                        continue
                meth, per_spread, rates = _inter_charge(ccs, spread, ks, r, r_m, psr, wfpr_mode)
                method.append(meth)
                amount.append(per_spread)
                # super spreads, and flat or per-month inter charges: candidates
                kind.append(1 if prefix == "super_" or spread.charge_meth in ("F", "P") else 0)
                for leg, k, pool, rate in zip(spread.legs, ks, pools, rates):
                    leg_cc.append(k)
                    leg_pool.append(pool)
                    leg_side.append(1.0 if leg.side == "A" else -1.0)
                    leg_ratio.append(leg.ratio)
                    leg_rate.append(rate)
                leg_offset.append(len(leg_cc))
        out.update({
            prefix + "leg_offset": np.array(leg_offset, dtype=np.int64),
            prefix + "method": np.array(method, dtype=np.int8),
            prefix + "amount": np.array(amount, dtype=np.float64),
            prefix + "kind": np.array(kind, dtype=np.uint8),
            prefix + "leg_cc": np.array(leg_cc, dtype=np.int64),
            prefix + "leg_pool": np.array(leg_pool, dtype=np.int64),
            prefix + "leg_side": np.array(leg_side, dtype=np.float64),
            prefix + "leg_ratio": np.array(leg_ratio, dtype=np.float64),
            prefix + "leg_rate": np.array(leg_rate, dtype=np.float64),
        })  # fmt: skip
    return out


def _scanning_arrays(spread: ScanSpread, org_i: int, cc_index: dict[tuple[int, str], int], r: int,
                     r_m: int) -> tuple[int, float, list[tuple[int, bool, bool]]] | None:  # fmt: skip
    """(method, gain allowance, legs (CC, target, required)) of a scanning spread: method 3, or 4 where span_account
    raises once it would form (per-point aggregation, no rate, more than 8 legs); None where it never forms (its
    target or a required leg names a CC the file lacks, or fewer than two legs remain)."""
    legs = []
    for leg in spread.legs:
        k = cc_index.get((org_i, leg.cc))
        if k is None:
            if leg.is_target or leg.is_required:
                return None
            continue
        legs.append((k, leg.is_target, leg.is_required))
    if len(legs) < 2:
        return None
    rate = rate_for(spread.rates, r, r_m)
    if spread.per_point or rate is None or len(legs) > MAX_LEGS:
        return 4, 0.0, legs
    return 3, credit_rate(rate), legs


def super_leg_placed(cc: CombinedCommodity, leg: Any) -> bool:
    """Whether a super spread's leg has a delta pool in its CC (`spreads.leg_pool` raises otherwise): a period, an
    intra tier of the CC, or the whole CC when it has neither intra nor inter tiers."""
    return bool(leg.period) or any(t.tn == leg.tier for t in cc.intra_tiers) or not (cc.intra_tiers or cc.inter_tiers)


def _super_leg_pool(leg: Any, tiers: list[str], pool_of_period: dict[str, int], zero_pool: int) -> int:
    if leg.period:
        return pool_of_period.get(leg.period, zero_pool)
    return tiers.index(leg.tier) if tiers else 0


def _inter_charge(ccs: list[CombinedCommodity], spread: DeltaSpread, members: list[int], r: int, r_m: int,
                  psr: FloatArray, wfpr_mode: Any) -> tuple[int, float, list[float]]:  # fmt: skip
    """(method, amount per spread, per-leg credit rate) of a spread across CCs (`spreads.spread_amounts`); method 2
    where span_account raises once the spread forms."""
    zero = [0.0] * len(spread.legs)
    if len(spread.legs) > MAX_LEGS or _volatility_offset(spread):
        return 2, 0.0, zero
    if spread.charge_meth == "W":
        rates = _leg_rates(spread, r, r_m)
        if rates is None or any(wfpr_mode[k] and np.isnan(psr[k]) for k in members):
            return 2, 0.0, zero
        return 1, 0.0, rates
    per_spread = _amount_per_spread(spread, [ccs[k] for k in members], r, r_m)
    return (2, 0.0, zero) if per_spread is None else (0, per_spread, zero)


def _volatility_offset(spread: DeltaSpread) -> bool:
    return spread.spread_type.strip().upper() in ("DELTAVOL", "DELATVOL")


def _leg_rates(spread: DeltaSpread, r: int, r_m: int) -> list[float] | None:
    """A weighted-price spread's credit rate (a fraction) per leg: the leg's own, else the spread's; None where a
    leg has none in class r (or r_m)."""
    spread_rate = rate_for(spread.rates, r, r_m)
    rates = [rate_for(leg.rates, r, r_m) if leg.rates else spread_rate for leg in spread.legs]
    return None if any(x is None for x in rates) else [credit_rate(float(x)) for x in rates if x is not None]


def _amount_per_spread(spread: DeltaSpread, leg_ccs: list[CombinedCommodity], r: int, r_m: int) -> float | None:
    """A flat (F) or per-month (P) spread's charge per spread (the months between the legs' periods, a tier leg's
    from its CC's intra tier); None where span_account raises (no rate, a leg without a period, another method)."""
    if spread.charge_meth == "F":
        return rate_for(spread.rates, r, r_m)
    if spread.charge_meth != "P":
        return None
    pmps = spread.pmps.get(r) or spread.pmps.get(r_m) or (spread.pmps[min(spread.pmps)] if spread.pmps else None)
    periods = [
        leg.period or next((t.start for t in cc.intra_tiers if t.tn == leg.tier and t.start), "")
        for leg, cc in zip(spread.legs, leg_ccs)
    ]
    if pmps is None or not all(periods):
        return None
    val, per_month, per_spread_rate = pmps
    months = [month_index(p) for p in periods]
    return float(val + per_spread_rate + per_month * (max(months) - min(months)))


def _cc_arrays(span: SpanFile, cc: CombinedCommodity, org: Any, rows: IntArray, r: int, r_m: int, opts: SpanOptions,
               arrays: FloatArray, delta: FloatArray, row_ok: Any) -> tuple[bool, PointDef | None]:  # fmt: skip
    """The CC's contracts' risk arrays (times the pointDef weights when asked) and composite deltas, as
    `algorithm._arrays` and `_cc_scan` read them, and the pointDef `_cc_scan` reads (None: no scan points); False
    when its pointDef does not fit the arrays."""
    con = span.contracts
    if not len(rows):
        return True, None
    stored = con.arrays
    key = r if r in stored else (r_m if r_m in stored else (min(stored) if stored else None))
    if key is None:
        return False, None
    a = stored[key][rows]
    d = con.composite[key][rows].copy()
    d = np.where(np.isnan(d), con.delta[rows], d)
    d = np.where(np.isnan(d) & (con.kind[rows] == KIND_FUTURE), 1.0, d)
    pdef = cc.point_defs.get(r) or org.point_defs.get(r) or cc.point_defs.get(r_m) or org.point_defs.get(r_m)
    if pdef is None:
        pdef = next(iter(cc.point_defs.values()), None) or next(iter(org.point_defs.values()), None)
    if pdef is None:
        pdef = STANDARD_POINT_DEF if a.shape[1] == 16 else None
    elif len(pdef.scan_points) != a.shape[1]:
        return False, None
    if opts.apply_point_weights:
        if pdef is None:
            return False, None
        a = a * np.array([p.weight for p in pdef.scan_points])
    good = ~np.isnan(a).any(axis=1) & ~np.isnan(d)
    arrays[rows] = np.where(good[:, None], a, 0.0)
    delta[rows] = np.where(good, d, 0.0)
    row_ok[rows] = good
    return True, pdef


def _leg_pools(cc: CombinedCommodity, spread: DeltaSpread, tiers: list[str], pool_of_period: dict[str, int],
               zero_pool: int) -> list[int] | None:  # fmt: skip
    """Each leg's delta pool (`spreads.leg_pool`), or None where span_account raises for the leg."""
    out = []
    for leg in spread.legs:
        if leg.period:
            out.append(pool_of_period.get(leg.period, zero_pool))
        elif leg.tier in tiers:
            out.append(tiers.index(leg.tier))
        elif not tiers and not cc.inter_tiers:
            out.append(0)
        else:
            return None
    return out


def _charge(
    span: SpanFile, cc: CombinedCommodity, spread: DeltaSpread, r: int, r_m: int
) -> tuple[int, float, list[float], int]:
    """(method, amount, per-leg rate, kind bits) of an intra spread (`spreads.spread_amounts`); method 2 where
    span_account raises once the spread forms."""
    zero = [0.0] * len(spread.legs)
    if _volatility_offset(spread):
        return 2, 0.0, zero, 0
    if spread.charge_meth == "W":
        psr = _futures_psr(span, cc, cc.org)
        rates = _leg_rates(spread, r, r_m)
        if psr is None or rates is None:
            return 2, 0.0, zero, KIND_WEIGHTED
        return 1, psr, rates, KIND_WEIGHTED
    bits = KIND_PER_MONTH if spread.charge_meth == "P" else 0
    per_spread = _amount_per_spread(spread, [cc] * len(spread.legs), r, r_m)
    return (2, 0.0, zero, bits) if per_spread is None else (0, per_spread, zero, bits)


# Compiled models per parsed file (by identity, dropped with the file; not pickled with it).
_MODELS: dict[int, dict[Any, SpanModel]] = {}


def _model(span: SpanFile, classes: dict[int, tuple[int, int]], opts: SpanOptions) -> SpanModel:
    """The compiled model of a parsed file, cached per (classes, point weights) while the file lives."""
    if id(span) not in _MODELS:
        _MODELS[id(span)] = {}
        weakref.finalize(span, _MODELS.pop, id(span), None)
    cache = _MODELS[id(span)]
    key = (tuple(sorted(classes.items())), opts.apply_point_weights)
    if key not in cache:
        cache[key] = compile_model(span, classes, opts)
    return cache[key]


# ---------------------------------------------------------------------------------------------- accounts
@dataclass(frozen=True)
class _Prepared:
    """What `span_margins` reads of a file for one set of options, whatever the positions: computed once per
    (file, options) while the file lives (`_prepared`)."""

    ccs: list[CombinedCommodity]
    classes: dict[int, tuple[int, int]]
    model_m: SpanModel
    model_i: SpanModel | None
    cur_names: tuple[str, ...]
    usd: FloatArray  # per currency of cur_names
    # What `one_account` is bound to besides the models, per CC unless said: whether each model covers it
    # ("supported_*"; "row_ok_*" per contract), its currency ("cc_cur", an index into cur_names), how its initial
    # risk comes ("risk_i_mode": 0 the maintenance one, 1 adj_val x it, 2 the initial model's pass, 3
    # span_account), "adj_val", "cap_anov", the conversion to each currency ("factor", dividing where "divide",
    # none known where "missing"), the super, inter and scanning spreads (their CCs "spread_cc" from
    # "spread_offset", how many of them an account must hold "spread_need") and the options' "currency" (-1:
    # the account's CCs').
    routing: dict[str, Any]
    one_account: Any  # `_core.margin.SpanAccount`: these steps for one account in one call (`span_one_account`)


_PREPARED: dict[int, dict[SpanOptions, _Prepared]] = {}


def _prepared(span: SpanFile, opts: SpanOptions) -> _Prepared:
    if id(span) not in _PREPARED:
        _PREPARED[id(span)] = {}
        weakref.finalize(span, _PREPARED.pop, id(span), None)
    kept = _PREPARED[id(span)]
    if opts not in kept:
        kept[opts] = _prepare(span, opts)
    return kept[opts]


def _prepare(span: SpanFile, opts: SpanOptions) -> _Prepared:
    _, ccs = span.combined_commodity_of_rows()
    classes: dict[int, tuple[int, int]] = {}
    unknown_class: set[int] = set()  # no pbRateDef fits the options: span_account raises for its accounts
    for i, org in enumerate(span.orgs):
        try:
            classes[i] = _classes(org, opts)
        except ValueError:
            classes[i], unknown_class = (1, 1), unknown_class | {i}
    model_m = _model(span, {i: (r_m, r_m) for i, (r_m, _) in classes.items()}, opts)
    cc_index = {(c.org, c.cc): k for k, c in enumerate(ccs)}
    spreads: list[tuple[IntArray, int]] = []
    for org_i, org in enumerate(span.orgs):
        # (every cross-commodity spread is the pass's own but a super spread with a leg it cannot place: routed)
        routed = [
            x for x in org.super_spreads if isinstance(x, DeltaSpread) and not all(
                super_leg_placed(org.combined[leg.cc], leg) for leg in x.legs if leg.cc in org.combined)
        ]  # fmt: skip
        for spread in routed:
            members = {cc_index[(org_i, leg.cc)] for leg in spread.legs if (org_i, leg.cc) in cc_index}
            if not members:
                continue
            need = min(2, len(members)) if isinstance(spread, ScanSpread) or len(members) > 1 else 1
            spreads.append((np.array(sorted(members), dtype=np.int64), need))
    # each account's currency: the option's, else its CCs' one (several: span_account asks for one)
    cur_names = tuple(
        dict.fromkeys([*(c.currency for c in ccs), *([opts.currency] if opts.currency else []), "USD"])
    )
    cc_cur = np.array([cur_names.index(c.currency) for c in ccs], dtype=np.int64)
    # adjRate on a base class other than maintenance, or an initial class computed directly
    risk_i_mode = np.zeros(len(ccs), dtype=np.int64)
    adj_val = np.ones(len(ccs))
    for k, c in enumerate(ccs):
        r_m, r_i = classes[c.org]
        adj = next(((base, val) for rr, base, val in c.adj_rates if rr == r_i and r_i != r_m), None)
        if r_i == r_m:
            continue
        if adj is None:
            risk_i_mode[k] = 2
        elif adj[0] == r_m:
            risk_i_mode[k], adj_val[k] = 1, adj[1]
        else:
            risk_i_mode[k] = 3  # another base class: span_account
    for k, c in enumerate(ccs):
        if c.org in unknown_class:
            risk_i_mode[k] = 3
    model_i = None
    if (risk_i_mode == 2).any():
        model_i = _model(span, {i: (r_i, r_m) for i, (r_m, r_i) in classes.items()}, opts)
    # conversion factor of each CC to each currency (none known: span_account raises)
    n_cc = max(len(ccs), 1)
    factor = np.ones((n_cc, len(cur_names)))
    divide = np.zeros((n_cc, len(cur_names)), dtype=bool)
    missing = np.zeros((n_cc, len(cur_names)), dtype=bool)
    for k, c in enumerate(ccs):
        conv_table = span.orgs[c.org].cur_conv
        for t, target in enumerate(cur_names):
            if c.currency == target or not c.currency:
                continue
            if (c.currency, target) in conv_table:
                factor[k, t] = conv_table[(c.currency, target)]
            elif (target, c.currency) in conv_table:
                factor[k, t], divide[k, t] = conv_table[(target, c.currency)], True
            else:
                missing[k, t] = True
    cap_anov = np.array(
        [bool(c.cap_anov if c.cap_anov is not None else span.orgs[c.org].cap_anov) for c in ccs], dtype=bool
    )
    usd = np.array([_usd_rate(span, c) for c in cur_names], dtype=float)
    routing: dict[str, Any] = {
        "supported_m": model_m.supported.astype(np.uint8),
        "row_ok_m": model_m.row_ok.astype(np.uint8),
        "risk_i_mode": risk_i_mode,
        "adj_val": adj_val,
        "cap_anov": cap_anov.astype(np.uint8),
        "cc_cur": cc_cur,
        "factor": factor,
        "divide": divide.astype(np.uint8),
        "missing": missing.astype(np.uint8),
        "spread_offset": np.cumsum([0, *(len(members) for members, _ in spreads)], dtype=np.int64),
        "spread_cc": np.concatenate([np.zeros(0, np.int64), *(members for members, _ in spreads)]),
        "spread_need": np.array([need for _, need in spreads], dtype=np.int64),
        "currency": cur_names.index(opts.currency) if opts.currency else -1,
    }
    if model_i is not None:
        routing["supported_i"], routing["row_ok_i"] = model_i.supported.astype(np.uint8), model_i.row_ok.astype(np.uint8)
    one_account = _core.margin.SpanAccount(model_m.arrays, None if model_i is None else model_i.arrays, routing)
    return _Prepared(ccs, classes, model_m, model_i, cur_names, usd, routing, one_account)


def span_one_account(span: SpanFile, rows: IntArray, qty: FloatArray, opts: SpanOptions) -> tuple[float, float, str] | None:
    """(initial, maintenance, currency) of one account holding ``qty`` contracts of contract ``rows`` (need not be
    netted), as `span_margins` gives that account, in one compiled call; None where `span_margins` takes it
    through `span_account` (module doc)."""
    prep = _prepared(span, opts)
    out = prep.one_account(rows, qty)
    if out is None:
        return None
    initial, maintenance, currency = out
    return initial, maintenance, prep.cur_names[currency]


def span_margins(
    span: SpanFile,
    labels: Sequence[Any],
    account: IntArray,
    rows: IntArray,
    qty: FloatArray,
    opts: SpanOptions,
) -> GroupMargins:
    """SPAN margin of accounts ``labels`` (one row each, in order) holding ``qty`` contracts of contract ``rows``
    (``account`` indexes ``labels``; positions need not be netted): every account through the compiled
    one-account steps (`span_one_account`'s, without the GIL), those they do not cover through `span_account`
    (module doc)."""
    n_acc = len(labels)
    account = np.asarray(account, np.int64)
    rows, qty = np.asarray(rows, np.int64), np.asarray(qty, np.float64)
    if len(account) and np.any(account[1:] < account[:-1]):
        order = np.argsort(account, kind="stable")
        account, rows, qty = account[order], rows[order], qty[order]
    if len(account) and (account[0] < 0 or account[-1] >= n_acc):
        raise ValueError(f"account indexes outside 0..{n_acc - 1}")
    indptr = np.concatenate(([0], np.cumsum(np.bincount(account, minlength=n_acc)))).astype(np.int64)
    prep = _prepared(span, opts)
    ccs, classes = prep.ccs, prep.classes
    out = prep.one_account.accounts(indptr, rows, qty)
    slow = out["covered"] == 0
    initial, maintenance, currency = out["initial"], out["maintenance"], out["currency"]
    components = {name: np.zeros(n_acc) for name in COMPONENTS}
    for name in (
        "scan_risk",
        "intra_spread_charge",
        "spot_charge",
        "inter_spread_credit",
        "som_excess",
        "initial_adjustment",
        "net_option_value",
    ):
        components[name] = out[name]
    rank = {tag: i for i, tag in enumerate(CALIBRATION_ORDER)}
    calibration = {name: np.full(n_acc, rank[CALIBRATION[name]], dtype=np.int64) for name in COMPONENTS}
    calibration["intra_spread_charge"][out["formed"] != 0] = rank["candidate"]
    calibration["inter_spread_credit"][out["inter_formed"] != 0] = rank["candidate"]
    worst_index, worst_pnl, worst_cc = out["worst_index"], out["worst_pnl"], out["worst_cc"]
    currencies = prep.cur_names
    usd = prep.usd

    def netted(a: int) -> tuple[IntArray, FloatArray]:
        return net_positions(rows[indptr[a] : indptr[a + 1]], qty[indptr[a] : indptr[a + 1]])

    # the accounts span_account computes
    reference: dict[int, MarginResult] = {}
    for a in np.flatnonzero(slow).tolist():
        res = span_account(span, *netted(a), opts, account=plain(labels[a]))
        reference[a] = res
        initial[a], maintenance[a] = res.initial, res.maintenance
        if res.currency not in currencies:
            currencies = (*currencies, res.currency)
        currency[a] = currencies.index(res.currency)
        for name in COMPONENTS:
            components[name][a] = res.components.get(name, 0.0)
            calibration[name][a] = rank[res.calibration.get(name, CALIBRATION[name])]
        ws = res.worst_scenario
        worst_index[a], worst_pnl[a] = (ws.index, ws.pnl) if ws is not None else (-1, 0.0)
    explained = np.zeros(n_acc)
    for name in COMPONENTS[:-1]:
        explained = explained + components[name]
    covered = ~slow
    components["floor_adjustment"][covered] = (initial - explained)[covered]
    if len(usd) < len(currencies):
        usd = np.array([_usd_rate(span, c) for c in currencies], dtype=float)
    source = (
        f"{Path(span.source).name or 'SPAN file'} {' '.join(o.ec for o in span.orgs)} {span.business_date}"
    )
    point_text: dict[tuple[int, int], str] = {}

    def describe(i: int, j: int) -> str:
        if i in reference:
            ws = reference[i].worst_scenario
            return ws.description if ws is not None else ""
        k = int(worst_cc[i])
        if k < 0:
            return ""
        if (k, j) not in point_text:
            c = ccs[k]
            org = span.orgs[c.org]
            pdef = _point_def_for(org, c, classes[c.org][0])
            point = pdef.point(j) if pdef else None
            point_text[(k, j)] = f"{c.cc}: {point.describe() if point else f'SPAN scenario {j}'}"
        return point_text[(k, j)]

    def full_result(columns: GroupMargins, i: int) -> MarginResult:
        if i in reference:
            return reference[i]
        detail = span_account(span, *netted(i), opts, account=plain(labels[i]))
        return dataclasses.replace(columns.result_from_columns(i), details=detail.details)

    label_array = np.empty(n_acc, dtype=object)
    label_array[:] = list(labels)
    columns = GroupMargins(
        method="span",
        parameters_source=source.strip(),
        accounts=label_array,
        account=np.arange(n_acc, dtype=np.int64),
        group_names=currencies,
        group=currency,
        currencies=currencies,
        currency=currency,
        initial=initial,
        maintenance=maintenance,
        usd_rate=usd[currency],
        components=components,
        calibration=calibration,
        worst_index=worst_index,
        worst_pnl=worst_pnl,
        worst_description=describe,
        row_result=full_result,
    )
    return columns


def _usd_rate(span: SpanFile, currency: str) -> float:
    if currency == "USD":
        return 1.0
    for org in span.orgs:
        try:
            return _convert(org, 1.0, currency, "USD")
        except ValueError:
            continue
    return float("nan")
