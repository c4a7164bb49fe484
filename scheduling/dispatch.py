"""Dispatch: give each visit of a day to a caregiver, or say why nobody can take it.

`Dispatcher` is the interface the service calls. `scheduling.routing.RoutingDispatcher` (a
vehicle-routing solver) is the one it uses; `GreedyDispatcher` is a simple, correct insertion
heuristic that the routing dispatcher runs after the solver to place what is left and to give
the reason for every visit nobody can take.

Hard rules, for every new assignment: the caregiver holds every required qualification and is
on duty; the visit starts inside its window; it never overlaps another visit of the caregiver;
there is time to travel from the previous stop (or the base, leaving at the shift start) and to
the next one (or back to the base by the shift end); the daily limit holds. Bookings that already
exist stay where they are.
"""

from __future__ import annotations

import datetime as dt
from bisect import insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from scheduling.travel import TravelModel, TravelTimes, whole_minutes
from scheduling.types import (
    DAILY_LIMIT_REACHED,
    NO_CAREGIVER_WORKING,
    NO_QUALIFIED_CAREGIVER,
    NO_TIME_IN_WINDOW,
    Assignment,
    CaregiverDay,
    DispatchResult,
    Location,
    Unassigned,
    VisitRequest,
)


class Dispatcher(Protocol):
    """Places visits into caregivers' days without breaking a hard rule."""

    def solve(
        self,
        visits: Sequence[VisitRequest],
        caregivers: Sequence[CaregiverDay],
        speeds_kmh: Mapping[str, float],
    ) -> DispatchResult:
        """Assign what fits; return every other visit as unassigned with its reason."""


@dataclass(frozen=True)
class _Stop:
    visit_id: int
    start: dt.datetime
    end: dt.datetime
    location: Location
    district_kind: str
    is_new: bool
    load: int


def _route_key(stop: _Stop) -> tuple[dt.datetime, dt.datetime, int]:
    return (stop.start, stop.end, stop.visit_id)


@dataclass
class _Route:
    day: CaregiverDay
    stops: list[_Stop]  # kept sorted by _route_key

    @property
    def caregiver_id(self) -> int:
        return self.day.caregiver_id

    def has_room_for(self, visit: VisitRequest) -> bool:
        """The daily limit and the capacity leave room for one more visit."""
        load = sum(stop.load for stop in self.stops)
        return len(self.stops) < self.day.max_visits and load + visit.load <= self.day.load_limit


@dataclass(frozen=True)
class _Slot:
    start: dt.datetime
    end: dt.datetime
    added_travel: dt.timedelta


def works_during(day: CaregiverDay, visit: VisitRequest) -> bool:
    """Whether the shift leaves room for the visit inside its window (travel not counted)."""
    if not day.is_on_duty:
        return False
    earliest = max(visit.window_start, day.shift_start)
    return earliest <= visit.window_end and earliest + visit.duration <= day.shift_end


class GreedyDispatcher:
    """Tightest windows first; the preferred, then the last caregiver, then the nearest free one.

    Each visit goes to the earliest feasible time of the chosen caregiver's day. Among other
    caregivers the one whose route grows least wins, then the one with fewest visits (fair
    spread), then the lowest id (repeatable results).
    """

    def __init__(self, travel: TravelModel | None = None) -> None:
        self._travel = travel  # None: great-circle distance at the speeds given to solve()

    def solve(
        self,
        visits: Sequence[VisitRequest],
        caregivers: Sequence[CaregiverDay],
        speeds_kmh: Mapping[str, float],
    ) -> DispatchResult:
        travel = self._travel or TravelTimes(speeds_kmh)
        routes = [
            _Route(
                day,
                sorted(
                    (
                        _Stop(
                            b.visit_id, b.start, b.end, b.location, b.district_kind, False, b.load
                        )
                        for b in day.existing
                    ),
                    key=_route_key,
                ),
            )
            for day in caregivers
        ]
        unassigned: list[Unassigned] = []
        order = sorted(
            visits, key=lambda v: (v.window_end, v.window_end - v.window_start, v.visit_id)
        )
        for visit in order:
            placed = self._place(visit, routes, travel)
            if isinstance(placed, str):
                unassigned.append(Unassigned(visit.visit_id, placed))
                continue
            route, slot = placed
            insort(
                route.stops,
                _Stop(
                    visit.visit_id,
                    slot.start,
                    slot.end,
                    visit.location,
                    visit.district_kind,
                    True,
                    visit.load,
                ),
                key=_route_key,
            )
        assignments, fixed = _sequence(routes, travel)
        return DispatchResult(tuple(assignments), tuple(unassigned), tuple(fixed))

    def _place(
        self, visit: VisitRequest, routes: list[_Route], travel: TravelModel
    ) -> tuple[_Route, _Slot] | str:
        """The route and slot for `visit`, or the most specific reason why there is none."""
        qualified = [r for r in routes if visit.required_qualifications <= r.day.qualifications]
        if not qualified:
            return NO_QUALIFIED_CAREGIVER
        working = [r for r in qualified if works_during(r.day, visit)]
        if not working:
            return NO_CAREGIVER_WORKING
        free = [r for r in working if r.has_room_for(visit)]
        if not free:
            return DAILY_LIMIT_REACHED
        for favourite in (visit.preferred_caregiver_id, visit.last_caregiver_id):
            route = next((r for r in free if r.caregiver_id == favourite), None)
            if route is not None:
                slot = _earliest_slot(route, visit, travel)
                if slot is not None:
                    return route, slot
        best: tuple[tuple[dt.timedelta, int, int], _Route, _Slot] | None = None
        for route in free:
            slot = _earliest_slot(route, visit, travel)
            if slot is None:
                continue
            rank = (slot.added_travel, len(route.stops), route.caregiver_id)
            if best is None or rank < best[0]:
                best = (rank, route, slot)
        if best is None:
            return NO_TIME_IN_WINDOW
        return best[1], best[2]


