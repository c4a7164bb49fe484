"""Policy versions for display: each version's instrument, rules, category mapping, rates,
monthly budget, minimum duration of the disability and windows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _

from assessments.types import Band, BandRules
from careapp.blueprints.eligibility.presenters import CARE_SETTING_LABELS, CATEGORY_LABELS
from careapp.blueprints.policy.forms import localized, source_text
from careapp.core.money import format_yuan
from careapp.eligibility.rules import BenefitCategory
from careapp.models.assessment import CareSetting
from careapp.models.eligibility import EntitlementStart, PolicyVersion
from careapp.services.policy import PolicyRules, policy_version_name


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


def category_label(category: BenefitCategory | None) -> str:
    if category is BenefitCategory.SEVERE:
        return _("Severe")
    if category is BenefitCategory.MODERATE:
        return _("Moderate")
    return _("No benefit")


def _bands(title: str, bands: tuple[Band, ...]) -> BandsView:
    return BandsView(title, [(localized(b), b.min_total, b.max_total) for b in bands])


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
            title = localized(indicator) if indicator else indicator_bands.indicator
            bands.append(_bands(title, indicator_bands.bands))
        grades = {g.code: f"{g.code} {localized(g)}" for g in rules.grades}
        row = instrument.indicator(rules.row_indicator)
        table = TableView(
            title=localized(row) if row else rules.row_indicator,
            columns=[localized(level) for level in rules.levels],
            rows=[
                (localized(level), [grades[cell] for cell in cells])
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
        categories=[(localized(g), category_label(mapping.get(g.code))) for g in rules.grades],
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
