"""Review, publicity with objections, and the gate of the eligibility decision."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.config import Config
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.models import (
    ApplicationKind,
    ApplicationReview,
    ApplicationStatus,
    AuditEvent,
    CareSetting,
    EligibilityDecision,
    Entitlement,
    EntitlementEventKind,
    EntitlementStatus,
    Objection,
    ObjectionSource,
    ObjectionStatus,
    Role,
)
from careapp.services.actor import Actor
from careapp.services.eligibility import decide_application
from careapp.services.procedure import (
    ObjectionInput,
    ProcedureRules,
    check_ready_for_decision,
    decision_refusal,
    get_objection,
    lodge_objection,
    procedure_view,
    resolve_objection,
    review_application,
)
from tests.factories import (
    NOW,
    TODAY,
    ApplicationFactory,
    AssessmentFactory,
    CarePlanFactory,
    DecidableAssessmentFactory,
    EntitlementFactory,
    ObjectionFactory,
    PolicyVersionFactory,
)

RULES = ProcedureRules()
# NOW is Monday 2026-11-23: publicity runs Tue 24 .. Mon 30 November.
PUBLICITY = (dt.date(2026, 11, 24), dt.date(2026, 11, 30))
AFTER_PUBLICITY = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def objection_input(**changes: Any) -> ObjectionInput:
    values: dict[str, Any] = {
        "source": ObjectionSource.APPLICANT,
        "lodged_by_name": "李娟（女儿）",
        "text": "评估当天母亲状态较好，未反映夜间情况。",
    }
    values.update(changes)
    return ObjectionInput(**values)


def in_publicity(admin_actor: Actor, session: Session) -> Any:
    """An application reviewed and approved on NOW (publicity 24-30 November)."""
    assessment = AssessmentFactory()
    return review_application(
        session, admin_actor, assessment.application_id, True, None, RULES, NOW
    )


def test_procedure_rules_from_config_reads_the_figures_of_the_config() -> None:
    config = {key: getattr(Config, key) for key in dir(Config) if key.isupper()}
    config["PUBLIC_HOLIDAYS"] = ("2026-10-01",)
    rules = ProcedureRules.from_config(config)
    assert rules.public_holidays == frozenset({dt.date(2026, 10, 1)})
    assert (rules.outlier_points, rules.reassessment_reminder_days) == (15, 60)
    # The windows are the policy's: the config holds none of them any more.
    assert not {"ASSESSMENT_APPEAL_DAYS", "PUBLICITY_WORKING_DAYS"} & set(config)
    assert "REASSESSMENT_INTERVAL_MONTHS" not in config
    assert (rules.publicity_working_days, rules.appeal_days) == (5, 30)  # the default policy's
    assert rules.reassessment_interval_months == 24


def test_procedure_rules_take_the_windows_of_a_policy_version(db_session: Session) -> None:
    policy = PolicyVersionFactory(
        effective_on=dt.date(2026, 6, 1),
        appeal_days=60,
        publicity_working_days=7,
        reassessment_interval_months=12,
    )
    rules = RULES.with_policy(policy)
    assert (rules.appeal_days, rules.publicity_working_days) == (60, 7)
    assert rules.reassessment_interval_months == 12
    assert RULES.with_policy(None) is RULES


# --- review ---------------------------------------------------------------------------------


def test_review_application_approves_and_starts_publicity(
    db_session: Session, admin_actor: Actor
) -> None:
    assessment = AssessmentFactory()
    application = review_application(
        db_session, admin_actor, assessment.application_id, True, "  ", RULES, NOW
    )
    assert application.status is ApplicationStatus.PUBLICITY
    assert (application.publicity_starts_on, application.publicity_ends_on) == PUBLICITY
    assert (application.reviewed_at, application.reviewed_by_id) == (NOW, admin_actor.user_id)
    review = db_session.scalars(select(ApplicationReview)).one()
    assert (review.is_approved, review.reason, review.assessment_id) == (True, None, assessment.id)
    assert actions(db_session) == ["review.approve"]


def test_review_application_publicity_skips_configured_holidays(
    db_session: Session, admin_actor: Actor
) -> None:
    # The publicity days are the policy's in force on the review date (not an argument's).
    PolicyVersionFactory(effective_on=dt.date(2026, 11, 1), publicity_working_days=3)
    rules = ProcedureRules(publicity_working_days=9, public_holidays=frozenset({PUBLICITY[0]}))
    application = review_application(
        db_session, admin_actor, AssessmentFactory().application_id, True, None, rules, NOW
    )
    assert (application.publicity_starts_on, application.publicity_ends_on) == (
        dt.date(2026, 11, 25),
        dt.date(2026, 11, 27),
    )


def test_review_application_sends_back_with_a_reason(
    db_session: Session, admin_actor: Actor
) -> None:
    assessment = AssessmentFactory()
    application = review_application(
        db_session, admin_actor, assessment.application_id, False, "第7项与备注不符", RULES, NOW
    )
    assert application.status is ApplicationStatus.ASSESSING
    assert application.publicity_ends_on is None
    review = db_session.scalars(select(ApplicationReview)).one()
    assert (review.is_approved, review.reason) == (False, "第7项与备注不符")
    assert actions(db_session) == ["review.return"]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_review_application_sending_back_needs_a_reason(
    db_session: Session, admin_actor: Actor, reason: str | None
) -> None:
    assessment = AssessmentFactory()
    with pytest.raises(InvalidInputError) as raised:
        review_application(
            db_session, admin_actor, assessment.application_id, False, reason, RULES, NOW
        )
    assert raised.value.field == "reason"
    assert assessment.application.status is ApplicationStatus.ASSESSED
    assert count(db_session, ApplicationReview) == 0


def test_review_application_reason_too_long(db_session: Session, admin_actor: Actor) -> None:
    assessment = AssessmentFactory()
    with pytest.raises(InvalidInputError):
        review_application(
            db_session, admin_actor, assessment.application_id, False, "长" * 501, RULES, NOW
        )
    assert count(db_session, ApplicationReview) == 0


@pytest.mark.parametrize(
    "status",
    [
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.ASSESSING,
        ApplicationStatus.PUBLICITY,
        ApplicationStatus.DECIDED,
        ApplicationStatus.WITHDRAWN,
    ],
)
def test_review_application_refuses_the_wrong_state(
    db_session: Session, admin_actor: Actor, status: ApplicationStatus
) -> None:
    assessment = AssessmentFactory(application__status=status)
    with pytest.raises(ConflictError, match="审核"):
        review_application(
            db_session, admin_actor, assessment.application_id, True, None, RULES, NOW
        )
    assert count(db_session, ApplicationReview) == 0


def test_review_application_refuses_an_assessed_application_without_assessment(
    db_session: Session, admin_actor: Actor
) -> None:
    application = ApplicationFactory(assigned=True, status=ApplicationStatus.ASSESSED)
    with pytest.raises(ConflictError):
        review_application(db_session, admin_actor, application.id, True, None, RULES, NOW)


@pytest.mark.parametrize("role", [Role.ASSESSOR, Role.PROVIDER_MANAGER, Role.CAREGIVER, None])
def test_review_application_only_admins(db_session: Session, role: Role | None) -> None:
    assessment = AssessmentFactory()
    actor = Actor(user_id=assessment.assessor_1_id, role=role)
    with pytest.raises(PermissionDeniedError):
        review_application(db_session, actor, assessment.application_id, True, None, RULES, NOW)
    assert assessment.application.status is ApplicationStatus.ASSESSED


def test_review_application_unknown(db_session: Session, admin_actor: Actor) -> None:
    with pytest.raises(NotFoundError):
        review_application(db_session, admin_actor, 987_654, True, None, RULES, NOW)


# --- objections -------------------------------------------------------------------------------


def test_lodge_objection_during_publicity_records_who_when_and_what(
    db_session: Session, admin_actor: Actor
) -> None:
    application = in_publicity(admin_actor, db_session)
    on_last_day = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)  # 23:00 in the city
    objection = lodge_objection(
        db_session, admin_actor, application.id, objection_input(), on_last_day
    )
    assert objection.status is ObjectionStatus.OPEN
    assert (objection.source, objection.lodged_by_name) == (
        ObjectionSource.APPLICANT,
        "李娟（女儿）",
    )
    assert (objection.lodged_at, objection.recorded_by_id) == (on_last_day, admin_actor.user_id)
    assert actions(db_session)[-1] == "objection.lodge"


def test_lodge_objection_after_publicity_ended_is_refused(
    db_session: Session, admin_actor: Actor
) -> None:
    application = in_publicity(admin_actor, db_session)
    with pytest.raises(ConflictError, match="2026"):
        lodge_objection(db_session, admin_actor, application.id, objection_input(), AFTER_PUBLICITY)
    assert count(db_session, Objection) == 0


@pytest.mark.parametrize(
    "status", [ApplicationStatus.ASSESSED, ApplicationStatus.ASSESSING, ApplicationStatus.DECIDED]
)
def test_lodge_objection_outside_publicity_is_refused(
    db_session: Session, admin_actor: Actor, status: ApplicationStatus
) -> None:
    application = AssessmentFactory(application__status=status).application
    with pytest.raises(ConflictError):
        lodge_objection(db_session, admin_actor, application.id, objection_input(), NOW)
    assert count(db_session, Objection) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lodged_by_name": "  "}, "lodged_by_name"),
        ({"lodged_by_name": "名" * 101}, "lodged_by_name"),
        ({"text": ""}, "text"),
        ({"text": "字" * 1001}, "text"),
    ],
)
def test_lodge_objection_bad_input_writes_nothing(
    db_session: Session, admin_actor: Actor, changes: dict[str, str], field: str
) -> None:
    application = in_publicity(admin_actor, db_session)
    with pytest.raises(InvalidInputError) as raised:
        lodge_objection(db_session, admin_actor, application.id, objection_input(**changes), NOW)
    assert raised.value.field == field
    assert count(db_session, Objection) == 0


def test_lodge_objection_only_admins_record_it(db_session: Session) -> None:
    application = ApplicationFactory(publicized=True)
    with pytest.raises(PermissionDeniedError):
        lodge_objection(
            db_session, Actor(user_id=None, role=None), application.id, objection_input(), NOW
        )


def test_resolve_objection_dismissed_keeps_publicity(
    db_session: Session, admin_actor: Actor
) -> None:
    objection = ObjectionFactory()
    resolved = resolve_objection(
        db_session, admin_actor, objection.id, False, "已核实，评估无误", NOW
    )
    assert resolved.status is ObjectionStatus.DISMISSED
    assert (resolved.resolved_by_id, resolved.resolved_at) == (admin_actor.user_id, NOW)
    assert objection.application.status is ApplicationStatus.PUBLICITY
    assert actions(db_session) == ["objection.dismiss"]


def test_resolve_objection_upheld_goes_back_to_reassessment(
    db_session: Session, admin_actor: Actor
) -> None:
    objection = ObjectionFactory()
    resolve_objection(db_session, admin_actor, objection.id, True, "需重新评估夜间情况", NOW)
    application = objection.application
    assert objection.status is ObjectionStatus.UPHELD
    assert application.status is ApplicationStatus.ASSESSING
    assert application.publicity_ends_on is None
    assert actions(db_session) == ["objection.uphold"]


def test_resolve_objection_twice_or_without_note_is_refused(
    db_session: Session, admin_actor: Actor
) -> None:
    objection = ObjectionFactory()
    with pytest.raises(InvalidInputError):
        resolve_objection(db_session, admin_actor, objection.id, False, "  ", NOW)
    with pytest.raises(InvalidInputError):
        resolve_objection(db_session, admin_actor, objection.id, False, "长" * 501, NOW)
    assert objection.status is ObjectionStatus.OPEN
    resolve_objection(db_session, admin_actor, objection.id, False, "驳回", NOW)
    with pytest.raises(ConflictError):
        resolve_objection(db_session, admin_actor, objection.id, True, "改为支持", NOW)
    assert objection.status is ObjectionStatus.DISMISSED


def test_resolve_objection_refuses_others_and_unknown(
    db_session: Session, admin_actor: Actor
) -> None:
    objection = ObjectionFactory()
    with pytest.raises(PermissionDeniedError):
        resolve_objection(
            db_session, Actor(user_id=1, role=Role.ASSESSOR), objection.id, True, "x", NOW
        )
    with pytest.raises(NotFoundError):
        resolve_objection(db_session, admin_actor, 987_654, True, "x", NOW)
    with pytest.raises(NotFoundError):
        get_objection(db_session, admin_actor, 987_654)
    assert get_objection(db_session, admin_actor, objection.id) == objection


# --- the decision gate ------------------------------------------------------------------------


def test_decision_before_publicity_ended_is_refused(
    db_session: Session, admin_actor: Actor
) -> None:
    PolicyVersionFactory()
    application = in_publicity(admin_actor, db_session)
    last_day = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
    with pytest.raises(ConflictError, match="2026年12月1日"):
        decide_application(db_session, admin_actor, application.id, CareSetting.HOME_CASH, last_day)
    assert count(db_session, EligibilityDecision) == 0
    decision = decide_application(
        db_session, admin_actor, application.id, CareSetting.HOME_CASH, AFTER_PUBLICITY
    )
    assert decision.is_eligible
    assert application.status is ApplicationStatus.DECIDED


def test_decision_with_an_unresolved_objection_is_refused(
    db_session: Session, admin_actor: Actor
) -> None:
    PolicyVersionFactory()
    objection = ObjectionFactory(application=DecidableAssessmentFactory().application)
    with pytest.raises(ConflictError, match="异议"):
        decide_application(
            db_session, admin_actor, objection.application_id, CareSetting.HOME_CASH, NOW
        )
    assert count(db_session, EligibilityDecision) == 0
    resolve_objection(db_session, admin_actor, objection.id, False, "驳回", NOW)
    decide_application(
        db_session, admin_actor, objection.application_id, CareSetting.HOME_CASH, NOW
    )


def test_decision_of_an_unreviewed_assessment_is_refused(
    db_session: Session, admin_actor: Actor
) -> None:
    PolicyVersionFactory()
    application = AssessmentFactory().application
    with pytest.raises(ConflictError, match="公示"):
        decide_application(db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW)
    assert count(db_session, EligibilityDecision) == 0


def test_decision_refusal_explains_or_is_none(db_session: Session, admin_actor: Actor) -> None:
    ready = ApplicationFactory(publicized=True)
    assert decision_refusal(db_session, ready, TODAY) is None
    assert decision_refusal(db_session, ready, dt.date(2026, 11, 19)) is not None
    ObjectionFactory(application=ready)
    ObjectionFactory(application=ready)
    assert "2" in (decision_refusal(db_session, ready, TODAY) or "")
    submitted = ApplicationFactory()
    with pytest.raises(ConflictError, match="就绪"):
        check_ready_for_decision(db_session, submitted, TODAY)


def test_decision_of_an_appeal_ends_the_earlier_benefit(
    db_session: Session, admin_actor: Actor
) -> None:
    policy = PolicyVersionFactory()
    earlier = EntitlementFactory(
        decision__policy_version=policy,
        decision__assessment__application__status=ApplicationStatus.DECIDED,
        starts_on=dt.date(2026, 10, 1),
    )
    plan = CarePlanFactory(entitlement=earlier, starts_on=dt.date(2026, 10, 1))
    appeal = DecidableAssessmentFactory(
        total=55,
        grade="moderate",
        application__person=earlier.person,
        application__kind=ApplicationKind.APPEAL,
        application__previous=earlier.decision.application,
    ).application
    decision = decide_application(db_session, admin_actor, appeal.id, CareSetting.HOME_CASH, NOW)
    assert decision.is_eligible  # no "open entitlement" refusal: the later result stands
    assert (earlier.status, earlier.ends_on, earlier.end_reason) == (
        EntitlementStatus.ENDED,
        TODAY - dt.timedelta(days=1),
        "reassessed",
    )
    assert (plan.is_active, plan.ends_on) == (False, TODAY - dt.timedelta(days=1))
    active = db_session.scalars(
        select(Entitlement).where(Entitlement.status == EntitlementStatus.ACTIVE)
    ).one()
    assert active.decision_id == decision.id
    assert "entitlement.end" in actions(db_session)
    # The END event carries the end date (not paid); the new benefit starts that very day.
    (end,) = [e for e in earlier.events if e.kind is EntitlementEventKind.END]
    assert (end.occurs_on, end.end_reason) == (TODAY, "reassessed")
    assert [(e.kind, e.occurs_on) for e in active.events] == [(EntitlementEventKind.START, TODAY)]


# --- what the page shows ----------------------------------------------------------------------


def test_procedure_view_offers_the_next_step(db_session: Session, admin_actor: Actor) -> None:
    assessed = AssessmentFactory().application
    view = procedure_view(db_session, assessed, TODAY)
    assert (view.can_review, view.can_lodge_objection, view.is_decidable) == (True, False, False)
    public = in_publicity(admin_actor, db_session)
    view = procedure_view(db_session, public, TODAY)
    assert (view.can_review, view.can_lodge_objection, view.is_decidable) == (False, True, False)
    assert [review.is_approved for review in view.reviews] == [True]
    view = procedure_view(db_session, public, dt.date(2026, 12, 1))
    assert (view.can_lodge_objection, view.is_decidable) == (False, True)
    ObjectionFactory(application=public)
    view = procedure_view(db_session, public, dt.date(2026, 12, 1))
    assert (view.is_decidable, view.open_objections, len(view.objections)) == (False, 1, 1)
