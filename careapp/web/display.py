"""How days and weekdays read on the pages, in the user's language (Babel, via Flask-Babel).

A moment (an aware datetime, stored in UTC) is shown as the city's calendar day: 23:30 UTC on
30 November is 1 December in the city, which is also what the printed documents say. Days are
worded by a Babel skeleton, so the locale orders and spells them: 'MMMd' reads "12月7日" in
Chinese and "Dec 7" in English, 'MMMEd' adds the weekday ("12月7日周一", "Mon, Dec 7").
Templates use the `day`, `weekday` and `weekdays` filters (registered in careapp.web).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from babel import dates, lists
from flask_babel import get_locale

from careapp.core.clock import to_city


def city_day(value: dt.date | dt.datetime) -> dt.date:
    """The city's calendar day of a day or of an aware moment."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("a moment is shown from an aware datetime")
        return to_city(value).date()
    return value


def format_day(value: dt.date | dt.datetime, skeleton: str = "MMMd") -> str:
    """The day in the user's language, e.g. format_day(day, 'MMMEd') -> 12月7日周一."""
    return dates.format_skeleton(skeleton, city_day(value), locale=get_locale() or "zh")


def weekday_name(iso_weekday: int, width: str = "abbreviated") -> str:
    """An ISO weekday (1 = Monday) in the user's language: 周一 / Mon."""
    if not 1 <= iso_weekday <= 7:
        raise ValueError(f"not an ISO weekday: {iso_weekday!r}")
    names = dates.get_day_names(width, locale=get_locale() or "zh")  # type: ignore[arg-type]  # babel's Literal width
    return str(names[iso_weekday - 1])


def format_weekdays(iso_weekdays: Iterable[int], width: str = "abbreviated") -> str:
    """ISO weekdays as a list in the user's language: 周一、周三和周五 / Mon, Wed, and Fri."""
    names = [weekday_name(day, width) for day in iso_weekdays]
    return lists.format_list(names, locale=get_locale() or "zh") if names else ""
