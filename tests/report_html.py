"""Parses a report's HTML (standard library only) into what the tests check: every chart with the number of
data-carrying elements it drew, every table with its rows and exact cell values, the banner, scripts and
links out.  `problems` lists what makes a report blank or broken."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class ParsedTable:
    id: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[tuple[str, float | None]]] = field(default_factory=list)

    def column(self, name: str) -> list[float | None]:
        j = self.headers.index(name)
        return [row[j][1] for row in self.rows]


@dataclass
class ParsedReport:
    charts: dict[str, int] = field(default_factory=dict)  # chart id -> number of .datum elements
    worst_marks: dict[str, int] = field(default_factory=dict)  # chart id -> number of worst-cell outlines
    tables: dict[str, ParsedTable] = field(default_factory=dict)
    banner: str = ""
    scripts: int = 0
    external: list[str] = field(default_factory=list)  # src / href that leave the page

    def table(self, table_id: str) -> ParsedTable:
        return self.tables[table_id]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.out = ParsedReport()
        self.chart: str | None = None
        self.table: ParsedTable | None = None
        self.row: list[tuple[str, float | None]] | None = None
        self.cell: list[str] | None = None
        self.cell_value: float | None = None
        self.in_th = False
        self.th: list[str] = []
        self.in_banner = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        for key in ("src", "href"):
            value = a.get(key)
            if value and not value.startswith("#") and tag != "svg":
                self.out.external.append(value)
        if tag == "script":
            self.out.scripts += 1
        if tag == "svg" and "chart" in classes:
            self.chart = a.get("id") or f"chart-{len(self.out.charts)}"
            self.out.charts[self.chart] = 0
            self.out.worst_marks[self.chart] = 0
        elif self.chart is not None and "datum" in classes:
            self.out.charts[self.chart] += 1
        elif self.chart is not None and "worst" in classes:
            self.out.worst_marks[self.chart] += 1
        if tag == "div" and a.get("id") == "synthetic-banner":
            self.in_banner = True
        if tag == "table":
            self.table = ParsedTable(a.get("id") or f"table-{len(self.out.tables)}")
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag == "th":
            self.in_th, self.th = True, []
        elif tag == "td":
            self.cell = []
            raw = a.get("data-value")
            self.cell_value = None if raw is None else float(raw)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.chart = None
        elif tag == "div":
            self.in_banner = False
        elif tag == "th" and self.table is not None:
            self.in_th = False
            self.table.headers.append("".join(self.th).strip())
        elif tag == "td" and self.row is not None and self.cell is not None:
            self.row.append(("".join(self.cell).strip(), self.cell_value))
            self.cell = None
        elif tag == "tr" and self.table is not None and self.row is not None:
            if self.row:
                self.table.rows.append(self.row)
            self.row = None
        elif tag == "table" and self.table is not None:
            self.out.tables[self.table.id] = self.table
            self.table = None

    def handle_data(self, data: str) -> None:
        if self.in_banner:
            self.out.banner += data
        if self.in_th:
            self.th.append(data)
        elif self.cell is not None:
            self.cell.append(data)


def parse(html: str) -> ParsedReport:
    p = _Parser()
    p.feed(html)
    p.close()
    return p.out


def problems(parsed: ParsedReport) -> list[str]:
    """What makes a report blank or broken (empty list: none)."""
    out = []
    if not parsed.charts:
        out.append("no charts")
    out += [f"chart {c} drew nothing" for c, n in parsed.charts.items() if n == 0]
    if not parsed.tables:
        out.append("no tables")
    out += [f"table {t.id} has no rows" for t in parsed.tables.values() if not t.rows]
    out += [
        f"table {t.id} has rows of the wrong width"
        for t in parsed.tables.values()
        if any(len(r) != len(t.headers) for r in t.rows)
    ]
    if parsed.scripts:
        out.append(f"{parsed.scripts} script elements (the report must need no scripts)")
    out += [f"link out of the page: {u}" for u in parsed.external]
    return out
