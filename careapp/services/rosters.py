"""A provider manager's roster: each caregiver's route of a day or week, the visits left
unassigned, hand moves checked by dispatch's rules, and the exports (CSV, iCalendar, PDF).

The provider always comes from the actor; another provider's visit or caregiver is NotFound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, joinedload

from careapp.core.clock import city_datetime, city_today, to_city
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.core.identity import mask_name
from careapp.models.people import Person
from careapp.models.providers import Caregiver, Provider, ServiceItem
from careapp.models.roster import CalendarFeed
from careapp.models.users import Role
from careapp.models.visit import BOOKED_STATUSES, Visit
from careapp.reports.day_sheet import DaySheetData, DaySheetRoute, DaySheetStop, render_day_sheet
from careapp.reports.ical import CalendarEvent, render_calendar, visit_uid
from careapp.reports.spreadsheet import excel_csv
from careapp.security import new_token, token_hash
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.claims import check_in_distance_m
from careapp.services.i18n import localized
from scheduling.rosters import (
    DEFAULT_CONFIRM_TRAVEL_MINUTES,
    MoveCheck,
    check_move,
    route_map_svg,
    sequence_route,
)
from scheduling.types import Booking, CaregiverDay, Location, VisitRequest
from scheduling.visits import VisitStatus

_BOOKED = frozenset(VisitStatus(value) for value in BOOKED_STATUSES)
# A manager may move a visit until the caregiver has started it.
MOVABLE_STATUSES = (VisitStatus.UNASSIGNED, VisitStatus.ASSIGNED, VisitStatus.CONFIRMED)
# The days a calendar feed holds, around the day it is fetched.
FEED_DAYS_BEFORE = 14
FEED_DAYS_AFTER = 60


@dataclass(frozen=True)
class RosterVisit:
    visit_id: int
    route_order: int | None
    window_start: dt.datetime  # city time
    window_end: dt.datetime
    planned_start: dt.datetime | None  # city time
    planned_end: dt.datetime | None
    travel_minutes: int | None
    beneficiary_name: str
    address: str
    service_items: tuple[str, ...]
    status: VisitStatus
    unassigned_reason: str | None  # the code of why dispatch left it unassigned (scheduling.types)
    is_hand_edited: bool
    caregiver_id: int | None = None
    day: dt.date | None = None
    masked_name: str = ""
    address_area: str = ""  # district and township only
    location: Location | None = None

    @property
    def is_movable(self) -> bool:
        return self.status in MOVABLE_STATUSES

    @property
    def is_waiting(self) -> bool:
        """Unassigned and waiting for a caregiver: pages and exports say why."""
        return self.caregiver_id is None and self.status is VisitStatus.UNASSIGNED

    @property
    def time_label(self) -> str:
        if self.planned_start and self.planned_end:
            return f"{self.planned_start:%H:%M}–{self.planned_end:%H:%M}"
        return f"{self.window_start:%H:%M}–{self.window_end:%H:%M}"


@dataclass(frozen=True)
class CaregiverRoute:
    caregiver_id: int
    name: str
    visits: tuple[RosterVisit, ...]  # in route order
    base: Location | None = None
    has_calendar_feed: bool = False

    @property
    def travel_minutes(self) -> int:
        return sum(v.travel_minutes or 0 for v in self.visits)

    @property
    def has_map(self) -> bool:
        return any(v.location is not None for v in self.visits)


@dataclass(frozen=True)
class RosterDay:
    day: dt.date
    provider_name: str
    routes: tuple[CaregiverRoute, ...]
    unassigned: tuple[RosterVisit, ...]

    @property
    def previous_day(self) -> dt.date:
        return self.day - dt.timedelta(days=1)

    @property
    def next_day(self) -> dt.date:
        return self.day + dt.timedelta(days=1)

    @property
    def visit_count(self) -> int:
        return sum(len(route.visits) for route in self.routes) + len(self.unassigned)


@dataclass(frozen=True)
class WeekRow:
    """One caregiver across the week: their route on each day (Monday first)."""

    caregiver_id: int
    name: str
    days: tuple[CaregiverRoute, ...]

    @property
    def visit_count(self) -> int:
        return sum(len(route.visits) for route in self.days)

    @property
    def travel_minutes(self) -> int:
        return sum(route.travel_minutes for route in self.days)


@dataclass(frozen=True)
class RosterWeek:
    first_day: dt.date  # a Monday
    provider_name: str
    days: tuple[RosterDay, ...]
    rows: tuple[WeekRow, ...]

    @property
    def last_day(self) -> dt.date:
        return self.first_day + dt.timedelta(days=6)

    @property
    def previous_week(self) -> dt.date:
        return self.first_day - dt.timedelta(days=7)

    @property
    def next_week(self) -> dt.date:
        return self.first_day + dt.timedelta(days=7)

    @property
    def unassigned_count(self) -> int:
        return sum(len(day.unassigned) for day in self.days)


def move_rule_label(rule: str) -> str:
    """Why a move is refused, in the user's language (rules of `validation.validate_roster`)."""
    labels = {
        "missing_qualification": gettext("The caregiver lacks a qualification this visit needs."),
        "caregiver_off_duty": gettext("The caregiver does not work on this day."),
        "start_outside_window": gettext("The start is outside the visit's time window."),
        "outside_shift": gettext("The visit falls outside the caregiver's working hours."),
        "double_booking": gettext("The caregiver has another visit at that time."),
        "no_travel_time": gettext(
            "There is not enough time to travel from the previous visit or to the next one."
        ),
        "daily_limit_exceeded": gettext("The caregiver would exceed the daily limit of visits."),
    }
    return labels.get(rule, gettext("The move breaks a dispatch rule (%(rule)s).", rule=rule))


