"""Dispatch with a vehicle-routing solver: PyVRP's iterated local search, then a greedy repair.

How the day becomes a prize-collecting VRP with time windows:

* Each caregiver's day is cut at the fixed bookings (`CaregiverDay.existing`) into free
  stretches; each stretch is a vehicle that leaves the base (or the end of a booking) at the
  stretch's start and must reach the next booking (or the base) by its start (or the shift end).
  The bookings themselves are not in the model, so they never move.
* Each visit is an optional client whose window bounds its start and whose prize dwarfs every
  other cost (goal 1: every visit assigned).
* Qualifications are load dimensions: a visit needs one unit of each qualification it requires,
  a caregiver has room in a dimension only if they hold it. Dimension 0 counts visits against
  the daily limit; another one holds the visits' loads when a caregiver has a capacity.
* Continuity (goal 2): each caregiver named as a visit's preferred or last caregiver gets a
  routing profile in which the arcs into that visit do not carry the penalty that every other
  caregiver pays (the preferred one weighs more than the last one).
* Travel (goal 3) costs `TRAVEL_WEIGHT` per second.
* Fair spread (goal 4): a caregiver's day beyond an equal share of the work costs
  `fairness_weight` per second (PyVRP's overtime): by default 1 against 100 per second of
  travel, so a minute of travel weighs as much as 100 minutes of imbalance.

The search starts from the greedy roster (its first incumbent, so it rarely ends worse on this
objective) and keeps the best roster that breaks no rule. Its routes are then timed again here
(earliest starts, in the caller's datetimes) and anything that breaks a hard rule or a daily
limit shared by several stretches is taken out.
`GreedyDispatcher` then places what is left where it still fits and gives every visit nobody
can take its reason, from the hard rules.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyvrp
from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours
from pyvrp.stop import (
    MaxIterations,
    MaxRuntime,
    MultipleCriteria,
    NoImprovement,
    StoppingCriterion,
)

from scheduling.dispatch import GreedyDispatcher, works_during
from scheduling.travel import TravelModel, TravelTimes
from scheduling.types import (
    Assignment,
    Booking,
    CaregiverDay,
    DispatchResult,
    Location,
    VisitRequest,
)

TRAVEL_WEIGHT = 100  # the cost of one second of travel
FAIRNESS_WEIGHT = 1  # the cost of one second of a day beyond the fair share
LAST_CAREGIVER_PENALTY = 3 * 10**6  # more than any saving in travel (8 hours)
PREFERRED_CAREGIVER_PENALTY = 2 * LAST_CAREGIVER_PENALTY
VISIT_PRIZE = 10**10  # more than the continuity penalties of 1,000 visits together
DEFAULT_TIME_LIMIT_SECONDS = 5.0
# The search may pass through rosters that break a rule, at a penalty per unit of excess; it
# returns the best roster that breaks none (it starts from one: the greedy roster). Penalties up
# to a visit's prize let it leave such detours.
_PARAMS = pyvrp.SolveParams(penalty=pyvrp.PenaltyParams(max_penalty=float(VISIT_PRIZE)))


@dataclass(frozen=True)
class _Place:
    location: Location
    district_kinds: tuple[str, ...]  # () for a caregiver's base


@dataclass(frozen=True)
class _Stretch:
    """A free part of a caregiver's day, between two fixed points."""

    day: CaregiverDay
    start: _Place
    end: _Place
    begin: dt.datetime
    finish: dt.datetime


@dataclass(frozen=True)
class _Planned:
    visit: VisitRequest
    start: dt.datetime
    end: dt.datetime


