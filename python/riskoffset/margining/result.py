"""The result every margin method returns: requirement, breakdown and provenance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..optional import require_pandas

Calibration = Literal["calibrated", "candidate", "exact"]


@dataclass(frozen=True)
class WorstScenario:
    """The scenario that sets the scan risk: its index in the method's scenario list and what it is."""

    index: int
    description: str  # e.g. "price -16 %, vol same" or "SPAN scenario 14 (+3 PSR, weight 0.35)"
    pnl: float  # the account P&L in that scenario (negative = loss), in `currency`


@dataclass(frozen=True)
class MarginResult:
    """Initial and maintenance margin of one account (or one risk group) under one method.

    All amounts are in ``currency`` (the book's settlement currency for that group, e.g. "BTC" or "USD")
    and, where a conversion rate is known, in USD.  ``components`` holds every add-on by name (scan risk,
    roll shock, short option minimum, ...), each an amount in ``currency`` that together explain
    ``initial``; ``calibration`` says for each component whether it reproduces published exchange output
    ("calibrated"), is a closed-form rule with no calibration needed ("exact"), or is a documented
    candidate formula not yet checked against the exchange ("candidate").
    """

    method: str
    initial: float
    maintenance: float
    currency: str
    initial_usd: float | None = None
    maintenance_usd: float | None = None
    worst_scenario: WorstScenario | None = None
    components: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, Calibration] = field(default_factory=dict)
    parameters_source: str = ""  # e.g. "deribit-pm 2024-06-17" or the .spn file name and date
    details: dict[str, Any] = field(
        default_factory=dict
    )  # the method's own extras (vectors, per-group results)
    account: Any = None  # the account this result is for (None: the whole book)
    group: str = ""  # the risk group (settlement currency, or a Deribit PM vector key such as "btc_btc")
    # Per (account, risk group) results an aggregate is the sum of (a tuple, or columns built on demand).
    groups: Sequence[MarginResult] = ()

    @classmethod
    def in_currency(
        cls,
        method: str,
        initial: float,
        maintenance: float,
        currency: str,
        usd_rate: float | None,
        *,
        details: dict[str, Any] | None = None,
        **fields: Any,
    ) -> MarginResult:
        """The one way margin methods build a result: amounts in ``currency``, their USD values at
        ``usd_rate`` (USD per unit of ``currency``; None when unknown, and then no USD amounts), the rate
        kept in ``details["usd_rate"]`` (aggregate reads it to add results of different currencies).
        Other fields (worst_scenario, components, calibration, parameters_source, account, group) pass
        through by name."""
        initial, maintenance = float(initial), float(maintenance)
        rate = None if usd_rate is None else float(usd_rate)
        return cls(
            method=method,
            initial=initial,
            maintenance=maintenance,
            currency=currency,
            initial_usd=None if rate is None else initial * rate,
            maintenance_usd=None if rate is None else maintenance * rate,
            details={"usd_rate": rate, **(details or {})},
            **fields,
        )

    def rows(self) -> list[dict[str, Any]]:
        """One record per (account, risk group) result (this result itself when it has no groups):
        account, group, currency, initial, maintenance, their USD values, then every component."""
        out = []
        for r in self.groups or (self,):
            row: dict[str, Any] = {
                "account": r.account.item() if hasattr(r.account, "item") else r.account,
                "group": r.group,
                "currency": r.currency,
                "initial": r.initial,
                "maintenance": r.maintenance,
                "initial_usd": r.initial_usd,
                "maintenance_usd": r.maintenance_usd,
            }
            row.update(r.components)
            out.append(row)
        return out

    def to_pandas(self) -> Any:
        """rows() as a pandas DataFrame (pandas is optional: without it an ImportError that says
        ``pip install "riskoffset[pandas]"``)."""
        return require_pandas().DataFrame(self.rows())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "currency": self.currency,
            "initial": self.initial,
            "maintenance": self.maintenance,
            "initial_usd": self.initial_usd,
            "maintenance_usd": self.maintenance_usd,
            "components": dict(self.components),
            "calibration": dict(self.calibration),
            "parameters_source": self.parameters_source,
        }
        if self.account is not None:
            out["account"] = self.account.item() if hasattr(self.account, "item") else self.account
        if self.group:
            out["group"] = self.group
        if self.worst_scenario is not None:
            ws = self.worst_scenario
            out["worst_scenario"] = {"index": ws.index, "description": ws.description, "pnl": ws.pnl}
        if self.groups:
            out["groups"] = [g.to_dict() for g in self.groups]
        return out

    def __str__(self) -> str:
        who = " ".join(str(x) for x in (self.account, self.group) if x not in (None, ""))
        lines = [f"{self.method} margin ({self.currency})" + (f" [{who}]" if who else "")]

        def usd(value: float | None) -> str:
            return "" if value is None else f"  ({value:,.2f} USD)"

        lines.append(f"  initial      {self.initial:>18.10g}{usd(self.initial_usd)}")
        lines.append(f"  maintenance  {self.maintenance:>18.10g}{usd(self.maintenance_usd)}")
        if self.worst_scenario is not None:
            ws = self.worst_scenario
            lines.append(f"  worst scenario #{ws.index}: {ws.description}, P&L {ws.pnl:.10g}")
        for name, value in self.components.items():
            tag = self.calibration.get(name, "")
            lines.append(f"  {name:<28}{value:>18.10g}  {tag}")
        for g in self.groups:
            lines.append("  " + str(g).replace("\n", "\n  "))
        return "\n".join(lines)


