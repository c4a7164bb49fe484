"""Moving a visit by hand: dispatch's hard rules, own company only, kept by re-dispatch."""

from __future__ import annotations

import datetime as dt

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.clock import city_datetime
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.models import AuditEvent, Caregiver, Provider, Role, User, Visit
from careapp.services import rosters
from careapp.services.actor import Actor
from careapp.services.dispatch import dispatch_visits
from careapp.services.rosters import move_visit, roster_for_week
from scheduling.rosters import MoveCheck
from scheduling.visits import VisitStatus
from tests.conftest import Statements
from tests.factories import (
    NOW,
    TODAY,
    CaregiverFactory,
    ProviderFactory,
    VisitFactory,
    actor_of,
    current_session,
    provider_care_plan,
)

DAY = TODAY + dt.timedelta(days=1)
SPEEDS = {"urban": 20.0, "rural": 35.0}


def at(hour: int, minute: int = 0) -> dt.datetime:
    return city_datetime(DAY, dt.time(hour, minute))


def booked(caregiver: Caregiver, start: dt.datetime, **changes: object) -> Visit:
    visit: Visit = VisitFactory(
        care_plan=provider_care_plan(caregiver.provider),
        visit_on=DAY,
        window_start=at(8, 0),
        window_end=at(17, 0),
        caregiver=caregiver,
        planned_start=start,
        planned_end=start + dt.timedelta(minutes=60),
        **{"route_order": 1, "travel_minutes": 3, "status": VisitStatus.ASSIGNED, **changes},
    )
    return visit


def move(
    manager: User, visit: Visit, caregiver: Caregiver, hour: int | None, minute: int = 0
) -> Visit:
    with force_locale("en"):
        return move_visit(
            current_session(),
            actor_of(manager),
            visit.id,
            caregiver.id,
            dt.time(hour, minute) if hour is not None else None,
            NOW,
            SPEEDS,
        )


def test_move_visit_assigns_an_unassigned_visit_by_hand_and_audits_it(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider)
    visit = VisitFactory(care_plan=provider_care_plan(provider), visit_on=DAY)
    moved = move(manager, visit, nurse, 9, 30)
    assert moved.caregiver_id == nurse.id
    assert (moved.planned_start, moved.planned_end) == (at(9, 30), at(10, 30))
    assert moved.status is VisitStatus.ASSIGNED
    assert moved.is_hand_edited
    assert moved.unassigned_reason is None
    assert (moved.route_order, moved.travel_minutes) == (1, 3)  # 0.94 km from the base
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "visit.move"))
    assert event is not None
    assert event.object_id == visit.id
    assert event.detail["to"]["caregiver_id"] == nurse.id  # type: ignore[index]


def test_move_visit_to_another_caregiver_reorders_both_routes(
    db_session: Session, provider: Provider, manager: User
) -> None:
    wang = CaregiverFactory(provider=provider)
    li = CaregiverFactory(provider=provider)
    first = booked(wang, at(9, 0))
    second = booked(wang, at(11, 0), route_order=2)
    theirs = booked(li, at(14, 0))
    move(manager, first, li, None)  # keeps its start time
    db_session.flush()
    assert (first.caregiver_id, first.planned_start) == (li.id, at(9, 0))
    assert [(v.id, v.route_order) for v in (first, theirs)] == [(first.id, 1), (theirs.id, 2)]
    assert (second.route_order, second.travel_minutes) == (1, 3)  # now wang's first visit
    assert theirs.travel_minutes == 0  # the same home as the visit before it


def test_move_visit_to_another_start_within_the_window(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider)
    visit = booked(nurse, at(9, 0), status=VisitStatus.CONFIRMED)
    move(manager, visit, nurse, 15)
    assert (visit.planned_start, visit.status, visit.is_hand_edited) == (
        at(15, 0),
        VisitStatus.ASSIGNED,
        True,
    )


