"""Pure rules of visit verification: the state machine and the check-in flags."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import pytest

from scheduling.visits import (
    MISSABLE_STATES,
    InvalidTransitionError,
    VisitAction,
    VisitState,
    can_transition,
    check_in_flags,
    check_in_problems,
    distance_m,
    done_item_problems,
    is_missed,
    next_state_for,
    position_problems,
)

S = VisitState
ALLOWED = {
    (S.ASSIGNED, S.CHECKED_IN),
    (S.CONFIRMED, S.CHECKED_IN),
    (S.CHECKED_IN, S.COMPLETED),
    (S.UNASSIGNED, S.MISSED),
    (S.ASSIGNED, S.MISSED),
    (S.CONFIRMED, S.MISSED),
}

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


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        (S.ASSIGNED, VisitAction.CHECK_IN, S.CHECKED_IN),
        (S.CONFIRMED, VisitAction.CHECK_IN, S.CHECKED_IN),
        (S.CHECKED_IN, VisitAction.CHECK_OUT, S.COMPLETED),
    ],
)
def test_next_state_for_follows_allowed_actions(
    current: S, action: VisitAction, expected: S
) -> None:
    assert next_state_for(current, action) is expected


@pytest.mark.parametrize(
    ("current", "action"),
    [
        (S.UNASSIGNED, VisitAction.CHECK_IN),
        (S.CHECKED_IN, VisitAction.CHECK_IN),
        (S.COMPLETED, VisitAction.CHECK_IN),
        (S.MISSED, VisitAction.CHECK_IN),
        (S.CANCELLED, VisitAction.CHECK_IN),
        (S.ASSIGNED, VisitAction.CHECK_OUT),
        (S.CONFIRMED, VisitAction.CHECK_OUT),
        (S.COMPLETED, VisitAction.CHECK_OUT),
        (S.MISSED, VisitAction.CHECK_OUT),
    ],
)
def test_next_state_for_refuses_other_actions(current: S, action: VisitAction) -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        next_state_for(current, action)
    assert caught.value.current is current
    assert caught.value.action is action
    assert current.value in str(caught.value)


def test_distance_m_matches_the_length_of_a_degree_of_latitude() -> None:
    assert distance_m(HOME, HOME) == 0
    assert distance_m((32.0, 120.86), (33.0, 120.86)) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(HOME, NEAR) == pytest.approx(444.8, rel=1e-2)


@pytest.mark.parametrize(
    ("checked_in_at", "home", "position", "expected"),
    [
        (START + dt.timedelta(minutes=5), HOME, HOME, ()),
        (START + dt.timedelta(minutes=5), HOME, NEAR, ()),
        (START + dt.timedelta(minutes=5), HOME, FAR, ("far_from_home",)),
        (START - dt.timedelta(minutes=30), HOME, HOME, ()),
        (START - dt.timedelta(minutes=31), HOME, HOME, ("outside_window",)),
        (END + dt.timedelta(minutes=30), HOME, HOME, ()),
        (END + dt.timedelta(minutes=31), HOME, HOME, ("outside_window",)),
        (START, HOME, None, ("no_location",)),
        (START, None, FAR, ()),  # no coordinates of the home: nothing to compare
        (END + dt.timedelta(hours=2), HOME, FAR, ("outside_window", "far_from_home")),
        (END + dt.timedelta(hours=2), HOME, None, ("outside_window", "no_location")),
    ],
)
def test_check_in_flags(
    checked_in_at: dt.datetime,
    home: tuple[float, float] | None,
    position: tuple[float, float] | None,
    expected: tuple[str, ...],
) -> None:
    assert check_in_flags(START, END, checked_in_at, home, position) == expected


def test_check_in_flags_thresholds_are_configurable() -> None:
    late = END + dt.timedelta(minutes=45)
    assert check_in_flags(START, END, late, HOME, FAR) == ("outside_window", "far_from_home")
    relaxed = check_in_flags(
        START, END, late, HOME, FAR, max_distance_m=1000, max_outside_minutes=60
    )
    assert relaxed == ()


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (None, ()),
        (HOME, ()),
        ((-90.0, 180.0), ()),
        ((90.5, 120.0), ("invalid_position",)),
        ((32.0, -180.5), ("invalid_position",)),
        ((math.nan, 120.0), ("invalid_position",)),
        ((32.0, math.inf), ("invalid_position",)),
    ],
)
def test_position_problems(position: tuple[float, float] | None, expected: tuple[str, ...]) -> None:
    assert position_problems(position) == expected


@pytest.mark.parametrize(
    ("position", "reason", "expected"),
    [
        (HOME, None, ()),
        (HOME, "", ()),
        (None, "GPS off in the lift", ()),
        (None, "  电梯里  ", ("reason_required",)),  # 3 characters once stripped
        (None, "地下室无信号", ()),
        (None, None, ("reason_required",)),
        (None, "   ", ("reason_required",)),
        ((95.0, 120.0), None, ("invalid_position",)),
    ],
)
def test_check_in_problems_need_a_location_or_a_reason(
    position: tuple[float, float] | None, reason: str | None, expected: tuple[str, ...]
) -> None:
    assert check_in_problems(position, reason) == expected


@pytest.mark.parametrize(
    ("done", "expected"),
    [
        (["bathing"], ()),
        (["bathing", "oral_care", "bathing"], ()),
        ([], ("nothing_done",)),
        (["bathing", "feeding"], ("unknown_items",)),
    ],
)
def test_done_item_problems(done: list[str], expected: tuple[str, ...]) -> None:
    assert done_item_problems(["bathing", "oral_care"], done) == expected


@pytest.mark.parametrize(
    ("current", "minutes_after_window", "expected"),
    [
        (S.ASSIGNED, 60, True),
        (S.CONFIRMED, 61, True),
        (S.UNASSIGNED, 120, True),
        (S.ASSIGNED, 59, False),
        (S.ASSIGNED, -30, False),
        (S.CHECKED_IN, 120, False),
        (S.COMPLETED, 120, False),
        (S.MISSED, 120, False),
        (S.CANCELLED, 120, False),
    ],
)
def test_is_missed_after_the_window_and_the_grace_period(
    current: S, minutes_after_window: int, expected: bool
) -> None:
    now = END + dt.timedelta(minutes=minutes_after_window)
    assert is_missed(current, END, now, grace_minutes=60) is expected


def test_is_missed_refuses_a_negative_grace_period() -> None:
    with pytest.raises(ValueError, match="grace"):
        is_missed(S.ASSIGNED, END, END, grace_minutes=-1)


def test_missable_states_are_those_waiting_for_a_check_in() -> None:
    assert {S.UNASSIGNED, S.ASSIGNED, S.CONFIRMED} == MISSABLE_STATES
