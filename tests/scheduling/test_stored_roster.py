"""The independent check of a stored roster: every hard rule, and the day's counts."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from scheduling.stored_roster import StoredCaregiver, StoredVisit, check_stored_roster
from scheduling.travel import travel_minutes
from tests.scheduling.builders import HOME, SPEEDS, at, km_north

BASE = km_north(2)  # 6 minutes from HOME at 20 km/h
LEG = travel_minutes(BASE, HOME, SPEEDS["urban"])


def caregiver(**values: object) -> StoredCaregiver:
    defaults: dict[str, object] = {
        "caregiver_id": 1,
        "provider_id": 1,
        "qualifications": frozenset({"daily_care", "nursing"}),
        "works_today": True,
        "shift_start": at(8),
        "shift_end": at(18),
        "base": BASE,
        "max_visits": 8,
    }
    defaults.update(values)
    return StoredCaregiver(**defaults)  # type: ignore[arg-type]  # test builder


def booked(
    visit_id: int, start: tuple[int, int], order: int, travel: int = 0, **values: object
) -> StoredVisit:
    planned = at(*start)
    defaults: dict[str, object] = {
        "visit_id": visit_id,
        "provider_id": 1,
        "status": "assigned",
        "caregiver_id": 1,
        "window_start": planned - dt.timedelta(minutes=30),
        "window_end": planned + dt.timedelta(minutes=30),
        "duration_minutes": 60,
        "required_qualifications": frozenset({"daily_care"}),
        "location": HOME,
        "district_kind": "urban",
        "planned_start": planned,
        "planned_end": planned + dt.timedelta(minutes=60),
        "route_order": order,
        "travel_minutes": travel,
    }
    defaults.update(values)
    return StoredVisit(**defaults)  # type: ignore[arg-type]  # test builder


def good_day() -> list[StoredVisit]:
    return [booked(1, (9, 0), 1, LEG), booked(2, (10, 0), 2, 0), booked(3, (14, 0), 3, 0)]


def rules(visits: list[StoredVisit], *caregivers: StoredCaregiver) -> list[str]:
    result = check_stored_roster(visits, caregivers or (caregiver(),), SPEEDS)
    return [v.rule for v in result.violations]


def test_a_good_day_holds_every_rule_and_counts_outcomes() -> None:
    visits = [
        *good_day(),
        booked(4, (9, 0), 0, status="unassigned", caregiver_id=None, planned_start=None,
               planned_end=None, unassigned_reason="no_time_in_window"),
        booked(5, (9, 0), 0, status="unassigned", caregiver_id=None, planned_start=None,
               planned_end=None),
        booked(6, (9, 0), 0, status="cancelled", caregiver_id=None),
        booked(7, (9, 0), 0, status="missed", caregiver_id=None),
    ]  # fmt: skip
    result = check_stored_roster(visits, [caregiver()], SPEEDS)
    assert result.violations == ()
    assert result.assigned == 3
    assert result.unassigned == 2
    assert result.unassigned_by_reason == {"no_time_in_window": 1, "not_dispatched": 1}
    assert result.other_statuses == {"cancelled": 1, "missed": 1}
    assert result.violations_by_rule == {}


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"required_qualifications": frozenset({"rehabilitation"})}, "missing_qualification"),
        ({"window_start": at(9, 30)}, "start_outside_window"),
        ({"window_end": at(8, 30)}, "start_outside_window"),
        ({"duration_minutes": 45}, "wrong_duration"),
        ({"provider_id": 2}, "caregiver_of_another_provider"),
        ({"location": None}, "no_home_location"),
        ({"route_order": 2}, "wrong_route_order"),
        ({"travel_minutes": LEG + 1}, "wrong_travel_minutes"),
    ],
)
def test_a_visit_breaking_a_rule_is_reported(change: dict[str, object], rule: str) -> None:
    first, *rest = good_day()
    assert rule in rules([dataclasses.replace(first, **change), *rest])  # type: ignore[arg-type]  # test values


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"works_today": False}, "caregiver_off_duty"),
        ({"is_enabled": False}, "caregiver_off_duty"),
        ({"shift_start": at(9, 30)}, "outside_working_hours"),
        ({"shift_end": at(14, 30)}, "outside_working_hours"),
        ({"shift_start": at(8, 58)}, "no_travel_time"),  # cannot reach the first home by 09:00
        ({"shift_end": at(15, 5)}, "no_time_to_return_to_base"),
        ({"max_visits": 2}, "daily_limit_exceeded"),
        ({"qualifications": frozenset({"nursing"})}, "missing_qualification"),
    ],
)
def test_a_caregiver_day_breaking_a_rule_is_reported(change: dict[str, object], rule: str) -> None:
    assert rule in rules(good_day(), caregiver(**change))


def test_overlaps_and_missing_travel_between_stops() -> None:
    overlapping = [booked(1, (9, 0), 1, LEG), booked(2, (9, 30), 2, 0)]
    assert {"double_booking", "no_travel_time"} <= set(rules(overlapping))
    far = km_north(20)  # an hour away at 20 km/h
    leg = travel_minutes(HOME, far, SPEEDS["urban"])
    too_far = [booked(1, (9, 0), 1, LEG), booked(2, (10, 10), 2, leg, location=far)]
    assert rules(too_far, caregiver(shift_end=at(23))) == ["no_travel_time"]


def test_broken_rows_are_reported() -> None:
    placed_but_unassigned = booked(1, (9, 0), 1, LEG, status="unassigned")
    no_times = booked(2, (10, 0), 1, status="confirmed", planned_end=None)
    unknown = booked(3, (11, 0), 1, caregiver_id=99)
    assert rules([placed_but_unassigned, no_times, unknown]) == [
        "unassigned_but_placed",
        "booked_without_caregiver_or_times",
        "unknown_caregiver",
    ]


def test_rural_legs_use_the_slowest_speed_of_the_leg() -> None:
    rural = [
        booked(1, (9, 0), 1, travel_minutes(BASE, HOME, SPEEDS["rural"]), district_kind="rural")
    ]
    assert rules(rural) == []
