"""Provider quality and market exit: a month's figures, whether it fails, and the next standing.

Pure and framework-free. The service counts a provider's month into `MonthFigures`, asks
`quality_problems` whether the month fails the thresholds, and `next_standing` what the
provider's status becomes:

- a failing month gives an active provider a **warning**;
- a second failing month in a row (a warned provider whose previous month failed too)
  **suspends** it (no new clients);
- a further failing month of a suspended provider makes it **exit** the market;
- a passing month clears a warning; a suspension is lifted only by an administrator
  (`lift_suspension`), and an exit is final.

Besides satisfaction and missed visits, a month can fail on complaints (per 100 planned
visits) and on the share of completed visits verified on the caregiver's phone (rather than
entered by hand). Those two thresholds are off unless configured.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction

DEFAULT_MIN_SATISFACTION = Fraction(95, 100)
DEFAULT_MAX_MISSED_SHARE = Fraction(2, 100)


class ProviderStatus(enum.StrEnum):
    """A provider's standing (the database stores it by value: providers.status)."""

    ACTIVE = "active"
    WARNED = "warned"
    SUSPENDED = "suspended"
    EXITED = "exited"


class QualityProblem(enum.StrEnum):
    """Why a month fails."""

    LOW_SATISFACTION = "low_satisfaction"
    TOO_MANY_MISSED = "too_many_missed"
    TOO_MANY_COMPLAINTS = "too_many_complaints"
    TOO_FEW_PHONE_VERIFIED = "too_few_phone_verified"


class StandingChange(enum.StrEnum):
    """What a month's evaluation did to the provider's standing."""

    UNCHANGED = "unchanged"
    WARNED = "warned"  # a first failing month (or a failing month after a passing one)
    SUSPENDED = "suspended"  # two failing months in a row
    EXITED = "exited"  # a further failing month while suspended
    WARNING_CLEARED = "warning_cleared"  # a passing month after a warning
    SUSPENSION_LIFTED = "suspension_lifted"  # an administrator lifted a suspension


@dataclass(frozen=True)
class QualityThresholds:
    """A month fails below `min_satisfaction` (4-5 star share) or above `max_missed_share`.

    Optional (None = not checked): more than `max_complaints_per_100` complaints per 100
    planned visits, or fewer than `min_phone_verified` of the completed visits verified on
    the caregiver's phone.
    """

    min_satisfaction: Fraction = DEFAULT_MIN_SATISFACTION
    max_missed_share: Fraction = DEFAULT_MAX_MISSED_SHARE
    max_complaints_per_100: Fraction | None = None
    min_phone_verified: Fraction | None = None

    def __post_init__(self) -> None:
        for name in ("min_satisfaction", "max_missed_share", "min_phone_verified"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"{name} must be a share between 0 and 1, got {value}")
        if self.max_complaints_per_100 is not None and self.max_complaints_per_100 < 0:
            raise ValueError("max_complaints_per_100 must not be negative")

    @classmethod
    def from_percent(
        cls,
        min_satisfaction: float,
        max_missed: float,
        max_complaints_per_100: float | None = None,
        min_phone_verified: float | None = None,
    ) -> QualityThresholds:
        """Thresholds as configured: 95 and 2 mean 95 % and 2 %; None leaves a check off."""
        return cls(
            Fraction(str(min_satisfaction)) / 100,
            Fraction(str(max_missed)) / 100,
            None if max_complaints_per_100 is None else Fraction(str(max_complaints_per_100)),
            None if min_phone_verified is None else Fraction(str(min_phone_verified)) / 100,
        )

    def in_force(self) -> dict[str, str]:
        """The thresholds that are checked, as exact fractions ("19/20"), for the record."""
        values = {
            "min_satisfaction": self.min_satisfaction,
            "max_missed_share": self.max_missed_share,
            "max_complaints_per_100": self.max_complaints_per_100,
            "min_phone_verified": self.min_phone_verified,
        }
        return {name: str(value) for name, value in values.items() if value is not None}