def _manager_provider(session: Session, actor: Actor) -> Provider:
    provider_id = actor.require_provider()
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFoundError(gettext("Not found."))
    return provider


def roster_for_day(session: Session, actor: Actor, day: dt.date) -> RosterDay:
    """The roster of the actor's provider on `day` (provider managers only)."""
    provider = _manager_provider(session, actor)
    return _roster_days(session, provider, day, day)[0]


def week_start(day: dt.date) -> dt.date:
    """The Monday of `day`'s week."""
    return day - dt.timedelta(days=day.weekday())


def roster_for_week(session: Session, actor: Actor, day: dt.date) -> RosterWeek:
    """The roster of the week holding `day` (Monday to Sunday), caregiver by caregiver."""
    provider = _manager_provider(session, actor)
    first = week_start(day)
    days = _roster_days(session, provider, first, first + dt.timedelta(days=6))
    caregivers: dict[int, str] = {}
    for roster_day in days:
        for route in roster_day.routes:
            caregivers.setdefault(route.caregiver_id, route.name)
    rows = []
    for caregiver_id, name in sorted(caregivers.items(), key=lambda item: (item[1], item[0])):
        routes = []
        for roster_day in days:
            found = next((r for r in roster_day.routes if r.caregiver_id == caregiver_id), None)
            routes.append(found or CaregiverRoute(caregiver_id, name, ()))
        rows.append(WeekRow(caregiver_id, name, tuple(routes)))
    return RosterWeek(first, provider.name, days, tuple(rows))


