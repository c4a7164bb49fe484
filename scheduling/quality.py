"""Provider quality and market exit: a month's figures, whether it fails, and the next standing.

Pure and framework-free. The service counts a provider's month into `MonthFigures`, asks
`quality_problems` whether the month fails the thresholds, and `next_standing` what the
provider's status becomes:

- a failing month gives an active provider a **warning**;
- a second failing month in a row (a warned provider whose previous month failed too)
  **suspends** it (no new clients);
- a further failing month of a suspended provider makes it **exit** the market;
- a passing month clears a warning; a suspension is lifted only by an administrator, and an
  exit is final.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from fractions import Fraction

DEFAULT_MIN_SATISFACTION = Fraction(95, 100)
DEFAULT_MAX_MISSED_SHARE = Fraction(2, 100)


class Standing(enum.StrEnum):
    """A provider's status; the values are those of careapp.models.ProviderStatus."""

    ACTIVE = "active"
    WARNED = "warned"
    SUSPENDED = "suspended"
    EXITED = "exited"


class QualityProblem(enum.StrEnum):
    """Why a month fails."""

    LOW_SATISFACTION = "low_satisfaction"
    TOO_MANY_MISSED = "too_many_missed"


class StandingChange(enum.StrEnum):
    """What a month's evaluation did to the provider's standing."""

    UNCHANGED = "unchanged"
    WARNED = "warned"  # a first failing month (or a failing month after a passing one)
    SUSPENDED = "suspended"  # two failing months in a row
    EXITED = "exited"  # a further failing month while suspended
    WARNING_CLEARED = "warning_cleared"  # a passing month after a warning


@dataclass(frozen=True)
class QualityThresholds:
    """A month fails below `min_satisfaction` (4-5 star share) or above `max_missed_share`."""

    min_satisfaction: Fraction = DEFAULT_MIN_SATISFACTION
    max_missed_share: Fraction = DEFAULT_MAX_MISSED_SHARE

    def __post_init__(self) -> None:
        for name in ("min_satisfaction", "max_missed_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be a share between 0 and 1, got {value}")

    @classmethod
    def from_percent(cls, min_satisfaction: float, max_missed: float) -> QualityThresholds:
        """Thresholds given in percent (as configured): 95 and 2 mean 95 % and 2 %."""
        return cls(
            Fraction(str(min_satisfaction)) / 100,
            Fraction(str(max_missed)) / 100,
        )


@dataclass(frozen=True)
class MonthFigures:
    """One provider's month of home visits.

    planned: every visit of the month that was not cancelled; completed, missed: by status;
    late: checked in after the window closed; rated, satisfied: ratings of the month's visits
    and those with 4 or 5 stars; flagged_check_ins: check-ins flagged for review.
    """

    planned: int
    completed: int
    missed: int
    late: int
    rated: int
    satisfied: int
    flagged_check_ins: int

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.completed + self.missed > self.planned:
            raise ValueError("completed and missed visits cannot exceed the planned ones")
        if self.satisfied > self.rated:
            raise ValueError("satisfied ratings cannot exceed the ratings")

    @property
    def satisfaction(self) -> Fraction | None:
        """The share of rated visits with 4 or 5 stars; None when nothing was rated."""
        return Fraction(self.satisfied, self.rated) if self.rated else None

    @property
    def missed_share(self) -> Fraction | None:
        """The share of planned visits that were missed; None when nothing was planned."""
        return Fraction(self.missed, self.planned) if self.planned else None


def quality_problems(figures: MonthFigures, thresholds: QualityThresholds) -> tuple[str, ...]:
    """Why the month fails (empty when it passes). No ratings or no visits fail nothing."""
    problems: list[str] = []
    satisfaction = figures.satisfaction
    if satisfaction is not None and satisfaction < thresholds.min_satisfaction:
        problems.append(QualityProblem.LOW_SATISFACTION.value)
    missed = figures.missed_share
    if missed is not None and missed > thresholds.max_missed_share:
        problems.append(QualityProblem.TOO_MANY_MISSED.value)
    return tuple(problems)


@dataclass(frozen=True)
class StandingDecision:
    before: Standing
    after: Standing
    change: StandingChange


def next_standing(
    current: Standing, is_failing: bool, previous_month_failed: bool
) -> StandingDecision:
    """The provider's standing after a month, from its standing and the last two months."""
    if current is Standing.EXITED:
        return StandingDecision(current, current, StandingChange.UNCHANGED)
    if not is_failing:
        if current is Standing.WARNED:
            return StandingDecision(current, Standing.ACTIVE, StandingChange.WARNING_CLEARED)
        return StandingDecision(current, current, StandingChange.UNCHANGED)
    if current is Standing.SUSPENDED:
        return StandingDecision(current, Standing.EXITED, StandingChange.EXITED)
    if current is Standing.WARNED and previous_month_failed:
        return StandingDecision(current, Standing.SUSPENDED, StandingChange.SUSPENDED)
    return StandingDecision(current, Standing.WARNED, StandingChange.WARNED)


def month_of(day: dt.date) -> dt.date:
    """The first day of `day`'s month (how a month is named in evaluations)."""
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    """The first day of the month after `month`."""
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    """The first day of the month before `month`."""
    return (month.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
