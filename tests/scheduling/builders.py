"""Small builders for pure dispatch tests: one day in the city, homes around Nantong."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from scheduling.travel import EARTH_RADIUS_KM
from scheduling.types import Booking, CaregiverDay, Location, VisitRequest

CITY = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 24)
SPEEDS = {"urban": 20.0, "rural": 35.0}
HOME = Location(32.0, 120.86)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour, minute), tzinfo=CITY)


def km_north(km: float, of: Location = HOME) -> Location:
    """A place `km` kilometres north of `of` (one degree of latitude is about 111.2 km)."""
    return Location(of.lat + math.degrees(km / EARTH_RADIUS_KM), of.lon)


def visit(
    visit_id: int,
    start: tuple[int, int] = (9, 0),
    end: tuple[int, int] = (11, 0),
    *,
    minutes: int = 60,
    needs: frozenset[str] = frozenset({"daily_care"}),
    where: Location = HOME,
    kind: str = "urban",
    preferred: int | None = None,
    last: int | None = None,
    load: int = 1,
) -> VisitRequest:
    return VisitRequest(
        visit_id=visit_id,
        window_start=at(*start),
        window_end=at(*end),
        duration_minutes=minutes,
        required_qualifications=needs,
        location=where,
        district_kind=kind,
        preferred_caregiver_id=preferred,
        last_caregiver_id=last,
        load=load,
    )


def caregiver(
    caregiver_id: int,
    *,
    holds: frozenset[str] = frozenset({"daily_care", "nursing"}),
    shift: tuple[tuple[int, int], tuple[int, int]] = ((8, 0), (18, 0)),
    base: Location = HOME,
    max_visits: int = 8,
    existing: tuple[Booking, ...] = (),
    on_duty: bool = True,
    capacity: int | None = None,
) -> CaregiverDay:
    return CaregiverDay(
        caregiver_id=caregiver_id,
        qualifications=holds,
        shift_start=at(*shift[0]),
        shift_end=at(*shift[1]),
        base=base,
        max_visits=max_visits,
        existing=existing,
        is_on_duty=on_duty,
        capacity=capacity,
    )


def booking(
    visit_id: int, start: tuple[int, int], end: tuple[int, int], where: Location = HOME
) -> Booking:
    return Booking(visit_id, at(*start), at(*end), where)
