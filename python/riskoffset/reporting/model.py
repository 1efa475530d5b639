"""What a report is made of, independent of how it is drawn: charts as data (a line chart, a bar chart, a
heatmap), tables whose numeric cells keep their exact value next to the text shown, and sections that pair
each chart with the table of its data.  The HTML page (`html`, through `svg`) and the matplotlib figures
(`figures`) both draw from these, so the two can never show different numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Union


@dataclass
class Series:
    name: str
    values: list[float]


@dataclass
class LineChart:
    """Lines over a shared numeric x axis, with labelled vertical markers and an optional shaded band."""

    id: str
    title: str
    x_label: str
    y_label: str
    x: list[float]
    series: list[Series]
    markers: list[tuple[float, str]] = field(default_factory=list)
    band: tuple[float, float, str] | None = None


@dataclass
class BarChart:
    """Bars per category, one bar per series side by side."""

    id: str
    title: str
    x_label: str
    y_label: str
    categories: list[str]
    series: list[Series]


@dataclass
class Heatmap:
    """A matrix of values coloured by sign and size (losses red, gains blue), one cell optionally marked."""

    id: str
    title: str
    x_label: str
    y_label: str
    rows: list[str]
    columns: list[str]
    values: list[list[float]]
    marked: tuple[int, int] | None = None


Chart = Union[LineChart, BarChart, Heatmap]  # a run-time alias: no "|" on Python 3.9


@dataclass
class Cell:
    """A table cell: the text shown and, for a number, its exact value (kept in the HTML for checks)."""

    text: str
    value: float | None = None


@dataclass
class Table:
    id: str
    caption: str
    headers: list[str]
    rows: list[list[Cell]]


@dataclass
class Block:
    """Charts shown beside the tables of their data."""

    charts: list[Chart]
    tables: list[Table]


@dataclass
class Section:
    id: str
    title: str
    intro: str
    blocks: list[Block] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, charts: list[Chart], tables: list[Table]) -> None:
        self.blocks.append(Block(charts, tables))

    @property
    def charts(self) -> list[Chart]:
        return [c for b in self.blocks for c in b.charts]

    @property
    def tables(self) -> list[Table]:
        return [t for b in self.blocks for t in b.tables]


def num(value: float | None, digits: int = 2, *, percent: bool = False, signed: bool = False) -> Cell:
    """A numeric cell: thousands separators, ``digits`` decimals (significant ones for small values)."""
    if value is None:
        return Cell("-")
    v = float(value) + 0.0  # + 0.0: no "-0.00"
    if not math.isfinite(v):
        return Cell("n/a" if math.isnan(v) else ("+inf" if v > 0 else "-inf"), v)
    if percent:
        return Cell(f"{v:+.2%}" if signed else f"{v:.2%}", v)
    sign = "+" if signed else ""
    if v != 0 and abs(v) < 10 ** (-digits) * 10:  # small values keep 3 significant digits
        return Cell(f"{v:{sign}.3g}", v)
    return Cell(f"{v:{sign},.{digits}f}", v)


def text(value: object) -> Cell:
    return Cell(str(value))


__all__ = [
    "BarChart",
    "Block",
    "Cell",
    "Chart",
    "Heatmap",
    "LineChart",
    "Section",
    "Series",
    "Table",
    "num",
    "text",
]
