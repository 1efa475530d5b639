"""riskoffset: portfolio risk and margin engine for crypto and listed derivatives.

Prices, Greeks and implied volatility for whole books at once from a C++ SIMD core.  Conventions: t in
years (ACT/365), vol and rates as decimals, Greeks per unit (vega per 1.00 vol, theta per year).
"""

from __future__ import annotations

try:
    from . import _core
except ImportError as exc:  # pragma: no cover - only on a broken install
    raise ImportError(
        "riskoffset's compiled core (riskoffset._core) failed to import. Reinstall with `pip install .` "
        f"from the source tree (a C++17 compiler and CMake are needed). Original error: {exc}"
    ) from exc

try:
    _core.simd.active_target()  # chooses the SIMD target now, so a bad RISKOFFSET_SIMD fails here, clearly
except ValueError as exc:
    raise ImportError(f"riskoffset: RISKOFFSET_SIMD is invalid: {exc}") from None

from . import hedging, margining, reporting, units
from .accounts import AccountView, Balances, CollateralTable, account, compare_collateral
from .book import Book, GreeksReport
from .hedging import HedgeResult, cross_hedge, hedge
from .implied_vol import IVStatus, implied_vol
from .instruments import Instrument, InstrumentTable
from .liquidation import Liquidation, liquidation
from .live import ClusterEngine, Event, RiskEngine
from .margining import compare as compare_margins
from .margining import margin
from .margining.bulk import margin_accounts
from .margining.result import MarginResult, WorstScenario
from .market import Market, MarketDataError
from .pricing import GREEK_NAMES, greeks, price
from .reporting import report  # ro.report(book, market): the HTML risk report
from .revaluation import revalue
from .simd import set_simd, simd_info, simd_target
from .whatif import WhatIf, WhatIfResult
from .whatif_span import SpanWhatIf

__version__ = "0.1.0"
__all__ = [
    "GREEK_NAMES",
    "AccountView",
    "Balances",
    "Book",
    "ClusterEngine",
    "CollateralTable",
    "Event",
    "GreeksReport",
    "HedgeResult",
    "IVStatus",
    "Instrument",
    "InstrumentTable",
    "Liquidation",
    "MarginResult",
    "Market",
    "MarketDataError",
    "RiskEngine",
    "SpanWhatIf",
    "WhatIf",
    "WhatIfResult",
    "WorstScenario",
    "__version__",
    "account",
    "compare_collateral",
    "compare_margins",
    "cross_hedge",
    "greeks",
    "hedge",
    "hedging",
    "implied_vol",
    "liquidation",
    "margin",
    "margin_accounts",
    "margining",
    "price",
    "report",
    "reporting",
    "revalue",
    "set_simd",
    "simd_info",
    "simd_target",
    "units",
]


def __getattr__(name: str) -> object:
    # ro.compat (the vollib / py_vollib_vectorized drop-ins) is imported on first use: it is not needed by
    # the core API and its vectorized module imports pandas lazily.
    if name == "compat":
        import importlib

        return importlib.import_module(".compat", __name__)
    raise AttributeError(f"module 'riskoffset' has no attribute {name!r}")
