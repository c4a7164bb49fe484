"""A caregiver's day: their visits, check-in and check-out (electronic visit verification)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import format_date, gettext, lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from careapp.core.clock import city_today
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.models.providers import Caregiver, ServiceItem
from careapp.models.users import Role
from careapp.models.visit import VerificationMethod, Visit
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.claims import ClaimAuditSettings, audit_visits
from careapp.services.ratings import issue_rating_token
from scheduling.visits import (
    DEFAULT_MAX_DISTANCE_M,
    DEFAULT_MAX_OUTSIDE_MINUTES,
    CheckInProblem,
    InvalidTransitionError,
    Position,
    VisitAction,
    VisitStatus,
    check_in_flags,
    check_in_problems,
    done_item_problems,
    next_state_for,
    position_problems,
)

# The visits a caregiver sees on their day: everything given to them except cancelled ones.
DAY_STATUSES = (
    VisitStatus.ASSIGNED,
    VisitStatus.CONFIRMED,
    VisitStatus.CHECKED_IN,
    VisitStatus.COMPLETED,
    VisitStatus.MISSED,
)
MAX_NOTE_LENGTH = 500
MAX_LOCATION_NOTE_LENGTH = 200


def caregiver_for_actor(session: Session, actor: Actor) -> Caregiver:
    """The caregiver record of the acting user (a caregiver account linked via user_id)."""
    user_id = actor.require(
        Role.CAREGIVER, message=lazy_gettext("Only caregivers have a day of visits.")
    )
    caregiver = session.scalar(select(Caregiver).where(Caregiver.user_id == user_id))
    if caregiver is None:
        raise NotFoundError(
            gettext("Your account is not linked to a caregiver. Please ask your manager.")
        )
    return caregiver


def caregiver_day(session: Session, actor: Actor, day: dt.date) -> list[Visit]:
    """The acting caregiver's visits on `day`, in route order, with each person loaded."""
    caregiver = caregiver_for_actor(session, actor)
    query = (
        select(Visit)
        .where(
            Visit.caregiver_id == caregiver.id,
            Visit.visit_on == day,
            Visit.status.in_(DAY_STATUSES),
        )
        .options(selectinload(Visit.person))
        .order_by(
            Visit.route_order.is_(None),
            Visit.route_order,
            Visit.planned_start,
            Visit.window_start,
            Visit.id,
        )
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class UpcomingDay:
    """One of the caregiver's coming days (read-only: check-in opens on the day)."""

    day: dt.date
    visits: list[Visit]


def caregiver_upcoming_days(
    session: Session, actor: Actor, today: dt.date, days: int
) -> list[UpcomingDay]:
    """The acting caregiver's visits on the `days` days after `today`, grouped by day (every day
    listed, empty or not), each in route order with its person; one query."""
    caregiver = caregiver_for_actor(session, actor)
    coming = [today + dt.timedelta(days=offset) for offset in range(1, max(0, days) + 1)]
    if not coming:
        return []
    query = (
        select(Visit)
        .where(
            Visit.caregiver_id == caregiver.id,
            Visit.visit_on >= coming[0],
            Visit.visit_on <= coming[-1],
            Visit.status.in_(DAY_STATUSES),
        )
        .options(selectinload(Visit.person))
        .order_by(
            Visit.visit_on,
            Visit.route_order.is_(None),
            Visit.route_order,
            Visit.planned_start,
            Visit.window_start,
            Visit.id,
        )
    )
    by_day: dict[dt.date, list[Visit]] = {day: [] for day in coming}
    for visit in session.scalars(query):
        by_day[visit.visit_on].append(visit)
    return [UpcomingDay(day, visits) for day, visits in by_day.items()]


def get_visit_for_caregiver(session: Session, actor: Actor, visit_id: int) -> Visit:
    """One of the acting caregiver's visits; another caregiver's visit is NotFoundError."""
    caregiver = caregiver_for_actor(session, actor)
    visit = session.scalar(
        select(Visit)
        .where(Visit.id == visit_id)
        .options(selectinload(Visit.person), selectinload(Visit.provider))
    )
    if visit is None or visit.caregiver_id != caregiver.id:
        raise NotFoundError(gettext("Visit not found."))
    return visit


def service_items_by_code(session: Session, codes: Iterable[str]) -> dict[str, ServiceItem]:
    """Catalogue entries for these codes, in one query (unknown codes are left out)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    items = session.scalars(select(ServiceItem).where(ServiceItem.code.in_(wanted)))
    return {item.code: item for item in items}


def check_in(
    session: Session,
    actor: Actor,
    visit_id: int,
    lat: float | None,
    lon: float | None,
    location_note: str | None,
    now: dt.datetime,
    *,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    max_outside_minutes: float = DEFAULT_MAX_OUTSIDE_MINUTES,
) -> Visit:
    """Record the arrival: time and position (or the typed reason there is none), and flags.

    A check-in far from the home or outside the window is accepted but flagged for review.
    """
    visit = _lock_visit_for_caregiver(session, actor, visit_id)
    target = _next_state(visit, VisitAction.CHECK_IN)
    if city_today(now) < visit.visit_on:
        raise ConflictError(
            gettext(
                "This visit is on %(day)s: check in on that day.", day=format_date(visit.visit_on)
            )
        )
    position = _position(lat, lon)
    note = (location_note or "").strip() or None
    problems = check_in_problems(position, note)
    if CheckInProblem.INVALID_POSITION in problems:
        raise InvalidInputError(_invalid_position_message(), field="location_note")
    if CheckInProblem.REASON_REQUIRED in problems:
        raise InvalidInputError(
            gettext("Your location is unavailable: type the reason (at least 4 characters)."),
            field="location_note",
        )
    if note is not None and len(note) > MAX_LOCATION_NOTE_LENGTH:
        raise InvalidInputError(
            gettext("Keep the reason under %(count)d characters.", count=MAX_LOCATION_NOTE_LENGTH),
            field="location_note",
        )
    person = visit.person
    home = (
        (person.home_lat, person.home_lon)
        if person.home_lat is not None and person.home_lon is not None
        else None
    )
    flags = check_in_flags(
        visit.window_start,
        visit.window_end,
        now,
        home,
        position,
        max_distance_m=max_distance_m,
        max_outside_minutes=max_outside_minutes,
    )
    visit.status = target
    visit.verification = VerificationMethod.PHONE
    visit.checked_in_at = now
    visit.check_in_lat, visit.check_in_lon = position if position else (None, None)
    visit.location_note = note
    visit.check_in_flags = list(flags)
    record_event(
        session,
        actor,
        "visit.check_in",
        "visit",
        visit.id,
        now=now,
        detail={"flags": list(flags), "has_location": position is not None},
    )
    session.flush()
    return visit


def check_out(
    session: Session,
    actor: Actor,
    visit_id: int,
    done_item_codes: Iterable[str],
    note: str | None,
    lat: float | None,
    lon: float | None,
    now: dt.datetime,
    *,
    valid_for: dt.timedelta,
    claim_settings: ClaimAuditSettings | None = None,
) -> str:
    """Record the departure and the items done; returns the family's one-time rating token.

    Only the token's hash is stored; the link works until `now + valid_for`. The visit and the
    caregiver's other visits of the day are then audited (careapp.services.claims).
    """
    visit = _lock_visit_for_caregiver(session, actor, visit_id)
    target = _next_state(visit, VisitAction.CHECK_OUT)
    done = list(dict.fromkeys(done_item_codes))
    if done_item_problems(visit.service_item_codes, done):
        raise InvalidInputError(
            gettext("Tick at least one of this visit's service items."), field="done_item_codes"
        )
    clean_note = (note or "").strip() or None
    if clean_note is not None and len(clean_note) > MAX_NOTE_LENGTH:
        raise InvalidInputError(
            gettext("Keep the note under %(count)d characters.", count=MAX_NOTE_LENGTH),
            field="note",
        )
    position = _position(lat, lon)
    if position_problems(position):
        raise InvalidInputError(_invalid_position_message())
    visit.status = target
    visit.checked_out_at = now
    visit.check_out_lat, visit.check_out_lon = position if position else (None, None)
    # In the visit's own order, so receipts and settlement read the same way as the plan.
    visit.done_item_codes = [code for code in visit.service_item_codes if code in done]
    visit.note = clean_note
    token = issue_rating_token(visit, now, valid_for)
    record_event(
        session,
        actor,
        "visit.check_out",
        "visit",
        visit.id,
        now=now,
        detail={"done_item_codes": visit.done_item_codes, "has_location": position is not None},
    )
    session.flush()
    audit_visits(session, actor, [visit.id], now, claim_settings or ClaimAuditSettings())
    return token


def _lock_visit_for_caregiver(session: Session, actor: Actor, visit_id: int) -> Visit:
    """The caregiver's visit, locked against a second tap from another tab or phone."""
    caregiver = caregiver_for_actor(session, actor)
    visit = session.scalar(
        select(Visit)
        .where(Visit.id == visit_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if visit is None or visit.caregiver_id != caregiver.id:
        raise NotFoundError(gettext("Visit not found."))
    return visit


def _next_state(visit: Visit, action: VisitAction) -> VisitStatus:
    try:
        return next_state_for(visit.status, action)
    except InvalidTransitionError as error:
        raise ConflictError(_transition_message(error)) from error


def _transition_message(error: InvalidTransitionError) -> str:
    current, action = error.current, error.action
    if current is VisitStatus.COMPLETED:
        return gettext("This visit is already completed.")
    if current is VisitStatus.MISSED:
        return gettext("This visit was marked as missed. Ask your manager to reschedule it.")
    if current is VisitStatus.CANCELLED:
        return gettext("This visit was cancelled.")
    if action is VisitAction.CHECK_IN and current is VisitStatus.CHECKED_IN:
        return gettext("You have already checked in to this visit.")
    if action is VisitAction.CHECK_OUT and current in (VisitStatus.ASSIGNED, VisitStatus.CONFIRMED):
        return gettext("Check in before you check out.")
    return gettext("This visit cannot be changed in its current state.")


def _position(lat: float | None, lon: float | None) -> Position | None:
    """A position only when the phone gave both coordinates."""
    if lat is None or lon is None:
        return None
    return (lat, lon)


def _invalid_position_message() -> str:
    return gettext("The location from your phone is not valid. Try again or type the reason.")
