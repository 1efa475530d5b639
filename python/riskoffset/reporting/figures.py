"""The report's charts as matplotlib figures, for notebooks and for PNG / SVG files.

matplotlib is optional (the ``riskoffset[plot]`` extra): it is imported here, on first use, and its absence
is an ImportError that says what to install.  Figures are built with ``matplotlib.figure.Figure`` directly
(no pyplot), so making them changes no global state and needs no display."""

from __future__ import annotations

from typing import Any

from .model import BarChart, Chart, Heatmap, LineChart
from .palette import AXIS, BAND, BODY, LOSS
from .svg import PALETTE

INSTALL = 'pip install "riskoffset[plot]"'


def require_matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"report figures need matplotlib: {INSTALL} ({exc})") from None
    del matplotlib
    return Figure


def _line(fig: Any, c: LineChart) -> None:
    ax = fig.add_subplot()
    if c.band is not None:
        lo, hi, label = c.band
        ax.axvspan(lo, hi, color=BAND, alpha=0.7, label=label)
    for i, s in enumerate(c.series):
        ax.plot(c.x, s.values, color=PALETTE[i % len(PALETTE)], lw=2, label=s.name)
    for j, (x, label) in enumerate(c.markers):
        ax.axvline(x, color=BODY if j == 0 else LOSS, ls="-" if j == 0 else "--", lw=1.3, label=label)
    ax.axhline(0.0, color=AXIS, lw=0.8)
    ax.legend(fontsize=8)


def _bars(fig: Any, c: BarChart) -> None:
    ax = fig.add_subplot()
    n, k = len(c.categories), max(len(c.series), 1)
    width = 0.8 / k
    for i, s in enumerate(c.series):
        ax.bar(
            [j - 0.4 + width * (i + 0.5) for j in range(n)],
            s.values,
            width,
            label=s.name,
            color=PALETTE[i % len(PALETTE)],
        )
    ax.set_xticks(range(n))
    ax.set_xticklabels(
        c.categories, rotation=45 if n > 8 else 0, ha="right" if n > 8 else "center", fontsize=8
    )
    ax.axhline(0.0, color=AXIS, lw=0.8)
    if len(c.series) > 1:
        ax.legend(fontsize=8)


def _heatmap(fig: Any, c: Heatmap) -> None:
    from matplotlib.patches import Rectangle

    ax = fig.add_subplot()
    scale = max((abs(v) for row in c.values for v in row), default=0.0) or 1.0
    ax.imshow(c.values, cmap="RdBu", vmin=-scale, vmax=scale, aspect="auto")
    for i, row in enumerate(c.values):
        for j, v in enumerate(row):
            ax.text(j, i, f"{v:,.4f}", ha="center", va="center", fontsize=8)
    if c.marked is not None:
        i, j = c.marked
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=3, edgecolor="black"))
    ax.set_xticks(range(len(c.columns)))
    ax.set_xticklabels(c.columns)
    ax.set_yticks(range(len(c.rows)))
    ax.set_yticklabels(c.rows)


def figure(chart: Chart) -> Any:
    """One chart as a matplotlib Figure."""
    figure_class = require_matplotlib()
    fig = figure_class(figsize=(8, 4.5), layout="constrained")
    if isinstance(chart, LineChart):
        _line(fig, chart)
    elif isinstance(chart, BarChart):
        _bars(fig, chart)
    else:
        _heatmap(fig, chart)
    ax = fig.axes[0]
    ax.set_title(chart.title, fontsize=10)
    ax.set_xlabel(chart.x_label)
    ax.set_ylabel(chart.y_label)
    return fig


__all__ = ["INSTALL", "figure", "require_matplotlib"]
