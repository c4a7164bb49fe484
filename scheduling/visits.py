"""Visit verification rules: the visit state machine and the check-in review flags.

Pure and framework-free: the service layer converts rows to these values and back.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable

from scheduling.travel import distance_km
from scheduling.types import Location

Position = tuple[float, float]  # (latitude, longitude) in degrees

DEFAULT_MAX_DISTANCE_M = 500
DEFAULT_MAX_OUTSIDE_MINUTES = 30


class VisitStatus(enum.StrEnum):
    """The states of a visit (the database stores them by value: visits.status)."""

    UNASSIGNED = "unassigned"
    ASSIGNED = "assigned"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    MISSED = "missed"
    CANCELLED = "cancelled"


class VisitAction(enum.StrEnum):
    """Everything that changes a visit's state: the caregiver's phone, the missed-visit job and
    the provider's manager."""

    CHECK_IN = "check_in"  # the caregiver arrives (phone)
    CHECK_OUT = "check_out"  # the caregiver leaves (phone)
    MARK_MISSED = "mark_missed"  # the missed-visit job: no check-in by the window's end + grace
    MANUAL_ENTRY = "manual_entry"  # the manager enters the visit from a paper record
    CANCEL = "cancel"  # the manager cancels a visit that has not started
    # The manager makes up for a missed visit: a NEW visit is created (RESCHEDULED_VISIT_STATES);
    # the missed one stays missed.
    RESCHEDULE = "reschedule"


class CheckInFlag(enum.StrEnum):
    """Why an accepted check-in needs a reviewer's look."""

    FAR_FROM_HOME = "far_from_home"
    OUTSIDE_WINDOW = "outside_window"
    NO_LOCATION = "no_location"


class InvalidTransitionError(Exception):
    """A visit cannot move from `current` by `action` (or to `target`)."""

    def __init__(self, current: VisitStatus, action: VisitAction) -> None:
        super().__init__(f"cannot {action.value} a visit that is {current.value}")
        self.current = current
        self.action = action


_NOT_STARTED = (VisitStatus.UNASSIGNED, VisitStatus.ASSIGNED, VisitStatus.CONFIRMED)
# Every state change of a visit: (state, action) -> the state it reaches. Any pair not listed
# is refused. Dispatch and the roster move only (re)assign visits that have not started.
TRANSITIONS: dict[tuple[VisitStatus, VisitAction], VisitStatus] = {
    (VisitStatus.ASSIGNED, VisitAction.CHECK_IN): VisitStatus.CHECKED_IN,
    (VisitStatus.CONFIRMED, VisitAction.CHECK_IN): VisitStatus.CHECKED_IN,
    (VisitStatus.CHECKED_IN, VisitAction.CHECK_OUT): VisitStatus.COMPLETED,
    # Not checked in by the end of the window plus the grace period (the missed-visit job).
    **{(state, VisitAction.MARK_MISSED): VisitStatus.MISSED for state in _NOT_STARTED},
    # A paper record: the visit needs (or gets) a caregiver, so never straight from unassigned.
    (VisitStatus.ASSIGNED, VisitAction.MANUAL_ENTRY): VisitStatus.COMPLETED,
    (VisitStatus.CONFIRMED, VisitAction.MANUAL_ENTRY): VisitStatus.COMPLETED,
    (VisitStatus.MISSED, VisitAction.MANUAL_ENTRY): VisitStatus.COMPLETED,
    **{(state, VisitAction.CANCEL): VisitStatus.CANCELLED for state in _NOT_STARTED},
    # The missed visit itself does not change; the new visit starts in RESCHEDULED_VISIT_STATES.
    (VisitStatus.MISSED, VisitAction.RESCHEDULE): VisitStatus.MISSED,
}
# Where each action leads (one target per action).
ACTION_TARGETS: dict[VisitAction, VisitStatus] = {
    action: target for (_state, action), target in TRANSITIONS.items()
}
# The state changes themselves (a reschedule leaves the missed visit as it is).
ALLOWED_TRANSITIONS: frozenset[tuple[VisitStatus, VisitStatus]] = frozenset(
    (state, target) for (state, _action), target in TRANSITIONS.items() if state is not target
)
# The states a visit made by a reschedule starts in: with a caregiver, or for the next dispatch.
RESCHEDULED_VISIT_STATES: frozenset[VisitStatus] = frozenset(
    {VisitStatus.ASSIGNED, VisitStatus.UNASSIGNED}
)
# States from which a visit becomes missed once its window (plus the grace period) is over.
MISSABLE_STATES: frozenset[VisitStatus] = frozenset(
    state for state, action in TRANSITIONS if action is VisitAction.MARK_MISSED
)
DEFAULT_MISSED_GRACE_MINUTES = 60


