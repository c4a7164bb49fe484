"""Assessor oversight: each assessor's share of severe grades against the city's, and how often
an appeal changed their grade. Four queries, however many assessors there are.

A grade is severe when the policy in force on the assessment date maps it to the severe benefit
category (the same mapping the eligibility decision uses), so it works for every instrument:
Barthel's "severe" and the 2021 national standard's "3"-"5" alike."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.procedure import AssessorRecord, OversightReport, oversight_report
from careapp.core.errors import InvalidInputError
from careapp.eligibility.rules import DEFAULT_GRADE_CATEGORIES, BenefitCategory
from careapp.models.assessment import Application, ApplicationKind, Assessment
from careapp.models.eligibility import PolicyVersion
from careapp.models.users import Role, User
from careapp.services.actor import Actor
from careapp.services.policy import grade_categories_of
from careapp.services.procedure import ProcedureRules

MAX_PERIOD_DAYS = 366 * 3


GradeCategories = Mapping[str, Mapping[str, BenefitCategory | None]]


def is_severe(grade_categories: GradeCategories, instrument: str, grade: str) -> bool:
    """Whether the mapping gives `instrument`'s `grade` the severe benefit category."""
    return grade_categories.get(instrument, {}).get(grade) is BenefitCategory.SEVERE


def _mappings_in_force(
    session: Session, last_day: dt.date
) -> list[tuple[dt.date, GradeCategories]]:
    """(effective date, grade -> category mapping) of every policy version up to `last_day`,
    latest first; one query."""
    versions = session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.effective_on <= last_day)
        .order_by(PolicyVersion.effective_on.desc())
    ).all()
    return [(version.effective_on, grade_categories_of(version)) for version in versions]


def _mapping_on(mappings: list[tuple[dt.date, GradeCategories]], on: dt.date) -> GradeCategories:
    """The mapping of the version in force `on` (the spec's defaults before the first one)."""
    for effective_on, mapping in mappings:
        if effective_on <= on:
            return mapping
    return DEFAULT_GRADE_CATEGORIES


@dataclass(frozen=True)
class OversightPage:
    first_day: dt.date
    last_day: dt.date
    report: OversightReport
    names: dict[int, str]
    outlier_points: int
    min_assessments: int


def build_oversight_report(
    session: Session,
    actor: Actor,
    first_day: dt.date,
    last_day: dt.date,
    rules: ProcedureRules,
) -> OversightPage:
    """The report over assessments made from `first_day` to `last_day` (latest versions only)."""
    actor.require(Role.ADMIN)
    if last_day < first_day:
        raise InvalidInputError(gettext("The period ends before it starts."), field="last_day")
    if (last_day - first_day).days > MAX_PERIOD_DAYS:
        raise InvalidInputError(
            gettext("Choose a period of at most three years."), field="last_day"
        )
    rows = session.execute(
        select(
            Assessment.application_id,
            Assessment.version,
            Assessment.instrument,
            Assessment.grade,
            Assessment.assessed_on,
            Assessment.assessor_1_id,
            Assessment.assessor_2_id,
        ).where(Assessment.assessed_on >= first_day, Assessment.assessed_on <= last_day)
    ).all()
    mappings = _mappings_in_force(session, last_day)
    latest: dict[int, tuple[int, str, bool, int, int]] = {}
    for application_id, version, instrument, grade, assessed_on, first, second in rows:
        if application_id not in latest or version > latest[application_id][0]:
            severe_grade = is_severe(_mapping_on(mappings, assessed_on), instrument, grade)
            latest[application_id] = (version, grade, severe_grade, first, second)
    assessments: dict[int, int] = defaultdict(int)
    severe: dict[int, int] = defaultdict(int)
    for _, _, severe_grade, first, second in latest.values():
        for assessor_id in (first, second):
            assessments[assessor_id] += 1
            severe[assessor_id] += severe_grade
    appealed: dict[int, int] = defaultdict(int)
    changed: dict[int, int] = defaultdict(int)
    appeal_rows = session.execute(
        select(Application.previous_id, Assessment.version, Assessment.grade)
        .join(Assessment, Assessment.application_id == Application.id)
        .where(
            Application.kind == ApplicationKind.APPEAL,
            Application.previous_id.in_(list(latest)),
        )
    ).all()
    appeal_grade: dict[int, tuple[int, str]] = {}
    for previous_id, version, grade in appeal_rows:
        if previous_id is None:  # pragma: no cover - filtered by the query
            continue
        if previous_id not in appeal_grade or version > appeal_grade[previous_id][0]:
            appeal_grade[previous_id] = (version, grade)
    for previous_id, (_, grade) in appeal_grade.items():
        _, original, _, first, second = latest[previous_id]
        for assessor_id in (first, second):
            appealed[assessor_id] += 1
            changed[assessor_id] += grade != original
    names = dict(
        session.execute(
            select(User.id, User.display_name).where(User.id.in_(list(assessments)))
        ).all()
    )
    records = [
        AssessorRecord(
            assessor_id,
            assessments[assessor_id],
            severe[assessor_id],
            appealed[assessor_id],
            changed[assessor_id],
        )
        for assessor_id in sorted(assessments, key=lambda i: (names.get(i, ""), i))
    ]
    return OversightPage(
        first_day,
        last_day,
        oversight_report(records, rules.outlier_points, rules.outlier_min_assessments),
        names,
        rules.outlier_points,
        rules.outlier_min_assessments,
    )
