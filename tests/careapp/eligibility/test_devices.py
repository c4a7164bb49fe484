"""Pure rules of device loans: no app, no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careapp.eligibility.devices import (
    DUE_BEFORE_START,
    LONGER_THAN_ALLOWED,
    RETURN_BEFORE_START,
    RETURN_IN_FUTURE,
    available_stock,
    check_loan_dates,
    check_return_date,
    days_overdue,
    default_due_on,
    is_overdue,
    stock_covers_loans,
)

D = dt.date


@pytest.mark.parametrize(
    ("starts_on", "max_days", "due_on"),
    [
        (D(2026, 11, 23), 180, D(2027, 5, 22)),
        (D(2026, 1, 31), 30, D(2026, 3, 2)),
        (D(2028, 2, 28), 1, D(2028, 2, 29)),  # a leap day
        (D(2026, 12, 31), 365, D(2027, 12, 31)),
    ],
)
def test_default_due_on_is_max_days_after_the_start(
    starts_on: dt.date, max_days: int, due_on: dt.date
) -> None:
    assert default_due_on(starts_on, max_days) == due_on


@pytest.mark.parametrize(
    ("starts_on", "due_on", "max_days", "reason"),
    [
        (D(2026, 11, 23), D(2026, 11, 23), 180, None),  # back the same day
        (D(2026, 11, 23), D(2027, 5, 22), 180, None),  # exactly the longest loan
        (D(2026, 11, 23), D(2027, 5, 23), 180, LONGER_THAN_ALLOWED),
        (D(2026, 11, 23), D(2026, 11, 22), 180, DUE_BEFORE_START),
        (D(2026, 11, 23), D(2020, 1, 1), 1, DUE_BEFORE_START),
    ],
)
def test_check_loan_dates(
    starts_on: dt.date, due_on: dt.date, max_days: int, reason: str | None
) -> None:
    assert check_loan_dates(starts_on, due_on, max_days) == reason


@given(st.dates(), st.integers(min_value=1, max_value=3650))
def test_the_default_due_date_always_passes_the_check(starts_on: dt.date, max_days: int) -> None:
    if starts_on > dt.date.max - dt.timedelta(days=max_days):
        return
    assert check_loan_dates(starts_on, default_due_on(starts_on, max_days), max_days) is None


@pytest.mark.parametrize(
    ("starts_on", "returned_on", "today", "reason"),
    [
        (D(2026, 11, 1), D(2026, 11, 1), D(2026, 11, 23), None),  # returned the same day
        (D(2026, 11, 1), D(2026, 11, 23), D(2026, 11, 23), None),  # returned today
        (D(2026, 11, 1), D(2026, 10, 31), D(2026, 11, 23), RETURN_BEFORE_START),
        (D(2026, 11, 1), D(2026, 11, 24), D(2026, 11, 23), RETURN_IN_FUTURE),
    ],
)
def test_check_return_date(
    starts_on: dt.date, returned_on: dt.date, today: dt.date, reason: str | None
) -> None:
    assert check_return_date(starts_on, returned_on, today) == reason


@pytest.mark.parametrize(
    ("due_on", "returned_on", "today", "overdue", "days"),
    [
        (D(2026, 11, 23), None, D(2026, 11, 23), False, 0),  # due today: not late yet
        (D(2026, 11, 22), None, D(2026, 11, 23), True, 1),
        (D(2026, 10, 24), None, D(2026, 11, 23), True, 30),
        (D(2026, 11, 1), D(2026, 11, 20), D(2026, 11, 23), False, 0),  # returned, even if late
        (None, None, D(2026, 11, 23), False, 0),  # a purchase subsidy is never due
        (D(2026, 12, 1), None, D(2026, 11, 23), False, 0),
    ],
)
def test_overdue(
    due_on: dt.date | None, returned_on: dt.date | None, today: dt.date, overdue: bool, days: int
) -> None:
    assert is_overdue(due_on, returned_on, today) is overdue
    assert days_overdue(due_on, returned_on, today) == days


@pytest.mark.parametrize(
    ("stock", "on_loan", "available", "covers"),
    [(5, 0, 5, True), (5, 4, 1, True), (5, 5, 0, True), (3, 5, 0, False), (0, 0, 0, True)],
)
def test_stock(stock: int, on_loan: int, available: int, covers: bool) -> None:
    assert available_stock(stock, on_loan) == available
    assert stock_covers_loans(stock, on_loan) is covers
