"""The one bounded parser of what a request names by number or date: path ids (the `int`
converter), `offset=` query parameters, and the bounds of ids, numbers and days that
careapp.web.forms.CareappForm applies to every form field (months: presenters.parse_month). A
value out of range is refused like a malformed one (404 for a path id, a form error or 400
otherwise), never sent to the database or to date arithmetic, where it would overflow into a
500."""

from __future__ import annotations

import datetime as dt
from typing import Any

from werkzeug.routing import IntegerConverter

# Ids are 32-bit (PostgreSQL `integer`); an id past this names no row.
MAX_ID = 2**31 - 1
# Pages of lists: no list is this long, and the database's OFFSET takes it without overflow.
MAX_OFFSET = 10**6
# Days the app accepts anywhere (birth dates included); date arithmetic on them cannot overflow.
MIN_DAY = dt.date(1900, 1, 1)
MAX_DAY = dt.date(2100, 12, 31)
# Amounts and other decimal inputs: far above any benefit or price, far below overflow.
MAX_NUMBER = 10**9


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in every route: 0 to MAX_ID, else the route does not match (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 0)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def parse_offset(value: str | None) -> int:
    """`offset=` of a paged list: a whole number from 0 to MAX_OFFSET, else the first page."""
    if (
        value is None
        or not (value.isascii() and value.isdigit())
        or len(value) > len(str(MAX_OFFSET))
    ):
        return 0
    offset = int(value)
    return offset if offset <= MAX_OFFSET else 0


def day_in_range(day: dt.date) -> bool:
    return MIN_DAY <= day <= MAX_DAY
