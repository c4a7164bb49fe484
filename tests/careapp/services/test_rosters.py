"""The provider manager's roster of a day: own provider only, routes in order, unassigned."""

from __future__ import annotations

import datetime as dt

import pytest
from flask_babel import force_locale
from sqlalchemy.orm import Session

from careapp.core.clock import CITY_TZ, city_datetime
from careapp.core.errors import NotFoundError, PermissionDeniedError
from careapp.models import Caregiver, Provider, Role, User, Visit
from careapp.services.actor import Actor
from careapp.services.rosters import RosterDay, roster_for_day
from careapp.web.labels import unassigned_reason_label
from scheduling.types import NO_TIME_IN_WINDOW
from scheduling.visits import VisitStatus
from tests.conftest import Statements
from tests.factories import (
    TODAY,
    CaregiverFactory,
    ServiceItemFactory,
    UserFactory,
    VisitFactory,
    actor_of,
    provider_care_plan,
)

DAY = TODAY + dt.timedelta(days=1)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return city_datetime(DAY, dt.time(hour, minute))


def booked(caregiver: Caregiver, start: dt.datetime, order: int, **changes: object) -> Visit:
    return VisitFactory(
        care_plan=provider_care_plan(caregiver.provider, **changes.pop("plan", {})),  # type: ignore[arg-type]  # test data
        visit_on=DAY,
        caregiver=caregiver,
        planned_start=start,
        planned_end=start + dt.timedelta(minutes=60),
        route_order=order,
        travel_minutes=5 * order,
        status=changes.pop("status", VisitStatus.ASSIGNED),
        **changes,
    )


def roster(manager: User, day: dt.date = DAY) -> RosterDay:
    from careapp import db

    with force_locale("en"):
        return roster_for_day(db.session(), actor_of(manager), day)


def test_roster_for_day_lists_each_caregiver_route_in_order(
    db_session: Session, provider: Provider, manager: User
) -> None:
    ServiceItemFactory(code="bathing", name_en="Bathing")
    wang = CaregiverFactory(provider=provider, name="王护理")
    li = CaregiverFactory(provider=provider, name="李护理")
    second = booked(wang, at(11, 0), 2, status=VisitStatus.CONFIRMED)
    first = booked(wang, at(9, 0), 1, is_hand_edited=True)
    booked(li, at(10, 0), 1)
    db_session.flush()

    day = roster(manager)

    assert day.provider_name == "崇川居家照护"
    assert [route.name for route in day.routes] == ["李护理", "王护理"]
    route = day.routes[1]
    assert [v.visit_id for v in route.visits] == [first.id, second.id]
    top = route.visits[0]
    assert top.planned_start == at(9, 0)
    assert top.planned_start is not None
    assert top.planned_start.tzinfo == CITY_TZ
    assert (top.travel_minutes, top.route_order, top.is_hand_edited) == (5, 1, True)
    assert top.beneficiary_name == first.person.name
    assert top.address == first.person.address
    assert top.service_items == ("Bathing",)
    assert (route.visits[1].status, route.travel_minutes) == (VisitStatus.CONFIRMED, 15)
    assert day.unassigned == ()
    assert day.visit_count == 3
    assert (day.previous_day, day.next_day) == (TODAY, DAY + dt.timedelta(days=1))


def test_roster_for_day_lists_unassigned_visits_with_the_reason(
    db_session: Session, provider: Provider, manager: User
) -> None:
    CaregiverFactory(provider=provider)
    left = VisitFactory(
        care_plan=provider_care_plan(provider), visit_on=DAY, unassigned_reason=NO_TIME_IN_WINDOW
    )
    fresh = VisitFactory(care_plan=provider_care_plan(provider), visit_on=DAY)
    day = roster(manager)
    assert [v.visit_id for v in day.unassigned] == [left.id, fresh.id]
    assert [v.is_waiting for v in day.unassigned] == [True, True]
    with force_locale("en"):
        reasons = [unassigned_reason_label(v.unassigned_reason) for v in day.unassigned]
    assert reasons == ["No qualified caregiver is free in the time window.", "Not dispatched yet."]
    assert day.routes[0].visits == ()