@pytest.mark.parametrize(
    ("setup", "hour", "message"),
    [
        ("overlap", 9, "another visit at that time"),
        ("window", 18, "outside the visit's time window"),
        ("shift", 16, "outside the caregiver's working hours"),
        ("qualification", 9, "lacks a qualification"),
        ("limit", 13, "daily limit"),
        ("day_off", 9, "does not work on this day"),
    ],
)
def test_move_visit_refuses_what_dispatch_would_refuse(
    db_session: Session, provider: Provider, manager: User, setup: str, hour: int, message: str
) -> None:
    nurse = CaregiverFactory(provider=provider, work_end=dt.time(18, 0))
    visit = booked(CaregiverFactory(provider=provider), at(10, 0))
    if setup == "overlap":
        booked(nurse, at(9, 30))
    elif setup == "shift":
        nurse.work_end = dt.time(16, 30)
    elif setup == "qualification":
        visit.required_qualifications = ["rehabilitation"]
    elif setup == "limit":
        nurse.max_visits_per_day = 1
        booked(nurse, at(9, 0))
    elif setup == "day_off":
        nurse.work_days = [d for d in range(1, 8) if d != DAY.isoweekday()]
    db_session.flush()
    before = (visit.caregiver_id, visit.planned_start)
    with pytest.raises(ConflictError, match=message) as refused:
        move(manager, visit, nurse, hour)
    assert refused.value.status_code == 409
    # Refused before anything changed.
    assert (visit.caregiver_id, visit.planned_start) == before
    assert not visit.is_hand_edited


def test_move_visit_refuses_the_same_place_and_started_visits(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider)
    visit = booked(nurse, at(9, 0))
    with pytest.raises(ConflictError, match="already planned"):
        move(manager, visit, nurse, 9)
    visit.status = VisitStatus.CHECKED_IN
    db_session.flush()
    with pytest.raises(ConflictError, match="can no longer be moved"):
        move(manager, visit, nurse, 10)


def test_move_visit_stays_inside_the_company(
    db_session: Session, provider: Provider, manager: User
) -> None:
    ours = CaregiverFactory(provider=provider)
    stranger = CaregiverFactory(provider=ProviderFactory())
    visit = VisitFactory(care_plan=provider_care_plan(provider), visit_on=DAY)
    theirs = VisitFactory(care_plan=provider_care_plan(stranger.provider), visit_on=DAY)
    with pytest.raises(InvalidInputError, match="caregiver of your company") as wrong:
        move(manager, visit, stranger, 9)
    assert wrong.value.field == "caregiver_id"
    with pytest.raises(NotFoundError):
        move(manager, theirs, ours, 9)
    ours.is_enabled = False
    with pytest.raises(InvalidInputError):
        move(manager, visit, ours, 9)


def test_move_visit_needs_a_map_location(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider)
    visit = VisitFactory(care_plan=provider_care_plan(provider), visit_on=DAY)
    visit.person.home_lat = None
    with pytest.raises(InvalidInputError, match="no map location"):
        move(manager, visit, nurse, 9)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CAREGIVER, Role.ASSESSOR])
def test_move_visit_is_for_provider_managers_only(
    db_session: Session, provider: Provider, role: Role
) -> None:
    nurse = CaregiverFactory(provider=provider)
    visit = VisitFactory(care_plan=provider_care_plan(provider), visit_on=DAY)
    actor = Actor(user_id=1, role=role, provider_id=provider.id)
    with pytest.raises(PermissionDeniedError):
        move_visit(db_session, actor, visit.id, nurse.id, dt.time(9), NOW, SPEEDS)


