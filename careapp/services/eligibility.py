"""Eligibility decisions: load the facts, apply the pure rules, store decision and entitlement."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from careapp.core.clock import city_today
from careapp.core.errors import ConflictError, NotFoundError
from careapp.eligibility.rules import (
    EligibilityFacts,
    PolicyFigures,
    decide,
    months_between,
)
from careapp.models.assessment import Application, ApplicationStatus, Assessment, CareSetting
from careapp.models.eligibility import (
    EligibilityDecision,
    Entitlement,
    EntitlementEvent,
    EntitlementEventKind,
    EntitlementStart,
    EntitlementStatus,
    PolicyVersion,
)
from careapp.models.people import Person
from careapp.models.providers import ProviderKind
from careapp.models.users import Role
from careapp.models.visit import CarePlan
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.policy import grade_categories_of, policy_in_force
from careapp.services.procedure import prepare_decision


@dataclass(frozen=True)
class DecisionContext:
    """What the decision page shows before deciding."""

    application: Application
    assessment: Assessment | None
    decision_id: int | None


@dataclass(frozen=True)
class DecisionSummary:
    """A stored decision with the entitlement it opened and that entitlement's active care plan."""

    decision: EligibilityDecision
    entitlement: Entitlement | None
    care_plan: CarePlan | None


def figures_from_policy(policy_version: PolicyVersion) -> PolicyFigures:
    """The pure rules' view of a stored policy version."""
    return PolicyFigures(
        min_disability_months=policy_version.min_disability_months,
        grade_categories=grade_categories_of(policy_version),
        rates={
            (rate.category.value, rate.care_setting.value): rate.daily_fen
            for rate in policy_version.rates
        },
        home_service_monthly_budget_fen=policy_version.home_service_monthly_budget_fen,
    )


def care_plan_refusal(entitlement: Entitlement, *, is_paid: bool = True) -> str | None:
    """Why this entitlement cannot get a care plan (None: it can).

    The one rule behind the care-plan and find-a-provider actions: the services refuse with this
    message and the pages offer the action only when it is None. A paid plan (a home-care
    company's visits) needs the monthly visit budget that only severe disability at home with
    door-to-door service has; a volunteer organisation's unpaid plan needs only an active
    entitlement at home with door-to-door service.
    """
    if entitlement.status is not EntitlementStatus.ACTIVE:
        return gettext("This entitlement has ended; it cannot get a care plan.")
    if entitlement.care_setting is not CareSetting.HOME_SERVICE:
        return gettext("Only a beneficiary at home with door-to-door service has a care plan.")
    if is_paid and entitlement.monthly_budget_fen is None:
        return gettext(
            "This entitlement is paid a daily rate and has no monthly visit budget: only severe "
            "disability at home with door-to-door service gets a care plan."
        )
    return None


# The provider kind that runs each care setting (HOME_CASH has none).
SETTING_PROVIDER_KINDS: dict[CareSetting, ProviderKind] = {
    CareSetting.MEDICAL_CARE_INSTITUTION: ProviderKind.MEDICAL_CARE_INSTITUTION,
    CareSetting.ELDERLY_CARE_INSTITUTION: ProviderKind.ELDERLY_CARE_INSTITUTION,
    CareSetting.HOME_SERVICE: ProviderKind.HOME_CARE,
}


def entitlement_start(
    session: Session, policy: PolicyVersion, application: Application, decided_on: dt.date
) -> dt.date:
    """The decision date, or the application date if the policy says so (not before the first
    policy version); never a day an earlier entitlement of the person already paid (an appeal's
    or re-assessment's round)."""
    starts_on = decided_on
    if policy.entitlement_starts_from is EntitlementStart.APPLICATION:
        # Never before the first policy version: a day without one has no rate.
        first_policy = session.scalar(select(func.min(PolicyVersion.effective_on)))
        starts_on = max(min(application.applied_on, decided_on), first_policy or decided_on)
    last_paid = session.scalar(
        select(func.max(Entitlement.ends_on)).where(
            Entitlement.person_id == application.person_id,
            Entitlement.status == EntitlementStatus.ENDED,
        )
    )
    if last_paid is not None and last_paid >= starts_on:
        starts_on = min(last_paid + dt.timedelta(days=1), decided_on)
    return starts_on


def placement_provider(application: Application, care_setting: CareSetting) -> int | None:
    """The institution or company named on the application, if it runs the chosen setting."""
    provider = application.provider
    if provider is None or SETTING_PROVIDER_KINDS.get(care_setting) is not provider.kind:
        return None
    return provider.id


def latest_assessment(application: Application) -> Assessment | None:
    """The assessment in force: the latest version (a correction or re-assessment supersedes)."""
    if not application.assessments:
        return None
    return max(application.assessments, key=lambda assessment: assessment.version)


def get_decision_context(session: Session, actor: Actor, application_id: int) -> DecisionContext:
    actor.require(Role.ADMIN)
    application = session.scalar(
        select(Application)
        .where(Application.id == application_id)
        .options(
            selectinload(Application.person).selectinload(Person.district),
            selectinload(Application.assessments),
        )
    )
    if application is None:
        raise NotFoundError(gettext("Not found."))
    decision_id = session.scalar(
        select(EligibilityDecision.id).where(EligibilityDecision.application_id == application_id)
    )
    return DecisionContext(application, latest_assessment(application), decision_id)