def _roster_days(
    session: Session, provider: Provider, first_day: dt.date, last_day: dt.date
) -> tuple[RosterDay, ...]:
    """The provider's roster of every day in `first_day`..`last_day`, in four queries."""
    visits = list(
        session.scalars(
            select(Visit)
            .where(
                Visit.provider_id == provider.id,
                Visit.visit_on >= first_day,
                Visit.visit_on <= last_day,
                Visit.status != VisitStatus.CANCELLED,
            )
            .options(joinedload(Visit.person).joinedload(Person.district))
            .order_by(Visit.visit_on, Visit.window_start, Visit.id)
        )
    )
    caregivers = list(
        session.scalars(
            select(Caregiver).where(Caregiver.provider_id == provider.id).order_by(Caregiver.name)
        )
    )
    with_feed = set(
        session.scalars(
            select(CalendarFeed.caregiver_id).where(
                CalendarFeed.caregiver_id.in_([c.id for c in caregivers]),
                CalendarFeed.revoked_at.is_(None),
            )
        )
    )
    names = _service_item_names(session, {code for v in visits for code in v.service_item_codes})
    days = []
    day = first_day
    while day <= last_day:
        by_caregiver: dict[int, list[RosterVisit]] = {c.id: [] for c in caregivers}
        unassigned = []
        for visit in visits:
            if visit.visit_on != day:
                continue
            row = _roster_visit(visit, names)
            if visit.caregiver_id is not None and visit.caregiver_id in by_caregiver:
                by_caregiver[visit.caregiver_id].append(row)
            else:
                unassigned.append(row)
        routes = tuple(
            CaregiverRoute(
                c.id,
                c.name,
                tuple(sorted(by_caregiver[c.id], key=_route_key)),
                Location(c.base_lat, c.base_lon),
                c.id in with_feed,
            )
            for c in caregivers
            if c.is_enabled or by_caregiver[c.id]
        )
        days.append(RosterDay(day, provider.name, routes, tuple(unassigned)))
        day += dt.timedelta(days=1)
    return tuple(days)


@dataclass(frozen=True)
class RosterVisitDetail:
    visit: RosterVisit
    day: dt.date
    caregiver_name: str | None
    checked_in_at: dt.datetime | None  # city time
    checked_out_at: dt.datetime | None
    check_in_flags: tuple[str, ...]
    note: str | None
    caregiver_choices: tuple[tuple[int, str], ...] = ()  # enabled caregivers of the provider
    check_in_distance_m: int | None = None  # from the home


def roster_visit(session: Session, actor: Actor, visit_id: int) -> RosterVisitDetail:
    """One visit of the actor's provider; another provider's visit is NotFoundError (a 404)."""
    provider_id = actor.require_provider()
    visit = session.scalar(
        select(Visit)
        .where(Visit.id == visit_id, Visit.provider_id == provider_id)
        .options(joinedload(Visit.person).joinedload(Person.district), joinedload(Visit.caregiver))
    )
    if visit is None:
        raise NotFoundError(gettext("Visit not found."))
    names = _service_item_names(session, set(visit.service_item_codes))
    choices = session.execute(
        select(Caregiver.id, Caregiver.name)
        .where(Caregiver.provider_id == provider_id, Caregiver.is_enabled.is_(True))
        .order_by(Caregiver.name, Caregiver.id)
    )
    return RosterVisitDetail(
        visit=_roster_visit(visit, names),
        day=visit.visit_on,
        caregiver_name=visit.caregiver.name if visit.caregiver else None,
        checked_in_at=to_city(visit.checked_in_at) if visit.checked_in_at else None,
        checked_out_at=to_city(visit.checked_out_at) if visit.checked_out_at else None,
        check_in_flags=tuple(visit.check_in_flags or ()),
        note=visit.note,
        caregiver_choices=tuple((cid, name) for cid, name in choices),
        check_in_distance_m=check_in_distance_m(visit),
    )


# --- moving a visit by hand ---------------------------------------------------------------


class LongTravelError(ConflictError):
    """The move keeps dispatch's hard rules but gives the caregiver more travel than the limit:
    it is made only once the manager confirms these minutes (`accepted_travel_minutes`)."""

    def __init__(self, check: MoveCheck, limit_minutes: int) -> None:
        super().__init__(
            gettext(
                "This move needs %(minutes)d minutes of travel: %(to)d to reach the visit and "
                "%(on)d on to the next one, more than the %(limit)d minutes a move may add "
                "without a second look. Move it anyway?",
                minutes=check.travel_minutes,
                to=check.travel_to,
                on=check.travel_on,
                limit=limit_minutes,
            )
        )
        self.travel_minutes = check.travel_minutes


