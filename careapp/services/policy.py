"""Policy versions: the default version holds the spec's figures; later ones are data.

Administrators create a NEW version from the one in force (never editing a version in force,
never backdating): the instrument in force, its grading rules (Barthel bands, the national
standard's level bands and combination table), the grade -> benefit category mapping, the daily
rates per category and care setting, the home-care monthly budget, the minimum duration of the
disability, the entitlement start rule and the procedure's windows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from assessments.grading import INSTRUMENTS, rules_from_data, rules_to_data
from assessments.types import (
    EMPTY_BAND,
    GAP_OR_OVERLAP,
    LEVELS_NOT_MONOTONE,
    NO_BANDS,
    NOT_FROM_MINIMUM,
    NOT_TO_MAXIMUM,
    TABLE_NOT_MONOTONE,
    CombinationRules,
    GradingRules,
    Instrument,
    InvalidRulesError,
)
from careapp.core.clock import city_today
from careapp.core.errors import ConflictError, InvalidInputError
from careapp.core.money import (
    AMOUNT_TOO_LARGE,
    NEGATIVE_AMOUNT,
    TOO_MANY_DECIMALS,
    InvalidAmountError,
    check_fen,
    format_yuan,
)
from careapp.eligibility.rules import (
    CATEGORIES_NOT_MONOTONE,
    DEFAULT_GRADE_CATEGORIES,
    GRADE_WITHOUT_CATEGORY,
    BenefitCategory,
    InvalidGradeCategoriesError,
    check_grade_categories,
    grade_categories_from_data,
    grade_categories_to_data,
)
from careapp.models.assessment import CareSetting
from careapp.models.eligibility import EntitlementStart, PolicyRate, PolicyVersion
from careapp.models.users import Role
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.i18n import localized

# Daily rates in fen (1 yuan = 100 fen); None = paid per visit within the monthly budget.
DEFAULT_RATES_FEN: dict[tuple[BenefitCategory, CareSetting], int | None] = {
    (BenefitCategory.SEVERE, CareSetting.MEDICAL_CARE_INSTITUTION): 5000,  # Nantong 2017
    (BenefitCategory.SEVERE, CareSetting.ELDERLY_CARE_INSTITUTION): 4000,  # Nantong 2017
    (BenefitCategory.SEVERE, CareSetting.HOME_SERVICE): None,  # up to 1,200 yuan/month of visits
    (BenefitCategory.SEVERE, CareSetting.HOME_CASH): 1500,  # configurable, unconfirmed
    (BenefitCategory.MODERATE, CareSetting.MEDICAL_CARE_INSTITUTION): 1000,  # Nantong 2017
    (BenefitCategory.MODERATE, CareSetting.ELDERLY_CARE_INSTITUTION): 1000,
    (BenefitCategory.MODERATE, CareSetting.HOME_SERVICE): 1000,
    (BenefitCategory.MODERATE, CareSetting.HOME_CASH): 1000,
}
DEFAULT_EFFECTIVE_ON = dt.date(2016, 1, 1)
DEFAULT_INSTRUMENT = "barthel"
NAME_MAX = 100
# The procedure's windows (benefits.md, assessment.md): defaults and the limits a version may set.
DEFAULT_APPEAL_DAYS = 30
DEFAULT_PUBLICITY_WORKING_DAYS = 5
DEFAULT_REASSESSMENT_INTERVAL_MONTHS = 24
# The seeded version's stored name; shown in the user's language by `policy_version_name`.
DEFAULT_POLICY_NAME = "Default (spec figures)"
APPEAL_DAYS_RANGE = (1, 365)
PUBLICITY_WORKING_DAYS_RANGE = (1, 30)
REASSESSMENT_INTERVAL_MONTHS_RANGE = (1, 120)
# The money figures a version may set (anything above is a typing slip, not a policy).
MIN_DISABILITY_MONTHS_RANGE = (0, 60)
DAILY_RATE_MAX_FEN = 100_000  # 1,000 yuan a day
MONTHLY_BUDGET_MAX_FEN = 1_000_000  # 10,000 yuan a month
# Paid per visit to the home-care company within the monthly budget: never a daily rate.
PER_VISIT_RATES = frozenset({(BenefitCategory.SEVERE, CareSetting.HOME_SERVICE)})
RATE_KEYS = tuple((category, setting) for category in BenefitCategory for setting in CareSetting)


def rate_field(category: BenefitCategory, setting: CareSetting) -> str:
    """The form field (and error field) of one daily rate, e.g. `rate__severe__home_cash`."""
    return f"rate__{category.value}__{setting.value}"


def default_grading_rules_data() -> dict[str, Any]:
    """Every instrument's default rules as stored data, keyed by instrument code."""
    return {
        code: rules_to_data(instrument.default_rules) for code, instrument in INSTRUMENTS.items()
    }


