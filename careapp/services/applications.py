"""Application intake and the assignment of two assessors to an on-site visit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import format_date, gettext
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from assessments.procedure import Tie, find_conflicts
from careapp.core.clock import city_today
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.models.assessment import (
    OPEN_APPLICATION_STATUSES,
    Applicant,
    Application,
    ApplicationKind,
    ApplicationStatus,
    CareSetting,
)
from careapp.models.eligibility import EligibilityDecision
from careapp.models.people import Person
from careapp.models.procedure import AssessorProviderTie
from careapp.models.providers import Provider
from careapp.models.users import Role, User
from careapp.models.visit import CarePlan
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.policy import policy_in_force
from scheduling.months import add_months

INTAKE_ROLES = (Role.ADMIN,)
DEFAULT_CONFLICT_RECENT_DAYS = 365
OPEN_STATUSES = tuple(ApplicationStatus(value) for value in OPEN_APPLICATION_STATUSES)
MAX_LIST_SIZE = 200


@dataclass(frozen=True)
class ApplicationInput:
    applicant: Applicant
    applicant_name: str | None
    disability_since: dt.date
    evidence_note: str
    requested_setting: CareSetting
    provider_id: int | None = None  # the caring institution or company named, if any


def submit_application(
    session: Session, actor: Actor, person_id: int, data: ApplicationInput, now: dt.datetime
) -> Application:
    """Record an application dated today in the city, or refuse it with the reason."""
    actor.require(*INTAKE_ROLES)
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError(gettext("No such person."))
    applied_on = city_today(now)
    evidence_note = data.evidence_note.strip()
    if not evidence_note:
        raise InvalidInputError(
            gettext("Note the medical evidence of the disability (document, hospital, date)."),
            field="evidence_note",
        )
    applicant_name = (data.applicant_name or "").strip() or None
    if data.applicant is not Applicant.SELF and applicant_name is None:
        raise InvalidInputError(
            gettext("Enter the name of the family member or institution applying."),
            field="applicant_name",
        )
    if data.disability_since > applied_on:
        raise InvalidInputError(
            gettext("The disability cannot start in the future."), field="disability_since"
        )
    if not person.is_insured_on(applied_on):
        raise ConflictError(
            gettext(
                "%(name)s is not insured on %(day)s, so cannot apply.",
                name=person.name,
                day=format_date(applied_on),
            )
        )
    open_application = _open_application(session, person.id)
    if open_application is not None:
        raise _open_application_error(person, open_application)
    policy = policy_in_force(session, applied_on)
    if policy is None:
        raise ConflictError(
            gettext("No care insurance policy is in force today; an administrator must set one.")
        )
    if data.provider_id is not None and session.get(Provider, data.provider_id) is None:
        raise InvalidInputError(gettext("Choose a care provider."), field="provider_id")
    months = policy.min_disability_months
    if add_months(data.disability_since, months) > applied_on:
        raise InvalidInputError(
            gettext(
                "The disability must have lasted at least %(months)d months when applying "
                "(from %(day)s at the latest).",
                months=months,
                day=format_date(add_months(applied_on, -months)),
            ),
            field="disability_since",
        )
    application = Application(
        person_id=person.id,
        status=ApplicationStatus.SUBMITTED,
        applied_on=applied_on,
        applicant=data.applicant,
        applicant_name=applicant_name,
        disability_since=data.disability_since,
        evidence_note=evidence_note,
        requested_setting=data.requested_setting,
        provider_id=data.provider_id,
        created_by_id=actor.user_id,
    )
    try:
        with session.begin_nested():  # the partial unique index decides a race
            session.add(application)
            session.flush()
    except IntegrityError:
        open_application = _open_application(session, person.id)
        if open_application is None:
            raise
        raise _open_application_error(person, open_application) from None
    record_event(
        session,
        actor,
        "create",
        "application",
        application.id,
        now=now,
        detail={"person_id": person.id, "requested_setting": data.requested_setting.value},
    )
    return application


def assign_assessors(
    session: Session,
    actor: Actor,
    application_id: int,
    assessor_1_id: int,
    assessor_2_id: int,
    appointment_at: dt.datetime,
    now: dt.datetime,
    *,
    conflict_recent_days: int = DEFAULT_CONFLICT_RECENT_DAYS,
) -> Application:
    """Assign two assessors and an on-site appointment; the application becomes ASSESSING.

    Refused when an assessor has a conflict of interest: a tie to a care provider serving the
    person (a care plan active or ended within `conflict_recent_days`, or the institution named
    on the application), or, on appeal, an earlier assessment of the case.
    """
    actor.require(*INTAKE_ROLES)
    application = session.get(Application, application_id)
    if application is None:
        raise NotFoundError(gettext("No such application."))
    if not can_assign_assessors(application):
        if application.status is ApplicationStatus.ASSESSING:
            raise ConflictError(
                gettext("This application has already been assessed; assessors cannot change.")
            )
        raise ConflictError(gettext("Assessors can only be assigned to a submitted application."))
    if assessor_1_id == assessor_2_id:
        raise InvalidInputError(gettext("Choose two different assessors."), field="assessor_2_id")
    for field, user_id in (("assessor_1_id", assessor_1_id), ("assessor_2_id", assessor_2_id)):
        user = session.get(User, user_id)
        if user is None or user.role is not Role.ASSESSOR or not user.is_enabled:
            raise InvalidInputError(gettext("Choose an active assessor."), field=field)
    if appointment_at.tzinfo is None or appointment_at <= now:
        raise InvalidInputError(
            gettext("The appointment must be in the future."), field="appointment_at"
        )
    _refuse_conflicts(
        session,
        application,
        {"assessor_1_id": assessor_1_id, "assessor_2_id": assessor_2_id},
        city_today(appointment_at),
        conflict_recent_days,
    )
    application.assessor_1_id = assessor_1_id
    application.assessor_2_id = assessor_2_id
    application.appointment_at = appointment_at
    application.status = ApplicationStatus.ASSESSING
    session.flush()
    record_event(
        session,
        actor,
        "assign_assessors",
        "application",
        application.id,
        now=now,
        detail={
            "assessor_1_id": assessor_1_id,
            "assessor_2_id": assessor_2_id,
            "appointment_at": appointment_at.astimezone(dt.UTC).isoformat(),
        },
    )
    return application


def can_assign_assessors(application: Application) -> bool:
    """Submitted, or assessing with no assessment recorded yet (a re-assignment)."""
    if application.status is ApplicationStatus.SUBMITTED:
        return True
    return application.status is ApplicationStatus.ASSESSING and not application.assessments


def list_applications(
    session: Session,
    status: ApplicationStatus | None = None,
    *,
    person_id: int | None = None,
    limit: int = MAX_LIST_SIZE,
) -> list[Application]:
    """The latest applications (optionally of one status or one person), eager-loaded."""
    statement = select(Application).options(
        joinedload(Application.person).joinedload(Person.district),
        joinedload(Application.assessor_1),
        joinedload(Application.assessor_2),
    )
    if status is not None:
        statement = statement.where(Application.status == status)
    if person_id is not None:
        statement = statement.where(Application.person_id == person_id)
    statement = statement.order_by(Application.applied_on.desc(), Application.id.desc())
    return list(session.scalars(statement.limit(max(1, min(limit, MAX_LIST_SIZE)))))


def get_application(session: Session, actor: Actor, application_id: int) -> Application:
    """An application with its person, assessors and assessments.

    Administrators see every application; an assessor only those assigned to them.
    """
    actor.require(Role.ADMIN, Role.ASSESSOR)
    application = session.get(
        Application,
        application_id,
        options=[
            joinedload(Application.person).joinedload(Person.district),
            joinedload(Application.assessor_1),
            joinedload(Application.assessor_2),
            selectinload(Application.assessments),
        ],
    )
    if application is None or (
        actor.role is Role.ASSESSOR and not application.is_assessor(actor.user_id or 0)
    ):
        raise NotFoundError(gettext("No such application."))
    return application


def read_application(
    session: Session, actor: Actor, application_id: int, now: dt.datetime
) -> Application:
    """`get_application` for display: the application holds health data, so the read is audited."""
    application = get_application(session, actor, application_id)
    record_event(
        session,
        actor,
        "read",
        "application",
        application.id,
        now=now,
        detail={"person_id": application.person_id},
    )
    session.flush()
    return application


def decision_id_for(session: Session, application_id: int) -> int | None:
    """The eligibility decision taken on this application, if any."""
    return session.scalar(
        select(EligibilityDecision.id).where(EligibilityDecision.application_id == application_id)
    )


def list_assessors(session: Session) -> list[User]:
    """Enabled assessors, by name (the choices when assigning)."""
    return list(
        session.scalars(
            select(User)
            .where(User.role == Role.ASSESSOR, User.is_enabled.is_(True))
            .order_by(User.display_name, User.id)
        )
    )


def _open_application(session: Session, person_id: int) -> Application | None:
    return session.scalar(
        select(Application)
        .where(Application.person_id == person_id, Application.status.in_(OPEN_STATUSES))
        .limit(1)
    )


def _open_application_error(person: Person, application: Application) -> ConflictError:
    return ConflictError(
        gettext(
            "%(name)s already has an open application (no. %(number)d of %(day)s); "
            "it must be decided or withdrawn before a new one.",
            name=person.name,
            number=application.id,
            day=format_date(application.applied_on),
        )
    )


def earlier_assessor_ids(session: Session, application: Application) -> set[int]:
    """Everyone who assessed an earlier round of this case (the chain of previous rounds)."""
    found: set[int] = set()
    previous_id = application.previous_id
    seen: set[int] = set()
    while previous_id is not None and previous_id not in seen:
        seen.add(previous_id)
        previous = session.get(
            Application, previous_id, options=[selectinload(Application.assessments)]
        )
        if previous is None:
            break
        found.update(i for i in (previous.assessor_1_id, previous.assessor_2_id) if i)
        for assessment in previous.assessments:
            found.update((assessment.assessor_1_id, assessment.assessor_2_id))
        previous_id = previous.previous_id
    return found


def client_provider_ids(
    session: Session, application: Application, on: dt.date, recent_days: int
) -> set[int]:
    """Providers the person is a client of: a care plan active or recently ended, or the
    institution named on the application."""
    since = on - dt.timedelta(days=recent_days)
    providers = set(
        session.scalars(
            select(CarePlan.provider_id).where(
                CarePlan.person_id == application.person_id,
                or_(
                    CarePlan.is_active.is_(True),
                    CarePlan.ends_on.is_(None),
                    CarePlan.ends_on >= since,
                ),
            )
        )
    )
    if application.provider_id is not None:
        providers.add(application.provider_id)
    return providers


def _refuse_conflicts(
    session: Session,
    application: Application,
    chosen: dict[str, int],
    on: dt.date,
    recent_days: int,
) -> None:
    ties = [
        Tie(
            tie.assessor_id,
            tie.provider_id,
            tie.provider.name,
            tie.description,
            tie.starts_on,
            tie.ends_on,
        )
        for tie in session.scalars(
            select(AssessorProviderTie)
            .where(AssessorProviderTie.assessor_id.in_(chosen.values()))
            .options(joinedload(AssessorProviderTie.provider))
        )
    ]
    earlier = (
        earlier_assessor_ids(session, application)
        if application.kind is ApplicationKind.APPEAL
        else set()
    )
    conflicts = find_conflicts(
        chosen.values(),
        ties,
        client_provider_ids(session, application, on, recent_days),
        earlier,
        on,
    )
    if not conflicts:
        return
    conflict = conflicts[0]
    field = next(name for name, user_id in chosen.items() if user_id == conflict.assessor_id)
    assessor = session.get(User, conflict.assessor_id)
    name = assessor.display_name if assessor is not None else str(conflict.assessor_id)
    if conflict.reason == "provider_tie":
        message = gettext(
            "%(assessor)s may not assess this person: they are tied to %(provider)s "
            "(%(tie)s), which cares for them.",
            assessor=name,
            provider=conflict.provider_name,
            tie=conflict.description,
        )
    else:
        message = gettext(
            "%(assessor)s assessed this case before and may not re-assess it on appeal.",
            assessor=name,
        )
    raise ConflictError(message, field=field)


def list_providers(session: Session) -> list[Provider]:
    """Care providers by name (the choices of the caring institution and of ties)."""
    return list(session.scalars(select(Provider).order_by(Provider.name, Provider.id)))


def list_ties(session: Session, actor: Actor) -> list[AssessorProviderTie]:
    """Every assessor's ties to care providers, the latest first."""
    actor.require(*INTAKE_ROLES)
    return list(
        session.scalars(
            select(AssessorProviderTie)
            .options(
                joinedload(AssessorProviderTie.assessor),
                joinedload(AssessorProviderTie.provider),
            )
            .order_by(AssessorProviderTie.starts_on.desc(), AssessorProviderTie.id.desc())
            .limit(MAX_LIST_SIZE)
        )
    )


