"""Providers' days solved side by side in processes give what solving them in turn gives."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduling import parallel
from scheduling.dispatch import GreedyDispatcher
from scheduling.parallel import (
    Problem,
    die_with_parent,
    parent_death_signal,
    set_parent_death_signal,
    solve_all,
    watch_parent,
)
from scheduling.routing import RoutingDispatcher
from tests.scheduling.builders import SPEEDS, caregiver, km_north, visit
from tests.scheduling.slow_pool import is_alive


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


# --- workers die with their parent -----------------------------------------------------------

POOL_WORKERS = 3


def _children(pid: int) -> set[int]:
    """Live processes whose parent is `pid` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended while we looked
            continue
        fields = text.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _kill_parent_of_busy_pool(tmp_path: Path, *mode: str) -> tuple[set[int], set[int]]:
    """Start a parent whose pool's workers are all busy, SIGKILL it; return the workers' pids
    and those of all its children (the workers and multiprocessing's resource tracker)."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tests.scheduling.slow_pool import main; main()",
            str(tmp_path),
            str(POOL_WORKERS),
            *mode,
        ],
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + 30
        while len(list(tmp_path.iterdir())) < POOL_WORKERS:
            assert parent.poll() is None, "the parent ended early"
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.05)
        workers = {int(marker.name) for marker in tmp_path.iterdir()}
        children = _children(parent.pid)
        assert workers <= children
        os.kill(parent.pid, signal.SIGKILL)
    finally:
        parent.kill()
        parent.wait()
    return workers, children


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_pool_workers_die_when_their_parent_is_killed(tmp_path: Path) -> None:
    _workers, children = _kill_parent_of_busy_pool(tmp_path)
    deadline = time.monotonic() + 5
    while any(is_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in children if is_alive(pid)]  # the resource tracker too


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_without_die_with_parent_the_workers_outlive_their_parent(tmp_path: Path) -> None:
    """The control: a plain pool's busy workers are still there after their parent died."""
    workers, _ = _kill_parent_of_busy_pool(tmp_path, "plain")
    try:
        time.sleep(1)
        assert all(is_alive(pid) for pid in workers)
    finally:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(sys.platform != "linux", reason="prctl is Linux's")
def test_die_with_parent_asks_the_kernel_for_sigkill() -> None:
    assert parent_death_signal() == 0
    try:
        die_with_parent(os.getppid())
        assert parent_death_signal() == signal.SIGKILL
    finally:
        set_parent_death_signal(0)
    assert parent_death_signal() == 0


def test_die_with_parent_ends_a_worker_whose_parent_is_already_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ended: list[bool] = []
    monkeypatch.setattr(parallel, "_end_now", lambda: ended.append(True))
    monkeypatch.setattr(parallel, "set_parent_death_signal", lambda signum: None)
    monkeypatch.setattr(parallel.sys, "platform", "linux")
    die_with_parent(os.getppid() + 100_000)  # adopted by another process: not the starter
    assert ended == [True]
    die_with_parent(os.getppid())
    assert ended == [True]


def test_watch_parent_ends_the_worker_once_the_parent_changes() -> None:
    parents = iter([41, 41, 41, 1])
    ended: list[bool] = []
    watch_parent(41, lambda: ended.append(True), interval=0, getppid=lambda: next(parents))
    assert ended == [True]
    assert next(parents, None) is None  # asked until the parent changed, not longer


@pytest.mark.skipif(sys.platform != "linux", reason="prctl is Linux's")
def test_prctl_errors_are_raised() -> None:
    with pytest.raises(OSError, match="Invalid argument"):
        set_parent_death_signal(10_000)  # no such signal
