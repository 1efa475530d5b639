"""Events of the live engine: an account crossing its initial or maintenance margin, or recovering.

An account is at one of three levels: ``ok`` (equity covers initial margin), ``margin_call`` (below initial
margin: no new risk may be opened) and ``liquidation`` (below maintenance margin).  An event is emitted each
time an account's level changes, once per crossing: ``margin_call`` or ``liquidation`` when it worsens,
``recovery`` when it improves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LEVELS = ("ok", "margin_call", "liquidation")


def level_change(was: int, now: int) -> str:
    """The event kind of a move from level ``was`` to ``now`` (indices into LEVELS)."""
    if now == was:
        raise ValueError("no level change")
    return LEVELS[now] if now > was else "recovery"


@dataclass(frozen=True)
class Event:
    """One level change of one account.  ``figures``: the account's figures after the update (as
    ``RiskEngine.account``); ``contributors``: under deribit-pm, the positions losing most in the account's
    worst scenario (instrument, quantity, P&L in USD); ``timestamp``: of the update, in ms, when it had one."""

    kind: str
    account: Any
    level: str
    previous: str
    timestamp: int | None
    figures: dict[str, Any] = field(repr=False)
    contributors: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "account": self.account,
            "level": self.level,
            "previous": self.previous,
            "timestamp": self.timestamp,
            "figures": self.figures,
            "contributors": list(self.contributors),
        }


__all__ = ["LEVELS", "Event", "level_change"]
