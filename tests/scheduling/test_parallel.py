"""Providers' days solved side by side in processes give what solving them in turn gives."""

from __future__ import annotations

import pytest

from scheduling.dispatch import GreedyDispatcher
from scheduling.parallel import Problem, solve_all
from scheduling.routing import RoutingDispatcher
from tests.scheduling.builders import SPEEDS, caregiver, km_north, visit


def problems() -> list[Problem]:
    small = Problem((visit(1),), (caregiver(10),))
    large = Problem(
        tuple(visit(100 + i, where=km_north(i)) for i in range(6)),
        (caregiver(20), caregiver(21, base=km_north(5))),
    )
    nobody = Problem((visit(200, needs=frozenset({"rehabilitation"})),), (caregiver(30),))
    return [small, large, nobody]


@pytest.mark.parametrize(
    "dispatcher",
    [GreedyDispatcher(), RoutingDispatcher(None, iterations=200, seed=3)],
    ids=["greedy", "routing"],
)
def test_solve_all_in_processes_equals_solving_in_turn(dispatcher) -> None:  # type: ignore[no-untyped-def]
    in_turn = solve_all(dispatcher, problems(), SPEEDS, workers=1)
    side_by_side = solve_all(dispatcher, problems(), SPEEDS, workers=2)

    assert side_by_side == in_turn  # same order as the problems, largest solved first
    assert [len(result.assignments) for result in in_turn] == [
        1,
        4,
        0,
    ]  # two caregivers, 9–11 windows: two visits each
    assert in_turn[2].unassigned[0].reason_code == "no_qualified_caregiver"


def test_solve_all_of_nothing_and_one_problem_needs_no_pool() -> None:
    assert solve_all(GreedyDispatcher(), [], SPEEDS, workers=4) == []
    [result] = solve_all(GreedyDispatcher(), problems()[:1], SPEEDS, workers=4)
    assert result.assignments[0].caregiver_id == 10


def test_solve_all_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        solve_all(GreedyDispatcher(), problems(), SPEEDS, workers=0)
