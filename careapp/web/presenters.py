"""What the ledger, settlement and policy pages show, built from service results: months, the
fund chart's geometry (inline SVG drawn by the template) and policy versions with their rules."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import gettext as _

from assessments.types import Band, BandRules
from careapp.core.errors import InvalidInputError
from careapp.core.money import format_yuan
from careapp.eligibility.ledger import month_bounds
from careapp.eligibility.rules import BenefitCategory
from careapp.models.assessment import CareSetting
from careapp.models.eligibility import EntitlementStart, PolicyVersion
from careapp.services.fund import FundOverview
from careapp.services.i18n import localized
from careapp.services.policy import PolicyRules, policy_version_name
from careapp.web.labels import CARE_SETTING_LABELS, CATEGORY_LABELS, NO_BENEFIT_LABEL
from careapp.web.wording import source_text

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


@dataclass(frozen=True)
class BandsView:
    title: str
    rows: list[tuple[str, int, int]]  # label, min, max


@dataclass(frozen=True)
class TableView:
    title: str
    columns: list[str]
    rows: list[tuple[str, list[str]]]  # row label, grade labels


@dataclass(frozen=True)
class VersionView:
    id: int | None
    name: str
    effective_on: dt.date
    approved_by: str
    status: str
    instrument_name: str
    source: str
    bands: list[BandsView]
    table: TableView | None
    categories: list[tuple[str, str]]  # grade label, category label
    windows: str  # the entitlement start rule and the procedure's windows, as one sentence
    rate_columns: list[str]  # category labels
    rates: list[tuple[str, list[str]]]  # care setting label, the rate of each category
    monthly_budget: str
    min_disability: str


def _bands(title: str, bands: tuple[Band, ...]) -> BandsView:
    return BandsView(title, [(localized(b, "label"), b.min_total, b.max_total) for b in bands])


def _windows(version: PolicyVersion) -> str:
    figures = {
        "appeal": version.appeal_days,
        "publicity": version.publicity_working_days,
        "months": version.reassessment_interval_months,
    }
    if version.entitlement_starts_from is EntitlementStart.APPLICATION:
        return _(
            "Entitlements start on the application date; appeal within %(appeal)d days; "
            "publicity %(publicity)d working days; re-assessment every %(months)d months.",
            **figures,
        )
    return _(
        "Entitlements start on the decision date; appeal within %(appeal)d days; "
        "publicity %(publicity)d working days; re-assessment every %(months)d months.",
        **figures,
    )


def _rates(version: PolicyVersion) -> list[tuple[str, list[str]]]:
    stored = {(r.category, r.care_setting): r for r in version.rates}
    rows = []
    for setting in CareSetting:
        cells = []
        for category in BenefitCategory:
            rate = stored.get((category, setting))
            if rate is None:
                cells.append("—")
            elif rate.daily_fen is None:
                cells.append(_("Paid per visit, within the monthly budget"))
            else:
                cells.append(_("%(amount)s yuan a day", amount=format_yuan(rate.daily_fen)))
        rows.append((str(CARE_SETTING_LABELS[setting]), cells))
    return rows


def version_view(policy: PolicyRules, status: str) -> VersionView:
    """One version as shown on the list: the rules of its instrument in force."""
    version, instrument = policy.version, policy.instrument
    rules = policy.rules[instrument.code]
    table = None
    if isinstance(rules, BandRules):
        bands = [_bands(_("Grade bands over the total"), rules.bands)]
    else:
        bands = []
        for indicator_bands in rules.indicator_bands:
            indicator = instrument.indicator(indicator_bands.indicator)
            title = localized(indicator, "label") if indicator else indicator_bands.indicator
            bands.append(_bands(title, indicator_bands.bands))
        grades = {g.code: f"{g.code} {localized(g, 'label')}" for g in rules.grades}
        row = instrument.indicator(rules.row_indicator)
        table = TableView(
            title=localized(row, "label") if row else rules.row_indicator,
            columns=[localized(level, "label") for level in rules.levels],
            rows=[
                (localized(level, "label"), [grades[cell] for cell in cells])
                for level, cells in zip(rules.levels, rules.table, strict=True)
            ],
        )
    mapping = policy.categories.get(instrument.code, {})
    return VersionView(
        id=version.id,
        name=policy_version_name(version.name),
        effective_on=version.effective_on,
        approved_by=version.approved_by.display_name if version.approved_by else "—",
        status=status,
        instrument_name=localized(instrument, "name"),
        source=source_text(rules.source),
        bands=bands,
        table=table,
        categories=[
            (localized(g, "label"), str(_grade_category(mapping.get(g.code)))) for g in rules.grades
        ],
        windows=_windows(version),
        rate_columns=[str(CATEGORY_LABELS[category]) for category in BenefitCategory],
        rates=_rates(version),
        monthly_budget=_(
            "%(amount)s yuan a month", amount=format_yuan(version.home_service_monthly_budget_fen)
        ),
        min_disability=_(
            "At least %(months)d months of disability.", months=version.min_disability_months
        ),
    )


def version_views(policies: list[PolicyRules], today: dt.date) -> list[VersionView]:
    """Versions newest first, each marked scheduled, in force or superseded on `today`."""
    views = []
    in_force_seen = False
    for policy in policies:
        if policy.version.effective_on > today:
            status = _("Scheduled")
        elif not in_force_seen:
            status = _("In force")
            in_force_seen = True
        else:
            status = _("Superseded")
        views.append(version_view(policy, status))
    return views


def _grade_category(category: BenefitCategory | None) -> LazyString:
    return NO_BENEFIT_LABEL if category is None else CATEGORY_LABELS[category]
