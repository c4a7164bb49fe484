from __future__ import annotations

import datetime as dt
import math

import pytest

from scheduling.travel import (
    EuclideanTravel,
    TravelTimes,
    distance_km,
    leg_speed_kmh,
    travel_minutes,
    whole_minutes,
)
from scheduling.types import Location
from tests.scheduling.builders import HOME, SPEEDS, km_north


def test_distance_km_of_one_degree_of_latitude() -> None:
    assert distance_km(Location(32.0, 120.0), Location(33.0, 120.0)) == pytest.approx(111.195, 1e-3)


def test_distance_km_is_zero_for_the_same_place() -> None:
    assert distance_km(HOME, HOME) == 0.0


def test_distance_km_shrinks_with_latitude_along_a_parallel() -> None:
    at_equator = distance_km(Location(0.0, 120.0), Location(0.0, 121.0))
    at_nantong = distance_km(Location(32.0, 120.0), Location(32.0, 121.0))
    assert at_nantong == pytest.approx(at_equator * math.cos(math.radians(32.0)), 1e-3)


@pytest.mark.parametrize(
    ("km", "speed", "minutes"),
    [(0.0, 20.0, 0), (10.0, 20.0, 30), (10.0, 35.0, 18), (0.1, 20.0, 1), (5.0, 20.0, 15)],
)
def test_travel_minutes_rounds_up_to_whole_minutes(km: float, speed: float, minutes: int) -> None:
    assert travel_minutes(HOME, km_north(km), speed) == minutes


def test_travel_minutes_refuses_a_non_positive_speed() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        travel_minutes(HOME, km_north(1), 0.0)


def test_leg_speed_kmh_takes_the_slowest_district_kind() -> None:
    assert leg_speed_kmh(SPEEDS, "rural") == 35.0
    assert leg_speed_kmh(SPEEDS, "rural", "urban") == 20.0


@pytest.mark.parametrize(
    ("speeds", "kinds", "message"),
    [
        (SPEEDS, ("suburban",), "no travel speed configured"),
        ({"urban": 0.0}, ("urban",), "must be positive"),
        (SPEEDS, (), "at least one district kind"),
    ],
)
def test_leg_speed_kmh_rejects_bad_settings(
    speeds: dict[str, float], kinds: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        leg_speed_kmh(speeds, *kinds)


def test_travel_times_are_symmetric_and_remembered() -> None:
    times = TravelTimes(SPEEDS)
    there = times.minutes(HOME, km_north(10), "urban")
    back = times.minutes(km_north(10), HOME, "urban")
    assert there == back == 30
    assert times.minutes(HOME, km_north(10), "rural") == 18
    assert times.minutes(HOME, km_north(10), "rural", "urban") == 30


def test_travel_times_give_durations_in_whole_minutes() -> None:
    assert TravelTimes(SPEEDS).duration(HOME, km_north(10), "urban") == dt.timedelta(minutes=30)


def test_euclidean_travel_rounds_up_to_the_second() -> None:
    plane = EuclideanTravel(dt.timedelta(minutes=1))
    assert plane.duration(Location(0, 0), Location(3, 4)) == dt.timedelta(minutes=5)
    assert plane.duration(Location(0, 0), Location(1, 1)) == dt.timedelta(seconds=85)  # 84.85


def test_euclidean_travel_needs_a_positive_time_per_unit() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        EuclideanTravel(dt.timedelta(0))


@pytest.mark.parametrize(
    ("leg", "minutes"),
    [(dt.timedelta(0), 0), (dt.timedelta(seconds=1), 1), (dt.timedelta(minutes=15), 15)],
)
def test_whole_minutes_rounds_up(leg: dt.timedelta, minutes: int) -> None:
    assert whole_minutes(leg) == minutes
