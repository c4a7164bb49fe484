"""Labels of the ledger pages and the fund chart's geometry (inline SVG drawn by the template)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from careapp.core.errors import InvalidInputError
from careapp.core.money import format_yuan
from careapp.eligibility.ledger import Payee, month_bounds
from careapp.services.fund import FundOverview

PAYEE_LABELS: Mapping[Payee, LazyString] = {
    Payee.INSTITUTION: _l("Institution"),
    Payee.BENEFICIARY: _l("Beneficiary (cash)"),
    Payee.PER_VISIT: _l("Home-care company, per visit"),
}
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")

# The chart's drawing area, in SVG user units.
CHART_WIDTH = 720
CHART_HEIGHT = 240
CHART_LEFT = 70  # room for the axis labels
CHART_BOTTOM = 30
CHART_TOP = 10
# SVG presentation attributes (not CSS: the CSP allows no inline style), one colour per line.
PALETTE = ("#2f6fb0", "#d98c2b", "#5a9e5a", "#8a5fb0", "#b04a4a")


def parse_month(value: str | None, today: dt.date) -> dt.date:
    """`YYYY-MM` -> the first day of that month (this month if empty); InvalidInputError else."""
    if not value:
        return today.replace(day=1)
    match = MONTH_PATTERN.match(value)
    if match is not None:
        year, month = int(match.group(1)), int(match.group(2))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return dt.date(year, month, 1)
    raise InvalidInputError(_("Give the month as YYYY-MM, e.g. 2026-03."), field="month")


def is_projection(month: dt.date, today: dt.date) -> bool:
    """Whether the month has days after today (its figures assume nothing changes until then)."""
    return month_bounds(month)[1] > today


def month_label(month: dt.date) -> str:
    return f"{month.year}-{month.month:02d}"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    is_current: bool
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[tuple[float, str]]  # x of each month's label, label
    legend: list[tuple[str, str]]  # colour, line label


def _nice_ceiling(fen: int) -> int:
    """A round upper bound for the axis (1, 2 or 5 times a power of ten yuan), in fen."""
    if fen <= 0:
        return 100
    step = 100
    while True:
        for factor in (1, 2, 5):
            if step * factor >= fen:
                return step * factor
        step *= 10


def fund_chart(overview: FundOverview) -> Chart:
    """Stacked monthly bars, one colour per spending line, with a yuan axis of four ticks."""
    top = _nice_ceiling(max((overview.total_of(m) for m in overview.months), default=0))
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    slot = (CHART_WIDTH - CHART_LEFT) / max(len(overview.months), 1)
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for index, month in enumerate(overview.months):
        x = CHART_LEFT + index * slot + slot * 0.15
        base = float(CHART_HEIGHT - CHART_BOTTOM)
        for number, line in enumerate(overview.lines):
            amount = line.by_month.get(month, 0)
            height = plot_height * amount / top
            base -= height
            bars.append(
                Bar(
                    round(x, 1),
                    round(base, 1),
                    round(slot * 0.7, 1),
                    round(height, 1),
                    PALETTE[number % len(PALETTE)],
                    month == overview.month,
                    f"{month_label(month)} {line.label}: {format_yuan(amount)}",
                )
            )
        labels.append((round(x + slot * 0.35, 1), month_label(month)))
    ticks = [
        Tick(
            round(CHART_HEIGHT - CHART_BOTTOM - plot_height * step / 4, 1),
            format_yuan(top * step // 4).removesuffix(".00"),
        )
        for step in range(5)
    ]
    legend = [(PALETTE[n % len(PALETTE)], line.label) for n, line in enumerate(overview.lines)]
    return Chart(CHART_WIDTH, CHART_HEIGHT, bars, ticks, labels, legend)
