"""An indicator's progress as an accessible SVG line chart, drawn as text on the server (no JavaScript).

The chart carries its own text alternative: `role="img"`, a `<title>` and a `<desc>`
(named by `aria-labelledby`) that say in words what the lines show. The page puts the
same figures in a data table next to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from html import escape

WIDTH, HEIGHT = 560, 280
LEFT, RIGHT, TOP, BOTTOM = 84, 12, 16, 44
INSET = 40
FONT = 16  # user units: about 10 CSS pixels on a phone, 16 on a desktop
LINE, TARGET, BASELINE, GRID, INK = "#1a5e9a", "#b3283c", "#595959", "#d0d0d0", "#222222"  # 4.5:1 or more on white


@dataclass(frozen=True)
class Point:
    """A value at a date, labelled as the reader knows it (a period name or a target's date)."""

    day: date
    value: float
    label: str


def line_chart(chart_id: str, title: str, description: str, values: list[Point], targets: list[Point],
               baseline: float | None, fmt: Callable[[float], str]) -> str:
    """The SVG markup of `values` joined by a line, `targets` as diamonds and `baseline` as a dashed line.

    `chart_id` makes the title and description ids unique on the page; `fmt` writes an
    axis value in the indicator's unit. Every text is escaped here.
    """
    numbers = [p.value for p in values + targets] + ([baseline] if baseline is not None else [])
    ticks = _ticks(min(numbers), max(numbers))
    low, high = ticks[0], ticks[-1]
    days = [p.day.toordinal() for p in values + targets]
    first, last = min(days), max(days)

    def x(day: date) -> float:
        span = last - first
        inner = WIDTH - LEFT - RIGHT - 2 * INSET  # room at both ends for a centred label
        return LEFT + INSET + inner * ((day.toordinal() - first) / span if span else 0.5)

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - low) / (high - low))

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{chart_id}-title">{escape(title)}</title>',
             f'<desc id="{chart_id}-desc">{escape(description)}</desc>']
    for value in ticks:
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="{FONT}" '
                     f'fill="{INK}">{escape(fmt(value))}</text>')
    if baseline is not None:
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(baseline):.1f}" y2="{y(baseline):.1f}" '
                     f'stroke="{BASELINE}" stroke-width="1.5" stroke-dasharray="6 4"/>')
    if values:
        path = " ".join(f"{x(p.day):.1f},{y(p.value):.1f}" for p in values)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="3"/>')
        parts += [f'<circle cx="{x(p.day):.1f}" cy="{y(p.value):.1f}" r="4.5" fill="{LINE}"/>' for p in values]
    for p in targets:
        cx, cy = x(p.day), y(p.value)
        parts.append(f'<path d="M{cx:.1f},{cy - 7:.1f} L{cx + 7:.1f},{cy:.1f} L{cx:.1f},{cy + 7:.1f} '
                     f'L{cx - 7:.1f},{cy:.1f} Z" fill="{TARGET}"/>')
    for p in _spread(values + targets, x):
        parts.append(f'<text x="{x(p.day):.1f}" y="{HEIGHT - BOTTOM + 24}" text-anchor="middle" font-size="{FONT}" '
                     f'fill="{INK}">{escape(p.label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _ticks(low: float, high: float) -> list[float]:
    """Round axis values (steps of 1, 2 or 5 times a power of ten) that cover [low, high]."""
    if high == low:
        low, high = low - max(abs(low) * 0.1, 1), high + max(abs(high) * 0.1, 1)
    raw = (high - low) / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    return [first + i * step for i in range(int(math.ceil((high - first) / step - 1e-9)) + 1)]


def _spread(points: list[Point], x: Callable[[date], float], gap: float = 84) -> list[Point]:
    """Axis labels in date order, leaving out any closer than `gap` pixels to the previous one."""
    shown: list[Point] = []
    for p in sorted({p.day: p for p in points}.values(), key=lambda p: p.day):
        if not shown or x(p.day) - x(shown[-1].day) >= gap:
            shown.append(p)
    return shown
