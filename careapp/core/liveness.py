"""Is a long job still being worked on? The one rule for work that records who runs it.

A job that runs outside the request that asked for it (a print batch) records its runner (the
host and process id) and a heartbeat, the last instant the runner showed it was working. A job
in progress is *abandoned* when its heartbeat is older than the limit (its runner died, on this
host or another, or hangs), or at once when its runner is on this host and that process no
longer exists (killed, `kill -9` included, or its web worker restarted). An abandoned job no
longer holds anything it claimed, and may be restarted.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass


class Abandonment(enum.Enum):
    """Why a job in progress is taken to be abandoned."""

    HEARTBEAT_STALE = "heartbeat_stale"  # no sign of life within the limit
    RUNNER_GONE = "runner_gone"  # its process on this host does not exist any more


@dataclass(frozen=True)
class Runner:
    """Where a job runs: a host name and a process id on that host."""

    host: str
    pid: int


def this_runner() -> Runner:
    """This process, on this host."""
    return Runner(socket.gethostname(), os.getpid())


def process_exists(pid: int) -> bool:
    """Whether process `pid` exists on this host (signal 0 checks without sending anything)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def abandonment(
    *,
    heartbeat_at: dt.datetime | None,
    runner: Runner | None,
    now: dt.datetime,
    limit: dt.timedelta,
    here: Runner,
    is_alive: Callable[[int], bool] = process_exists,
) -> Abandonment | None:
    """Why a job in progress is abandoned, or None while it is alive.

    `here` is the process asking (only its host matters: a process id means something only on
    its own host). A job without a heartbeat is abandoned: nothing will ever refresh it.
    """
    if heartbeat_at is None or now - heartbeat_at > limit:
        return Abandonment.HEARTBEAT_STALE
    if runner is not None and runner.host == here.host and not is_alive(runner.pid):
        return Abandonment.RUNNER_GONE
    return None
