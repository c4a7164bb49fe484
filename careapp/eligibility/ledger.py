"""Benefit days (pure): which day is paid, in which setting, at which rate, to whom.

The day conventions of `benefits.md`, so that every count is exact and everyone counts the same:

- benefit days run from the start date up to and including the day before the end date (the day of
  death, of the end of insurance or of moving away is not paid);
- a move to another setting applies from the day of the move;
- a hospital stay suspends the days from admission up to and including the day before discharge
  (the discharge day is paid in the setting the person returns to; an open stay suspends every
  day from admission on);
- a rate change applies to days on or after its effective date: each day is priced from the policy
  version in force that day, and the day records that version.

Money is integer fen. A rate of None means "paid per visit" (severe, at home with door-to-door
service): those days are counted but carry no daily amount (the visits are settled monthly).

Days are computed as segments (runs of days that share setting, provider, status, version and
rate) cut at every date where something changes, so a year of a city costs no more than its events.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from careapp.eligibility.rules import (
    CARE_SETTINGS,
    ELDERLY_CARE_INSTITUTION,
    MEDICAL_CARE_INSTITUTION,
    BenefitCategory,
)
from scheduling.months import month_of, next_month, previous_month

ONE_DAY = dt.timedelta(days=1)
INSTITUTION_SETTINGS = frozenset({MEDICAL_CARE_INSTITUTION, ELDERLY_CARE_INSTITUTION})

# Reason codes of `LedgerError` (the service words them for people).
NO_START_PLACEMENT = "no_start_placement"  # the first placement is not on the start date
PLACEMENTS_NOT_IN_ORDER = "placements_not_in_order"  # two moves on one day, or out of order
NOT_A_MOVE = "not_a_move"  # a move to the setting and provider the person is already in
EVENT_AFTER_END = "event_after_end"  # a move or an admission on or after the end date
END_BEFORE_START = "end_before_start"
ADMISSION_BEFORE_START = "admission_before_start"
DISCHARGE_BEFORE_ADMISSION = "discharge_before_admission"
STAYS_OVERLAP = "stays_overlap"
UNKNOWN_SETTING = "unknown_setting"
NO_POLICY = "no_policy"  # a day before the first policy version


class LedgerError(ValueError):
    """An impossible history, or a day no policy version prices; `day` is where it happens."""

    def __init__(self, reason: str, day: dt.date) -> None:
        self.reason = reason
        self.day = day
        super().__init__(f"{reason} on {day.isoformat()}")


class DayStatus(enum.StrEnum):
    PAID = "paid"
    SUSPENDED = "suspended"  # in an acute hospital


class Payee(enum.StrEnum):
    """Who a day's benefit is paid to."""

    INSTITUTION = "institution"  # the care institution the person lives in
    BENEFICIARY = "beneficiary"  # cash to the person (cash subsidy; moderate at home)
    PER_VISIT = "per_visit"  # the home-care company, per visit (no daily amount)


@dataclass(frozen=True)
class Placement:
    """The care setting (and institution or company) from `on` until the next placement."""

    on: dt.date
    care_setting: str
    provider_id: int | None = None


@dataclass(frozen=True)
class HospitalStay:
    admitted_on: dt.date
    discharged_on: dt.date | None = None  # None: still in hospital

    def suspends(self, day: dt.date) -> bool:
        return self.admitted_on <= day and (self.discharged_on is None or day < self.discharged_on)


@dataclass(frozen=True)
class EntitlementHistory:
    """One entitlement's dated events: where the person was, hospital stays, and its end."""

    category: BenefitCategory
    starts_on: dt.date
    placements: tuple[Placement, ...]  # the first on `starts_on`, then each move, in date order
    stays: tuple[HospitalStay, ...] = ()
    end_on: dt.date | None = None  # the end date (death, ...): not paid; None while it runs

    @property
    def last_day(self) -> dt.date | None:
        """The last benefit day (None while the entitlement runs)."""
        return None if self.end_on is None else self.end_on - ONE_DAY

    def placement_on(self, day: dt.date) -> Placement:
        """The placement in force on `day` (a day on or after the start)."""
        index = bisect.bisect_right([p.on for p in self.placements], day) - 1
        return self.placements[max(index, 0)]

    def is_suspended(self, day: dt.date) -> bool:
        return any(stay.suspends(day) for stay in self.stays)


