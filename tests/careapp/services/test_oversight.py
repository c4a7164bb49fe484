"""The assessor-oversight report: shares, appeals that changed a grade, bounded queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from careapp.access import Actor
from careapp.errors import InvalidInputError, PermissionDeniedError
from careapp.models import ApplicationKind, ApplicationStatus, Role
from careapp.services.oversight import build_oversight_report, is_severe
from careapp.services.procedure import ProcedureRules
from tests.factories import ApplicationFactory, AssessmentFactory, UserFactory

FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
RULES = ProcedureRules(outlier_points=15, outlier_min_assessments=3)


@pytest.fixture
def admin(db_session: Session) -> Actor:
    return Actor(user_id=UserFactory(admin=True).id, role=Role.ADMIN)


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = app.extensions["careapp.engine"]

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def assess(first: object, second: object, grade: str, **changes: object) -> object:
    values: dict[str, object] = {
        "application__assessor_1": first,
        "application__assessor_2": second,
        "grade": grade,
        "assessed_on": dt.date(2026, 6, 1),
    }
    values.update(changes)
    return AssessmentFactory(**values)


def test_is_severe_covers_both_instruments() -> None:
    assert is_severe("severe")
    assert is_severe("severe_2")
    assert not is_severe("moderate")


def test_build_oversight_report_shares_outliers_and_appeals(
    db_session: Session, admin: Actor
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

    page = build_oversight_report(db_session, admin, FIRST, LAST, RULES)

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
    app: Flask, db_session: Session, admin: Actor
) -> None:
    assess(UserFactory(assessor=True), UserFactory(assessor=True), "severe")
    with counting(app) as few:
        build_oversight_report(db_session, admin, FIRST, LAST, RULES)
    for _ in range(12):
        assess(UserFactory(assessor=True), UserFactory(assessor=True), "moderate")
    with counting(app) as many:
        page = build_oversight_report(db_session, admin, FIRST, LAST, RULES)
    assert len(page.report.rows) == 26
    assert len(many) == len(few) <= 3


def test_build_oversight_report_refuses_a_bad_period_and_other_roles(
    db_session: Session, admin: Actor
) -> None:
    with pytest.raises(InvalidInputError):
        build_oversight_report(db_session, admin, LAST, FIRST, RULES)
    with pytest.raises(InvalidInputError):
        build_oversight_report(db_session, admin, dt.date(2020, 1, 1), LAST, RULES)
    with pytest.raises(PermissionDeniedError):
        build_oversight_report(db_session, Actor(user_id=1, role=Role.ASSESSOR), FIRST, LAST, RULES)
    assert build_oversight_report(db_session, admin, FIRST, LAST, RULES).report.rows == ()
    ApplicationFactory()  # an application without assessment counts for nothing
    assert build_oversight_report(db_session, admin, FIRST, LAST, RULES).report.rows == ()