def _stretches(day: CaregiverDay) -> list[_Stretch]:
    """The free parts of an on-duty day, around its bookings.

    A stretch after a booking that another one encloses is left out (the day's bookings
    overlap: nothing new goes there).
    """
    if not day.is_on_duty:
        return []
    base = _Place(day.base, ())
    found = []
    previous, latest, is_clear = base, None, True
    for booking in sorted(day.existing, key=lambda b: (b.start, b.end, b.visit_id)):
        begin = day.shift_start if latest is None else max(latest, day.shift_start)
        finish = min(booking.start, day.shift_end)
        here = _Place(booking.location, (booking.district_kind,))
        if is_clear and begin < finish:
            found.append(_Stretch(day, previous, here, begin, finish))
        if latest is None or booking.end >= latest:
            previous, latest, is_clear = here, booking.end, True
        else:
            is_clear = False
    begin = day.shift_start if latest is None else max(latest, day.shift_start)
    if is_clear and begin < day.shift_end:
        found.append(_Stretch(day, previous, base, begin, day.shift_end))
    return found


def _room(day: CaregiverDay) -> tuple[int, int]:
    """Visits and load the day can still take besides its bookings."""
    return (
        day.max_visits - len(day.existing),
        day.load_limit - sum(booking.load for booking in day.existing),
    )


def _could_take(day: CaregiverDay, visit: VisitRequest) -> bool:
    visits_left, load_left = _room(day)
    return (
        visit.required_qualifications <= day.qualifications
        and works_during(day, visit)
        and visits_left > 0
        and visit.load <= load_left
    )


class RoutingDispatcher:
    """A `Dispatcher` built on PyVRP; see the module docstring for the model.

    The search stops after `time_limit` seconds or `iterations` iterations, whichever comes
    first (give one or both), or earlier after `patience` iterations without a better roster (a
    small day is solved long before the time is up). With the same `seed`, a search bounded by
    iterations only gives the same roster every time; one bounded by time depends on the
    machine's speed and load.
    """

    def __init__(
        self,
        time_limit: float | None = DEFAULT_TIME_LIMIT_SECONDS,
        *,
        iterations: int | None = None,
        seed: int = 0,
        patience: int | None = None,
        travel: TravelModel | None = None,
        fairness_weight: int = FAIRNESS_WEIGHT,
    ) -> None:
        if time_limit is None and iterations is None:
            raise ValueError("give a time limit, a number of iterations, or both")
        if any(limit is not None and limit <= 0 for limit in (time_limit, iterations, patience)):
            raise ValueError("the time limit and the numbers of iterations must be positive")
        if fairness_weight < 0:
            raise ValueError("the fairness weight must not be negative")
        self.time_limit = time_limit
        self.iterations = iterations
        self.seed = seed
        self.patience = patience
        self.fairness_weight = fairness_weight
        self._travel = travel  # None: great-circle distance at the speeds given to solve()

    def solve(
        self,
        visits: Sequence[VisitRequest],
        caregivers: Sequence[CaregiverDay],
        speeds_kmh: Mapping[str, float],
    ) -> DispatchResult:
        travel = self._travel or TravelTimes(speeds_kmh)
        ordered_visits = sorted(visits, key=lambda v: v.visit_id)
        days = sorted(caregivers, key=lambda d: d.caregiver_id)
        stretches = [s for day in days if _room(day)[0] > 0 for s in _stretches(day)]
        candidates = [v for v in ordered_visits if any(_could_take(s.day, v) for s in stretches)]
        planned: dict[int, list[_Planned]] = {}
        if candidates and stretches:
            routes = self._search(candidates, stretches, travel, days, speeds_kmh)
            planned = _within_limits(routes, travel, {d.caregiver_id: d for d in days})
        placed_ids = {p.visit.visit_id for stops in planned.values() for p in stops}
        with_new = [
            replace(
                day,
                existing=day.existing
                + tuple(
                    Booking(
                        p.visit.visit_id,
                        p.start,
                        p.end,
                        p.visit.location,
                        p.visit.district_kind,
                        p.visit.load,
                    )
                    for p in planned.get(day.caregiver_id, [])
                ),
            )
            for day in days
        ]
        rest = [v for v in ordered_visits if v.visit_id not in placed_ids]
        repaired = GreedyDispatcher(travel).solve(rest, with_new, speeds_kmh)
        assignments: list[Assignment] = [
            a for a in repaired.fixed_stops if a.visit_id in placed_ids
        ]
        assignments.extend(repaired.assignments)
        assignments.sort(key=lambda a: (a.caregiver_id, a.route_order))
        return DispatchResult(
            tuple(assignments),
            tuple(sorted(repaired.unassigned, key=lambda u: u.visit_id)),
            tuple(a for a in repaired.fixed_stops if a.visit_id not in placed_ids),
        )

    def _stop(self) -> StoppingCriterion:
        criteria: list[StoppingCriterion] = []
        if self.time_limit is not None:
            criteria.append(MaxRuntime(self.time_limit))
        if self.iterations is not None:
            criteria.append(MaxIterations(self.iterations))
        if self.patience is not None:
            criteria.append(NoImprovement(self.patience))
        return criteria[0] if len(criteria) == 1 else MultipleCriteria(criteria)

    def _search(
        self,
        visits: Sequence[VisitRequest],
        stretches: Sequence[_Stretch],
        travel: TravelModel,
        days: Sequence[CaregiverDay],
        speeds_kmh: Mapping[str, float],
    ) -> list[tuple[_Stretch, list[VisitRequest]]]:
        """The solver's routes: for each stretch used, its visits in order.

        The search starts from the greedy roster, so it only ever improves on it.
        """
        model = _Model(visits, stretches, travel, self.fairness_weight)
        if not model.visits:
            return []
        data = model.data()
        greedy = GreedyDispatcher(travel).solve(model.visits, days, speeds_kmh)
        result = _iterated_local_search(
            data, model.solution(data, greedy.assignments), self._stop(), self.seed
        )
        routes = []
        for route in result.best.routes():
            stretch = model.stretches[route.vehicle_type()]
            order = [model.visits[act.idx] for act in route.schedule() if act.is_client()]
            routes.append((stretch, order))
        return routes


