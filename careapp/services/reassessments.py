"""Appeals and re-assessments: a new round of the procedure for a decided case, and reminders of
scheduled re-assessments (a scheduler job) that suspend nothing without an administrator."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import format_date, gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from assessments.procedure import appeal_deadline
from careapp.core.clock import city_today
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.models.assessment import (
    OPEN_APPLICATION_STATUSES,
    Application,
    ApplicationKind,
    ApplicationStatus,
    Assessment,
)
from careapp.models.eligibility import (
    EligibilityDecision,
    Entitlement,
    EntitlementStatus,
    PolicyVersion,
)
from careapp.models.people import Person
from careapp.models.procedure import ReassessmentReminder, ReminderStatus
from careapp.models.users import Role
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.procedure import ProcedureRules, end_entitlement
from scheduling.months import add_months

REASON_MAX = 500
OPEN_STATUSES = tuple(ApplicationStatus(value) for value in OPEN_APPLICATION_STATUSES)


@dataclass(frozen=True)
class AppealContext:
    """A decided round and whether an appeal or a re-assessment can be asked for today."""

    application: Application
    decision: EligibilityDecision
    appeal_deadline: dt.date
    is_appeal_open: bool
    later_round_id: int | None
    appeal_days: int  # the window of the policy version the decision used


@dataclass(frozen=True)
class ReminderRow:
    reminder: ReassessmentReminder
    is_overdue: bool
    application_id: int  # the decided round whose result is due for re-assessment


def get_appeal_context(
    session: Session, actor: Actor, application_id: int, rules: ProcedureRules, today: dt.date
) -> AppealContext:
    actor.require(Role.ADMIN)
    application = session.get(
        Application,
        application_id,
        options=[joinedload(Application.person).joinedload(Person.district)],
    )
    if application is None:
        raise NotFoundError(gettext("No such application."))
    decision = session.scalar(
        select(EligibilityDecision).where(EligibilityDecision.application_id == application.id)
    )
    if application.status is not ApplicationStatus.DECIDED or decision is None:
        raise ConflictError(gettext("Only a decided application can be appealed or re-assessed."))
    # The window of the version the decision used (the one in force on the decision date).
    appeal_days = rules.with_policy(decision.policy_version).appeal_days
    deadline = appeal_deadline(decision.decided_on, appeal_days)
    later = session.scalar(
        select(Application.id)
        .where(
            Application.previous_id == application.id,
            Application.status != ApplicationStatus.WITHDRAWN,
        )
        .limit(1)
    )
    return AppealContext(application, decision, deadline, today <= deadline, later, appeal_days)


def request_reassessment(
    session: Session,
    actor: Actor,
    application_id: int,
    kind: ApplicationKind,
    reason: str,
    rules: ProcedureRules,
    now: dt.datetime,
) -> Application:
    """Open a new round for a decided case: an appeal within the appeal period (assessed by two
    other assessors), or a re-assessment (scheduled, or because the condition changed)."""
    user_id = actor.require(Role.ADMIN)
    if kind is ApplicationKind.INITIAL:
        raise InvalidInputError(gettext("Choose an appeal or a re-assessment."), field="kind")
    today = city_today(now)
    context = get_appeal_context(session, actor, application_id, rules, today)
    previous = context.application
    clean_reason = reason.strip()
    if not clean_reason:
        raise InvalidInputError(gettext("Give the reason for the request."), field="reason")
    if len(clean_reason) > REASON_MAX:
        raise InvalidInputError(
            gettext("At most %(max)d characters.", max=REASON_MAX), field="reason"
        )
    if context.later_round_id is not None:
        raise ConflictError(
            gettext(
                "This result has already been re-examined (application no. %(number)d).",
                number=context.later_round_id,
            )
        )
    if kind is ApplicationKind.APPEAL and not context.is_appeal_open:
        raise ConflictError(
            gettext(
                "The appeal period ended on %(day)s (%(days)d days after the decision of "
                "%(decided)s); ask for a re-assessment if the condition has changed.",
                day=format_date(context.appeal_deadline),
                days=context.appeal_days,
                decided=format_date(context.decision.decided_on),
            )
        )
    person = previous.person
    if not person.is_insured_on(today):
        raise ConflictError(
            gettext(
                "%(name)s is not insured on %(day)s, so cannot apply.",
                name=person.name,
                day=format_date(today),
            )
        )
    open_round = session.scalar(
        select(Application.id)
        .where(Application.person_id == person.id, Application.status.in_(OPEN_STATUSES))
        .limit(1)
    )
    if open_round is not None:
        raise _open_error(person, open_round)
    application = Application(
        person_id=person.id,
        kind=kind,
        previous_id=previous.id,
        status=ApplicationStatus.SUBMITTED,
        applied_on=today,
        applicant=previous.applicant,
        applicant_name=previous.applicant_name,
        disability_since=previous.disability_since,
        evidence_note=previous.evidence_note,
        requested_setting=previous.requested_setting,
        provider_id=previous.provider_id,
        request_reason=clean_reason,
        created_by_id=user_id,
    )
    try:
        with session.begin_nested():  # the one-open-application index decides a race
            session.add(application)
            session.flush()
    except IntegrityError:
        raise _open_error(person, None) from None
    for reminder in session.scalars(
        select(ReassessmentReminder).where(
            ReassessmentReminder.person_id == person.id,
            ReassessmentReminder.status == ReminderStatus.OPEN,
        )
    ):
        reminder.status = ReminderStatus.DONE
    session.flush()
    record_event(
        session,
        actor,
        "create",
        "application",
        application.id,
        now=now,
        detail={"person_id": person.id, "kind": kind.value, "previous_id": previous.id},
    )
    return application


def record_reassessment_reminders(
    session: Session, actor: Actor, today: dt.date, rules: ProcedureRules, now: dt.datetime
) -> int:
    """Record a reminder for every beneficiary whose re-assessment is due by `today` plus the
    reminder period; a second run adds nothing (one reminder per person and due date)."""
    horizon = today + dt.timedelta(days=rules.reassessment_reminder_days)
    # The interval is the one of the policy version each entitlement was granted under.
    rows = session.execute(
        select(
            Entitlement.id,
            Entitlement.person_id,
            Assessment.assessed_on,
            PolicyVersion.reassessment_interval_months,
        )
        .join(EligibilityDecision, EligibilityDecision.id == Entitlement.decision_id)
        .join(Assessment, Assessment.id == EligibilityDecision.assessment_id)
        .join(PolicyVersion, PolicyVersion.id == Entitlement.policy_version_id)
        .where(Entitlement.status == EntitlementStatus.ACTIVE)
        .order_by(Entitlement.person_id)
    ).all()
    due = {
        person_id: (entitlement_id, add_months(assessed_on, interval))
        for entitlement_id, person_id, assessed_on, interval in rows
    }
    due = {person: value for person, value in due.items() if value[1] <= horizon}
    if not due:
        return 0
    known = {
        (person_id, due_on)
        for person_id, due_on in session.execute(
            select(ReassessmentReminder.person_id, ReassessmentReminder.due_on).where(
                ReassessmentReminder.person_id.in_(due)
            )
        )
    }
    in_procedure = set(
        session.scalars(
            select(Application.person_id).where(
                Application.person_id.in_(due), Application.status.in_(OPEN_STATUSES)
            )
        )
    )
    created = 0
    for person_id, (entitlement_id, due_on) in due.items():
        if (person_id, due_on) in known or person_id in in_procedure:
            continue
        reminder = ReassessmentReminder(
            person_id=person_id, entitlement_id=entitlement_id, due_on=due_on
        )
        try:
            with session.begin_nested():  # another run recorded it at the same moment
                session.add(reminder)
                session.flush()
        except IntegrityError:
            continue
        created += 1
        record_event(
            session,
            actor,
            "create",
            "reassessment_reminder",
            reminder.id,
            now=now,
            detail={"person_id": person_id, "due_on": due_on.isoformat()},
        )
    session.flush()
    return created


def list_reminders(session: Session, actor: Actor, today: dt.date) -> list[ReminderRow]:
    """Open reminders, the earliest due first, with the decided round each one re-examines."""
    actor.require(Role.ADMIN)
    reminders = session.scalars(
        select(ReassessmentReminder)
        .where(ReassessmentReminder.status == ReminderStatus.OPEN)
        .options(
            joinedload(ReassessmentReminder.person).joinedload(Person.district),
            joinedload(ReassessmentReminder.entitlement).joinedload(Entitlement.decision),
        )
        .order_by(ReassessmentReminder.due_on, ReassessmentReminder.id)
        .limit(500)
    ).all()
    return [
        ReminderRow(reminder, reminder.due_on < today, reminder.entitlement.decision.application_id)
        for reminder in reminders
    ]


def suspend_overdue_benefit(
    session: Session, actor: Actor, reminder_id: int, now: dt.datetime
) -> ReassessmentReminder:
    """An administrator confirms ending the benefit of an overdue re-assessment."""
    user_id = actor.require(Role.ADMIN)
    reminder = session.get(
        ReassessmentReminder, reminder_id, options=[selectinload(ReassessmentReminder.entitlement)]
    )
    if reminder is None:
        raise NotFoundError(gettext("No such reminder."))
    if reminder.status is not ReminderStatus.OPEN:
        raise ConflictError(gettext("This reminder has already been dealt with."))
    today = city_today(now)
    if reminder.due_on >= today:
        raise ConflictError(
            gettext(
                "The re-assessment is due on %(day)s; it is not overdue yet.",
                day=format_date(reminder.due_on),
            )
        )
    entitlement = reminder.entitlement
    if entitlement.status is EntitlementStatus.ACTIVE:
        end_entitlement(session, actor, entitlement, today, "reassessment_overdue", now)
    reminder.status = ReminderStatus.SUSPENDED
    reminder.confirmed_by_id = user_id
    reminder.confirmed_at = now
    session.flush()
    record_event(
        session,
        actor,
        "reminder.suspend",
        "reassessment_reminder",
        reminder.id,
        now=now,
        detail={"entitlement_id": entitlement.id},
    )
    return reminder


def _open_error(person: Person, application_id: int | None) -> ConflictError:
    if application_id is None:
        return ConflictError(gettext("%(name)s already has an open application.", name=person.name))
    return ConflictError(
        gettext(
            "%(name)s already has an open application (no. %(number)d); it must be decided "
            "or withdrawn before a new one.",
            name=person.name,
            number=application_id,
        )
    )
