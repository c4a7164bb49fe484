"""Pure quality rules added for issue 6: complaints, phone verification, every status change."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduling.quality import (
    MonthFigures,
    ProviderStatus,
    QualityProblem,
    QualityThresholds,
    StandingChange,
    lift_suspension,
    next_standing,
    quality_problems,
)

A, W, S, E = (
    ProviderStatus.ACTIVE,
    ProviderStatus.WARNED,
    ProviderStatus.SUSPENDED,
    ProviderStatus.EXITED,
)
STRICT = QualityThresholds(max_complaints_per_100=Fraction(2), min_phone_verified=Fraction(9, 10))


def month(
    planned: int = 100,
    completed: int = 100,
    complaints: int = 0,
    phone: int = 100,
    manual: int = 0,
) -> MonthFigures:
    return MonthFigures(
        planned, completed, 0, 0, 20, 20, 0,
        complaints=complaints, phone_verified=phone, manual_entered=manual,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        (month(), ()),
        (month(complaints=2), ()),  # exactly 2 per 100 passes
        (month(complaints=3), (QualityProblem.TOO_MANY_COMPLAINTS,)),
        (month(planned=50, completed=50, phone=50, complaints=1), ()),  # 2 per 100
        (month(planned=50, completed=50, phone=50, complaints=2), ("too_many_complaints",)),
        (month(planned=0, completed=0, phone=0, complaints=1), ("too_many_complaints",)),
        (month(planned=0, completed=0, phone=0), ()),
        (month(phone=90, manual=10), ()),  # exactly 90 % passes
        (month(phone=89, manual=11), (QualityProblem.TOO_FEW_PHONE_VERIFIED,)),
        (month(phone=80, manual=0), (QualityProblem.TOO_FEW_PHONE_VERIFIED,)),  # unverified
        (
            month(complaints=5, phone=10, manual=90),
            (QualityProblem.TOO_MANY_COMPLAINTS, QualityProblem.TOO_FEW_PHONE_VERIFIED),
        ),
    ],
)
def test_quality_problems_with_the_optional_thresholds(
    figures: MonthFigures, expected: tuple[str, ...]
) -> None:
    assert quality_problems(figures, STRICT) == expected


def test_optional_thresholds_are_off_by_default() -> None:
    bad = month(complaints=50, phone=0, manual=100)
    assert quality_problems(bad, QualityThresholds()) == ()
    assert QualityThresholds().in_force() == {
        "min_satisfaction": "19/20",
        "max_missed_share": "1/50",
    }


def test_thresholds_from_percent_with_the_optional_ones() -> None:
    thresholds = QualityThresholds.from_percent(95, 2, 1.5, 80)
    assert thresholds.max_complaints_per_100 == Fraction(3, 2)
    assert thresholds.min_phone_verified == Fraction(4, 5)
    assert thresholds.in_force() == {
        "min_satisfaction": "19/20",
        "max_missed_share": "1/50",
        "max_complaints_per_100": "3/2",
        "min_phone_verified": "4/5",
    }
    assert QualityThresholds.from_percent(95, 2) == QualityThresholds()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"max_complaints_per_100": Fraction(-1)}, "must not be negative"),
        ({"min_phone_verified": Fraction(3, 2)}, "between 0 and 1"),
    ],
)
def test_optional_thresholds_are_checked(values: dict[str, Fraction], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QualityThresholds(**values)


def test_verified_visits_cannot_exceed_the_completed_ones() -> None:
    with pytest.raises(ValueError, match="verified visits"):
        month(completed=10, phone=8, manual=3)


def test_new_shares() -> None:
    figures = month(planned=40, completed=30, complaints=3, phone=27, manual=3)
    assert figures.complaints_per_100 == Fraction(15, 2)
    assert figures.phone_verified_share == Fraction(9, 10)
    empty = month(planned=0, completed=0, phone=0)
    assert empty.complaints_per_100 is None
    assert empty.phone_verified_share is None


@given(
    planned=st.integers(0, 500),
    data=st.data(),
    limit=st.fractions(min_value=0, max_value=20),
    minimum=st.fractions(min_value=0, max_value=1),
)
def test_optional_problems_match_their_definitions(
    planned: int, data: st.DataObject, limit: Fraction, minimum: Fraction
) -> None:
    completed = data.draw(st.integers(0, planned))
    phone = data.draw(st.integers(0, completed))
    manual = data.draw(st.integers(0, completed - phone))
    complaints = data.draw(st.integers(0, 50))
    figures = month(planned, completed, complaints, phone, manual)
    problems = quality_problems(
        figures, QualityThresholds(max_complaints_per_100=limit, min_phone_verified=minimum)
    )
    too_many = complaints > 0 and (planned == 0 or Fraction(100 * complaints, planned) > limit)
    too_few = completed > 0 and Fraction(phone, completed) < minimum
    assert (QualityProblem.TOO_MANY_COMPLAINTS in problems) is too_many
    assert (QualityProblem.TOO_FEW_PHONE_VERIFIED in problems) is too_few
    # Switching the optional checks off never adds a problem.
    assert set(quality_problems(figures, QualityThresholds())) <= set(problems)


# Every change of a provider's status, one row each (the brief's list, in order).
@pytest.mark.parametrize(
    ("before", "failing", "previous_failed", "after", "change"),
    [
        pytest.param(A, True, False, W, StandingChange.WARNED, id="active-warned"),
        pytest.param(W, False, True, A, StandingChange.WARNING_CLEARED, id="warned-active"),
        pytest.param(W, True, True, S, StandingChange.SUSPENDED, id="warned-suspended"),
        pytest.param(S, True, True, E, StandingChange.EXITED, id="suspended-exited"),
        pytest.param(S, False, True, S, StandingChange.UNCHANGED, id="suspended-stays"),
        pytest.param(E, False, False, E, StandingChange.UNCHANGED, id="exited-final-passing"),
        pytest.param(E, True, True, E, StandingChange.UNCHANGED, id="exited-final-failing"),
    ],
)
def test_every_status_change(
    before: ProviderStatus,
    failing: bool,
    previous_failed: bool,
    after: ProviderStatus,
    change: StandingChange,
) -> None:
    decision = next_standing(before, failing, previous_failed)
    assert (decision.before, decision.after, decision.change) == (before, after, change)


def test_lifting_a_suspension_makes_the_provider_active() -> None:
    decision = lift_suspension(S)
    assert (decision.before, decision.after, decision.change) == (
        S,
        A,
        StandingChange.SUSPENSION_LIFTED,
    )


@pytest.mark.parametrize("standing", [A, W, E])
def test_only_a_suspension_can_be_lifted(standing: ProviderStatus) -> None:
    with pytest.raises(ValueError, match="only a suspended provider"):
        lift_suspension(standing)


@given(st.lists(st.booleans(), max_size=12), st.sampled_from(list(ProviderStatus)))
def test_exit_is_final_and_reached_only_from_suspension(
    months: list[bool], start: ProviderStatus
) -> None:
    standing, previous_failed = start, False
    for failing in months:
        decision = next_standing(standing, failing, previous_failed)
        if decision.after is E and standing is not E:
            assert standing is S
            assert failing
        if standing is E:
            assert decision.after is E
        if not failing:
            assert decision.after is not E or standing is E
            assert decision.after in (A, S, E)  # a passing month never warns
        standing, previous_failed = decision.after, failing