def _iterated_local_search(
    data: pyvrp.ProblemData,
    initial: pyvrp.Solution,
    stop: StoppingCriterion,
    seed: int,
) -> pyvrp.Result:
    """`pyvrp.solve`, but with neighbours chosen by travel alone.

    PyVRP picks each visit's neighbours (the moves it tries) from the first profile's arc
    costs, which carry the continuity penalties; near homes are what matters for moves.
    """
    travel_only = data.replace(
        distance_matrices=[data.duration_matrix(0) * TRAVEL_WEIGHT]  # type: ignore[list-item]  # stub
        * data.num_profiles
    )
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    neighbours = compute_neighbours(travel_only, _PARAMS.neighbourhood)
    search = LocalSearch(data, rng, neighbours, PerturbationManager(_PARAMS.perturbation))
    for operator in _PARAMS.operators:
        if operator.supports(data):
            search.add_operator(operator(data))
    penalties = pyvrp.PenaltyManager(_PARAMS.penalty.midpoint_penalties(data), _PARAMS.penalty)
    algorithm = pyvrp.IteratedLocalSearch(data, penalties, search, initial, _PARAMS.ils)
    return algorithm.run(stop, collect_stats=False)


class _Model:
    """The PyVRP problem data of one dispatch (times in whole seconds from `origin`)."""

    def __init__(
        self,
        visits: Sequence[VisitRequest],
        stretches: Sequence[_Stretch],
        travel: TravelModel,
        fairness_weight: int,
    ) -> None:
        moments = [s.begin for s in stretches] + [v.window_start for v in visits]
        self.origin = min(moments).replace(microsecond=0)
        self.stretches = [
            s for s in stretches if self._tick(s.begin, up=True) < self._tick(s.finish, up=False)
        ]
        self.visits = [
            v
            for v in visits
            if self._tick(v.window_start, up=True) <= self._tick(v.window_end, up=False)
        ]
        self.travel = travel
        self.fairness_weight = fairness_weight

    def _tick(self, moment: dt.datetime, *, up: bool) -> int:
        seconds = (moment - self.origin).total_seconds()
        return math.ceil(seconds) if up else math.floor(seconds)

    def data(self) -> pyvrp.ProblemData:
        places = [_Place(v.location, (v.district_kind,)) for v in self.visits]
        for stretch in self.stretches:
            places += [stretch.start, stretch.end]
        durations = self._durations(places)
        needed = sorted({q for v in self.visits for q in v.required_qualifications})
        has_loads = any(s.day.capacity is not None for s in self.stretches) or any(
            v.load != 1 for v in self.visits
        )
        clients = [
            pyvrp.Client(
                location=index,
                delivery=[
                    1,
                    *([v.load] if has_loads else []),
                    *(int(q in v.required_qualifications) for q in needed),
                ],
                service_duration=v.duration_minutes * 60,
                tw_early=self._tick(v.window_start, up=True),
                tw_late=self._tick(v.window_end, up=False),
                prize=VISIT_PRIZE,
                required=False,
            )
            for index, v in enumerate(self.visits)
        ]
        first_depot = len(self.visits)
        depots = [pyvrp.Depot(location=i) for i in range(first_depot, len(places))]
        profiles, profile_of = self._profiles(durations)
        shares = self._fair_shares()
        vehicle_types = []
        for number, stretch in enumerate(self.stretches):
            day = stretch.day
            visits_left, load_left = _room(day)
            early = self._tick(stretch.begin, up=True)
            late = self._tick(stretch.finish, up=False)
            length = late - early
            share = shares[number]
            if self.fairness_weight and share < length:
                nominal, overtime, weight = share, length - share, self.fairness_weight
            else:
                nominal, overtime, weight = length, 0, 0
            vehicle_types.append(
                pyvrp.VehicleType(
                    num_available=1,
                    capacity=[
                        visits_left,
                        *([max(0, load_left)] if has_loads else []),
                        *(visits_left if q in day.qualifications else 0 for q in needed),
                    ],
                    start_depot=2 * number,
                    end_depot=2 * number + 1,
                    tw_early=early,
                    tw_late=late,
                    profile=profile_of.get(day.caregiver_id, 0),
                    shift_duration=nominal,
                    max_overtime=overtime,
                    unit_overtime_cost=weight,
                )
            )
        locations = [pyvrp.Location(p.location.lat, p.location.lon) for p in places]
        return pyvrp.ProblemData(
            locations,
            clients,
            depots,
            vehicle_types,
            profiles,  # type: ignore[arg-type]  # pyvrp's stub spells it np.ndarray[int]
            [durations] * len(profiles),  # type: ignore[list-item]  # the same stub
        )

    def solution(
        self, data: pyvrp.ProblemData, assignments: Sequence[Assignment]
    ) -> pyvrp.Solution:
        """These assignments as a PyVRP solution: each visit in the stretch that holds it."""
        client = {v.visit_id: index for index, v in enumerate(self.visits)}
        routes: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
        for placed in assignments:
            for number, stretch in enumerate(self.stretches):
                if (
                    stretch.day.caregiver_id == placed.caregiver_id
                    and stretch.begin <= placed.start
                    and placed.end <= stretch.finish
                    and placed.visit_id in client
                ):
                    routes[number].append((placed.start, client[placed.visit_id]))
                    break
        return pyvrp.Solution(
            data,
            [
                pyvrp.Route(data, [c for _, c in sorted(stops)], number)
                for number, stops in sorted(routes.items())
            ],
        )

    def _durations(self, places: Sequence[_Place]) -> np.ndarray:
        """Travel seconds between places (rounded up); none between two depots."""
        size = len(places)
        first_depot = len(self.visits)
        matrix = np.zeros((size, size), dtype=np.int64)
        for i, a in enumerate(places):
            for j, b in enumerate(places):
                if i == j or (i >= first_depot and j >= first_depot):
                    continue
                leg = self.travel.duration(
                    a.location, b.location, *a.district_kinds, *b.district_kinds
                )
                matrix[i, j] = math.ceil(leg.total_seconds())
        return matrix

    def _profiles(self, durations: np.ndarray) -> tuple[list[np.ndarray], dict[int, int]]:
        """Arc costs: travel, plus the continuity penalty of arcs into a visit.

        Profile 0 is for caregivers whom no visit names; each named caregiver gets their own.
        """
        named = sorted(
            {
                c
                for v in self.visits
                for c in (v.preferred_caregiver_id, v.last_caregiver_id)
                if c is not None
            }
            & {s.day.caregiver_id for s in self.stretches}
        )
        costs = durations * TRAVEL_WEIGHT
        profiles = []
        for caregiver_id in [None, *named]:
            penalty = np.zeros(durations.shape[0], dtype=np.int64)
            for index, v in enumerate(self.visits):
                if v.preferred_caregiver_id not in (None, caregiver_id):
                    penalty[index] += PREFERRED_CAREGIVER_PENALTY
                if v.last_caregiver_id not in (None, caregiver_id):
                    penalty[index] += LAST_CAREGIVER_PENALTY
            profile = costs + penalty[np.newaxis, :]
            np.fill_diagonal(profile, 0)
            profiles.append(profile)
        return profiles, {c: number for number, c in enumerate(named, start=1)}

    def _fair_shares(self) -> list[int]:
        """Each stretch's part of an equal share of the day's work, in seconds.

        The share of a caregiver is the work of all visits and bookings divided equally among
        the caregivers, less their own bookings; a day cut by bookings splits it among its
        stretches in proportion to their lengths.
        """
        days = {s.day.caregiver_id: s.day for s in self.stretches}
        booked = {
            c: sum(int((b.end - b.start).total_seconds()) for b in day.existing)
            for c, day in days.items()
        }
        work = sum(v.duration_minutes * 60 for v in self.visits) + sum(booked.values())
        share = math.ceil(work / len(days))
        free: dict[int, float] = defaultdict(float)
        for stretch in self.stretches:
            free[stretch.day.caregiver_id] += (stretch.finish - stretch.begin).total_seconds()
        return [
            math.floor(max(0, share - booked[c]) * (s.finish - s.begin).total_seconds() / free[c])
            for s in self.stretches
            for c in [s.day.caregiver_id]
        ]


