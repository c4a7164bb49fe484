"""Pure rules of the procedure: working days, publicity, appeal window, conflicts, outliers."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from assessments.procedure import (
    AssessorRecord,
    Conflict,
    Tie,
    appeal_deadline,
    find_conflicts,
    is_working_day,
    next_working_day,
    oversight_report,
    publicity_period,
    share,
)

MONDAY = dt.date(2026, 11, 23)
FRIDAY = dt.date(2026, 11, 27)
NATIONAL_DAY = dt.date(2026, 10, 1)  # a Thursday


@pytest.mark.parametrize(
    ("day", "holidays", "expected"),
    [
        (MONDAY, (), True),
        (FRIDAY, (), True),
        (dt.date(2026, 11, 28), (), False),  # Saturday
        (dt.date(2026, 11, 29), (), False),  # Sunday
        (NATIONAL_DAY, (NATIONAL_DAY,), False),
        (NATIONAL_DAY, (), True),
    ],
)
def test_is_working_day_counts_monday_to_friday_less_holidays(
    day: dt.date, holidays: tuple[dt.date, ...], expected: bool
) -> None:
    assert is_working_day(day, holidays) is expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (MONDAY, dt.date(2026, 11, 24)),
        (FRIDAY, dt.date(2026, 11, 30)),  # over the weekend
        (dt.date(2026, 11, 28), dt.date(2026, 11, 30)),  # from a Saturday
    ],
)
def test_next_working_day_skips_weekends(day: dt.date, expected: dt.date) -> None:
    assert next_working_day(day) == expected


@pytest.mark.parametrize(
    ("approved_on", "days", "holidays", "expected"),
    [
        # Approved Monday: Tue..Fri is four working days, the fifth is next Monday.
        (MONDAY, 5, (), (dt.date(2026, 11, 24), dt.date(2026, 11, 30))),
        # Approved Friday: Mon..Fri of the next week.
        (FRIDAY, 5, (), (dt.date(2026, 11, 30), dt.date(2026, 12, 4))),
        # Approved on a Saturday: the same.
        (dt.date(2026, 11, 28), 5, (), (dt.date(2026, 11, 30), dt.date(2026, 12, 4))),
        (MONDAY, 1, (), (dt.date(2026, 11, 24), dt.date(2026, 11, 24))),
        # National Day week: 1-7 October are holidays; Wed 30 Sep approval.
        (
            dt.date(2026, 9, 30),
            5,
            tuple(dt.date(2026, 10, d) for d in range(1, 8)),
            (dt.date(2026, 10, 8), dt.date(2026, 10, 14)),
        ),
        (MONDAY, 10, (), (dt.date(2026, 11, 24), dt.date(2026, 12, 7))),
    ],
)
def test_publicity_period_counts_working_days(
    approved_on: dt.date,
    days: int,
    holidays: tuple[dt.date, ...],
    expected: tuple[dt.date, dt.date],
) -> None:
    assert publicity_period(approved_on, days, holidays) == expected


def test_publicity_period_needs_at_least_one_day() -> None:
    with pytest.raises(ValueError, match="at least one"):
        publicity_period(MONDAY, 0)


def test_appeal_deadline_counts_calendar_days() -> None:
    assert appeal_deadline(dt.date(2026, 11, 23), 30) == dt.date(2026, 12, 23)
    assert appeal_deadline(dt.date(2026, 2, 1), 30) == dt.date(2026, 3, 3)


def tie(assessor_id: int, provider_id: int, **changes: object) -> Tie:
    values: dict[str, object] = {
        "assessor_id": assessor_id,
        "provider_id": provider_id,
        "provider_name": f"P{provider_id}",
        "description": "employee",
        "starts_on": dt.date(2025, 1, 1),
        "ends_on": None,
    }
    values.update(changes)
    return Tie(**values)  # type: ignore[arg-type]  # test helper


def test_find_conflicts_tie_to_the_clients_provider() -> None:
    conflicts = find_conflicts([1, 2], [tie(2, 7), tie(1, 8)], {7}, set(), MONDAY)
    assert conflicts == [Conflict(2, "provider_tie", "P7", "employee")]


@pytest.mark.parametrize(
    ("changes", "is_conflict"),
    [
        ({}, True),
        ({"starts_on": MONDAY}, True),
        ({"ends_on": MONDAY}, True),
        ({"starts_on": MONDAY + dt.timedelta(days=1)}, False),  # not yet tied
        ({"ends_on": MONDAY - dt.timedelta(days=1)}, False),  # tie over
    ],
)
def test_find_conflicts_only_ties_in_force(changes: dict[str, object], is_conflict: bool) -> None:
    conflicts = find_conflicts([1, 2], [tie(1, 7, **changes)], {7}, set(), MONDAY)
    assert bool(conflicts) is is_conflict


def test_find_conflicts_assessed_before_on_appeal() -> None:
    assert find_conflicts([3, 4], [], set(), {4, 9}, MONDAY) == [Conflict(4, "assessed_before")]


def test_find_conflicts_none() -> None:
    assert find_conflicts([1, 2], [tie(1, 7)], {8}, {3}, MONDAY) == []


def test_share_of_nothing_is_none() -> None:
    assert share(1, 4) == Fraction(1, 4)
    assert share(0, 0) is None


def test_oversight_report_flags_outliers_both_ways() -> None:
    records = [
        AssessorRecord(1, 20, 10),  # 50 %
        AssessorRecord(2, 20, 2),  # 10 %
        AssessorRecord(3, 20, 6),  # 30 %
        AssessorRecord(4, 20, 6, appealed=4, changed_on_appeal=1),  # 30 %
    ]
    report = oversight_report(records, max_difference_points=15, min_assessments=10)
    assert report.city_assessments == 80
    assert report.city_severe_share == Fraction(24, 80)
    rows = {row.record.assessor_id: row for row in report.rows}
    assert rows[1].difference_points == 20
    assert rows[2].difference_points == -20
    assert [rows[i].is_outlier for i in (1, 2, 3, 4)] == [True, True, False, False]
    assert rows[4].changed_rate == Fraction(1, 4)
    assert rows[3].changed_rate is None


def test_oversight_report_needs_enough_assessments_and_a_difference_beyond_the_limit() -> None:
    records = [AssessorRecord(1, 9, 9), AssessorRecord(2, 40, 14), AssessorRecord(3, 10, 5)]
    # City 28 / 59 = 47.5 %. Assessor 1 is at 100 % but made only 9; 2 is 12.5 points under.
    rows = oversight_report(records, 15, 10).rows
    assert [row.is_outlier for row in rows] == [False, False, False]
    exactly = oversight_report([AssessorRecord(1, 10, 5), AssessorRecord(2, 10, 2)], 15, 1).rows
    assert [row.difference_points for row in exactly] == [15, -15]
    assert [row.is_outlier for row in exactly] == [False, False]  # "more than" the limit


def test_oversight_report_of_an_empty_period() -> None:
    report = oversight_report([], 15, 10)
    assert (report.city_assessments, report.city_severe_share, report.rows) == (0, None, ())
    zero = oversight_report([AssessorRecord(1, 0, 0)], 15, 0).rows[0]
    assert (zero.severe_share, zero.difference_points, zero.is_outlier) == (None, None, False)
