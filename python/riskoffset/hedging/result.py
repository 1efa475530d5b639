"""What `ro.hedge` returns: the trades (`Trade`) and a `HedgeResult` with their cost, the Greeks before and
after with their units, the scenario profiles, the margins and any warning; as text, dicts or DataFrames.

Greeks are keyed ``"<measure> <underlying>"`` (vega per expiry ``"vega BTC 2026-12-25"``) and held in the
package's own units (docs/units.md): per unit of amount summed over the account, delta in coin, gamma in
coin per USD of the forward, vega in USD per 1.00 of vol.  The printed table shows vega per vol point, the
unit Deribit displays, and names the unit of every row.  Two deltas are reported: ``delta`` is the
premium-adjusted coin delta the hedge neutralises (for an inverse option its Black-76 delta minus its coin
premium, since the premium is itself held in coin), ``delta_b76`` the plain Black-76 delta Deribit shows
next to each option (the same as ``delta`` for futures, perpetuals and linear products).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..margining.result import MarginResult
from ..optional import require_pandas
from ..tables import Column, render
from .costs import TradeCost
from .residual import ScenarioProfile

#: Unit of each Greek measure as held in a HedgeResult (fields and dicts).
GREEK_UNITS: dict[str, str] = {
    "delta": "coin (premium-adjusted)",
    "delta_b76": "coin (plain Black-76)",
    "gamma": "coin per USD",
    "vega": "USD per 1.00 vol",
}
#: How the printed table shows a measure: (factor, unit); vega per vol point as Deribit displays it.
PRINTED_UNITS: dict[str, tuple[float, str]] = {"vega": (0.01, "USD per vol point")}
DELTA_NEUTRALISED = (
    "delta is the premium-adjusted coin delta (inverse options: Black-76 delta minus the coin premium; "
    "inverse futures and perpetuals 1/F coin per USD of face); delta_b76 is the plain Black-76 delta"
)


def measure_of(label: str) -> str:
    """The measure of a Greek label (``"vega BTC 2026-12-25"`` -> ``"vega"``)."""
    return label.split(" ", 1)[0]


@dataclass(frozen=True)
class Trade:
    """One hedge trade: signed amount (Deribit size units), in lots, and its cost in USD."""

    instrument: str
    quantity: float
    lot: float
    unrounded: float
    premium_usd: float
    fee_usd: float
    half_spread_usd: float

    @property
    def side(self) -> str:
        return "buy" if self.quantity > 0 else "sell"

    @property
    def lots(self) -> float:
        return round(self.quantity / self.lot)

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "side": self.side,
            "quantity": self.quantity,
            "lots": self.lots,
            "lot": self.lot,
            "unrounded": self.unrounded,
            "premium_usd": self.premium_usd,
            "fee_usd": self.fee_usd,
            "half_spread_usd": self.half_spread_usd,
        }


@dataclass(frozen=True)
class HedgeResult:
    """A hedge and its consequences (module doc for keys and units).  ``warnings`` flag a hedge that may
    not do what its user expects (a margin-minimising hedge that adds delta); ``flags`` note the inputs
    that were missing (quotes, commissions)."""

    target: str
    account: Any
    candidates: tuple[str, ...]
    trades: tuple[Trade, ...]
    cost: TradeCost
    greeks_before: dict[str, float]
    greeks_after: dict[str, float]
    greeks_unrounded: dict[str, float]
    profiles: dict[str, ScenarioProfile]
    margin_before: MarginResult | None
    margin_after: MarginResult | None
    flags: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    neutralised: tuple[str, ...] = ()

    @property
    def greek_units(self) -> dict[str, str]:
        """Unit of every Greek key (module doc)."""
        return {k: GREEK_UNITS[measure_of(k)] for k in self.greeks_before}

    @property
    def rounding_error(self) -> dict[str, float]:
        """Greeks left by rounding to lots: after the rounded hedge minus after the continuous one."""
        return {k: self.greeks_after[k] - self.greeks_unrounded[k] for k in self.greeks_after}

    @property
    def quantities(self) -> dict[str, float]:
        return {t.instrument: t.quantity for t in self.trades}

    @property
    def upside_given_up_usd(self) -> float:
        """Sum over risk groups of the fall of the best standard-scenario P&L, USD (>= 0)."""
        return sum(p.upside_given_up_usd for p in self.profiles.values())

    def greek_rows(self) -> list[dict[str, Any]]:
        """One dict per Greek: key, measure, unit, before, after, unrounded, from_rounding, neutralised."""
        err = self.rounding_error
        return [
            {
                "greek": k,
                "measure": measure_of(k),
                "unit": GREEK_UNITS[measure_of(k)],
                "before": v,
                "after": self.greeks_after[k],
                "unrounded": self.greeks_unrounded[k],
                "from_rounding": err[k],
                "neutralised": measure_of(k) in self.neutralised,
            }
            for k, v in self.greeks_before.items()
        ]

    def to_dict(self) -> dict[str, Any]:
        def m(r: MarginResult | None) -> Any:
            return None if r is None else r.to_dict()

        return {
            "target": self.target,
            "account": self.account.item() if hasattr(self.account, "item") else self.account,
            "candidates": list(self.candidates),
            "trades": [t.to_dict() for t in self.trades],
            "cost": self.cost.to_dict(),
            "neutralised": list(self.neutralised),
            "delta_convention": DELTA_NEUTRALISED,
            "greek_units": self.greek_units,
            "greeks_before": self.greeks_before,
            "greeks_after": self.greeks_after,
            "rounding_error": self.rounding_error,
            "profiles": {k: p.to_dict() for k, p in self.profiles.items()},
            "upside_given_up_usd": self.upside_given_up_usd,
            "margin_before": m(self.margin_before),
            "margin_after": m(self.margin_after),
            "warnings": list(self.warnings),
            "flags": list(self.flags),
        }

    def to_pandas(self, table: str = "greeks") -> Any:
        """A pandas DataFrame of ``table``: "greeks" (one row per Greek key, `greek_rows`), "trades" (one row
        per trade) or "profiles" (one row per risk group and scenario: P&L before and after, group
        currency).  pandas is optional: ``pip install "riskoffset[pandas]"``."""
        if table not in ("greeks", "trades", "profiles"):
            raise ValueError(f"table must be 'greeks', 'trades' or 'profiles', got {table!r}")
        pd = require_pandas("HedgeResult.to_pandas()")
        if table == "greeks":
            return pd.DataFrame(
                self.greek_rows(),
                columns=[
                    "greek",
                    "measure",
                    "unit",
                    "before",
                    "after",
                    "unrounded",
                    "from_rounding",
                    "neutralised",
                ],
            ).set_index("greek")
        if table == "trades":
            columns = [
                "instrument",
                "side",
                "quantity",
                "lots",
                "lot",
                "unrounded",
                "premium_usd",
                "fee_usd",
                "half_spread_usd",
            ]
            return pd.DataFrame([t.to_dict() for t in self.trades], columns=columns).set_index("instrument")
        rows = [
            {
                "group": p.group,
                "scenario": label,
                "currency": p.currency,
                "standard": j < p.n_standard,
                "before": float(p.before[j]),
                "after": float(p.after[j]),
            }
            for p in self.profiles.values()
            for j, label in enumerate(p.labels)
        ]
        columns = ["group", "scenario", "currency", "standard", "before", "after"]
        return pd.DataFrame(rows, columns=columns).set_index(["group", "scenario"])

    TRADE_COLUMNS = (
        Column("instrument", label=True),
        Column("side"),
        Column("quantity", "sig", 8),
        Column("lots", "int"),
        Column("premium USD", "fixed", 2),
        Column("fees USD", "fixed", 2),
    )

    def trade_rows(self) -> tuple[tuple[Column, ...], list[list[Any]]]:
        """The trades as table columns and rows (quantity in amount units)."""
        rows = [[t.instrument, t.side, t.quantity, t.lots, t.premium_usd, t.fee_usd] for t in self.trades]
        return self.TRADE_COLUMNS, rows

    def table(self) -> str:
        lines = [
            f"hedge target {self.target} for account {self.account}; candidates {', '.join(self.candidates)}"
        ]
        if not self.trades:
            lines.append("no trade: the book is already hedged to within a lot")
        else:
            lines += render(*self.trade_rows())
        c = self.cost
        lines.append(
            f"cost: fees {c.fees:,.2f} USD + half-spread {c.half_spread:,.2f} USD = {c.total:,.2f} USD; "
            f"premium {c.premium:,.2f} USD"
        )
        lines.append("")
        greek_columns = (Column("greek", label=True), Column("unit"), Column("before", "sig", 6),
                         Column("after", "sig", 6), Column("from rounding", "sig", 3))  # fmt: skip
        greek_rows = []
        for row in self.greek_rows():
            factor, unit = PRINTED_UNITS.get(row["measure"], (1.0, row["unit"]))
            mark = " *" if row["neutralised"] else ""
            greek_rows.append([row["greek"] + mark, unit, row["before"] * factor, row["after"] * factor,
                               row["from_rounding"] * factor])  # fmt: skip
        lines += render(greek_columns, greek_rows)
        if self.neutralised:
            lines.append(f"* targeted: set to zero as far as the candidates allow; {DELTA_NEUTRALISED}")
        else:
            lines.append(f"{DELTA_NEUTRALISED}")
        lines.append("")
        for p in self.profiles.values():
            wb, wa = p.worst_before, p.worst_after
            lines.append(
                f"[{p.group}] worst scenario before {wb[2]:.6g} {p.currency} ({wb[1]}), after {wa[2]:.6g} "
                f"({wa[1]}); upside given up {p.upside_given_up_usd:,.2f} USD"
            )
        if self.margin_before is not None and self.margin_after is not None:
            b, a = self.margin_before, self.margin_after
            lines.append(
                f"deribit-pm margin USD: initial {b.initial_usd or 0:,.2f} -> {a.initial_usd or 0:,.2f}, "
                f"maintenance {b.maintenance_usd or 0:,.2f} -> {a.maintenance_usd or 0:,.2f}"
            )
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"note: {f}" for f in self.flags]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


__all__ = ["DELTA_NEUTRALISED", "GREEK_UNITS", "PRINTED_UNITS", "HedgeResult", "Trade", "measure_of"]
