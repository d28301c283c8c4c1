"""Static SVG charts drawn in Python: no script, no external request, every label escaped."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

COLOURS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd")
FONT = 'font-family="sans-serif" font-size="11"'


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    return float((int(value / step) + 1) * step)


def line_chart(title: str, labels: Sequence[str], series: dict[str, Sequence[float]], width: int = 720) -> str:
    """Lines over time, one per series, with a legend; x labels are dates or revisions."""
    height, left, right, top, bottom = 300, 56, 16, 32, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((v for values in series.values() for v in values), default=0))
    count = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / peak

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="18" {FONT} font-weight="bold">{escape(title)}</text>',
    ]
    for step in range(5):
        value = peak * step / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" {FONT} text-anchor="end">{value:g}</text>')
    every = max(1, count // 8)
    for i, label in enumerate(labels):
        if i % every == 0 or i == count - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" {FONT} text-anchor="middle">{escape(label)}</text>'
            )
    for index, (name, values) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts += [f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}"/>' for i, v in enumerate(values)]
        lx = left + index * 130
        parts.append(f'<rect x="{lx}" y="{height - 18}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="{height - 9}" {FONT}>{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


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
