"""The report's colours, named once for the HTML page's stylesheet, its SVG charts and the matplotlib figures
(``#rrggbb`` strings, which CSS, SVG and matplotlib all read)."""

from __future__ import annotations


def rgb(red: int, green: int, blue: int) -> str:
    return f"#{red:02x}{green:02x}{blue:02x}"


def grey(level: int) -> str:
    return rgb(level, level, level)


INK = grey(0x22)  # text
BODY = grey(0x33)  # intro text; the base-state marker
MUTED = grey(0x55)  # subtitles, labels, axis captions
NOTE = grey(0x77)  # the footer
AXIS = grey(0x88)  # the zero line
FRAME = grey(0x99)
STRONG = grey(0x00)  # the worst scenario's outline
LOSS = rgb(0xBB, 0x00, 0x00)  # negative cells; the liquidation marker
WHITE = grey(0xFF)
RULE = grey(0xDD)  # section rules, chart and table borders
BORDER = grey(0xCC)
ROW_RULE = grey(0xEE)
GRID = grey(0xE6)
HEADER = rgb(0xEE, 0xF2, 0xF6)
TILE = rgb(0xF7, 0xF9, 0xFB)
BAND = rgb(0xF1, 0xE7, 0xC6)  # the shaded range of a line chart
BANNER = rgb(0xFF, 0xF3, 0xCD)
BANNER_EDGE = rgb(0xE0, 0xA8, 0x00)
BANNER_TEXT = rgb(0x6B, 0x4E, 0x00)
# One colour per series, in order (matplotlib's first six).
SERIES = (
    rgb(0x1F, 0x77, 0xB4),
    rgb(0xD6, 0x27, 0x28),
    rgb(0x2C, 0xA0, 0x2C),
    rgb(0x94, 0x67, 0xBD),
    rgb(0xFF, 0x7F, 0x0E),
    rgb(0x8C, 0x56, 0x4B),
)

__all__ = [
    "AXIS", "BAND", "BANNER", "BANNER_EDGE", "BANNER_TEXT", "BODY", "BORDER", "FRAME", "GRID", "HEADER", "INK",
    "LOSS", "MUTED", "NOTE", "ROW_RULE", "RULE", "SERIES", "STRONG", "TILE", "WHITE", "grey", "rgb",
]  # fmt: skip