@dataclass(frozen=True)
class MonthFigures:
    """One provider's month of home visits.

    planned: every visit of the month that was not cancelled; completed, missed: by status;
    late: checked in after the window closed; rated, satisfied: ratings of the month's visits
    and those with 4 or 5 stars; flagged_check_ins: check-ins flagged for review;
    complaints: complaints received in the month and not dismissed; phone_verified,
    manual_entered: completed visits verified on the caregiver's phone / entered by hand.
    """

    planned: int
    completed: int
    missed: int
    late: int
    rated: int
    satisfied: int
    flagged_check_ins: int
    complaints: int = 0
    phone_verified: int = 0
    manual_entered: int = 0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.completed + self.missed > self.planned:
            raise ValueError("completed and missed visits cannot exceed the planned ones")
        if self.satisfied > self.rated:
            raise ValueError("satisfied ratings cannot exceed the ratings")
        if self.phone_verified + self.manual_entered > self.completed:
            raise ValueError("verified visits cannot exceed the completed ones")

    @property
    def satisfaction(self) -> Fraction | None:
        """The share of rated visits with 4 or 5 stars; None when nothing was rated."""
        return Fraction(self.satisfied, self.rated) if self.rated else None

    @property
    def missed_share(self) -> Fraction | None:
        """The share of planned visits that were missed; None when nothing was planned."""
        return Fraction(self.missed, self.planned) if self.planned else None

    @property
    def complaints_per_100(self) -> Fraction | None:
        """Complaints per 100 planned visits; None when nothing was planned."""
        return Fraction(self.complaints * 100, self.planned) if self.planned else None

    @property
    def phone_verified_share(self) -> Fraction | None:
        """The share of completed visits verified on the phone; None when none was completed."""
        return Fraction(self.phone_verified, self.completed) if self.completed else None


def quality_problems(figures: MonthFigures, thresholds: QualityThresholds) -> tuple[str, ...]:
    """Why the month fails (empty when it passes). No ratings or no visits fail nothing.

    Complaints without any planned visit exceed any configured complaint threshold.
    """
    problems: list[str] = []
    satisfaction = figures.satisfaction
    if satisfaction is not None and satisfaction < thresholds.min_satisfaction:
        problems.append(QualityProblem.LOW_SATISFACTION.value)
    missed = figures.missed_share
    if missed is not None and missed > thresholds.max_missed_share:
        problems.append(QualityProblem.TOO_MANY_MISSED.value)
    limit = thresholds.max_complaints_per_100
    if limit is not None and figures.complaints:
        rate = figures.complaints_per_100
        if rate is None or rate > limit:
            problems.append(QualityProblem.TOO_MANY_COMPLAINTS.value)
    minimum = thresholds.min_phone_verified
    verified = figures.phone_verified_share
    if minimum is not None and verified is not None and verified < minimum:
        problems.append(QualityProblem.TOO_FEW_PHONE_VERIFIED.value)
    return tuple(problems)


@dataclass(frozen=True)
class StandingDecision:
    before: ProviderStatus
    after: ProviderStatus
    change: StandingChange


def next_standing(
    current: ProviderStatus, is_failing: bool, previous_month_failed: bool
) -> StandingDecision:
    """The provider's standing after a month, from its standing and the last two months."""
    if current is ProviderStatus.EXITED:
        return StandingDecision(current, current, StandingChange.UNCHANGED)
    if not is_failing:
        if current is ProviderStatus.WARNED:
            return StandingDecision(current, ProviderStatus.ACTIVE, StandingChange.WARNING_CLEARED)
        return StandingDecision(current, current, StandingChange.UNCHANGED)
    if current is ProviderStatus.SUSPENDED:
        return StandingDecision(current, ProviderStatus.EXITED, StandingChange.EXITED)
    if current is ProviderStatus.WARNED and previous_month_failed:
        return StandingDecision(current, ProviderStatus.SUSPENDED, StandingChange.SUSPENDED)
    return StandingDecision(current, ProviderStatus.WARNED, StandingChange.WARNED)


def lift_suspension(current: ProviderStatus) -> StandingDecision:
    """An administrator lifts a suspension: suspended → active; any other standing is refused."""
    if current is not ProviderStatus.SUSPENDED:
        raise ValueError(f"only a suspended provider can have its suspension lifted ({current})")
    return StandingDecision(current, ProviderStatus.ACTIVE, StandingChange.SUSPENSION_LIFTED)
