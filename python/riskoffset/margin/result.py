"""The result every margin method returns: requirement, breakdown and provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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
    parameters_source: str = ""  # e.g. "deribit-pm 2024-06-17 [D6]" or the .spn file name and date
    details: dict[str, Any] = field(default_factory=dict)  # method-specific extras (vectors, per-group results)

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
        if self.worst_scenario is not None:
            ws = self.worst_scenario
            out["worst_scenario"] = {"index": ws.index, "description": ws.description, "pnl": ws.pnl}
        return out

    def __str__(self) -> str:
        lines = [f"{self.method} margin ({self.currency})"]

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
        return "\n".join(lines)
