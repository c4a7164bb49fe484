"""Solve independent dispatch problems (one provider's day each) side by side in processes.

Providers never share a caregiver, so their days are independent problems: with `workers` > 1
they are solved in a pool of fresh ("spawn") processes, largest first, so that a city's night
fits in its window on a machine with several cores. No database connection, thread or lock of
the calling process crosses into the pool: the problems and results are plain dataclasses.

Every worker dies with the process that started it, even when that process is killed with
SIGKILL and has no chance to shut its pool down (`die_with_parent`, the pool's initializer):
a solver left behind would keep a core busy for nothing.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from scheduling.dispatch import Dispatcher
from scheduling.types import CaregiverDay, DispatchResult, VisitRequest

# prctl(2) options (linux/prctl.h).
PR_SET_PDEATHSIG = 1
PR_GET_PDEATHSIG = 2
# How often a worker on a system without prctl looks whether its parent is still there.
WATCH_PARENT_SECONDS = 0.5


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
    # The workers are started by `submit`, in this thread, which lives until the pool is shut
    # down: the parent-death signal (sent when the creating thread ends) fires only on death.
    with ProcessPoolExecutor(
        min(workers, len(problems)),
        mp_context=context,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = {i: pool.submit(_solve, dispatcher, problems[i], speeds) for i in largest_first}
        return [futures[i].result() for i in range(len(problems))]


def _solve(dispatcher: Dispatcher, problem: Problem, speeds: dict[str, float]) -> DispatchResult:
    return dispatcher.solve(problem.visits, problem.caregivers, speeds)


def die_with_parent(parent_pid: int) -> None:
    """Make this (worker) process end when `parent_pid`, the process that started it, ends.

    On Linux the kernel sends SIGKILL to the worker when its parent dies (prctl
    PR_SET_PDEATHSIG); elsewhere a daemon thread watches the parent. The parent may have died
    before this ran (the worker was then handed to another parent and no signal will come): the
    worker compares its parent with the one that started it and, if they differ, ends at once.
    """
    if sys.platform == "linux":
        set_parent_death_signal(signal.SIGKILL)
    else:  # pragma: no cover - macOS, Windows: the watchdog, tested on its own
        threading.Thread(
            target=watch_parent, args=(parent_pid, _end_now), name="watch-parent", daemon=True
        ).start()
    if os.getppid() != parent_pid:
        _end_now()


def set_parent_death_signal(signum: int) -> None:
    """Linux: the signal this process receives when its parent ends (0: none)."""
    _prctl(PR_SET_PDEATHSIG, signum)


def parent_death_signal() -> int:
    """Linux: the signal this process receives when its parent ends (0: none)."""
    value = ctypes.c_int(0)
    _prctl(PR_GET_PDEATHSIG, ctypes.addressof(value))
    return value.value


def _prctl(option: int, argument: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)  # the C library this interpreter runs on
    if libc.prctl(option, ctypes.c_ulong(argument), 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def watch_parent(
    parent_pid: int,
    end: Callable[[], None],
    interval: float = WATCH_PARENT_SECONDS,
    getppid: Callable[[], int] = os.getppid,
) -> None:
    """Wait while `parent_pid` is this process's parent, then call `end` (systems without
    prctl: an orphan is adopted by another process, so its parent id changes)."""
    while getppid() == parent_pid:
        time.sleep(interval)
    end()


def _end_now() -> None:  # pragma: no cover - ends the process (tests/scheduling/test_parallel.py)
    os._exit(1)
