"""Travel between homes: great-circle distance and minutes at a speed per district kind.

The dispatcher and the validator ask a `TravelModel` how long a leg takes. `TravelTimes` (the
great-circle distance at a speed per district kind) is the one the service uses; road distances
can replace it later behind the same protocol. `EuclideanTravel` treats a `Location` as a point
on a plane (the Solomon benchmark).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Protocol

from scheduling.types import Location

EARTH_RADIUS_KM = 6371.0088


def distance_km(a: Location, b: Location) -> float:
    """The haversine (great-circle) distance in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def leg_speed_kmh(speeds_kmh: Mapping[str, float], *district_kinds: str) -> float:
    """The speed of a leg touching these district kinds: the slowest of them (a cautious plan)."""
    speeds = []
    for kind in district_kinds:
        if kind not in speeds_kmh:
            raise ValueError(f"no travel speed configured for district kind {kind!r}")
        speed = speeds_kmh[kind]
        if speed <= 0:
            raise ValueError(f"the travel speed of {kind!r} must be positive")
        speeds.append(speed)
    if not speeds:
        raise ValueError("a leg needs at least one district kind")
    return min(speeds)


def travel_minutes(a: Location, b: Location, speed_kmh: float) -> int:
    """Whole minutes (rounded up) to go from `a` to `b` at `speed_kmh`."""
    if speed_kmh <= 0:
        raise ValueError("the travel speed must be positive")
    minutes = distance_km(a, b) / speed_kmh * 60
    # Round away float noise before rounding up, so 15.000000001 stays 15.
    return math.ceil(round(minutes, 6))


class TravelModel(Protocol):
    """How long it takes to go from `a` to `b`; the district kinds are those of both ends."""

    def duration(self, a: Location, b: Location, *district_kinds: str) -> dt.timedelta: ...


def whole_minutes(leg: dt.timedelta) -> int:
    """A leg in whole minutes, rounded up (what a visit's `travel_minutes` records)."""
    return math.ceil(round(leg / dt.timedelta(minutes=1), 6))


class TravelTimes:
    """Minutes between places for one dispatch, remembered (a solve asks the same legs often)."""

    def __init__(self, speeds_kmh: Mapping[str, float]) -> None:
        self._speeds = dict(speeds_kmh)
        self._cache: dict[tuple[Location, Location, float], int] = {}

    def minutes(self, a: Location, b: Location, *district_kinds: str) -> int:
        speed = leg_speed_kmh(self._speeds, *district_kinds)
        key = (a, b, speed) if (a.lat, a.lon) <= (b.lat, b.lon) else (b, a, speed)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = travel_minutes(a, b, speed)
        return cached

    def duration(self, a: Location, b: Location, *district_kinds: str) -> dt.timedelta:
        return dt.timedelta(minutes=self.minutes(a, b, *district_kinds))


class EuclideanTravel:
    """A straight line on a plane (`lat` as x, `lon` as y), `per_unit` per unit of length.

    Legs are rounded up to the whole second, so a plan is never tighter than the exact time.
    District kinds are ignored.
    """

    def __init__(self, per_unit: dt.timedelta = dt.timedelta(minutes=1)) -> None:
        if per_unit <= dt.timedelta(0):
            raise ValueError("the time per unit of length must be positive")
        self._seconds = per_unit.total_seconds()

    def duration(self, a: Location, b: Location, *district_kinds: str) -> dt.timedelta:
        length = math.hypot(a.lat - b.lat, a.lon - b.lon)
        return dt.timedelta(seconds=math.ceil(round(length * self._seconds, 6)))
