"""Eligibility decisions on the database: facts loaded, rules applied, decision and entitlement."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from careapp.eligibility.rules import BenefitCategory
from careapp.models import (
    ApplicationStatus,
    AuditEvent,
    CareSetting,
    EligibilityDecision,
    Entitlement,
    EntitlementStatus,
    HouseholdType,
    InsuranceStatus,
    PolicyRate,
    Role,
)
from careapp.services.actor import Actor
from careapp.services.eligibility import (
    decide_application,
    figures_from_policy,
    get_decision_context,
    get_decision_summary,
)
from careapp.services.policy import build_default_policy
from tests.factories import (
    NOW,
    TODAY,
    ApplicationFactory,
    CarePlanFactory,
    DecidableAssessmentFactory,
    EligibilityDecisionFactory,
    EntitlementFactory,
    PersonFactory,
    PolicyVersionFactory,
    UserFactory,
)


def assessed(person: Any = None, **application: Any) -> Any:
    """An assessed application (Barthel 30, severe unless overridden) of `person`, reviewed,
    with its publicity over: ready for the decision."""
    extra = {f"application__{key}": value for key, value in application.items()}
    if person is not None:
        extra["application__person"] = person
    return DecidableAssessmentFactory(**extra)


def reasons_by_rule(decision: EligibilityDecision) -> dict[str, dict[str, Any]]:
    return {reason["rule"]: reason for reason in decision.reasons}


def test_figures_from_policy_reads_every_figure(app: Flask) -> None:
    figures = figures_from_policy(build_default_policy())
    assert figures.min_disability_months == 6
    assert figures.grade_categories["barthel"]["severe"] is BenefitCategory.SEVERE
    assert figures.grade_categories["national_2021"]["2"] is BenefitCategory.MODERATE
    assert figures.home_service_monthly_budget_fen == 120_000
    assert figures.rates[("severe", "medical_care_institution")] == 5000
    assert figures.rates[("severe", "home_service")] is None
    assert figures.rates[("moderate", "home_cash")] == 1000


def test_decide_application_eligible_opens_entitlement(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    assessment = assessed()
    application = assessment.application
    decision = decide_application(
        db_session, admin_actor, application.id, CareSetting.HOME_SERVICE, NOW
    )
    assert decision.is_eligible
    assert decision.category is BenefitCategory.SEVERE
    assert decision.daily_rate_fen is None
    assert decision.decided_on == TODAY
    assert decision.policy_version_id == policy.id
    assert decision.assessment_id == assessment.id
    assert application.status is ApplicationStatus.DECIDED
    rules = reasons_by_rule(decision)
    assert list(rules) == [
        "insured",
        "disability_duration",
        "assessment_category",
        "no_open_entitlement",
    ]
    assert all(reason["passed"] for reason in decision.reasons)
    assert rules["insured"]["params"] == {"on": "2026-11-23", "scheme": "resident"}
    assert rules["disability_duration"]["params"] == {"months": 22, "required": 6}
    entitlement = db_session.scalars(
        select(Entitlement).where(Entitlement.decision_id == decision.id)
    ).one()
    assert entitlement.person_id == application.person_id
    assert entitlement.status is EntitlementStatus.ACTIVE
    assert entitlement.starts_on == TODAY
    assert entitlement.category is BenefitCategory.SEVERE
    assert entitlement.care_setting is CareSetting.HOME_SERVICE
    assert entitlement.monthly_budget_fen == 120_000
    assert entitlement.policy_version_id == policy.id
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "eligibility.decide")
    ).one()
    assert (event.object_id, event.actor_id) == (decision.id, admin_actor.user_id)


@pytest.mark.parametrize(
    ("setting", "total", "rate", "budget"),
    [
        (CareSetting.MEDICAL_CARE_INSTITUTION, 30, 5000, None),
        (CareSetting.ELDERLY_CARE_INSTITUTION, 30, 4000, None),
        (CareSetting.HOME_CASH, 30, 1500, None),
        (CareSetting.HOME_SERVICE, 50, 1000, None),  # moderate: no visit budget
    ],
)
def test_decide_application_rate_from_policy(
    db_session: Session,
    admin_actor: Actor,
    policy: Any,
    setting: CareSetting,
    total: int,
    rate: int,
    budget: int | None,
) -> None:
    application = DecidableAssessmentFactory(total=total).application
    decision = decide_application(db_session, admin_actor, application.id, setting, NOW)
    entitlement = db_session.scalars(
        select(Entitlement).where(Entitlement.decision_id == decision.id)
    ).one()
    assert (decision.daily_rate_fen, entitlement.daily_rate_fen) == (rate, rate)
    assert entitlement.monthly_budget_fen == budget


def test_decide_application_not_insured_is_ineligible_without_entitlement(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    person = PersonFactory(insurance_status=InsuranceStatus.ENDED)
    application = assessed(person).application
    decision = decide_application(
        db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW
    )
    assert not decision.is_eligible
    assert decision.category is None
    assert reasons_by_rule(decision)["insured"]["passed"] is False
    assert reasons_by_rule(decision)["insured"]["reason_code"] == "not_insured"
    assert db_session.scalars(select(Entitlement)).all() == []
    assert application.status is ApplicationStatus.DECIDED


def test_decide_application_insurance_ended_before_decision_date(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    person = PersonFactory(insured_until=TODAY - dt.timedelta(days=1))
    application = assessed(person).application
    decision = decide_application(
        db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW
    )
    assert reasons_by_rule(decision)["insured"]["passed"] is False


def test_decide_application_disability_too_short(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    application = assessed(disability_since=dt.date(2026, 5, 24)).application
    decision = decide_application(
        db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW
    )
    assert not decision.is_eligible
    duration = reasons_by_rule(decision)["disability_duration"]
    assert (duration["passed"], duration["params"]["months"]) == (False, 5)


def test_decide_application_open_entitlement_fails_rule_four(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    person = PersonFactory()
    EntitlementFactory(
        decision__policy_version=policy,
        decision__assessment__application__person=person,
        decision__assessment__application__status=ApplicationStatus.DECIDED,
    )
    application = assessed(person).application
    decision = decide_application(
        db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW
    )
    assert not decision.is_eligible
    assert reasons_by_rule(decision)["no_open_entitlement"]["reason_code"] == "open_entitlement"
    assert len(db_session.scalars(select(Entitlement)).all()) == 1


def test_decide_application_ended_entitlement_does_not_count(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    person = PersonFactory()
    EntitlementFactory(
        decision__policy_version=policy,
        decision__assessment__application__person=person,
        decision__assessment__application__status=ApplicationStatus.DECIDED,
        status=EntitlementStatus.ENDED,
        ends_on=dt.date(2026, 1, 1),
    )
    application = assessed(person).application
    decision = decide_application(
        db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW
    )
    assert decision.is_eligible


def test_decide_application_uses_latest_assessment_version(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    first = assessed()
    second = DecidableAssessmentFactory(
        application=first.application, version=2, total=55, grade="moderate"
    )
    decision = decide_application(
        db_session, admin_actor, first.application.id, CareSetting.HOME_CASH, NOW
    )
    assert decision.assessment_id == second.id
    assert decision.category is BenefitCategory.MODERATE
    assert decision.daily_rate_fen == 1000


def test_decide_application_barthel_above_bands_is_ineligible(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    application = DecidableAssessmentFactory(total=75, grade="mild").application
    decision = decide_application(
        db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW
    )
    assert not decision.is_eligible
    assert reasons_by_rule(decision)["assessment_category"]["reason_code"] == "grade_no_category"


def test_decide_application_uses_policy_in_force_on_decision_date(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    current = PolicyVersionFactory(effective_on=dt.date(2026, 11, 1), name="2026")
    for rate in current.rates:
        if rate.category is BenefitCategory.SEVERE and (
            rate.care_setting is CareSetting.ELDERLY_CARE_INSTITUTION
        ):
            rate.daily_fen = 4500
    PolicyVersionFactory(effective_on=dt.date(2026, 12, 1), name="future", min_disability_months=30)
    db_session.flush()
    application = assessed().application
    decision = decide_application(
        db_session, admin_actor, application.id, CareSetting.ELDERLY_CARE_INSTITUTION, NOW
    )
    assert decision.policy_version_id == current.id
    assert decision.daily_rate_fen == 4500
    assert decision.is_eligible


def test_decide_application_without_policy_is_refused(
    db_session: Session, admin_actor: Actor
) -> None:
    application = assessed().application
    with pytest.raises(ConflictError):
        decide_application(db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW)
    assert db_session.scalars(select(EligibilityDecision)).all() == []


@pytest.mark.parametrize(
    "status",
    [ApplicationStatus.SUBMITTED, ApplicationStatus.ASSESSING, ApplicationStatus.WITHDRAWN],
)
def test_decide_application_not_assessed_is_refused(
    db_session: Session, admin_actor: Actor, policy: Any, status: ApplicationStatus
) -> None:
    application = ApplicationFactory(status=status)
    with pytest.raises(ConflictError):
        decide_application(db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW)
    assert db_session.scalars(select(EligibilityDecision)).all() == []


def test_decide_application_twice_is_refused(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    application = assessed().application
    decide_application(db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW)
    with pytest.raises(ConflictError):
        decide_application(db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW)


def test_decide_application_assessed_without_assessment_is_refused(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    application = ApplicationFactory(assigned=True, status=ApplicationStatus.ASSESSED)
    with pytest.raises(ConflictError):
        decide_application(db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW)
    assert db_session.scalars(select(EligibilityDecision)).all() == []


def test_decide_application_decided_at_the_same_time_is_a_conflict(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    # Another transaction stored a decision after this one read the application as assessed.
    assessment = assessed()
    EligibilityDecisionFactory(assessment=assessment, policy_version=policy)
    with pytest.raises(ConflictError):
        decide_application(
            db_session, admin_actor, assessment.application.id, CareSetting.HOME_CASH, NOW
        )
    assert len(db_session.scalars(select(EligibilityDecision)).all()) == 1
    assert db_session.scalars(select(Entitlement)).all() == []


@pytest.mark.parametrize("role", [Role.ASSESSOR, Role.PROVIDER_MANAGER, Role.CAREGIVER, None])
def test_decide_application_only_admins(
    db_session: Session, policy: Any, role: Role | None
) -> None:
    application = assessed().application
    actor = Actor(user_id=UserFactory(assessor=True).id, role=role)
    with pytest.raises(PermissionDeniedError):
        decide_application(db_session, actor, application.id, CareSetting.HOME_CASH, NOW)
    assert application.status is ApplicationStatus.PUBLICITY


def test_decide_application_unknown_application(db_session: Session, admin_actor: Actor) -> None:
    with pytest.raises(NotFoundError):
        decide_application(db_session, admin_actor, 999_999, CareSetting.HOME_CASH, NOW)


# --- THE EQUALITY TEST (registry.md): household registration never changes a decision ------


@pytest.mark.parametrize(
    ("scenario", "setting"),
    [
        ({}, CareSetting.HOME_SERVICE),
        ({"total": 50}, CareSetting.ELDERLY_CARE_INSTITUTION),
        ({"total": 30}, CareSetting.MEDICAL_CARE_INSTITUTION),
        ({"total": 80}, CareSetting.HOME_CASH),
        ({"disability_since": dt.date(2026, 9, 1)}, CareSetting.HOME_CASH),
        ({"insurance_status": InsuranceStatus.SUSPENDED}, CareSetting.HOME_SERVICE),
    ],
)
def test_decision_is_the_same_whatever_the_household_registration(
    db_session: Session,
    admin_actor: Actor,
    policy: Any,
    scenario: dict[str, Any],
    setting: CareSetting,
) -> None:
    outcomes = []
    for household in (HouseholdType.URBAN, HouseholdType.RURAL, HouseholdType.OTHER_CITY):
        person = PersonFactory(
            name="王某",
            household_type=household,
            insurance_status=scenario.get("insurance_status", InsuranceStatus.ACTIVE),
        )
        assessment = DecidableAssessmentFactory(
            application__person=person,
            application__disability_since=scenario.get("disability_since", dt.date(2025, 1, 1)),
            total=scenario.get("total", 30),
        )
        decision = decide_application(
            db_session, admin_actor, assessment.application.id, setting, NOW
        )
        entitlement = db_session.scalars(
            select(Entitlement).where(Entitlement.decision_id == decision.id)
        ).one_or_none()
        outcomes.append(
            (
                decision.is_eligible,
                decision.category,
                decision.daily_rate_fen,
                decision.care_setting,
                decision.reasons,
                None
                if entitlement is None
                else (
                    entitlement.category,
                    entitlement.daily_rate_fen,
                    entitlement.monthly_budget_fen,
                    entitlement.starts_on,
                ),
            )
        )
    assert outcomes[0] == outcomes[1] == outcomes[2]


# --- reading decisions -----------------------------------------------------------------------


def test_get_decision_context_before_and_after_deciding(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    assessment = assessed()
    context = get_decision_context(db_session, admin_actor, assessment.application.id)
    assert (context.assessment, context.decision_id) == (assessment, None)
    decision = decide_application(
        db_session, admin_actor, assessment.application.id, CareSetting.HOME_CASH, NOW
    )
    context = get_decision_context(db_session, admin_actor, assessment.application.id)
    assert context.decision_id == decision.id


def test_get_decision_context_refuses_others_and_unknown(
    db_session: Session, admin_actor: Actor
) -> None:
    application = ApplicationFactory()
    assert get_decision_context(db_session, admin_actor, application.id).assessment is None
    with pytest.raises(NotFoundError):
        get_decision_context(db_session, admin_actor, 999_999)
    with pytest.raises(PermissionDeniedError):
        get_decision_context(db_session, Actor(user_id=1, role=Role.ASSESSOR), application.id)


def test_get_decision_summary_with_entitlement_and_plan(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    application = assessed().application
    decision = decide_application(
        db_session, admin_actor, application.id, CareSetting.HOME_SERVICE, NOW
    )
    summary = get_decision_summary(db_session, admin_actor, decision.id)
    assert summary.entitlement is not None
    assert summary.care_plan is None
    plan = CarePlanFactory(entitlement=summary.entitlement)
    assert get_decision_summary(db_session, admin_actor, decision.id).care_plan == plan


def test_get_decision_summary_ineligible_and_unknown(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    application = DecidableAssessmentFactory(total=90).application
    decision = decide_application(
        db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW
    )
    summary = get_decision_summary(db_session, admin_actor, decision.id)
    assert (summary.entitlement, summary.care_plan) == (None, None)
    with pytest.raises(NotFoundError):
        get_decision_summary(db_session, admin_actor, 999_999)
    with pytest.raises(PermissionDeniedError):
        get_decision_summary(db_session, Actor(user_id=1, role=Role.CAREGIVER), decision.id)


def test_policy_rate_rows_feed_the_figures(db_session: Session, policy: Any) -> None:
    rows = db_session.scalars(
        select(PolicyRate).where(PolicyRate.policy_version_id == policy.id)
    ).all()
    assert len(rows) == 8
