"""Pure rules of provider quality: figures, failing months and the exit ladder."""

from __future__ import annotations

from fractions import Fraction

import pytest

from scheduling.quality import (
    MonthFigures,
    ProviderStatus,
    QualityProblem,
    QualityThresholds,
    StandingChange,
    next_standing,
    quality_problems,
)

DEFAULT = QualityThresholds()


def figures(
    planned: int = 100,
    completed: int = 100,
    missed: int = 0,
    rated: int = 20,
    satisfied: int = 20,
    late: int = 0,
    flagged: int = 0,
) -> MonthFigures:
    return MonthFigures(planned, completed, missed, late, rated, satisfied, flagged)


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        (figures(), ()),
        (figures(rated=100, satisfied=95), ()),  # exactly 95 % passes
        (figures(rated=100, satisfied=94), (QualityProblem.LOW_SATISFACTION,)),
        (figures(completed=98, missed=2), ()),  # exactly 2 % passes
        (figures(completed=97, missed=3), (QualityProblem.TOO_MANY_MISSED,)),
        (
            figures(completed=90, missed=10, rated=10, satisfied=5),
            (QualityProblem.LOW_SATISFACTION, QualityProblem.TOO_MANY_MISSED),
        ),
        (figures(rated=0, satisfied=0), ()),  # nothing rated: satisfaction cannot fail
        (figures(planned=0, completed=0, rated=0, satisfied=0), ()),  # no visits at all
    ],
)
def test_quality_problems_against_the_default_thresholds(
    month: MonthFigures, expected: tuple[str, ...]
) -> None:
    assert quality_problems(month, DEFAULT) == expected


def test_thresholds_from_percent_are_exact() -> None:
    thresholds = QualityThresholds.from_percent(95, 2.5)
    assert thresholds.min_satisfaction == Fraction(19, 20)
    assert thresholds.max_missed_share == Fraction(1, 40)
    assert quality_problems(figures(completed=975, planned=1000, missed=25), thresholds) == ()


@pytest.mark.parametrize(
    ("minimum", "maximum"), [(Fraction(-1, 100), Fraction(0)), (Fraction(1), Fraction(101, 100))]
)
def test_thresholds_must_be_shares(minimum: Fraction, maximum: Fraction) -> None:
    with pytest.raises(ValueError, match="share"):
        QualityThresholds(minimum, maximum)


def test_month_figures_shares() -> None:
    month = figures(completed=96, missed=4, rated=8, satisfied=6)
    assert month.satisfaction == Fraction(3, 4)
    assert month.missed_share == Fraction(1, 25)
    empty = figures(planned=0, completed=0, rated=0, satisfied=0)
    assert empty.satisfaction is None
    assert empty.missed_share is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"late": -1}, "late must not be negative"),
        ({"completed": 99, "missed": 2}, "cannot exceed the planned"),
        ({"rated": 3, "satisfied": 4}, "cannot exceed the ratings"),
    ],
)
def test_month_figures_refuse_impossible_counts(values: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        figures(**values)


A, W, S, E = (
    ProviderStatus.ACTIVE,
    ProviderStatus.WARNED,
    ProviderStatus.SUSPENDED,
    ProviderStatus.EXITED,
)


@pytest.mark.parametrize(
    ("current", "failing", "previous_failed", "after", "change"),
    [
        (A, False, False, A, StandingChange.UNCHANGED),
        (A, True, False, W, StandingChange.WARNED),
        (A, True, True, W, StandingChange.WARNED),  # e.g. reinstated by an administrator
        (W, True, True, S, StandingChange.SUSPENDED),  # two warnings in a row
        (W, True, False, W, StandingChange.WARNED),  # a new warning after a passing month
        (W, False, True, A, StandingChange.WARNING_CLEARED),
        (S, True, False, E, StandingChange.EXITED),  # a further failing month
        (S, True, True, E, StandingChange.EXITED),
        (S, False, True, S, StandingChange.UNCHANGED),  # lifted only by an administrator
        (E, True, True, E, StandingChange.UNCHANGED),
        (E, False, False, E, StandingChange.UNCHANGED),
    ],
)
def test_next_standing_follows_the_exit_ladder(
    current: ProviderStatus,
    failing: bool,
    previous_failed: bool,
    after: ProviderStatus,
    change: StandingChange,
) -> None:
    decision = next_standing(current, failing, previous_failed)
    assert (decision.before, decision.after, decision.change) == (current, after, change)


def test_three_failing_months_in_a_row_end_in_exit() -> None:
    standing, previous_failed = ProviderStatus.ACTIVE, False
    path = []
    for _ in range(4):
        decision = next_standing(standing, True, previous_failed)
        standing, previous_failed = decision.after, True
        path.append(standing)
    assert path == [W, S, E, E]
