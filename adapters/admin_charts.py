"""The dashboard's charts as server-side SVG: outcomes per month and CO2e avoided per month.

No JavaScript and nothing from a CDN: the markup is built here, every text escaped."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from bot.decision_log import MonthStats

# Colours with at least 3:1 contrast against the white chart (WCAG 1.4.11).
OUTCOME_COLOURS = (
    ("travel", "#c2410c"),
    ("digital", "#15803d"),
    ("not_qualified", "#6b7280"),
)
Text = Callable[[str], str]
AVOIDED_COLOUR = "#0f766e"
WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 36, 40


@dataclass(frozen=True)
class MonthTotals:
    """All departments' decisions of one month."""

    month: str  # YYYY-MM
    travel: int = 0
    digital: int = 0
    not_qualified: int = 0
    avoided_kg: float = 0.0

    @property
    def total(self) -> int:
        return self.travel + self.digital + self.not_qualified


def month_keys(first: date, last: date) -> list[str]:
    """Every month from `first` to `last`, as YYYY-MM."""
    keys = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def monthly_totals(rows: Iterable[MonthStats], months: Sequence[str]) -> list[MonthTotals]:
    """The stats rows (per month and department) added up per month; empty months are zero."""
    sums = {m: [0, 0, 0, 0.0] for m in months}
    for row in rows:
        if row.month in sums:
            total = sums[row.month]
            total[0] += row.travel
            total[1] += row.digital
            total[2] += row.not_qualified
            total[3] += row.avoided_kg
    return [
        MonthTotals(m, int(t[0]), int(t[1]), int(t[2]), round(t[3], 1)) for m, t in sums.items()
    ]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^n at or above `value` (at least 1), for a readable axis."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def _number(value: float) -> str:
    return f"{round(value):,}".replace(",", "\u2009")


def _frame(title: str, description: str, top: float, unit: str) -> list[str]:
    """The opening tag, accessible title, gridlines and y-axis labels."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' class="chart" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>",
    ]
    plot_height = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_height * (1 - i / 4)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"'
            f' stroke="#d1d5db" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11"'
            f' fill="#374151">{escape(_number(value))}</text>'
        )
    parts.append(
        f'<text x="{LEFT - 6}" y="{TOP - 22}" text-anchor="end" font-size="11"'
        f' fill="#374151">{escape(unit)}</text>'
    )
    return parts


def _month_label(x: float, month: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11"'
        f' fill="#374151">{escape(month)}</text>'
    )


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    parts = []
    x = LEFT
    for label, colour in entries:
        parts.append(
            f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="16" font-size="12" fill="#111827">{escape(label)}</text>'
        )
        x += 24 + 8 * len(label)
    return parts


def outcomes_chart(months: Sequence[MonthTotals], text: Text) -> Markup:
    """Stacked bars per month: travel, digital and not qualified. `text` gives the words."""
    top = nice_ceiling(max((m.total for m in months), default=0))
    parts = _frame(
        text("chart.outcomes.title"),
        text("chart.outcomes.description"),
        top,
        text("chart.outcomes.unit"),
    )
    labels = {field: text(f"outcome.{field}") for field, _ in OUTCOME_COLOURS}
    parts += _legend([(labels[field], colour) for field, colour in OUTCOME_COLOURS])
    slot = (WIDTH - LEFT - RIGHT) / max(len(months), 1)
    scale = (HEIGHT - TOP - BOTTOM) / top
    for index, month in enumerate(months):
        x = LEFT + slot * index + slot * 0.15
        base = float(HEIGHT - BOTTOM)
        for field, colour in OUTCOME_COLOURS:
            count = int(getattr(month, field))
            if count == 0:
                continue
            height = count * scale
            base -= height
            parts.append(
                f'<rect class="bar bar-{field}" x="{x:.1f}" y="{base:.1f}"'
                f' width="{slot * 0.7:.1f}" height="{height:.1f}" fill="{colour}">'
                f"<title>{escape(month.month)}: {count} {escape(labels[field].lower())}"
                "</title></rect>"
            )
        parts.append(_month_label(x + slot * 0.35, month.month))
    parts.append("</svg>")
    return Markup("".join(parts))


def avoided_chart(months: Sequence[MonthTotals], text: Text) -> Markup:
    """Bars per month: kg CO2e avoided by meeting digitally instead of travelling."""
    top = nice_ceiling(max((m.avoided_kg for m in months), default=0))
    parts = _frame(
        text("chart.avoided.title"),
        text("chart.avoided.description"),
        top,
        "kg CO2e",
    )
    parts += _legend([(text("chart.avoided.legend"), AVOIDED_COLOUR)])
    slot = (WIDTH - LEFT - RIGHT) / max(len(months), 1)
    scale = (HEIGHT - TOP - BOTTOM) / top
    for index, month in enumerate(months):
        x = LEFT + slot * index + slot * 0.15
        height = month.avoided_kg * scale
        if height > 0:
            parts.append(
                f'<rect class="bar bar-avoided" x="{x:.1f}" y="{HEIGHT - BOTTOM - height:.1f}"'
                f' width="{slot * 0.7:.1f}" height="{height:.1f}" fill="{AVOIDED_COLOUR}">'
                f"<title>{escape(month.month)}: {escape(_number(month.avoided_kg))} kg</title>"
                "</rect>"
            )
        parts.append(_month_label(x + slot * 0.35, month.month))
    parts.append("</svg>")
    return Markup("".join(parts))
