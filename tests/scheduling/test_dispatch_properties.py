"""On random days no dispatcher breaks a hard rule (checked by validate_roster).

validate_roster also proves that every visit is either assigned or listed with an honest
reason, and that the fixed bookings stay exactly where they were.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.dispatch import Dispatcher, GreedyDispatcher
from scheduling.routing import RoutingDispatcher
from scheduling.types import Booking, CaregiverDay, Location, VisitRequest
from scheduling.validation import validate_roster
from tests.scheduling.builders import CITY, DAY, SPEEDS

SKILL_SETS = tuple(
    frozenset(s)
    for s in (
        {"daily_care"},
        {"daily_care", "nursing"},
        {"daily_care", "nursing", "rehabilitation"},
        {"nursing"},
    )
)
NEEDS = tuple(
    frozenset(s) for s in ({"daily_care"}, {"daily_care"}, {"nursing"}, {"rehabilitation"})
)
MIDNIGHT = dt.datetime.combine(DAY, dt.time(0, 0), tzinfo=CITY)

locations = st.builds(
    Location,
    lat=st.floats(32.0, 32.12, allow_nan=False),
    lon=st.floats(120.8, 120.95, allow_nan=False),
)


def minute(value: int) -> dt.datetime:
    return MIDNIGHT + dt.timedelta(minutes=value)


@st.composite
def caregiver_days(draw: st.DrawFn, caregiver_id: int) -> CaregiverDay:
    shift_start = draw(st.integers(6 * 60, 10 * 60))
    shift_end = min(shift_start + draw(st.integers(0, 12 * 60) | st.just(10 * 60)), 24 * 60 - 1)
    existing = []
    for offset in range(draw(st.integers(0, 3))):
        start = draw(st.integers(6 * 60, 20 * 60))
        existing.append(
            Booking(
                visit_id=1000 * caregiver_id + offset,
                start=minute(start),
                end=minute(start + draw(st.integers(15, 120))),
                location=draw(locations),
                district_kind=draw(st.sampled_from(("urban", "rural"))),
                load=draw(st.integers(0, 3)),
            )
        )
    return CaregiverDay(
        caregiver_id=caregiver_id,
        qualifications=draw(st.sampled_from(SKILL_SETS)),
        shift_start=minute(shift_start),
        shift_end=minute(shift_end),
        base=draw(locations),
        max_visits=draw(st.integers(0, 8)),
        existing=tuple(existing),
        is_on_duty=draw(st.sampled_from((True, True, True, False))),
        capacity=draw(st.none() | st.integers(0, 12)),
    )


@st.composite
def visit_requests(draw: st.DrawFn, visit_id: int, caregiver_ids: list[int]) -> VisitRequest:
    window_start = draw(st.integers(7 * 60, 17 * 60)) // 5 * 5
    someone = st.none() | st.sampled_from(caregiver_ids) if caregiver_ids else st.none()
    return VisitRequest(
        visit_id=visit_id,
        window_start=minute(window_start),
        window_end=minute(window_start + draw(st.sampled_from((0, 30, 60, 120, 180)))),
        duration_minutes=draw(st.sampled_from((15, 30, 45, 60, 90, 120))),
        required_qualifications=draw(st.sampled_from(NEEDS)),
        location=draw(locations),
        district_kind=draw(st.sampled_from(("urban", "rural"))),
        preferred_caregiver_id=draw(someone),
        last_caregiver_id=draw(someone),
        load=draw(st.sampled_from((1, 1, 1, 0, 2, 5))),
    )


@st.composite
def dispatch_days(draw: st.DrawFn) -> tuple[list[VisitRequest], list[CaregiverDay]]:
    caregivers = [draw(caregiver_days(i)) for i in range(1, draw(st.integers(1, 5)) + 1)]
    ids = [c.caregiver_id for c in caregivers]
    visits = [draw(visit_requests(i, ids)) for i in range(1, draw(st.integers(1, 14)) + 1)]
    return visits, caregivers


@settings(max_examples=300, deadline=None, database=None)
@given(dispatch_days())
def test_greedy_dispatch_never_breaks_a_hard_rule(
    day: tuple[list[VisitRequest], list[CaregiverDay]],
) -> None:
    visits, caregivers = day
    result = GreedyDispatcher().solve(visits, caregivers, SPEEDS)
    assert validate_roster(visits, caregivers, result, SPEEDS) == ()


@settings(max_examples=150, deadline=None, database=None)
@given(dispatch_days(), st.integers(0, 3))
def test_routing_dispatch_never_breaks_a_hard_rule(
    day: tuple[list[VisitRequest], list[CaregiverDay]], seed: int
) -> None:
    visits, caregivers = day
    result = RoutingDispatcher(None, iterations=60, seed=seed).solve(visits, caregivers, SPEEDS)
    assert validate_roster(visits, caregivers, result, SPEEDS) == ()
    kept = {(b.visit_id, d.caregiver_id, b.start, b.end) for d in caregivers for b in d.existing}
    assert {(a.visit_id, a.caregiver_id, a.start, a.end) for a in result.fixed_stops} == kept


@pytest.mark.parametrize(
    "make",
    [GreedyDispatcher, lambda: RoutingDispatcher(None, iterations=60, seed=7)],
    ids=["greedy", "routing"],
)
@settings(max_examples=30, deadline=None, database=None)
@given(day=dispatch_days())
def test_dispatch_gives_the_same_roster_for_the_same_day(
    make: type[Dispatcher], day: tuple[list[VisitRequest], list[CaregiverDay]]
) -> None:
    visits, caregivers = day
    first = make().solve(visits, caregivers, SPEEDS)
    again = make().solve(list(reversed(visits)), caregivers, SPEEDS)
    assert again == first