def aggregate(method: str, groups: list[MarginResult], parameters_source: str = "") -> MarginResult:
    """The requirement of a whole book: one group's result as it is, or the sum of several.

    Amounts add in a common currency: the groups' currency when they all share one, else USD, converted with
    each group's ``details["usd_rate"]`` (USD per unit of its currency).  Components add by name; a
    component's calibration is the weakest of its groups' (candidate < calibrated < exact).  The worst
    scenario shown is the one of the group with the largest initial margin in USD."""
    if not groups:  # an empty book (e.g. a long and a short that netted to nothing) needs no margin
        return MarginResult.in_currency(method, 0.0, 0.0, "USD", 1.0, parameters_source=parameters_source)
    if len(groups) == 1:
        return groups[0]
    currencies = {g.currency for g in groups}
    currency = currencies.pop() if len(currencies) == 1 else "USD"
    scale: list[float] = []
    for g in groups:
        rate = g.details.get("usd_rate")
        if currency == "USD" and g.currency != "USD" and rate is None:
            raise ValueError(
                f"{method}: cannot add a {g.currency} margin (account {g.account!r}, group {g.group!r}) to "
                "other currencies without its USD rate"
            )
        scale.append(1.0 if currency == g.currency or rate is None else float(rate))
    components: dict[str, float] = {}
    calibration: dict[str, Calibration] = {}
    rank = {"candidate": 0, "calibrated": 1, "exact": 2}
    for g, k in zip(groups, scale):
        for name, value in g.components.items():
            components[name] = components.get(name, 0.0) + value * k
            tag = g.calibration.get(name)
            if tag is not None and (name not in calibration or rank[tag] < rank[calibration[name]]):
                calibration[name] = tag
    usd_known = all(g.initial_usd is not None and g.maintenance_usd is not None for g in groups)
    worst = None
    scanned = [g for g in groups if g.worst_scenario is not None]
    if scanned:
        top = max(scanned, key=lambda g: g.initial_usd if g.initial_usd is not None else g.initial)
        ws = top.worst_scenario
        assert ws is not None
        who = " ".join(str(x) for x in (top.account, top.group) if x not in (None, ""))
        worst = WorstScenario(ws.index, f"{who}: {ws.description}", ws.pnl)
    return MarginResult(
        method=method,
        initial=sum(g.initial * k for g, k in zip(groups, scale)),
        maintenance=sum(g.maintenance * k for g, k in zip(groups, scale)),
        currency=currency,
        initial_usd=sum(g.initial_usd or 0.0 for g in groups) if usd_known else None,
        maintenance_usd=sum(g.maintenance_usd or 0.0 for g in groups) if usd_known else None,
        worst_scenario=worst,
        components=components,
        calibration=calibration,
        parameters_source=parameters_source or groups[0].parameters_source,
        groups=tuple(groups),
    )