def move_visit(
    session: Session,
    actor: Actor,
    visit_id: int,
    caregiver_id: int,
    start_time: dt.time | None,
    now: dt.datetime,
    speeds_kmh: Mapping[str, float],
    *,
    confirm_travel_over: int = DEFAULT_CONFIRM_TRAVEL_MINUTES,
    accepted_travel_minutes: int | None = None,
) -> Visit:
    """Give a visit of the actor's provider to `caregiver_id` (at `start_time`, or at its
    current start) if dispatch's hard rules hold; it is then edited by hand, so re-dispatch
    keeps it.

    A move whose travel around the visit exceeds `confirm_travel_over` minutes is refused with
    LongTravelError (naming the minutes) unless the manager has accepted at least that much
    travel (`accepted_travel_minutes`): never made silently.

    Concurrency: the provider's visits of that day are locked (SELECT … FOR UPDATE, in id order
    like dispatch), so moves and dispatch runs of a day take turns; the database constraint
    `visits_no_double_booking` is the last line. A move that loses a race is a ConflictError.
    """
    provider = _manager_provider(session, actor)
    found = session.scalar(
        select(Visit.visit_on).where(Visit.id == visit_id, Visit.provider_id == provider.id)
    )
    if found is None:
        raise NotFoundError(gettext("Visit not found."))
    try:
        day_visits = _lock_provider_day(session, provider.id, found)
    except OperationalError as error:
        raise ConflictError(_busy_message()) from error
    visit = next(v for v in day_visits if v.id == visit_id)
    if visit.status not in MOVABLE_STATUSES:
        raise ConflictError(
            gettext("This visit can no longer be moved: it has started, ended or been cancelled.")
        )
    caregiver = session.get(Caregiver, caregiver_id)
    if caregiver is None or caregiver.provider_id != provider.id or not caregiver.is_enabled:
        raise InvalidInputError(
            gettext("Choose a caregiver of your company."), field="caregiver_id"
        )
    person = visit.person
    if person.home_lat is None or person.home_lon is None:
        raise InvalidInputError(gettext("The home has no map location."))
    if start_time is not None:
        start = city_datetime(visit.visit_on, start_time)
    else:
        start = to_city(visit.planned_start or visit.window_start)
    if (
        visit.caregiver_id == caregiver.id
        and visit.planned_start == start
        and visit.status in _BOOKED
    ):
        raise ConflictError(
            gettext("The visit is already planned for this caregiver at this time.")
        )
    request = VisitRequest(
        visit_id=visit.id,
        window_start=visit.window_start,
        window_end=visit.window_end,
        duration_minutes=visit.duration_minutes,
        required_qualifications=frozenset(visit.required_qualifications),
        location=Location(person.home_lat, person.home_lon),
        district_kind=person.district.kind.value,
    )
    others = [v for v in day_visits if v.id != visit.id]
    target_day = _caregiver_day(caregiver, visit.visit_on, now, _bookings(others, caregiver))
    check = check_move(request, target_day, start, speeds_kmh)
    if not check.is_allowed:
        raise ConflictError(" ".join(move_rule_label(rule) for rule in check.broken_rules))
    if check.needs_travel_confirmation(confirm_travel_over, accepted_travel_minutes):
        raise LongTravelError(check, confirm_travel_over)
    before = {
        "caregiver_id": visit.caregiver_id,
        "planned_start": visit.planned_start.isoformat() if visit.planned_start else None,
        "status": visit.status.value,
    }
    old_caregiver_id = visit.caregiver_id
    visit.caregiver_id = caregiver.id
    visit.planned_start = start
    visit.planned_end = start + request.duration
    visit.status = VisitStatus.ASSIGNED
    visit.unassigned_reason = None
    visit.is_hand_edited = True
    by_id = {v.id: v for v in day_visits}
    for stop in check.route:
        by_id[stop.visit_id].route_order = stop.route_order
        by_id[stop.visit_id].travel_minutes = stop.travel_minutes
    if old_caregiver_id is not None and old_caregiver_id != caregiver.id:
        old = session.get(Caregiver, old_caregiver_id)
        if old is not None:
            left = _bookings(others, old)
            for stop in sequence_route(old.id, _base(old), left, speeds_kmh):
                by_id[stop.visit_id].route_order = stop.route_order
                by_id[stop.visit_id].travel_minutes = stop.travel_minutes
    try:
        session.flush()
    except IntegrityError as error:
        raise ConflictError(
            gettext(
                "Someone else has just booked this caregiver at that time. "
                "Please reload the roster and try again."
            )
        ) from error
    except OperationalError as error:
        raise ConflictError(_busy_message()) from error
    record_event(
        session,
        actor,
        "visit.move",
        "visit",
        visit.id,
        now=now,
        detail={
            "from": before,
            "to": {"caregiver_id": caregiver.id, "planned_start": start.isoformat()},
            "travel_minutes": check.travel_minutes,
        },
    )
    session.flush()
    return visit


