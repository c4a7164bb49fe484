"""Nightly dispatch: turn care plans into visits and give each visit to a caregiver.

`dispatch_visits` is called by the nightly job, the `careapp dispatch` command and the
administrator's dispatch page. It takes a lock that exists once across every process and host
(a PostgreSQL advisory lock; on SQLite the database write lock), generates the visits due, and
re-plans, per provider and day, the visits that may still move (unassigned, or assigned and
neither confirmed nor edited by hand) around the ones that stay. The database constraint
`visits_no_double_booking` is the last line of defence against a race with a manual edit.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload

from careapp import metrics
from careapp.core.clock import city_datetime
from careapp.core.errors import ConflictError, InvalidInputError
from careapp.models.eligibility import Entitlement, EntitlementStatus
from careapp.models.people import Person
from careapp.models.providers import Caregiver
from careapp.models.users import User
from careapp.models.visit import (
    BOOKED_STATUSES,
    CarePlan,
    CarePlanItem,
    DispatchRun,
    DispatchRunStatus,
    Visit,
)
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from scheduling.dispatch import Dispatcher
from scheduling.parallel import Problem, solve_all
from scheduling.routing import DEFAULT_TIME_LIMIT_SECONDS, RoutingDispatcher
from scheduling.types import (
    NO_TIME_IN_WINDOW,
    Booking,
    CaregiverDay,
    DispatchResult,
    Location,
    VisitRequest,
)
from scheduling.visits import VisitStatus

# pg_try_advisory_xact_lock key of dispatch runs ("caredisp" in ASCII); one per cluster.
DISPATCH_LOCK_KEY = 0x6361726564697370
# A visit whose person has no coordinates cannot be routed (set by the service, not the solver).
NO_HOME_LOCATION = "no_home_location"
MAX_DISPATCH_DAYS = 31
# How far back "the caregiver of the plan's last visit" is looked for (continuity).
CONTINUITY_LOOKBACK = dt.timedelta(days=60)
# Visits that stay where they are; every other assigned or unassigned visit is re-planned.
FIXED_STATUSES = (VisitStatus.CONFIRMED, VisitStatus.CHECKED_IN, VisitStatus.COMPLETED)
REPLANNED_STATUSES = (VisitStatus.UNASSIGNED, VisitStatus.ASSIGNED)
_BOOKED = frozenset(VisitStatus(value) for value in BOOKED_STATUSES)
# The routing solver stops a provider's day after this many iterations without a better roster
# (small days finish in a fraction of the time limit); the seed makes reruns repeatable.
DISPATCH_PATIENCE_ITERATIONS = 2_000
DISPATCH_SEED = 0


def generate_visits(session: Session, first_day: dt.date, last_day: dt.date) -> int:
    """Create the visits due from active care plans on these days; return how many are new.

    One visit per plan per matching weekday, its window in city time, its duration the sum of
    the plan's items and its qualifications theirs. Visits that exist already (in any status,
    cancelled ones included) are left alone, so running this twice creates nothing new.
    """
    plans = (
        session.scalars(
            select(CarePlan)
            .join(CarePlan.entitlement)
            .where(
                CarePlan.is_active.is_(True),
                CarePlan.starts_on <= last_day,
                or_(CarePlan.ends_on.is_(None), CarePlan.ends_on >= first_day),
                Entitlement.status == EntitlementStatus.ACTIVE,
                Entitlement.starts_on <= last_day,
                or_(Entitlement.ends_on.is_(None), Entitlement.ends_on >= first_day),
            )
            .options(
                contains_eager(CarePlan.entitlement),
                selectinload(CarePlan.items).joinedload(CarePlanItem.service_item),
            )
            .order_by(CarePlan.id)
        )
        .unique()
        .all()
    )
    existing = set(
        session.execute(
            select(Visit.care_plan_id, Visit.visit_on).where(
                Visit.visit_on >= first_day,
                Visit.visit_on <= last_day,
                # A make-up visit for a missed one is extra: the plan's own visit is still due.
                Visit.rescheduled_from_id.is_(None),
            )
        )
    )
    rows: list[dict[str, Any]] = []
    for day in _days(first_day, last_day):
        for plan in plans:
            if (plan.id, day) in existing or not _plan_due(plan, day):
                continue
            items = [item.service_item for item in plan.items]
            rows.append(
                {
                    "care_plan_id": plan.id,
                    "person_id": plan.person_id,
                    "provider_id": plan.provider_id,
                    "visit_on": day,
                    "window_start": city_datetime(day, plan.window_start),
                    "window_end": city_datetime(day, plan.window_end),
                    "duration_minutes": sum(item.duration_minutes for item in items),
                    "service_item_codes": sorted(item.code for item in items),
                    "required_qualifications": sorted({i.qualification.value for i in items}),
                    "status": VisitStatus.UNASSIGNED,
                    "is_hand_edited": False,
                }
            )
    if rows:
        session.flush()
        session.execute(insert(Visit), rows)  # one batched INSERT, however many visits
    return len(rows)


def _plan_due(plan: CarePlan, day: dt.date) -> bool:
    entitlement = plan.entitlement
    return (
        bool(plan.items)
        and day.isoweekday() in plan.weekdays
        and plan.starts_on <= day
        and (plan.ends_on is None or day <= plan.ends_on)
        and entitlement.starts_on <= day
        and (entitlement.ends_on is None or day <= entitlement.ends_on)
    )


def dispatch_visits(
    session: Session,
    actor: Actor,
    first_day: dt.date,
    last_day: dt.date,
    now: dt.datetime,
    speeds_kmh: Mapping[str, float],
    *,
    dispatcher: Dispatcher | None = None,
    lock_timeout: dt.timedelta = dt.timedelta(0),
    time_limit_seconds: float = DEFAULT_TIME_LIMIT_SECONDS,
    workers: int = 1,
) -> DispatchRun:
    """Generate and dispatch the visits of `first_day`..`last_day`; return the finished run.

    Each provider's day is routed by `dispatcher`, by default the routing solver with
    `time_limit_seconds` per provider and day; the providers of a day are solved side by side in
    `workers` processes (`scheduling.parallel`), then stored here.

    Raises ConflictError when another dispatch run holds the lock (after waiting up to
    `lock_timeout`) or when a caregiver's booking changed underneath (then run it again).
    Each call is counted and timed (`careapp_dispatch_runs_total`) by its outcome: completed,
    conflict, refused (bad days) or failed.
    """
    with metrics.track_dispatch({ConflictError: "conflict", InvalidInputError: "refused"}):
        return _dispatch_visits(
            session,
            actor,
            first_day,
            last_day,
            now,
            speeds_kmh,
            dispatcher=dispatcher,
            lock_timeout=lock_timeout,
            time_limit_seconds=time_limit_seconds,
            workers=workers,
        )


def _dispatch_visits(
    session: Session,
    actor: Actor,
    first_day: dt.date,
    last_day: dt.date,
    now: dt.datetime,
    speeds_kmh: Mapping[str, float],
    *,
    dispatcher: Dispatcher | None,
    lock_timeout: dt.timedelta,
    time_limit_seconds: float,
    workers: int,
) -> DispatchRun:
    if last_day < first_day:
        raise InvalidInputError(gettext("The last day must not be before the first day."))
    if (last_day - first_day).days + 1 > MAX_DISPATCH_DAYS:
        raise InvalidInputError(
            gettext("Dispatch at most %(days)d days at a time.", days=MAX_DISPATCH_DAYS)
        )
    _take_dispatch_lock(session, lock_timeout)
    run = DispatchRun(
        first_day=first_day,
        last_day=last_day,
        status=DispatchRunStatus.RUNNING,
        started_at=now,
        started_by_id=actor.user_id,
    )
    session.add(run)
    try:
        session.flush()
    except OperationalError as error:
        raise ConflictError(_busy_message()) from error
    run.visits_created = generate_visits(session, first_day, last_day)
    visits = _load_visits(session, first_day, last_day)
    movable = [v for v in visits if v.status in REPLANNED_STATUSES and not v.is_hand_edited]
    movable_ids = {v.id for v in movable}
    for visit in movable:
        _clear_plan(visit)
    session.flush()  # free the old slots before anything is booked again
    caregivers = _load_caregivers(session, {v.provider_id for v in movable})
    last_caregiver = _last_caregivers(session, first_day)
    assigned = unassigned = 0
    engine = dispatcher or RoutingDispatcher(
        time_limit_seconds, patience=DISPATCH_PATIENCE_ITERATIONS, seed=DISPATCH_SEED
    )
    for day in _days(first_day, last_day):
        todays = [v for v in visits if v.visit_on == day]
        bookings = _fixed_bookings(todays)
        by_provider: dict[int, list[Visit]] = defaultdict(list)
        for visit in todays:
            if visit.id in movable_ids:
                by_provider[visit.provider_id].append(visit)
        groups = [
            _prepare_group(
                by_provider[provider_id],
                caregivers.get(provider_id, []),
                bookings,
                last_caregiver,
                day,
                now,
            )
            for provider_id in sorted(by_provider)
        ]
        results = solve_all(engine, [g.problem for g in groups], speeds_kmh, workers)
        for group, result in zip(groups, results, strict=True):
            routed, left = _apply_result(group, result)
            assigned += routed
            unassigned += left
        for visit in todays:
            if visit.caregiver_id is not None and visit.status in _BOOKED:
                last_caregiver[visit.care_plan_id] = visit.caregiver_id
    run.visits_assigned = assigned
    run.visits_unassigned = unassigned
    run.status = DispatchRunStatus.COMPLETED
    run.finished_at = now
    try:
        session.flush()
    except IntegrityError as error:
        raise ConflictError(
            gettext("A caregiver's bookings changed during dispatch. Please run it again.")
        ) from error
    record_event(
        session,
        actor,
        "dispatch",
        "dispatch_run",
        run.id,
        now=now,
        detail={
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "visits_created": run.visits_created,
            "visits_assigned": assigned,
            "visits_unassigned": unassigned,
        },
    )
    session.flush()
    return run


def _busy_message() -> str:
    return gettext("Another dispatch run is in progress. Please try again when it has finished.")


def _take_dispatch_lock(session: Session, timeout: dt.timedelta) -> None:
    """Exactly one dispatch at a time across processes and hosts (PostgreSQL advisory lock).

    The lock is held until the transaction ends. SQLite has no advisory locks; there every
    transaction begins IMMEDIATE (careapp.db), holding the database's write lock from its first
    statement, which serializes dispatch runs.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    deadline = time.monotonic() + timeout.total_seconds()
    while not session.scalar(select(func.pg_try_advisory_xact_lock(DISPATCH_LOCK_KEY))):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ConflictError(_busy_message())
        time.sleep(min(0.2, remaining))


