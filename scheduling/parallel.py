"""Solve independent dispatch problems (one provider's day each) side by side in processes.

Providers never share a caregiver, so their days are independent problems: with `workers` > 1
they are solved in a pool of fresh ("spawn") processes, largest first, so that a city's night
fits in its window on a machine with several cores. No database connection, thread or lock of
the calling process crosses into the pool: the problems and results are plain dataclasses.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from scheduling.dispatch import Dispatcher
from scheduling.types import CaregiverDay, DispatchResult, VisitRequest


@dataclass(frozen=True)
class Problem:
    """One provider's day: the visits to place and the caregivers' days."""

    visits: tuple[VisitRequest, ...]
    caregivers: tuple[CaregiverDay, ...]


def solve_all(
    dispatcher: Dispatcher,
    problems: Sequence[Problem],
    speeds_kmh: Mapping[str, float],
    workers: int = 1,
) -> list[DispatchResult]:
    """Each problem's result, in the order of `problems`; in `workers` processes when > 1."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    speeds = dict(speeds_kmh)
    if workers == 1 or len(problems) < 2:
        return [_solve(dispatcher, problem, speeds) for problem in problems]
    largest_first = sorted(range(len(problems)), key=lambda i: -len(problems[i].visits))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(problems)), mp_context=context) as pool:
        futures = {i: pool.submit(_solve, dispatcher, problems[i], speeds) for i in largest_first}
        return [futures[i].result() for i in range(len(problems))]


def _solve(dispatcher: Dispatcher, problem: Problem, speeds: dict[str, float]) -> DispatchResult:
    return dispatcher.solve(problem.visits, problem.caregivers, speeds)
