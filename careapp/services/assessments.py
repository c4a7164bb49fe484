"""On-site assessments: the assessor's queue, recording a graded assessment, audited reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from assessments.grading import get_instrument, grade
from assessments.instruments.barthel import barthel_bands
from assessments.types import Band, Instrument, InvalidAnswersError
from careapp.access import Actor
from careapp.clock import city_today
from careapp.errors import ConflictError, InvalidInputError, NotFoundError
from careapp.models.assessment import Application, ApplicationStatus, Assessment
from careapp.models.people import Person
from careapp.models.users import Role
from careapp.services.audit import record_event
from careapp.services.policy import policy_in_force

# The instrument the city uses (spec: which instrument is policy; Barthel is the one in force).
INSTRUMENT_IN_FORCE = "barthel"
FAMILY_MEMBER_MAX = 100
NOTE_MAX = 1000


class AssessmentAnswersError(InvalidInputError):
    """Answers that cannot be graded; `problems` maps each bad item code to a reason code."""

    def __init__(self, message: str, problems: Mapping[str, str]) -> None:
        super().__init__(message)
        self.problems = dict(problems)


@dataclass(frozen=True)
class GradingScale:
    """The instrument in force and the bands of the policy in force."""

    instrument: Instrument
    bands: tuple[Band, ...]


def grading_scale_in_force(session: Session, now: dt.datetime) -> GradingScale:
    """The instrument and bands that grade an assessment made at `now`.

    The Barthel bands come from the policy version in force on the city date of `now`, or the
    instrument's default bands if no policy version is in force yet.
    """
    instrument = get_instrument(INSTRUMENT_IN_FORCE)
    policy = policy_in_force(session, city_today(now))
    if policy is None:
        return GradingScale(instrument, instrument.bands)
    bands = barthel_bands(policy.barthel_severe_max, policy.barthel_moderate_max)
    return GradingScale(instrument, bands)


def list_assessor_queue(session: Session, actor: Actor) -> list[Application]:
    """Applications awaiting assessment where the actor is one of the two assessors."""
    if actor.user_id is None:
        return []
    return list(
        session.scalars(
            select(Application)
            .where(
                Application.status == ApplicationStatus.ASSESSING,
                or_(
                    Application.assessor_1_id == actor.user_id,
                    Application.assessor_2_id == actor.user_id,
                ),
            )
            .options(joinedload(Application.person).joinedload(Person.district))
            .order_by(Application.appointment_at, Application.id)
        )
    )


def get_application_for_assessment(
    session: Session, actor: Actor, application_id: int, *, for_update: bool = False
) -> Application:
    """An application awaiting assessment by the actor (NotFound unless one of its assessors)."""
    query = (
        select(Application)
        .where(Application.id == application_id)
        .options(
            joinedload(Application.person).joinedload(Person.district),
            joinedload(Application.assessor_1),
            joinedload(Application.assessor_2),
        )
    )
    if for_update:
        # Serialise concurrent submissions (PostgreSQL); re-read the row after the lock.
        query = query.with_for_update(of=Application).execution_options(populate_existing=True)
    application = session.scalar(query)
    if application is None or actor.user_id is None or not application.is_assessor(actor.user_id):
        raise NotFoundError(gettext("No such application in your assessments."))
    if application.status is ApplicationStatus.ASSESSED:
        raise ConflictError(
            gettext("An assessment has already been submitted for this application.")
        )
    if application.status is not ApplicationStatus.ASSESSING:
        raise ConflictError(gettext("This application is not awaiting an assessment."))
    return application


def record_assessment(
    session: Session,
    actor: Actor,
    application_id: int,
    answers: Mapping[str, int],
    family_member_present: str,
    note: str | None,
    both_confirmed: bool,
    now: dt.datetime,
) -> Assessment:
    """Grade and store a submitted assessment; the application becomes ASSESSED.

    A submitted assessment is immutable: a second submission for the same application is
    refused as already submitted (also when two arrive at once: the row lock and the unique
    version per application keep only the first).
    """
    application = get_application_for_assessment(session, actor, application_id, for_update=True)
    assessor_1_id, assessor_2_id = _assessor_ids(application)
    family_member = family_member_present.strip()
    if not family_member:
        raise InvalidInputError(
            gettext("Record the family member present."), field="family_member_present"
        )
    if len(family_member) > FAMILY_MEMBER_MAX:
        raise InvalidInputError(
            gettext("At most %(max)d characters.", max=FAMILY_MEMBER_MAX),
            field="family_member_present",
        )
    clean_note = (note or "").strip() or None
    if clean_note is not None and len(clean_note) > NOTE_MAX:
        raise InvalidInputError(gettext("At most %(max)d characters.", max=NOTE_MAX), field="note")
    if not both_confirmed:
        raise InvalidInputError(
            gettext("Both assessors must confirm the answers."), field="both_confirmed"
        )
    scale = grading_scale_in_force(session, now)
    try:
        result = grade(scale.instrument, answers, scale.bands)
    except InvalidAnswersError as error:
        raise AssessmentAnswersError(
            gettext("Choose one answer for every item."), error.problems
        ) from None
    assessment = Assessment(
        application=application,
        version=1,
        instrument=scale.instrument.code,
        instrument_version=scale.instrument.version,
        answers={item.code: answers[item.code] for item in scale.instrument.items},
        total=result.total,
        grade=result.grade_code,
        assessed_on=city_today(now),
        assessor_1_id=assessor_1_id,
        assessor_2_id=assessor_2_id,
        family_member_present=family_member,
        note=clean_note,
        submitted_by_id=actor.user_id,
        submitted_at=now,
    )
    session.add(assessment)
    application.status = ApplicationStatus.ASSESSED
    try:
        session.flush()
    except IntegrityError:  # (application, version) is unique: another submission came first
        raise ConflictError(
            gettext("An assessment has already been submitted for this application.")
        ) from None
    record_event(
        session,
        actor,
        "create",
        "assessment",
        assessment.id,
        now=now,
        detail={
            "application_id": application.id,
            "instrument": assessment.instrument,
            "total": assessment.total,
            "grade": assessment.grade,
        },
    )
    session.flush()
    return assessment


def view_assessment(
    session: Session, actor: Actor, assessment_id: int, now: dt.datetime
) -> Assessment:
    """An assessment for an administrator or one of its two assessors; every read is audited."""
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
    if assessment is None or not _may_read(actor, assessment):
        raise NotFoundError(gettext("No such assessment."))
    record_event(session, actor, "read", "assessment", assessment.id, now=now)
    session.flush()
    return assessment


def _may_read(actor: Actor, assessment: Assessment) -> bool:
    if actor.is_role(Role.ADMIN):
        return True
    return actor.is_role(Role.ASSESSOR) and actor.user_id in (
        assessment.assessor_1_id,
        assessment.assessor_2_id,
    )


def _assessor_ids(application: Application) -> tuple[int, int]:
    if application.assessor_1_id is None or application.assessor_2_id is None:
        raise ConflictError(gettext("This application does not have two assessors assigned."))
    return application.assessor_1_id, application.assessor_2_id