def _days(first_day: dt.date, last_day: dt.date) -> Iterable[dt.date]:
    for offset in range((last_day - first_day).days + 1):
        yield first_day + dt.timedelta(days=offset)


def _load_visits(session: Session, first_day: dt.date, last_day: dt.date) -> list[Visit]:
    """Every visit of the days that occupies or may occupy a caregiver, with home and plan."""
    return list(
        session.scalars(
            select(Visit)
            .where(
                Visit.visit_on >= first_day,
                Visit.visit_on <= last_day,
                Visit.status.in_([*REPLANNED_STATUSES, *FIXED_STATUSES]),
            )
            .options(
                joinedload(Visit.person).joinedload(Person.district),
                joinedload(Visit.care_plan),
            )
            .order_by(Visit.visit_on, Visit.provider_id, Visit.id)
            # Lock them (PostgreSQL; in this order, like a roster move locks a provider's day)
            # so a hand move waits for the run, or the run sees the move it waited for.
            .with_for_update(of=Visit)
        )
    )


def _load_caregivers(session: Session, provider_ids: set[int]) -> dict[int, list[Caregiver]]:
    if not provider_ids:
        return {}
    by_provider: dict[int, list[Caregiver]] = defaultdict(list)
    for caregiver in session.scalars(
        select(Caregiver)
        .where(Caregiver.provider_id.in_(provider_ids), Caregiver.is_enabled.is_(True))
        .order_by(Caregiver.id)
    ):
        by_provider[caregiver.provider_id].append(caregiver)
    return by_provider