@dataclass(frozen=True)
class TieInput:
    assessor_id: int
    provider_id: int
    description: str
    starts_on: dt.date
    ends_on: dt.date | None


def record_tie(
    session: Session, actor: Actor, data: TieInput, now: dt.datetime
) -> AssessorProviderTie:
    """Record an assessor's tie to a care provider (a conflict of interest while it lasts)."""
    actor.require(*INTAKE_ROLES)
    assessor = session.get(User, data.assessor_id)
    if assessor is None or assessor.role is not Role.ASSESSOR:
        raise InvalidInputError(gettext("Choose an assessor."), field="assessor_id")
    if session.get(Provider, data.provider_id) is None:
        raise InvalidInputError(gettext("Choose a care provider."), field="provider_id")
    description = data.description.strip()
    if not description:
        raise InvalidInputError(gettext("Describe the tie."), field="description")
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise InvalidInputError(gettext("The tie cannot end before it starts."), field="ends_on")
    tie = AssessorProviderTie(
        assessor_id=assessor.id,
        provider_id=data.provider_id,
        description=description[:200],
        starts_on=data.starts_on,
        ends_on=data.ends_on,
    )
    session.add(tie)
    session.flush()
    record_event(
        session,
        actor,
        "create",
        "assessor_provider_tie",
        tie.id,
        now=now,
        detail={"assessor_id": assessor.id, "provider_id": data.provider_id},
    )
    return tie