def test_move_visit_turns_the_database_guard_into_a_conflict(
    db_session: Session,
    provider: Provider,
    manager: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If a booking slipped past the check (a race), `visits_no_double_booking` refuses it."""
    nurse = CaregiverFactory(provider=provider)
    booked(nurse, at(9, 0))
    visit = VisitFactory(care_plan=provider_care_plan(provider), visit_on=DAY)
    db_session.flush()
    monkeypatch.setattr(rosters, "check_move", lambda *args: MoveCheck((), ()))
    with pytest.raises(ConflictError, match="Someone else has just booked") as lost:
        move(manager, visit, nurse, 9)
    assert lost.value.status_code == 409
    db_session.rollback()


def test_a_moved_visit_is_kept_by_the_next_dispatch(
    db_session: Session, provider: Provider, manager: User
) -> None:
    wang = CaregiverFactory(provider=provider)
    li = CaregiverFactory(provider=provider)
    visit = VisitFactory(care_plan=provider_care_plan(provider, preferred_caregiver=wang))
    visit.visit_on = DAY
    move(manager, visit, li, 10, 15)
    admin = Actor(user_id=None, role=Role.ADMIN)
    run = dispatch_visits(db_session, admin, DAY, DAY, NOW, SPEEDS)
    assert run.visits_created == 0
    db_session.refresh(visit)
    assert (visit.caregiver_id, visit.planned_start, visit.is_hand_edited) == (
        li.id,
        at(10, 15),
        True,
    )


def test_roster_for_week_lists_each_caregiver_day_by_day(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider, name="王护理")
    visit = booked(nurse, at(9, 0))
    later = DAY + dt.timedelta(days=2)
    other_day = VisitFactory(
        care_plan=provider_care_plan(provider),
        visit_on=later,
        caregiver=nurse,
        planned_start=city_datetime(later, dt.time(10, 0)),
        planned_end=city_datetime(later, dt.time(11, 0)),
        route_order=1,
        travel_minutes=3,
        status=VisitStatus.ASSIGNED,
    )
    left = VisitFactory(care_plan=provider_care_plan(provider), visit_on=DAY)
    db_session.flush()
    with force_locale("en"):
        week = roster_for_week(db_session, actor_of(manager), DAY)
    assert week.first_day == DAY - dt.timedelta(days=DAY.weekday())
    assert week.first_day.isoweekday() == 1
    assert (week.last_day - week.first_day).days == 6
    assert len(week.days) == 7
    assert (week.previous_week, week.next_week) == (
        week.first_day - dt.timedelta(days=7),
        week.first_day + dt.timedelta(days=7),
    )
    [row] = week.rows
    assert row.name == "王护理"
    by_day = {route.visits[0].day: route.visits[0].visit_id for route in row.days if route.visits}
    assert by_day == {DAY: visit.id, DAY + dt.timedelta(days=2): other_day.id}
    assert (row.visit_count, row.travel_minutes) == (2, 6)
    assert week.unassigned_count == 1
    assert week.days[DAY.weekday()].unassigned[0].visit_id == left.id


def test_roster_for_week_issues_a_bounded_number_of_queries(
    db_session: Session, provider: Provider, manager: User, count_queries: Statements
) -> None:
    nurses = [CaregiverFactory(provider=provider) for _ in range(2)]
    for hour, nurse in enumerate(nurses, start=9):
        booked(nurse, at(hour))
    actor = actor_of(manager)
    db_session.flush()
    db_session.expire_all()
    with count_queries.counted() as small:
        roster_for_week(db_session, actor, DAY)
    for hour, nurse in enumerate(nurses, start=13):
        booked(nurse, at(hour))
        VisitFactory(care_plan=provider_care_plan(provider), visit_on=DAY + dt.timedelta(days=1))
    db_session.flush()
    db_session.expire_all()
    with count_queries.counted() as large:
        roster_for_week(db_session, actor, DAY)
    assert len(large) == len(small) <= 5


def far_day(provider: Provider) -> tuple[Caregiver, Visit]:
    """A caregiver whose afternoon visit is 50 km north (about 150 minutes at 20 km/h), and a visit
    at the base's door to move into their morning: the hard rules hold, the travel is long."""
    nurse = CaregiverFactory(provider=provider)
    far = booked(nurse, at(13, 0))
    far.person.home_lat = 32.0 + 50 / 111.195
    visit = VisitFactory(
        care_plan=provider_care_plan(provider),
        visit_on=DAY,
        window_start=at(8, 0),
        window_end=at(17, 0),
    )
    current_session().flush()
    return nurse, visit


def test_a_move_with_long_travel_needs_the_managers_confirmation(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse, visit = far_day(provider)
    with pytest.raises(rosters.LongTravelError, match=r"needs 154 minutes of travel") as refused:
        move(manager, visit, nurse, 9)
    assert refused.value.travel_minutes == 154
    assert "3 to reach the visit and 151 on to the next one" in refused.value.message
    assert (visit.caregiver_id, visit.status) == (None, VisitStatus.UNASSIGNED)

    with force_locale("en"):
        moved = move_visit(
            db_session, actor_of(manager), visit.id, nurse.id, dt.time(9, 0), NOW, SPEEDS,
            accepted_travel_minutes=154,
        )  # fmt: skip
    assert (moved.caregiver_id, moved.planned_start) == (nurse.id, at(9, 0))
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "visit.move"))
    assert event is not None
    assert event.detail["travel_minutes"] == 154  # type: ignore[index]


def test_a_yes_to_less_travel_does_not_cover_a_longer_move(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse, visit = far_day(provider)
    with force_locale("en"), pytest.raises(rosters.LongTravelError):
        move_visit(
            db_session, actor_of(manager), visit.id, nurse.id, dt.time(9, 0), NOW, SPEEDS,
            accepted_travel_minutes=20,
        )  # fmt: skip
    with force_locale("en"):  # a higher limit: no question
        move_visit(
            db_session, actor_of(manager), visit.id, nurse.id, dt.time(9, 0), NOW, SPEEDS,
            confirm_travel_over=180,
        )  # fmt: skip
    assert visit.caregiver_id == nurse.id
