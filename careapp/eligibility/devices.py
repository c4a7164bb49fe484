"""Pure rules of assistive-device loans: due dates, overdue loans, stock and the order of dates.

No framework imports (an import-linter contract checks it). Checks return a reason code, or None
when the rule holds; the service turns a code into the user's language.
"""

from __future__ import annotations

import datetime as dt

# Reason codes of refused dates.
DUE_BEFORE_START = "due_before_start"
LONGER_THAN_ALLOWED = "longer_than_allowed"
RETURN_BEFORE_START = "return_before_start"
RETURN_IN_FUTURE = "return_in_future"


def default_due_on(starts_on: dt.date, max_loan_days: int) -> dt.date:
    """The due date of a loan as long as the catalogue allows: `max_loan_days` after the start."""
    return starts_on + dt.timedelta(days=max_loan_days)


def check_loan_dates(starts_on: dt.date, due_on: dt.date, max_loan_days: int) -> str | None:
    """A loan is due on or after its start, and no later than the longest loan allowed."""
    if due_on < starts_on:
        return DUE_BEFORE_START
    if (due_on - starts_on).days > max_loan_days:
        return LONGER_THAN_ALLOWED
    return None


def check_return_date(starts_on: dt.date, returned_on: dt.date, today: dt.date) -> str | None:
    """A device comes back on or after the day it was lent, and not later than today."""
    if returned_on < starts_on:
        return RETURN_BEFORE_START
    if returned_on > today:
        return RETURN_IN_FUTURE
    return None


def is_overdue(due_on: dt.date | None, returned_on: dt.date | None, today: dt.date) -> bool:
    """Still out after its due date (a device due today is not overdue yet)."""
    return returned_on is None and due_on is not None and today > due_on


def days_overdue(due_on: dt.date | None, returned_on: dt.date | None, today: dt.date) -> int:
    """Whole days past the due date of a device still out (0 when it is not overdue)."""
    if due_on is None or not is_overdue(due_on, returned_on, today):
        return 0
    return (today - due_on).days


def available_stock(stock: int, on_loan: int) -> int:
    """Devices left to lend: the scheme's stock less those out on loan (never below zero)."""
    return max(stock - on_loan, 0)


def stock_covers_loans(stock: int, on_loan: int) -> bool:
    """A new stock count may not fall below the devices currently out on loan."""
    return stock >= on_loan
