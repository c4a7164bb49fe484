"""The routing dispatcher on small, hand-made days (every result also passes the validator)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from scheduling.dispatch import Dispatcher, works_during
from scheduling.routing import RoutingDispatcher, _stretches, _timed
from scheduling.travel import EuclideanTravel, TravelTimes
from scheduling.types import (
    DAILY_LIMIT_REACHED,
    NO_CAREGIVER_WORKING,
    NO_QUALIFIED_CAREGIVER,
    NO_TIME_IN_WINDOW,
    Assignment,
    CaregiverDay,
    DispatchResult,
    Location,
    VisitRequest,
)
from scheduling.validation import validate_roster
from tests.scheduling.builders import HOME, SPEEDS, at, booking, caregiver, km_north, visit

NURSING = frozenset({"nursing"})


def solve(visits: Sequence[VisitRequest], caregivers: Sequence[CaregiverDay]) -> DispatchResult:
    dispatcher: Dispatcher = RoutingDispatcher(iterations=200, time_limit=None)
    result = dispatcher.solve(visits, caregivers, SPEEDS)
    assert validate_roster(visits, caregivers, result, SPEEDS) == ()
    return result


def placed(result: DispatchResult) -> dict[int, Assignment]:
    return {a.visit_id: a for a in result.assignments}


def reasons(result: DispatchResult) -> dict[int, str]:
    return {u.visit_id: u.reason_code for u in result.unassigned}


def test_dispatch_gives_a_visit_to_the_caregiver_holding_the_qualification() -> None:
    result = solve(
        [visit(1, needs=NURSING)],
        [caregiver(1, holds=frozenset({"daily_care"})), caregiver(2, holds=NURSING)],
    )
    assert placed(result)[1].caregiver_id == 2


def test_dispatch_needs_every_required_qualification() -> None:
    result = solve(
        [visit(1, needs=frozenset({"nursing", "rehabilitation"}))],
        [caregiver(1, holds=NURSING), caregiver(2, holds=frozenset({"rehabilitation"}))],
    )
    assert reasons(result) == {1: NO_QUALIFIED_CAREGIVER}


def test_dispatch_starts_the_visit_at_the_start_of_its_window() -> None:
    result = solve([visit(1, (9, 0), (11, 0))], [caregiver(1)])
    assert placed(result)[1] == Assignment(1, 1, at(9, 0), at(10, 0), 1, 0)


def test_dispatch_starts_after_the_travel_from_the_base_at_the_shift_start() -> None:
    far_base = km_north(10)  # 30 minutes at 20 km/h
    result = solve([visit(1, (8, 0), (11, 0))], [caregiver(1, base=far_base)])
    assert placed(result)[1].start == at(8, 30)
    assert placed(result)[1].travel_minutes == 30


def test_dispatch_waits_for_a_shift_starting_inside_the_window() -> None:
    result = solve([visit(1, (9, 0), (11, 0))], [caregiver(1, shift=((10, 30), (18, 0)))])
    assert placed(result)[1].start == at(10, 30)


@pytest.mark.parametrize(
    "nurse",
    [
        caregiver(1, shift=((8, 0), (18, 0)), on_duty=False),  # a day off
        caregiver(1, shift=((13, 0), (18, 0))),  # starts after the window
        caregiver(1, shift=((6, 0), (9, 30))),  # ends before the visit could
    ],
)
def test_dispatch_reports_nobody_working_in_the_window(nurse: CaregiverDay) -> None:
    result = solve([visit(1, (9, 0), (11, 0))], [nurse])
    assert reasons(result) == {1: NO_CAREGIVER_WORKING}


def test_works_during_counts_the_visit_duration() -> None:
    assert works_during(caregiver(1, shift=((6, 0), (10, 0))), visit(1, (9, 0), (11, 0)))
    assert not works_during(caregiver(1, shift=((6, 0), (9, 59))), visit(1, (9, 0), (11, 0)))


@pytest.mark.parametrize(("km", "second_fits"), [(0.0, True), (1.0, False)])
def test_dispatch_travel_time_can_make_a_second_visit_infeasible(
    km: float, second_fits: bool
) -> None:
    visits = [visit(1, (9, 0), (9, 0)), visit(2, (10, 0), (10, 0), where=km_north(km))]
    result = solve(visits, [caregiver(1)])
    assert placed(result)[1].start == at(9, 0)
    if second_fits:
        assert placed(result)[2].start == at(10, 0)
    else:
        assert reasons(result) == {2: NO_TIME_IN_WINDOW}


def test_dispatch_leaves_time_to_get_back_to_the_base() -> None:
    late = visit(1, (17, 0), (17, 0))
    assert reasons(solve([late], [caregiver(1, base=km_north(2))])) == {1: NO_TIME_IN_WINDOW}
    assert placed(solve([late], [caregiver(1)]))[1].end == at(18, 0)


def test_dispatch_respects_the_daily_limit() -> None:
    visits = [visit(1, (9, 0), (9, 0)), visit(2, (11, 0), (11, 0))]
    result = solve(visits, [caregiver(1, max_visits=1)])
    assert len(placed(result)) == 1
    assert list(reasons(result).values()) == [DAILY_LIMIT_REACHED]


def test_dispatch_counts_existing_bookings_towards_the_daily_limit() -> None:
    kept = booking(100, (14, 0), (15, 0))
    result = solve([visit(1)], [caregiver(1, max_visits=1, existing=(kept,))])
    assert reasons(result) == {1: DAILY_LIMIT_REACHED}


def test_dispatch_never_moves_or_overlaps_an_existing_booking() -> None:
    kept = booking(100, (9, 0), (10, 0))
    result = solve([visit(1, (9, 0), (11, 0))], [caregiver(1, existing=(kept,))])
    assert placed(result)[1].start == at(10, 0)
    assert result.fixed_stops == (Assignment(100, 1, at(9, 0), at(10, 0), 1, 0),)


def test_dispatch_fits_a_visit_into_a_gap_between_bookings() -> None:
    kept = (booking(100, (9, 0), (10, 0)), booking(101, (11, 0), (12, 0)))
    result = solve(
        [visit(1, (9, 0), (12, 0)), visit(2, (9, 0), (12, 0), minutes=90)],
        [caregiver(1, existing=kept)],
    )
    assert placed(result)[1].start == at(10, 0)
    assert placed(result)[1].route_order == 2
    assert placed(result)[2].start == at(12, 0)  # 90 minutes do not fit in the gap
    assert [s.route_order for s in result.fixed_stops] == [1, 3]


def test_dispatch_puts_an_early_visit_before_a_booking_and_renumbers_the_route() -> None:
    kept = booking(100, (10, 0), (11, 0), where=km_north(1))  # 3 minutes away
    result = solve([visit(1, (8, 0), (9, 0))], [caregiver(1, existing=(kept,))])
    assert placed(result)[1] == Assignment(1, 1, at(8, 0), at(9, 0), 1, 0)
    assert result.fixed_stops == (Assignment(100, 1, at(10, 0), at(11, 0), 2, 3),)


def test_dispatch_keeps_the_travel_to_the_next_booking() -> None:
    kept = booking(100, (10, 0), (11, 0), where=km_north(5))  # 15 minutes away
    result = solve([visit(1, (8, 0), (9, 0), minutes=50)], [caregiver(1, existing=(kept,))])
    assert reasons(result) == {}
    assert placed(result)[1].start == at(8, 0)
    tight = solve([visit(1, (8, 50), (9, 0), minutes=60)], [caregiver(1, existing=(kept,))])
    assert reasons(tight) == {1: NO_TIME_IN_WINDOW}


def test_dispatch_places_the_tightest_window_first() -> None:
    wide, narrow = visit(1, (9, 0), (12, 0)), visit(2, (9, 0), (9, 0))
    result = solve([wide, narrow], [caregiver(1)])
    assert placed(result)[2].start == at(9, 0)
    assert placed(result)[1].start == at(10, 0)


def test_dispatch_prefers_the_nearest_caregiver() -> None:
    result = solve([visit(1)], [caregiver(1, base=km_north(8)), caregiver(2, base=km_north(1))])
    assert placed(result)[1].caregiver_id == 2


def test_dispatch_keeps_continuity_with_the_last_caregiver() -> None:
    result = solve(
        [visit(1, last=1)], [caregiver(1, base=km_north(8)), caregiver(2, base=km_north(1))]
    )
    assert placed(result)[1].caregiver_id == 1


def test_dispatch_puts_the_preferred_caregiver_before_the_last_one() -> None:
    caregivers = [caregiver(1), caregiver(2), caregiver(3)]
    result = solve([visit(1, preferred=3, last=2)], caregivers)
    assert placed(result)[1].caregiver_id == 3


def test_dispatch_falls_back_to_the_last_caregiver_when_the_preferred_is_full() -> None:
    kept = booking(100, (9, 0), (11, 0))
    caregivers = [caregiver(1), caregiver(2), caregiver(3, existing=(kept,))]
    result = solve([visit(1, (9, 0), (10, 0), preferred=3, last=2)], caregivers)
    assert placed(result)[1].caregiver_id == 2


def test_dispatch_ignores_a_preferred_caregiver_without_the_qualification() -> None:
    caregivers = [caregiver(1, holds=frozenset({"daily_care"})), caregiver(2, base=km_north(5))]
    result = solve([visit(1, needs=NURSING, preferred=1)], caregivers)
    assert placed(result)[1].caregiver_id == 2


def test_dispatch_spreads_work_fairly_when_travel_is_equal() -> None:
    visits = [visit(1, (9, 0), (9, 0)), visit(2, (11, 0), (11, 0))]
    result = solve(visits, [caregiver(1), caregiver(2)])
    assert {placed(result)[1].caregiver_id, placed(result)[2].caregiver_id} == {1, 2}


def test_dispatch_reports_the_most_specific_reason() -> None:
    full = caregiver(1, max_visits=0)
    busy = caregiver(2, existing=(booking(100, (8, 0), (12, 0)),))
    untrained = caregiver(3, holds=frozenset({"daily_care"}))
    needs = visit(1, (9, 0), (10, 0), needs=NURSING)
    assert reasons(solve([needs], [untrained, full])) == {1: DAILY_LIMIT_REACHED}
    assert reasons(solve([needs], [untrained, full, busy])) == {1: NO_TIME_IN_WINDOW}
    assert reasons(solve([needs], [])) == {1: NO_QUALIFIED_CAREGIVER}


def test_dispatch_computes_route_order_and_travel_along_the_route() -> None:
    visits = [
        visit(1, (9, 0), (9, 0), where=km_north(1)),
        visit(2, (10, 30), (10, 30), where=km_north(6)),
        visit(3, (12, 0), (12, 0), where=km_north(6)),
    ]
    result = solve(visits, [caregiver(1)])
    route = sorted(result.assignments, key=lambda a: a.route_order)
    assert [(a.visit_id, a.route_order, a.travel_minutes) for a in route] == [
        (1, 1, 3),
        (2, 2, 15),
        (3, 3, 0),
    ]


def test_dispatch_uses_the_rural_speed_for_rural_homes() -> None:
    far_base = km_north(10)  # 18 minutes at 35 km/h
    result = solve([visit(1, (8, 0), (11, 0), kind="rural")], [caregiver(1, base=far_base)])
    assert placed(result)[1].start == at(8, 18)


def test_dispatch_of_nothing_is_empty() -> None:
    assert solve([], [caregiver(1)]) == DispatchResult((), (), ())


def test_dispatch_is_repeatable() -> None:
    visits = [visit(i, (9, 0), (12, 0), where=km_north(i)) for i in range(1, 6)]
    caregivers = [caregiver(1), caregiver(2, base=km_north(3)), caregiver(3, base=km_north(5))]
    assert solve(visits, caregivers) == solve(list(reversed(visits)), caregivers)


def test_dispatch_skips_existing_bookings_outside_the_shift() -> None:
    # A hand-made booking before the shift start: the new visit still goes after it.
    kept = booking(100, (6, 0), (7, 0))
    result = solve([visit(1, (7, 0), (11, 0))], [caregiver(1, existing=(kept,))])
    assert placed(result)[1].start == at(8, 0)
    assert placed(result)[1].route_order == 2


def test_dispatch_assigns_every_visit_before_keeping_continuity() -> None:
    # The greedy gives visit 1 to its preferred nurse and then has nobody for visit 2.
    visits = [visit(1, (9, 0), (9, 0), preferred=1), visit(2, (9, 0), (9, 0), needs=NURSING)]
    caregivers = [caregiver(1), caregiver(2, holds=frozenset({"daily_care"}))]
    result = solve(visits, caregivers)
    assert {v: a.caregiver_id for v, a in placed(result).items()} == {1: 2, 2: 1}


def test_dispatch_keeps_continuity_when_it_costs_travel() -> None:
    visits = [visit(1, preferred=1), visit(2, (13, 0), (15, 0), last=1)]
    caregivers = [caregiver(1, base=km_north(6)), caregiver(2)]
    result = solve(visits, caregivers)
    assert {a.caregiver_id for a in result.assignments} == {1}


def test_dispatch_spreads_equal_work_evenly() -> None:
    visits = [visit(i, (9, 0), (16, 0)) for i in range(1, 7)]
    result = solve(visits, [caregiver(1), caregiver(2), caregiver(3)])
    per_caregiver = Counter(a.caregiver_id for a in result.assignments)
    assert sorted(per_caregiver.values()) == [2, 2, 2]


def test_dispatch_puts_least_travel_before_fair_spread() -> None:
    near, far = caregiver(1), caregiver(2, base=km_north(5))
    visits = [visit(1, (9, 0), (12, 0)), visit(2, (9, 0), (12, 0))]
    assert {a.caregiver_id for a in solve(visits, [near, far]).assignments} == {1}


def test_dispatch_holds_the_capacity_of_a_day() -> None:
    heavy = [visit(1, (9, 0), (9, 0), load=3), visit(2, (11, 0), (11, 0), load=3)]
    result = solve(heavy, [caregiver(1, capacity=4)])
    assert len(result.assignments) == 1
    assert set(reasons(result).values()) == {DAILY_LIMIT_REACHED}


def test_dispatch_uses_the_travel_model_it_is_given() -> None:
    travel = EuclideanTravel(dt.timedelta(minutes=1))  # one degree = one minute
    far = visit(1, (8, 0), (12, 0), where=Location(HOME.lat + 30, HOME.lon + 40))
    dispatcher = RoutingDispatcher(None, iterations=50, travel=travel)
    result = dispatcher.solve([far], [caregiver(1)], {})
    assert validate_roster([far], [caregiver(1)], result, {}, travel=travel) == ()
    assert (placed(result)[1].start, placed(result)[1].travel_minutes) == (at(8, 50), 50)


@pytest.mark.parametrize(
    "budget",
    [
        {"time_limit": None},
        {"time_limit": 0},
        {"time_limit": 1.0, "iterations": 0},
        {"time_limit": 1.0, "patience": -1},
        {"time_limit": 1.0, "fairness_weight": -1},
    ],
)
def test_routing_dispatcher_rejects_a_budget_that_cannot_work(budget: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"must|give"):
        RoutingDispatcher(**budget)


def test_routing_dispatcher_stops_early_without_improvement() -> None:
    dispatcher = RoutingDispatcher(60.0, patience=50)
    began = time.perf_counter()
    result = dispatcher.solve([visit(1)], [caregiver(1)], SPEEDS)
    assert time.perf_counter() - began < 30
    assert placed(result)[1].caregiver_id == 1


def test_dispatch_places_a_window_shorter_than_a_second_without_the_solver() -> None:
    moment = at(9, 0) + dt.timedelta(microseconds=500)
    odd = dataclasses.replace(visit(1), window_start=moment, window_end=moment)
    assert placed(solve([odd], [caregiver(1)]))[1].start == moment


def test_timing_a_route_leaves_out_what_breaks_a_rule() -> None:
    day = caregiver(1, holds=frozenset({"daily_care"}), shift=((8, 0), (12, 0)))
    (stretch,) = _stretches(day)
    order = [
        visit(1, (9, 0), (9, 0), needs=NURSING),  # not qualified
        visit(2, (9, 0), (9, 0)),
        visit(3, (9, 30), (9, 30)),  # starts while visit 2 goes on
        visit(4, (11, 0), (11, 0), where=km_north(2)),  # no time to get back to the base
    ]
    timed = _timed(stretch, order, TravelTimes(SPEEDS))
    assert [(p.visit.visit_id, p.start) for p in timed] == [(2, at(9, 0))]


def test_dispatch_still_places_visits_after_overlapping_bookings() -> None:
    # Hand edits left one booking inside another: the solver keeps out of that day's rest, the
    # greedy repair still fills it.
    kept = (booking(100, (9, 0), (12, 0)), booking(101, (10, 0), (10, 30)))
    result = solve([visit(1, (12, 0), (13, 0))], [caregiver(1, existing=kept)])
    assert placed(result)[1].start == at(12, 0)
    assert placed(result)[1].route_order == 3
