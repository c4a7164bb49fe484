"""Appeals and re-assessments, conflicts of interest on assignment, and reminders."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.models import (
    Application,
    ApplicationKind,
    ApplicationStatus,
    AuditEvent,
    EntitlementStatus,
    InsuranceStatus,
    ReassessmentReminder,
    ReminderStatus,
    Role,
)
from careapp.services.actor import Actor
from careapp.services.applications import assign_assessors
from careapp.services.procedure import ProcedureRules
from careapp.services.reassessments import (
    get_appeal_context,
    list_reminders,
    record_reassessment_reminders,
    request_reassessment,
    suspend_overdue_benefit,
)
from tests.factories import (
    NOW,
    TODAY,
    ApplicationFactory,
    AssessmentFactory,
    AssessorProviderTieFactory,
    CarePlanFactory,
    EntitlementFactory,
    PolicyVersionFactory,
    ProviderFactory,
    ReassessmentReminderFactory,
    UserFactory,
)

RULES = ProcedureRules()
APPOINTMENT = NOW + dt.timedelta(days=3)


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def decided(decided_on: dt.date = dt.date(2026, 11, 10), **entitlement: Any) -> Any:
    """A beneficiary's decided first round (with its entitlement)."""
    values: dict[str, Any] = {
        "decision__policy_version": PolicyVersionFactory(),
        "decision__decided_on": decided_on,
        "decision__assessment__application__status": ApplicationStatus.DECIDED,
        "starts_on": decided_on,
    }
    values.update(entitlement)
    return EntitlementFactory(**values)


def client_plan(provider: Any, **changes: Any) -> Any:
    """A care plan of `provider` for a beneficiary whose first application is decided."""
    values: dict[str, Any] = {
        "provider": provider,
        "entitlement__decision__assessment__application__status": ApplicationStatus.DECIDED,
    }
    values.update(changes)
    return CarePlanFactory(**values)


# --- appeal / re-assessment requests ----------------------------------------------------------


def test_request_reassessment_appeal_within_the_period_opens_a_new_round(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = decided(dt.date(2026, 10, 24))  # the 30th day after is 23 November (TODAY)
    previous = entitlement.decision.application
    appeal = request_reassessment(
        db_session, admin_actor, previous.id, ApplicationKind.APPEAL, "家属认为等级偏低", RULES, NOW
    )
    assert (appeal.kind, appeal.previous_id, appeal.status) == (
        ApplicationKind.APPEAL,
        previous.id,
        ApplicationStatus.SUBMITTED,
    )
    assert appeal.applied_on == TODAY
    assert appeal.request_reason == "家属认为等级偏低"
    assert appeal.disability_since == previous.disability_since
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "create")).one()
    assert event.detail["kind"] == "appeal"


