"""Charts drawn as SVG on the server: they need no JavaScript, print, and work in exported files.

Styling is by class (the page's stylesheet), never inline styles, so the Content-Security-Policy
holds; each chart carries a title and a text summary for screen readers, and the page shows
the same numbers in a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 34


def _nice_ceiling(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        ceiling = int(step * magnitude)
        if ceiling >= value:
            return ceiling
    return value


def monthly_bars(series: Sequence[tuple[date, int | None]], *, chart_id: str, title: str,
                 highlight: tuple[date, date] | None = None, missing: set[date] | None = None,
                 marker: date | None = None, marker_label: str = "") -> Markup:
    """Bars per month. ``highlight`` marks a period (e.g. the baseline), ``missing`` the months
    with no imported data (drawn as gaps, not zeros; so is a month counted as None),
    ``marker`` a vertical line (e.g. the start of the response)."""
    missing = (missing or set()) | {month for month, count in series if count is None}
    bars = [(month, count or 0) for month, count in series]
    months = len(bars)
    top = _nice_ceiling(max([count for _m, count in bars] + [0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(months, 1)
    bar_w = max(step * 0.8, 1.0)
    parts = [
        f'<svg id="{chart_id}" class="app-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" data-chart="months">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(_describe(bars, missing))}</desc>',
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="app-chart__grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="app-chart__axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{round(top * fraction)}</text>')
    for index, (month, count) in enumerate(bars):
        x = LEFT + step * index + (step - bar_w) / 2
        label = f"{month:%b %Y}: " + ("no data imported" if month in missing else f"{count}")
        classes = ["app-chart__bar"]
        if highlight and highlight[0] <= month <= highlight[1]:
            classes.append("app-chart__bar--highlight")
        if month in missing:
            classes.append("app-chart__bar--missing")
            height = 3.0
        else:
            height = plot_h * count / top if top else 0
        parts.append(
            f'<rect class="{" ".join(classes)}" x="{x:.1f}" y="{TOP + plot_h - height:.1f}" '
            f'width="{bar_w:.1f}" height="{max(height, 0.5):.1f}" data-month="{month:%Y-%m}">'
            f'<title>{escape(label)}</title></rect>')
        if month.month == 1 or index == 0 or (months <= 24 and month.month % 3 == 1):
            parts.append(f'<text class="app-chart__axis" x="{x + bar_w / 2:.1f}" '
                         f'y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">'
                         f'{month:%b}</text>')
            if month.month == 1 or index == 0:
                parts.append(f'<text class="app-chart__axis app-chart__axis--year" '
                             f'x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 28}" '
                             f'text-anchor="middle">{month:%Y}</text>')
    if marker and bars and bars[0][0] <= marker <= bars[-1][0]:
        index = next(i for i, (m, _c) in enumerate(bars) if m >= marker)
        x = LEFT + step * index
        parts.append(f'<line class="app-chart__marker" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" '
                     f'y2="{TOP + plot_h}"/>')
        parts.append(f'<text class="app-chart__marker-label" x="{x + 4:.1f}" y="{TOP + 10}">'
                     f'{escape(marker_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _describe(series: list[tuple[date, int]], missing: set[date]) -> str:
    counted = [(m, c) for m, c in series if m not in missing]
    if not counted:
        return "No data imported for these months."
    peak = max(counted, key=lambda item: item[1])
    total = sum(c for _m, c in counted)
    return (f"{total} in {len(counted)} months from {series[0][0]:%B %Y} to "
            f"{series[-1][0]:%B %Y}; highest {peak[1]} in {peak[0]:%B %Y}"
            + (f"; {len(missing)} months without data." if missing else "."))


SERIES_CLASSES = ("target", "buffer", "control")


def monthly_lines(months: list[date], series: dict[str, tuple[str, list[int]]], *,
                  chart_id: str, title: str, periods: tuple[tuple[date, date], ...] = (),
                  marker: date | None = None, marker_label: str = "") -> Markup:
    """Monthly counts of several areas as lines (``series``: key -> (label, counts); keys
    name the style: target, buffer, control), with shaded ``periods`` (before, after) and a
    vertical ``marker`` (the response's start)."""
    top = _nice_ceiling(max([c for _label, counts in series.values() for c in counts] + [0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM - 16
    step = plot_w / max(len(months) - 1, 1)

    def x(index: int) -> float:
        return LEFT + step * index

    def y(count: int) -> float:
        return TOP + plot_h * (1 - count / top) if top else TOP + plot_h

    summary = "; ".join(f"{label}: {sum(counts)} in all" for label, counts in series.values())
    parts = [
        f'<svg id="{chart_id}" class="app-chart app-chart--lines" viewBox="0 0 {WIDTH} '
        f'{HEIGHT}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}, {months[0]:%B %Y} to '
        f'{months[-1]:%B %Y}.</desc>' if months else f'<desc id="{chart_id}-desc"></desc>',
    ]
    for kind, (first, last) in zip(("before", "after"), periods, strict=False):
        if first in months and last in months:
            left, right = x(months.index(first)) - step / 2, x(months.index(last)) + step / 2
            left, right = max(left, LEFT), min(right, WIDTH - RIGHT)
            parts.append(f'<rect class="app-chart__period app-chart__period--{kind}" '
                         f'x="{left:.1f}" y="{TOP}" width="{right - left:.1f}" '
                         f'height="{plot_h:.1f}"/>')
    for fraction in (0, 0.5, 1):
        level = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="app-chart__grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                     f'y1="{level:.1f}" y2="{level:.1f}"/>')
        parts.append(f'<text class="app-chart__axis" x="{LEFT - 6}" y="{level + 4:.1f}" '
                     f'text-anchor="end">{round(top * fraction)}</text>')
    for index, month in enumerate(months):
        first_shown = index == 0 and month.month != 12  # a January next to it has the year
        if month.month == 1 or first_shown or (len(months) <= 24 and month.month % 3 == 1):
            parts.append(f'<text class="app-chart__axis" x="{x(index):.1f}" '
                         f'y="{TOP + plot_h + 14}" text-anchor="middle">{month:%b}</text>')
            if month.month == 1 or first_shown:
                parts.append(f'<text class="app-chart__axis app-chart__axis--year" '
                             f'x="{x(index):.1f}" y="{TOP + plot_h + 28}" '
                             f'text-anchor="middle">{month:%Y}</text>')
    for key, (label, counts) in series.items():
        points = " ".join(f"{x(i):.1f},{y(c):.1f}" for i, c in enumerate(counts))
        parts.append(f'<polyline class="app-chart__line app-chart__line--{key}" '
                     f'points="{points}"><title>{escape(label)}</title></polyline>')
        for index, count in enumerate(counts):
            parts.append(f'<circle class="app-chart__dot app-chart__dot--{key}" '
                         f'cx="{x(index):.1f}" cy="{y(count):.1f}" r="2.5"><title>'
                         f'{escape(label)}, {months[index]:%b %Y}: {count}</title></circle>')
    if marker and months and months[0] <= marker <= months[-1]:
        index = next(i for i, m in enumerate(months) if m >= marker.replace(day=1))
        left = x(index) - (step / 2 if marker.day > 1 else 0) + (
            step * (marker.day - 1) / 31 if marker.day > 1 else 0)
        parts.append(f'<line class="app-chart__marker" x1="{left:.1f}" x2="{left:.1f}" '
                     f'y1="{TOP}" y2="{TOP + plot_h}"/>')
        parts.append(f'<text class="app-chart__marker-label" x="{left + 4:.1f}" '
                     f'y="{TOP + 10}">{escape(marker_label)}</text>')
    legend_y, legend_x = HEIGHT - 8, LEFT
    for key, (label, _counts) in series.items():
        parts.append(f'<line class="app-chart__line app-chart__line--{key}" x1="{legend_x}" '
                     f'x2="{legend_x + 18}" y1="{legend_y - 4}" y2="{legend_y - 4}"/>')
        parts.append(f'<text class="app-chart__legend" x="{legend_x + 22}" y="{legend_y}">'
                     f'{escape(label)}</text>')
        legend_x += 30 + 7 * len(label)
    parts.append("</svg>")
    return Markup("".join(parts))