def _busy_message() -> str:
    return gettext(
        "The roster of this day is being changed by someone else. Please reload and try again."
    )


def _lock_provider_day(session: Session, provider_id: int, day: dt.date) -> list[Visit]:
    """Every visit of the provider on `day`, freshly read and locked for update (id order)."""
    return list(
        session.scalars(
            select(Visit)
            .where(Visit.provider_id == provider_id, Visit.visit_on == day)
            .options(joinedload(Visit.person).joinedload(Person.district))
            .order_by(Visit.id)
            .with_for_update(of=Visit)
            .execution_options(populate_existing=True)
        )
    )


def _base(caregiver: Caregiver) -> Location:
    return Location(caregiver.base_lat, caregiver.base_lon)


def _bookings(visits: Sequence[Visit], caregiver: Caregiver) -> tuple[Booking, ...]:
    """The caregiver's booked visits among `visits`, as the dispatcher's bookings."""
    bookings = []
    for visit in visits:
        if (
            visit.caregiver_id != caregiver.id
            or visit.status not in _BOOKED
            or visit.planned_start is None
            or visit.planned_end is None
            or visit.planned_end <= visit.planned_start
        ):
            continue
        person = visit.person
        lat, lon = person.home_lat, person.home_lon
        home = Location(lat, lon) if lat is not None and lon is not None else None
        bookings.append(
            Booking(
                visit_id=visit.id,
                start=visit.planned_start,
                end=visit.planned_end,
                # Without a map location the booking still blocks its time (as in dispatch).
                location=home or _base(caregiver),
                district_kind=person.district.kind.value,
            )
        )
    return tuple(bookings)


def _caregiver_day(
    caregiver: Caregiver, day: dt.date, now: dt.datetime, existing: tuple[Booking, ...]
) -> CaregiverDay:
    """The caregiver's shift as dispatch sees it: in city time, never starting in the past."""
    shift_start = city_datetime(day, caregiver.work_start)
    shift_end = city_datetime(day, caregiver.work_end)
    is_on_duty = (
        day.isoweekday() in caregiver.work_days and now < shift_end and shift_start < shift_end
    )
    shift_end = max(shift_start, shift_end)
    shift_start = min(max(shift_start, now), shift_end)
    return CaregiverDay(
        caregiver_id=caregiver.id,
        qualifications=frozenset(caregiver.qualifications),
        shift_start=shift_start,
        shift_end=shift_end,
        base=_base(caregiver),
        max_visits=max(0, caregiver.max_visits_per_day),
        existing=existing,
        is_on_duty=is_on_duty,
    )


# --- the route map ------------------------------------------------------------------------


def caregiver_route_map(session: Session, actor: Actor, caregiver_id: int, day: dt.date) -> str:
    """An SVG map of a caregiver's route on `day`: managers of their provider, or themself."""
    caregiver = _caregiver_for(session, actor, caregiver_id)
    visits = session.scalars(
        select(Visit)
        .where(
            Visit.caregiver_id == caregiver.id,
            Visit.visit_on == day,
            Visit.status.in_([*_BOOKED, VisitStatus.MISSED]),
        )
        .options(joinedload(Visit.person))
        .order_by(Visit.route_order.is_(None), Visit.route_order, Visit.planned_start, Visit.id)
    )
    stops = [
        Location(v.person.home_lat, v.person.home_lon)
        for v in visits
        if v.person.home_lat is not None and v.person.home_lon is not None
    ]
    return route_map_svg(
        _base(caregiver),
        stops,
        title=gettext("Route of %(name)s on %(day)s", name=caregiver.name, day=day.isoformat()),
        base_label=gettext("Base"),
    )