def _timed(stretch: _Stretch, order: Sequence[VisitRequest], travel: TravelModel) -> list[_Planned]:
    """Earliest starts along a stretch; a visit that breaks a rule is left out."""

    def leg(a: _Place, b: _Place) -> dt.timedelta:
        return travel.duration(a.location, b.location, *a.district_kinds, *b.district_kinds)

    kept: list[tuple[_Planned, _Place]] = []
    for visit in order:
        if not visit.required_qualifications <= stretch.day.qualifications:
            continue  # the solver may return a roster that breaks a rule when it found no other
        here = _Place(visit.location, (visit.district_kind,))
        previous, free = (kept[-1][1], kept[-1][0].end) if kept else (stretch.start, stretch.begin)
        start = max(free + leg(previous, here), visit.window_start)
        if start > visit.window_end or start + visit.duration > stretch.finish:
            continue
        kept.append((_Planned(visit, start, start + visit.duration), here))
    while kept and kept[-1][0].end + leg(kept[-1][1], stretch.end) > stretch.finish:
        kept.pop()
    return [planned for planned, _ in kept]


def _within_limits(
    routes: Sequence[tuple[_Stretch, list[VisitRequest]]],
    travel: TravelModel,
    days: Mapping[int, CaregiverDay],
) -> dict[int, list[_Planned]]:
    """Caregiver id -> the solver's visits that keep every rule, the daily limits included.

    A day cut by bookings has several stretches that share its daily limit; the latest visits
    beyond it are left out (the greedy repair may still place them elsewhere).
    """
    by_caregiver: dict[int, list[_Planned]] = defaultdict(list)
    for stretch, order in routes:
        by_caregiver[stretch.day.caregiver_id].extend(_timed(stretch, order, travel))
    planned = {}
    for caregiver_id, stops in by_caregiver.items():
        stops.sort(key=lambda p: p.start)
        visits_left, load_left = _room(days[caregiver_id])
        while stops and (len(stops) > visits_left or sum(p.visit.load for p in stops) > load_left):
            stops.pop()
        planned[caregiver_id] = stops
    return planned