def default_grade_categories_data() -> dict[str, dict[str, str | None]]:
    """The spec's grade -> benefit category mapping (benefits.md) as stored data."""
    return grade_categories_to_data(DEFAULT_GRADE_CATEGORIES)


def policy_version_name(name: str) -> str:
    """A policy version's name as shown on pages and documents.

    Administrators name the versions they create, in their words; the seeded default's stored
    name is worded in the user's language (Chinese on documents: call under force_locale).
    """
    return gettext("Default (spec figures)") if name == DEFAULT_POLICY_NAME else name


def build_default_policy(effective_on: dt.date = DEFAULT_EFFECTIVE_ON) -> PolicyVersion:
    """A new (unsaved) policy version with the spec's default figures."""
    return PolicyVersion(
        name=DEFAULT_POLICY_NAME,
        effective_on=effective_on,
        min_disability_months=6,
        instrument_code=DEFAULT_INSTRUMENT,
        grading_rules=default_grading_rules_data(),
        grade_categories=default_grade_categories_data(),
        home_service_monthly_budget_fen=120_000,
        entitlement_starts_from=EntitlementStart.DECISION,
        appeal_days=DEFAULT_APPEAL_DAYS,
        publicity_working_days=DEFAULT_PUBLICITY_WORKING_DAYS,
        reassessment_interval_months=DEFAULT_REASSESSMENT_INTERVAL_MONTHS,
        rates=[
            PolicyRate(category=category, care_setting=setting, daily_fen=fen)
            for (category, setting), fen in DEFAULT_RATES_FEN.items()
        ],
    )


def ensure_default_policy(session: Session) -> PolicyVersion:
    """Load the default version unless one is already in force from its date."""
    existing = session.scalar(
        select(PolicyVersion).where(PolicyVersion.effective_on == DEFAULT_EFFECTIVE_ON)
    )
    if existing is not None:
        return existing
    policy = build_default_policy()
    session.add(policy)
    session.flush()
    return policy


def policy_in_force(session: Session, on: dt.date) -> PolicyVersion | None:
    """The latest version whose effective date is on or before `on`."""
    return session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.effective_on <= on)
        .order_by(PolicyVersion.effective_on.desc())
        .limit(1)
    )


def grading_rules_of(policy: PolicyVersion, instrument: Instrument) -> GradingRules:
    """The policy's rules for `instrument` (its defaults if the policy stores none for it).

    Raises InvalidRulesError if the stored rules cannot grade (they are checked when stored).
    """
    data = (policy.grading_rules or {}).get(instrument.code)
    if data is None:
        return instrument.default_rules
    return rules_from_data(instrument, data)


def grade_categories_of(policy: PolicyVersion) -> dict[str, dict[str, BenefitCategory | None]]:
    """The policy's grade -> category mapping per instrument (defaults for instruments it omits)."""
    stored = grade_categories_from_data(policy.grade_categories or {})
    defaults = {code: dict(mapping) for code, mapping in DEFAULT_GRADE_CATEGORIES.items()}
    return defaults | stored


# --- administrators create new versions ---------------------------------------------------


@dataclass(frozen=True)
class PolicyDraft:
    """A new version as the administrator submitted it (rules and mapping as stored data,
    money in integer fen)."""

    name: str
    effective_on: dt.date
    instrument_code: str
    grading_rules: Mapping[str, Any]  # instrument code -> rules data
    grade_categories: Mapping[str, Mapping[str, str | None]]
    entitlement_starts_from: str  # an `EntitlementStart` value
    appeal_days: int
    publicity_working_days: int
    reassessment_interval_months: int
    # (category, care setting) -> daily rate in fen; None for the per-visit row only.
    daily_rates_fen: Mapping[tuple[BenefitCategory, CareSetting], int | None]
    home_service_monthly_budget_fen: int
    min_disability_months: int


class PolicyInputError(InvalidInputError):
    """A new version that cannot be stored; the message names the problem."""


