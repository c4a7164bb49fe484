"""Pure rules of visit verification: the state machine and the check-in flags."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduling.visits import (
    ALLOWED_TRANSITIONS,
    MISSABLE_STATES,
    RESCHEDULED_VISIT_STATES,
    TRANSITIONS,
    InvalidTransitionError,
    VisitAction,
    VisitStatus,
    allowed_actions,
    can_transition,
    cancel_problems,
    is_missed,
    manual_entry_problems,
    next_state_for,
    reschedule_problems,
)

S = VisitStatus
A = VisitAction
# The whole state machine, written out by hand: (state, action) -> the state reached.
EXPECTED = {
    (S.ASSIGNED, A.CHECK_IN): S.CHECKED_IN,
    (S.CONFIRMED, A.CHECK_IN): S.CHECKED_IN,
    (S.CHECKED_IN, A.CHECK_OUT): S.COMPLETED,
    (S.UNASSIGNED, A.MARK_MISSED): S.MISSED,
    (S.ASSIGNED, A.MARK_MISSED): S.MISSED,
    (S.CONFIRMED, A.MARK_MISSED): S.MISSED,
    (S.ASSIGNED, A.MANUAL_ENTRY): S.COMPLETED,
    (S.CONFIRMED, A.MANUAL_ENTRY): S.COMPLETED,
    (S.MISSED, A.MANUAL_ENTRY): S.COMPLETED,
    (S.UNASSIGNED, A.CANCEL): S.CANCELLED,
    (S.ASSIGNED, A.CANCEL): S.CANCELLED,
    (S.CONFIRMED, A.CANCEL): S.CANCELLED,
    (S.MISSED, A.RESCHEDULE): S.MISSED,  # the missed visit stays; a new visit is made
}
ALLOWED = {(state, target) for (state, _), target in EXPECTED.items() if state is not target}

UTC = dt.UTC
START = dt.datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in the city
END = dt.datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 11:00 in the city
HOME = (32.0, 120.86)
# 0.001° of latitude is about 111 m.
NEAR = (32.004, 120.86)  # about 445 m
FAR = (32.005, 120.86)  # about 556 m


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_can_transition_allows_only_the_caregiver_path(current: S, target: S) -> None:
    assert can_transition(current, target) is ((current, target) in ALLOWED)


@pytest.mark.parametrize(("current", "action"), list(itertools.product(S, A)))
def test_next_state_for_every_state_and_action(current: S, action: VisitAction) -> None:
    """Every (state, action) pair: the allowed ones reach their state, the rest are refused."""
    expected = EXPECTED.get((current, action))
    if expected is not None:
        assert next_state_for(current, action) is expected
        assert action in allowed_actions(current)
        return
    with pytest.raises(InvalidTransitionError) as caught:
        next_state_for(current, action)
    assert caught.value.current is current
    assert caught.value.action is action
    assert current.value in str(caught.value)
    assert action not in allowed_actions(current)


def test_transition_table_is_the_declared_one() -> None:
    assert dict(TRANSITIONS) == EXPECTED
    assert frozenset(ALLOWED) == ALLOWED_TRANSITIONS


def test_finished_visits_allow_nothing() -> None:
    for state in (S.COMPLETED, S.CANCELLED, S.CHECKED_IN):
        assert not (allowed_actions(state) - {A.CHECK_OUT})
    assert allowed_actions(S.COMPLETED) == frozenset()
    assert allowed_actions(S.CANCELLED) == frozenset()


def test_a_reschedule_starts_assigned_or_unassigned() -> None:
    assert {S.ASSIGNED, S.UNASSIGNED} == RESCHEDULED_VISIT_STATES


def test_is_missed_refuses_a_negative_grace_period() -> None:
    with pytest.raises(ValueError, match="grace"):
        is_missed(S.ASSIGNED, END, END, grace_minutes=-1)


def test_missable_states_are_those_waiting_for_a_check_in() -> None:
    assert {S.UNASSIGNED, S.ASSIGNED, S.CONFIRMED} == MISSABLE_STATES


# --- the manager's hand: manual entry, reschedule, cancel -----------------------------------

CITY = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2026, 11, 23)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CITY)


NEXT_DAY = DAY + dt.timedelta(days=1)
LATER = at(NEXT_DAY + dt.timedelta(days=1), 12)


@pytest.mark.parametrize(
    ("check_in", "check_out", "now", "reason", "expected"),
    [
        (at(DAY, 9), at(DAY, 10), LATER, "phone broken", ()),
        (at(DAY, 23), at(NEXT_DAY, 1), LATER, "phone broken", ()),  # crosses midnight
        (at(DAY, 10), at(DAY, 10), LATER, "phone broken", ("check_out_not_after_check_in",)),
        (at(DAY, 10), at(DAY, 9), LATER, "phone broken", ("check_out_not_after_check_in",)),
        (at(NEXT_DAY, 9), at(NEXT_DAY, 10), LATER, "phone broken", ("not_on_visit_day",)),
        (at(DAY, 9), at(NEXT_DAY + dt.timedelta(days=1), 1), LATER, "lost", ("not_on_visit_day",)),
        (at(DAY, 9), at(DAY, 11), at(DAY, 10), "phone broken", ("in_the_future",)),
        (at(DAY, 9), at(DAY, 10), LATER, "  no ", ("reason_required",)),
        (at(DAY, 9), at(DAY, 10), LATER, None, ("reason_required",)),
    ],
)
def test_manual_entry_problems(
    check_in: dt.datetime,
    check_out: dt.datetime,
    now: dt.datetime,
    reason: str | None,
    expected: tuple[str, ...],
) -> None:
    assert manual_entry_problems(DAY, check_in, check_out, now, reason) == expected


def test_manual_entry_problems_checks_out_exactly_now() -> None:
    assert manual_entry_problems(DAY, at(DAY, 9), at(DAY, 10), at(DAY, 10), "phone") == ()


T = dt.time


@pytest.mark.parametrize(
    ("day", "until", "start", "end", "expected"),
    [
        (DAY, None, T(9), T(11), ()),
        (DAY - dt.timedelta(days=1), None, T(9), T(11), ("in_the_past",)),
        (NEXT_DAY, DAY, T(9), T(11), ("outside_entitlement",)),
        (DAY, DAY, T(9), T(11), ()),
        (DAY, None, T(6), T(11), ("window_outside_hours",)),
        (DAY, None, T(19), T(21), ("window_outside_hours",)),
        (DAY, None, T(9), T(9, 30), ("window_too_short",)),
        (DAY, None, T(11), T(9), ("window_too_short",)),
    ],
)
def test_reschedule_problems(
    day: dt.date, until: dt.date | None, start: dt.time, end: dt.time, expected: tuple[str, ...]
) -> None:
    week_ago = DAY - dt.timedelta(days=7)
    problems = reschedule_problems(day, DAY, week_ago, until, start, end, 60, T(7), T(20))
    assert problems == expected


def test_reschedule_problems_before_the_cover_starts() -> None:
    assert reschedule_problems(DAY, DAY, NEXT_DAY, None, T(9), T(11), 60, T(7), T(20)) == (
        "outside_entitlement",
    )


@pytest.mark.parametrize(
    ("visit_on", "reason", "expected"),
    [
        (DAY, "family away", ()),
        (NEXT_DAY, "family away", ()),
        (DAY - dt.timedelta(days=1), "family away", ("in_the_past",)),
        (DAY, "住院", ()),
        (DAY, " 住 ", ("reason_required",)),
        (DAY, "", ("reason_required",)),
        (DAY, None, ("reason_required",)),
    ],
)
def test_cancel_problems(visit_on: dt.date, reason: str | None, expected: tuple[str, ...]) -> None:
    assert cancel_problems(visit_on, DAY, reason) == expected


@given(
    start_minute=st.integers(0, 24 * 60 - 1),
    length=st.integers(-120, 36 * 60),
    now_offset=st.integers(-48 * 60, 72 * 60),
)
def test_accepted_manual_entries_are_real_past_visits(
    start_minute: int, length: int, now_offset: int
) -> None:
    """Whatever the times: an accepted entry starts on the visit's day, ends after it starts and
    at the latest the next day, and lies in the past."""
    midnight = at(DAY, 0)
    check_in = midnight + dt.timedelta(minutes=start_minute)
    check_out = check_in + dt.timedelta(minutes=length)
    now = midnight + dt.timedelta(minutes=now_offset)
    if manual_entry_problems(DAY, check_in, check_out, now, "phone lost") == ():
        assert check_in.date() == DAY
        assert check_in < check_out <= now
        assert check_out.date() <= NEXT_DAY
