"""The one clock of the app.

Everything that needs the current time (views, jobs, CLI commands, templates) reads it here,
through `utcnow()`, and passes it into services as `now`. Nothing else reads the system clock.
Tests pin it (`pin`) to a fixed instant, frozen or ticking from there, so the suite passes
whatever today's date is.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

CITY_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class _Pin:
    moment: dt.datetime
    ticking: bool
    since: float  # time.monotonic() when pinned


_pin: _Pin | None = None


def utcnow() -> dt.datetime:
    """The current instant (UTC, aware): the system clock unless pinned."""
    if _pin is None:
        return dt.datetime.now(dt.UTC)
    if not _pin.ticking:
        return _pin.moment
    return _pin.moment + dt.timedelta(seconds=time.monotonic() - _pin.since)


def pin(moment: dt.datetime, *, ticking: bool = False) -> None:
    """Set the clock to `moment` (aware): frozen there, or ticking on from it."""
    if moment.tzinfo is None:
        raise ValueError("the clock is pinned to an aware datetime")
    global _pin  # the one clock is process-wide by design
    _pin = _Pin(moment.astimezone(dt.UTC), ticking, time.monotonic())


def unpin() -> None:
    """Back to the system clock."""
    global _pin  # the one clock is process-wide by design
    _pin = None


def city_today(now: dt.datetime | None = None) -> dt.date:
    """The civil date in the city (Asia/Shanghai) at `now`."""
    return (now or utcnow()).astimezone(CITY_TZ).date()


def city_datetime(day: dt.date, time: dt.time) -> dt.datetime:
    """An aware datetime for a wall-clock time in the city on `day`."""
    return dt.datetime.combine(day, time, tzinfo=CITY_TZ)


def to_city(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(CITY_TZ)
