"""Pure rules of the assessment procedure: working days, publicity, appeal window, conflicts of
interest and the assessor-oversight outlier rule (spec/assessment.md §4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from fractions import Fraction

SATURDAY = 5  # date.weekday(): Monday is 0


def is_working_day(day: dt.date, holidays: Collection[dt.date] = ()) -> bool:
    """Monday to Friday, and not a public holiday."""
    return day.weekday() < SATURDAY and day not in holidays


def next_working_day(day: dt.date, holidays: Collection[dt.date] = ()) -> dt.date:
    """The first working day strictly after `day`."""
    candidate = day + dt.timedelta(days=1)
    while not is_working_day(candidate, holidays):
        candidate += dt.timedelta(days=1)
    return candidate


def publicity_period(
    approved_on: dt.date, working_days: int, holidays: Collection[dt.date] = ()
) -> tuple[dt.date, dt.date]:
    """First and last day of a publicity of `working_days` working days.

    It starts on the first working day after the approval and ends on its last working day;
    the decision may be taken from the next day on.
    """
    if working_days < 1:
        raise ValueError("publicity lasts at least one working day")
    first = next_working_day(approved_on, holidays)
    last = first
    for _ in range(working_days - 1):
        last = next_working_day(last, holidays)
    return first, last


def appeal_deadline(concluded_on: dt.date, appeal_days: int) -> dt.date:
    """The last day on which an appeal against a conclusion of `concluded_on` may be lodged."""
    return concluded_on + dt.timedelta(days=appeal_days)


@dataclass(frozen=True)
class Tie:
    """An assessor's tie to a care provider, from `starts_on` to `ends_on` (open if None)."""

    assessor_id: int
    provider_id: int
    provider_name: str
    description: str
    starts_on: dt.date
    ends_on: dt.date | None

    def is_in_force(self, day: dt.date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True)
class Conflict:
    """Why an assessor may not assess a case: a tie to the client's provider, or an earlier
    assessment of the case being appealed."""

    assessor_id: int
    reason: str  # "provider_tie" or "assessed_before"
    provider_name: str | None = None
    description: str | None = None


def find_conflicts(
    assessor_ids: Iterable[int],
    ties: Iterable[Tie],
    client_provider_ids: Collection[int],
    earlier_assessor_ids: Collection[int],
    on: dt.date,
) -> list[Conflict]:
    """Every conflict of interest of the chosen assessors, in the order they were chosen."""
    in_force = [tie for tie in ties if tie.is_in_force(on)]
    conflicts: list[Conflict] = []
    for assessor_id in assessor_ids:
        conflicts.extend(
            Conflict(assessor_id, "provider_tie", tie.provider_name, tie.description)
            for tie in in_force
            if tie.assessor_id == assessor_id and tie.provider_id in client_provider_ids
        )
        if assessor_id in earlier_assessor_ids:
            conflicts.append(Conflict(assessor_id, "assessed_before"))
    return conflicts


@dataclass(frozen=True)
class AssessorRecord:
    """One assessor's grades over a period and how their appealed grades fared."""

    assessor_id: int
    assessments: int
    severe: int
    appealed: int = 0
    changed_on_appeal: int = 0


@dataclass(frozen=True)
class OversightRow:
    record: AssessorRecord
    severe_share: Fraction | None
    changed_rate: Fraction | None
    difference_points: Fraction | None  # (own share - city share) x 100
    is_outlier: bool


@dataclass(frozen=True)
class OversightReport:
    city_assessments: int
    city_severe_share: Fraction | None
    rows: tuple[OversightRow, ...]


def share(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


def oversight_report(
    records: Iterable[AssessorRecord], max_difference_points: int, min_assessments: int
) -> OversightReport:
    """Each assessor's share of severe grades against the city's.

    An assessor is an outlier when they made at least `min_assessments` assessments and their
    share of severe grades differs from the city's by more than `max_difference_points`
    percentage points (either way). The city's share counts every assessment once per assessor
    who made it, as the rows do.
    """
    listed = list(records)
    total = sum(record.assessments for record in listed)
    city = share(sum(record.severe for record in listed), total)
    rows = []
    for record in listed:
        own = share(record.severe, record.assessments)
        difference = None if own is None or city is None else (own - city) * 100
        rows.append(
            OversightRow(
                record=record,
                severe_share=own,
                changed_rate=share(record.changed_on_appeal, record.appealed),
                difference_points=difference,
                is_outlier=(
                    difference is not None
                    and record.assessments >= min_assessments
                    and abs(difference) > max_difference_points
                ),
            )
        )
    return OversightReport(total, city, tuple(rows))