def _last_caregivers(session: Session, first_day: dt.date) -> dict[int, int]:
    """Care plan id -> the caregiver of the plan's most recent visit before `first_day`."""
    latest = (
        select(Visit.care_plan_id, func.max(Visit.visit_on).label("visit_on"))
        .where(
            Visit.caregiver_id.is_not(None),
            Visit.visit_on < first_day,
            Visit.visit_on >= first_day - CONTINUITY_LOOKBACK,
            Visit.status != VisitStatus.CANCELLED,
        )
        .group_by(Visit.care_plan_id)
        .subquery()
    )
    rows = session.execute(
        select(Visit.care_plan_id, Visit.caregiver_id).join(
            latest,
            and_(Visit.care_plan_id == latest.c.care_plan_id, Visit.visit_on == latest.c.visit_on),
        )
    )
    return {plan_id: caregiver_id for plan_id, caregiver_id in rows if caregiver_id is not None}


def _clear_plan(visit: Visit) -> None:
    visit.caregiver_id = None
    visit.planned_start = None
    visit.planned_end = None
    visit.route_order = None
    visit.travel_minutes = None
    visit.status = VisitStatus.UNASSIGNED
    visit.unassigned_reason = None


@dataclass(frozen=True)
class _Kept:
    """A visit that stays in its caregiver's day, with its planned times."""

    visit: Visit
    start: dt.datetime
    end: dt.datetime


def _fixed_bookings(visits: Sequence[Visit]) -> dict[int, list[_Kept]]:
    """Caregiver id -> the day's visits that stay in their day (they keep time and caregiver)."""
    bookings: dict[int, list[_Kept]] = defaultdict(list)
    for visit in visits:
        if (
            visit.caregiver_id is not None
            and visit.planned_start is not None
            and visit.planned_end is not None
            and visit.planned_start < visit.planned_end
            and visit.status in _BOOKED
        ):
            bookings[visit.caregiver_id].append(
                _Kept(visit, visit.planned_start, visit.planned_end)
            )
    return bookings


