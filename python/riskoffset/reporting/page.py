"""The report as one self-contained HTML page: inline CSS, inline SVG charts, no scripts, no links out, so
it opens anywhere offline.  Numeric table cells carry their exact value in ``data-value``."""

from __future__ import annotations

from html import escape
from string import Template

from . import palette, svg
from .build import Content
from .model import Section, Table

# The stylesheet's colours by their palette names ($ink is palette.INK).
_COLOURS = {name.lower(): getattr(palette, name) for name in palette.__all__ if name.isupper() and name != "SERIES"}
CSS = Template("""
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1500px;
       padding: 0 24px 40px; color: $ink; background: $white; }
h1 { margin: 16px 0 4px; font-size: 26px; }
h2 { margin: 28px 0 6px; padding-top: 8px; border-top: 2px solid $rule; font-size: 20px; }
.subtitle { color: $muted; margin: 0 0 12px; }
.banner { background: $banner; border: 2px solid $banner_edge; color: $banner_text; padding: 10px 16px; font-weight: 600;
          margin: 12px 0; border-radius: 4px; }
.headline { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 4px; }
.headline div { border: 1px solid $border; border-radius: 4px; padding: 6px 12px; background: $tile; }
.headline dt { font-size: 12px; color: $muted; }
.headline dd { margin: 0; font-size: 17px; font-weight: 600; }
nav a { margin-right: 14px; }
.intro { max-width: 1100px; color: $body; }
.block { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; margin: 14px 0; }
.charts { display: flex; flex-direction: column; gap: 10px; }
.tables { display: flex; flex-direction: column; gap: 10px; max-width: 760px; }
.scroll { max-height: 380px; overflow: auto; border: 1px solid $rule; }
table.data { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
table.data caption { text-align: left; font-weight: 600; padding: 4px 6px; caption-side: top; }
table.data th { position: sticky; top: 0; background: $header; text-align: right; padding: 3px 8px; }
table.data td { text-align: right; padding: 2px 8px; border-top: 1px solid $row_rule; white-space: nowrap; }
table.data td.text, table.data th:first-child { text-align: left; }
table.data td.text { white-space: normal; max-width: 420px; }
td.neg { color: $loss; }
.note { color: $banner_text; }
svg.chart { background: $white; border: 1px solid $rule; }
svg .grid { stroke: $grid; stroke-width: 1; }
svg .zero { stroke: $axis; stroke-width: 1; }
svg .frame { fill: none; stroke: $frame; }
svg .band { fill: $band; opacity: 0.7; }
svg .marker { stroke: $body; stroke-width: 1.5; }
svg .marker.liq { stroke: $loss; stroke-dasharray: 6 3; }
svg .worst { fill: none; stroke: $strong; stroke-width: 3; }
svg text { fill: $ink; font-family: inherit; }
footer { margin-top: 30px; color: $note; font-size: 12px; }
""").substitute(_COLOURS)

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