@dataclass(frozen=True)
class RateTable:
    """One policy version's daily rates in fen ((category, setting) -> fen; None: per visit)."""

    version_id: int
    effective_on: dt.date
    rates: Mapping[tuple[str, str], int | None]

    def rate(self, category: BenefitCategory, care_setting: str) -> int | None:
        return self.rates.get((category.value, care_setting))


@dataclass(frozen=True)
class Segment:
    """Consecutive days, `first` to `last` inclusive, that share everything but the date."""

    first: dt.date
    last: dt.date
    care_setting: str
    provider_id: int | None
    status: DayStatus
    version_id: int
    rate_fen: int | None  # the daily rate of the version and setting (None: paid per visit)
    payee: Payee

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def is_paid(self) -> bool:
        return self.status is DayStatus.PAID

    @property
    def daily_amount_fen(self) -> int | None:
        """What each day of the segment pays: 0 if suspended, None if paid per visit."""
        if not self.is_paid:
            return 0
        return self.rate_fen

    @property
    def amount_fen(self) -> int:
        """The segment's money (per-visit days and suspended days count 0 here)."""
        daily = self.daily_amount_fen
        return 0 if daily is None else daily * self.days

    def each_day(self) -> Iterator[BenefitDay]:
        day = self.first
        while day <= self.last:
            yield BenefitDay(
                day,
                self.care_setting,
                self.provider_id,
                self.status,
                self.version_id,
                self.rate_fen,
                self.payee,
            )
            day += ONE_DAY


@dataclass(frozen=True)
class BenefitDay:
    day: dt.date
    care_setting: str
    provider_id: int | None
    status: DayStatus
    version_id: int
    rate_fen: int | None
    payee: Payee

    @property
    def amount_fen(self) -> int:
        if self.status is not DayStatus.PAID or self.rate_fen is None:
            return 0
        return self.rate_fen


def payee_of(care_setting: str, rate_fen: int | None) -> Payee:
    """Institutions are paid for their residents; a day without a daily rate is paid per visit to
    the home-care company; any other day is cash to the beneficiary."""
    if care_setting in INSTITUTION_SETTINGS:
        return Payee.INSTITUTION
    if rate_fen is None:
        return Payee.PER_VISIT
    return Payee.BENEFICIARY


def check_history(history: EntitlementHistory) -> None:
    """Refuse an impossible history (LedgerError names the first problem and its date)."""
    start, end = history.starts_on, history.end_on
    if end is not None and end < start:
        raise LedgerError(END_BEFORE_START, end)
    if not history.placements or history.placements[0].on != start:
        raise LedgerError(NO_START_PLACEMENT, start)
    previous: Placement | None = None
    for placement in history.placements:
        if placement.care_setting not in CARE_SETTINGS:
            raise LedgerError(UNKNOWN_SETTING, placement.on)
        if previous is not None:
            if placement.on <= previous.on:
                raise LedgerError(PLACEMENTS_NOT_IN_ORDER, placement.on)
            if (placement.care_setting, placement.provider_id) == (
                previous.care_setting,
                previous.provider_id,
            ):
                raise LedgerError(NOT_A_MOVE, placement.on)
            if end is not None and placement.on >= end:
                raise LedgerError(EVENT_AFTER_END, placement.on)
        previous = placement
    stays = sorted(history.stays, key=lambda stay: stay.admitted_on)
    for index, stay in enumerate(stays):
        if stay.admitted_on < start:
            raise LedgerError(ADMISSION_BEFORE_START, stay.admitted_on)
        if end is not None and stay.admitted_on >= end:
            raise LedgerError(EVENT_AFTER_END, stay.admitted_on)
        if stay.discharged_on is not None and stay.discharged_on < stay.admitted_on:
            raise LedgerError(DISCHARGE_BEFORE_ADMISSION, stay.discharged_on)
        if index + 1 < len(stays):
            following = stays[index + 1]
            # Readmission on the discharge day is fine: the suspended days do not meet.
            if stay.discharged_on is None or following.admitted_on < stay.discharged_on:
                raise LedgerError(STAYS_OVERLAP, following.admitted_on)


