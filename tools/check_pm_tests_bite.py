#!/usr/bin/env python3
"""Show that the Deribit PM tests catch a few-percent change of any PM step.

For each perturbation (one parameter of every pair or currency scaled by a factor) the PM tests run with
`PMParameters.load` patched to return the perturbed set; a perturbation is *caught* when at least one test
fails.  Prints one line per perturbation with the failing tests; exits 1 if any perturbation passes unseen.

    python tools/check_pm_tests_bite.py            # tests/test_pm_pinned.py tests/test_margin_portfolio.py
    python tools/check_pm_tests_bite.py tests/test_pm_pinned.py
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import pytest
from riskoffset.margining.pm_parameters import PMParameters

# (label, "pair" | "currency" | "top", field, factor)
PERTURBATIONS: list[tuple[str, str, str, float]] = [
    ("price range +3%", "pair", "price_range", 1.03),
    ("vol range up +5%", "pair", "volatility_range_up", 1.05),
    ("vol range down +5%", "pair", "volatility_range_down", 1.05),
    ("extended table factor -5%", "pair", "extended_table_factor", 0.95),
    ("max delta shock x2", "pair", "max_delta_shock", 2.0),
    ("delta shock threshold -5%", "pair", "delta_total_liq_shock_threshold", 0.95),
    ("delta shock slope m_inc +5%", "pair", "m_inc", 1.05),
    ("annualised move risk +5%", "currency", "annualised_move_risk", 1.05),
    ("min annualised move +5%", "currency", "min_annualised_move", 1.05),
    ("extended dampener x0.5", "currency", "extended_dampener", 0.5),
    ("pnl_offset step +5%", "currency", "pnl_offset", 1.05),
    ("max offsetable pnl -5%", "currency", "max_offsetable_pnl", 0.95),
    ("MM factor +3%", "top", "mm_factor", 1.03),
]


def perturbed(params: PMParameters, where: str, field: str, factor: float) -> PMParameters:
    def scale(obj: Any) -> Any:
        return dataclasses.replace(obj, **{field: getattr(obj, field) * factor})

    if where == "pair":
        return dataclasses.replace(params, pairs={k: scale(v) for k, v in params.pairs.items()})
    if where == "currency":
        return dataclasses.replace(params, currencies={k: scale(v) for k, v in params.currencies.items()})
    return scale(params)


class _Failures:
    def __init__(self) -> None:
        self.failed: list[str] = []

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed:
            self.failed.append(report.nodeid.split("::")[-1])


def main(argv: list[str]) -> int:
    paths = argv or ["tests/test_pm_pinned.py", "tests/test_margin_portfolio.py"]
    original = PMParameters.load.__func__  # type: ignore[attr-defined]
    unseen = 0
    for label, where, field, factor in PERTURBATIONS:

        def load(
            cls: type[PMParameters], source: Any = None, _w: str = where, _f: str = field, _x: float = factor
        ) -> PMParameters:
            return perturbed(original(cls, source), _w, _f, _x)

        PMParameters.load = classmethod(load)  # type: ignore[method-assign, assignment]
        failures = _Failures()
        try:
            pytest.main(
                [
                    *paths,
                    "-q",
                    "-x",
                    "-p",
                    "no:cacheprovider",
                    "--no-header",
                    "-o",
                    "console_output_style=classic",
                ],
                plugins=[failures],
            )
        finally:
            PMParameters.load = classmethod(original)  # type: ignore[method-assign, assignment]
        caught = bool(failures.failed)
        unseen += not caught
        print(
            f"{'CAUGHT' if caught else 'UNSEEN'}  {label:<30} {', '.join(failures.failed[:3])}",
            file=sys.stderr,
        )
    return 1 if unseen else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
