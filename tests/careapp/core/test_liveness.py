"""The one rule for long jobs: alive, or abandoned and why."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from careapp.core.liveness import (
    Abandonment,
    Runner,
    abandonment,
    process_exists,
    this_runner,
)

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
LIMIT = dt.timedelta(minutes=2)
HERE = Runner("web-1", 100)


def _alive(*pids: int):  # type: ignore[no-untyped-def]  # a fake process table
    return lambda pid: pid in pids


@pytest.mark.parametrize(
    ("age", "runner", "alive", "expected"),
    [
        (dt.timedelta(seconds=5), Runner("web-1", 200), (200,), None),
        (LIMIT, Runner("web-1", 200), (200,), None),  # exactly at the limit: still alive
        (LIMIT + dt.timedelta(seconds=1), Runner("web-1", 200), (200,), "heartbeat_stale"),
        (dt.timedelta(seconds=5), Runner("web-1", 200), (), "runner_gone"),
        # another host's process ids mean nothing here: only the heartbeat counts
        (dt.timedelta(seconds=5), Runner("web-2", 200), (), None),
        (LIMIT * 3, Runner("web-2", 200), (200,), "heartbeat_stale"),
        (dt.timedelta(seconds=5), None, (), None),
        # a heartbeat from a clock ahead of ours is fresh, not stale
        (-dt.timedelta(seconds=30), Runner("web-1", 200), (200,), None),
    ],
)
def test_abandonment(
    age: dt.timedelta, runner: Runner | None, alive: tuple[int, ...], expected: str | None
) -> None:
    found = abandonment(
        heartbeat_at=NOW - age,
        runner=runner,
        now=NOW,
        limit=LIMIT,
        here=HERE,
        is_alive=_alive(*alive),
    )
    assert (found.value if found else None) == expected


def test_a_job_without_a_heartbeat_is_abandoned() -> None:
    found = abandonment(heartbeat_at=None, runner=HERE, now=NOW, limit=LIMIT, here=HERE)
    assert found is Abandonment.HEARTBEAT_STALE


def test_process_exists() -> None:
    assert process_exists(os.getpid())
    assert not process_exists(0)
    assert not process_exists(-1)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # reaped: its id is free
    assert not process_exists(ended.pid)


def test_process_exists_under_another_user(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(pid: int, signal: int) -> None:
        raise PermissionError

    monkeypatch.setattr(os, "kill", refused)
    assert process_exists(1)


def test_this_runner_is_this_process() -> None:
    runner = this_runner()
    assert runner.pid == os.getpid()
    assert runner.host
