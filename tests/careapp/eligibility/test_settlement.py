"""Settlement of home-care visits (pure): outcomes, the monthly budget cap, issued payments kept."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careapp.eligibility.ledger import DayStatus, Payee, Segment
from careapp.eligibility.settlement import (
    HOME_CARE,
    VOLUNTEER,
    FlagState,
    Outcome,
    Settlement,
    VisitClaim,
    settle_visits,
)

D = dt.date
UTC = dt.UTC


def segment(
    first: int, last: int, *, suspended: bool = False, payee: Payee = Payee.PER_VISIT
) -> Segment:
    return Segment(
        D(2026, 10, first),
        D(2026, 10, last),
        "home_service" if payee is Payee.PER_VISIT else "home_cash",
        None,
        DayStatus.SUSPENDED if suspended else DayStatus.PAID,
        1,
        None if payee is Payee.PER_VISIT else 1500,
        payee,
    )


# October: home service from the 1st, in hospital 10th-14th (back on the 15th), cash from the 25th.
OCTOBER = {
    1: [
        segment(1, 9),
        segment(10, 14, suspended=True),
        segment(15, 24),
        segment(25, 31, payee=Payee.BENEFICIARY),
    ]
}


def claim(
    visit_id: int,
    day: int,
    value: int = 8000,
    *,
    hour: int = 9,
    person: int = 1,
    entitlement: int = 1,
    provider: int = 7,
    kind: str = HOME_CARE,
    completed: bool = True,
    flag: FlagState = FlagState.NONE,
) -> VisitClaim:
    return VisitClaim(
        visit_id=visit_id,
        person_id=person,
        entitlement_id=entitlement,
        provider_id=provider,
        provider_kind=kind,
        visit_on=D(2026, 10, day),
        window_start=dt.datetime(2026, 10, day, hour, tzinfo=UTC),
        is_completed=completed,
        value_fen=value,
        flag=flag,
    )


def outcomes(result: Settlement) -> list[tuple[int, Outcome, int]]:
    return [(line.claim.visit_id, line.outcome, line.amount_fen) for line in result.lines]


def test_each_visit_gets_its_outcome_and_why_it_is_not_paid() -> None:
    claims = [
        claim(1, 2),
        claim(2, 3, kind=VOLUNTEER),
        claim(3, 4, flag=FlagState.OPEN),
        claim(4, 5, flag=FlagState.UPHELD),
        claim(5, 11),  # in hospital
        claim(6, 15),  # the discharge day is paid again
        claim(7, 26),  # cash days: not paid per visit
        claim(8, 6, completed=False),
        claim(9, 7, kind="elderly_care_institution"),
    ]
    result = settle_visits(claims, OCTOBER, {1: 120_000})
    assert sorted(outcomes(result)) == [
        (1, Outcome.PAID, 8000),
        (2, Outcome.VOLUNTEER, 0),
        (3, Outcome.HELD_FLAG, 0),
        (4, Outcome.REJECTED_FLAG, 0),
        (5, Outcome.IN_HOSPITAL, 0),
        (6, Outcome.PAID, 8000),
        (7, Outcome.NOT_BENEFIT_DAY, 0),
        (8, Outcome.NOT_COMPLETED, 0),
        (9, Outcome.NOT_HOME_CARE, 0),
    ]
    assert result.total_fen == 16_000
    # Outside the entitlement (no segment at all) is not a benefit day either.
    alone = settle_visits([claim(1, 2, entitlement=99)], OCTOBER, {1: 120_000})
    assert outcomes(alone) == [(1, Outcome.NOT_BENEFIT_DAY, 0)]


def test_the_budget_caps_the_month_across_companies_in_chronological_order() -> None:
    # Hand-worked: budget 200.00 yuan; company 7 until the 5th, company 8 from the 6th.
    # 2nd 09:00 #3 (90.00) paid 90.00 -> 110.00 left
    # 2nd 14:00 #1 (80.00) paid 80.00 -> 30.00 left (same day, later window)
    # 6th       #2 (50.00) paid 30.00, the remainder -> 0 left
    # 7th       #4 (10.00) over budget
    claims = [
        claim(1, 2, 8000, hour=14),
        claim(2, 6, 5000, provider=8),
        claim(3, 2, 9000, hour=9),
        claim(4, 7, 1000, provider=8),
    ]
    result = settle_visits(claims, OCTOBER, {1: 20_000})
    assert outcomes(result) == [
        (3, Outcome.PAID, 9000),
        (1, Outcome.PAID, 8000),
        (2, Outcome.PAID, 3000),
        (4, Outcome.OVER_BUDGET, 0),
    ]
    assert result.paid_by() == {(1, 7): (2, 17_000), (1, 8): (1, 3000)}
    # A visit that is held does not use the budget.
    held = settle_visits(
        [claim(1, 2, 15_000, flag=FlagState.OPEN), claim(2, 3, 15_000)], OCTOBER, {1: 20_000}
    )
    assert outcomes(held) == [(1, Outcome.HELD_FLAG, 0), (2, Outcome.PAID, 15_000)]


def test_without_a_budget_nothing_is_paid() -> None:
    assert outcomes(settle_visits([claim(1, 2)], OCTOBER, {1: None})) == [(1, Outcome.NO_BUDGET, 0)]


def test_what_statements_paid_stays_paid_and_a_cleared_visit_fills_the_room_left() -> None:
    # The main statement paid #2 (150.00) while #1 was held; #1 is cleared: 50.00 room is left.
    claims = [claim(1, 2, 15_000), claim(2, 3, 15_000)]
    result = settle_visits(claims, OCTOBER, {1: 20_000}, {2: 15_000})
    assert outcomes(result) == [(1, Outcome.PAID, 5000), (2, Outcome.PAID, 15_000)]
    assert [line.new_fen for line in result.lines] == [5000, 0]
    # A paid visit flagged afterwards keeps what it was paid (an issued statement never changes).
    later = settle_visits(
        [claim(2, 3, 15_000, flag=FlagState.UPHELD)], OCTOBER, {1: 20_000}, {2: 15_000}
    )
    assert outcomes(later) == [(2, Outcome.PAID, 15_000)]


visit_claims = st.builds(
    claim,
    visit_id=st.integers(1, 10_000),
    day=st.integers(1, 31),
    value=st.integers(0, 30_000),
    hour=st.integers(6, 20),
    person=st.integers(1, 4),
    provider=st.integers(7, 9),
    kind=st.sampled_from([HOME_CARE, HOME_CARE, HOME_CARE, VOLUNTEER]),
    completed=st.booleans(),
    flag=st.sampled_from(list(FlagState)),
)


@settings(max_examples=200, deadline=None)
@given(
    claims=st.lists(visit_claims, max_size=40, unique_by=lambda c: c.visit_id),
    budget=st.integers(0, 150_000),
)
def test_settlement_never_exceeds_the_budget_nor_pays_an_unpayable_visit(
    claims: list[VisitClaim], budget: int
) -> None:
    segments = {1: OCTOBER[1]}
    result = settle_visits(claims, segments, dict.fromkeys(range(1, 5), budget))
    assert len(result.lines) == len(claims)
    for person in range(1, 5):
        paid = [line for line in result.lines if line.claim.person_id == person]
        assert sum(line.amount_fen for line in paid) <= budget
        payable = sum(
            line.claim.value_fen
            for line in paid
            if line.outcome in (Outcome.PAID, Outcome.OVER_BUDGET)
        )
        assert sum(line.amount_fen for line in paid) == min(budget, payable)
    for line in result.lines:
        assert 0 <= line.amount_fen <= line.claim.value_fen
        if line.claim.provider_kind == VOLUNTEER or line.claim.flag is not FlagState.NONE:
            assert line.amount_fen == 0
        if line.amount_fen:
            assert line.outcome is Outcome.PAID


@settings(max_examples=100, deadline=None)
@given(
    claims=st.lists(visit_claims, max_size=30, unique_by=lambda c: c.visit_id),
    budget=st.integers(0, 100_000),
)
def test_settling_again_with_what_was_paid_changes_nothing(
    claims: list[VisitClaim], budget: int
) -> None:
    budgets = dict.fromkeys(range(1, 5), budget)
    first = settle_visits(claims, OCTOBER, budgets)
    paid = {line.claim.visit_id: line.amount_fen for line in first.lines if line.amount_fen}
    again = settle_visits(claims, OCTOBER, budgets, paid)
    assert outcomes(again) == outcomes(first)
    assert all(line.new_fen == 0 for line in again.lines)


@pytest.mark.parametrize("flag", [FlagState.OPEN, FlagState.UPHELD])
def test_a_flag_holds_the_visit_whatever_the_budget(flag: FlagState) -> None:
    result = settle_visits([claim(1, 2, flag=flag)], OCTOBER, {1: 10**9})
    assert result.total_fen == 0


@settings(max_examples=150, deadline=None)
@given(
    claims=st.lists(visit_claims, max_size=30, unique_by=lambda c: c.visit_id),
    budget=st.integers(0, 100_000),
)
def test_clearing_flags_after_a_statement_pays_only_new_money_within_the_budget(
    claims: list[VisitClaim], budget: int
) -> None:
    budgets = dict.fromkeys(range(1, 5), budget)
    main = settle_visits(claims, OCTOBER, budgets)
    paid = {line.claim.visit_id: line.amount_fen for line in main.lines if line.amount_fen}
    cleared = [
        VisitClaim(**{**c.__dict__, "flag": FlagState.NONE}) if c.flag is FlagState.OPEN else c
        for c in claims
    ]
    later = settle_visits(cleared, OCTOBER, budgets, paid)
    for line in later.lines:
        assert line.new_fen >= 0
        assert line.amount_fen >= paid.get(line.claim.visit_id, 0)  # never less than paid
    for person in range(1, 5):
        assert (
            sum(line.amount_fen for line in later.lines if line.claim.person_id == person) <= budget
        )
    assert later.total_fen == main.total_fen + sum(line.new_fen for line in later.lines)