def list_policy_versions(session: Session, actor: Actor) -> list[PolicyRules]:
    """Every version with its rules and rates, the newest effective date first."""
    actor.require(Role.ADMIN)
    versions = session.scalars(
        select(PolicyVersion)
        .options(selectinload(PolicyVersion.approved_by), selectinload(PolicyVersion.rates))
        .order_by(PolicyVersion.effective_on.desc())
    )
    return [policy_rules(version) for version in versions]


@dataclass(frozen=True)
class PolicyRules:
    """A version with its grading rules for every instrument and its category mapping."""

    version: PolicyVersion
    rules: dict[str, GradingRules]  # instrument code -> rules
    categories: dict[str, dict[str, BenefitCategory | None]]

    @property
    def instrument(self) -> Instrument:
        return INSTRUMENTS[self.version.instrument_code]


def policy_rules(version: PolicyVersion) -> PolicyRules:
    return PolicyRules(
        version=version,
        rules={code: grading_rules_of(version, inst) for code, inst in INSTRUMENTS.items()},
        categories=grade_categories_of(version),
    )


def policy_base(session: Session, actor: Actor, now: dt.datetime) -> PolicyRules:
    """What a new version starts from: the version in force today (or the unsaved default)."""
    actor.require(Role.ADMIN)
    return policy_rules(policy_in_force(session, city_today(now)) or build_default_policy())


def _rules_where(instrument: Instrument, error: InvalidRulesError) -> str:
    indicator_code = error.params.get("indicator")
    indicator = instrument.indicator(str(indicator_code)) if indicator_code else None
    name = localized(instrument)
    if indicator is not None:
        return gettext(
            "%(instrument)s, level bands of “%(indicator)s”",
            instrument=name,
            indicator=localized(indicator, "label"),
        )
    return gettext("%(instrument)s, bands", instrument=name)


def _band_label(instrument: Instrument, code: object, *, is_level: bool) -> str:
    """The wording of a band's grade or level code (the code itself if it has none)."""
    rules = instrument.default_rules
    labels = rules.levels if is_level and isinstance(rules, CombinationRules) else rules.grades
    found = next((label for label in labels if label.code == code), None)
    return localized(found, "label") if found is not None else str(code)


def describe_rules_error(instrument: Instrument, error: InvalidRulesError) -> str:
    """The problem in the user's language, naming where it is."""
    p = error.params
    if error.reason == TABLE_NOT_MONOTONE:
        cell = {
            "row": _band_label(instrument, p["row"], is_level=True),
            "column": _band_label(instrument, p["column"], is_level=True),
            "grade": p["grade"],
            "other": p["than"],
        }
        if p.get("than_row") is not None:
            return gettext(
                "Combination table, row “%(row)s”, column “%(column)s”: grade %(grade)s is lower "
                "than grade %(other)s in the cell above it. A worse level must never give a "
                "lower grade.",
                **cell,
            )
        return gettext(
            "Combination table, row “%(row)s”, column “%(column)s”: grade %(grade)s is lower "
            "than grade %(other)s in the cell to its left. A worse level must never give a "
            "lower grade.",
            **cell,
        )
    where = _rules_where(instrument, error)
    band = _band_label(instrument, p.get("band"), is_level=p.get("indicator") is not None)
    if error.reason == NO_BANDS:
        return gettext("%(where)s: there are no bands.", where=where)
    if error.reason == EMPTY_BAND:
        return gettext(
            "%(where)s: the band “%(band)s” ends before it starts.", where=where, band=band
        )
    if error.reason == NOT_FROM_MINIMUM:
        return gettext(
            "%(where)s: the first band “%(band)s” must start at %(minimum)s.",
            where=where,
            band=band,
            minimum=p["minimum"],
        )
    if error.reason == GAP_OR_OVERLAP:
        return gettext(
            "%(where)s: the band “%(band)s” must start right after the band before it "
            "(there is a gap or an overlap).",
            where=where,
            band=band,
        )
    if error.reason == NOT_TO_MAXIMUM:
        return gettext(
            "%(where)s: the last band “%(band)s” must end at %(maximum)s.",
            where=where,
            band=band,
            maximum=p["maximum"],
        )
    if error.reason == LEVELS_NOT_MONOTONE:
        return gettext(
            "%(where)s: the level “%(level)s” covers higher totals than a less impaired level.",
            where=where,
            level=_band_label(instrument, p["level"], is_level=True),
        )
    return gettext(
        "%(where)s: the rules are incomplete or malformed (%(reason)s).",
        where=where,
        reason=error.reason,
    )


