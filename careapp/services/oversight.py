"""Assessor oversight: each assessor's share of severe grades against the city's, and how often
an appeal changed their grade. Three queries, however many assessors there are."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.procedure import AssessorRecord, OversightReport, oversight_report
from careapp.access import Actor
from careapp.errors import InvalidInputError, PermissionDeniedError
from careapp.models.assessment import Application, ApplicationKind, Assessment
from careapp.models.users import Role, User
from careapp.services.procedure import ProcedureRules

MAX_PERIOD_DAYS = 366 * 3


def is_severe(grade: str) -> bool:
    """Barthel "severe" and the national standard's severe grades ("severe_1", ...)."""
    return grade.startswith("severe")


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
    if not actor.is_role(Role.ADMIN):
        raise PermissionDeniedError(gettext("You do not have permission to do this."))
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
            Assessment.grade,
            Assessment.assessor_1_id,
            Assessment.assessor_2_id,
        ).where(Assessment.assessed_on >= first_day, Assessment.assessed_on <= last_day)
    ).all()
    latest: dict[int, tuple[int, str, int, int]] = {}
    for application_id, version, grade, first, second in rows:
        if application_id not in latest or version > latest[application_id][0]:
            latest[application_id] = (version, grade, first, second)
    assessments: dict[int, int] = defaultdict(int)
    severe: dict[int, int] = defaultdict(int)
    for _, grade, first, second in latest.values():
        for assessor_id in (first, second):
            assessments[assessor_id] += 1
            severe[assessor_id] += is_severe(grade)
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
        _, original, first, second = latest[previous_id]
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
