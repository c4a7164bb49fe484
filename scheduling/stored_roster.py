"""An independent check of a STORED roster (a day's visits as the database holds them).

`scheduling.validation` checks a dispatcher's result against its own input; this module checks
what ended up in the database, read back with plain SQL, trusting nothing the dispatcher said:
every booked visit of the day (assigned, confirmed, checked in, completed) whoever placed it,
against its caregiver's qualifications, working day and hours, the visit window and duration,
overlaps, travel from the base, between stops and back, the daily limit and the stored route
order and travel minutes. It shares only the travel model with the dispatcher.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from scheduling.travel import leg_speed_kmh, travel_minutes
from scheduling.types import Location
from scheduling.validation import RosterViolation

BOOKED = frozenset({"assigned", "confirmed", "checked_in", "completed"})


@dataclass(frozen=True)
class StoredVisit:
    visit_id: int
    provider_id: int
    status: str
    caregiver_id: int | None
    window_start: dt.datetime
    window_end: dt.datetime
    duration_minutes: int
    required_qualifications: frozenset[str]
    location: Location | None
    district_kind: str
    planned_start: dt.datetime | None = None
    planned_end: dt.datetime | None = None
    route_order: int | None = None
    travel_minutes: int | None = None
    unassigned_reason: str | None = None


@dataclass(frozen=True)
class StoredCaregiver:
    caregiver_id: int
    provider_id: int
    qualifications: frozenset[str]
    works_today: bool  # the day is one of the caregiver's working days
    shift_start: dt.datetime
    shift_end: dt.datetime
    base: Location
    max_visits: int
    is_enabled: bool = True


@dataclass(frozen=True)
class _Placed:
    """A booked visit with its caregiver's planned times."""

    visit: StoredVisit
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class RosterCheck:
    """The verdict on a stored day: violations, and the visits counted by outcome."""

    violations: tuple[RosterViolation, ...]
    assigned: int
    unassigned_by_reason: dict[str, int] = field(default_factory=dict)
    other_statuses: dict[str, int] = field(default_factory=dict)

    @property
    def unassigned(self) -> int:
        return sum(self.unassigned_by_reason.values())

    @property
    def violations_by_rule(self) -> dict[str, int]:
        return dict(Counter(v.rule for v in self.violations))


def check_stored_roster(
    visits: Sequence[StoredVisit],
    caregivers: Sequence[StoredCaregiver],
    speeds_kmh: Mapping[str, float],
) -> RosterCheck:
    """Every broken hard rule among the booked visits, and the counts of the day."""
    days = {c.caregiver_id: c for c in caregivers}
    problems: list[RosterViolation] = []
    routes: dict[int, list[_Placed]] = defaultdict(list)
    unassigned: Counter[str] = Counter()
    others: Counter[str] = Counter()
    for visit in visits:
        if visit.status == "unassigned":
            if visit.caregiver_id is not None or visit.planned_start is not None:
                problems.append(RosterViolation("unassigned_but_placed", visit.visit_id))
            unassigned[visit.unassigned_reason or "not_dispatched"] += 1
            continue
        if visit.status not in BOOKED:
            others[visit.status] += 1
            continue
        if visit.caregiver_id is None or visit.planned_start is None or visit.planned_end is None:
            problems.append(RosterViolation("booked_without_caregiver_or_times", visit.visit_id))
            continue
        day = days.get(visit.caregiver_id)
        if day is None:
            problems.append(
                RosterViolation("unknown_caregiver", visit.visit_id, visit.caregiver_id)
            )
            continue
        placed = _Placed(visit, visit.planned_start, visit.planned_end)
        problems.extend(_visit_rules(placed, day))
        routes[day.caregiver_id].append(placed)
    for caregiver_id, stops in sorted(routes.items()):
        stops.sort(key=lambda p: (p.start, p.end, p.visit.visit_id))
        problems.extend(_route_rules(days[caregiver_id], stops, speeds_kmh))
    return RosterCheck(
        tuple(problems),
        sum(len(stops) for stops in routes.values()),
        dict(unassigned),
        dict(others),
    )


def _visit_rules(placed: _Placed, day: StoredCaregiver) -> list[RosterViolation]:
    visit = placed.visit
    problems = []

    def broken(rule: str) -> None:
        problems.append(RosterViolation(rule, visit.visit_id, day.caregiver_id))

    if day.provider_id != visit.provider_id:
        broken("caregiver_of_another_provider")
    if not visit.required_qualifications <= day.qualifications:
        broken("missing_qualification")
    if not day.works_today or not day.is_enabled:
        broken("caregiver_off_duty")
    if not visit.window_start <= placed.start <= visit.window_end:
        broken("start_outside_window")
    if placed.end - placed.start != dt.timedelta(minutes=visit.duration_minutes):
        broken("wrong_duration")
    if placed.start < day.shift_start or placed.end > day.shift_end:
        broken("outside_working_hours")
    if visit.location is None:
        broken("no_home_location")
    return problems


def _route_rules(
    day: StoredCaregiver, stops: list[_Placed], speeds_kmh: Mapping[str, float]
) -> list[RosterViolation]:
    """Overlaps, travel from the base, between stops and back, the daily limit, route order."""
    problems = []

    def broken(rule: str, stop: _Placed) -> None:
        problems.append(RosterViolation(rule, stop.visit.visit_id, day.caregiver_id))

    def place(stop: _Placed) -> Location:
        return stop.visit.location or day.base  # reported as no_home_location above

    def kind(stop: _Placed) -> str:
        return stop.visit.district_kind

    if len(stops) > day.max_visits:
        problems.append(RosterViolation("daily_limit_exceeded", None, day.caregiver_id))
    previous: _Placed | None = None
    for order, stop in enumerate(stops, start=1):
        if previous is None:
            leg = travel_minutes(day.base, place(stop), leg_speed_kmh(speeds_kmh, kind(stop)))
            ready = day.shift_start + dt.timedelta(minutes=leg)
        else:
            speed = leg_speed_kmh(speeds_kmh, kind(previous), kind(stop))
            leg = travel_minutes(place(previous), place(stop), speed)
            if stop.start < previous.end:
                broken("double_booking", stop)
            ready = previous.end + dt.timedelta(minutes=leg)
        if ready > stop.start:
            broken("no_travel_time", stop)
        if stop.visit.route_order != order:
            broken("wrong_route_order", stop)
        if stop.visit.travel_minutes != leg:
            broken("wrong_travel_minutes", stop)
        previous = stop
    last = stops[-1]
    home = travel_minutes(place(last), day.base, leg_speed_kmh(speeds_kmh, kind(last)))
    if last.end + dt.timedelta(minutes=home) > day.shift_end:
        broken("no_time_to_return_to_base", last)
    return problems
