"""Tables as the command line and the reports print them: one formatting rule for every number.

A `Column` says how its numbers are written: ``fixed`` decimals (amounts of money: ``1,234,567.89``),
``sig`` significant digits (coin amounts, sizes: ``7.72819``, ``4,209,141,737``: never an exponent above one,
never a separator inside the decimals), ``sci`` (quantities that span many decades, such as gamma),
``percent``, ``int`` and ``text``.  Column names carry their unit (``initial USD``), so no two columns of a
table share a name.  `render` fits the table to a width (100 characters by default): a long text column is
cut with an ellipsis, and when the numbers alone are too wide the columns are wrapped into blocks that each
repeat the label columns.  `write_csv` writes the same rows with full-precision numbers for ``--csv``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("text", "fixed", "sig", "sci", "percent", "int")
WIDTH = 100
GAP = "  "


@dataclass(frozen=True)
class Column:
    """A column: its name (with its unit, unique in its table), how numbers are written and with how many
    digits (decimals for fixed and percent, significant digits for sig and sci), and whether it labels the
    row (label columns are repeated when a wide table wraps)."""

    name: str
    kind: str = "text"
    digits: int = 2
    label: bool = False
    signed: bool = False  # show + on positive numbers (changes)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name!r}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    def format(self, value: Any) -> str:
        """One cell: "-" for None and NaN, the number in this column's format otherwise."""
        if value is None:
            return "-"
        if self.kind == "text":
            return str(value)
        try:
            x = float(value)
        except (TypeError, ValueError):
            return str(value)
        if math.isnan(x):
            return "-"
        if math.isinf(x):
            return ("+" if x > 0 and self.signed else "-" if x < 0 else "") + "inf"
        sign = "+" if self.signed else ""
        x += 0.0  # no "-0"
        if self.kind == "fixed":
            return f"{x:{sign},.{self.digits}f}"
        if self.kind == "int":
            return f"{round(x):{sign},d}"
        if self.kind == "percent":
            return f"{x:{sign}.{self.digits}%}"
        if self.kind == "sci":
            return "0" if x == 0 else f"{x:{sign}.{max(self.digits - 1, 0)}e}"
        return _significant(x, self.digits, sign)

    @property
    def numeric(self) -> bool:
        return self.kind != "text"


def _significant(x: float, digits: int, sign: str) -> str:
    """``digits`` significant digits with thousands separators: integers from 10**digits up, plain decimals
    down to 1e-4, an exponent only below that."""
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude >= digits - 1:
        return f"{round(x):{sign},d}"
    if magnitude >= -4:
        decimals = digits - 1 - magnitude
        text = f"{x:{sign},.{decimals}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return f"{x:{sign}.{digits - 1}e}"


def cells(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> list[list[str]]:
    for i, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(f"row {i} has {len(row)} cells for {len(columns)} columns")
    return [[c.format(v) for c, v in zip(columns, row)] for row in rows]


def render(columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, width: int = WIDTH) -> list[str]:
    """The table as lines of at most ``width`` characters (module doc)."""
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate column names: {names}")
    text = cells(columns, rows)
    widths = [max([len(c.name)] + [len(r[j]) for r in text]) for j, c in enumerate(columns)]
    total = sum(widths) + len(GAP) * (len(columns) - 1)
    if total > width:
        # Cut the widest free-text column (not a label) first: descriptions and notes.
        free = [j for j, c in enumerate(columns) if c.kind == "text" and not c.label]
        if free:
            j = max(free, key=lambda k: widths[k])
            widths[j] = max(len(columns[j].name), widths[j] - (total - width), 12)
            total = sum(widths) + len(GAP) * (len(columns) - 1)
    blocks = _blocks(columns, widths, width) if total > width else [list(range(len(columns)))]
    lines: list[str] = []
    for n, block in enumerate(blocks):
        if n:
            lines.append("")
        head = GAP.join(_fit(columns[j].name, widths[j], columns[j].numeric) for j in block)
        lines.append(head.rstrip())
        lines.append("-" * len(head.rstrip()))
        for row in text:
            lines.append(GAP.join(_fit(row[j], widths[j], columns[j].numeric) for j in block).rstrip())
    return lines


def _fit(cell: str, w: int, right: bool) -> str:
    if len(cell) > w:
        cell = cell[: max(w - 1, 0)] + "…"
    return cell.rjust(w) if right else cell.ljust(w)


def _blocks(columns: Sequence[Column], widths: list[int], width: int) -> list[list[int]]:
    """Column indices per block: the label columns, then as many of the others as fit."""
    labels = [j for j, c in enumerate(columns) if c.label]
    base = sum(widths[j] for j in labels) + len(GAP) * max(len(labels) - 1, 0)
    blocks: list[list[int]] = []
    current: list[int] = []
    used = base
    for j, _ in enumerate(columns):
        if j in labels:
            continue
        need = widths[j] + (len(GAP) if (labels or current) else 0)
        if current and used + need > width:
            blocks.append(labels + current)
            current, used = [], base
            need = widths[j] + (len(GAP) if labels else 0)
        current.append(j)
        used += need
    if current or not blocks:
        blocks.append(labels + current)
    return blocks


def write_csv(columns: Sequence[Column], rows: Sequence[Sequence[Any]], out: io.TextIOBase | Any) -> None:
    """The rows as CSV with a header of the column names; numbers at full precision (repr), None as empty."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for row in rows:
        writer.writerow(["" if v is None else repr(float(v)) if isinstance(v, float) else v for v in row])


def csv_text(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    write_csv(columns, rows, buf)
    return buf.getvalue()


__all__ = ["KINDS", "WIDTH", "Column", "cells", "csv_text", "render", "write_csv"]