def test_roster_for_day_never_shows_another_provider(
    db_session: Session, provider: Provider, manager: User
) -> None:
    ours = CaregiverFactory(provider=provider)
    theirs = CaregiverFactory()
    booked(ours, at(9, 0), 1)
    hidden = booked(theirs, at(9, 0), 1)
    VisitFactory(care_plan=provider_care_plan(theirs.provider), visit_on=DAY)
    day = roster(manager)
    assert [route.caregiver_id for route in day.routes] == [ours.id]
    shown = [v.visit_id for route in day.routes for v in route.visits]
    assert hidden.id not in shown
    assert day.unassigned == ()
    # The other provider's own manager sees only theirs.
    other = roster(UserFactory(manager=True, provider=theirs.provider))
    assert [v.visit_id for v in other.routes[0].visits] == [hidden.id]


def test_roster_for_day_shows_only_that_day_and_skips_cancelled_visits(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider)
    kept = booked(nurse, at(9, 0), 1)
    booked(nurse, at(12, 0), 2, status=VisitStatus.CANCELLED)
    VisitFactory(care_plan=provider_care_plan(provider), visit_on=DAY + dt.timedelta(days=1))
    day = roster(manager)
    assert [v.visit_id for v in day.routes[0].visits] == [kept.id]
    assert day.unassigned == ()


def test_roster_for_day_hides_disabled_caregivers_without_visits(
    db_session: Session, provider: Provider, manager: User
) -> None:
    CaregiverFactory(provider=provider, name="甲", is_enabled=False)
    busy = CaregiverFactory(provider=provider, name="乙", is_enabled=False)
    booked(busy, at(9, 0), 1)
    assert [route.name for route in roster(manager).routes] == ["乙"]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ASSESSOR, Role.CAREGIVER, None])
def test_roster_for_day_is_for_provider_managers_only(
    db_session: Session, provider: Provider, role: Role | None
) -> None:
    from careapp import db

    with pytest.raises(PermissionDeniedError):
        roster_for_day(db.session(), Actor(user_id=1, role=role, provider_id=provider.id), DAY)
    with pytest.raises(PermissionDeniedError):
        roster_for_day(
            db.session(), Actor(user_id=1, role=Role.PROVIDER_MANAGER, provider_id=None), DAY
        )


def test_roster_for_day_of_a_provider_that_does_not_exist(db_session: Session) -> None:
    from careapp import db

    ghost = Actor(user_id=1, role=Role.PROVIDER_MANAGER, provider_id=999_999)
    with pytest.raises(NotFoundError):
        roster_for_day(db.session(), ghost, DAY)


def test_roster_for_day_issues_a_bounded_number_of_queries(
    db_session: Session, provider: Provider, manager: User, count_queries: Statements
) -> None:
    from careapp import db

    nurses = [CaregiverFactory(provider=provider) for _ in range(3)]
    for order, nurse in enumerate(nurses, start=1):
        booked(nurse, at(8 + order, 0), 1)
    VisitFactory(care_plan=provider_care_plan(provider), visit_on=DAY)
    db_session.flush()
    session = db.session()
    session.connection()  # its savepoint is opened before counting
    with count_queries.counted() as small:
        roster_for_day(session, actor_of(manager), DAY)
    for order, nurse in enumerate(nurses, start=1):
        booked(nurse, at(13 + order, 0), 2)
        VisitFactory(care_plan=provider_care_plan(provider), visit_on=DAY)
    db_session.flush()
    session.expire_all()
    session.connection()
    with count_queries.counted() as large:
        roster_for_day(session, actor_of(manager), DAY)
    assert len(large) == len(small) <= 5