def test_request_reassessment_appeal_after_the_period_is_refused(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = decided(dt.date(2026, 10, 23))  # the period ended on 22 November
    with pytest.raises(ConflictError, match="2026年11月22日") as raised:
        request_reassessment(
            db_session,
            admin_actor,
            entitlement.decision.application_id,
            ApplicationKind.APPEAL,
            "太晚了",
            RULES,
            NOW,
        )
    assert "30" in raised.value.message
    assert count(db_session, Application) == 1


def test_request_reassessment_when_the_condition_changed_is_not_bound_by_the_period(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = decided(dt.date(2025, 1, 10))
    round_two = request_reassessment(
        db_session,
        admin_actor,
        entitlement.decision.application_id,
        ApplicationKind.REASSESSMENT,
        "病情加重",
        RULES,
        NOW,
    )
    assert round_two.kind is ApplicationKind.REASSESSMENT


def test_request_reassessment_closes_the_open_reminder(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = decided(dt.date(2024, 11, 1))
    reminder = ReassessmentReminderFactory(entitlement=entitlement)
    request_reassessment(
        db_session,
        admin_actor,
        entitlement.decision.application_id,
        ApplicationKind.REASSESSMENT,
        "定期复评",
        RULES,
        NOW,
    )
    assert reminder.status is ReminderStatus.DONE


@pytest.mark.parametrize(
    ("kind", "reason", "field"),
    [
        (ApplicationKind.APPEAL, "  ", "reason"),
        (ApplicationKind.APPEAL, "长" * 501, "reason"),
        (ApplicationKind.INITIAL, "理由", "kind"),
    ],
)
def test_request_reassessment_bad_input_writes_nothing(
    db_session: Session, admin_actor: Actor, kind: ApplicationKind, reason: str, field: str
) -> None:
    entitlement = decided(TODAY)
    with pytest.raises(InvalidInputError) as raised:
        request_reassessment(
            db_session, admin_actor, entitlement.decision.application_id, kind, reason, RULES, NOW
        )
    assert raised.value.field == field
    assert count(db_session, Application) == 1


def test_request_reassessment_refuses_an_undecided_application(
    db_session: Session, admin_actor: Actor
) -> None:
    application = AssessmentFactory().application
    with pytest.raises(ConflictError):
        request_reassessment(
            db_session, admin_actor, application.id, ApplicationKind.APPEAL, "x", RULES, NOW
        )
    with pytest.raises(NotFoundError):
        request_reassessment(
            db_session, admin_actor, 987_654, ApplicationKind.APPEAL, "x", RULES, NOW
        )


def test_request_reassessment_only_once_per_result_and_one_open_round(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = decided(TODAY)
    previous_id = entitlement.decision.application_id
    request_reassessment(
        db_session, admin_actor, previous_id, ApplicationKind.APPEAL, "a", RULES, NOW
    )
    with pytest.raises(ConflictError):
        request_reassessment(
            db_session, admin_actor, previous_id, ApplicationKind.APPEAL, "b", RULES, NOW
        )
    assert count(db_session, Application) == 2


def test_request_reassessment_refuses_when_another_application_is_open(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = decided(TODAY)
    ApplicationFactory(person=entitlement.person)
    with pytest.raises(ConflictError, match="未结"):
        request_reassessment(
            db_session,
            admin_actor,
            entitlement.decision.application_id,
            ApplicationKind.REASSESSMENT,
            "x",
            RULES,
            NOW,
        )


def test_request_reassessment_refuses_an_uninsured_person(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = decided(TODAY)
    entitlement.person.insurance_status = InsuranceStatus.ENDED
    with pytest.raises(ConflictError, match="参保"):
        request_reassessment(
            db_session,
            admin_actor,
            entitlement.decision.application_id,
            ApplicationKind.APPEAL,
            "x",
            RULES,
            NOW,
        )


@pytest.mark.parametrize("role", [Role.ASSESSOR, Role.PROVIDER_MANAGER, Role.CAREGIVER, None])
def test_request_reassessment_only_admins(db_session: Session, role: Role | None) -> None:
    entitlement = decided(TODAY)
    with pytest.raises(PermissionDeniedError):
        request_reassessment(
            db_session,
            Actor(user_id=1, role=role),
            entitlement.decision.application_id,
            ApplicationKind.APPEAL,
            "x",
            RULES,
            NOW,
        )


def test_get_appeal_context_shows_the_deadline(db_session: Session, admin_actor: Actor) -> None:
    entitlement = decided(dt.date(2026, 11, 1))
    context = get_appeal_context(
        db_session, admin_actor, entitlement.decision.application_id, RULES, TODAY
    )
    assert context.appeal_deadline == dt.date(2026, 12, 1)
    assert context.is_appeal_open
    assert context.later_round_id is None


def test_appeal_window_is_the_one_of_the_decisions_policy_version(
    db_session: Session, admin_actor: Actor
) -> None:
    # Decided under a version with 60 days; a later version with 10 days changes nothing for it.
    longer = PolicyVersionFactory(effective_on=dt.date(2026, 9, 1), appeal_days=60)
    PolicyVersionFactory(effective_on=dt.date(2026, 11, 15), appeal_days=10)
    entitlement = decided(dt.date(2026, 10, 1), decision__policy_version=longer)
    context = get_appeal_context(
        db_session, admin_actor, entitlement.decision.application_id, RULES, TODAY
    )
    assert (context.appeal_days, context.appeal_deadline) == (60, dt.date(2026, 11, 30))
    assert context.is_appeal_open


# --- conflicts of interest when assigning -----------------------------------------------------


def test_assign_assessors_refuses_an_assessor_tied_to_the_clients_provider(
    db_session: Session, admin_actor: Actor
) -> None:
    provider = ProviderFactory(name="通城护理服务有限公司")
    plan = client_plan(provider)
    application = ApplicationFactory(person=plan.person)
    first = UserFactory(assessor=True, display_name="评估员甲")
    tie = AssessorProviderTieFactory(provider=provider, description="兼职护士长")
    with pytest.raises(ConflictError) as raised:
        assign_assessors(
            db_session, admin_actor, application.id, first.id, tie.assessor_id, APPOINTMENT, NOW
        )
    assert raised.value.field == "assessor_2_id"
    assert tie.assessor.display_name in raised.value.message
    assert "通城护理服务有限公司" in raised.value.message
    assert "兼职护士长" in raised.value.message
    assert application.status is ApplicationStatus.SUBMITTED


def test_assign_assessors_refuses_a_tie_to_the_institution_named_on_the_application(
    db_session: Session, admin_actor: Actor
) -> None:
    provider = ProviderFactory()
    application = ApplicationFactory(provider=provider)
    tie = AssessorProviderTieFactory(provider=provider)
    with pytest.raises(ConflictError) as raised:
        assign_assessors(
            db_session,
            admin_actor,
            application.id,
            tie.assessor_id,
            UserFactory(assessor=True).id,
            APPOINTMENT,
            NOW,
        )
    assert raised.value.field == "assessor_1_id"


@pytest.mark.parametrize(
    ("plan", "tie", "is_refused"),
    [
        ({"is_active": False, "ends_on": dt.date(2026, 6, 1)}, {}, True),  # recent client
        ({"is_active": False, "ends_on": dt.date(2025, 6, 1)}, {}, False),  # long ago
        ({}, {"ends_on": dt.date(2026, 1, 1)}, False),  # the tie ended
        ({}, {"starts_on": dt.date(2027, 1, 1)}, False),  # the tie starts later
        ({}, {}, True),
    ],
)
def test_assign_assessors_conflict_needs_a_current_tie_and_a_recent_client(
    db_session: Session,
    admin_actor: Actor,
    plan: dict[str, Any],
    tie: dict[str, Any],
    is_refused: bool,
) -> None:
    provider = ProviderFactory()
    care_plan = client_plan(provider, **plan)
    application = ApplicationFactory(person=care_plan.person)
    tied = AssessorProviderTieFactory(provider=provider, **tie)
    other = UserFactory(assessor=True)
    if is_refused:
        with pytest.raises(ConflictError):
            assign_assessors(
                db_session,
                admin_actor,
                application.id,
                tied.assessor_id,
                other.id,
                APPOINTMENT,
                NOW,
            )
    else:
        assign_assessors(
            db_session, admin_actor, application.id, tied.assessor_id, other.id, APPOINTMENT, NOW
        )
        assert application.status is ApplicationStatus.ASSESSING


def test_assign_assessors_on_appeal_refuses_the_earlier_assessors(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = decided(TODAY)
    earlier = entitlement.decision.assessment
    appeal = request_reassessment(
        db_session,
        admin_actor,
        entitlement.decision.application_id,
        ApplicationKind.APPEAL,
        "申请复评",
        RULES,
        NOW,
    )
    fresh = UserFactory(assessor=True)
    with pytest.raises(ConflictError, match="回避") as raised:
        assign_assessors(
            db_session, admin_actor, appeal.id, fresh.id, earlier.assessor_2_id, APPOINTMENT, NOW
        )
    assert raised.value.field == "assessor_2_id"
    assert earlier.assessor_2.display_name in raised.value.message
    other = UserFactory(assessor=True)
    assign_assessors(db_session, admin_actor, appeal.id, fresh.id, other.id, APPOINTMENT, NOW)
    assert appeal.status is ApplicationStatus.ASSESSING


def test_assign_assessors_on_scheduled_reassessment_may_reuse_assessors(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = decided(dt.date(2024, 11, 1))
    earlier = entitlement.decision.assessment
    round_two = request_reassessment(
        db_session,
        admin_actor,
        entitlement.decision.application_id,
        ApplicationKind.REASSESSMENT,
        "定期复评",
        RULES,
        NOW,
    )
    assign_assessors(
        db_session,
        admin_actor,
        round_two.id,
        earlier.assessor_1_id,
        earlier.assessor_2_id,
        APPOINTMENT,
        NOW,
    )
    assert round_two.status is ApplicationStatus.ASSESSING


# --- reminders --------------------------------------------------------------------------------


def test_record_reassessment_reminders_is_idempotent(
    db_session: Session, admin_actor: Actor
) -> None:
    due = decided(dt.date(2024, 12, 1), decision__assessment__assessed_on=dt.date(2024, 12, 1))
    decided(dt.date(2026, 1, 5), decision__assessment__assessed_on=dt.date(2026, 1, 5))  # not due
    created = record_reassessment_reminders(db_session, admin_actor, TODAY, RULES, NOW)
    again = record_reassessment_reminders(db_session, admin_actor, TODAY, RULES, NOW)
    assert (created, again) == (1, 0)
    reminder = db_session.scalars(select(ReassessmentReminder)).one()
    assert (reminder.person_id, reminder.due_on) == (due.person_id, dt.date(2026, 12, 1))
    assert reminder.entitlement_id == due.id


def test_record_reassessment_reminders_use_the_interval_of_the_entitlements_version(
    db_session: Session, admin_actor: Actor
) -> None:
    yearly = PolicyVersionFactory(effective_on=dt.date(2025, 1, 1), reassessment_interval_months=12)
    due = decided(
        dt.date(2025, 12, 1),
        decision__policy_version=yearly,
        decision__assessment__assessed_on=dt.date(2025, 12, 1),
    )
    decided(dt.date(2025, 12, 1), decision__assessment__assessed_on=dt.date(2025, 12, 1))  # 24
    assert record_reassessment_reminders(db_session, admin_actor, TODAY, RULES, NOW) == 1
    reminder = db_session.scalars(select(ReassessmentReminder)).one()
    assert (reminder.entitlement_id, reminder.due_on) == (due.id, dt.date(2026, 12, 1))


def test_record_reassessment_reminders_skips_people_already_in_the_procedure(
    db_session: Session, admin_actor: Actor
) -> None:
    due = decided(dt.date(2024, 1, 1), decision__assessment__assessed_on=dt.date(2024, 1, 1))
    ApplicationFactory(person=due.person)
    assert record_reassessment_reminders(db_session, admin_actor, TODAY, RULES, NOW) == 0


def test_record_reassessment_reminders_ignores_ended_benefits(
    db_session: Session, admin_actor: Actor
) -> None:
    decided(
        dt.date(2024, 1, 1),
        decision__assessment__assessed_on=dt.date(2024, 1, 1),
        status=EntitlementStatus.ENDED,
        ends_on=dt.date(2025, 1, 1),
    )
    assert record_reassessment_reminders(db_session, admin_actor, TODAY, RULES, NOW) == 0


def test_list_reminders_marks_the_overdue(db_session: Session, admin_actor: Actor) -> None:
    overdue = ReassessmentReminderFactory(due_on=TODAY - dt.timedelta(days=1))
    coming = ReassessmentReminderFactory(due_on=TODAY + dt.timedelta(days=20))
    ReassessmentReminderFactory(due_on=TODAY, status=ReminderStatus.DONE)
    rows = list_reminders(db_session, admin_actor, TODAY)
    assert [(row.reminder, row.is_overdue) for row in rows] == [(overdue, True), (coming, False)]
    assert rows[0].application_id == overdue.entitlement.decision.application_id


def test_suspend_overdue_benefit_needs_an_administrators_confirmation(
    db_session: Session, admin_actor: Actor
) -> None:
    reminder = ReassessmentReminderFactory(due_on=TODAY - dt.timedelta(days=1))
    plan = CarePlanFactory(entitlement=reminder.entitlement, starts_on=dt.date(2026, 1, 1))
    record_reassessment_reminders(
        db_session, admin_actor, TODAY, RULES, NOW
    )  # the job suspends nothing
    assert reminder.entitlement.status is EntitlementStatus.ACTIVE
    suspend_overdue_benefit(db_session, admin_actor, reminder.id, NOW)
    assert reminder.status is ReminderStatus.SUSPENDED
    assert (reminder.confirmed_by_id, reminder.confirmed_at) == (admin_actor.user_id, NOW)
    entitlement = reminder.entitlement
    assert (entitlement.status, entitlement.end_reason) == (
        EntitlementStatus.ENDED,
        "reassessment_overdue",
    )
    assert plan.is_active is False
    with pytest.raises(ConflictError):
        suspend_overdue_benefit(db_session, admin_actor, reminder.id, NOW)


def test_suspend_overdue_benefit_refuses_one_not_overdue(
    db_session: Session, admin_actor: Actor
) -> None:
    reminder = ReassessmentReminderFactory(due_on=TODAY)
    with pytest.raises(ConflictError, match="尚未逾期"):
        suspend_overdue_benefit(db_session, admin_actor, reminder.id, NOW)
    assert reminder.entitlement.status is EntitlementStatus.ACTIVE
    with pytest.raises(NotFoundError):
        suspend_overdue_benefit(db_session, admin_actor, 987_654, NOW)
    with pytest.raises(PermissionDeniedError):
        suspend_overdue_benefit(db_session, Actor(user_id=1, role=Role.ASSESSOR), reminder.id, NOW)