@dataclass
class _Group:
    """One provider's movable visits of one day, and the problem handed to the dispatcher."""

    by_id: dict[int, Visit]
    fixed: dict[int, Visit]
    problem: Problem


def _prepare_group(
    visits: Sequence[Visit],
    caregivers: Sequence[Caregiver],
    bookings: Mapping[int, list[_Kept]],
    last_caregiver: Mapping[int, int],
    day: dt.date,
    now: dt.datetime,
) -> _Group:
    """The dispatcher's input for one provider's day (visits that cannot be routed are marked)."""
    fixed = {kept.visit.id: kept.visit for c in caregivers for kept in bookings.get(c.id, [])}
    requests = []
    for visit in visits:
        person = visit.person
        if person.home_lat is None or person.home_lon is None:
            visit.unassigned_reason = NO_HOME_LOCATION
            continue
        if visit.duration_minutes <= 0 or visit.window_end < visit.window_start:
            visit.unassigned_reason = NO_TIME_IN_WINDOW  # a broken row must not stop the run
            continue
        requests.append(
            VisitRequest(
                visit_id=visit.id,
                window_start=visit.window_start,
                window_end=visit.window_end,
                duration_minutes=visit.duration_minutes,
                required_qualifications=frozenset(visit.required_qualifications),
                location=Location(person.home_lat, person.home_lon),
                district_kind=person.district.kind.value,
                preferred_caregiver_id=visit.care_plan.preferred_caregiver_id,
                last_caregiver_id=last_caregiver.get(visit.care_plan_id),
            )
        )
    days = tuple(_caregiver_day(c, bookings.get(c.id, []), day, now) for c in caregivers)
    return _Group({visit.id: visit for visit in visits}, fixed, Problem(tuple(requests), days))


def _apply_result(group: _Group, result: DispatchResult) -> tuple[int, int]:
    """Store one provider's day as dispatched; return (assigned, unassigned)."""
    for placed in result.assignments:
        visit = group.by_id[placed.visit_id]
        visit.caregiver_id = placed.caregiver_id
        visit.planned_start = placed.start
        visit.planned_end = placed.end
        visit.route_order = placed.route_order
        visit.travel_minutes = placed.travel_minutes
        visit.status = VisitStatus.ASSIGNED
        visit.unassigned_reason = None
    for left in result.unassigned:
        group.by_id[left.visit_id].unassigned_reason = left.reason_code
    for stop in result.fixed_stops:
        kept = group.fixed[stop.visit_id]
        kept.route_order = stop.route_order
        kept.travel_minutes = stop.travel_minutes
    return len(result.assignments), len(group.by_id) - len(result.assignments)


def _caregiver_day(
    caregiver: Caregiver, kept: Sequence[_Kept], day: dt.date, now: dt.datetime
) -> CaregiverDay:
    """The caregiver's shift in city time (never starting in the past) and fixed bookings."""
    shift_start = city_datetime(day, caregiver.work_start)
    shift_end = city_datetime(day, caregiver.work_end)
    is_on_duty = (
        day.isoweekday() in caregiver.work_days and now < shift_end and shift_start < shift_end
    )
    shift_end = max(shift_start, shift_end)  # a shift recorded backwards is no shift at all
    shift_start = min(max(shift_start, now), shift_end)
    base = Location(caregiver.base_lat, caregiver.base_lon)
    return CaregiverDay(
        caregiver_id=caregiver.id,
        qualifications=frozenset(caregiver.qualifications),
        shift_start=shift_start,
        shift_end=shift_end,
        base=base,
        max_visits=max(0, caregiver.max_visits_per_day),
        existing=tuple(_booking(booking, base) for booking in kept),
        is_on_duty=is_on_duty,
    )


def _booking(kept: _Kept, base: Location) -> Booking:
    person = kept.visit.person
    lat, lon = person.home_lat, person.home_lon
    return Booking(
        visit_id=kept.visit.id,
        start=kept.start,
        end=kept.end,
        # A kept visit without a map location is taken to be at the caregiver's base: its time
        # still blocks the caregiver.
        location=Location(lat, lon) if lat is not None and lon is not None else base,
        district_kind=person.district.kind.value,
    )


@dataclass(frozen=True)
class DispatchRunRow:
    """A past dispatch run as the dispatch page lists it."""

    run: DispatchRun
    started_by: str | None


def recent_dispatch_runs(session: Session, limit: int = 10) -> list[DispatchRunRow]:
    rows = session.execute(
        select(DispatchRun, User.display_name)
        .outerjoin(User, User.id == DispatchRun.started_by_id)
        .order_by(DispatchRun.started_at.desc(), DispatchRun.id.desc())
        .limit(limit)
    )
    return [DispatchRunRow(run, name) for run, name in rows]
