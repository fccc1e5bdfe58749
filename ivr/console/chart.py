"""A small server-rendered SVG trend chart: rated calls as bars, rates as lines (no CDN).

Every period on the time axis is drawn (days without calls as zero), labelled with its
dates; the count axis has three ticks; each bar links to the calls behind it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from storage.reports.figures import FigureRow

WIDTH, HEIGHT = 960, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 20, 68
LINES = (("good_rate", "好评率", "#1a7f37"), ("bad_rate", "差评率", "#cf222e"))
BAR = "#b6d4f2"
LABEL_WIDTH = 84  # pixels an axis label needs


def _x(index: int, count: int) -> float:
    step = (WIDTH - LEFT - RIGHT) / max(count, 1)
    return LEFT + step * (index + 0.5)


def _y_rate(rate: float) -> float:
    return TOP + (1 - rate) * (HEIGHT - TOP - BOTTOM)


def _nice(most: int) -> int:
    """A round top for the count axis (10, 20, 50, 100, …) at or above `most`."""
    if most <= 10:
        return 10
    power = 10 ** int(math.log10(most))
    return next(n * power for n in (1, 2, 5, 10) if n * power >= most)


def trend_svg(
    rows: Sequence[FigureRow],
    title: str,
    label: Callable[[str], str] = str,
    link: Callable[[str], str] | None = None,
) -> Markup:
    """An accessible SVG of `rows` in order: bars (rated count), lines (good and bad rates)."""
    count = len(rows)
    inner = HEIGHT - TOP - BOTTOM
    top = _nice(max((row.rated for row in rows), default=0))
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
            f'<text x="{WIDTH - RIGHT + 6}" y="{y + 4:.1f}" font-size="12">{tick:.0%}</text>'
        )
    for tick in (0, 0.5, 1):
        y = _y_rate(tick)
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">'
            f"{int(top * tick)}</text>"
        )
    parts.append(
        f'<text x="{LEFT - 8}" y="{TOP - 6}" font-size="11" text-anchor="end">评价数</text>'
    )
    for index, row in enumerate(rows):
        height = inner * row.rated / top
        x = _x(index, count) - step * 0.35
        bar = (
            f'<rect class="bar" x="{x:.1f}" y="{TOP + inner - height:.1f}" '
            f'width="{step * 0.7:.1f}" height="{max(height, 0.5):.1f}" fill="{BAR}">'
            f"<title>{escape(label(row.key))}：{row.rated} 条评价</title></rect>"
        )
        if link is not None:
            bar = f'<a href="{escape(link(row.key))}">{bar}</a>'
        parts.append(bar)
    label_every = max(1, math.ceil(LABEL_WIDTH / step))
    for index, row in enumerate(rows):
        if index % label_every == 0:
            parts.append(
                f'<text x="{_x(index, count):.1f}" y="{HEIGHT - BOTTOM + 18}" font-size="12" '
                f'text-anchor="middle">{escape(label(row.key))}</text>'
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
    for index, (name, colour) in enumerate(legend):
        x = LEFT + index * 110
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 18}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{HEIGHT - 8}" font-size="12">{name}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