def decide_application(
    session: Session,
    actor: Actor,
    application_id: int,
    care_setting: CareSetting,
    now: dt.datetime,
) -> EligibilityDecision:
    """Decide an assessed application on the city date of `now`; open an entitlement if eligible."""
    user_id = actor.require(Role.ADMIN)
    application = session.scalar(
        select(Application)
        .where(Application.id == application_id)
        .options(selectinload(Application.person), selectinload(Application.assessments))
        .with_for_update()
    )
    if application is None:
        raise NotFoundError(gettext("Not found."))
    # Reviewed, publicity ended, no unresolved objection; an appeal's earlier benefit ends.
    prepare_decision(session, actor, application, now)
    assessment = latest_assessment(application)
    if assessment is None:
        raise ConflictError(gettext("This application has no assessment yet."))
    decided_on = city_today(now)
    policy = policy_in_force(session, decided_on)
    if policy is None:
        raise ConflictError(
            gettext("No policy version is in force on %(day)s.", day=decided_on.isoformat())
        )
    person = application.person
    has_open_entitlement = bool(
        session.scalar(
            select(
                exists().where(
                    Entitlement.person_id == person.id,
                    Entitlement.status == EntitlementStatus.ACTIVE,
                )
            )
        )
    )
    insured = person.is_insured_on(decided_on)
    facts = EligibilityFacts(
        decided_on=decided_on,
        is_insured=insured,
        insurance_scheme=person.insurance_scheme.value if insured else None,
        disability_months=months_between(application.disability_since, decided_on),
        instrument=assessment.instrument,
        total=assessment.total,
        grade=assessment.grade,
        care_setting=care_setting.value,
        has_open_entitlement=has_open_entitlement,
    )
    outcome = decide(facts, figures_from_policy(policy))
    category = outcome.category
    decision = EligibilityDecision(
        application_id=application.id,
        assessment_id=assessment.id,
        policy_version_id=policy.id,
        decided_on=decided_on,
        decided_by_id=user_id,
        is_eligible=outcome.is_eligible,
        category=category,
        care_setting=care_setting,
        daily_rate_fen=outcome.daily_rate_fen,
        reasons=[result.as_json() for result in outcome.results],
    )
    try:
        with session.begin_nested():
            session.add(decision)
            session.flush()
            if outcome.is_eligible and category is not None:
                starts_on = entitlement_start(session, policy, application, decided_on)
                entitlement = Entitlement(
                    person_id=person.id,
                    decision_id=decision.id,
                    policy_version_id=policy.id,
                    category=category,
                    care_setting=care_setting,
                    daily_rate_fen=outcome.daily_rate_fen,
                    monthly_budget_fen=outcome.monthly_budget_fen,
                    status=EntitlementStatus.ACTIVE,
                    starts_on=starts_on,
                )
                entitlement.events.append(
                    EntitlementEvent(
                        kind=EntitlementEventKind.START,
                        occurs_on=starts_on,
                        care_setting=care_setting,
                        provider_id=placement_provider(application, care_setting),
                        recorded_by_id=user_id,
                        recorded_at=now,
                    )
                )
                session.add(entitlement)
                session.flush()
    except IntegrityError as error:  # a decision or entitlement made at the same moment
        raise ConflictError(
            gettext("This application was decided at the same time by someone else.")
        ) from error
    application.status = ApplicationStatus.DECIDED
    session.flush()
    record_event(
        session,
        actor,
        "eligibility.decide",
        "eligibility_decision",
        decision.id,
        now=now,
        detail={
            "application_id": application.id,
            "is_eligible": outcome.is_eligible,
            "category": category.value if category else None,
            "care_setting": care_setting.value,
            "daily_rate_fen": outcome.daily_rate_fen,
            "policy_version_id": policy.id,
        },
    )
    return decision


def get_decision_summary(session: Session, actor: Actor, decision_id: int) -> DecisionSummary:
    actor.require(Role.ADMIN)
    decision = session.scalar(
        select(EligibilityDecision)
        .where(EligibilityDecision.id == decision_id)
        .options(
            selectinload(EligibilityDecision.application)
            .selectinload(Application.person)
            .selectinload(Person.district),
            selectinload(EligibilityDecision.assessment),
            selectinload(EligibilityDecision.policy_version),
            selectinload(EligibilityDecision.decided_by),
        )
    )
    if decision is None:
        raise NotFoundError(gettext("Not found."))
    entitlement = session.scalar(select(Entitlement).where(Entitlement.decision_id == decision_id))
    care_plan = None
    if entitlement is not None:
        care_plan = session.scalar(
            select(CarePlan)
            .where(CarePlan.entitlement_id == entitlement.id, CarePlan.is_active.is_(True))
            .limit(1)
        )
    return DecisionSummary(decision, entitlement, care_plan)
