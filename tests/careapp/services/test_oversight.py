"""The assessor-oversight report: shares, appeals that changed a grade, bounded queries."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from sqlalchemy.orm import Session

from careapp.core.errors import InvalidInputError, PermissionDeniedError
from careapp.eligibility.rules import DEFAULT_GRADE_CATEGORIES
from careapp.models import ApplicationKind, ApplicationStatus, Role
from careapp.services.actor import Actor
from careapp.services.oversight import build_oversight_report, is_severe
from careapp.services.policy import default_grade_categories_data
from careapp.services.procedure import ProcedureRules
from tests.conftest import Statements
from tests.factories import (
    ApplicationFactory,
    AssessmentFactory,
    PolicyVersionFactory,
    UserFactory,
)

FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
RULES = ProcedureRules(outlier_points=15, outlier_min_assessments=3)


def assess(first: object, second: object, grade: str, **changes: object) -> object:
    values: dict[str, object] = {
        "application__assessor_1": first,
        "application__assessor_2": second,
        "grade": grade,
        "assessed_on": dt.date(2026, 6, 1),
    }
    values.update(changes)
    return AssessmentFactory(**values)


@pytest.mark.parametrize(
    ("instrument", "grade", "severe"),
    [
        ("barthel", "severe", True),
        ("barthel", "moderate", False),
        ("barthel", "independent", False),
        ("national_2021", "5", True),
        ("national_2021", "4", True),
        ("national_2021", "3", True),
        ("national_2021", "2", False),
        ("national_2021", "0", False),
        ("national_2021", "severe", False),
        ("unknown", "severe", False),
    ],
)
def test_is_severe_follows_the_grade_category_mapping(
    instrument: str, grade: str, severe: bool
) -> None:
    assert is_severe(DEFAULT_GRADE_CATEGORIES, instrument, grade) is severe


def test_build_oversight_report_counts_national_standard_severe_grades(
    db_session: Session, admin_actor: Actor
) -> None:
    strict, lenient, usual = (UserFactory(assessor=True) for _ in range(3))
    for grade in ("2", "2", "1"):
        assess(strict, usual, grade, instrument="national_2021", instrument_version="2021")
    for grade in ("3", "4", "5"):
        assess(lenient, usual, grade, instrument="national_2021", instrument_version="2021")

    page = build_oversight_report(db_session, admin_actor, FIRST, LAST, RULES)

    rows = {row.record.assessor_id: row for row in page.report.rows}
    assert rows[strict.id].severe_share == 0
    assert rows[lenient.id].severe_share == 1
    assert rows[usual.id].severe_share == Fraction(1, 2)
    assert page.report.city_severe_share == Fraction(1, 2)


def test_build_oversight_report_uses_the_mapping_in_force_on_the_assessment_date(
    db_session: Session, admin_actor: Actor
) -> None:
    PolicyVersionFactory(effective_on=dt.date(2016, 1, 1))
    mapping = {code: dict(grades) for code, grades in default_grade_categories_data().items()}
    mapping["barthel"]["moderate"] = "severe"
    PolicyVersionFactory(effective_on=dt.date(2026, 7, 1), grade_categories=mapping)
    before, after = UserFactory(assessor=True), UserFactory(assessor=True)
    assess(before, UserFactory(assessor=True), "moderate", assessed_on=dt.date(2026, 6, 30))
    assess(after, UserFactory(assessor=True), "moderate", assessed_on=dt.date(2026, 7, 1))

    page = build_oversight_report(db_session, admin_actor, FIRST, LAST, RULES)

    rows = {row.record.assessor_id: row for row in page.report.rows}
    assert rows[before.id].severe_share == 0
    assert rows[after.id].severe_share == 1


def test_build_oversight_report_shares_outliers_and_appeals(
    db_session: Session, admin_actor: Actor
) -> None:
    strict, lenient, usual = (UserFactory(assessor=True) for _ in range(3))
    for _ in range(3):
        assess(strict, usual, "moderate")
    for _ in range(3):
        assess(lenient, usual, "severe")
    appealed = assess(strict, usual, "moderate")
    appealed.application.status = ApplicationStatus.DECIDED
    assess(
        UserFactory(assessor=True),
        UserFactory(assessor=True),
        "severe",
        application__kind=ApplicationKind.APPEAL,
        application__previous=appealed.application,
        application__person=appealed.application.person,
        assessed_on=dt.date(2026, 7, 1),
    )
    assess(strict, usual, "severe", assessed_on=dt.date(2025, 6, 1))  # outside the period
    old = assess(strict, usual, "severe")
    AssessmentFactory(  # a correction: only the latest version counts
        application=old.application, version=2, grade="moderate", assessed_on=dt.date(2026, 6, 2)
    )

    page = build_oversight_report(db_session, admin_actor, FIRST, LAST, RULES)

    rows = {row.record.assessor_id: row for row in page.report.rows}
    assert rows[strict.id].record.assessments == 5
    assert rows[strict.id].severe_share == 0
    assert rows[lenient.id].severe_share == 1
    assert rows[usual.id].record.assessments == 8
    assert rows[strict.id].is_outlier
    assert rows[lenient.id].is_outlier
    assert not rows[usual.id].is_outlier
    assert (rows[strict.id].record.appealed, rows[strict.id].record.changed_on_appeal) == (1, 1)
    assert rows[strict.id].changed_rate == 1
    assert rows[lenient.id].changed_rate is None
    # Nine assessments in the period, each counting for both its assessors; four are severe.
    assert page.report.city_assessments == 18
    assert page.report.city_severe_share == Fraction(8, 18)
    assert page.names[strict.id] == strict.display_name


def test_build_oversight_report_issues_a_bounded_number_of_queries(
    db_session: Session, admin_actor: Actor, count_queries: Statements
) -> None:
    assess(UserFactory(assessor=True), UserFactory(assessor=True), "severe")
    with count_queries.counted() as few:
        build_oversight_report(db_session, admin_actor, FIRST, LAST, RULES)
    for _ in range(12):
        assess(UserFactory(assessor=True), UserFactory(assessor=True), "moderate")
    with count_queries.counted() as many:
        page = build_oversight_report(db_session, admin_actor, FIRST, LAST, RULES)
    assert len(page.report.rows) == 26
    assert len(many) == len(few) <= 4


def test_build_oversight_report_refuses_a_bad_period_and_other_roles(
    db_session: Session, admin_actor: Actor
) -> None:
    with pytest.raises(InvalidInputError):
        build_oversight_report(db_session, admin_actor, LAST, FIRST, RULES)
    with pytest.raises(InvalidInputError):
        build_oversight_report(db_session, admin_actor, dt.date(2020, 1, 1), LAST, RULES)
    with pytest.raises(PermissionDeniedError):
        build_oversight_report(db_session, Actor(user_id=1, role=Role.ASSESSOR), FIRST, LAST, RULES)
    assert build_oversight_report(db_session, admin_actor, FIRST, LAST, RULES).report.rows == ()
    ApplicationFactory()  # an application without assessment counts for nothing
    assert build_oversight_report(db_session, admin_actor, FIRST, LAST, RULES).report.rows == ()