def version_on(versions: Sequence[RateTable], day: dt.date) -> RateTable:
    """The version in force on `day`: the latest effective on or before it (`versions` sorted by
    effective date). LedgerError if the day comes before every version."""
    index = bisect.bisect_right([v.effective_on for v in versions], day) - 1
    if index < 0:
        raise LedgerError(NO_POLICY, day)
    return versions[index]


def benefit_segments(
    history: EntitlementHistory,
    versions: Sequence[RateTable],
    first: dt.date,
    last: dt.date,
) -> list[Segment]:
    """The entitlement's benefit days between `first` and `last` (inclusive) as segments.

    Each day of [start, end) in the window belongs to exactly one segment, paid or suspended.
    `versions` are sorted by effective date. The history must pass `check_history`.
    """
    lo = max(first, history.starts_on)
    hi = last if history.last_day is None else min(last, history.last_day)
    if lo > hi:
        return []
    cuts = {lo, hi + ONE_DAY}
    cuts.update(p.on for p in history.placements)
    for stay in history.stays:
        cuts.add(stay.admitted_on)
        if stay.discharged_on is not None:
            cuts.add(stay.discharged_on)
    cuts.update(v.effective_on for v in versions)
    points = sorted(cut for cut in cuts if lo <= cut <= hi + ONE_DAY)
    segments: list[Segment] = []
    for begin, stop in itertools.pairwise(points):
        placement = history.placement_on(begin)
        version = version_on(versions, begin)
        rate = version.rate(history.category, placement.care_setting)
        piece = Segment(
            first=begin,
            last=stop - ONE_DAY,
            care_setting=placement.care_setting,
            provider_id=placement.provider_id,
            status=DayStatus.SUSPENDED if history.is_suspended(begin) else DayStatus.PAID,
            version_id=version.version_id,
            rate_fen=rate,
            payee=payee_of(placement.care_setting, rate),
        )
        if segments and _continues(segments[-1], piece):
            segments[-1] = Segment(
                segments[-1].first,
                piece.last,
                piece.care_setting,
                piece.provider_id,
                piece.status,
                piece.version_id,
                piece.rate_fen,
                piece.payee,
            )
        else:
            segments.append(piece)
    return segments


def _continues(before: Segment, after: Segment) -> bool:
    return before.last + ONE_DAY == after.first and (
        before.care_setting,
        before.provider_id,
        before.status,
        before.version_id,
        before.rate_fen,
    ) == (after.care_setting, after.provider_id, after.status, after.version_id, after.rate_fen)


def benefit_days(segments: Sequence[Segment]) -> list[BenefitDay]:
    """Every day of the segments, one record each."""
    return [day for segment in segments for day in segment.each_day()]


def total_fen(segments: Sequence[Segment]) -> int:
    return sum(segment.amount_fen for segment in segments)


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the month `month` falls in."""
    return month_of(month), next_month(month) - ONE_DAY


def months_back(month: dt.date, count: int) -> list[dt.date]:
    """The first days of the `count` months ending with `month`'s, oldest first."""
    first = month_of(month)
    months = [first]
    for _ in range(count - 1):
        first = previous_month(first)
        months.append(first)
    return months[::-1]


def split_by_month(segments: Sequence[Segment]) -> dict[dt.date, list[Segment]]:
    """The segments cut at month ends, keyed by the first day of their month."""
    months: dict[dt.date, list[Segment]] = {}
    for segment in segments:
        begin = segment.first
        while begin <= segment.last:
            month_first, month_last = month_bounds(begin)
            stop = min(segment.last, month_last)
            months.setdefault(month_first, []).append(
                Segment(
                    begin,
                    stop,
                    segment.care_setting,
                    segment.provider_id,
                    segment.status,
                    segment.version_id,
                    segment.rate_fen,
                    segment.payee,
                )
            )
            begin = stop + ONE_DAY
    return months
