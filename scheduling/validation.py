"""An independent check of a dispatch result against every hard rule.

It shares nothing with the dispatcher but the travel model, so a test can run any dispatcher on
random days and prove that it never double-books, never breaks a window, a shift, a travel time,
a qualification or a daily limit, never drops a visit and gives honest reasons.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scheduling.travel import TravelModel, TravelTimes, whole_minutes
from scheduling.types import (
    DAILY_LIMIT_REACHED,
    NO_CAREGIVER_WORKING,
    NO_QUALIFIED_CAREGIVER,
    NO_TIME_IN_WINDOW,
    REASON_CODES,
    Assignment,
    CaregiverDay,
    DispatchResult,
    Location,
    VisitRequest,
)


@dataclass(frozen=True)
class RosterViolation:
    rule: str
    visit_id: int | None = None
    caregiver_id: int | None = None


@dataclass(frozen=True)
class _Stop:
    visit_id: int
    start: dt.datetime
    end: dt.datetime
    location: Location
    district_kind: str
    is_new: bool
    load: int


class _Legs:
    def __init__(self, travel: TravelModel) -> None:
        self.travel = travel

    def between(self, a: _Stop, b: _Stop) -> dt.timedelta:
        return self.travel.duration(a.location, b.location, a.district_kind, b.district_kind)

    def base(self, day: CaregiverDay, stop: _Stop) -> dt.timedelta:
        return self.travel.duration(day.base, stop.location, stop.district_kind)


def validate_roster(
    visits: Sequence[VisitRequest],
    caregivers: Sequence[CaregiverDay],
    result: DispatchResult,
    speeds_kmh: Mapping[str, float],
    *,
    travel: TravelModel | None = None,
) -> tuple[RosterViolation, ...]:
    """Every broken rule of `result`; an empty tuple means the roster is valid.

    Travel is the great-circle distance at `speeds_kmh` unless another `travel` model is given.
    """
    legs = _Legs(travel or TravelTimes(speeds_kmh))
    by_id = {visit.visit_id: visit for visit in visits}
    days = {day.caregiver_id: day for day in caregivers}
    problems = _coverage(by_id, result)
    routes: dict[int, list[_Stop]] = {
        day.caregiver_id: [
            _Stop(b.visit_id, b.start, b.end, b.location, b.district_kind, False, b.load)
            for b in day.existing
        ]
        for day in caregivers
    }
    for placed in result.assignments:
        visit = by_id.get(placed.visit_id)
        if visit is None:
            continue  # reported as an unknown visit
        day = days.get(placed.caregiver_id)
        if day is None:
            problems.append(RosterViolation("unknown_caregiver", visit.visit_id))
            continue
        problems.extend(_assignment_rules(visit, day, placed))
        routes[day.caregiver_id].append(
            _Stop(
                visit.visit_id,
                placed.start,
                placed.end,
                visit.location,
                visit.district_kind,
                True,
                visit.load,
            )
        )
    reported = {(a.visit_id, a.caregiver_id): a for a in result.assignments}
    fixed = {a.visit_id: a for a in result.fixed_stops}
    for caregiver_id, stops in routes.items():
        day = days[caregiver_id]
        stops.sort(key=lambda s: (s.start, s.end, s.visit_id))
        problems.extend(_route_rules(day, stops, legs))
        problems.extend(_sequence_rules(day, stops, reported, fixed, legs))
    problems.extend(_reason_rules(by_id, caregivers, routes, result))
    return tuple(problems)


def _coverage(by_id: Mapping[int, VisitRequest], result: DispatchResult) -> list[RosterViolation]:
    """Every visit appears exactly once, as an assignment or as unassigned."""
    problems = []
    seen = Counter(a.visit_id for a in result.assignments)
    seen.update(u.visit_id for u in result.unassigned)
    for visit_id, count in seen.items():
        if visit_id not in by_id:
            problems.append(RosterViolation("unknown_visit", visit_id))
        elif count > 1:
            problems.append(RosterViolation("visit_twice", visit_id))
    problems.extend(
        RosterViolation("visit_dropped", visit_id) for visit_id in by_id if visit_id not in seen
    )
    return problems


def _assignment_rules(
    visit: VisitRequest, day: CaregiverDay, placed: Assignment
) -> list[RosterViolation]:
    problems = []

    def broken(rule: str) -> None:
        problems.append(RosterViolation(rule, visit.visit_id, day.caregiver_id))

    if not visit.required_qualifications <= day.qualifications:
        broken("missing_qualification")
    if not day.is_on_duty:
        broken("caregiver_off_duty")
    if not visit.window_start <= placed.start <= visit.window_end:
        broken("start_outside_window")
    if placed.end - placed.start != dt.timedelta(minutes=visit.duration_minutes):
        broken("wrong_duration")
    if placed.start < day.shift_start or placed.end > day.shift_end:
        broken("outside_shift")
    return problems


def _route_rules(day: CaregiverDay, stops: list[_Stop], legs: _Legs) -> list[RosterViolation]:
    """No double booking, time to travel around every new visit, the daily limit, the load."""
    problems = []

    def broken(rule: str, stop: _Stop) -> None:
        problems.append(RosterViolation(rule, stop.visit_id, day.caregiver_id))

    for index, stop in enumerate(stops):
        if not stop.is_new:
            continue
        for other_index, other in enumerate(stops):
            if other_index == index or (other.is_new and other_index < index):
                continue  # each pair of new visits is looked at once
            if stop.start < other.end and other.start < stop.end:
                broken("double_booking", stop)
        if index == 0:
            arrival = day.shift_start + legs.base(day, stop)
        else:
            arrival = stops[index - 1].end + legs.between(stops[index - 1], stop)
        if index == len(stops) - 1:
            ready, deadline = stop.end + legs.base(day, stop), day.shift_end
        else:
            following = stops[index + 1]
            ready, deadline = stop.end + legs.between(stop, following), following.start
        if arrival > stop.start or ready > deadline:
            broken("no_travel_time", stop)
    if any(stop.is_new for stop in stops) and len(stops) > day.max_visits:
        problems.append(RosterViolation("daily_limit_exceeded", None, day.caregiver_id))
    overloaded = day.capacity is not None and sum(s.load for s in stops) > day.capacity
    if any(stop.is_new for stop in stops) and overloaded:
        problems.append(RosterViolation("capacity_exceeded", None, day.caregiver_id))
    return problems


def _sequence_rules(
    day: CaregiverDay,
    stops: list[_Stop],
    reported: Mapping[tuple[int, int], Assignment],
    fixed: Mapping[int, Assignment],
    legs: _Legs,
) -> list[RosterViolation]:
    """Route order and travel minutes match the day's stops in time order; fixed ones stay."""
    problems = []
    for index, stop in enumerate(stops):
        if stop.is_new:
            placed = reported[(stop.visit_id, day.caregiver_id)]
        else:
            kept = fixed.get(stop.visit_id)
            if (
                kept is None
                or kept.caregiver_id != day.caregiver_id
                or (kept.start, kept.end) != (stop.start, stop.end)
            ):
                problems.append(
                    RosterViolation("fixed_stop_moved", stop.visit_id, day.caregiver_id)
                )
                continue
            placed = kept
        if placed.route_order != index + 1:
            problems.append(RosterViolation("wrong_route_order", stop.visit_id, day.caregiver_id))
        leg = legs.base(day, stop) if index == 0 else legs.between(stops[index - 1], stop)
        if placed.travel_minutes != whole_minutes(leg):
            problems.append(
                RosterViolation("wrong_travel_minutes", stop.visit_id, day.caregiver_id)
            )
    return problems


