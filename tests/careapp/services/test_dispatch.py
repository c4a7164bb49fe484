"""Generating visits from care plans and dispatching them (database services)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from careapp.core.clock import city_datetime
from careapp.core.errors import ConflictError, InvalidInputError
from careapp.db import make_engine
from careapp.models import (
    AuditEvent,
    Caregiver,
    CarePlan,
    CarePlanItem,
    DispatchRun,
    DispatchRunStatus,
    EntitlementStatus,
    Provider,
    Qualification,
    Role,
    Visit,
)
from careapp.services.actor import Actor
from careapp.services.dispatch import (
    DISPATCH_LOCK_KEY,
    NO_HOME_LOCATION,
    dispatch_visits,
    generate_visits,
    recent_dispatch_runs,
)
from scheduling.dispatch import GreedyDispatcher
from scheduling.types import (
    NO_CAREGIVER_WORKING,
    NO_QUALIFIED_CAREGIVER,
    NO_TIME_IN_WINDOW,
    Assignment,
    CaregiverDay,
    DispatchResult,
    VisitRequest,
)
from scheduling.visits import VisitStatus
from tests.conftest import Statements
from tests.factories import (
    NOW,
    TODAY,
    CaregiverFactory,
    PersonFactory,
    ProviderFactory,
    ServiceItemFactory,
    UserFactory,
    VisitFactory,
    provider_care_plan,
)

DAY = TODAY + dt.timedelta(days=1)  # Tuesday 2026-11-24
SPEEDS = {"urban": 20.0, "rural": 35.0}
ADMIN = Actor(user_id=None, role=Role.ADMIN, address="test")


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return city_datetime(day, dt.time(hour, minute)).astimezone(dt.UTC)


def plan_for(provider: Provider, **changes: object) -> CarePlan:
    return provider_care_plan(provider, **changes)


def dispatch(session: Session, first: dt.date = DAY, last: dt.date | None = None) -> DispatchRun:
    return dispatch_visits(session, ADMIN, first, last or first, NOW, SPEEDS)


def visits_of(session: Session, plan: CarePlan) -> list[Visit]:
    return list(
        session.scalars(select(Visit).where(Visit.care_plan_id == plan.id).order_by(Visit.visit_on))
    )


# generate_visits


def test_generate_visits_creates_one_visit_per_matching_weekday(
    db_session: Session, provider: Provider
) -> None:
    catheter = ServiceItemFactory(
        code="catheter_care", duration_minutes=30, qualification=Qualification.NURSING
    )
    bathing = ServiceItemFactory()
    plan = plan_for(
        provider,
        weekdays=[2, 4],  # Tuesday and Thursday
        items=[CarePlanItem(service_item=catheter), CarePlanItem(service_item=bathing)],
    )
    created = generate_visits(db_session, DAY, DAY + dt.timedelta(days=6))
    assert created == 2
    first, second = visits_of(db_session, plan)
    assert (first.visit_on, second.visit_on) == (DAY, DAY + dt.timedelta(days=2))
    assert first.window_start == at(9, 0)
    assert first.window_end == at(11, 0)
    assert first.duration_minutes == 90
    assert first.required_qualifications == ["daily_care", "nursing"]
    assert first.service_item_codes == ["bathing", "catheter_care"]
    assert (first.provider_id, first.person_id) == (provider.id, plan.person_id)
    assert first.status is VisitStatus.UNASSIGNED


def test_generate_visits_is_idempotent(db_session: Session, provider: Provider) -> None:
    plan = plan_for(provider)
    assert generate_visits(db_session, DAY, DAY + dt.timedelta(days=1)) == 2
    assert generate_visits(db_session, DAY, DAY + dt.timedelta(days=2)) == 1
    assert len(visits_of(db_session, plan)) == 3


def test_generate_visits_keeps_a_cancelled_visit_cancelled(
    db_session: Session, provider: Provider
) -> None:
    plan = plan_for(provider)
    VisitFactory(care_plan=plan, visit_on=DAY, status=VisitStatus.CANCELLED)
    assert generate_visits(db_session, DAY, DAY) == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"is_active": False},
        {"starts_on": DAY + dt.timedelta(days=1)},
        {"ends_on": DAY - dt.timedelta(days=1)},
        {"weekdays": [1, 3, 5]},
        {"items": []},
        {"entitlement__status": EntitlementStatus.ENDED},
        {"entitlement__ends_on": DAY - dt.timedelta(days=1)},
        {"entitlement__starts_on": DAY + dt.timedelta(days=1)},
    ],
)
def test_generate_visits_skips_plans_not_due(
    db_session: Session, provider: Provider, changes: dict[str, object]
) -> None:
    plan_for(provider, **changes)
    assert generate_visits(db_session, DAY, DAY) == 0


# dispatch_visits


def test_dispatch_visits_assigns_visits_and_records_the_run(
    db_session: Session, provider: Provider
) -> None:
    nurse = CaregiverFactory(provider=provider)
    early = plan_for(provider, window_start=dt.time(8, 0), window_end=dt.time(8, 30))
    late = plan_for(provider, window_start=dt.time(9, 0), window_end=dt.time(12, 0))
    run = dispatch(db_session)
    assert (run.visits_created, run.visits_assigned, run.visits_unassigned) == (2, 2, 0)
    assert run.status is DispatchRunStatus.COMPLETED
    assert (run.started_at, run.finished_at, run.first_day, run.last_day) == (NOW, NOW, DAY, DAY)
    (first,) = visits_of(db_session, early)
    (second,) = visits_of(db_session, late)
    assert first.caregiver_id == second.caregiver_id == nurse.id
    assert (first.status, second.status) == (VisitStatus.ASSIGNED, VisitStatus.ASSIGNED)
    # The base is 0.94 km from the home: 3 minutes at 20 km/h, then the same home.
    assert (first.planned_start, first.planned_end) == (at(8, 3), at(9, 3))
    assert (first.route_order, first.travel_minutes) == (1, 3)
    assert (second.planned_start, second.route_order, second.travel_minutes) == (at(9, 3), 2, 0)
    audit = db_session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "dispatch_run")
    ).one()
    assert (audit.action, audit.object_id) == ("dispatch", run.id)
    assert audit.detail["visits_assigned"] == 2


def test_dispatch_visits_over_several_days(db_session: Session, provider: Provider) -> None:
    CaregiverFactory(provider=provider)
    plan = plan_for(provider)
    run = dispatch(db_session, DAY, DAY + dt.timedelta(days=2))
    assert (run.visits_created, run.visits_assigned) == (3, 3)
    assert [v.status for v in visits_of(db_session, plan)] == [VisitStatus.ASSIGNED] * 3


def test_dispatch_visits_rerun_keeps_fixed_visits_and_moves_only_the_others(
    db_session: Session, provider: Provider
) -> None:
    first, second = CaregiverFactory(provider=provider), CaregiverFactory(provider=provider)

    def booked(caregiver: Caregiver, start: dt.datetime, **changes: object) -> Visit:
        return VisitFactory(
            care_plan=plan_for(provider),
            visit_on=DAY,
            caregiver=caregiver,
            planned_start=start,
            planned_end=start + dt.timedelta(minutes=60),
            route_order=1,
            status=changes.pop("status", VisitStatus.ASSIGNED),
            **changes,
        )

    confirmed = booked(first, at(9, 0), status=VisitStatus.CONFIRMED)
    by_hand = booked(second, at(9, 0), is_hand_edited=True)
    checked_in = booked(
        first,
        at(12, 0),
        status=VisitStatus.CHECKED_IN,
        window_start=at(12, 0),
        window_end=at(13, 0),
    )
    moving = booked(first, at(10, 30))
    waiting = VisitFactory(care_plan=plan_for(provider), visit_on=DAY)

    run = dispatch(db_session)

    assert (run.visits_created, run.visits_assigned, run.visits_unassigned) == (0, 2, 0)
    for kept, caregiver, start in [
        (confirmed, first, at(9, 0)),
        (by_hand, second, at(9, 0)),
        (checked_in, first, at(12, 0)),
    ]:
        db_session.refresh(kept)
        assert (kept.caregiver_id, kept.planned_start) == (caregiver.id, start)
    assert confirmed.status is VisitStatus.CONFIRMED
    assert checked_in.status is VisitStatus.CHECKED_IN
    assert by_hand.status is VisitStatus.ASSIGNED
    assert by_hand.is_hand_edited
    db_session.refresh(moving)
    db_session.refresh(waiting)
    # Every home is the same place, so travel ties: the movable visits go into the free hours
    # (the first caregiver is busy 9-10 and 12-13, the second 9-10), and the route orders count
    # the fixed visits.
    placed = {
        moving.id: (moving.caregiver_id, moving.planned_start, moving.route_order),
        waiting.id: (waiting.caregiver_id, waiting.planned_start, waiting.route_order),
    }
    assert sorted(placed.values()) in (
        [(first.id, at(10, 0), 2), (first.id, at(11, 0), 3)],
        [(first.id, at(10, 0), 2), (second.id, at(10, 0), 2)],
        [(second.id, at(10, 0), 2), (second.id, at(11, 0), 3)],
    )
    taken_by_first = sum(caregiver_id == first.id for caregiver_id, _, _ in placed.values())
    assert (confirmed.route_order, by_hand.route_order) == (1, 1)
    assert checked_in.route_order == 2 + taken_by_first
    assert waiting.status is VisitStatus.ASSIGNED

    again = dispatch(db_session)
    assert (again.visits_created, again.visits_assigned, again.visits_unassigned) == (0, 2, 0)
    db_session.refresh(moving)
    db_session.refresh(waiting)
    assert {
        moving.id: (moving.caregiver_id, moving.planned_start, moving.route_order),
        waiting.id: (waiting.caregiver_id, waiting.planned_start, waiting.route_order),
    } == placed


def test_dispatch_visits_leaves_missed_and_cancelled_visits_alone(
    db_session: Session, provider: Provider
) -> None:
    CaregiverFactory(provider=provider)
    missed = VisitFactory(care_plan=plan_for(provider), visit_on=DAY, status=VisitStatus.MISSED)
    cancelled = VisitFactory(
        care_plan=plan_for(provider), visit_on=DAY, status=VisitStatus.CANCELLED
    )
    run = dispatch(db_session)
    assert (run.visits_assigned, run.visits_unassigned) == (0, 0)
    assert (missed.status, cancelled.status) == (VisitStatus.MISSED, VisitStatus.CANCELLED)
    assert missed.caregiver_id is None
    assert cancelled.caregiver_id is None


def test_dispatch_visits_keeps_a_hand_edited_unassigned_visit_as_it_is(
    db_session: Session, provider: Provider
) -> None:
    CaregiverFactory(provider=provider)
    held = VisitFactory(care_plan=plan_for(provider), visit_on=DAY, is_hand_edited=True)
    run = dispatch(db_session)
    assert (run.visits_assigned, run.visits_unassigned) == (0, 0)
    assert held.caregiver_id is None
    assert held.unassigned_reason is None


def test_dispatch_visits_lists_unassigned_visits_with_their_reason(
    db_session: Session, provider: Provider
) -> None:
    CaregiverFactory(provider=provider, qualifications=["nursing"])
    untrained = plan_for(provider)
    nowhere = plan_for(provider, person=PersonFactory(home_lat=None, home_lon=None))
    run = dispatch(db_session)
    assert (run.visits_assigned, run.visits_unassigned) == (0, 2)
    (left,) = visits_of(db_session, untrained)
    assert (left.status, left.caregiver_id) == (VisitStatus.UNASSIGNED, None)
    assert left.unassigned_reason == NO_QUALIFIED_CAREGIVER
    assert visits_of(db_session, nowhere)[0].unassigned_reason == NO_HOME_LOCATION


def test_dispatch_visits_survives_broken_rows(db_session: Session, provider: Provider) -> None:
    CaregiverFactory(provider=provider, work_start=dt.time(18, 0), work_end=dt.time(8, 0))
    CaregiverFactory(provider=provider, max_visits_per_day=-1)
    works = CaregiverFactory(provider=provider)
    VisitFactory(  # a hand-made booking whose end is not after its start
        care_plan=plan_for(provider),
        visit_on=DAY,
        caregiver=works,
        status=VisitStatus.CONFIRMED,
        planned_start=at(9, 0),
        planned_end=at(9, 0),
    )
    backwards = VisitFactory(
        care_plan=plan_for(provider), visit_on=DAY, window_start=at(11, 0), window_end=at(9, 0)
    )
    fine = VisitFactory(care_plan=plan_for(provider), visit_on=DAY)
    run = dispatch(db_session)
    assert (run.visits_assigned, run.visits_unassigned) == (1, 1)
    assert backwards.unassigned_reason == NO_TIME_IN_WINDOW
    assert fine.caregiver_id == works.id


def test_dispatch_visits_never_plans_in_the_past(db_session: Session, provider: Provider) -> None:
    CaregiverFactory(provider=provider)
    gone = plan_for(provider, window_start=dt.time(7, 0), window_end=dt.time(9, 0))
    still = plan_for(provider, window_start=dt.time(9, 0), window_end=dt.time(11, 0))
    run = dispatch(db_session, TODAY)  # NOW is 10:00 in the city
    assert (run.visits_assigned, run.visits_unassigned) == (1, 1)
    assert visits_of(db_session, gone)[0].unassigned_reason == NO_CAREGIVER_WORKING
    assert visits_of(db_session, still)[0].planned_start == at(10, 3, day=TODAY)


def test_dispatch_visits_keeps_the_caregiver_of_the_last_visit(
    db_session: Session, provider: Provider
) -> None:
    CaregiverFactory(provider=provider)  # nearer, and first by id
    usual = CaregiverFactory(provider=provider, base_lat=32.05, base_lon=120.9)
    plan = plan_for(provider)
    VisitFactory(
        care_plan=plan,
        visit_on=TODAY - dt.timedelta(days=3),
        caregiver=usual,
        status=VisitStatus.COMPLETED,
    )
    dispatch(db_session, DAY, DAY + dt.timedelta(days=1))
    assert [v.caregiver_id for v in visits_of(db_session, plan)[1:]] == [usual.id, usual.id]


def test_dispatch_visits_keeps_the_caregiver_of_the_previous_day_of_the_run(
    db_session: Session, provider: Provider
) -> None:
    near = CaregiverFactory(provider=provider, work_days=[1, 3, 4, 5])  # off on Tuesday
    far = CaregiverFactory(provider=provider, base_lat=32.05, base_lon=120.9)
    plan = plan_for(provider)
    dispatch(db_session, DAY, DAY + dt.timedelta(days=1))
    tuesday, wednesday = visits_of(db_session, plan)
    # On Wednesday the nearer caregiver works too, but the plan keeps Tuesday's caregiver.
    assert (tuesday.caregiver_id, wednesday.caregiver_id) == (far.id, far.id)
    assert near.id < far.id


def test_dispatch_visits_prefers_the_plan_preferred_caregiver(
    db_session: Session, provider: Provider
) -> None:
    CaregiverFactory(provider=provider)
    far = CaregiverFactory(provider=provider, base_lat=32.05, base_lon=120.9)
    plan = plan_for(provider, preferred_caregiver=far)
    dispatch(db_session)
    assert visits_of(db_session, plan)[0].caregiver_id == far.id


def test_dispatch_visits_uses_only_enabled_caregivers_of_the_visit_provider(
    db_session: Session, provider: Provider
) -> None:
    CaregiverFactory()  # another provider's
    CaregiverFactory(provider=provider, is_enabled=False)
    plan = plan_for(provider)
    run = dispatch(db_session)
    assert run.visits_unassigned == 1
    assert visits_of(db_session, plan)[0].unassigned_reason == NO_QUALIFIED_CAREGIVER


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (DAY, DAY - dt.timedelta(days=1), "last day"),
        (DAY, DAY + dt.timedelta(days=31), "31"),
    ],
)
def test_dispatch_visits_rejects_a_bad_range(
    db_session: Session, first: dt.date, last: dt.date, message: str
) -> None:
    with force_locale("en"), pytest.raises(InvalidInputError, match=message):
        dispatch_visits(db_session, ADMIN, first, last, NOW, SPEEDS)
    assert db_session.scalar(select(func.count()).select_from(DispatchRun)) == 0


def test_dispatch_visits_issues_a_bounded_number_of_queries(
    db_session: Session, count_queries: Statements
) -> None:
    providers = [ProviderFactory(), ProviderFactory()]
    for provider in providers:
        CaregiverFactory(provider=provider)
        CaregiverFactory(provider=provider)

    def count_for(first: dt.date, plans_per_provider: int) -> int:
        for provider in providers:
            for _ in range(plans_per_provider):
                plan_for(provider, starts_on=first, ends_on=first + dt.timedelta(days=1))
        with count_queries.counted() as statements:
            run = dispatch(db_session, first, first + dt.timedelta(days=1))
        assert run.visits_assigned == 4 * plans_per_provider
        return len(statements)

    small = count_for(DAY, 2)
    large = count_for(DAY + dt.timedelta(days=2), 6)
    assert small == large
    assert small <= 16


def test_recent_dispatch_runs_lists_the_newest_first(db_session: Session) -> None:
    admin = UserFactory(admin=True, display_name="调度员")
    dispatch_visits(db_session, ADMIN, DAY, DAY, NOW, SPEEDS)
    later = dispatch_visits(
        db_session,
        Actor(user_id=admin.id, role=Role.ADMIN),
        DAY,
        DAY,
        NOW + dt.timedelta(hours=1),
        SPEEDS,
    )
    rows = recent_dispatch_runs(db_session)
    assert [row.run.id for row in rows[:2]] == [later.id, rows[1].run.id]
    assert (rows[0].started_by, rows[1].started_by) == ("调度员", None)
    assert rows[0].run.status is DispatchRunStatus.COMPLETED


# The database's own guard against double booking


def test_visits_cannot_double_book_a_caregiver_in_the_database(
    db_session: Session, provider: Provider
) -> None:
    nurse = CaregiverFactory(provider=provider)
    VisitFactory(
        care_plan=plan_for(provider),
        caregiver=nurse,
        status=VisitStatus.CONFIRMED,
        planned_start=at(9, 0),
        planned_end=at(10, 0),
    )
    with pytest.raises(IntegrityError), db_session.begin_nested():
        VisitFactory(
            care_plan=plan_for(provider),
            caregiver=nurse,
            status=VisitStatus.ASSIGNED,
            planned_start=at(9, 30),
            planned_end=at(10, 30),
        )
    # Back to back is fine, and so is an overlap with a cancelled visit.
    VisitFactory(
        care_plan=plan_for(provider),
        caregiver=nurse,
        status=VisitStatus.ASSIGNED,
        planned_start=at(10, 0),
        planned_end=at(11, 0),
    )
    VisitFactory(
        care_plan=plan_for(provider),
        caregiver=nurse,
        status=VisitStatus.CANCELLED,
        planned_start=at(9, 30),
        planned_end=at(10, 30),
    )


def test_visits_cannot_be_moved_onto_a_booked_time(db_session: Session, provider: Provider) -> None:
    nurse = CaregiverFactory(provider=provider)
    VisitFactory(
        care_plan=plan_for(provider),
        caregiver=nurse,
        status=VisitStatus.ASSIGNED,
        planned_start=at(9, 0),
        planned_end=at(10, 0),
    )
    later = VisitFactory(
        care_plan=plan_for(provider),
        caregiver=nurse,
        status=VisitStatus.ASSIGNED,
        planned_start=at(11, 0),
        planned_end=at(12, 0),
    )
    later.planned_start, later.planned_end = at(9, 30), at(10, 30)
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.flush()


class _CarelessDispatcher:
    """Books every visit at the start of its window with the first caregiver, checking nothing."""

    def solve(
        self,
        visits: Sequence[VisitRequest],
        caregivers: Sequence[CaregiverDay],
        speeds_kmh: Mapping[str, float],
    ) -> DispatchResult:
        return DispatchResult(
            tuple(
                Assignment(
                    v.visit_id,
                    caregivers[0].caregiver_id,
                    v.window_start,
                    v.window_start + v.duration,
                    1,
                    0,
                )
                for v in visits
            ),
            (),
        )


def test_dispatch_visits_turns_a_double_booking_into_a_conflict(
    db_session: Session, provider: Provider
) -> None:
    nurse = CaregiverFactory(provider=provider)
    VisitFactory(
        care_plan=plan_for(provider),
        visit_on=DAY,
        caregiver=nurse,
        status=VisitStatus.CONFIRMED,
        planned_start=at(9, 0),
        planned_end=at(10, 0),
    )
    plan_for(provider)
    with force_locale("en"), pytest.raises(ConflictError, match="bookings changed"):
        dispatch_visits(db_session, ADMIN, DAY, DAY, NOW, SPEEDS, dispatcher=_CarelessDispatcher())
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(DispatchRun)) == 0


# One dispatch at a time (PostgreSQL advisory lock; on SQLite the database write lock)


def test_dispatch_on_sqlite_holds_the_write_lock_from_its_first_statement(
    app: Flask, db_session: Session
) -> None:
    """Every SQLite transaction begins IMMEDIATE (careapp.db): a run holds the database's write
    lock from its first statement, so another run waits for it and, past the busy timeout,
    cannot even begin (it never fails half-way, when its first write would need the lock)."""
    if db_session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's write lock; PostgreSQL uses the advisory lock")
    dispatch(db_session)  # this test's transaction: the run, not yet committed
    other_engine = make_engine(app.config["DATABASE_URL"])  # another process, as it were
    try:
        with other_engine.connect() as other:
            other.connection.driver_connection.execute("PRAGMA busy_timeout = 100")
            with pytest.raises(OperationalError, match="database is locked"):
                other.begin()
    finally:
        other_engine.dispose()


@pytest.mark.postgres_only
def test_dispatch_visits_refuses_while_another_run_holds_the_lock(
    app: Flask, db_session: Session
) -> None:
    engine = app.extensions["careapp.engine"]
    with engine.connect() as other:
        with other.begin():
            assert other.scalar(select(func.pg_try_advisory_xact_lock(DISPATCH_LOCK_KEY)))
            with (
                force_locale("en"),
                pytest.raises(ConflictError, match="Another dispatch run is in progress"),
            ):
                dispatch(db_session)
            with pytest.raises(ConflictError):
                dispatch_visits(
                    db_session,
                    ADMIN,
                    DAY,
                    DAY,
                    NOW,
                    SPEEDS,
                    lock_timeout=dt.timedelta(seconds=0.3),
                )
        # The other transaction ended: the lock is free again.
        assert dispatch(db_session).status is DispatchRunStatus.COMPLETED


def test_dispatch_visits_solves_providers_side_by_side_in_processes(db_session: Session) -> None:
    plans = []
    for _ in range(2):
        provider = ProviderFactory()
        caregiver = CaregiverFactory(provider=provider)
        plans.append((plan_for(provider), caregiver))

    run = dispatch_visits(
        db_session,
        ADMIN,
        DAY,
        DAY,
        NOW,
        SPEEDS,
        dispatcher=GreedyDispatcher(),
        workers=2,
    )

    assert (run.visits_assigned, run.visits_unassigned) == (2, 0)
    for plan, caregiver in plans:
        [visit] = visits_of(db_session, plan)
        assert visit.caregiver_id == caregiver.id
        assert visit.status is VisitStatus.ASSIGNED
