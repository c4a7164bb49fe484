"""Eligibility rules (pure): who may receive care benefits, in which category, at what rate.

Every figure comes from a `PolicyFigures` value built from the policy version in force; nothing is
hard-coded here. `decide` evaluates all four rules of the spec (`benefits.md`) and lists each with
pass/fail, a reason code and the parameters that explain it, so a decision can be shown and checked.

There is deliberately no household-registration field anywhere in this module: the rules cannot see
it, so no decision can depend on it (the equality rule of `registry.md`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


class BenefitCategory(enum.StrEnum):
    """A benefit category (the database stores it by value, as entitlements.category)."""

    SEVERE = "severe"
    MODERATE = "moderate"


# Care settings by their stored values (the database's `CareSetting`).
MEDICAL_CARE_INSTITUTION = "medical_care_institution"
ELDERLY_CARE_INSTITUTION = "elderly_care_institution"
HOME_SERVICE = "home_service"
HOME_CASH = "home_cash"
CARE_SETTINGS = (MEDICAL_CARE_INSTITUTION, ELDERLY_CARE_INSTITUTION, HOME_SERVICE, HOME_CASH)

# Instrument codes as stored on an assessment.
BARTHEL = "barthel"
NATIONAL_STANDARD = "national_2021"

# Rule names, in the order they are listed.
RULE_INSURED = "insured"
RULE_DISABILITY_DURATION = "disability_duration"
RULE_ASSESSMENT = "assessment_category"
RULE_NO_OPEN_ENTITLEMENT = "no_open_entitlement"

CATEGORY_VALUES = frozenset(category.value for category in BenefitCategory)

# Benefit categories by severity: none < moderate < severe.
CATEGORY_RANK: Mapping[BenefitCategory | None, int] = MappingProxyType(
    {None: 0, BenefitCategory.MODERATE: 1, BenefitCategory.SEVERE: 2}
)

# The spec's mapping (benefits.md): instrument code -> grade code -> category (None: no category).
DEFAULT_GRADE_CATEGORIES: Mapping[str, Mapping[str, BenefitCategory | None]] = MappingProxyType(
    {
        BARTHEL: MappingProxyType(
            {
                "independent": None,
                "mild": None,
                "moderate": BenefitCategory.MODERATE,
                "severe": BenefitCategory.SEVERE,
            }
        ),
        NATIONAL_STANDARD: MappingProxyType(
            {
                "0": None,
                "1": None,
                "2": BenefitCategory.MODERATE,
                "3": BenefitCategory.SEVERE,
                "4": BenefitCategory.SEVERE,
                "5": BenefitCategory.SEVERE,
            }
        ),
    }
)

# Reason codes of `InvalidGradeCategoriesError`.
GRADE_WITHOUT_CATEGORY = "grade_without_category"  # a grade of the rules is not mapped
CATEGORY_FOR_UNKNOWN_GRADE = "category_for_unknown_grade"
CATEGORIES_NOT_MONOTONE = "categories_not_monotone"


class InvalidGradeCategoriesError(ValueError):
    """A grade -> category mapping that cannot be used; `grade` names the offending grade."""

    def __init__(self, reason: str, grade: str) -> None:
        self.reason = reason
        self.grade = grade
        super().__init__(f"invalid grade categories: {reason} ({grade})")


def check_grade_categories(
    grades: Sequence[str], categories: Mapping[str, BenefitCategory | None]
) -> None:
    """Refuse a mapping that misses a grade, names an unknown one, or is not monotone.

    `grades` run from the least to the most severe; a more severe grade must never give a
    lesser benefit category (none < moderate < severe).
    """
    for code in categories:
        if code not in grades:
            raise InvalidGradeCategoriesError(CATEGORY_FOR_UNKNOWN_GRADE, code)
    previous = 0
    for code in grades:
        if code not in categories:
            raise InvalidGradeCategoriesError(GRADE_WITHOUT_CATEGORY, code)
        rank = CATEGORY_RANK[categories[code]]
        if rank < previous:
            raise InvalidGradeCategoriesError(CATEGORIES_NOT_MONOTONE, code)
        previous = rank


def grade_categories_to_data(
    mapping: Mapping[str, Mapping[str, BenefitCategory | None]],
) -> dict[str, dict[str, str | None]]:
    """JSON-safe data of a mapping: {instrument: {grade: "severe" | "moderate" | None}}."""
    return {
        instrument: {code: (category.value if category else None) for code, category in m.items()}
        for instrument, m in mapping.items()
    }


def grade_categories_from_data(data: object) -> dict[str, dict[str, BenefitCategory | None]]:
    """The mapping stored by `grade_categories_to_data`; ValueError if the data is malformed."""
    if not isinstance(data, Mapping):
        raise ValueError("grade categories must be an object")
    mapping: dict[str, dict[str, BenefitCategory | None]] = {}
    for instrument, grades in data.items():
        if not isinstance(instrument, str) or not isinstance(grades, Mapping):
            raise ValueError(f"grade categories of {instrument!r} must be an object")
        mapping[instrument] = {}
        for code, value in grades.items():
            known = value is None or (isinstance(value, str) and value in CATEGORY_VALUES)
            if not isinstance(code, str) or not known:
                raise ValueError(f"bad category {value!r} for grade {code!r} of {instrument}")
            mapping[instrument][code] = BenefitCategory(value) if value is not None else None
    return mapping


@dataclass(frozen=True)
class PolicyFigures:
    """The figures of one policy version that the rules need (money in integer fen)."""

    min_disability_months: int
    # (category, care setting) -> daily rate in fen; None: paid per visit within the monthly budget.
    rates: Mapping[tuple[str, str], int | None]
    home_service_monthly_budget_fen: int
    # Instrument code -> grade code -> benefit category (None: the grade gives no category).
    grade_categories: Mapping[str, Mapping[str, BenefitCategory | None]] = field(
        default_factory=lambda: DEFAULT_GRADE_CATEGORIES
    )

    def __post_init__(self) -> None:
        if self.min_disability_months < 0:
            raise ValueError("min_disability_months must not be negative")
        if self.home_service_monthly_budget_fen < 0:
            raise ValueError("the monthly budget must not be negative")
        missing = [
            (category.value, setting)
            for category in BenefitCategory
            for setting in CARE_SETTINGS
            if (category.value, setting) not in self.rates
        ]
        if missing:
            raise ValueError(f"the rates table has no rate for {missing}")
        if any(fen is not None and fen < 0 for fen in self.rates.values()):
            raise ValueError("rates must not be negative")


@dataclass(frozen=True)
class EligibilityFacts:
    """What the rules know about one person on the decision date (and nothing more)."""

    decided_on: dt.date
    is_insured: bool
    insurance_scheme: str | None  # shown in the reason only
    disability_months: int
    instrument: str
    total: int | None
    grade: str | None
    care_setting: str
    has_open_entitlement: bool

    def __post_init__(self) -> None:
        if self.care_setting not in CARE_SETTINGS:
            raise ValueError(f"unknown care setting {self.care_setting!r}")


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    reason_code: str
    params: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "passed": self.passed,
            "reason_code": self.reason_code,
            "params": dict(self.params),
        }


@dataclass(frozen=True)
class Decision:
    is_eligible: bool
    category: BenefitCategory | None
    daily_rate_fen: int | None
    monthly_budget_fen: int | None
    results: tuple[RuleResult, ...]


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole calendar months from `start` to `end` (0 when `end` is not after `start`).

    A month is complete on the same day-of-month (or later): 15 Jan -> 15 Jul is 6 months,
    15 Jan -> 14 Jul is 5. From the 31st, a shorter month completes on its own last day only when
    the next month is reached: 31 Jan -> 28 Feb is 0, 31 Jan -> 1 Mar is 1.
    """
    if end <= start:
        return 0
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return months


