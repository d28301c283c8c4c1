"""Static SVG charts drawn in Python: no script, no external request, every label escaped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

from calcheck.site.markup import clean

COLOURS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd")
SHORTFALL = "#d62728"
FONT_SIZE = 12
FONT = f'font-family="sans-serif" font-size="{FONT_SIZE}"'
CHAR_WIDTH = 0.62 * FONT_SIZE  # a generous average advance, so labels are spaced before they could touch


def _label(value: str) -> str:
    return escape(clean(value))


def nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (at least 1)."""
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 5, 10):
        if value <= factor * step:
            return float(factor * step)
    return float(10 * step)


def _ticks(peak: float) -> list[float]:
    """Grid values from 0 to ``peak`` (a ``nice_max``): whole steps of 1, 2 or 5 times a power of ten, at most 6."""
    step = 1.0
    while peak / step > 5:
        for factor in (2, 2.5, 2):  # 1 -> 2 -> 5 -> 10 -> 20 -> 50 ...
            step *= factor
            if peak / step <= 5:
                break
    return [step * i for i in range(round(peak / step) + 1)]


def _spread(positions: Sequence[float], widths: Sequence[float], left: float, right: float) -> list[int]:
    """Indexes of the labels to draw so none overlaps another or the edges; the last one is always kept."""
    chosen: list[int] = []
    end = left - 1.0
    last = len(positions) - 1
    for index, (x, width) in enumerate(zip(positions, widths, strict=True)):
        start = max(left, min(x - width / 2, right - width))
        if start >= end + 8:
            chosen.append(index)
            end = start + width
    if last >= 0 and last not in chosen:
        start = right - widths[last]
        while chosen and start < _extent(positions[chosen[-1]], widths[chosen[-1]], left, right) + 8:
            chosen.pop()
        chosen.append(last)
    return chosen


def _extent(x: float, width: float, left: float, right: float) -> float:
    return max(left, min(x - width / 2, right - width)) + width


def trend_chart(
    title: str,
    dates: Sequence[dt.date],
    series: Mapping[str, Sequence[int]],
    shortfall: Sequence[int],
    width: int = 900,
) -> str:
    """Lines over real time (points spaced by date), with the shortfall in a panel on its own scale below."""
    left, right, top = 58, 16, 30
    main_h, gap, short_h = 190, 44, 70
    legend_y = top + main_h + gap + short_h + 44
    names = [*series, "shortfall"]
    per_row = 5 if width >= 600 else 3
    height = legend_y + 20 * ((len(names) - 1) // per_row) + 10
    plot_w = width - left - right
    first, last = (min(dates), max(dates)) if dates else (dt.date.today(), dt.date.today())
    span = max((last - first).days, 1)

    def x(day: dt.date) -> float:
        return left + (plot_w * (day - first).days / span if len(set(dates)) > 1 else plot_w / 2)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img">',
        f"<title>{_label(title)}</title>",
        f'<text x="{left}" y="18" {FONT} font-weight="bold">{_label(title)}</text>',
    ]
    peak = nice_max(max((v for values in series.values() for v in values), default=0))
    parts += _panel(left, width - right, top, main_h, peak)
    short_top = top + main_h + gap
    short_peak = nice_max(max(shortfall, default=0))
    parts.append(f'<text x="{left}" y="{short_top - 8}" {FONT} font-weight="bold">Shortfall (own scale)</text>')
    parts += _panel(left, width - right, short_top, short_h, short_peak)
    xs = [x(day) for day in dates]
    for index, values in enumerate(series.values()):
        parts += _line(xs, [top + main_h - main_h * v / peak for v in values], COLOURS[index % len(COLOURS)])
    parts += _line(xs, [short_top + short_h - short_h * v / short_peak for v in shortfall], SHORTFALL)
    labels = [day.isoformat() for day in dates]
    widths = [len(label) * CHAR_WIDTH for label in labels]
    for index in _spread(xs, widths, 0.0, float(width)):
        start = max(0.0, min(xs[index] - widths[index] / 2, width - widths[index]))
        parts.append(f'<text x="{start:.1f}" y="{short_top + short_h + 18}" {FONT}>{_label(labels[index])}</text>')
        parts.append(
            f'<line x1="{xs[index]:.1f}" x2="{xs[index]:.1f}" y1="{short_top + short_h}" '
            f'y2="{short_top + short_h + 5}" stroke="#999"/>'
        )
    for index, name in enumerate(names):
        colour = SHORTFALL if name == "shortfall" else COLOURS[index % len(COLOURS)]
        lx = left + (index % per_row) * 130
        ly = legend_y + (index // per_row) * 20
        parts.append(f'<rect x="{lx}" y="{ly - 10}" width="11" height="11" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 16}" y="{ly}" {FONT}>{_label(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _panel(left: int, right: int, top: int, height: int, peak: float) -> list[str]:
    parts = []
    for value in _ticks(peak):
        y = top + height - height * value / peak
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" {FONT} text-anchor="end">{value:g}</text>')
    return parts


def _line(xs: Sequence[float], ys: Sequence[float], colour: str) -> list[str]:
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    parts = [f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>']
    parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in zip(xs, ys, strict=True)]
    return parts


def usage_bar(owned: int, assigned: int, required: int, width: int = 480) -> str:
    """One holding's or pool's use: owned as the frame, assigned as the bar, required as a marker."""
    height, left = 56, 8
    scale = (width - 2 * left) / max(owned, assigned, required, 1)
    colour = "#d62728" if assigned > owned or required > owned else "#2ca02c"
    summary = f"{assigned} assigned, {required} required, {owned} owned"
    marker = left + required * scale
    return (
        "\n".join(
            [
                f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img">',
                f"<title>{escape(summary)}</title>",
                f'<rect x="{left}" y="8" width="{owned * scale:.1f}" height="20" fill="#eee" stroke="#999"/>',
                f'<rect x="{left}" y="12" width="{assigned * scale:.1f}" height="12" fill="{colour}"/>',
                f'<line x1="{marker:.1f}" x2="{marker:.1f}" y1="4" y2="32" stroke="#000" stroke-width="2"/>',
                f'<text x="{left}" y="48" {FONT}>{escape(summary)}</text>',
                "</svg>",
            ]
        )
        + "\n"
    )
