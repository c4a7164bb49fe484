"""Calendar months: the one place months are counted (pure).

A month is named by its first day (2026-11-01 is November 2026). scheduling and careapp both
import from here; scheduling may not import careapp, so this lives in scheduling.
"""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, kept within the target month (31 Aug + 6 months = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def month_of(day: dt.date) -> dt.date:
    """The first day of `day`'s month (how a month is named)."""
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    """The first day of the month after `month`'s."""
    return add_months(month_of(month), 1)


def previous_month(month: dt.date) -> dt.date:
    """The first day of the month before `month`'s."""
    return add_months(month_of(month), -1)
