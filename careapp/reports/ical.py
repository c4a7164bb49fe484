"""A caregiver's visits as an iCalendar feed (RFC 5545) a phone calendar can subscribe to.

Times are in Asia/Shanghai with its VTIMEZONE; each visit keeps one UID, so a phone updates
an event when the visit moves instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import icalendar

from careapp.core.clock import CITY_TZ

PRODID = "-//careapp//rosters//ZH"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: dt.datetime
    end: dt.datetime
    summary: str
    location: str
    description: str
    is_cancelled: bool = False


def visit_uid(visit_id: int) -> str:
    """The stable UID of a visit's event."""
    return f"visit-{visit_id}@careapp"


def render_calendar(name: str, events: Sequence[CalendarEvent], now: dt.datetime) -> bytes:
    """The feed as bytes (text/calendar; charset=utf-8)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", str(CITY_TZ))
    for item in events:
        event = icalendar.Event()
        event.add("uid", item.uid)
        event.add("dtstamp", now.astimezone(dt.UTC))
        event.add("dtstart", item.start.astimezone(CITY_TZ))
        event.add("dtend", item.end.astimezone(CITY_TZ))
        event.add("summary", item.summary)
        event.add("location", item.location)
        event.add("description", item.description)
        event.add("status", "CANCELLED" if item.is_cancelled else "CONFIRMED")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    if not events:  # an empty feed still says which zone its times would be in
        calendar.add_component(icalendar.Timezone.from_tzid(str(CITY_TZ)))
    return calendar.to_ical()
