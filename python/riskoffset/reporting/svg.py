"""Charts as inline SVG text, hand-written so the report needs nothing beyond numpy and opens offline.

Every element that carries data (a line, a bar, a heatmap cell) has ``class="datum"``, so a test can check
in a browser that a chart really drew something."""

from __future__ import annotations

import math
from html import escape

from .model import BarChart, Chart, Heatmap, LineChart
from .palette import BODY, LOSS, MUTED, SERIES, WHITE

PALETTE = SERIES
WIDTH, HEIGHT = 660, 360
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 48, 56


def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """About ``count`` round tick values (1, 2, 2.5, 5 x 10^k steps) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        lo, hi = lo - (abs(lo) or 1.0) * 0.5, hi + (abs(hi) or 1.0) * 0.5
    raw = (hi - lo) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(s * power for s in (1.0, 2.0, 2.5, 5.0, 10.0) if s * power >= raw)
    start = math.floor(lo / step) * step
    ticks = [start]
    while ticks[-1] < hi - step * 1e-9:
        ticks.append(start + len(ticks) * step)
    return [round(t, 12) + 0.0 for t in ticks]


def tick_label(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:,.4g}M"
    if a >= 1e4:
        return f"{v / 1e3:,.4g}k"
    if a >= 1 or a == 0:
        return f"{v:,.6g}"
    return f"{v:.3g}"


def _text(x: float, y: float, s: str, anchor: str = "middle", size: int = 12, extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" {extra}>{escape(s)}</text>'
    )


class _Frame:
    """Plot area, linear scales and axes for the x-y charts."""

    def __init__(self, y_values: list[float], height: int = HEIGHT, bottom: int = BOTTOM):
        finite = [v for v in y_values if math.isfinite(v)] or [0.0]
        lo, hi = min(finite + [0.0]), max(finite + [0.0])
        self.ticks = nice_ticks(lo, hi)
        self.y0, self.y1 = self.ticks[0], self.ticks[-1]
        self.height = height
        self.bottom = bottom
        self.px0, self.px1 = LEFT, WIDTH - RIGHT
        self.py0, self.py1 = height - bottom, TOP

    def y(self, v: float) -> float:
        return self.py0 + (v - self.y0) / (self.y1 - self.y0) * (self.py1 - self.py0)

    def axes(self, x_label: str, y_label: str) -> list[str]:
        out = []
        for t in self.ticks:
            y = self.y(t)
            out.append(f'<line x1="{self.px0}" x2="{self.px1}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
            out.append(_text(self.px0 - 6, y + 4, tick_label(t), "end", 11))
        if self.y0 < 0 < self.y1:
            y = self.y(0.0)
            out.append(f'<line x1="{self.px0}" x2="{self.px1}" y1="{y:.1f}" y2="{y:.1f}" class="zero"/>')
        out.append(
            f'<rect x="{self.px0}" y="{self.py1}" width="{self.px1 - self.px0}" '
            f'height="{self.py0 - self.py1}" class="frame"/>'
        )
        out.append(
            _text((self.px0 + self.px1) / 2, self.height - 8, x_label, size=12, extra='class="axis-label"')
        )
        cy = (self.py0 + self.py1) / 2
        out.append(
            _text(16, cy, y_label, size=12, extra=f'class="axis-label" transform="rotate(-90 16 {cy:.1f})"')
        )
        return out


def _legend(names: list[str], x: float, y: float) -> list[str]:
    out = []
    for i, name in enumerate(names):
        cx = x + i * 110
        out.append(
            f'<rect x="{cx:.1f}" y="{y - 9:.1f}" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        out.append(_text(cx + 16, y + 1, name, "start", 12))
    return out


def _open(chart: Chart, height: int, width: int = WIDTH, title_x: float = LEFT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart.id)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(chart.title)}">'
        + _text(title_x, 18, chart.title, "start", 14, 'font-weight="600"')
    )


def line_chart(c: LineChart) -> str:
    frame = _Frame([v for s in c.series for v in s.values])
    x0, x1 = min(c.x), max(c.x)
    span = (x1 - x0) or 1.0

    def x(v: float) -> float:
        return frame.px0 + (v - x0) / span * (frame.px1 - frame.px0)

    parts = [_open(c, HEIGHT)]
    if c.band is not None:
        lo, hi, label = c.band
        a, b = x(max(lo, x0)), x(min(hi, x1))
        parts.append(
            f'<rect x="{a:.1f}" y="{frame.py1}" width="{max(b - a, 0):.1f}" '
            f'height="{frame.py0 - frame.py1}" class="band"><title>{escape(label)}</title></rect>'
        )
        parts.append(_text((a + b) / 2, frame.py0 - 6, label, size=11, extra=f'fill="{MUTED}"'))
    parts += frame.axes(c.x_label, c.y_label)
    for t in nice_ticks(x0, x1, 7):
        if x0 <= t <= x1:
            parts.append(_text(x(t), frame.py0 + 16, tick_label(t), size=11))
    for i, s in enumerate(c.series):
        points = " ".join(f"{x(a):.1f},{frame.y(b):.1f}" for a, b in zip(c.x, s.values) if math.isfinite(b))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{PALETTE[i % len(PALETTE)]}" '
            f'stroke-width="2" class="datum"><title>{escape(s.name)}</title></polyline>'
        )
    for j, (mx, label) in enumerate(c.markers):
        px = x(mx)
        style = 'class="marker"' if j == 0 else 'class="marker liq"'
        parts.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{frame.py1}" y2="{frame.py0}" {style}/>')
        parts.append(
            _text(
                px + 4,
                frame.py1 + 28 + 14 * j,
                label,
                "start",
                11,
                f'fill="{BODY}"' if j == 0 else f'fill="{LOSS}"',
            )
        )
    parts += _legend([s.name for s in c.series], LEFT, 36)
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(c: BarChart) -> str:
    n, k = len(c.categories), max(len(c.series), 1)
    longest = max((len(s) for s in c.categories), default=0)
    rotate = longest * 6.5 > (WIDTH - LEFT - RIGHT) / max(n, 1)  # labels wider than their slot
    bottom = 110 if rotate else BOTTOM
    height = HEIGHT + (bottom - BOTTOM)
    frame = _Frame([v for s in c.series for v in s.values], height, bottom)
    parts = [_open(c, height)] + frame.axes(c.x_label, c.y_label)
    if n == 0:
        parts.append(_text(WIDTH / 2, height / 2, "no data", size=14))
        parts.append("</svg>")
        return "".join(parts)
    group = (frame.px1 - frame.px0) / n
    width = group * 0.8 / k
    zero = frame.y(0.0)
    every = max(1, math.ceil(n / 30))
    for j, name in enumerate(c.categories):
        gx = frame.px0 + j * group
        for i, s in enumerate(c.series):
            v = s.values[j]
            top = frame.y(max(v, 0.0))
            h = abs(frame.y(v) - zero)
            parts.append(
                f'<rect x="{gx + group * 0.1 + i * width:.2f}" y="{top:.2f}" width="{max(width, 0.5):.2f}" '
                f'height="{max(h, 0.5):.2f}" fill="{PALETTE[i % len(PALETTE)]}" class="datum">'
                f"<title>{escape(name)} {escape(s.name)}: {v:,.6g}</title></rect>"
            )
        if j % every == 0:
            cx = gx + group / 2
            if rotate:
                parts.append(
                    _text(
                        cx,
                        frame.py0 + 12,
                        name,
                        "end",
                        10,
                        f'transform="rotate(-45 {cx:.1f} {frame.py0 + 12:.1f})"',
                    )
                )
            else:
                parts.append(_text(cx, frame.py0 + 16, name, size=11))
    if len(c.series) > 1:
        parts += _legend([s.name for s in c.series], LEFT, 36)
    parts.append("</svg>")
    return "".join(parts)


def _cell_colour(v: float, scale: float) -> str:
    """White at 0, towards red for losses and blue for gains."""
    t = min(abs(v) / scale, 1.0) if scale > 0 else 0.0
    end = (214, 39, 40) if v < 0 else (31, 119, 180)
    r, g, b = (round(255 + (e - 255) * t * 0.85) for e in end)
    return f"rgb({r},{g},{b})"


def heatmap(c: Heatmap) -> str:
    cw, ch = 150, 28
    left, top = 84, 56
    width = left + cw * len(c.columns) + 20
    height = top + ch * len(c.rows) + 34
    scale = max((abs(v) for row in c.values for v in row if math.isfinite(v)), default=0.0)
    parts = [
        _open(c, height, width, 8),
        _text(left + cw * len(c.columns) / 2, 38, c.x_label, size=12, extra='class="axis-label"'),
    ]
    for j, col in enumerate(c.columns):
        parts.append(_text(left + cw * (j + 0.5), top - 4, col, size=12))
    for i, row in enumerate(c.rows):
        y = top + i * ch
        parts.append(_text(left - 8, y + ch / 2 + 4, row, "end", 12))
        for j, v in enumerate(c.values[i]):
            x = left + j * cw
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cw}" height="{ch}" fill="{_cell_colour(v, scale)}" '
                f'class="datum" stroke="{WHITE}"><title>{escape(row)} / {escape(c.columns[j])}: {v:,.6g}</title></rect>'
            )
            parts.append(_text(x + cw / 2, y + ch / 2 + 4, f"{v:,.4f}", size=12))
    if c.marked is not None:
        i, j = c.marked
        parts.append(
            f'<rect x="{left + j * cw + 1.5}" y="{top + i * ch + 1.5}" width="{cw - 3}" height="{ch - 3}" '
            'class="worst"><title>worst scenario</title></rect>'
        )
    parts.append(
        _text(left, height - 10, f"{c.y_label} (rows); outlined: worst scenario", "start", 11, f'fill="{MUTED}"')
    )
    parts.append("</svg>")
    return "".join(parts)


def render(chart: Chart) -> str:
    if isinstance(chart, LineChart):
        return line_chart(chart)
    if isinstance(chart, BarChart):
        return bar_chart(chart)
    return heatmap(chart)


__all__ = ["bar_chart", "heatmap", "line_chart", "nice_ticks", "render"]