def can_transition(current: VisitStatus, target: VisitStatus) -> bool:
    """Whether a visit in `current` may move to `target`."""
    return (current, target) in ALLOWED_TRANSITIONS


def next_state_for(current: VisitStatus, action: VisitAction) -> VisitStatus:
    """The state a visit in `current` reaches by `action`; raises InvalidTransitionError."""
    target = TRANSITIONS.get((current, action))
    if target is None:
        raise InvalidTransitionError(current, action)
    return target


def allowed_actions(current: VisitStatus) -> frozenset[VisitAction]:
    """What may be done to a visit in `current` (the buttons a page offers)."""
    return frozenset(action for state, action in TRANSITIONS if state is current)


def is_missed(
    current: VisitStatus,
    window_end: dt.datetime,
    now: dt.datetime,
    grace_minutes: float = DEFAULT_MISSED_GRACE_MINUTES,
) -> bool:
    """Whether a visit not checked in by `now` is missed: its window ended more than the grace
    period ago and it is still waiting for a check-in (unassigned, assigned or confirmed)."""
    if grace_minutes < 0:
        raise ValueError("the grace period must not be negative")
    return current in MISSABLE_STATES and now >= window_end + dt.timedelta(minutes=grace_minutes)


def distance_m(a: Position, b: Position) -> float:
    """Great-circle (haversine) distance in metres between two (lat, lon) positions."""
    return distance_km(Location(*a), Location(*b)) * 1000


def check_in_flags(
    window_start: dt.datetime,
    window_end: dt.datetime,
    checked_in_at: dt.datetime,
    home: Position | None,
    position: Position | None,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    max_outside_minutes: float = DEFAULT_MAX_OUTSIDE_MINUTES,
) -> tuple[str, ...]:
    """The review flags of a check-in (empty when it looks right). A flagged check-in is accepted.

    - outside_window: more than `max_outside_minutes` before the window opens or after it closes;
    - no_location: the phone gave no position (the caregiver typed a reason instead);
    - far_from_home: more than `max_distance_m` from the home. A home without coordinates
      cannot be compared, so it raises no flag.
    """
    flags: list[str] = []
    slack = dt.timedelta(minutes=max_outside_minutes)
    if checked_in_at < window_start - slack or checked_in_at > window_end + slack:
        flags.append(CheckInFlag.OUTSIDE_WINDOW.value)
    if position is None:
        flags.append(CheckInFlag.NO_LOCATION.value)
    elif home is not None and distance_m(home, position) > max_distance_m:
        flags.append(CheckInFlag.FAR_FROM_HOME.value)
    return tuple(flags)


MIN_LOCATION_REASON_LENGTH = 4


class CheckInProblem(enum.StrEnum):
    """Why a check-in or check-out is refused (nothing is recorded)."""

    INVALID_POSITION = "invalid_position"
    REASON_REQUIRED = "reason_required"
    NOTHING_DONE = "nothing_done"
    UNKNOWN_ITEMS = "unknown_items"


def position_problems(position: Position | None) -> tuple[str, ...]:
    """A position must be a real (latitude, longitude); no position is not a problem here."""
    if position is None:
        return ()
    lat, lon = position
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return (CheckInProblem.INVALID_POSITION.value,)
    return ()


def check_in_problems(position: Position | None, location_reason: str | None) -> tuple[str, ...]:
    """A check-in needs the phone's position, or a typed reason why it is unavailable."""
    problems = position_problems(position)
    reason = (location_reason or "").strip()
    if position is None and len(reason) < MIN_LOCATION_REASON_LENGTH:
        problems += (CheckInProblem.REASON_REQUIRED.value,)
    return problems