def describe_categories_error(instrument: Instrument, error: InvalidGradeCategoriesError) -> str:
    name = localized(instrument)
    if error.reason == CATEGORIES_NOT_MONOTONE:
        return gettext(
            "%(instrument)s: grade %(grade)s gives a lesser benefit category than a less severe "
            "grade. A more severe grade must never give a lesser category.",
            instrument=name,
            grade=error.grade,
        )
    if error.reason == GRADE_WITHOUT_CATEGORY:
        return gettext(
            "%(instrument)s: choose a benefit category for grade %(grade)s.",
            instrument=name,
            grade=error.grade,
        )
    return gettext(
        "%(instrument)s: %(grade)s is not a grade of its rules.", instrument=name, grade=error.grade
    )


def check_policy_draft(
    draft: PolicyDraft,
) -> tuple[dict[str, Any], dict[str, dict[str, str | None]]]:
    """The draft's rules and mapping as stored data, every instrument checked.

    Raises PolicyInputError naming the first problem (bands that do not cover every total once,
    an incomplete or non-monotone table, a missing or non-monotone category mapping).
    """
    if draft.instrument_code not in INSTRUMENTS:
        raise PolicyInputError(gettext("Choose an instrument."), field="instrument_code")
    rules_data: dict[str, Any] = {}
    categories_data: dict[str, dict[str, str | None]] = {}
    for code, instrument in INSTRUMENTS.items():
        try:
            rules = rules_from_data(instrument, draft.grading_rules.get(code))
        except InvalidRulesError as error:
            raise PolicyInputError(describe_rules_error(instrument, error)) from None
        try:
            mapping = grade_categories_from_data({code: draft.grade_categories.get(code) or {}})
            check_grade_categories([label.code for label in rules.grades], mapping[code])
        except InvalidGradeCategoriesError as error:
            raise PolicyInputError(describe_categories_error(instrument, error)) from None
        except ValueError:
            raise PolicyInputError(gettext("Choose a benefit category for every grade.")) from None
        rules_data[code] = rules_to_data(rules)
        categories_data[code] = grade_categories_to_data(mapping)[code]
    return rules_data, categories_data


def describe_amount_error(error: InvalidAmountError) -> str:
    """What is wrong with an amount of yuan, in the user's language."""
    if error.reason == NEGATIVE_AMOUNT:
        return gettext("An amount cannot be negative.")
    if error.reason == TOO_MANY_DECIMALS:
        return gettext("At most two decimals: amounts are whole fen.")
    if error.reason == AMOUNT_TOO_LARGE and error.maximum_fen is not None:
        return gettext("At most %(max)s yuan.", max=format_yuan(error.maximum_fen))
    return gettext("Enter an amount in yuan, e.g. 50 or 12.50.")


RateKey = tuple[BenefitCategory, CareSetting]


def check_policy_figures(draft: PolicyDraft) -> dict[RateKey, int | None]:
    """The draft's daily rates, every (category, care setting) once; PolicyInputError naming the
    field if a rate, the monthly budget or the minimum months is missing or out of range, or if
    the per-visit row (severe, at home with door-to-door service) is given a daily rate."""
    rates: dict[RateKey, int | None] = {}
    for key in RATE_KEYS:
        fen = draft.daily_rates_fen.get(key)
        if key in PER_VISIT_RATES:
            if fen is not None:
                raise PolicyInputError(
                    gettext(
                        "Severe disability at home with door-to-door service is paid per visit "
                        "within the monthly budget, not at a daily rate."
                    )
                )
            rates[key] = None
            continue
        field_name = rate_field(*key)
        if fen is None:
            raise PolicyInputError(gettext("Enter a daily rate in yuan."), field=field_name)
        try:
            rates[key] = check_fen(fen, DAILY_RATE_MAX_FEN)
        except InvalidAmountError as error:
            raise PolicyInputError(describe_amount_error(error), field=field_name) from None
    try:
        check_fen(draft.home_service_monthly_budget_fen, MONTHLY_BUDGET_MAX_FEN)
    except InvalidAmountError as error:
        raise PolicyInputError(
            describe_amount_error(error), field="home_service_monthly_budget"
        ) from None
    low, high = MIN_DISABILITY_MONTHS_RANGE
    if not low <= draft.min_disability_months <= high:
        raise PolicyInputError(
            gettext("Enter a whole number from %(min)d to %(max)d.", min=low, max=high),
            field="min_disability_months",
        )
    return rates


