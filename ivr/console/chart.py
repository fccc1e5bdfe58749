"""A small server-rendered SVG trend chart: rated calls as bars, rates as lines (no CDN)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from storage.figures import FigureRow

WIDTH, HEIGHT = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 20, 48
LINES = (("good_rate", "好评率", "#1a7f37"), ("bad_rate", "差评率", "#cf222e"))
BAR = "#b6d4f2"
LABEL_WIDTH = 76  # pixels an axis label needs


def _x(index: int, count: int) -> float:
    step = (WIDTH - LEFT - RIGHT) / max(count, 1)
    return LEFT + step * (index + 0.5)


def _y_rate(rate: float) -> float:
    return TOP + (1 - rate) * (HEIGHT - TOP - BOTTOM)


def trend_svg(rows: Sequence[FigureRow], title: str) -> Markup:
    """An accessible SVG of `rows` in order: bars (rated count), lines (good and bad rates)."""
    count = len(rows)
    inner = HEIGHT - TOP - BOTTOM
    most = max((row.rated for row in rows), default=0) or 1
    step = (WIDTH - LEFT - RIGHT) / max(count, 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        y = _y_rate(tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>'
            f'<text x="{WIDTH - RIGHT + 6}" y="{y + 4:.1f}" font-size="11">{tick:.0%}</text>'
        )
    parts.append(
        f'<text x="{LEFT - 8}" y="{TOP + 4}" font-size="11" text-anchor="end">{most}</text>'
    )
    for index, row in enumerate(rows):
        height = inner * row.rated / most
        x = _x(index, count) - step * 0.35
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{TOP + inner - height:.1f}" '
            f'width="{step * 0.7:.1f}" height="{height:.1f}" fill="{BAR}">'
            f"<title>{escape(row.key)}：{row.rated} 条评价</title></rect>"
        )
    label_every = max(1, math.ceil(LABEL_WIDTH / step))
    for index, row in enumerate(rows):
        if index % label_every == 0:
            parts.append(
                f'<text x="{_x(index, count):.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" '
                f'text-anchor="middle">{escape(row.key)}</text>'
            )
    for name, _label, colour in LINES:
        points = [
            f"{_x(i, count):.1f},{_y_rate(getattr(row, name)):.1f}"
            for i, row in enumerate(rows)
            if getattr(row, name) is not None
        ]
        if points:
            parts.append(
                f'<polyline class="line-{name}" points="{" ".join(points)}" fill="none" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
    legend = [("评价数", BAR), *((label, colour) for _, label, colour in LINES)]
    for index, (label, colour) in enumerate(legend):
        x = LEFT + index * 110
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 18}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{HEIGHT - 8}" font-size="12">{label}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
