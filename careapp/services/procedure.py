"""The procedure after the on-site assessment: review, publicity (公示) with objections, and the
gate the eligibility decision passes through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from flask_babel import format_date, gettext, ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from assessments.procedure import publicity_period
from careapp.core.clock import city_today
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.models.assessment import Application, ApplicationKind, ApplicationStatus, Assessment
from careapp.models.eligibility import (
    Entitlement,
    EntitlementEvent,
    EntitlementEventKind,
    EntitlementStatus,
    PolicyVersion,
)
from careapp.models.procedure import (
    ApplicationReview,
    Objection,
    ObjectionSource,
    ObjectionStatus,
)
from careapp.models.users import Role
from careapp.models.visit import CarePlan
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.policy import (
    DEFAULT_APPEAL_DAYS,
    DEFAULT_PUBLICITY_WORKING_DAYS,
    DEFAULT_REASSESSMENT_INTERVAL_MONTHS,
    policy_in_force,
)

REASON_MAX = 500
OBJECTION_MAX = 1000
NAME_MAX = 100


@dataclass(frozen=True)
class ProcedureRules:
    """The configurable figures of the procedure.

    The windows (publicity, appeal, re-assessment interval) belong to the policy version in force
    on the relevant date: services replace them with `rules.with_policy(version)` (or
    `rules_in_force`) before use; the defaults here are the default policy's. The other figures
    come from the app config at the boundary (`from_config`).
    """

    publicity_working_days: int = DEFAULT_PUBLICITY_WORKING_DAYS
    public_holidays: frozenset[dt.date] = frozenset()
    appeal_days: int = DEFAULT_APPEAL_DAYS
    conflict_recent_days: int = 365
    reassessment_interval_months: int = DEFAULT_REASSESSMENT_INTERVAL_MONTHS
    reassessment_reminder_days: int = 60
    outlier_points: int = 15
    outlier_min_assessments: int = 10

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ProcedureRules:
        return cls(
            public_holidays=frozenset(
                dt.date.fromisoformat(str(day)) for day in config["PUBLIC_HOLIDAYS"]
            ),
            conflict_recent_days=int(config["CONFLICT_RECENT_DAYS"]),
            reassessment_reminder_days=int(config["REASSESSMENT_REMINDER_DAYS"]),
            outlier_points=int(config["OVERSIGHT_OUTLIER_POINTS"]),
            outlier_min_assessments=int(config["OVERSIGHT_MIN_ASSESSMENTS"]),
        )

    def with_policy(self, policy: PolicyVersion | None) -> ProcedureRules:
        """These rules with the windows of `policy` (unchanged when there is no version)."""
        if policy is None:
            return self
        return replace(
            self,
            publicity_working_days=policy.publicity_working_days,
            appeal_days=policy.appeal_days,
            reassessment_interval_months=policy.reassessment_interval_months,
        )


def rules_in_force(session: Session, rules: ProcedureRules, on: dt.date) -> ProcedureRules:
    """`rules` with the windows of the policy version in force on `on`."""
    return rules.with_policy(policy_in_force(session, on))


@dataclass(frozen=True)
class ObjectionInput:
    source: ObjectionSource
    lodged_by_name: str
    text: str


@dataclass(frozen=True)
class ProcedureView:
    """What the application page shows of the procedure."""

    reviews: list[ApplicationReview]
    objections: list[Objection]
    open_objections: int
    can_review: bool
    can_lodge_objection: bool
    is_decidable: bool


def review_application(
    session: Session,
    actor: Actor,
    application_id: int,
    is_approved: bool,
    reason: str | None,
    rules: ProcedureRules,
    now: dt.datetime,
) -> Application:
    """Approve the assessment (publicity starts) or send it back for re-assessment."""
    user_id = actor.require(Role.ADMIN)
    application = _locked_application(session, application_id)
    if application.status is not ApplicationStatus.ASSESSED:
        raise ConflictError(
            gettext("Only an assessed application awaiting review can be reviewed.")
        )
    assessment = latest_assessment(application)
    if assessment is None:
        raise ConflictError(gettext("This application has no assessment yet."))
    clean_reason = (reason or "").strip() or None
    if clean_reason is not None and len(clean_reason) > REASON_MAX:
        raise InvalidInputError(
            gettext("At most %(max)d characters.", max=REASON_MAX), field="reason"
        )
    if not is_approved and clean_reason is None:
        raise InvalidInputError(
            gettext("Give the reason for sending the assessment back."), field="reason"
        )
    today = city_today(now)
    session.add(
        ApplicationReview(
            application_id=application.id,
            assessment_id=assessment.id,
            is_approved=is_approved,
            reason=clean_reason,
            reviewed_by_id=user_id,
            reviewed_at=now,
        )
    )
    application.reviewed_at = now
    application.reviewed_by_id = user_id
    if is_approved:
        rules = rules_in_force(session, rules, today)
        first, last = publicity_period(today, rules.publicity_working_days, rules.public_holidays)
        application.status = ApplicationStatus.PUBLICITY
        application.publicity_starts_on = first
        application.publicity_ends_on = last
    else:
        _back_to_assessment(application)
    session.flush()
    record_event(
        session,
        actor,
        "review.approve" if is_approved else "review.return",
        "application",
        application.id,
        now=now,
        detail={
            "assessment_id": assessment.id,
            "reason": clean_reason,
            "publicity_ends_on": (
                application.publicity_ends_on.isoformat() if application.publicity_ends_on else None
            ),
        },
    )
    return application


def lodge_objection(
    session: Session, actor: Actor, application_id: int, data: ObjectionInput, now: dt.datetime
) -> Objection:
    """Record an objection lodged (by the applicant, the family or the public) during publicity."""
    user_id = actor.require(Role.ADMIN)
    application = _locked_application(session, application_id)
    today = city_today(now)
    if application.status is not ApplicationStatus.PUBLICITY or (
        application.publicity_ends_on is None
    ):
        raise ConflictError(
            gettext("Objections can only be lodged while the assessment is made public.")
        )
    if today > application.publicity_ends_on:
        raise ConflictError(
            gettext(
                "The publicity ended on %(day)s; objections can no longer be lodged.",
                day=format_date(application.publicity_ends_on),
            )
        )
    name = data.lodged_by_name.strip()
    text = data.text.strip()
    if not name:
        raise InvalidInputError(gettext("Enter who lodges the objection."), field="lodged_by_name")
    if len(name) > NAME_MAX:
        raise InvalidInputError(
            gettext("At most %(max)d characters.", max=NAME_MAX), field="lodged_by_name"
        )
    if not text:
        raise InvalidInputError(gettext("Write down the objection."), field="text")
    if len(text) > OBJECTION_MAX:
        raise InvalidInputError(
            gettext("At most %(max)d characters.", max=OBJECTION_MAX), field="text"
        )
    objection = Objection(
        application_id=application.id,
        source=data.source,
        lodged_by_name=name,
        text=text,
        lodged_at=now,
        recorded_by_id=user_id,
        status=ObjectionStatus.OPEN,
    )
    session.add(objection)
    session.flush()
    record_event(
        session,
        actor,
        "objection.lodge",
        "objection",
        objection.id,
        now=now,
        detail={"application_id": application.id, "source": data.source.value},
    )
    return objection


def resolve_objection(
    session: Session,
    actor: Actor,
    objection_id: int,
    is_upheld: bool,
    note: str,
    now: dt.datetime,
) -> Objection:
    """Dismiss an objection, or uphold it: the application goes back to re-assessment."""
    user_id = actor.require(Role.ADMIN)
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise NotFoundError(gettext("No such objection."))
    if objection.status is not ObjectionStatus.OPEN:
        raise ConflictError(gettext("This objection has already been resolved."))
    clean_note = note.strip()
    if not clean_note:
        raise InvalidInputError(gettext("Explain the resolution."), field="note")
    if len(clean_note) > REASON_MAX:
        raise InvalidInputError(
            gettext("At most %(max)d characters.", max=REASON_MAX), field="note"
        )
    application = _locked_application(session, objection.application_id)
    objection.status = ObjectionStatus.UPHELD if is_upheld else ObjectionStatus.DISMISSED
    objection.resolution_note = clean_note
    objection.resolved_at = now
    objection.resolved_by_id = user_id
    sent_back = is_upheld and application.status is ApplicationStatus.PUBLICITY
    if sent_back:
        _back_to_assessment(application)
    session.flush()
    record_event(
        session,
        actor,
        "objection.uphold" if is_upheld else "objection.dismiss",
        "objection",
        objection.id,
        now=now,
        detail={"application_id": application.id, "sent_back": sent_back},
    )
    return objection


def check_ready_for_decision(session: Session, application: Application, today: dt.date) -> None:
    """Refuse a decision unless publicity has ended with no unresolved objection."""
    if application.status is ApplicationStatus.ASSESSED:
        raise ConflictError(
            gettext("The assessment must be reviewed and made public before the decision.")
        )
    if application.status is not ApplicationStatus.PUBLICITY or (
        application.publicity_ends_on is None
    ):
        raise ConflictError(
            gettext("Only an assessed application can be decided; this one is not ready.")
        )
    if today <= application.publicity_ends_on:
        raise ConflictError(
            gettext(
                "The publicity runs until %(day)s; the decision can be taken from %(next)s.",
                day=format_date(application.publicity_ends_on),
                next=format_date(application.publicity_ends_on + dt.timedelta(days=1)),
            )
        )
    open_count = count_open_objections(session, application.id)
    if open_count:
        raise ConflictError(
            ngettext(
                "%(num)d objection lodged during publicity is unresolved.",
                "%(num)d objections lodged during publicity are unresolved.",
                open_count,
            )
        )


def prepare_decision(
    session: Session, actor: Actor, application: Application, now: dt.datetime
) -> None:
    """The gate of the eligibility decision; for an appeal or re-assessment round, the benefit
    granted on the earlier result ends (the later result stands)."""
    today = city_today(now)
    check_ready_for_decision(session, application, today)
    if application.kind is ApplicationKind.INITIAL:
        return
    entitlements = session.scalars(
        select(Entitlement).where(
            Entitlement.person_id == application.person_id,
            Entitlement.status == EntitlementStatus.ACTIVE,
        )
    ).all()
    for entitlement in entitlements:
        end_entitlement(session, actor, entitlement, today, "reassessed", now)


def end_entitlement(
    session: Session,
    actor: Actor,
    entitlement: Entitlement,
    day: dt.date,
    reason: str,
    now: dt.datetime,
) -> None:
    """End an entitlement and its active care plans on `day`, the end date (not paid): the last
    day of benefit (`ends_on`) is the day before, and an END event records the date and reason.

    An entitlement ended on the day it starts has no benefit day (`ends_on` the day before it).
    """
    last_day = day - dt.timedelta(days=1)
    entitlement.status = EntitlementStatus.ENDED
    entitlement.ends_on = last_day
    entitlement.end_reason = reason
    entitlement.events.append(
        EntitlementEvent(
            kind=EntitlementEventKind.END,
            occurs_on=day,
            end_reason=reason,
            recorded_by_id=actor.user_id,
            recorded_at=now,
        )
    )
    plans = session.scalars(
        select(CarePlan).where(
            CarePlan.entitlement_id == entitlement.id, CarePlan.is_active.is_(True)
        )
    ).all()
    for plan in plans:
        plan.is_active = False
        plan.ends_on = max(plan.starts_on, last_day)
    session.flush()
    record_event(
        session,
        actor,
        "entitlement.end",
        "entitlement",
        entitlement.id,
        now=now,
        detail={"ends_on": last_day.isoformat(), "reason": reason},
    )


def procedure_view(session: Session, application: Application, today: dt.date) -> ProcedureView:
    """The reviews and objections of an application and which actions are open."""
    reviews = list(
        session.scalars(
            select(ApplicationReview)
            .where(ApplicationReview.application_id == application.id)
            .options(joinedload(ApplicationReview.reviewed_by))
            .order_by(ApplicationReview.reviewed_at, ApplicationReview.id)
        )
    )
    objections = list(
        session.scalars(
            select(Objection)
            .where(Objection.application_id == application.id)
            .options(selectinload(Objection.resolved_by))
            .order_by(Objection.lodged_at, Objection.id)
        )
    )
    open_count = sum(1 for objection in objections if objection.status is ObjectionStatus.OPEN)
    in_publicity = (
        application.status is ApplicationStatus.PUBLICITY
        and application.publicity_ends_on is not None
    )
    ends_on = application.publicity_ends_on
    return ProcedureView(
        reviews=reviews,
        objections=objections,
        open_objections=open_count,
        can_review=application.status is ApplicationStatus.ASSESSED,
        can_lodge_objection=in_publicity and ends_on is not None and today <= ends_on,
        is_decidable=in_publicity and ends_on is not None and today > ends_on and not open_count,
    )


def get_objection(session: Session, actor: Actor, objection_id: int) -> Objection:
    actor.require(Role.ADMIN)
    objection = session.get(
        Objection,
        objection_id,
        options=[joinedload(Objection.application).joinedload(Application.person)],
    )
    if objection is None:
        raise NotFoundError(gettext("No such objection."))
    return objection


def count_open_objections(session: Session, application_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Objection)
            .where(
                Objection.application_id == application_id,
                Objection.status == ObjectionStatus.OPEN,
            )
        )
        or 0
    )


def latest_assessment(application: Application) -> Assessment | None:
    """The assessment in force on this round: its latest version."""
    if not application.assessments:
        return None
    return max(application.assessments, key=lambda assessment: assessment.version)


def _back_to_assessment(application: Application) -> None:
    """Back to the same two assessors for a new assessment version."""
    application.status = ApplicationStatus.ASSESSING
    application.publicity_starts_on = None
    application.publicity_ends_on = None


def _locked_application(session: Session, application_id: int) -> Application:
    application = session.scalar(
        select(Application)
        .where(Application.id == application_id)
        .options(selectinload(Application.assessments))
        .with_for_update(of=Application)
        .execution_options(populate_existing=True)
    )
    if application is None:
        raise NotFoundError(gettext("No such application."))
    return application


def decision_refusal(session: Session, application: Application, today: dt.date) -> str | None:
    """Why the application cannot be decided today (None: it can)."""
    try:
        check_ready_for_decision(session, application, today)
    except ConflictError as error:
        return error.message
    return None