def _caregiver_for(session: Session, actor: Actor, caregiver_id: int) -> Caregiver:
    """A caregiver the actor may see: one of a manager's own company, or the caregiver
    themself. Anybody else's is NotFoundError."""
    if actor.is_role(Role.PROVIDER_MANAGER) and actor.provider_id is not None:
        caregiver = session.get(Caregiver, caregiver_id)
        if caregiver is None or caregiver.provider_id != actor.provider_id:
            raise NotFoundError(gettext("Caregiver not found."))
        return caregiver
    if actor.is_role(Role.CAREGIVER) and actor.user_id is not None:
        caregiver = session.get(Caregiver, caregiver_id)
        if caregiver is None or caregiver.user_id != actor.user_id:
            raise NotFoundError(gettext("Caregiver not found."))
        return caregiver
    raise PermissionDeniedError(gettext("You do not have permission to do this."))


def own_caregiver_id(session: Session, actor: Actor) -> int:
    """The caregiver record of a caregiver's account."""
    caregiver_id = session.scalar(select(Caregiver.id).where(Caregiver.user_id == actor.user_id))
    if actor.user_id is None or caregiver_id is None or not actor.is_role(Role.CAREGIVER):
        raise NotFoundError(
            gettext("Your account is not linked to a caregiver. Please ask your manager.")
        )
    return caregiver_id


# --- calendar feeds -----------------------------------------------------------------------


def create_calendar_feed(
    session: Session, actor: Actor, caregiver_id: int, now: dt.datetime
) -> str:
    """A new secret subscription link for the caregiver (the previous one stops working).
    Returns the plain token; only its hash is stored."""
    caregiver = _caregiver_for(session, actor, caregiver_id)
    _revoke_feeds(session, caregiver.id, now)
    token = new_token()
    session.add(
        CalendarFeed(
            caregiver_id=caregiver.id,
            token_hash=token_hash(token),
            created_at=now,
            created_by_id=actor.user_id,
        )
    )
    record_event(session, actor, "calendar_feed.create", "caregiver", caregiver.id, now=now)
    session.flush()
    return token


def revoke_calendar_feed(
    session: Session, actor: Actor, caregiver_id: int, now: dt.datetime
) -> int:
    """Stop the caregiver's subscription link; returns how many links were revoked."""
    caregiver = _caregiver_for(session, actor, caregiver_id)
    count = _revoke_feeds(session, caregiver.id, now)
    record_event(session, actor, "calendar_feed.revoke", "caregiver", caregiver.id, now=now)
    session.flush()
    return count


def has_calendar_feed(session: Session, actor: Actor, caregiver_id: int) -> bool:
    caregiver = _caregiver_for(session, actor, caregiver_id)
    return (
        session.scalar(
            select(CalendarFeed.id).where(
                CalendarFeed.caregiver_id == caregiver.id, CalendarFeed.revoked_at.is_(None)
            )
        )
        is not None
    )


def _revoke_feeds(session: Session, caregiver_id: int, now: dt.datetime) -> int:
    feeds = list(
        session.scalars(
            select(CalendarFeed).where(
                CalendarFeed.caregiver_id == caregiver_id, CalendarFeed.revoked_at.is_(None)
            )
        )
    )
    for feed in feeds:
        feed.revoked_at = now
    return len(feeds)


