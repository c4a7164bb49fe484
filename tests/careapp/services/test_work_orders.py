"""Work orders: offers, answers, deadlines, escalation, and the handover of an exited provider."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.clock import city_datetime
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.eligibility.rules import BenefitCategory
from careapp.models import (
    AlertKind,
    AuditEvent,
    CarePlan,
    OfferBasis,
    OfferStatus,
    ProviderAlert,
    ProviderQualityEvaluation,
    Role,
    Visit,
    WorkOrder,
    WorkOrderOffer,
    WorkOrderReason,
    WorkOrderStatus,
)
from careapp.services.actor import Actor
from careapp.services.alerts import open_provider_alerts
from careapp.services.dispatch import generate_visits
from careapp.services.work_orders import (
    WorkOrderRules,
    accepted_new_client_order,
    answer_offer,
    assign_provider,
    cancel_work_order,
    expire_overdue_offers,
    list_work_orders,
    open_exit_work_orders,
    open_work_order,
    provider_offers,
    provider_options,
    record_family_choice,
)
from scheduling.quality import ProviderStatus
from scheduling.visits import VisitStatus
from tests.factories import (
    NOW,
    TODAY,
    CaregiverFactory,
    DistrictFactory,
    EntitlementFactory,
    ProviderFactory,
    UserFactory,
    VisitFactory,
    provider_care_plan,
)

RULES = WorkOrderRules()
SCHEDULER = Actor(user_id=None, role=None, address="scheduler")


def home_provider(**overrides: object):  # type: ignore[no-untyped-def]  # factory result
    provider = ProviderFactory(**overrides)
    CaregiverFactory(provider=provider)
    return provider


def manager_of(provider) -> Actor:  # type: ignore[no-untyped-def]
    user = UserFactory(manager=True, provider=provider)
    return Actor(user_id=user.id, role=Role.PROVIDER_MANAGER, provider_id=provider.id)


def pending(session: Session, order: WorkOrder) -> WorkOrderOffer:
    return session.scalars(
        select(WorkOrderOffer).where(
            WorkOrderOffer.work_order_id == order.id, WorkOrderOffer.status == OfferStatus.PENDING
        )
    ).one()


def test_open_offers_the_family_choice_first_with_a_two_working_day_deadline(
    db_session: Session,
    admin_actor: Actor,
) -> None:
    first, chosen = home_provider(), home_provider()
    entitlement = EntitlementFactory()
    order = open_work_order(
        db_session, admin_actor, entitlement.id, RULES, NOW, family_choice_provider_id=chosen.id
    )
    offer = pending(db_session, order)
    assert (offer.provider_id, offer.basis, offer.position) == (
        chosen.id,
        OfferBasis.FAMILY_CHOICE,
        1,
    )
    # Monday 23 Nov: due by the end of Wednesday 25 Nov (city time).
    assert offer.deadline_at == city_datetime(dt.date(2026, 11, 26), dt.time(0, 0))
    assert order.status is WorkOrderStatus.OPEN
    assert first.id != chosen.id
    [alert] = open_provider_alerts(db_session, manager_of(chosen))
    assert alert.kind is AlertKind.WORK_ORDER_OFFER
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == order.id)
    ).all()
    assert {"work_order.open", "work_order.offer"} <= set(actions)


def test_open_uses_the_rotation_when_the_choice_is_suspended(
    db_session: Session, admin_actor: Actor
) -> None:
    suspended = home_provider(status=ProviderStatus.SUSPENDED)
    active = home_provider()
    order = open_work_order(
        db_session,
        admin_actor,
        EntitlementFactory().id,
        RULES,
        NOW,
        family_choice_provider_id=suspended.id,
    )
    offer = pending(db_session, order)
    assert (offer.provider_id, offer.basis) == (active.id, OfferBasis.ROTATION)


def test_open_refuses_non_admins_duplicates_and_bad_entitlements(
    db_session: Session, admin_actor: Actor
) -> None:
    home_provider()
    entitlement = EntitlementFactory()
    with pytest.raises(PermissionDeniedError):
        open_work_order(db_session, SCHEDULER, entitlement.id, RULES, NOW)
    with pytest.raises(NotFoundError):
        open_work_order(db_session, admin_actor, 999_999, RULES, NOW)
    with pytest.raises(InvalidInputError):
        open_work_order(
            db_session,
            admin_actor,
            entitlement.id,
            RULES,
            NOW,
            reason=WorkOrderReason.PROVIDER_EXIT,
        )
    with pytest.raises(InvalidInputError):
        open_work_order(
            db_session, admin_actor, entitlement.id, RULES, NOW, family_choice_provider_id=999_999
        )
    with pytest.raises(ConflictError):
        open_work_order(
            db_session, admin_actor, entitlement.id, RULES, NOW, reason=WorkOrderReason.MOVE
        )
    open_work_order(db_session, admin_actor, entitlement.id, RULES, NOW)
    with pytest.raises(ConflictError):
        open_work_order(db_session, admin_actor, entitlement.id, RULES, NOW)


def test_open_refuses_an_entitlement_without_a_visit_budget(
    db_session: Session, admin_actor: Actor
) -> None:
    """Moderate disability at home is paid a daily rate: no company plan, so no work order."""
    home_provider()
    moderate = EntitlementFactory(
        category=BenefitCategory.MODERATE, daily_rate_fen=1_000, monthly_budget_fen=None
    )
    with pytest.raises(ConflictError, match="没有每月上门服务额度"):
        open_work_order(db_session, admin_actor, moderate.id, RULES, NOW)
    assert db_session.scalars(select(WorkOrder)).all() == []


def test_refusal_reoffers_to_the_next_and_never_twice(
    db_session: Session, admin_actor: Actor
) -> None:
    a, b = home_provider(), home_provider()
    order = open_work_order(db_session, admin_actor, EntitlementFactory().id, RULES, NOW)
    first = pending(db_session, order)
    manager = manager_of(first.provider)
    with pytest.raises(InvalidInputError) as error:
        answer_offer(
            db_session, manager, first.id, accept=False, refusal_reason=" ", rules=RULES, now=NOW
        )
    assert error.value.field == "refusal_reason"
    answer_offer(
        db_session, manager, first.id, accept=False, refusal_reason="full", rules=RULES, now=NOW
    )
    assert first.status is OfferStatus.REFUSED
    assert first.refusal_reason == "full"
    second = pending(db_session, order)
    assert second.position == 2
    assert {first.provider_id, second.provider_id} == {a.id, b.id}
    with pytest.raises(ConflictError):  # answered already
        answer_offer(
            db_session, manager, first.id, accept=True, refusal_reason=None, rules=RULES, now=NOW
        )


def offer_alerts(session: Session, offer: WorkOrderOffer) -> list[ProviderAlert]:
    return [
        alert
        for alert in session.scalars(
            select(ProviderAlert).where(ProviderAlert.kind == AlertKind.WORK_ORDER_OFFER)
        )
        if alert.detail.get("offer_id") == offer.id
    ]


def test_answering_an_offer_resolves_its_reminder(db_session: Session, admin_actor: Actor) -> None:
    home_provider(), home_provider()
    order = open_work_order(db_session, admin_actor, EntitlementFactory().id, RULES, NOW)
    first = pending(db_session, order)
    manager = manager_of(first.provider)
    assert [a.kind for a in open_provider_alerts(db_session, manager)] == [
        AlertKind.WORK_ORDER_OFFER
    ]
    later = NOW + dt.timedelta(hours=1)
    answer_offer(
        db_session, manager, first.id, accept=False, refusal_reason="full", rules=RULES, now=later
    )
    assert open_provider_alerts(db_session, manager) == ()
    [refused] = offer_alerts(db_session, first)
    assert (refused.acknowledged_at, refused.acknowledged_by_id) == (later, manager.user_id)

    # The next provider accepts: its reminder goes too (kept for the record).
    second = pending(db_session, order)
    other = manager_of(second.provider)
    assert len(open_provider_alerts(db_session, other)) == 1
    answer_offer(
        db_session, other, second.id, accept=True, refusal_reason=None, rules=RULES, now=later
    )
    assert order.status is WorkOrderStatus.ACCEPTED
    assert open_provider_alerts(db_session, other) == ()
    [accepted] = offer_alerts(db_session, second)
    assert accepted.acknowledged_at == later


def test_expired_and_withdrawn_offers_leave_no_reminder(
    db_session: Session, admin_actor: Actor
) -> None:
    home_provider(), home_provider()
    order = open_work_order(db_session, admin_actor, EntitlementFactory().id, RULES, NOW)
    first = pending(db_session, order)
    expire_overdue_offers(db_session, SCHEDULER, RULES, first.deadline_at)
    assert open_provider_alerts(db_session, manager_of(first.provider)) == ()
    second = pending(db_session, order)
    assert len(open_provider_alerts(db_session, manager_of(second.provider))) == 1
    cancel_work_order(db_session, admin_actor, order.id, NOW)
    assert second.status is OfferStatus.WITHDRAWN
    assert open_provider_alerts(db_session, manager_of(second.provider)) == ()
    assert all(a.acknowledged_at is not None for a in offer_alerts(db_session, second))


def test_a_manager_cannot_answer_another_providers_offer(
    db_session: Session, admin_actor: Actor
) -> None:
    home_provider()
    other = home_provider()
    order = open_work_order(db_session, admin_actor, EntitlementFactory().id, RULES, NOW)
    offer = pending(db_session, order)
    stranger = other if offer.provider_id != other.id else ProviderFactory()
    with pytest.raises(NotFoundError):
        answer_offer(
            db_session,
            manager_of(stranger),
            offer.id,
            accept=True,
            refusal_reason=None,
            rules=RULES,
            now=NOW,
        )
    with pytest.raises(PermissionDeniedError):
        answer_offer(
            db_session,
            admin_actor,
            offer.id,
            accept=True,
            refusal_reason=None,
            rules=RULES,
            now=NOW,
        )
    assert all(
        o.provider_id == stranger.id for o in provider_offers(db_session, manager_of(stranger))
    )


def test_timeout_reoffers_to_the_next_and_then_escalates(
    db_session: Session, admin_actor: Actor
) -> None:
    home_provider(), home_provider()
    order = open_work_order(db_session, admin_actor, EntitlementFactory().id, RULES, NOW)
    first = pending(db_session, order)
    before = first.deadline_at - dt.timedelta(minutes=1)
    assert expire_overdue_offers(db_session, SCHEDULER, RULES, before).expired == 0
    outcome = expire_overdue_offers(db_session, SCHEDULER, RULES, first.deadline_at)
    assert (outcome.expired, outcome.reoffered, outcome.escalated) == (1, 1, 0)
    assert first.status is OfferStatus.EXPIRED
    second = pending(db_session, order)
    with pytest.raises(ConflictError):  # too late to answer
        answer_offer(
            db_session,
            manager_of(second.provider),
            second.id,
            accept=True,
            refusal_reason=None,
            rules=RULES,
            now=second.deadline_at,
        )
    outcome = expire_overdue_offers(db_session, SCHEDULER, RULES, second.deadline_at)
    assert (outcome.expired, outcome.reoffered, outcome.escalated) == (1, 0, 1)
    assert order.status is WorkOrderStatus.ESCALATED
    assert list_work_orders(db_session, admin_actor, NOW)[0].id == order.id
    assert expire_overdue_offers(db_session, SCHEDULER, RULES, second.deadline_at).expired == 0


def test_escalation_at_once_when_nobody_serves_and_suspended_never_offered(
    db_session: Session,
    admin_actor: Actor,
) -> None:
    suspended = home_provider(status=ProviderStatus.SUSPENDED)
    exited = home_provider(status=ProviderStatus.EXITED)
    elsewhere = home_provider(districts=[DistrictFactory(code="320611", name_zh="海门区")])
    no_caregivers = ProviderFactory()  # no capacity
    order = open_work_order(db_session, admin_actor, EntitlementFactory().id, RULES, NOW)
    assert order.status is WorkOrderStatus.ESCALATED
    assert db_session.scalar(select(func.count()).select_from(WorkOrderOffer)) == 0
    options = {
        o.provider.id: o.problem for o in provider_options(db_session, admin_actor, order, RULES)
    }
    assert options[suspended.id] is not None
    assert options[exited.id] is not None
    assert options[no_caregivers.id] is not None
    assert elsewhere.id not in options
    with pytest.raises(InvalidInputError):
        record_family_choice(db_session, admin_actor, order.id, suspended.id, RULES, NOW)
    with pytest.raises(InvalidInputError):
        assign_provider(db_session, admin_actor, order.id, suspended.id, RULES, NOW)
    with pytest.raises(InvalidInputError):
        assign_provider(db_session, admin_actor, order.id, elsewhere.id, RULES, NOW)
    # An administrator may assign a company that is full (capacity is theirs to judge).
    offer = assign_provider(db_session, admin_actor, order.id, no_caregivers.id, RULES, NOW)
    assert (offer.basis, offer.status) == (OfferBasis.ADMINISTRATOR, OfferStatus.ACCEPTED)
    assert order.status is WorkOrderStatus.ACCEPTED
    assert accepted_new_client_order(db_session, order.entitlement_id).accepted_provider_id == (
        no_caregivers.id
    )
    with pytest.raises(ConflictError):
        cancel_work_order(db_session, admin_actor, order.id, NOW)


def test_suspended_providers_are_never_offered_through_refusals(
    db_session: Session, admin_actor: Actor
) -> None:
    suspended = home_provider(status=ProviderStatus.SUSPENDED)
    others = [home_provider() for _ in range(3)]
    order = open_work_order(db_session, admin_actor, EntitlementFactory().id, RULES, NOW)
    while order.status is WorkOrderStatus.OPEN:
        offer = pending(db_session, order)
        answer_offer(
            db_session,
            manager_of(offer.provider),
            offer.id,
            accept=False,
            refusal_reason="no",
            rules=RULES,
            now=NOW,
        )
    offered = set(
        db_session.scalars(
            select(WorkOrderOffer.provider_id).where(WorkOrderOffer.work_order_id == order.id)
        )
    )
    assert offered == {p.id for p in others}
    assert suspended.id not in offered
    assert order.status is WorkOrderStatus.ESCALATED


def test_family_choice_withdraws_the_pending_offer(db_session: Session, admin_actor: Actor) -> None:
    home_provider(), home_provider()
    order = open_work_order(db_session, admin_actor, EntitlementFactory().id, RULES, NOW)
    first = pending(db_session, order)
    chosen = home_provider()
    offer = record_family_choice(db_session, admin_actor, order.id, chosen.id, RULES, NOW)
    assert first.status is OfferStatus.WITHDRAWN
    assert (offer.provider_id, offer.basis, offer.position) == (
        chosen.id,
        OfferBasis.FAMILY_CHOICE,
        2,
    )
    assert pending(db_session, order).id == offer.id
    with pytest.raises(InvalidInputError):  # offered before
        record_family_choice(db_session, admin_actor, order.id, first.provider_id, RULES, NOW)
    cancel_work_order(db_session, admin_actor, order.id, NOW)
    assert offer.status is OfferStatus.WITHDRAWN
    assert order.status is WorkOrderStatus.CANCELLED


def test_rotation_weights_quality(db_session: Session, admin_actor: Actor) -> None:
    good, poor = home_provider(), home_provider()
    for provider, satisfied in ((good, 10), (poor, 2)):
        db_session.add(
            ProviderQualityEvaluation(
                provider_id=provider.id,
                month=dt.date(2026, 10, 1),
                planned=10,
                completed=10,
                missed=0,
                late=0,
                rated=10,
                satisfied=satisfied,
                flagged_check_ins=0,
                problems=[],
                is_failing=False,
                status_before=ProviderStatus.ACTIVE,
                status_after=ProviderStatus.ACTIVE,
                evaluated_at=NOW,
            )
        )
    db_session.flush()
    offered = []
    for _ in range(6):
        order = open_work_order(db_session, admin_actor, EntitlementFactory().id, RULES, NOW)
        offered.append(pending(db_session, order).provider_id)
        cancel_work_order(db_session, admin_actor, order.id, NOW)
    assert offered.count(good.id) == 5  # 10/12 of six orders
    assert offered.count(poor.id) == 1


def test_exit_with_a_month_of_future_visits_loses_none(db_session: Session) -> None:
    leaving = home_provider()
    taker = home_provider()
    plan = provider_care_plan(leaving, starts_on=TODAY)
    first_day, last_day = TODAY, TODAY + dt.timedelta(days=29)
    assert generate_visits(db_session, first_day, last_day) == 30
    visits = db_session.scalars(select(Visit).where(Visit.care_plan_id == plan.id)).all()
    caregiver = leaving.caregivers[0]
    for visit in visits[:10]:  # some already planned by dispatch
        visit.caregiver_id = caregiver.id
        visit.planned_start = visit.window_start
        visit.planned_end = visit.window_start + dt.timedelta(minutes=visit.duration_minutes)
        visit.status = VisitStatus.ASSIGNED
    visits[0].status = VisitStatus.COMPLETED  # today's, done
    # A missed visit two days ago (stays) and its make-up visit in three days (moves).
    missed = VisitFactory(care_plan=plan, visit_on=TODAY - dt.timedelta(days=2), missed=True)
    VisitFactory(
        care_plan=plan, visit_on=TODAY + dt.timedelta(days=3), rescheduled_from_id=missed.id
    )
    db_session.flush()
    ids = {v.id for v in db_session.scalars(select(Visit).where(Visit.care_plan_id == plan.id))}
    assert len(ids) == 32

    leaving.status = ProviderStatus.EXITED
    [order] = open_exit_work_orders(db_session, SCHEDULER, [leaving.id], RULES, NOW)
    assert open_exit_work_orders(db_session, SCHEDULER, [leaving.id], RULES, NOW) == []
    assert (order.reason, order.from_provider_id, order.care_plan_id) == (
        WorkOrderReason.PROVIDER_EXIT,
        leaving.id,
        plan.id,
    )
    offer = pending(db_session, order)
    assert offer.provider_id == taker.id  # never back to the leaving provider
    # Until someone accepts, the exited provider keeps the plan and every visit.
    assert plan.is_active
    assert {v.provider_id for v in db_session.scalars(select(Visit).where(Visit.id.in_(ids)))} == {
        leaving.id
    }

    accepted_at = NOW + dt.timedelta(days=1)  # Tuesday 24 Nov, city; handover Wed 25 Nov
    answer_offer(
        db_session,
        manager_of(taker),
        offer.id,
        accept=True,
        refusal_reason=None,
        rules=RULES,
        now=accepted_at,
    )
    handover = dt.date(2026, 11, 25)
    assert order.status is WorkOrderStatus.ACCEPTED
    assert order.handover_on == handover
    db_session.expire_all()
    old = db_session.get(CarePlan, plan.id)
    new = db_session.get(CarePlan, order.new_care_plan_id)
    assert (old.is_active, old.ends_on, old.ended_reason) == (
        False,
        handover - dt.timedelta(days=1),
        "provider_exit",
    )
    assert (new.provider_id, new.starts_on, new.is_active) == (taker.id, handover, True)
    assert (new.weekdays, new.window_start, new.window_end) == (
        old.weekdays,
        old.window_start,
        old.window_end,
    )
    assert [i.service_item_id for i in new.items] == [i.service_item_id for i in old.items]
    assert new.preferred_caregiver_id is None

    after = db_session.scalars(select(Visit).where(Visit.id.in_(ids))).all()
    assert len(after) == 32  # every visit still exists
    assert all(v.status is not VisitStatus.CANCELLED for v in after)
    before_handover = [v for v in after if v.visit_on < handover]
    from_handover = [v for v in after if v.visit_on >= handover]
    assert len(before_handover) == 3
    assert len(from_handover) == 29
    assert all((v.care_plan_id, v.provider_id) == (plan.id, leaving.id) for v in before_handover)
    assert all((v.care_plan_id, v.provider_id) == (new.id, taker.id) for v in from_handover)
    assert all(
        (v.status, v.caregiver_id, v.planned_start) == (VisitStatus.UNASSIGNED, None, None)
        for v in from_handover
    )
    # The next dispatch adds no duplicate for the moved days.
    assert generate_visits(db_session, first_day, last_day) == 0
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "careplan.hand_over")
        )
        == 1
    )


def test_provider_quality_job_opens_exit_work_orders(
    app,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from careapp.jobs import scheduled as jobs

    leaving = home_provider(status=ProviderStatus.SUSPENDED)
    taker = home_provider()
    plan = provider_care_plan(leaving, starts_on=dt.date(2026, 10, 1))
    VisitFactory(care_plan=plan, visit_on=dt.date(2026, 10, 5), missed=True)
    outcome = jobs.run_provider_quality(app, dt.date(2026, 10, 1), SCHEDULER)
    assert outcome.exited == (leaving.id,)
    [order] = db_session.scalars(select(WorkOrder).where(WorkOrder.care_plan_id == plan.id)).all()
    assert pending(db_session, order).provider_id == taker.id
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(ProviderAlert)
            .where(ProviderAlert.provider_id == taker.id)
        )
        == 1
    )


def test_work_order_deadlines_job_runs_by_hand(
    app, db_session: Session, admin_actor: Actor
) -> None:  # type: ignore[no-untyped-def]
    from careapp.jobs import scheduled as jobs

    home_provider()
    order = open_work_order(db_session, admin_actor, EntitlementFactory().id, RULES, NOW)
    offer = pending(db_session, order)
    summary = jobs.run_job(app, "work-order-deadlines", TODAY, SCHEDULER)
    assert "0 offers expired" in summary
    outcome = jobs.run_work_order_deadlines(app, offer.deadline_at, SCHEDULER)
    assert (outcome.expired, outcome.escalated) == (1, 1)


def test_a_move_hands_over_and_an_ended_plan_cannot_be(
    db_session: Session, admin_actor: Actor
) -> None:
    old_provider, new_provider = home_provider(), home_provider()
    plan = provider_care_plan(old_provider, starts_on=TODAY)
    order = open_work_order(
        db_session,
        admin_actor,
        plan.entitlement_id,
        RULES,
        NOW,
        reason=WorkOrderReason.MOVE,
        family_choice_provider_id=new_provider.id,
    )
    assert order.from_provider_id == old_provider.id
    plan.ends_on = TODAY  # ends before the handover day
    offer = pending(db_session, order)
    savepoint = db_session.begin_nested()  # the view rolls a refused action back whole
    with pytest.raises(ConflictError):
        answer_offer(
            db_session,
            manager_of(new_provider),
            offer.id,
            accept=True,
            refusal_reason=None,
            rules=RULES,
            now=NOW,
        )
    savepoint.rollback()
    assert offer.status is OfferStatus.PENDING
    plan.ends_on = None
    answer_offer(
        db_session,
        manager_of(new_provider),
        offer.id,
        accept=True,
        refusal_reason=None,
        rules=RULES,
        now=NOW,
    )
    assert (plan.is_active, plan.ended_reason) == (False, "transferred")
