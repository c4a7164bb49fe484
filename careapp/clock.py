"""The clock, read only at the boundary (views, jobs, CLI) and passed into services as `now`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

CITY_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def city_today(now: dt.datetime | None = None) -> dt.date:
    """The civil date in the city (Asia/Shanghai) at `now`."""
    return (now or utcnow()).astimezone(CITY_TZ).date()


def city_datetime(day: dt.date, time: dt.time) -> dt.datetime:
    """An aware datetime for a wall-clock time in the city on `day`."""
    return dt.datetime.combine(day, time, tzinfo=CITY_TZ)


def to_city(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(CITY_TZ)
