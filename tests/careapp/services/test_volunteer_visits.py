"""Volunteer visits: an unpaid plan beside the paid one, dispatched, checked in and out, missed
and rescheduled like paid visits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.errors import ConflictError, InvalidInputError
from careapp.models import CarePlan, ProviderKind, ServiceItem, VerificationMethod, Visit
from careapp.services.actor import Actor
from careapp.services.careplans import (
    CarePlanInput,
    care_plan_cost,
    care_plan_options,
    create_care_plan,
)
from careapp.services.dispatch import dispatch_visits
from careapp.services.missed_visits import mark_missed_visits
from careapp.services.visit_records import RescheduleInput, reschedule_missed_visit
from careapp.services.visits import check_in, check_out
from scheduling.dispatch import GreedyDispatcher
from scheduling.visits import VisitStatus
from tests.factories import (
    NOW,
    TODAY,
    CaregiverUserFactory,
    EntitlementFactory,
    ProviderFactory,
    UserFactory,
    actor_of,
)

SPEEDS = {"urban": 20.0, "rural": 35.0}
TOMORROW = TODAY + dt.timedelta(days=1)
HOME = (32.0, 120.86)


@pytest.fixture
def entitlement(db_session: Session) -> Any:
    return EntitlementFactory()


@pytest.fixture
def company(db_session: Session) -> Any:
    return ProviderFactory(name="崇川居家照护")


@pytest.fixture
def volunteers(db_session: Session) -> Any:
    return ProviderFactory(name="崇川志愿者协会", kind=ProviderKind.VOLUNTEER)


def plan_input(provider: Any, items: dict[str, ServiceItem], **changes: Any) -> CarePlanInput:
    base: dict[str, Any] = {
        "provider_id": provider.id,
        "service_item_ids": [items["hair_washing"].id],
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "window_start": dt.time(9, 0),
        "window_end": dt.time(11, 0),
    }
    return CarePlanInput(**(base | changes))


def test_a_volunteer_plan_comes_in_addition_to_the_paid_plan(
    db_session: Session,
    admin_actor: Actor,
    entitlement: Any,
    company: Any,
    volunteers: Any,
    items: Any,
) -> None:
    paid = create_care_plan(
        db_session, admin_actor, entitlement.id, plan_input(company, items), NOW
    )
    # A second paid plan is still refused.
    with pytest.raises(ConflictError):
        create_care_plan(db_session, admin_actor, entitlement.id, plan_input(company, items), NOW)
    unpaid = create_care_plan(
        db_session, admin_actor, entitlement.id, plan_input(volunteers, items), NOW
    )
    assert {paid.id, unpaid.id} == set(
        db_session.scalars(select(CarePlan.id).where(CarePlan.is_active.is_(True)))
    )
    assert care_plan_cost(unpaid).is_volunteer
    assert not care_plan_cost(paid).is_volunteer
    # One active plan per volunteer organisation.
    with pytest.raises(ConflictError):
        create_care_plan(
            db_session, admin_actor, entitlement.id, plan_input(volunteers, items), NOW
        )


def test_a_volunteer_plan_has_no_budget_check(
    db_session: Session,
    admin_actor: Actor,
    entitlement: Any,
    company: Any,
    volunteers: Any,
    items: Any,
) -> None:
    dear = {
        "service_item_ids": [item.id for item in items.values()][:4],
        "window_start": dt.time(8, 0),
        "window_end": dt.time(20, 0),
    }
    # The same plan from a paid company costs more than the monthly budget.
    with pytest.raises(InvalidInputError) as refused:
        create_care_plan(
            db_session, admin_actor, entitlement.id, plan_input(company, items, **dear), NOW
        )
    assert refused.value.field == "service_item_ids"
    plan = create_care_plan(
        db_session, admin_actor, entitlement.id, plan_input(volunteers, items, **dear), NOW
    )
    assert plan.provider_id == volunteers.id
    entitlement.monthly_budget_fen = None  # volunteer visits do not need a budget at all
    other = ProviderFactory(kind=ProviderKind.VOLUNTEER)
    create_care_plan(db_session, admin_actor, entitlement.id, plan_input(other, items), NOW)


def test_volunteer_plan_options_offer_only_volunteer_organisations(
    db_session: Session, admin_actor: Actor, entitlement: Any, company: Any, volunteers: Any
) -> None:
    ProviderFactory(kind=ProviderKind.ELDERLY_CARE_INSTITUTION)
    volunteer = care_plan_options(db_session, admin_actor, entitlement.id, volunteer=True)
    assert [p.id for p in volunteer.providers] == [volunteers.id]
    assert volunteer.is_volunteer
    paid = care_plan_options(db_session, admin_actor, entitlement.id)
    assert [p.id for p in paid.providers] == [company.id]


def test_an_institution_cannot_run_a_care_plan(
    db_session: Session, admin_actor: Actor, entitlement: Any, items: Any
) -> None:
    home = ProviderFactory(kind=ProviderKind.ELDERLY_CARE_INSTITUTION)
    with pytest.raises(InvalidInputError) as refused:
        create_care_plan(db_session, admin_actor, entitlement.id, plan_input(home, items), NOW)
    assert refused.value.field == "provider_id"


def test_volunteer_visits_run_end_to_end(
    db_session: Session,
    admin_actor: Actor,
    entitlement: Any,
    company: Any,
    volunteers: Any,
    items: Any,
) -> None:
    """Plan -> dispatch -> the volunteer's phone (check-in, check-out); another day missed ->
    the organisation's manager reschedules it."""
    create_care_plan(db_session, admin_actor, entitlement.id, plan_input(company, items), NOW)
    plan = create_care_plan(
        db_session, admin_actor, entitlement.id, plan_input(volunteers, items), NOW
    )
    volunteer = CaregiverUserFactory(provider=volunteers, name="志愿者小李")
    CaregiverUserFactory(provider=company)
    dispatch_visits(db_session, admin_actor, TOMORROW, TOMORROW, NOW, SPEEDS,
                    dispatcher=GreedyDispatcher())  # fmt: skip
    visits = list(db_session.scalars(select(Visit).where(Visit.visit_on == TOMORROW)))
    assert len(visits) == 2  # the paid visit and the volunteer visit
    visit = next(v for v in visits if v.care_plan_id == plan.id)
    assert visit.provider_id == volunteers.id
    assert visit.status is VisitStatus.ASSIGNED
    assert visit.caregiver_id == volunteer.id
    assert volunteer.user is not None
    phone = actor_of(volunteer.user)
    arrived = visit.window_start + dt.timedelta(minutes=5)
    check_in(db_session, phone, visit.id, *HOME, None, arrived)
    assert visit.verification is VerificationMethod.PHONE
    check_out(db_session, phone, visit.id, visit.service_item_codes, None, *HOME,
              arrived + dt.timedelta(minutes=40), valid_for=dt.timedelta(days=7))  # fmt: skip
    assert visit.status is VisitStatus.COMPLETED

    # The day after: nobody checks in; the visit is missed and its manager reschedules it.
    later = TOMORROW + dt.timedelta(days=1)
    dispatch_visits(
        db_session, admin_actor, later, later, NOW, SPEEDS, dispatcher=GreedyDispatcher()
    )
    missed = db_session.scalars(
        select(Visit).where(Visit.care_plan_id == plan.id, Visit.visit_on == later)
    ).one()
    after = missed.window_end + dt.timedelta(hours=2)
    mark_missed_visits(db_session, admin_actor, later, later, after, 60)
    assert missed.status is VisitStatus.MISSED
    manager = actor_of(UserFactory(manager=True, provider=volunteers))
    made_up = reschedule_missed_visit(
        db_session, manager, missed.id,
        RescheduleInput(later + dt.timedelta(days=1), dt.time(14), dt.time(16)),
        after, SPEEDS,
    )  # fmt: skip
    assert made_up.provider_id == volunteers.id
    assert made_up.status is VisitStatus.UNASSIGNED
