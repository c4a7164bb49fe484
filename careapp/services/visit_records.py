"""A provider manager's hand on a visit: enter it from a paper record, reschedule a missed
visit, cancel a visit that has not started.

Every state change is declared in `scheduling.visits.TRANSITIONS`; a refused one is a
ConflictError with a translated message. The provider always comes from the actor: another
provider's visit is NotFoundError. Services flush, the view commits.

The claim audit flags manual entries: `record_manual_entry` returns the entered visit
(`ManualEntry.visit`, verification MANUAL) for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from careapp.core.clock import city_datetime, city_today, to_city
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.models.eligibility import EntitlementStatus
from careapp.models.people import Person
from careapp.models.providers import Caregiver
from careapp.models.quality import AlertKind, ProviderAlert
from careapp.models.visit import BOOKED_STATUSES, CarePlan, VerificationMethod, Visit
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.careplans import EARLIEST_VISIT, LATEST_VISIT
from careapp.services.claims import ClaimAuditSettings, audit_visits
from careapp.services.ratings import issue_rating_token
from careapp.services.rosters import (
    LongTravelError,
    _bookings,
    _caregiver_day,
    _lock_provider_day,
    move_rule_label,
)
from scheduling.rosters import DEFAULT_CONFIRM_TRAVEL_MINUTES, check_move
from scheduling.types import Assignment, Location, VisitRequest
from scheduling.visits import (
    InvalidTransitionError,
    ManualEntryProblem,
    RescheduleProblem,
    VisitAction,
    VisitStatus,
    cancel_problems,
    done_item_problems,
    manual_entry_problems,
    next_state_for,
    reschedule_problems,
)

MAX_REASON_LENGTH = 200
MAX_NOTE_LENGTH = 500
_BOOKED = tuple(VisitStatus(value) for value in BOOKED_STATUSES)


# --- the state machine, in the manager's words ---------------------------------------------


def transition_message(current: VisitStatus, action: VisitAction) -> str:
    """Why `action` is refused on a visit in `current`, in the user's language."""
    if action is VisitAction.RESCHEDULE:
        return gettext("Only a missed visit can be rescheduled.")
    if action is VisitAction.MANUAL_ENTRY and current is VisitStatus.UNASSIGNED:
        return gettext(
            "Assign this visit to a caregiver before entering it by hand, "
            "or wait until it is marked missed."
        )
    if action is VisitAction.MANUAL_ENTRY and current is VisitStatus.CHECKED_IN:
        return gettext("The caregiver has checked in on the phone; the visit is checked out there.")
    if current is VisitStatus.COMPLETED:
        return gettext("This visit is already completed.")
    if current is VisitStatus.CANCELLED:
        return gettext("This visit was cancelled.")
    if action is VisitAction.CANCEL and current is VisitStatus.MISSED:
        return gettext("A missed visit cannot be cancelled; reschedule it or enter it by hand.")
    if action is VisitAction.CANCEL:
        return gettext("This visit has started and can no longer be cancelled.")
    return gettext("This visit cannot be changed in its current state.")


def next_visit_state(visit: Visit, action: VisitAction) -> VisitStatus:
    """The state `visit` reaches by `action`, or ConflictError with the reason it cannot."""
    current = visit.status
    try:
        return next_state_for(current, action)
    except InvalidTransitionError as error:
        raise ConflictError(transition_message(current, action)) from error


# --- loading --------------------------------------------------------------------------------


