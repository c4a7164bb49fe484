"""A parent process for tests/scheduling/test_parallel.py: solves slow problems in a pool.

Run as `python -c "from tests.scheduling.slow_pool import main; main()" MARKERS WORKERS [plain]`:
each worker writes MARKERS/<its pid> when its task starts, then sleeps; `plain` starts the same
pool without `die_with_parent`, to show what the initializer changes.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from scheduling.parallel import Problem, solve_all
from scheduling.types import CaregiverDay, DispatchResult, VisitRequest


class SlowDispatcher:
    """A dispatcher whose every solve outlasts the test."""

    def __init__(self, markers: Path) -> None:
        self.markers = markers

    def solve(
        self,
        visits: Sequence[VisitRequest],
        caregivers: Sequence[CaregiverDay],
        speeds_kmh: Mapping[str, float],
    ) -> DispatchResult:
        (self.markers / str(multiprocessing.current_process().pid)).touch()
        time.sleep(60)
        raise AssertionError("the worker outlived its test")


def is_alive(pid: int) -> bool:
    """Whether process `pid` runs (from /proc; a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status waits to be read


def _solve(dispatcher: SlowDispatcher) -> None:
    dispatcher.solve((), (), {})


def main() -> None:
    markers, workers = Path(sys.argv[1]), int(sys.argv[2])
    dispatcher = SlowDispatcher(markers)
    if sys.argv[3:] == ["plain"]:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            for future in [pool.submit(_solve, dispatcher) for _ in range(workers)]:
                future.result()
        return
    solve_all(dispatcher, [Problem((), ())] * workers, {}, workers)
