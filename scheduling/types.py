"""Values exchanged with the dispatcher: visits to place, caregivers' days, and the result.

Every datetime is timezone-aware; the dispatcher compares instants, never wall-clock times.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Why a visit could not be given to anybody, from the least to the most specific.
NO_QUALIFIED_CAREGIVER = "no_qualified_caregiver"
NO_CAREGIVER_WORKING = "no_caregiver_working"
DAILY_LIMIT_REACHED = "daily_limit_reached"
NO_TIME_IN_WINDOW = "no_time_in_window"
REASON_CODES = (
    NO_QUALIFIED_CAREGIVER,
    NO_CAREGIVER_WORKING,
    DAILY_LIMIT_REACHED,
    NO_TIME_IN_WINDOW,
)


def _require_aware(*moments: dt.datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime {moment.isoformat()}: give an aware datetime")


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True)
class VisitRequest:
    """A visit to place: it must START inside [window_start, window_end]."""

    visit_id: int
    window_start: dt.datetime
    window_end: dt.datetime
    duration_minutes: int
    required_qualifications: frozenset[str]
    location: Location
    district_kind: str  # "urban" or "rural": sets the travel speed
    preferred_caregiver_id: int | None = None
    last_caregiver_id: int | None = None
    load: int = 1  # what it takes of the caregiver's capacity (a Solomon customer's demand)

    def __post_init__(self) -> None:
        _require_aware(self.window_start, self.window_end)
        if self.window_end < self.window_start:
            raise ValueError(f"visit {self.visit_id}: the window ends before it starts")
        if self.duration_minutes <= 0:
            raise ValueError(f"visit {self.visit_id}: the duration must be positive")
        if self.load < 0:
            raise ValueError(f"visit {self.visit_id}: the load is negative")

    @property
    def duration(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True)
class Booking:
    """A visit already fixed in a caregiver's day (confirmed, checked in, edited by hand)."""

    visit_id: int
    start: dt.datetime
    end: dt.datetime
    location: Location
    district_kind: str = "urban"
    load: int = 1

    def __post_init__(self) -> None:
        _require_aware(self.start, self.end)
        if self.end <= self.start:
            raise ValueError(f"booking of visit {self.visit_id}: the end must follow the start")


@dataclass(frozen=True)
class CaregiverDay:
    """One caregiver on one day: the shift starts and ends at the base."""

    caregiver_id: int
    qualifications: frozenset[str]
    shift_start: dt.datetime
    shift_end: dt.datetime
    base: Location
    max_visits: int
    existing: tuple[Booking, ...] = ()
    is_on_duty: bool = True  # False on a day off: the caregiver is listed but takes no visit
    capacity: int | None = None  # the most load a day holds; None: the daily limit

    def __post_init__(self) -> None:
        _require_aware(self.shift_start, self.shift_end)
        if self.shift_end < self.shift_start:
            raise ValueError(f"caregiver {self.caregiver_id}: the shift ends before it starts")
        if self.max_visits < 0:
            raise ValueError(f"caregiver {self.caregiver_id}: the daily limit is negative")
        if self.capacity is not None and self.capacity < 0:
            raise ValueError(f"caregiver {self.caregiver_id}: the capacity is negative")

    @property
    def load_limit(self) -> int:
        return self.max_visits if self.capacity is None else self.capacity


@dataclass(frozen=True)
class Assignment:
    """Where a visit goes: caregiver, planned times, place in the route, travel to get there."""

    visit_id: int
    caregiver_id: int
    start: dt.datetime
    end: dt.datetime
    route_order: int  # 1 = the first visit of the day
    travel_minutes: int  # from the previous stop, or from the base for the first


@dataclass(frozen=True)
class Unassigned:
    visit_id: int
    reason_code: str


@dataclass(frozen=True)
class DispatchResult:
    """New assignments, visits nobody could take, and the fixed bookings' updated route places."""

    assignments: tuple[Assignment, ...]
    unassigned: tuple[Unassigned, ...]
    # The caregivers' existing bookings with their (unchanged) times and their route order and
    # travel recomputed around the new visits.
    fixed_stops: tuple[Assignment, ...] = ()
