"""The report as one self-contained HTML page: inline CSS, inline SVG charts, no scripts, no links out, so
it opens anywhere offline.  Numeric table cells carry their exact value in ``data-value``."""

from __future__ import annotations

from html import escape

from . import svg
from .build import Content
from .model import Section, Table

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1500px;
       padding: 0 24px 40px; color: #222; background: #fff; }
h1 { margin: 16px 0 4px; font-size: 26px; }
h2 { margin: 28px 0 6px; padding-top: 8px; border-top: 2px solid #ddd; font-size: 20px; }
.subtitle { color: #555; margin: 0 0 12px; }
.banner { background: #fff3cd; border: 2px solid #e0a800; color: #6b4e00; padding: 10px 16px; font-weight: 600;
          margin: 12px 0; border-radius: 4px; }
.headline { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 4px; }
.headline div { border: 1px solid #ccc; border-radius: 4px; padding: 6px 12px; background: #f7f9fb; }
.headline dt { font-size: 12px; color: #555; }
.headline dd { margin: 0; font-size: 17px; font-weight: 600; }
nav a { margin-right: 14px; }
.intro { max-width: 1100px; color: #333; }
.block { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; margin: 14px 0; }
.charts { display: flex; flex-direction: column; gap: 10px; }
.tables { display: flex; flex-direction: column; gap: 10px; max-width: 760px; }
.scroll { max-height: 380px; overflow: auto; border: 1px solid #ddd; }
table.data { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
table.data caption { text-align: left; font-weight: 600; padding: 4px 6px; caption-side: top; }
table.data th { position: sticky; top: 0; background: #eef2f6; text-align: right; padding: 3px 8px; }
table.data td { text-align: right; padding: 2px 8px; border-top: 1px solid #eee; white-space: nowrap; }
table.data td.text, table.data th:first-child { text-align: left; }
table.data td.text { white-space: normal; max-width: 420px; }
td.neg { color: #b00; }
.note { color: #6b4e00; }
svg.chart { background: #fff; border: 1px solid #ddd; }
svg .grid { stroke: #e6e6e6; stroke-width: 1; }
svg .zero { stroke: #888; stroke-width: 1; }
svg .frame { fill: none; stroke: #999; }
svg .band { fill: #f1e7c6; opacity: 0.7; }
svg .marker { stroke: #333; stroke-width: 1.5; }
svg .marker.liq { stroke: #b00; stroke-dasharray: 6 3; }
svg .worst { fill: none; stroke: #000; stroke-width: 3; }
svg text { fill: #222; font-family: inherit; }
footer { margin-top: 30px; color: #777; font-size: 12px; }
"""

SYNTHETIC = (
    "SYNTHETIC DATA: this report uses the bundled sample market and/or sample book (Market.sample, "
    "Book.sample). The prices, vols and positions are made up; the numbers illustrate the report only."
)


def table_html(t: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in t.headers)
    body = []
    for row in t.rows:
        cells = []
        for c in row:
            if c.value is None:
                cells.append(f'<td class="text">{escape(c.text)}</td>')
            else:
                cls = ' class="neg"' if c.value < 0 else ""
                cells.append(f'<td{cls} data-value="{c.value!r}">{escape(c.text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table class="data" id="{escape(t.id)}"><caption>{escape(t.caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def section_html(s: Section) -> str:
    parts = [f'<section id="{escape(s.id)}"><h2>{escape(s.title)}</h2><p class="intro">{escape(s.intro)}</p>']
    for block in s.blocks:
        parts.append('<div class="block">')
        if block.charts:
            parts.append('<div class="charts">' + "".join(svg.render(c) for c in block.charts) + "</div>")
        if block.tables:
            parts.append('<div class="tables">' + "".join(table_html(t) for t in block.tables) + "</div>")
        parts.append("</div>")
    parts += [f'<p class="note">{escape(n)}</p>' for n in s.notes]
    parts.append("</section>")
    return "".join(parts)


def html(content: Content, version: str) -> str:
    headline = "".join(
        f"<div><dt>{escape(name)}</dt><dd>{escape(cell.text)}</dd></div>" for name, cell in content.headline
    )
    nav = "".join(f'<a href="#{escape(s.id)}">{escape(s.title)}</a>' for s in content.sections)
    banner = (
        f'<div class="banner" id="synthetic-banner">{escape(SYNTHETIC)}</div>' if content.synthetic else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(content.title)}</title><style>{CSS}</style></head><body>"
        f"{banner}<header><h1>{escape(content.title)}</h1>"
        f'<p class="subtitle">{escape(content.subtitle)}</p></header>'
        f'<section id="summary"><dl class="headline">{headline}</dl></section><nav>{nav}</nav>'
        + "".join(section_html(s) for s in content.sections)
        + f"<footer>riskoffset {escape(version)}: report generated from the library's own results; "
        "see docs/report.md for how to read it.</footer></body></html>\n"
    )


__all__ = ["CSS", "SYNTHETIC", "html", "section_html", "table_html"]
