"""The roster validator catches every broken hard rule (each test breaks one on purpose)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from scheduling.travel import EuclideanTravel
from scheduling.types import (
    DAILY_LIMIT_REACHED,
    NO_CAREGIVER_WORKING,
    NO_QUALIFIED_CAREGIVER,
    NO_TIME_IN_WINDOW,
    Assignment,
    DispatchResult,
    Location,
    Unassigned,
)
from scheduling.validation import RosterViolation, validate_roster
from tests.scheduling.builders import HOME, SPEEDS, at, booking, caregiver, km_north, visit

NURSING = frozenset({"nursing"})
VISITS = [visit(1, (9, 0), (10, 0)), visit(2, (11, 0), (12, 0), where=km_north(1))]
KEPT = booking(100, (14, 0), (15, 0))
CAREGIVERS = [caregiver(1, existing=(KEPT,)), caregiver(2)]
GOOD = DispatchResult(
    assignments=(
        Assignment(1, 1, at(9, 0), at(10, 0), 1, 0),
        Assignment(2, 1, at(11, 0), at(12, 0), 2, 3),
    ),
    unassigned=(),
    fixed_stops=(Assignment(100, 1, at(14, 0), at(15, 0), 3, 3),),
)


def rules(result: DispatchResult, caregivers=CAREGIVERS, visits=VISITS) -> set[str]:  # type: ignore[no-untyped-def]  # test helper
    return {v.rule for v in validate_roster(visits, caregivers, result, SPEEDS)}


def with_first(**changes: object) -> DispatchResult:
    first = dataclasses.replace(GOOD.assignments[0], **changes)  # type: ignore[arg-type]  # test data
    return dataclasses.replace(GOOD, assignments=(first, *GOOD.assignments[1:]))


def test_validate_roster_accepts_a_valid_roster() -> None:
    assert validate_roster(VISITS, CAREGIVERS, GOOD, SPEEDS) == ()


def test_validate_roster_names_the_visit_and_caregiver() -> None:
    result = with_first(start=at(8, 0), end=at(9, 0))
    assert RosterViolation("start_outside_window", 1, 1) in validate_roster(
        VISITS, CAREGIVERS, result, SPEEDS
    )


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"start": at(10, 1), "end": at(11, 1)}, "start_outside_window"),
        ({"end": at(9, 30)}, "wrong_duration"),
        ({"route_order": 2}, "wrong_route_order"),
        ({"travel_minutes": 5}, "wrong_travel_minutes"),
        ({"caregiver_id": 99}, "unknown_caregiver"),
        ({"visit_id": 99}, "unknown_visit"),
    ],
)
def test_validate_roster_catches_a_bad_assignment(changes: dict[str, object], rule: str) -> None:
    assert rule in rules(with_first(**changes))


def test_validate_roster_catches_a_dropped_visit() -> None:
    result = dataclasses.replace(GOOD, assignments=GOOD.assignments[:1])
    assert "visit_dropped" in rules(result)


def test_validate_roster_catches_a_visit_given_twice() -> None:
    twice = (*GOOD.assignments, Assignment(1, 2, at(9, 0), at(10, 0), 1, 0))
    result = dataclasses.replace(GOOD, assignments=twice)
    assert "visit_twice" in rules(result)
    left_too = dataclasses.replace(GOOD, unassigned=(Unassigned(2, NO_TIME_IN_WINDOW),))
    assert "visit_twice" in rules(left_too)


def test_validate_roster_catches_a_double_booking() -> None:
    over = visit(3, (9, 30), (9, 30))
    result = dataclasses.replace(
        GOOD, assignments=(*GOOD.assignments, Assignment(3, 1, at(9, 30), at(10, 30), 2, 0))
    )
    assert "double_booking" in rules(result, visits=[*VISITS, over])


def test_validate_roster_catches_a_double_booking_with_a_fixed_visit() -> None:
    over = visit(3, (14, 30), (14, 30))
    result = dataclasses.replace(
        GOOD, assignments=(*GOOD.assignments, Assignment(3, 1, at(14, 30), at(15, 30), 4, 0))
    )
    assert "double_booking" in rules(result, visits=[*VISITS, over])


def test_validate_roster_catches_missing_travel_time() -> None:
    result = dataclasses.replace(
        GOOD,
        assignments=(GOOD.assignments[0], Assignment(2, 1, at(10, 0), at(11, 0), 2, 3)),
    )
    tight = [VISITS[0], visit(2, (10, 0), (12, 0), where=km_north(1))]
    assert rules(result, visits=tight) == {"no_travel_time"}


def test_validate_roster_catches_no_time_to_leave_the_base() -> None:
    far = [caregiver(1, shift=((8, 45), (18, 0)), base=km_north(10), existing=(KEPT,))]
    assert "no_travel_time" in rules(GOOD, caregivers=far)


def test_validate_roster_catches_no_time_to_reach_a_fixed_visit() -> None:
    far_kept = booking(100, (10, 0), (11, 0), where=km_north(10))
    caregivers = [caregiver(1, existing=(far_kept,)), caregiver(2)]
    result = DispatchResult(
        assignments=(Assignment(1, 1, at(9, 0), at(10, 0), 1, 0),),
        unassigned=(Unassigned(2, NO_TIME_IN_WINDOW),),
        fixed_stops=(Assignment(100, 1, at(10, 0), at(11, 0), 2, 30),),
    )
    assert rules(result, caregivers=caregivers) == {"no_travel_time"}


def test_validate_roster_catches_no_time_to_get_back_to_the_base() -> None:
    late = [visit(1, (17, 0), (17, 0))]
    caregivers = [caregiver(1, base=km_north(1))]
    result = DispatchResult((Assignment(1, 1, at(17, 0), at(18, 0), 1, 3),), ())
    assert rules(result, caregivers=caregivers, visits=late) == {"no_travel_time"}


def test_validate_roster_catches_a_visit_outside_the_shift() -> None:
    short = [caregiver(1, shift=((9, 30), (18, 0)), existing=(KEPT,)), caregiver(2)]
    assert "outside_shift" in rules(GOOD, caregivers=short)


def test_validate_roster_catches_a_missing_qualification() -> None:
    untrained = [caregiver(1, holds=frozenset(), existing=(KEPT,)), caregiver(2)]
    assert rules(GOOD, caregivers=untrained) == {"missing_qualification"}


def test_validate_roster_catches_a_caregiver_off_duty() -> None:
    off = [caregiver(1, on_duty=False, existing=(KEPT,)), caregiver(2)]
    assert rules(GOOD, caregivers=off) == {"caregiver_off_duty"}


def test_validate_roster_catches_a_daily_limit_exceeded() -> None:
    limited = [caregiver(1, max_visits=2, existing=(KEPT,)), caregiver(2)]
    assert rules(GOOD, caregivers=limited) == {"daily_limit_exceeded"}


@pytest.mark.parametrize(
    "fixed",
    [
        (),
        (Assignment(100, 2, at(14, 0), at(15, 0), 3, 3),),
        (Assignment(100, 1, at(14, 30), at(15, 30), 3, 3),),
    ],
)
def test_validate_roster_catches_a_fixed_visit_moved(fixed: tuple[Assignment, ...]) -> None:
    assert rules(dataclasses.replace(GOOD, fixed_stops=fixed)) == {"fixed_stop_moved"}


def test_validate_roster_catches_a_fixed_visit_renumbered_wrongly() -> None:
    fixed = (Assignment(100, 1, at(14, 0), at(15, 0), 1, 3),)
    assert rules(dataclasses.replace(GOOD, fixed_stops=fixed)) == {"wrong_route_order"}


def left(reason: str) -> DispatchResult:
    return DispatchResult((), (Unassigned(1, reason),))


@pytest.mark.parametrize(
    ("caregivers", "reason", "honest"),
    [
        ([caregiver(1, holds=frozenset({"daily_care"}))], NO_QUALIFIED_CAREGIVER, True),
        ([caregiver(1)], NO_QUALIFIED_CAREGIVER, False),
        ([caregiver(1, on_duty=False)], NO_CAREGIVER_WORKING, True),
        ([caregiver(1, shift=((6, 0), (9, 59)))], NO_CAREGIVER_WORKING, True),
        ([caregiver(1)], NO_CAREGIVER_WORKING, False),
        ([], NO_CAREGIVER_WORKING, False),
        ([caregiver(1, max_visits=0)], DAILY_LIMIT_REACHED, True),
        ([caregiver(1)], DAILY_LIMIT_REACHED, False),
        ([caregiver(1, on_duty=False)], DAILY_LIMIT_REACHED, False),
        ([caregiver(1)], NO_TIME_IN_WINDOW, True),
        ([caregiver(1, on_duty=False)], NO_TIME_IN_WINDOW, False),
    ],
)
def test_validate_roster_checks_the_reason_against_the_caregivers(
    caregivers: list,
    reason: str,
    honest: bool,  # type: ignore[type-arg]  # test table
) -> None:
    nursing_visit = [visit(1, (9, 0), (10, 0), needs=NURSING)]
    found = rules(left(reason), caregivers=caregivers, visits=nursing_visit)
    assert found == (set() if honest else {"wrong_reason"})


def test_validate_roster_catches_an_unknown_reason() -> None:
    found = rules(left("bad_weather"), caregivers=[caregiver(1)], visits=VISITS[:1])
    assert found == {"unknown_reason"}


def test_validate_roster_ignores_the_reason_of_an_unknown_visit() -> None:
    result = dataclasses.replace(GOOD, unassigned=(Unassigned(99, NO_TIME_IN_WINDOW),))
    assert rules(result) == {"unknown_visit"}


def test_validate_roster_ignores_clashes_among_fixed_visits() -> None:
    clash = (KEPT, booking(101, (14, 30), (15, 30)))
    caregivers = [caregiver(1, existing=clash)]
    fixed = (
        Assignment(100, 1, at(14, 0), at(15, 0), 1, 0),
        Assignment(101, 1, at(14, 30), at(15, 30), 2, 0),
    )
    assert rules(DispatchResult((), (), fixed), caregivers=caregivers, visits=[]) == set()
    assert dt.timedelta(0) < KEPT.end - KEPT.start


def test_validate_roster_catches_a_capacity_exceeded() -> None:
    heavy = [dataclasses.replace(VISITS[0], load=3), VISITS[1]]
    loaded = [caregiver(1, capacity=4, existing=(KEPT,)), caregiver(2)]
    assert rules(GOOD, caregivers=loaded, visits=heavy) == {"capacity_exceeded"}
    assert rules(GOOD, caregivers=loaded) == set()


def test_validate_roster_checks_the_load_behind_a_daily_limit_reason() -> None:
    heavy = visit(1, load=5)
    left = DispatchResult((), (Unassigned(1, DAILY_LIMIT_REACHED),), ())
    assert rules(left, caregivers=[caregiver(1, capacity=4)], visits=[heavy]) == set()
    assert rules(left, caregivers=[caregiver(1, capacity=5)], visits=[heavy]) == {"wrong_reason"}


def test_validate_roster_uses_the_travel_model_it_is_given() -> None:
    plane = EuclideanTravel(dt.timedelta(minutes=1))  # one degree = one minute
    far = visit(1, (8, 0), (11, 0), where=Location(HOME.lat, HOME.lon + 30))
    placed = DispatchResult((Assignment(1, 1, at(8, 30), at(9, 30), 1, 30),), (), ())
    assert validate_roster([far], [caregiver(1)], placed, {}, travel=plane) == ()
    assert "no_travel_time" in rules(placed, caregivers=[caregiver(1)], visits=[far])
