"""The one clock: pinned by the suite, frozen or ticking, and the only reader of the system time."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest

from careapp.core import clock as app_clock
from tests.conftest import PinnedClock
from tests.factories import NOW, TODAY

ROOT = Path(__file__).resolve().parents[3]
# Reading the system's date or time of day; the clock module itself is the one allowed place.
SYSTEM_TIME = re.compile(r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time)\(")


def test_the_suite_runs_at_the_pinned_moment_not_today() -> None:
    assert app_clock.utcnow() == NOW
    assert app_clock.city_today() == TODAY


def test_a_test_moves_the_clock_and_it_comes_back(clock: PinnedClock) -> None:
    clock.set(dt.datetime(2028, 2, 28, 17, 30, tzinfo=dt.UTC))
    assert clock.now().astimezone(dt.UTC) == dt.datetime(2028, 2, 28, 17, 30, tzinfo=dt.UTC)
    assert app_clock.city_today() == dt.date(2028, 2, 29)  # a leap day in the city
    clock.advance(dt.timedelta(days=1))
    assert app_clock.city_today() == dt.date(2028, 3, 1)


def test_the_clock_comes_back_to_now_after_a_test_moved_it() -> None:
    assert app_clock.utcnow() == NOW


def test_a_ticking_clock_starts_at_its_moment_and_moves_on() -> None:
    try:
        app_clock.pin(NOW, ticking=True)
        first = app_clock.utcnow()
        time.sleep(0.01)
        assert NOW <= first < app_clock.utcnow() < NOW + dt.timedelta(seconds=5)
    finally:
        app_clock.pin(NOW)


def test_an_unpinned_clock_is_the_system_clock() -> None:
    try:
        app_clock.unpin()
        before = dt.datetime.now(dt.UTC)
        assert before <= app_clock.utcnow() <= dt.datetime.now(dt.UTC)
    finally:
        app_clock.pin(NOW)


def test_the_clock_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="aware"):
        app_clock.pin(dt.datetime(2026, 11, 23, 10, 0))  # noqa: DTZ001 - the naive moment refused


@pytest.mark.parametrize("package", ["careapp", "assessments", "scheduling", "tests", "benchmarks"])
def test_nothing_but_the_clock_reads_the_system_time(package: str) -> None:
    """Views, jobs, CLI and services take the time from careapp.core.clock; tests from its pin.

    Alembic revisions already applied are history and are not scanned; this test and the
    clock module are the two places that read the system time on purpose.
    """
    allowed = {ROOT / "careapp" / "core" / "clock.py", Path(__file__).resolve()}
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / package).rglob("*.py"))
        if path not in allowed and "versions" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SYSTEM_TIME.search(line)
    ]
    assert found == []
