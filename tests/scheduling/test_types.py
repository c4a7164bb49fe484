from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from scheduling.types import Booking, CaregiverDay, VisitRequest
from tests.scheduling.builders import HOME, at, booking, caregiver, visit


def test_visit_request_duration_is_a_timedelta() -> None:
    assert visit(1, minutes=45).duration == dt.timedelta(minutes=45)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"window_start": dt.datetime(2026, 11, 24, 9, 0)}, "naive"),  # noqa: DTZ001 - on purpose
        ({"window_end": at(8, 0)}, "window ends before it starts"),
        ({"duration_minutes": 0}, "duration must be positive"),
        ({"load": -1}, "load is negative"),
    ],
)
def test_visit_request_rejects_impossible_values(changes: dict[str, Any], message: str) -> None:
    fields = visit(1).__dict__ | changes
    with pytest.raises(ValueError, match=message):
        VisitRequest(**fields)


def test_booking_rejects_an_end_not_after_the_start() -> None:
    with pytest.raises(ValueError, match="end must follow the start"):
        Booking(1, at(10, 0), at(10, 0), HOME)


def test_booking_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        Booking(1, dt.datetime(2026, 11, 24, 9), at(10, 0), HOME)  # noqa: DTZ001 - on purpose


def test_booking_keeps_its_district_kind() -> None:
    assert booking(1, (9, 0), (10, 0)).district_kind == "urban"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shift_end": at(7, 0)}, "shift ends before it starts"),
        ({"max_visits": -1}, "daily limit is negative"),
        ({"capacity": -1}, "capacity is negative"),
        ({"shift_start": dt.datetime(2026, 11, 24, 8, 0)}, "naive"),  # noqa: DTZ001 - on purpose
    ],
)
def test_caregiver_day_rejects_impossible_values(changes: dict[str, Any], message: str) -> None:
    fields = caregiver(1).__dict__ | changes
    with pytest.raises(ValueError, match=message):
        CaregiverDay(**fields)


def test_caregiver_day_load_limit_is_the_capacity_or_else_the_daily_limit() -> None:
    assert caregiver(1, max_visits=6).load_limit == 6
    assert caregiver(1, max_visits=6, capacity=200).load_limit == 200
