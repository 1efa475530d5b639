"""The SPAN risk-parameter model read from a .spn file: clearing organisations, combined commodities,
product families, tiers, spreads and the contract table with its risk arrays (see docs/span.md).  The
parser that fills it is riskoffset.margining.span.parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._types import FloatArray, IntArray

#: Contract kinds (ContractTable.kind codes).
KINDS: tuple[str, ...] = ("future", "option", "physical", "forward")
KIND_FUTURE, KIND_OPTION, KIND_PHYSICAL, KIND_FORWARD = range(4)


class SpanFileError(ValueError):
    """A .spn file that cannot be used: names the element, its line and what is wrong."""

    def __init__(self, message: str, *, element: str = "", line: int | None = None, source: str = ""):
        where = []
        if source:
            where.append(source)
        if line is not None:
            where.append(f"line {line}")
        prefix = ", ".join(where)
        elem = f"<{element}>: " if element else ""
        super().__init__(f"{prefix}: {elem}{message}" if prefix else f"{elem}{message}")
        self.element = element
        self.line = line
        self.source = source


# ---------------------------------------------------------------------------------------------- data model
@dataclass(frozen=True)
class ScanPoint:
    """One scenario of a pointDef: price move as a fraction of the price scan range, vol move as a
    fraction of the volatility scan range, its weight (cover fraction) and paired point (0 = none)."""

    point: int
    price: float
    vol: float
    weight: float
    paired: int
    price_text: str = ""  # e.g. "+1/3"
    vol_text: str = ""

    def describe(self) -> str:
        w = f", weight {self.weight:g}" if self.weight != 1.0 else ""
        return f"SPAN scenario {self.point} (price {self.price_text} PSR, vol {self.vol_text} VSR{w})"


@dataclass(frozen=True)
class PointDef:
    r: int
    scan_points: tuple[ScanPoint, ...]
    delta_points: tuple[ScanPoint, ...] = ()

    def point(self, number: int) -> ScanPoint | None:
        for p in self.scan_points:
            if p.point == number:
                return p
        return None


@dataclass(frozen=True)
class PbRateDef:
    r: int
    is_cust: bool
    acct_type: str
    is_m: bool
    pbc: str


@dataclass(frozen=True)
class Tier:
    tn: str
    start: str  # normalised period start (8 digits) or "" = open
    end: str  # normalised period end or "" = open
    rates: dict[int, float] = field(default_factory=dict)

    def contains(self, pe: str) -> bool:
        return (not self.start or pe >= self.start) and (not self.end or pe <= self.end)


@dataclass(frozen=True)
class Leg:
    cc: str
    tier: str  # tn for tLeg, "" for pLeg
    period: str  # normalised pe for pLeg, "" for tLeg
    side: str  # "A" or "B"
    ratio: float  # delta per spread (i)
    rates: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DeltaSpread:
    priority: int
    charge_meth: str
    rates: dict[int, float]
    pmps: dict[int, tuple[float, float, float]]  # r -> (val, pmRate, psRate)
    legs: tuple[Leg, ...]
    spread_type: str = ""


@dataclass(frozen=True)
class ScanLeg:
    """One leg of a scanning-based spread: a combined commodity, whether it is the target (the CC whose
    scan takes in the other legs' scenario losses) and whether the spread needs it to form."""

    cc: str
    is_target: bool
    is_required: bool = True


@dataclass(frozen=True)
class ScanSpread:
    """A scanning-based spread (``sSpread``): the legs' scenario losses are scanned together in the target
    CC, gains of the other legs counted at the rate (gain allowance, a fraction or a percentage)."""

    priority: int
    rates: dict[int, float]
    legs: tuple[ScanLeg, ...]
    per_point: bool = False  # the file defines per-point aggregation (sPointDef), which is not supported


@dataclass(frozen=True)
class SpotRate:
    r: int
    period: str
    sprd: float
    outr: float


@dataclass(frozen=True)
class ProductFamily:
    org: int
    exch: str
    pf_id: int
    pf_code: str
    kind: str  # XML tag: futPf, oofPf, ...
    currency: str
    cvf: float
    value_meth: str
    name: str = ""


@dataclass
class CombinedCommodity:
    org: int
    cc: str
    name: str
    currency: str
    cap_anov: bool | None
    wfpr_meth: str
    spot_meth: str
    som_meth: str
    pf_links: tuple[tuple[str, int], ...]
    adj_rates: tuple[tuple[int, int, float], ...]  # (r, baseR, val)
    scan_tiers: tuple[Tier, ...]
    intra_tiers: tuple[Tier, ...]
    inter_tiers: tuple[Tier, ...]
    som_tiers: tuple[Tier, ...]
    spreads: tuple[DeltaSpread, ...]
    spot_rates: tuple[SpotRate, ...]
    point_defs: dict[int, PointDef]


@dataclass
class ClearingOrg:
    ec: str
    name: str
    cap_anov: bool
    look_ahead_days: float | None
    days_per_year: float | None
    cur_conv: dict[tuple[str, str], float]
    pb_rates: tuple[PbRateDef, ...]
    point_defs: dict[int, PointDef]
    combined: dict[str, CombinedCommodity]
    inter_spreads: tuple[DeltaSpread | ScanSpread, ...]
    #: super-intercommodity spreads: formed before the intra-commodity (calendar) spreads
    super_spreads: tuple[DeltaSpread | ScanSpread, ...] = ()


@dataclass
class ContractTable:
    """One row per contract (columns are numpy arrays; ``pe`` and ``option`` are str arrays).

    ``arrays[r]`` is the (rows, points) risk-array matrix of rate class r (losses of one long contract
    positive), ``composite[r]`` the composite delta stored with it; rows without an array for r are NaN.
    ``price_scan`` is the contract's first scanRate priceScan (NaN if none).
    """

    cid: IntArray
    pf: IntArray  # index into SpanFile.product_families
    kind: npt.NDArray[np.int8]
    pe: npt.NDArray[np.str_]  # normalised period (8 digits)
    option: npt.NDArray[np.str_]  # "C", "P" or ""
    strike: FloatArray
    price: FloatArray
    delta: FloatArray
    cvf: FloatArray
    price_scan: FloatArray
    arrays: dict[int, FloatArray]
    composite: dict[int, FloatArray]

    def __len__(self) -> int:
        return len(self.cid)


@dataclass
class SpanFile:
    """A parsed .spn risk-parameter file."""

    source: str
    file_format: str
    created: str
    business_date: str
    is_settlement: bool | None
    settlement_qualifier: str
    time: str
    run: str
    currencies: tuple[str, ...]
    orgs: list[ClearingOrg]
    product_families: list[ProductFamily]
    contracts: ContractTable
    _lookup: dict[str, int] = field(default_factory=dict, repr=False)
    _cc_of_pf: npt.NDArray[np.int64] | None = field(default=None, repr=False)
    _cc_list: list[CombinedCommodity] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        ccs = sum(len(o.combined) for o in self.orgs)
        return (
            f"SpanFile({Path(self.source).name or '<stream>'!s}, {self.business_date}, "
            f"{len(self.orgs)} clearing org(s), {ccs} combined commodities, {len(self.contracts)} contracts)"
        )

    @property
    def n_points(self) -> int:
        for a in self.contracts.arrays.values():
            return int(a.shape[1])
        return 16

    # ------------------------------------------------------------------ contract identifiers
    def contract_label(self, row: int) -> str:
        """The canonical identifier of a contract row: ``EXCH:PFCODE:CID``."""
        pf = self.product_families[int(self.contracts.pf[row])]
        return f"{pf.exch}:{pf.pf_code}:{int(self.contracts.cid[row])}"

    def row(self, key: Any) -> int:
        """Row of a contract given its cId (int or digits, if unique in the file), ``PFCODE:CID``,
        ``EXCH:PFCODE:CID`` or ``EC:EXCH:PFCODE:CID``."""
        if not self._lookup:
            self._build_lookup()
        k = str(key).strip()
        row = self._lookup.get(k)
        if row is None:
            raise KeyError(f"contract {key!r} is not in {Path(self.source).name or 'the SPAN file'}")
        if row < 0:
            raise KeyError(
                f"contract {key!r} is ambiguous in {Path(self.source).name or 'the SPAN file'}: "
                "qualify it as PFCODE:CID or EXCH:PFCODE:CID"
            )
        return row

    def _build_lookup(self) -> None:
        lookup: dict[str, int] = {}

        def put(k: str, row: int) -> None:
            lookup[k] = -1 if k in lookup and lookup[k] != row else row

        pfs = self.product_families
        for row, (cid, pf) in enumerate(zip(self.contracts.cid.tolist(), self.contracts.pf.tolist())):
            fam = pfs[pf]
            org = self.orgs[fam.org].ec
            put(str(cid), row)
            put(f"{fam.pf_code}:{cid}", row)
            put(f"{fam.exch}:{fam.pf_code}:{cid}", row)
            put(f"{org}:{fam.exch}:{fam.pf_code}:{cid}", row)
        self._lookup = lookup

    def combined_commodity_of_rows(self) -> tuple[npt.NDArray[np.int64], list[CombinedCommodity]]:
        """Index of each contract's combined commodity in the returned list (-1 = not linked)."""
        if self._cc_of_pf is None:
            ccs: list[CombinedCommodity] = []
            link: dict[tuple[int, str, int], int] = {}
            for org_i, org in enumerate(self.orgs):
                for cc in org.combined.values():
                    for exch, pf_id in cc.pf_links:
                        link[(org_i, exch, pf_id)] = len(ccs)
                    ccs.append(cc)
            self._cc_of_pf = np.array(
                [link.get((p.org, p.exch, p.pf_id), -1) for p in self.product_families], dtype=np.int64
            )
            self._cc_list = ccs
        cc_of_pf = self._cc_of_pf
        return (cc_of_pf[self.contracts.pf] if len(self.contracts) else np.zeros(0, np.int64)), self._cc_list


def normalise_period(pe: str, *, end: bool = False) -> str:
    """YYYYMM -> YYYYMM00 (start) or YYYYMM99 (end of a tier range); YYYYMMDD unchanged."""
    pe = pe.strip()
    if len(pe) == 6 and pe.isdigit():
        return pe + ("99" if end else "00")
    if len(pe) == 8 and pe.isdigit():
        return pe
    if not pe:
        return ""
    raise ValueError(f"period {pe!r} is not YYYYMM or YYYYMMDD")
