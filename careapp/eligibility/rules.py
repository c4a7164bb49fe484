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
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


class Category(enum.StrEnum):
    """A benefit category; the values match the database's `BenefitCategory`."""

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

DEFAULT_NATIONAL_GRADE_CATEGORIES: Mapping[int, Category] = MappingProxyType(
    {5: Category.SEVERE, 4: Category.SEVERE, 3: Category.SEVERE, 2: Category.MODERATE}
)


@dataclass(frozen=True)
class PolicyFigures:
    """The figures of one policy version that the rules need (money in integer fen)."""

    min_disability_months: int
    barthel_severe_max: int
    barthel_moderate_max: int
    # (category, care setting) -> daily rate in fen; None: paid per visit within the monthly budget.
    rates: Mapping[tuple[str, str], int | None]
    home_service_monthly_budget_fen: int
    # 2021 national standard: disability grade 0-5 -> category (grades not listed give none).
    national_grade_categories: Mapping[int, Category] = field(
        default_factory=lambda: DEFAULT_NATIONAL_GRADE_CATEGORIES
    )
    # Instrument codes graded 0-5 like the 2021 national standard.
    national_standard_instruments: frozenset[str] = frozenset({NATIONAL_STANDARD})

    def __post_init__(self) -> None:
        if self.min_disability_months < 0:
            raise ValueError("min_disability_months must not be negative")
        if not 0 <= self.barthel_severe_max < self.barthel_moderate_max:
            raise ValueError("Barthel bands need 0 <= severe max < moderate max")
        if self.home_service_monthly_budget_fen < 0:
            raise ValueError("the monthly budget must not be negative")
        missing = [
            (category.value, setting)
            for category in Category
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
    category: Category | None
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


def _national_grade(grade: str | None) -> int | None:
    """A 2021-standard grade code ("3", "grade_3") as its number, or None."""
    if grade is None:
        return None
    digits = grade.strip().rsplit("_", 1)[-1]
    return int(digits) if digits.isdigit() else None


def _assessment_rule(
    instrument: str, total: int | None, grade: str | None, figures: PolicyFigures
) -> tuple[Category | None, RuleResult]:
    params: dict[str, Any] = {"instrument": instrument, "total": total, "grade": grade}
    if instrument == BARTHEL:
        params |= {
            "severe_max": figures.barthel_severe_max,
            "moderate_max": figures.barthel_moderate_max,
        }
        if total is None:
            return None, RuleResult(RULE_ASSESSMENT, False, "total_missing", params)
        if total <= figures.barthel_severe_max:
            category, code = Category.SEVERE, "barthel_severe"
        elif total <= figures.barthel_moderate_max:
            category, code = Category.MODERATE, "barthel_moderate"
        else:
            return None, RuleResult(RULE_ASSESSMENT, False, "barthel_above_bands", params)
    elif instrument in figures.national_standard_instruments:
        number = _national_grade(grade)
        params["grade_number"] = number
        if number is None:
            return None, RuleResult(RULE_ASSESSMENT, False, "grade_unrecognised", params)
        mapped = figures.national_grade_categories.get(number)
        if mapped is None:
            return None, RuleResult(RULE_ASSESSMENT, False, "national_grade_too_low", params)
        category, code = mapped, "national_grade"
    else:
        return None, RuleResult(RULE_ASSESSMENT, False, "instrument_unknown", params)
    params["category"] = category.value
    return category, RuleResult(RULE_ASSESSMENT, True, code, params)


def benefit_category(
    instrument: str, total: int | None, grade: str | None, figures: PolicyFigures
) -> Category | None:
    """The benefit category an assessment gives under these figures (None: no category)."""
    category, _ = _assessment_rule(instrument, total, grade, figures)
    return category


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
    # At home with door-to-door service, visits are paid within a monthly budget (any category).
    budget = figures.home_service_monthly_budget_fen if facts.care_setting == HOME_SERVICE else None
    return Decision(True, category, daily_rate, budget, results)
