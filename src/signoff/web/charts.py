"""Server-side charts: numbers in, rectangles out (the template draws them as inline SVG).

No script and no style attribute is involved (the console's CSP forbids inline styles);
colours come from CSS classes on the SVG elements.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Bar", "BarChart", "stacked_bars"]


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, float, str, str]]    # x, y, text, full text (its tooltip)
    maximum: int

    @property
    def empty(self) -> bool:
        return not self.bars


def stacked_bars(rows: list[tuple[str, dict[str, int]]], keys: list[str], *,
                 width: int = 640, row_height: int = 22, label_width: int = 160) -> BarChart:
    """One horizontal stacked bar per row (e.g. a workflow), one segment per key (a tier)."""
    maximum = max([sum(values.get(k, 0) for k in keys) for _, values in rows] + [1])
    span = width - label_width - 50
    bars: list[Bar] = []
    labels: list[tuple[float, float, str, str]] = []
    fits = max(label_width // 7, 4)   # ~7 px per character at the chart's 12 px font
    for i, (name, values) in enumerate(rows):
        y = i * row_height + 4
        x = float(label_width)
        # A label too long for its column says so ("…") and carries the whole name as tooltip.
        short = name if len(name) <= fits else name[:fits - 1] + "…"
        labels.append((4.0, y + row_height * 0.6, short, name))
        for key in keys:
            n = values.get(key, 0)
            if n <= 0:
                continue
            w = max(span * n / maximum, 1.0)
            bars.append(Bar(x=x, y=y, width=w, height=row_height - 8, css=f"seg-{key}",
                            title=f"{name}: {n} {key}"))
            x += w
        total = str(sum(values.get(k, 0) for k in keys))
        labels.append((x + 6, y + row_height * 0.6, total, total))
    return BarChart(width=width, height=max(len(rows), 1) * row_height + 8, bars=bars,
                    labels=labels, maximum=maximum)
