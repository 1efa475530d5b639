"""SPAN spreads: the per-combined-commodity state the spreads work on and the spreads that change it.

Delta spreads (intra, super and inter) by charge method F, P and W, and scanning spreads, in the order and
by the rules documented in riskoffset.margining.span.algorithm and docs/span.md.  Kept apart from the
per-account assembly because every spread kind reads and moves the same pools of deltas and scan risk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._types import FloatArray, IntArray
from .model import CombinedCommodity, DeltaSpread, Leg, PointDef, ScanSpread, Tier


@dataclass
class CCResult:
    org: int
    cc: str
    currency: str
    scan: float = 0.0
    active: int = 0  # 1-based scenario number of the scan risk (0 = none)
    losses: FloatArray = field(default_factory=lambda: np.zeros(0))
    intra: float = 0.0
    spot: float = 0.0
    inter: float = 0.0
    som: float = 0.0
    nov: float = 0.0
    time_risk: float = 0.0
    vol_risk: float = 0.0
    price_risk: float = 0.0
    inter_deltas: dict[str, float] = field(default_factory=dict)  # remaining, per inter tier ("*" = CC)
    inter_orig: dict[str, float] = field(default_factory=dict)
    spreads_formed: list[dict[str, Any]] = field(default_factory=list)
    point_def: PointDef = field(default_factory=lambda: PointDef(0, ()))

    @property
    def risk(self) -> float:
        return max(self.scan + self.intra + self.spot - self.inter, self.som)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cc": self.cc,
            "currency": self.currency,
            "scan_risk": self.scan,
            "active_scenario": self.active,
            "intra_spread_charge": self.intra,
            "spot_charge": self.spot,
            "inter_spread_credit": self.inter,
            "short_option_minimum": self.som,
            "risk": self.risk,
            "net_option_value": self.nov,
            "time_risk": self.time_risk,
            "volatility_risk": self.vol_risk,
            "price_risk": self.price_risk,
            "scenario_losses": self.losses.tolist(),
            "spreads": list(self.spreads_formed),
        }


def rate_for(rates: Mapping[int, float], r: int, fallback: int) -> float | None:
    if r in rates:
        return rates[r]
    if fallback in rates:
        return rates[fallback]
    if rates:
        return rates[min(rates)]
    return None


def period_match(pe: str, spot: str) -> bool:
    if spot.endswith(("00", "99")):
        return pe[:6] == spot[:6]
    return pe == spot


def tier_of(tiers: tuple[Tier, ...], pe: str) -> str | None:
    for t in tiers:
        if t.contains(pe):
            return t.tn
    return None


def spread_count(deltas: list[float], spread: DeltaSpread) -> float:
    """Number of spreads that form (0 if the legs' signs do not fit the A/B sides)."""
    sign_a = 0.0
    for d, leg in zip(deltas, spread.legs):
        if d == 0:
            return 0.0
        s = math.copysign(1.0, d) * (1.0 if leg.side == "A" else -1.0)
        if sign_a == 0:
            sign_a = s
        elif s != sign_a:
            return 0.0
    return min(abs(d) / leg.ratio for d, leg in zip(deltas, spread.legs))


def credit_rate(value: float) -> float:
    return value / 100.0 if value > 1.0 else value


@dataclass
class CCWork:
    """One CC's state while the spreads run: the delta pools the spreads consume, in the order SPAN forms
    them (super spreads, intra spreads, spot, inter spreads), and its scan as scanning spreads move it."""

    cc: CombinedCommodity
    res: CCResult
    n: FloatArray
    rows: IntArray
    pe: npt.NDArray[np.str_]
    dn: FloatArray  # position deltas (contracts x composite delta)
    periods: list[str]
    period_delta: dict[str, float]
    tier_delta: dict[str, float]  # per intra tier; "*" = the whole CC when it has no intra tiers
    consumed: dict[tuple[str, str], float] = field(default_factory=dict)  # ("t", tn) / ("p", pe) -> moved
    psr: float | None = None  # price scan range of the CC's futures (weighted-price intra spreads)
    scan_now: float = 0.0  # scan risk after scanning spreads moved risk in or out
    losses_now: FloatArray = field(default_factory=lambda: np.zeros(0))
    absorbed: bool = False  # its scenario losses were moved into another CC by a scanning spread
    offset: bool = False  # a leg of a scanning spread: its risk is offset, it takes no delta-based credit

    def orig_delta(self, key: tuple[str, str]) -> float:
        """A pool's delta before any spread consumed it."""
        if key[0] == "p":
            return float(self.dn[self.pe == key[1]].sum())
        if key[1] == "*":
            return float(self.dn.sum())
        in_tier = [tier_of(self.cc.intra_tiers, p) == key[1] for p in self.pe.tolist()]
        return float(self.dn[np.array(in_tier, dtype=bool)].sum()) if in_tier else 0.0


def leg_pool(work: CCWork, leg: Leg, where: str) -> tuple[dict[str, float], tuple[str, str]]:
    """The delta pool a spread leg draws on: its intra tier, its period, or the whole CC (no intra tiers)."""
    if leg.period:
        return work.period_delta, ("p", leg.period)
    if leg.tier in work.tier_delta or any(t.tn == leg.tier for t in work.cc.intra_tiers):
        return work.tier_delta, ("t", leg.tier)
    if "*" in work.tier_delta:
        if work.cc.inter_tiers:
            raise ValueError(
                f"{where}: leg tier {leg.tier!r} of combined commodity {work.cc.cc} is not an intra tier and the "
                "CC has inter tiers: which of them the spread consumes is not defined"
            )
        return work.tier_delta, ("t", "*")
    raise ValueError(f"{where}: leg tier {leg.tier!r} is not an intra tier of combined commodity {work.cc.cc}")


def month_index(period: str) -> int:
    return int(period[:4]) * 12 + int(period[4:6])


def leg_period(work: CCWork, leg: Leg, where: str) -> str:
    if leg.period:
        return leg.period
    for t in work.cc.intra_tiers:
        if t.tn == leg.tier and t.start:
            return t.start
    raise ValueError(f"{where}: per-month charge needs the period of leg tier {leg.tier!r} of {work.cc.cc}")


def weighted_price_risk(work: CCWork, orig_delta: float) -> float:
    """Weighted futures price risk of an inter-spread leg: price risk per delta of the leg's tier (wfprMeth
    NORMAL / 1), capped at the futures price scan range (SCANRANGE_CAP / 2) or set to it (SCANRANGE / 3)."""
    orig = abs(orig_delta)
    wfpr = work.res.price_risk / orig if orig > 0 else 0.0
    meth = work.cc.wfpr_meth.strip().upper()
    if meth in ("2", "3", "SCANRANGE_CAP", "SCANRANGE"):
        if work.psr is None:
            raise ValueError(
                f"combined commodity {work.cc.cc}: wfprMeth {work.cc.wfpr_meth} needs the futures price scan "
                "range (<scanRate><priceScan>) and the file has none"
            )
        wfpr = min(wfpr, work.psr) if meth in ("2", "SCANRANGE_CAP") else work.psr
    return wfpr


def spread_amounts(spread: DeltaSpread, count: float, works: Mapping[str, CCWork], origs: list[float],
                    r: int, r_m: int, *, intra: bool, where: str) -> dict[str, float]:  # fmt: skip
    """Charge (+) per CC of ``count`` delta spreads by the spread's charge method.

    W (weighted price risk): per leg ``rate x count x i_leg x WFPR``; a credit for inter and super spreads,
    a charge for intra spreads, whose WFPR is the futures price scan range per delta.  F (flat): ``count x
    rate``.  P (per month per spread): ``count x (val + psRate + pmRate x months between the legs)``.  A
    flat or per-month amount of a spread across CCs is shared equally by its CCs.  ``origs``: each leg's
    delta before any spread (the denominator of its WFPR)."""
    if spread.spread_type.strip().upper() in ("DELTAVOL", "DELATVOL"):
        raise ValueError(f"{where}: volatility offsets (spreadType {spread.spread_type}) are not implemented")
    meth = spread.charge_meth
    if meth == "W":
        out: dict[str, float] = {}
        spread_rate = rate_for(spread.rates, r, r_m)
        for leg, orig in zip(spread.legs, origs):
            rate = rate_for(leg.rates, r, r_m) if leg.rates else spread_rate
            if rate is None:
                raise ValueError(f"{where}: no <rate> for r={r}")
            work = works[leg.cc]
            if intra:
                if work.psr is None:
                    raise ValueError(
                        f"{where}: a weighted-price intra spread needs the futures price scan range "
                        f"(<scanRate><priceScan>) of {work.cc.cc} and the file has none"
                    )
                wfpr = work.psr
            else:
                wfpr = weighted_price_risk(work, orig)
            amount = credit_rate(rate) * count * leg.ratio * wfpr
            out[leg.cc] = out.get(leg.cc, 0.0) + (amount if intra else -amount)
        return out
    if meth == "F":
        per_spread = rate_for(spread.rates, r, r_m)
        if per_spread is None:
            raise ValueError(f"{where}: no <rate> for r={r}")
    elif meth == "P":
        pmps = spread.pmps.get(r) or spread.pmps.get(r_m) or (spread.pmps[min(spread.pmps)] if spread.pmps else None)
        if pmps is None:
            raise ValueError(f"{where}: chargeMeth P needs a <pmpsRate> for r={r}")
        val, per_month, per_spread_rate = pmps
        months = [month_index(leg_period(works[leg.cc], leg, where)) for leg in spread.legs]
        per_spread = val + per_spread_rate + per_month * (max(months) - min(months))
    else:
        raise ValueError(f"{where}: chargeMeth {meth!r} is not one of F, P, W")
    ccs = list(dict.fromkeys(leg.cc for leg in spread.legs))
    return {c: count * per_spread / len(ccs) for c in ccs}


def delta_spread(spread: DeltaSpread, works: Mapping[str, CCWork], r: int, r_m: int, level: str) -> None:
    """Form ``spread`` on the delta pools (intra and super spreads) and book its charge or credit."""
    where = f"{level} spread {spread.priority}" + (f" of {spread.legs[0].cc}" if level == "intra" else "")
    if any(leg.cc not in works for leg in spread.legs):
        return
    pools = [leg_pool(works[leg.cc], leg, where) for leg in spread.legs]
    deltas = [pool.get(key[1], 0.0) for pool, key in pools]
    count = spread_count(deltas, spread)
    if count <= 0:
        return
    origs = [works[leg.cc].orig_delta(key) for leg, (_, key) in zip(spread.legs, pools)]
    amounts = spread_amounts(spread, count, works, origs, r, r_m, intra=level == "intra", where=where)
    for (pool, key), leg, dv in zip(pools, spread.legs, deltas):
        moved = math.copysign(count * leg.ratio, dv)
        pool[key[1]] = dv - moved
        consumed = works[leg.cc].consumed
        consumed[key] = consumed.get(key, 0.0) + moved
    for c, amount in amounts.items():
        if level == "intra":
            works[c].res.intra += amount
        else:
            works[c].res.inter -= amount
        works[c].res.spreads_formed.append(
            {
                "type": level,
                "spread": spread.priority,
                "method": spread.charge_meth,
                "count": count,
                "charge": amount,
            }
        )


def scanning_spread(spread: ScanSpread, works: Mapping[str, CCWork], r: int, r_m: int, level: str) -> None:
    """Scan the legs' scenario losses together in the target CC; the other legs' gains count at the rate.

    Each leg is credited the scan risk it gives up (the target is charged any rise of its own), so the
    CCs' requirements add up to the joint scan.  The legs then take no delta-based inter credit."""
    where = f"{level} scanning spread {spread.priority}"
    legs = [leg for leg in spread.legs if leg.cc in works and not works[leg.cc].absorbed]
    if any(leg.is_required and leg not in legs for leg in spread.legs):
        return
    target = next(leg for leg in spread.legs if leg.is_target)
    if target not in legs or len(legs) < 2:
        return
    if spread.per_point:
        raise ValueError(f"{where}: per-point aggregation (sPointDef) is not implemented")
    rate = rate_for(spread.rates, r, r_m)
    if rate is None:
        raise ValueError(f"{where}: no <rate> for r={r}")
    allowance = credit_rate(rate)
    tw = works[target.cc]
    combined = tw.losses_now.copy()
    for leg in legs:
        if leg is target:
            continue
        other = works[leg.cc].losses_now
        if other.shape != combined.shape:
            raise ValueError(f"{where}: {leg.cc} and {target.cc} have different numbers of scenarios")
        combined += np.where(other > 0, other, allowance * other)
    joint = max(0.0, float(combined.max())) if len(combined) else 0.0
    if joint >= sum(works[leg.cc].scan_now for leg in legs):
        return
    for leg in legs:
        w = works[leg.cc]
        after = joint if leg is target else 0.0
        credit = w.scan_now - after
        w.res.inter += credit
        w.scan_now = after
        if leg is not target:
            w.absorbed = True
            w.losses_now = np.zeros_like(w.losses_now)
        w.offset = True
        w.res.inter_deltas = dict.fromkeys(w.res.inter_deltas, 0.0)
        w.res.spreads_formed.append(
            {"type": level, "spread": spread.priority, "method": "scanning", "target": target.cc, "credit": credit}
        )
    tw.losses_now = combined


def inter_spread(spread: DeltaSpread, works: Mapping[str, CCWork], r: int, r_m: int) -> None:
    """An inter-commodity delta spread (`riskoffset.margining.span.algorithm`) on the deltas the intra spreads
    left."""
    legs = spread.legs
    if any(leg.cc not in works for leg in legs):
        return
    keys = [leg.tier if leg.tier in works[leg.cc].res.inter_deltas else "*" for leg in legs]
    if any(k not in works[leg.cc].res.inter_deltas for k, leg in zip(keys, legs)):
        return
    deltas = [works[leg.cc].res.inter_deltas[k] for k, leg in zip(keys, legs)]
    count = spread_count(deltas, spread)
    if count <= 0:
        return
    origs = [works[leg.cc].res.inter_orig[k] for leg, k in zip(legs, keys)]
    amounts = spread_amounts(spread, count, works, origs, r, r_m, intra=False,
                              where=f"inter-commodity spread {spread.priority}")  # fmt: skip
    for leg, k, dv in zip(legs, keys, deltas):
        works[leg.cc].res.inter_deltas[k] = dv - math.copysign(count * leg.ratio, dv)
    total = -sum(amounts.values())
    for c, amount in amounts.items():
        works[c].res.inter -= amount
        works[c].res.spreads_formed.append(
            {
                "type": "inter",
                "spread": spread.priority,
                "method": spread.charge_meth,
                "count": count,
                "credit": -amount,
                "credit_total": total,
            }
        )