def calendar_feed(session: Session, token: str, now: dt.datetime) -> bytes:
    """The iCalendar feed behind a subscription token: the caregiver's own booked visits from
    two weeks back to two months ahead, with masked names and the address area only.
    An unknown or revoked token is NotFoundError."""
    feed = session.scalar(
        select(CalendarFeed)
        .where(CalendarFeed.token_hash == token_hash(token), CalendarFeed.revoked_at.is_(None))
        .options(joinedload(CalendarFeed.caregiver))
    )
    if feed is None:
        raise NotFoundError(gettext("This calendar link does not exist or was revoked."))
    today = city_today(now)
    visits = list(
        session.scalars(
            select(Visit)
            .where(
                Visit.caregiver_id == feed.caregiver_id,
                Visit.visit_on >= today - dt.timedelta(days=FEED_DAYS_BEFORE),
                Visit.visit_on <= today + dt.timedelta(days=FEED_DAYS_AFTER),
                Visit.status.in_(_BOOKED),
                Visit.planned_start.is_not(None),
            )
            .options(joinedload(Visit.person).joinedload(Person.district))
            .order_by(Visit.planned_start, Visit.id)
        )
    )
    names = _service_item_names(session, {c for v in visits for c in v.service_item_codes})
    events = []
    for visit in visits:
        start = visit.planned_start or visit.window_start  # planned: filtered above
        items = "、".join(names.get(code, code) for code in visit.service_item_codes)
        area = _address_area(visit.person)
        events.append(
            CalendarEvent(
                uid=visit_uid(visit.id),
                start=start,
                end=visit.planned_end or start,
                summary=f"{mask_name(visit.person.name)} · {items}",
                location=area,
                description=gettext("Service items: %(items)s", items=items),
            )
        )
    name = gettext("Visits of %(name)s", name=feed.caregiver.name)
    return render_calendar(name, events, now)


# --- exports --------------------------------------------------------------------------------


def roster_csv(
    session: Session,
    actor: Actor,
    first_day: dt.date,
    last_day: dt.date,
    now: dt.datetime,
    *,
    status_label: Callable[[VisitStatus], str],
    reason_label: Callable[[str | None], str],
) -> bytes:
    """The roster of these days as CSV for Excel: masked names, address areas, no ID numbers;
    `status_label` and `reason_label` name a visit's status and why it is unassigned (the web
    layer's labels)."""
    provider = _manager_provider(session, actor)
    if last_day < first_day or (last_day - first_day).days > 30:
        raise InvalidInputError(gettext("Export at most 31 days at a time."))
    days = _roster_days(session, provider, first_day, last_day)
    header = [
        gettext("Date"),
        gettext("Caregiver"),
        gettext("Order"),
        gettext("Start"),
        gettext("End"),
        gettext("Travel (min)"),
        gettext("Beneficiary"),
        gettext("Area"),
        gettext("Service items"),
        gettext("Status"),
        gettext("Why unassigned"),
    ]
    rows: list[list[str | int | None]] = []
    for day in days:
        for route in day.routes:
            for visit in route.visits:
                rows.append(_csv_row(day.day, route.name, visit, status_label, reason_label))
        for visit in day.unassigned:
            rows.append(_csv_row(day.day, "", visit, status_label, reason_label))
    record_event(
        session,
        actor,
        "roster.export_csv",
        "provider",
        provider.id,
        now=now,
        detail={"first_day": first_day.isoformat(), "last_day": last_day.isoformat()},
    )
    session.flush()
    return excel_csv(header, rows)


def _csv_row(
    day: dt.date,
    caregiver: str,
    visit: RosterVisit,
    status_label: Callable[[VisitStatus], str],
    reason_label: Callable[[str | None], str],
) -> list[str | int | None]:
    start = visit.planned_start or visit.window_start
    end = visit.planned_end or visit.window_end
    return [
        day.isoformat(),
        caregiver,
        visit.route_order,
        f"{start:%H:%M}",
        f"{end:%H:%M}",
        visit.travel_minutes,
        visit.masked_name,
        visit.address_area,
        "、".join(visit.service_items),
        status_label(visit.status),
        reason_label(visit.unassigned_reason) if visit.is_waiting else None,
    ]


