"""Pure eligibility rules: no app, no database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careapp.eligibility import rules
from careapp.eligibility.rules import (
    BARTHEL,
    CARE_SETTINGS,
    ELDERLY_CARE_INSTITUTION,
    HOME_CASH,
    HOME_SERVICE,
    MEDICAL_CARE_INSTITUTION,
    NATIONAL_STANDARD,
    BenefitCategory,
    EligibilityFacts,
    PolicyFigures,
    benefit_category,
    check_grade_categories,
    decide,
    months_between,
)

DAY = dt.date(2026, 11, 23)

RATES: dict[tuple[str, str], int | None] = {
    ("severe", MEDICAL_CARE_INSTITUTION): 5000,
    ("severe", ELDERLY_CARE_INSTITUTION): 4000,
    ("severe", HOME_SERVICE): None,
    ("severe", HOME_CASH): 1500,
    ("moderate", MEDICAL_CARE_INSTITUTION): 1000,
    ("moderate", ELDERLY_CARE_INSTITUTION): 1000,
    ("moderate", HOME_SERVICE): 1000,
    ("moderate", HOME_CASH): 1000,
}


def figures(**changes: Any) -> PolicyFigures:
    base: dict[str, Any] = {
        "min_disability_months": 6,
        "rates": RATES,
        "home_service_monthly_budget_fen": 120_000,
    }
    return PolicyFigures(**(base | changes))


def facts(**changes: Any) -> EligibilityFacts:
    base: dict[str, Any] = {
        "decided_on": DAY,
        "is_insured": True,
        "insurance_scheme": "resident",
        "disability_months": 22,
        "instrument": BARTHEL,
        "total": 30,
        "grade": "severe",
        "care_setting": HOME_SERVICE,
        "has_open_entitlement": False,
    }
    return EligibilityFacts(**(base | changes))


def result_of(decision: rules.Decision, rule: str) -> rules.RuleResult:
    return next(result for result in decision.results if result.rule == rule)


# --- decide: every rule listed, each with pass and fail -----------------------------------


def test_decide_eligible_lists_all_four_rules_passed() -> None:
    decision = decide(facts(), figures())
    assert decision.is_eligible
    assert decision.category is BenefitCategory.SEVERE
    assert [r.rule for r in decision.results] == [
        "insured",
        "disability_duration",
        "assessment_category",
        "no_open_entitlement",
    ]
    assert all(r.passed for r in decision.results)
    assert result_of(decision, "insured").params == {"on": "2026-11-23", "scheme": "resident"}
    assert result_of(decision, "disability_duration").params == {"months": 22, "required": 6}


@pytest.mark.parametrize(
    ("changes", "rule", "reason_code"),
    [
        ({"is_insured": False, "insurance_scheme": None}, "insured", "not_insured"),
        ({"disability_months": 5}, "disability_duration", "disability_too_short"),
        ({"total": 65, "grade": "mild"}, "assessment_category", "grade_no_category"),
        ({"has_open_entitlement": True}, "no_open_entitlement", "open_entitlement"),
    ],
)
def test_decide_each_failing_rule_makes_ineligible(
    changes: dict[str, Any], rule: str, reason_code: str
) -> None:
    decision = decide(facts(**changes), figures())
    assert not decision.is_eligible
    assert decision.category is None
    assert decision.daily_rate_fen is None
    assert decision.monthly_budget_fen is None
    failed = [r for r in decision.results if not r.passed]
    assert [(r.rule, r.reason_code) for r in failed] == [(rule, reason_code)]
    assert len(decision.results) == 4


def test_decide_lists_every_failure_not_only_the_first() -> None:
    decision = decide(
        facts(
            is_insured=False,
            disability_months=1,
            total=90,
            grade="mild",
            has_open_entitlement=True,
        ),
        figures(),
    )
    assert [r.passed for r in decision.results] == [False, False, False, False]


def test_decide_passing_reason_codes() -> None:
    decision = decide(facts(), figures())
    assert [r.reason_code for r in decision.results] == [
        "insured",
        "disability_long_enough",
        "grade_category",
        "no_open_entitlement",
    ]


@pytest.mark.parametrize(("months", "passed"), [(5, False), (6, True), (7, True)])
def test_decide_disability_duration_edge(months: int, passed: bool) -> None:
    result = result_of(decide(facts(disability_months=months), figures()), "disability_duration")
    assert result.passed is passed


def test_decide_disability_minimum_comes_from_figures() -> None:
    decision = decide(facts(disability_months=7), figures(min_disability_months=12))
    assert not decision.is_eligible
    assert result_of(decision, "disability_duration").params == {"months": 7, "required": 12}


# --- categories from the policy's grade mapping ------------------------------------------


@pytest.mark.parametrize(
    ("grade", "expected"),
    [
        ("severe", BenefitCategory.SEVERE),
        ("moderate", BenefitCategory.MODERATE),
        ("mild", None),
        ("independent", None),
    ],
)
def test_benefit_category_barthel_grades(grade: str, expected: BenefitCategory | None) -> None:
    assert benefit_category(BARTHEL, 30, grade, figures()) is expected


def test_benefit_category_barthel_mapping_is_configurable() -> None:
    mapping = dict(rules.DEFAULT_GRADE_CATEGORIES) | {
        BARTHEL: {
            "severe": BenefitCategory.SEVERE,
            "moderate": BenefitCategory.SEVERE,
            "mild": BenefitCategory.MODERATE,
            "independent": None,
        }
    }
    changed = figures(grade_categories=mapping)
    assert benefit_category(BARTHEL, 50, "moderate", changed) is BenefitCategory.SEVERE
    assert benefit_category(BARTHEL, 70, "mild", changed) is BenefitCategory.MODERATE


@pytest.mark.parametrize(
    ("grade", "expected"),
    [
        ("0", None),
        ("1", None),
        ("2", BenefitCategory.MODERATE),
        ("3", BenefitCategory.SEVERE),
        ("4", BenefitCategory.SEVERE),
        ("5", BenefitCategory.SEVERE),
    ],
)
def test_benefit_category_national_standard_grades(
    grade: str, expected: BenefitCategory | None
) -> None:
    assert benefit_category(NATIONAL_STANDARD, None, grade, figures()) is expected


def test_benefit_category_national_mapping_is_configurable() -> None:
    national = {str(n): None for n in range(4)} | {
        "4": BenefitCategory.MODERATE,
        "5": BenefitCategory.SEVERE,
    }
    changed = figures(grade_categories={NATIONAL_STANDARD: national})
    assert benefit_category(NATIONAL_STANDARD, None, "4", changed) is BenefitCategory.MODERATE
    assert benefit_category(NATIONAL_STANDARD, None, "3", changed) is None
    # An instrument the mapping leaves out gives no category.
    assert benefit_category(BARTHEL, 30, "severe", changed) is None


@pytest.mark.parametrize(
    ("instrument", "total", "grade", "reason_code"),
    [
        (BARTHEL, 30, None, "grade_unrecognised"),
        (BARTHEL, 30, "3", "grade_unrecognised"),
        (NATIONAL_STANDARD, 50, None, "grade_unrecognised"),
        (NATIONAL_STANDARD, 50, "severe", "grade_unrecognised"),
        (NATIONAL_STANDARD, 50, "grade_5", "grade_unrecognised"),
        (NATIONAL_STANDARD, 50, "1", "grade_no_category"),
        (BARTHEL, 75, "mild", "grade_no_category"),
        ("nba", 50, "3", "instrument_unknown"),
    ],
)
def test_decide_assessment_without_category_fails_with_reason(
    instrument: str, total: int | None, grade: str | None, reason_code: str
) -> None:
    decision = decide(facts(instrument=instrument, total=total, grade=grade), figures())
    result = result_of(decision, "assessment_category")
    assert not result.passed
    assert result.reason_code == reason_code
    assert result.params == {"instrument": instrument, "total": total, "grade": grade}
    assert not decision.is_eligible


def test_decide_national_grade_reason_carries_grade_and_category() -> None:
    decision = decide(facts(instrument=NATIONAL_STANDARD, total=50, grade="4"), figures())
    result = result_of(decision, "assessment_category")
    assert result.reason_code == "grade_category"
    assert result.params == {
        "instrument": NATIONAL_STANDARD,
        "total": 50,
        "grade": "4",
        "category": "severe",
    }
    assert decision.category is BenefitCategory.SEVERE


# --- the grade -> category mapping: checked, monotone, stored as data ---------------------


def test_default_mapping_is_the_spec() -> None:
    data = rules.grade_categories_to_data(rules.DEFAULT_GRADE_CATEGORIES)
    assert data == {
        "barthel": {"independent": None, "mild": None, "moderate": "moderate", "severe": "severe"},
        "national_2021": {
            "0": None,
            "1": None,
            "2": "moderate",
            "3": "severe",
            "4": "severe",
            "5": "severe",
        },
    }
    assert rules.grade_categories_from_data(data) == rules.DEFAULT_GRADE_CATEGORIES
    check_grade_categories(
        ["independent", "mild", "moderate", "severe"], rules.DEFAULT_GRADE_CATEGORIES[BARTHEL]
    )
    check_grade_categories(
        ["0", "1", "2", "3", "4", "5"], rules.DEFAULT_GRADE_CATEGORIES[NATIONAL_STANDARD]
    )


NATIONAL_GRADES = ["0", "1", "2", "3", "4", "5"]


@pytest.mark.parametrize(
    ("changes", "reason", "grade"),
    [
        ({"4": None}, rules.CATEGORIES_NOT_MONOTONE, "4"),
        (
            {"2": BenefitCategory.SEVERE, "3": BenefitCategory.MODERATE},
            rules.CATEGORIES_NOT_MONOTONE,
            "3",
        ),
        ({"0": BenefitCategory.MODERATE}, rules.CATEGORIES_NOT_MONOTONE, "1"),
        ({"6": BenefitCategory.SEVERE}, rules.CATEGORY_FOR_UNKNOWN_GRADE, "6"),
    ],
)
def test_check_grade_categories_refuses_naming_the_grade(
    changes: dict[str, BenefitCategory | None], reason: str, grade: str
) -> None:
    mapping = dict(rules.DEFAULT_GRADE_CATEGORIES[NATIONAL_STANDARD]) | changes
    with pytest.raises(rules.InvalidGradeCategoriesError) as raised:
        check_grade_categories(NATIONAL_GRADES, mapping)
    assert (raised.value.reason, raised.value.grade) == (reason, grade)
    assert grade in str(raised.value)


def test_check_grade_categories_refuses_a_missing_grade() -> None:
    mapping = dict(rules.DEFAULT_GRADE_CATEGORIES[NATIONAL_STANDARD])
    del mapping["5"]
    with pytest.raises(rules.InvalidGradeCategoriesError) as raised:
        check_grade_categories(NATIONAL_GRADES, mapping)
    assert (raised.value.reason, raised.value.grade) == (rules.GRADE_WITHOUT_CATEGORY, "5")


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"barthel": ["severe"]},
        {"barthel": {"severe": "very severe"}},
        {"barthel": {"severe": ["severe"]}},
        {"barthel": {"severe": 1}},
    ],
)
def test_grade_categories_from_data_refuses_malformed_data(data: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any of several messages
        rules.grade_categories_from_data(data)


@given(
    ranks=st.lists(
        st.sampled_from([None, BenefitCategory.MODERATE, BenefitCategory.SEVERE]),
        min_size=6,
        max_size=6,
    )
)
def test_check_grade_categories_accepts_exactly_the_monotone_mappings(
    ranks: list[BenefitCategory | None],
) -> None:
    mapping = dict(zip(NATIONAL_GRADES, ranks, strict=True))
    order = [rules.CATEGORY_RANK[category] for category in ranks]
    if order == sorted(order):
        check_grade_categories(NATIONAL_GRADES, mapping)
    else:
        with pytest.raises(rules.InvalidGradeCategoriesError):
            check_grade_categories(NATIONAL_GRADES, mapping)


# --- rates table ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "setting", "rate", "budget"),
    [
        (30, MEDICAL_CARE_INSTITUTION, 5000, None),
        (30, ELDERLY_CARE_INSTITUTION, 4000, None),
        (30, HOME_SERVICE, None, 120_000),
        (30, HOME_CASH, 1500, None),
        (50, MEDICAL_CARE_INSTITUTION, 1000, None),
        (50, ELDERLY_CARE_INSTITUTION, 1000, None),
        (50, HOME_SERVICE, 1000, None),  # moderate: the daily rate, no visit budget
        (50, HOME_CASH, 1000, None),
    ],
)
def test_decide_daily_rate_from_table(
    total: int, setting: str, rate: int | None, budget: int | None
) -> None:
    grade = "severe" if total <= 40 else "moderate"
    decision = decide(facts(total=total, grade=grade, care_setting=setting), figures())
    assert decision.is_eligible
    assert (decision.daily_rate_fen, decision.monthly_budget_fen) == (rate, budget)


def test_decide_rates_come_from_figures_not_code() -> None:
    changed = figures(
        rates=RATES | {("severe", ELDERLY_CARE_INSTITUTION): 4321},
        home_service_monthly_budget_fen=99_900,
    )
    assert decide(facts(care_setting=ELDERLY_CARE_INSTITUTION), changed).daily_rate_fen == 4321
    assert decide(facts(), changed).monthly_budget_fen == 99_900


def test_rule_result_as_json_is_plain() -> None:
    result = decide(facts(), figures()).results[0]
    assert result.as_json() == {
        "rule": "insured",
        "passed": True,
        "reason_code": "insured",
        "params": {"on": "2026-11-23", "scheme": "resident"},
    }


# --- figures and facts validation ---------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"min_disability_months": -1},
        {"home_service_monthly_budget_fen": -1},
        {"rates": {k: v for k, v in RATES.items() if k != ("moderate", HOME_CASH)}},
        {"rates": RATES | {("severe", HOME_CASH): -5}},
    ],
)
def test_policy_figures_refuse_inconsistent_values(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any of several messages
        figures(**changes)


def test_facts_refuse_unknown_care_setting() -> None:
    with pytest.raises(ValueError, match="care setting"):
        facts(care_setting="hospital")


def test_facts_have_no_household_registration() -> None:
    names = {f.name for f in dataclasses.fields(EligibilityFacts)}
    assert not any("household" in name or "hukou" in name for name in names)


# --- months_between -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (dt.date(2026, 1, 15), dt.date(2026, 7, 15), 6),
        (dt.date(2026, 1, 15), dt.date(2026, 7, 14), 5),
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28), 0),
        (dt.date(2026, 1, 31), dt.date(2026, 3, 1), 1),
        (dt.date(2024, 2, 29), dt.date(2025, 2, 28), 11),
        (dt.date(2024, 2, 29), dt.date(2025, 3, 1), 12),
        (dt.date(2025, 12, 1), dt.date(2026, 1, 1), 1),
        (dt.date(2025, 1, 1), dt.date(2026, 11, 23), 22),
        (dt.date(2026, 5, 5), dt.date(2026, 5, 5), 0),
        (dt.date(2026, 5, 5), dt.date(2026, 1, 1), 0),
    ],
)
def test_months_between(start: dt.date, end: dt.date, months: int) -> None:
    assert months_between(start, end) == months


@given(
    start=st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 1, 1)),
    days=st.integers(min_value=0, max_value=5000),
)
def test_months_between_is_monotone(start: dt.date, days: int) -> None:
    end = start + dt.timedelta(days=days)
    assert months_between(start, end) <= months_between(start, end + dt.timedelta(days=1))
    assert 0 <= months_between(start, end) <= days // 28


# --- equality: only the facts the rules may see matter -------------------------------------


@given(
    scheme=st.sampled_from(["employee", "resident"]),
    setting=st.sampled_from(CARE_SETTINGS),
    assessment=st.sampled_from(
        [(BARTHEL, g) for g in ("severe", "moderate", "mild", "independent")]
        + [(NATIONAL_STANDARD, str(n)) for n in range(6)]
    ),
)
def test_decide_outcome_does_not_depend_on_insurance_scheme(
    scheme: str, setting: str, assessment: tuple[str, str]
) -> None:
    instrument, grade = assessment
    common = {"care_setting": setting, "instrument": instrument, "grade": grade}
    one = decide(facts(insurance_scheme=scheme, **common), figures())
    other = decide(facts(insurance_scheme="employee", **common), figures())
    assert (one.is_eligible, one.category, one.daily_rate_fen, one.monthly_budget_fen) == (
        other.is_eligible,
        other.category,
        other.daily_rate_fen,
        other.monthly_budget_fen,
    )