def _assessment_rule(
    instrument: str, total: int | None, grade: str | None, figures: PolicyFigures
) -> tuple[BenefitCategory | None, RuleResult]:
    """The category the policy maps the assessment's instrument and grade code to."""
    params: dict[str, Any] = {"instrument": instrument, "total": total, "grade": grade}
    mapping = figures.grade_categories.get(instrument)
    if mapping is None:
        return None, RuleResult(RULE_ASSESSMENT, False, "instrument_unknown", params)
    if grade is None or grade not in mapping:
        return None, RuleResult(RULE_ASSESSMENT, False, "grade_unrecognised", params)
    category = mapping[grade]
    if category is None:
        return None, RuleResult(RULE_ASSESSMENT, False, "grade_no_category", params)
    params["category"] = category.value
    return category, RuleResult(RULE_ASSESSMENT, True, "grade_category", params)


def benefit_category(
    instrument: str, total: int | None, grade: str | None, figures: PolicyFigures
) -> BenefitCategory | None:
    """The benefit category an assessment gives under these figures (None: no category)."""
    category, _ = _assessment_rule(instrument, total, grade, figures)
    return category


def has_visit_budget(category: BenefitCategory, care_setting: str) -> bool:
    """Severe disability at home with door-to-door service: visits paid to the company within a
    monthly budget (and so a care plan). Moderate disability gets its daily rate in any setting
    and no budget."""
    return category is BenefitCategory.SEVERE and care_setting == HOME_SERVICE


def decide(facts: EligibilityFacts, figures: PolicyFigures) -> Decision:
    """Evaluate every rule (never stopping at the first failure) and the rate that follows."""
    insured = RuleResult(
        RULE_INSURED,
        facts.is_insured,
        "insured" if facts.is_insured else "not_insured",
        {"on": facts.decided_on.isoformat(), "scheme": facts.insurance_scheme},
    )
    long_enough = facts.disability_months >= figures.min_disability_months
    duration = RuleResult(
        RULE_DISABILITY_DURATION,
        long_enough,
        "disability_long_enough" if long_enough else "disability_too_short",
        {"months": facts.disability_months, "required": figures.min_disability_months},
    )
    category, assessment = _assessment_rule(facts.instrument, facts.total, facts.grade, figures)
    no_open = RuleResult(
        RULE_NO_OPEN_ENTITLEMENT,
        not facts.has_open_entitlement,
        "open_entitlement" if facts.has_open_entitlement else "no_open_entitlement",
        {},
    )
    results = (insured, duration, assessment, no_open)
    if not all(result.passed for result in results) or category is None:
        return Decision(False, None, None, None, results)
    daily_rate = figures.rates[(category.value, facts.care_setting)]
    has_budget = has_visit_budget(category, facts.care_setting)
    budget = figures.home_service_monthly_budget_fen if has_budget else None
    return Decision(True, category, daily_rate, budget, results)