def _earliest_slot(route: _Route, visit: VisitRequest, travel: TravelModel) -> _Slot | None:
    """The earliest start that keeps every hard rule of this caregiver's day, if any.

    The earliest feasible start is always one of: the window or shift start, the arrival from
    the base, or the arrival from the end of an existing stop; so only those are tried.
    """
    day = route.day
    floor = max(visit.window_start, day.shift_start)
    from_base = travel.duration(day.base, visit.location, visit.district_kind)
    candidates = {max(floor, day.shift_start + from_base)}
    for stop in route.stops:
        leg = travel.duration(
            stop.location, visit.location, stop.district_kind, visit.district_kind
        )
        candidates.add(max(floor, stop.end + leg))
    for start in sorted(candidates):
        if start > visit.window_end:
            break
        slot = _fit(route, visit, start, from_base, travel)
        if slot is not None:
            return slot
    return None


def _fit(
    route: _Route,
    visit: VisitRequest,
    start: dt.datetime,
    from_base: dt.timedelta,
    travel: TravelModel,
) -> _Slot | None:
    """The slot starting at `start` when it keeps every rule, with the travel it adds.

    `start` is a candidate of _earliest_slot: inside the window and the shift, and never
    before the arrival from the base.
    """
    day = route.day
    end = start + visit.duration
    if end > day.shift_end:
        return None
    before: list[tuple[_Stop, dt.timedelta]] = []
    after: list[tuple[_Stop, dt.timedelta]] = []
    for stop in route.stops:
        leg = travel.duration(
            stop.location, visit.location, stop.district_kind, visit.district_kind
        )
        if stop.end + leg <= start:
            before.append((stop, leg))
        elif end + leg <= stop.start:
            after.append((stop, leg))
        else:
            return None
    if before:
        previous: _Stop | None = before[-1][0]
        arrive = before[-1][1]
    else:
        # The first stop of the day: every candidate start already allows for the travel from
        # the base (see _earliest_slot), so only the leg's length is needed here.
        previous, arrive = None, from_base
    if after:
        following: _Stop | None = after[0][0]
        leave = after[0][1]
    else:
        following, leave = None, travel.duration(visit.location, day.base, visit.district_kind)
        if end + leave > day.shift_end:
            return None
    return _Slot(start, end, arrive + leave - _direct(day, previous, following, travel))


def _direct(
    day: CaregiverDay, previous: _Stop | None, following: _Stop | None, travel: TravelModel
) -> dt.timedelta:
    """Travel between the neighbours of a slot had the visit not been there."""
    if previous is None:
        if following is None:
            return dt.timedelta(0)
        return travel.duration(day.base, following.location, following.district_kind)
    if following is None:
        return travel.duration(previous.location, day.base, previous.district_kind)
    return travel.duration(
        previous.location, following.location, previous.district_kind, following.district_kind
    )


def _sequence(
    routes: list[_Route], travel: TravelModel
) -> tuple[list[Assignment], list[Assignment]]:
    """Route order and travel from the previous stop (or the base) for every stop of every day."""
    assignments: list[Assignment] = []
    fixed: list[Assignment] = []
    for route in routes:
        previous: _Stop | None = None
        for order, stop in enumerate(route.stops, start=1):
            if previous is None:
                leg = travel.duration(route.day.base, stop.location, stop.district_kind)
            else:
                leg = travel.duration(
                    previous.location, stop.location, previous.district_kind, stop.district_kind
                )
            placed = Assignment(
                stop.visit_id, route.caregiver_id, stop.start, stop.end, order, whole_minutes(leg)
            )
            (assignments if stop.is_new else fixed).append(placed)
            previous = stop
    return assignments, fixed
