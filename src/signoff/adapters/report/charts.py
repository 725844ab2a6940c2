"""Inline SVG bar charts for the HTML evidence report: no scripts, no external assets.

Every label goes through ``markupsafe.escape``; values are numbers formatted here.
"""

from __future__ import annotations

from markupsafe import Markup, escape

__all__ = ["bar_chart", "decision_histogram"]

_W, _H, _PAD = 480, 180, 28


def bar_chart(values: dict[str, float], *, title: str) -> Markup:
    items = list(values.items())
    top = max((v for _, v in items), default=0) or 1
    width = (_W - 2 * _PAD) / max(len(items), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
             f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        h = (_H - 2 * _PAD) * value / top
        x = _PAD + i * width
        y = _H - _PAD - h
        parts.append(f'<rect x="{x + 4:.1f}" y="{y:.1f}" width="{width - 8:.1f}" '
                     f'height="{h:.1f}" fill="#4a6fa5"/>'
                     f'<text x="{x + width / 2:.1f}" y="{_H - 10}" font-size="11" '
                     f'text-anchor="middle">{escape(label)}</text>'
                     f'<text x="{x + width / 2:.1f}" y="{y - 4:.1f}" font-size="11" '
                     f'text-anchor="middle">{value:g}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated label is escaped above


def decision_histogram(seconds: list[float]) -> Markup:
    """Time to decision in buckets a reviewer would recognise."""
    edges = [(60, "<1m"), (300, "1-5m"), (900, "5-15m"), (3600, "15-60m"), (14400, "1-4h")]
    buckets = {label: 0.0 for _, label in edges}
    buckets[">4h"] = 0.0
    for s in seconds:
        label = next((lbl for edge, lbl in edges if s < edge), ">4h")
        buckets[label] += 1
    return bar_chart(buckets, title="Time to decision (actions needing approval)")
