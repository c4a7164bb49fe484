"""Pure tests of month arithmetic (scheduling.months)."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduling.months import add_months, month_of, next_month, previous_month


@pytest.mark.parametrize(
    ("day", "first", "following", "preceding"),
    [
        (dt.date(2026, 11, 23), dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2026, 10, 1)),
        (dt.date(2026, 12, 31), dt.date(2026, 12, 1), dt.date(2027, 1, 1), dt.date(2026, 11, 1)),
        (dt.date(2027, 1, 1), dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2026, 12, 1)),
        (dt.date(2028, 2, 29), dt.date(2028, 2, 1), dt.date(2028, 3, 1), dt.date(2028, 1, 1)),
    ],
)
def test_month_arithmetic(
    day: dt.date, first: dt.date, following: dt.date, preceding: dt.date
) -> None:
    assert month_of(day) == first
    assert next_month(first) == following
    assert previous_month(first) == preceding


def test_add_months_keeps_within_the_target_month() -> None:
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2027, 8, 31), 6) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2026, 11, 23), -6) == dt.date(2026, 5, 23)
    assert add_months(dt.date(2026, 1, 15), -1) == dt.date(2025, 12, 15)