def check_policy_windows(draft: PolicyDraft) -> EntitlementStart:
    """The draft's start rule; PolicyInputError if it or a window is out of range."""
    try:
        starts_from = EntitlementStart(draft.entitlement_starts_from)
    except ValueError:
        raise PolicyInputError(
            gettext("Choose the date entitlements start on."), field="entitlement_starts_from"
        ) from None
    windows = (
        ("appeal_days", draft.appeal_days, APPEAL_DAYS_RANGE),
        ("publicity_working_days", draft.publicity_working_days, PUBLICITY_WORKING_DAYS_RANGE),
        (
            "reassessment_interval_months",
            draft.reassessment_interval_months,
            REASSESSMENT_INTERVAL_MONTHS_RANGE,
        ),
    )
    for name, value, (low, high) in windows:
        if not low <= value <= high:
            raise PolicyInputError(
                gettext("Enter a whole number from %(min)d to %(max)d.", min=low, max=high),
                field=name,
            )
    return starts_from


def create_policy_version(
    session: Session, actor: Actor, draft: PolicyDraft, now: dt.datetime
) -> PolicyVersion:
    """Store a new version effective from `draft.effective_on` (today or later) with every
    figure of the draft (rules, mapping, rates, monthly budget, disability minimum, windows);
    audited.

    A version in force is never edited, and no version may take effect before today.
    """
    user_id = actor.require(Role.ADMIN)
    name = draft.name.strip()
    if not name:
        raise PolicyInputError(gettext("Name the new version."), field="name")
    if len(name) > NAME_MAX:
        raise PolicyInputError(gettext("At most %(max)d characters.", max=NAME_MAX), field="name")
    today = city_today(now)
    if draft.effective_on < today:
        raise PolicyInputError(
            gettext(
                "A new version cannot take effect before today (%(today)s).",
                today=today.isoformat(),
            ),
            field="effective_on",
        )
    taken = session.scalar(
        select(PolicyVersion.id).where(PolicyVersion.effective_on == draft.effective_on)
    )
    if taken is not None:
        raise PolicyInputError(
            gettext(
                "A version already takes effect on %(day)s.", day=draft.effective_on.isoformat()
            ),
            field="effective_on",
        )
    rules_data, categories_data = check_policy_draft(draft)
    starts_from = check_policy_windows(draft)
    rates = check_policy_figures(draft)
    base = policy_in_force(session, today)
    version = PolicyVersion(
        name=name,
        effective_on=draft.effective_on,
        approved_by_id=user_id,
        min_disability_months=draft.min_disability_months,
        instrument_code=draft.instrument_code,
        grading_rules=rules_data,
        grade_categories=categories_data,
        home_service_monthly_budget_fen=draft.home_service_monthly_budget_fen,
        entitlement_starts_from=starts_from,
        appeal_days=draft.appeal_days,
        publicity_working_days=draft.publicity_working_days,
        reassessment_interval_months=draft.reassessment_interval_months,
        rates=[
            PolicyRate(category=category, care_setting=setting, daily_fen=fen)
            for (category, setting), fen in rates.items()
        ],
    )
    try:
        with session.begin_nested():
            session.add(version)
            session.flush()
    except IntegrityError:  # another version for the same date was stored at the same moment
        raise ConflictError(
            gettext(
                "A version already takes effect on %(day)s.", day=draft.effective_on.isoformat()
            )
        ) from None
    record_event(
        session,
        actor,
        "policy.create",
        "policy_version",
        version.id,
        now=now,
        detail={
            "effective_on": version.effective_on.isoformat(),
            "based_on": base.id if base is not None else None,
            "instrument_code": version.instrument_code,
            "grading_rules": rules_data,
            "grade_categories": categories_data,
            "entitlement_starts_from": starts_from.value,
            "appeal_days": draft.appeal_days,
            "publicity_working_days": draft.publicity_working_days,
            "reassessment_interval_months": draft.reassessment_interval_months,
            "daily_rates_fen": {
                f"{category.value}/{setting.value}": fen
                for (category, setting), fen in rates.items()
            },
            "home_service_monthly_budget_fen": draft.home_service_monthly_budget_fen,
            "min_disability_months": draft.min_disability_months,
        },
    )
    session.flush()
    return version
