"""The stats page's chart, drawn server side as SVG geometry: per channel, one stacked bar per
day (sent below, failed above), with a y axis rounded to a readable maximum. No script, no
chart library; the page also shows the numbers as a table."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from herald.delivery.stats import DayCount

WIDTH, HEIGHT = 720, 170
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 26
MAX_DAY_LABELS = 10


@dataclass(frozen=True)
class Bar:
    """A rectangle of the chart, with the words a screen reader or a tooltip gives it."""

    x: float
    y: float
    width: float
    height: float
    kind: str  # "sent" or "failed"
    label: str


@dataclass(frozen=True)
class Chart:
    """One channel's chart."""

    channel: str
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    days: list[tuple[float, str]]
    sent: int
    failed: int


def nice_ceiling(value: int) -> int:
    """The axis maximum: ``value`` rounded up to 1, 2 or 5 times a power of ten."""
    if value <= 1:
        return 1
    power: int = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def channel_chart(channel: str, days: list[date], counts: Iterable[DayCount]) -> Chart:
    """The chart of one channel over ``days`` (a day with no count is an empty slot)."""
    by_day = {c.day: c for c in counts if c.channel == channel}
    top = nice_ceiling(max((c.sent + c.failed for c in by_day.values()), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1.0)
    bars: list[Bar] = []
    for i, day in enumerate(days):
        found = by_day.get(day)
        if found is None:
            continue
        x = LEFT + i * slot + (slot - bar_w) / 2
        base = float(TOP + plot_h)
        for kind, value in (("sent", found.sent), ("failed", found.failed)):
            if value:
                height = plot_h * value / top
                base -= height
                label = f"{day:%d %b}: {value} {kind}"
                bars.append(
                    Bar(round(x, 1), round(base, 1), round(bar_w, 1), round(height, 1), kind, label)
                )
    ticks = [(round(TOP + plot_h * (1 - f), 1), f"{round(top * f):,}") for f in (0, 0.5, 1)]
    every = max(1, math.ceil(len(days) / MAX_DAY_LABELS))
    # Every ``every``-th day from the last one back, so that today is always named.
    labels = [
        (round(LEFT + i * slot + slot / 2, 1), f"{day:%d %b}")
        for i, day in enumerate(days)
        if (len(days) - 1 - i) % every == 0
    ]
    return Chart(
        channel,
        WIDTH,
        HEIGHT,
        bars,
        ticks,
        labels,
        sum(c.sent for c in by_day.values()),
        sum(c.failed for c in by_day.values()),
    )
