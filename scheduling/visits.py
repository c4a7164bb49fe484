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


class VisitState(enum.StrEnum):
    """The states of a visit; the values are those of careapp.models.VisitStatus."""

    UNASSIGNED = "unassigned"
    ASSIGNED = "assigned"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    MISSED = "missed"
    CANCELLED = "cancelled"


class VisitAction(enum.StrEnum):
    """What a caregiver does to a visit on their phone."""

    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"


class CheckInFlag(enum.StrEnum):
    """Why an accepted check-in needs a reviewer's look."""

    FAR_FROM_HOME = "far_from_home"
    OUTSIDE_WINDOW = "outside_window"
    NO_LOCATION = "no_location"


class InvalidTransitionError(Exception):
    """A visit cannot move from `current` by `action` (or to `target`)."""

    def __init__(self, current: VisitState, action: VisitAction) -> None:
        super().__init__(f"cannot {action.value} a visit that is {current.value}")
        self.current = current
        self.action = action


# Where each caregiver action leads, and from which states it is allowed.
ACTION_TARGETS: dict[VisitAction, VisitState] = {
    VisitAction.CHECK_IN: VisitState.CHECKED_IN,
    VisitAction.CHECK_OUT: VisitState.COMPLETED,
}
ALLOWED_TRANSITIONS: frozenset[tuple[VisitState, VisitState]] = frozenset(
    {
        (VisitState.ASSIGNED, VisitState.CHECKED_IN),
        (VisitState.CONFIRMED, VisitState.CHECKED_IN),
        (VisitState.CHECKED_IN, VisitState.COMPLETED),
        # Not checked in by the end of the window plus the grace period (the missed-visit job).
        (VisitState.UNASSIGNED, VisitState.MISSED),
        (VisitState.ASSIGNED, VisitState.MISSED),
        (VisitState.CONFIRMED, VisitState.MISSED),
    }
)
# States from which a visit becomes missed once its window (plus the grace period) is over.
MISSABLE_STATES: frozenset[VisitState] = frozenset(
    current for current, target in ALLOWED_TRANSITIONS if target is VisitState.MISSED
)
DEFAULT_MISSED_GRACE_MINUTES = 60


def can_transition(current: VisitState, target: VisitState) -> bool:
    """Whether a visit in `current` may move to `target`."""
    return (current, target) in ALLOWED_TRANSITIONS


def next_state_for(current: VisitState, action: VisitAction) -> VisitState:
    """The state a visit in `current` reaches by `action`; raises InvalidTransitionError."""
    target = ACTION_TARGETS[action]
    if not can_transition(current, target):
        raise InvalidTransitionError(current, action)
    return target


def is_missed(
    current: VisitState,
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