def day_sheet_pdf(
    session: Session,
    actor: Actor,
    day: dt.date,
    caregiver_id: int | None,
    now: dt.datetime,
    *,
    status_label: Callable[[VisitStatus], str],
    reason_label: Callable[[str | None], str],
) -> bytes:
    """The printable day sheet of one caregiver, or of the whole company (with unassigned);
    `status_label` and `reason_label` name a visit's status and why it is unassigned (the web
    layer's labels)."""
    provider = _manager_provider(session, actor)
    roster = _roster_days(session, provider, day, day)[0]
    routes = list(roster.routes)
    if caregiver_id is not None:
        routes = [r for r in routes if r.caregiver_id == caregiver_id]
        if not routes:
            raise NotFoundError(gettext("Caregiver not found."))
    sheet_routes = [
        DaySheetRoute(
            route.name,
            gettext(
                "%(count)d visits · %(minutes)d min travel",
                count=len(route.visits),
                minutes=route.travel_minutes,
            ),
            tuple(_sheet_stop(v, status_label, reason_label) for v in route.visits),
        )
        for route in routes
    ]
    if caregiver_id is None and roster.unassigned:
        sheet_routes.append(
            DaySheetRoute(
                gettext("Unassigned visits"),
                gettext("%(count)d visits", count=len(roster.unassigned)),
                tuple(_sheet_stop(v, status_label, reason_label) for v in roster.unassigned),
            )
        )
    data = DaySheetData(
        provider_name=provider.name,
        day=day,
        printed_at=to_city(now),
        headings=(
            "#",
            gettext("Time"),
            gettext("Travel"),
            gettext("Beneficiary"),
            gettext("Address"),
            gettext("Service items"),
            gettext("Status"),
        ),
        routes=tuple(sheet_routes),
        empty_text=gettext("No visits on this day."),
    )
    record_event(
        session,
        actor,
        "roster.day_sheet",
        "provider",
        provider.id,
        now=now,
        detail={"day": day.isoformat(), "caregiver_id": caregiver_id},
    )
    session.flush()
    return render_day_sheet(data)


def _sheet_stop(
    visit: RosterVisit,
    status_label: Callable[[VisitStatus], str],
    reason_label: Callable[[str | None], str],
) -> DaySheetStop:
    travel = (
        gettext("%(minutes)d min", minutes=visit.travel_minutes)
        if visit.travel_minutes is not None
        else ""
    )
    return DaySheetStop(
        order=str(visit.route_order or ""),
        time=visit.time_label,
        travel=travel,
        beneficiary=visit.beneficiary_name,
        address=visit.address,
        service_items="、".join(visit.service_items),
        status=status_label(visit.status),
        note=reason_label(visit.unassigned_reason) if visit.is_waiting else "",
    )


# --- helpers ------------------------------------------------------------------------------


def _route_key(visit: RosterVisit) -> tuple[bool, int, dt.datetime, int]:
    return (
        visit.route_order is None,
        visit.route_order or 0,
        visit.planned_start or visit.window_start,
        visit.visit_id,
    )


def _service_item_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    items = session.scalars(select(ServiceItem).where(ServiceItem.code.in_(codes)))
    return {item.code: localized(item) for item in items}


def _address_area(person: Person) -> str:
    """The district and township of a home, never the street address."""
    district = localized(person.district)
    return " ".join(part for part in (district, person.township) if part)


def _roster_visit(visit: Visit, names: dict[str, str]) -> RosterVisit:
    person = visit.person
    has_home = person.home_lat is not None and person.home_lon is not None
    return RosterVisit(
        visit_id=visit.id,
        route_order=visit.route_order,
        window_start=to_city(visit.window_start),
        window_end=to_city(visit.window_end),
        planned_start=to_city(visit.planned_start) if visit.planned_start else None,
        planned_end=to_city(visit.planned_end) if visit.planned_end else None,
        travel_minutes=visit.travel_minutes,
        beneficiary_name=person.name,
        address=person.address,
        service_items=tuple(names.get(code, code) for code in visit.service_item_codes),
        status=visit.status,
        unassigned_reason=visit.unassigned_reason,
        is_hand_edited=visit.is_hand_edited,
        caregiver_id=visit.caregiver_id,
        day=visit.visit_on,
        masked_name=mask_name(person.name),
        address_area=_address_area(person),
        location=Location(person.home_lat, person.home_lon)  # type: ignore[arg-type]  # checked
        if has_home
        else None,
    )