def done_item_problems(planned: Iterable[str], done: Iterable[str]) -> tuple[str, ...]:
    """The items ticked at check-out: at least one, and only items the visit planned."""
    done_set = set(done)
    if not done_set:
        return (CheckInProblem.NOTHING_DONE.value,)
    if not done_set <= set(planned):
        return (CheckInProblem.UNKNOWN_ITEMS.value,)
    return ()


# --- the manager's hand: manual entry, reschedule, cancel -----------------------------------

MIN_MANAGER_REASON_LENGTH = 4


class ManualEntryProblem(enum.StrEnum):
    """Why a visit entered by hand from a paper record is refused."""

    CHECK_OUT_NOT_AFTER_CHECK_IN = "check_out_not_after_check_in"
    NOT_ON_VISIT_DAY = "not_on_visit_day"  # check-in on another day, or out after the next day
    IN_THE_FUTURE = "in_the_future"
    REASON_REQUIRED = "reason_required"


def manual_entry_problems(
    visit_on: dt.date,
    checked_in_at: dt.datetime,
    checked_out_at: dt.datetime,
    now: dt.datetime,
    reason: str | None,
) -> tuple[str, ...]:
    """The times and reason of a manual entry. Times are aware and in city time (their date is
    the city's day): check-in on the visit's day, check-out after it and at the latest on the
    next day (crossing midnight at most), both in the past; a reason of at least 4 characters.
    The items done are checked by `done_item_problems`."""
    problems: list[str] = []
    if checked_out_at <= checked_in_at:
        problems.append(ManualEntryProblem.CHECK_OUT_NOT_AFTER_CHECK_IN.value)
    if checked_in_at.date() != visit_on or checked_out_at.date() > visit_on + dt.timedelta(days=1):
        problems.append(ManualEntryProblem.NOT_ON_VISIT_DAY.value)
    if checked_out_at > now or checked_in_at > now:
        problems.append(ManualEntryProblem.IN_THE_FUTURE.value)
    if len((reason or "").strip()) < MIN_MANAGER_REASON_LENGTH:
        problems.append(ManualEntryProblem.REASON_REQUIRED.value)
    return tuple(problems)


class RescheduleProblem(enum.StrEnum):
    """Why a new day and window for a missed visit are refused."""

    IN_THE_PAST = "in_the_past"
    OUTSIDE_ENTITLEMENT = "outside_entitlement"
    WINDOW_OUTSIDE_HOURS = "window_outside_hours"
    WINDOW_TOO_SHORT = "window_too_short"  # ends before it starts, or shorter than the visit


def reschedule_problems(
    day: dt.date,
    today: dt.date,
    covered_from: dt.date,
    covered_until: dt.date | None,
    window_start: dt.time,
    window_end: dt.time,
    duration_minutes: int,
    earliest: dt.time,
    latest: dt.time,
) -> tuple[str, ...]:
    """A make-up visit: today or later, within the entitlement (and plan) cover
    `covered_from`..`covered_until` (open when None), in a window between `earliest` and
    `latest` that is long enough for the visit."""
    problems: list[str] = []
    if day < today:
        problems.append(RescheduleProblem.IN_THE_PAST.value)
    if day < covered_from or (covered_until is not None and day > covered_until):
        problems.append(RescheduleProblem.OUTSIDE_ENTITLEMENT.value)
    if window_start < earliest or window_end > latest:
        problems.append(RescheduleProblem.WINDOW_OUTSIDE_HOURS.value)
    length = (window_end.hour * 60 + window_end.minute) - (
        window_start.hour * 60 + window_start.minute
    )
    if length < max(duration_minutes, 1):
        problems.append(RescheduleProblem.WINDOW_TOO_SHORT.value)
    return tuple(problems)


MIN_CANCEL_REASON_LENGTH = 2  # "住院" (in hospital) is reason enough


def cancel_problems(visit_on: dt.date, today: dt.date, reason: str | None) -> tuple[str, ...]:
    """A visit is cancelled today or ahead of its day, never afterwards, and with a reason."""
    problems: list[str] = []
    if visit_on < today:
        problems.append("in_the_past")
    if len((reason or "").strip()) < MIN_CANCEL_REASON_LENGTH:
        problems.append("reason_required")
    return tuple(problems)
