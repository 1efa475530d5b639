"""An HTML risk report of one book, readable at a glance (docs/report.md).

``ro.report(book, market, balances=None, output=None)`` computes, with the library's own public functions,
the P&L profile of each risk group at the Deribit PM vol shocks (with the PM price range and, given
balances, the liquidation prices), the PM risk matrix as a heatmap with its extended table, margin by
method, Greeks by expiry and by strike, the positions that drive the worst scenario and a suggested delta
hedge, and writes them as ONE self-contained HTML file: inline CSS and hand-drawn inline SVG, no scripts, no
network, every chart beside the table of its data.  The same charts come as matplotlib figures from
`Report.figures` (matplotlib is the optional ``riskoffset[plot]`` extra; the HTML never needs it).

Modules: `pm` (the PM numbers), `pm_sections` and `book_sections` (the sections), `balances` (liquidation
prices), `build` (the whole content), `model` (charts and tables as data), `svg` and `page` (the HTML),
`figures` (matplotlib); ``riskoffset report BOOK`` is riskoffset/cli/report.py.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .build import Content, build
from .model import Chart


@dataclass
class Report:
    """A built report: its content (sections of charts and tables), the HTML text and, once written,
    its path."""

    content: Content
    html: str
    path: Path | None = None

    @property
    def synthetic(self) -> bool:
        """True when the bundled SYNTHETIC sample market or book was used."""
        return self.content.synthetic

    def charts(self) -> list[Chart]:
        return [c for s in self.content.sections for c in s.charts]

    def save(self, path: str | Path) -> Path:
        """Write the HTML file (UTF-8) and return its path."""
        p = Path(path)
        p.write_text(self.html, encoding="utf-8")
        self.path = p
        return p

    def figures(self) -> dict[str, Any]:
        """Every chart as a matplotlib Figure, keyed by chart id (ImportError without matplotlib:
        ``pip install "riskoffset[plot]"``)."""
        from .figures import figure

        return {c.id: figure(c) for c in self.charts()}

    def _save_figures(self, directory: str | Path, fmt: str) -> list[Path]:
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        out = []
        for chart_id, fig in self.figures().items():
            path = folder / f"{chart_id}.{fmt}"
            fig.savefig(path, format=fmt, dpi=110)
            out.append(path)
        return out

    def save_png(self, directory: str | Path) -> list[Path]:
        """One PNG per chart in ``directory`` (created if missing), named by chart id; needs matplotlib."""
        return self._save_figures(directory, "png")

    def save_svg(self, directory: str | Path) -> list[Path]:
        """One SVG per chart in ``directory`` (created if missing), named by chart id; needs matplotlib."""
        return self._save_figures(directory, "svg")

    def _repr_html_(self) -> str:  # shown inline by Jupyter
        return self.html


def report(
    book: Any,
    market: Any,
    *,
    balances: Mapping[str, Any] | float | None = None,
    output: str | Path | None = None,
) -> Report:
    """The risk report of ``book`` on ``market`` (module doc), written to ``output`` when given.

    balances: collateral for the liquidation prices: for a one-account book a mapping currency -> amount
    (``{"BTC": 2.0, "USDC": 10_000}``) or one number in USD; for several accounts a mapping
    account -> such a balance (accounts left out get no liquidation price).  None: no liquidation prices.
    """
    from .. import __version__
    from .page import html

    content = build(book, market, balances)
    result = Report(content, html(content, __version__))
    if output is not None:
        result.save(output)
    return result


def cli_main(argv: Sequence[str] | None = None) -> int:
    """``riskoffset report`` with ``argv`` (the arguments after ``report``); returns the exit code."""
    from ..cli import main

    return main(["report", *(sys.argv[1:] if argv is None else argv)])


__all__ = ["Report", "cli_main", "report"]
