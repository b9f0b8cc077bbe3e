"""The geometry of the report's charts: bars, labels and lines in SVG user units.

Pure functions from counts to a :class:`Chart`; ``templates/charts.html.j2`` draws any chart as
inline SVG. Keeping the arithmetic here and the markup in the template means the numbers can be
tested without parsing SVG, and the drawing changed without touching the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "Chart", "Label", "Rule", "Series", "bar_rows", "columns", "histogram"]

WIDTH = 460
AXIS = "#999"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    tooltip: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    size: int = 12
    color: str = ""


@dataclass(frozen=True)
class Rule:
    """A straight line: an axis, a tick, or a dashed marker such as a threshold."""

    x1: float
    y1: float
    x2: float
    y2: float
    color: str = AXIS
    dashed: bool = False


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    bars: tuple[Bar, ...] = ()
    labels: tuple[Label, ...] = ()
    rules: tuple[Rule, ...] = ()


def columns(title: str, data: Sequence[tuple[str, int]], color: str) -> Chart:
    """A vertical bar per (label, count), the count above the bar and the label below."""
    height, left, base = 200, 16, 170
    peak = max([v for _, v in data] or [1]) or 1
    slot = (WIDTH - 2 * left) / max(len(data), 1)
    bars, labels = [], []
    for i, (label, value) in enumerate(data):
        h = (base - 30) * value / peak
        x = left + i * slot + slot * 0.15
        middle = x + slot * 0.35
        bars.append(Bar(x, base - h, slot * 0.7, h, color, f"{label}: {value}"))
        labels.append(Label(middle, base - h - 5, str(value)))
        labels.append(Label(middle, base + 16, label))
    return Chart(title, WIDTH, height, tuple(bars), tuple(labels), (Rule(left, base, WIDTH - left, base),))


def bar_rows(title: str, data: Sequence[tuple[str, int, str]]) -> Chart:
    """A horizontal bar per (label, count, colour), the full label on the left."""
    row, label_width = 26, 170
    height = row * max(len(data), 1) + 10
    peak = max([v for _, v, _ in data] or [1]) or 1
    bars, labels = [], []
    for i, (label, value, color) in enumerate(data):
        y = 5 + i * row
        w = (WIDTH - label_width - 40) * value / peak
        labels.append(Label(label_width - 8, y + 16, label, anchor="end"))
        bars.append(Bar(label_width, y + 3, w, row - 8, color, f"{label}: {value}"))
        labels.append(Label(label_width + w + 6, y + 16, str(value), anchor="start"))
    return Chart(title, WIDTH, height, tuple(bars), tuple(labels))


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: tuple[float, ...]


def histogram(
    title: str,
    series: Sequence[Series],
    *,
    marker: tuple[str, float] | None = None,
    bins: int = 10,
) -> Chart | None:
    """Side-by-side histograms of a few series over shared bins; None when there are no values.

    ``marker`` (label, value) draws a dashed vertical line, such as a threshold.
    """
    values = [v for s in series for v in s.values]
    if not values:
        return None
    if marker is not None:
        values.append(marker[1])
    lo, hi = int(min(values) * 20) / 20, (int(max(values) * 20) + 1) / 20  # outwards to 0.05
    span = hi - lo
    counts = [[0] * bins for _ in series]
    for j, s in enumerate(series):
        for v in s.values:
            counts[j][min(int((v - lo) / span * bins), bins - 1)] += 1
    height, left, right, base = 210, 30, 12, 175
    plot = WIDTH - left - right
    peak = max(max(c) for c in counts) or 1
    slot = plot / bins
    bar = slot * 0.8 / len(series)
    bars = [
        Bar(left + i * slot + slot * 0.1 + j * bar, base - h, bar, h, s.color, f"{s.name}: {counts[j][i]}")
        for i in range(bins)
        for j, s in enumerate(series)
        if counts[j][i] and (h := (base - 30) * counts[j][i] / peak)
    ]
    labels = [
        Label(left - 6, 34, str(peak), anchor="end", size=11),
        Label(left - 6, base + 4, "0", "end", 11),
    ]
    rules = [Rule(left, base, WIDTH - right, base)]
    for i in range(0, bins + 1, 2):
        x = left + i * slot
        rules.append(Rule(x, base, x, base + 4))
        labels.append(Label(x, base + 17, f"{lo + span * i / bins:.2f}", size=11))
    if marker is not None:
        x = left + (marker[1] - lo) / span * plot
        rules.append(Rule(x, 22, x, base, color="#1d2330", dashed=True))
        labels.append(Label(x + 4, 30, marker[0], anchor="start", size=11))
    x = WIDTH - right
    for s in reversed(series):
        legend = f"■ {s.name} ({len(s.values)})"
        labels.append(Label(x, 12, legend, anchor="end", color=s.color))
        x -= 9 * len(legend) + 14
    return Chart(title, WIDTH, height, tuple(bars), tuple(labels), tuple(rules))
