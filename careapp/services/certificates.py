"""Issuing certificates: each gets a row with a unique number and an audit trail."""

from __future__ import annotations

import datetime as dt
import secrets

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from assessments.grading import get_instrument
from careapp.access import Actor
from careapp.clock import city_today, to_city
from careapp.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from careapp.models.assessment import Application, Assessment
from careapp.models.certificate import Certificate, CertificateKind
from careapp.models.people import Person, Sex
from careapp.models.users import Role
from careapp.reports.pdf import AssessmentConclusionData, ItemRow
from careapp.services.audit import record_event

ASSESSMENT_CONCLUSION_PREFIX = "PG"  # 评估 (pinggu)
DEFAULT_APPEAL_DAYS = 30
SEX_ZH = {Sex.MALE: "男", Sex.FEMALE: "女"}


def certificate_number(prefix: str, year: int, certificate_id: int) -> str:
    """`PG-2026-000123`: the row id makes it unique, the year makes it readable."""
    return f"{prefix}-{year}-{certificate_id:06d}"


def age_on(born_on: dt.date, day: dt.date) -> int:
    """Age in whole years on `day` (a 29 February birthday counts from 1 March)."""
    had_birthday = (day.month, day.day) >= (born_on.month, born_on.day)
    return day.year - born_on.year - (0 if had_birthday else 1)


def issue_assessment_conclusion(
    session: Session,
    actor: Actor,
    assessment_id: int,
    now: dt.datetime,
    appeal_days: int = DEFAULT_APPEAL_DAYS,
) -> tuple[Certificate, AssessmentConclusionData]:
    """Issue an assessment conclusion (评估结论书): a numbered Certificate row and its content.

    The appeal deadline runs from the first conclusion issued for this assessment, so that a
    reprint does not extend it. The person's ID number is never decrypted: only the stored
    masked form is printed.
    """
    if not actor.is_role(Role.ADMIN) or actor.user_id is None:
        raise PermissionDeniedError(
            gettext("Only an administrator can issue an assessment conclusion.")
        )
    if appeal_days < 1:
        raise InvalidInputError(gettext("The appeal period must be at least one day."))
    assessment = session.scalar(
        select(Assessment)
        .where(Assessment.id == assessment_id)
        .options(
            joinedload(Assessment.application)
            .joinedload(Application.person)
            .joinedload(Person.district),
            joinedload(Assessment.assessor_1),
            joinedload(Assessment.assessor_2),
        )
    )
    if assessment is None:
        raise NotFoundError(gettext("This assessment does not exist."))

    items, grade_zh, instrument_zh = _instrument_labels(assessment)
    first_issued_at = session.scalar(
        select(Certificate.issued_at)
        .where(
            Certificate.assessment_id == assessment.id,
            Certificate.kind == CertificateKind.ASSESSMENT_CONCLUSION,
        )
        .order_by(Certificate.issued_at)
        .limit(1)
    )
    first_issued_on = city_today(first_issued_at or now)

    certificate = Certificate(
        # A unique placeholder until the row id is known; then the final number.
        number=f"PENDING-{secrets.token_hex(12)}",
        kind=CertificateKind.ASSESSMENT_CONCLUSION,
        assessment_id=assessment.id,
        issued_at=now,
        issued_by_id=actor.user_id,
    )
    session.add(certificate)
    session.flush()
    certificate.number = certificate_number(
        ASSESSMENT_CONCLUSION_PREFIX, to_city(now).year, certificate.id
    )
    session.flush()

    person = assessment.application.person
    data = AssessmentConclusionData(
        certificate_number=certificate.number,
        issued_on=city_today(now),
        person_name=person.name,
        id_number_masked=person.id_number_masked,
        sex_zh=SEX_ZH[person.sex],
        born_on=person.born_on,
        age=age_on(person.born_on, assessment.assessed_on),
        district_zh=person.district.name_zh,
        instrument_zh=instrument_zh,
        items=items,
        total=assessment.total,
        grade_zh=grade_zh,
        assessed_on=assessment.assessed_on,
        assessor_1_name=assessment.assessor_1.display_name,
        assessor_2_name=assessment.assessor_2.display_name,
        family_member_present=assessment.family_member_present,
        appeal_days=appeal_days,
        appeal_deadline=first_issued_on + dt.timedelta(days=appeal_days),
    )
    record_event(session, actor, "read", "assessment", assessment.id, now=now)
    record_event(
        session,
        actor,
        "create",
        "certificate",
        certificate.id,
        now=now,
        detail={
            "number": certificate.number,
            "kind": certificate.kind.value,
            "assessment_id": assessment.id,
        },
    )
    return certificate, data


def _instrument_labels(assessment: Assessment) -> tuple[tuple[ItemRow, ...], str, str]:
    """The item rows, the grade label and the instrument name, all in Chinese."""
    mismatch = ConflictError(
        gettext("This assessment does not match its instrument; it cannot be certified.")
    )
    try:
        instrument = get_instrument(assessment.instrument)
    except LookupError:
        raise mismatch from None
    rows = []
    for item in instrument.items:
        points = assessment.answers.get(item.code)
        option = next((o for o in item.options if o.points == points), None)
        if option is None:
            raise mismatch
        rows.append(
            ItemRow(label_zh=item.label_zh, answer_zh=option.label_zh, points=option.points)
        )
    band = instrument.band(assessment.grade)  # the grade's wording, for any instrument
    if band is None:
        raise mismatch
    return tuple(rows), band.label_zh, instrument.name_zh