def _reason_rules(
    by_id: Mapping[int, VisitRequest],
    caregivers: Sequence[CaregiverDay],
    routes: Mapping[int, list[_Stop]],
    result: DispatchResult,
) -> list[RosterViolation]:
    """A reason is a known code, and not contradicted by the caregivers' days."""
    problems = []
    for left in result.unassigned:
        if left.reason_code not in REASON_CODES:
            problems.append(RosterViolation("unknown_reason", left.visit_id))
            continue
        visit = by_id.get(left.visit_id)
        if visit is None:
            continue  # reported as an unknown visit
        qualified = [d for d in caregivers if visit.required_qualifications <= d.qualifications]
        working = [d for d in qualified if _on_duty_for(d, visit)]
        under_limit = [
            d
            for d in working
            if len(routes[d.caregiver_id]) < d.max_visits
            and sum(s.load for s in routes[d.caregiver_id]) + visit.load <= d.load_limit
        ]
        honest = {
            NO_QUALIFIED_CAREGIVER: not qualified,
            NO_CAREGIVER_WORKING: bool(qualified) and not working,
            DAILY_LIMIT_REACHED: bool(working) and not under_limit,
            NO_TIME_IN_WINDOW: bool(working),
        }
        if not honest[left.reason_code]:
            problems.append(RosterViolation("wrong_reason", left.visit_id))
    return problems


def _on_duty_for(day: CaregiverDay, visit: VisitRequest) -> bool:
    """The shift can hold the visit starting inside its window (travel aside)."""
    if not day.is_on_duty:
        return False
    latest_start = min(
        visit.window_end, day.shift_end - dt.timedelta(minutes=visit.duration_minutes)
    )
    return max(visit.window_start, day.shift_start) <= latest_start
