"""The one table formatter of the command line and the reports (riskoffset.tables)."""

from __future__ import annotations

import csv
import io
import math

import pytest
from riskoffset.tables import Column, csv_text, render


@pytest.mark.parametrize(
    ("column", "value", "text"),
    [
        (Column("x", "fixed", 2), 4_209_141_737.142826, "4,209,141,737.14"),
        (Column("x", "fixed", 0), -1_234_567.5, "-1,234,568"),
        (Column("x", "sig", 6), 4_209_141_737.142826, "4,209,141,737"),
        (Column("x", "sig", 6), 7.728194123, "7.72819"),
        (Column("x", "sig", 6), 1234.5678, "1,234.57"),
        (Column("x", "sig", 6), 0.00012345678, "0.000123457"),
        (Column("x", "sig", 3), 1.2e-7, "1.20e-07"),
        (Column("x", "sig", 6), -0.0, "0"),
        (Column("x", "sci", 4), 0.000123456, "1.235e-04"),
        (Column("x", "sci", 4), 0.0, "0"),
        (Column("x", "percent", 1), 0.3591, "35.9%"),
        (Column("x", "int"), 1234567.4, "1,234,567"),
        (Column("x", "fixed", 2, signed=True), 12.5, "+12.50"),
        (Column("x", "fixed", 2), None, "-"),
        (Column("x", "fixed", 2), math.nan, "-"),
        (Column("x"), "BTC", "BTC"),
    ],
)
def test_number_formats(column: Column, value: object, text: str) -> None:
    assert column.format(value) == text


def test_separators_never_break_inside_decimals() -> None:
    for kind in ("fixed", "sig"):
        for value in (4_209_141_737.142826194512, 123_456_789_012.5, 9.87654321e14):
            cell = Column("x", kind, 8).format(value)
            integer, _, decimals = cell.partition(".")
            assert "," not in decimals and all(len(g) == 3 for g in integer.split(",")[1:])


def test_render_fits_width_and_wraps_with_the_labels() -> None:
    columns = [Column("account", label=True)] + [Column(f"col {i} USD", "fixed", 2) for i in range(9)]
    rows = [["acct-1", *[1_234_567.891 * (i + 1) for i in range(9)]], ["acct-2", *[-0.5] * 9]]
    lines = render(columns, rows)
    assert max(len(line) for line in lines) <= 100
    blocks = [line for line in lines if line.startswith("account")]
    assert len(blocks) >= 2  # wrapped; every block repeats the label column
    assert sum(line.startswith("acct-1") for line in lines) == len(blocks)
    assert "11,111,111.02" in "\n".join(lines)


def test_long_text_is_cut_not_the_numbers() -> None:
    columns = [Column("method", label=True), Column("initial USD", "fixed", 2), Column("notes")]
    lines = render(columns, [["deribit-pm", 94_294.75, "x" * 300]])
    assert max(len(line) for line in lines) <= 100 and "94,294.75" in lines[2] and lines[2].endswith("…")


def test_duplicate_names_and_ragged_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate column names"):
        render([Column("delta"), Column("delta")], [])
    with pytest.raises(ValueError, match="row 0 has 1 cells for 2 columns"):
        render([Column("a"), Column("b")], [["x"]])
    with pytest.raises(ValueError, match="kind must be one of"):
        Column("a", "money")


def test_csv_keeps_full_precision() -> None:
    text = csv_text([Column("a", label=True), Column("b USD", "fixed", 2)], [["x", 1 / 3], ["y", None]])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert float(rows[0]["b USD"]) == 1 / 3 and rows[1]["b USD"] == ""