def _lock_manager_visit(session: Session, actor: Actor, visit_id: int) -> Visit:
    """The actor's provider's visit, freshly read and locked (another provider's: NotFound)."""
    provider_id = actor.require_provider()
    try:
        visit = session.scalar(
            select(Visit)
            .where(Visit.id == visit_id, Visit.provider_id == provider_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    except OperationalError as error:
        raise ConflictError(_busy_message()) from error
    if visit is None:
        raise NotFoundError(gettext("Visit not found."))
    return visit


def _busy_message() -> str:
    return gettext("This visit is being changed by someone else. Please reload and try again.")


def _provider_caregiver(
    session: Session, provider_id: int, caregiver_id: int | None, visit: Visit
) -> Caregiver:
    caregiver = session.get(Caregiver, caregiver_id) if caregiver_id is not None else None
    if caregiver is None or caregiver.provider_id != provider_id or not caregiver.is_enabled:
        raise InvalidInputError(
            gettext("Choose a caregiver of your company."), field="caregiver_id"
        )
    if not set(visit.required_qualifications) <= set(caregiver.qualifications):
        raise InvalidInputError(
            gettext("The caregiver lacks a qualification this visit needs."), field="caregiver_id"
        )
    return caregiver


def _clean_text(value: str | None, field: str, limit: int) -> str | None:
    text = (value or "").strip() or None
    if text is not None and len(text) > limit:
        raise InvalidInputError(
            gettext("Keep this under %(count)d characters.", count=limit), field=field
        )
    return text


def _reason_required(field: str = "reason") -> InvalidInputError:
    return InvalidInputError(gettext("Give the reason (at least 4 characters)."), field=field)


def _acknowledge_missed_alert(
    session: Session, actor: Actor, visit: Visit, now: dt.datetime
) -> None:
    """The manager dealt with the missed visit: its alert leaves the roster page."""
    alert = session.scalar(
        select(ProviderAlert).where(
            ProviderAlert.kind == AlertKind.MISSED_VISIT,
            ProviderAlert.visit_id == visit.id,
            ProviderAlert.acknowledged_at.is_(None),
        )
    )
    if alert is None:
        return
    alert.acknowledged_at = now
    alert.acknowledged_by_id = actor.user_id
    record_event(session, actor, "acknowledge", "provider_alert", alert.id, now=now)


# --- manual entry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ManualEntryInput:
    check_in_time: dt.time | None  # city time, on the visit's day
    check_out_time: dt.time | None  # city time, on the visit's day or the next day
    done_item_codes: Sequence[str]
    reason: str | None
    note: str | None = None
    caregiver_id: int | None = None  # who did it; by default the visit's caregiver
    check_out_next_day: bool = False  # the visit crossed midnight


@dataclass(frozen=True)
class ManualEntry:
    """A visit entered by hand. `visit` (verification MANUAL) is what the claim audit flags;
    `rating_token` is the family's one-time rating link, shown to the manager once."""

    visit: Visit
    rating_token: str


def record_manual_entry(
    session: Session,
    actor: Actor,
    visit_id: int,
    data: ManualEntryInput,
    now: dt.datetime,
    *,
    valid_for: dt.timedelta,
    claim_settings: ClaimAuditSettings | None = None,
) -> ManualEntry:
    """Record a visit the phone could not record, from the caregiver's paper record.

    Allowed from assigned, confirmed or missed. The caregiver must not be booked elsewhere at
    those times (checked here; the database constraint `visits_no_double_booking` is the last
    line). The visit becomes completed, verified by hand, without check-in positions.
    """
    visit = _lock_manager_visit(session, actor, visit_id)
    target = next_visit_state(visit, VisitAction.MANUAL_ENTRY)
    if visit.status is VisitStatus.MISSED and _rescheduled_as(session, visit.id) is not None:
        raise ConflictError(
            gettext("This missed visit was rescheduled: enter the make-up visit instead.")
        )
    if data.check_in_time is None:
        raise InvalidInputError(gettext("Give the check-in time."), field="check_in_time")
    if data.check_out_time is None:
        raise InvalidInputError(gettext("Give the check-out time."), field="check_out_time")
    checked_in_at = city_datetime(visit.visit_on, data.check_in_time)
    out_day = visit.visit_on + dt.timedelta(days=1 if data.check_out_next_day else 0)
    checked_out_at = city_datetime(out_day, data.check_out_time)
    problems = manual_entry_problems(
        visit.visit_on, to_city(checked_in_at), to_city(checked_out_at), to_city(now), data.reason
    )
    if ManualEntryProblem.CHECK_OUT_NOT_AFTER_CHECK_IN in problems:
        raise InvalidInputError(
            gettext("The check-out must be after the check-in."), field="check_out_time"
        )
    if ManualEntryProblem.IN_THE_FUTURE in problems:
        raise InvalidInputError(
            gettext("Only a visit that has taken place can be entered: these times are ahead."),
            field="check_out_time",
        )
    if ManualEntryProblem.REASON_REQUIRED in problems:
        raise _reason_required()
    done = list(dict.fromkeys(data.done_item_codes))
    if done_item_problems(visit.service_item_codes, done):
        raise InvalidInputError(
            gettext("Tick at least one of this visit's service items."), field="done_item_codes"
        )
    reason = _clean_text(data.reason, "reason", MAX_REASON_LENGTH)
    note = _clean_text(data.note, "note", MAX_NOTE_LENGTH)
    caregiver = _provider_caregiver(
        session, visit.provider_id, data.caregiver_id or visit.caregiver_id, visit
    )
    if _is_double_booked(session, caregiver.id, visit.id, checked_in_at, checked_out_at):
        raise InvalidInputError(
            gettext("The caregiver has another visit at that time."), field="caregiver_id"
        )
    previous = visit.status
    visit.status = target
    visit.verification = VerificationMethod.MANUAL
    visit.caregiver_id = caregiver.id
    visit.planned_start, visit.planned_end = checked_in_at, checked_out_at
    visit.checked_in_at, visit.checked_out_at = checked_in_at, checked_out_at
    visit.check_in_lat = visit.check_in_lon = None
    visit.check_out_lat = visit.check_out_lon = None
    visit.location_note = None
    visit.check_in_flags = []
    visit.done_item_codes = [code for code in visit.service_item_codes if code in done]
    visit.note = note
    visit.manual_entry_reason = reason
    visit.unassigned_reason = None
    visit.is_hand_edited = True
    token = issue_rating_token(visit, now, valid_for)
    _flush_booking(session)
    _acknowledge_missed_alert(session, actor, visit, now)
    record_event(
        session,
        actor,
        "visit.manual_entry",
        "visit",
        visit.id,
        now=now,
        detail={
            "previous_status": previous.value,
            "caregiver_id": caregiver.id,
            "checked_in_at": checked_in_at.isoformat(),
            "checked_out_at": checked_out_at.isoformat(),
            "done_item_codes": visit.done_item_codes,
            "reason": reason,
        },
    )
    session.flush()
    # A visit entered by hand is held for review (a manual_entry claim flag), like any other
    # visit that looks wrong; the caregiver's other visits of the day are audited with it.
    audit_visits(session, actor, [visit.id], now, claim_settings or ClaimAuditSettings())
    return ManualEntry(visit, token)


def _flush_booking(session: Session) -> None:
    """Write the caregiver's booking; the database refuses a double booking that a concurrent
    transaction made after our check (visits_no_double_booking)."""
    try:
        session.flush()
    except IntegrityError as error:
        raise ConflictError(
            gettext(
                "Someone else has just booked this caregiver at that time. "
                "Please reload and try again."
            )
        ) from error


def _is_double_booked(
    session: Session, caregiver_id: int, visit_id: int, start: dt.datetime, end: dt.datetime
) -> bool:
    return (
        session.scalar(
            select(Visit.id)
            .where(
                Visit.caregiver_id == caregiver_id,
                Visit.id != visit_id,
                Visit.status.in_(_BOOKED),
                Visit.planned_start.is_not(None),
                Visit.planned_start < end,
                Visit.planned_end > start,
            )
            .limit(1)
        )
        is not None
    )


# --- reschedule a missed visit ------------------------------------------------------------


@dataclass(frozen=True)
class RescheduleInput:
    day: dt.date | None
    window_start: dt.time | None
    window_end: dt.time | None
    caregiver_id: int | None = None  # none: the next dispatch run assigns it
    start_time: dt.time | None = None  # with a caregiver; by default the window's start
    accepted_travel_minutes: int | None = None  # the long travel the manager said yes to


def reschedule_missed_visit(
    session: Session,
    actor: Actor,
    visit_id: int,
    data: RescheduleInput,
    now: dt.datetime,
    speeds_kmh: Mapping[str, float],
    *,
    confirm_travel_over: int = DEFAULT_CONFIRM_TRAVEL_MINUTES,
) -> Visit:
    """Make up for a missed visit with a NEW visit (same plan, person, items, duration and
    qualifications) on a day within the entitlement; returns it.

    With a caregiver it is assigned if the roster move's hard rules hold (and kept by dispatch)
    and, like a move, travel over `confirm_travel_over` minutes is LongTravelError until the
    manager accepts at least that much (`data.accepted_travel_minutes`);
    without one it waits unassigned for the next dispatch run. A missed visit is rescheduled
    once: the unique `rescheduled_from_id` makes a second (or racing) one a ConflictError.
    """
    missed = _lock_manager_visit(session, actor, visit_id)
    next_visit_state(missed, VisitAction.RESCHEDULE)
    if _rescheduled_as(session, missed.id) is not None:
        raise ConflictError(_already_rescheduled_message())
    if data.day is None:
        raise InvalidInputError(gettext("Give the new day."), field="day")
    if data.window_start is None:
        raise InvalidInputError(gettext("Give the start of the time window."), field="window_start")
    if data.window_end is None:
        raise InvalidInputError(gettext("Give the end of the time window."), field="window_end")
    plan: CarePlan = missed.care_plan
    entitlement = plan.entitlement
    if not plan.is_active or entitlement.status is not EntitlementStatus.ACTIVE:
        raise ConflictError(
            gettext("The care plan of this visit has ended; the visit cannot be rescheduled.")
        )
    covered_until = min(
        (d for d in (plan.ends_on, entitlement.ends_on) if d is not None), default=None
    )
    problems = reschedule_problems(
        data.day,
        city_today(now),
        max(plan.starts_on, entitlement.starts_on),
        covered_until,
        data.window_start,
        data.window_end,
        missed.duration_minutes,
        EARLIEST_VISIT,
        LATEST_VISIT,
    )
    if RescheduleProblem.IN_THE_PAST in problems:
        raise InvalidInputError(gettext("Choose today or a later day."), field="day")
    if RescheduleProblem.OUTSIDE_ENTITLEMENT in problems:
        raise InvalidInputError(
            gettext("The beneficiary's entitlement does not cover this day."), field="day"
        )
    if RescheduleProblem.WINDOW_OUTSIDE_HOURS in problems:
        raise InvalidInputError(
            gettext(
                "Visits take place between %(earliest)s and %(latest)s.",
                earliest=EARLIEST_VISIT.strftime("%H:%M"),
                latest=LATEST_VISIT.strftime("%H:%M"),
            ),
            field="window_start",
        )
    if RescheduleProblem.WINDOW_TOO_SHORT in problems:
        raise InvalidInputError(
            gettext(
                "The window must end after it starts and hold the visit's %(minutes)d minutes.",
                minutes=missed.duration_minutes,
            ),
            field="window_end",
        )
    window = (
        city_datetime(data.day, data.window_start),
        city_datetime(data.day, data.window_end),
    )
    if window[1] <= now:
        raise InvalidInputError(
            gettext("This window is already over: choose a later time."), field="window_end"
        )
    placement = None
    if data.caregiver_id is not None:
        placement = _check_rescheduled_caregiver(
            session, missed, data, window, now, speeds_kmh, confirm_travel_over
        )
    visit = Visit(
        care_plan_id=missed.care_plan_id,
        person_id=missed.person_id,
        provider_id=missed.provider_id,
        visit_on=data.day,
        window_start=window[0],
        window_end=window[1],
        duration_minutes=missed.duration_minutes,
        service_item_codes=list(missed.service_item_codes),
        required_qualifications=list(missed.required_qualifications),
        status=VisitStatus.UNASSIGNED,
        is_hand_edited=False,
        rescheduled_from_id=missed.id,
    )
    session.add(visit)
    try:
        session.flush()
    except IntegrityError as error:  # another manager's reschedule won the race
        raise ConflictError(_already_rescheduled_message()) from error
    if placement is not None:
        _place(session, visit, placement)
    _acknowledge_missed_alert(session, actor, missed, now)
    record_event(
        session,
        actor,
        "visit.rescheduled",
        "visit",
        missed.id,
        now=now,
        detail={
            "new_visit_id": visit.id,
            "visit_on": visit.visit_on.isoformat(),
            "window_start": visit.window_start.isoformat(),
            "window_end": visit.window_end.isoformat(),
            "caregiver_id": visit.caregiver_id,
            "status": visit.status.value,
        },
    )
    session.flush()
    return visit


def _check_rescheduled_caregiver(
    session: Session,
    missed: Visit,
    data: RescheduleInput,
    window: tuple[dt.datetime, dt.datetime],
    now: dt.datetime,
    speeds_kmh: Mapping[str, float],
    confirm_travel_over: int,
) -> _Placement:
    """Where the chosen caregiver takes the make-up visit, checked against the roster move's
    hard rules before anything is written (the provider's day is locked meanwhile)."""
    day = to_city(window[0]).date()
    try:
        day_visits = _lock_provider_day(session, missed.provider_id, day)
    except OperationalError as error:
        raise ConflictError(_busy_message()) from error
    caregiver = _provider_caregiver(session, missed.provider_id, data.caregiver_id, missed)
    person: Person = missed.person
    if person.home_lat is None or person.home_lon is None:
        raise InvalidInputError(
            gettext("The home has no map location; leave the caregiver to dispatch."),
            field="caregiver_id",
        )
    window_start, window_end = window
    start = city_datetime(day, data.start_time) if data.start_time is not None else window_start
    request = VisitRequest(
        visit_id=_NEW_VISIT,
        window_start=window_start,
        window_end=window_end,
        duration_minutes=missed.duration_minutes,
        required_qualifications=frozenset(missed.required_qualifications),
        location=Location(person.home_lat, person.home_lon),
        district_kind=person.district.kind.value,
    )
    target_day = _caregiver_day(caregiver, day, now, _bookings(day_visits, caregiver))
    check = check_move(request, target_day, start, speeds_kmh)
    if not check.is_allowed:
        raise InvalidInputError(
            " ".join(move_rule_label(rule) for rule in check.broken_rules), field="caregiver_id"
        )
    if check.needs_travel_confirmation(confirm_travel_over, data.accepted_travel_minutes):
        raise LongTravelError(check, confirm_travel_over)
    return _Placement(caregiver.id, start, start + request.duration, day_visits, check.route)


# Stands for the make-up visit in the move check, before it has an id.
_NEW_VISIT = -1


@dataclass(frozen=True)
class _Placement:
    caregiver_id: int
    start: dt.datetime
    end: dt.datetime
    day_visits: list[Visit]
    route: tuple[Assignment, ...]


def _place(session: Session, visit: Visit, placement: _Placement) -> None:
    """Give the new visit to the checked caregiver and renumber their route."""
    visit.caregiver_id = placement.caregiver_id
    visit.planned_start, visit.planned_end = placement.start, placement.end
    visit.status = VisitStatus.ASSIGNED
    visit.is_hand_edited = True  # dispatch keeps it, like a roster move
    by_id = {v.id: v for v in placement.day_visits}
    by_id[_NEW_VISIT] = visit
    for stop in placement.route:
        by_id[stop.visit_id].route_order = stop.route_order
        by_id[stop.visit_id].travel_minutes = stop.travel_minutes
    _flush_booking(session)


def _rescheduled_as(session: Session, missed_id: int) -> int | None:
    return session.scalar(select(Visit.id).where(Visit.rescheduled_from_id == missed_id))


def _already_rescheduled_message() -> str:
    return gettext("This missed visit has already been rescheduled.")


# --- cancel ---------------------------------------------------------------------------------


def cancel_visit(
    session: Session, actor: Actor, visit_id: int, reason: str | None, now: dt.datetime
) -> Visit:
    """Cancel a visit that has not started (today or ahead), with the manager's reason.
    A cancelled visit frees its caregiver; dispatch never plans it again."""
    visit = _lock_manager_visit(session, actor, visit_id)
    target = next_visit_state(visit, VisitAction.CANCEL)
    problems = cancel_problems(visit.visit_on, city_today(now), reason)
    if "in_the_past" in problems:
        raise ConflictError(gettext("A visit of an earlier day cannot be cancelled."))
    if "reason_required" in problems:
        raise InvalidInputError(gettext("Give the reason for the cancellation."), field="reason")
    clean = _clean_text(reason, "reason", MAX_REASON_LENGTH)
    previous = visit.status
    visit.status = target
    visit.cancel_reason = clean
    visit.route_order = None
    record_event(
        session,
        actor,
        "visit.cancelled",
        "visit",
        visit.id,
        now=now,
        detail={
            "previous_status": previous.value,
            "caregiver_id": visit.caregiver_id,
            "visit_on": visit.visit_on.isoformat(),
            "reason": clean,
        },
    )
    session.flush()
    return visit


# --- what the roster visit page offers ----------------------------------------------------


@dataclass(frozen=True)
class VisitRecordOptions:
    """Which of the manager's actions the roster visit page offers, and their context."""

    can_enter_by_hand: bool
    can_reschedule: bool
    can_cancel: bool
    rescheduled_as_id: int | None  # the make-up visit of a missed one
    rescheduled_from_id: int | None
    verification: VerificationMethod | None
    manual_entry_reason: str | None
    cancel_reason: str | None
    service_item_codes: tuple[str, ...]


def visit_record_options(
    session: Session, actor: Actor, visit_id: int, now: dt.datetime
) -> VisitRecordOptions:
    """The manager's actions on their provider's visit (NotFound for another provider's)."""
    provider_id = actor.require_provider()
    visit = session.scalar(
        select(Visit).where(Visit.id == visit_id, Visit.provider_id == provider_id)
    )
    if visit is None:
        raise NotFoundError(gettext("Visit not found."))
    state = visit.status
    rescheduled_as = _rescheduled_as(session, visit.id) if state is VisitStatus.MISSED else None
    return VisitRecordOptions(
        can_enter_by_hand=_allowed(state, VisitAction.MANUAL_ENTRY)
        and visit.visit_on <= city_today(now)
        and rescheduled_as is None,
        can_reschedule=_allowed(state, VisitAction.RESCHEDULE) and rescheduled_as is None,
        can_cancel=_allowed(state, VisitAction.CANCEL) and visit.visit_on >= city_today(now),
        rescheduled_as_id=rescheduled_as,
        rescheduled_from_id=visit.rescheduled_from_id,
        verification=visit.verification,
        manual_entry_reason=visit.manual_entry_reason,
        cancel_reason=visit.cancel_reason,
        service_item_codes=tuple(visit.service_item_codes),
    )


def _allowed(state: VisitStatus, action: VisitAction) -> bool:
    try:
        next_state_for(state, action)
    except InvalidTransitionError:
        return False
    return True
