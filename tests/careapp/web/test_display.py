"""Days and weekdays on the pages: the city's calendar day, worded by Babel in each language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from flask import Flask
from flask_babel import refresh

from careapp.web.display import city_day, format_day, format_weekdays, weekday_name

MONDAY = dt.date(2026, 12, 7)
# 17:30 UTC on Sunday 6 December is 01:30 on Monday 7 December in the city.
LATE_SUNDAY_UTC = dt.datetime(2026, 12, 6, 17, 30, tzinfo=dt.UTC)


@pytest.fixture(params=["zh", "en"])
def language(app: Flask, request: pytest.FixtureRequest) -> Iterator[str]:
    with app.test_request_context(f"/?lang={request.param}"):
        refresh()
        yield request.param
    refresh()


DAYS = {
    "zh": {"MMMd": "12月7日", "MMMEd": "12月7日周一", "yMMMd": "2026年12月7日"},
    "en": {"MMMd": "Dec 7", "MMMEd": "Mon, Dec 7", "yMMMd": "Dec 7, 2026"},
}


@pytest.mark.parametrize("skeleton", ["MMMd", "MMMEd", "yMMMd"])
def test_format_day_words_the_day_in_the_users_language(language: str, skeleton: str) -> None:
    assert format_day(MONDAY, skeleton) == DAYS[language][skeleton]
    assert "/" not in format_day(MONDAY, skeleton)


def test_format_day_of_a_moment_is_the_citys_day(language: str) -> None:
    assert city_day(LATE_SUNDAY_UTC) == MONDAY
    assert format_day(LATE_SUNDAY_UTC, "MMMEd") == DAYS[language]["MMMEd"]
    with pytest.raises(ValueError, match="aware"):
        city_day(LATE_SUNDAY_UTC.replace(tzinfo=None))


WEEKDAYS = {
    "zh": ("周一", "周日", "星期三", "周一、周三和周五"),
    "en": ("Mon", "Sun", "Wednesday", "Mon, Wed, and Fri"),
}


def test_weekdays_are_named_not_numbered(language: str) -> None:
    monday, sunday, wednesday, listed = WEEKDAYS[language]
    assert weekday_name(1) == monday
    assert weekday_name(7) == sunday
    assert weekday_name(3, "wide") == wednesday
    assert format_weekdays([1, 3, 5]) == listed
    assert format_weekdays([]) == ""
    for bad in (0, 8):
        with pytest.raises(ValueError, match="ISO weekday"):
            weekday_name(bad)
