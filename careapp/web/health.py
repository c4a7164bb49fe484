"""Readiness: the checks behind `GET /readyz`, one per part the app needs to serve.

Each check is a function `check(app, timeout)` registered under a short name
(`register_check`); it returns when its part answers within `timeout` seconds and raises
otherwise: `CheckFailed("reason")` with a short reason safe to show anyone, or any other
exception (then the reason shown is "failed" and the exception is logged, never shown: an error
text can carry a host, a user name or a path). `/readyz` answers 503 when any check fails.

Registered here: `database` (a `SELECT 1` on a connection of its own, bounded by the timeout)
and, unless READINESS_SCHEDULER is off, `scheduler` (`check_scheduler_heartbeat`: the leader's
lease row, refreshed by `careapp scheduler run`, read on the same kind of connection): it fails
with `CheckFailed("no leader")` when nobody holds the lease and `CheckFailed("stale")` when the
holder's last heartbeat is older than SCHEDULER_LEASE_SECONDS. Another part plugs in the same
way when it exists, from where it is set up: the job queue,
`register_check(app, "queue", check_queue)` where the queue is initialised.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from careapp.services.scheduler_lease import current_holder

logger = logging.getLogger(__name__)

Check = Callable[[Flask, float], None]
CHECKS_KEY = "careapp.readiness_checks"
PROBE_ENGINE_KEY = "careapp.probe_engine"
OK = "ok"


class CheckFailed(Exception):  # noqa: N818 - reads as what happened: raise CheckFailed("stale")
    """A part did not answer as it should; `reason` is short and safe to show anyone."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def register_check(app: Flask, name: str, check: Check) -> None:
    """Add (or replace) the readiness check `name` of this app."""
    app.extensions.setdefault(CHECKS_KEY, {})[name] = check


def registered_checks(app: Flask) -> dict[str, Check]:
    checks: dict[str, Check] = app.extensions.get(CHECKS_KEY, {})
    return dict(checks)


def run_checks(app: Flask) -> tuple[bool, dict[str, str]]:
    """Run every check in turn: (all passed, name -> "ok" or the reason it failed)."""
    timeout = float(app.config["READINESS_TIMEOUT_SECONDS"])
    results: dict[str, str] = {}
    for name, check in registered_checks(app).items():
        try:
            check(app, timeout)
        except CheckFailed as failure:  # the cause, for the operator: in the log only
            logger.warning(
                "readiness check %s failed: %s", name, failure.__cause__ or failure.reason
            )
            results[name] = failure.reason
        except Exception:  # an unforeseen error: logged with its traceback, shown as "failed"
            logger.warning("readiness check %s failed", name, exc_info=True)
            results[name] = "failed"
        else:
            results[name] = OK
    return all(result == OK for result in results.values()), results


def check_database(app: Flask, timeout: float) -> None:
    """The database answers a trivial query on a new connection within `timeout`.

    The probe has an engine of its own without a pool (`probe_engine`): it never waits for a
    connection of the app's pool, nor, on SQLite, for the write lock the app's transactions
    take (careapp.db begins them all IMMEDIATE); a plain read is never blocked by a writer in
    WAL mode, and the busy timeout is `timeout`.
    """
    engine = app.extensions[PROBE_ENGINE_KEY]
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection.execute(text("SELECT count(*) FROM sqlite_master"))
            else:
                connection.execute(text("SELECT 1"))
    except Exception as error:  # whatever the driver raises: the database is not there
        raise CheckFailed("unreachable") from error


def check_scheduler_heartbeat(app: Flask, timeout: float) -> None:
    """A scheduler process holds the lease and renewed it within SCHEDULER_LEASE_SECONDS.

    Read on the probe's engine (`check_database`: a new connection bounded by `timeout`, never
    behind the write lock), on the database's clock as the lease itself. "no leader": no
    scheduler ever ran, or the last one released the lease (a graceful stop) and none took it;
    "stale": the holder's heartbeat is too old (it died or hangs without releasing it).
    """
    engine = app.extensions[PROBE_ENGINE_KEY]
    max_age = float(app.config["SCHEDULER_LEASE_SECONDS"])
    try:
        with Session(engine) as session:
            found = current_holder(session)
    except Exception as error:  # whatever the driver raises: the database is not there
        raise CheckFailed("unreachable") from error
    if found.state is None or found.state.holder is None:
        raise CheckFailed("no leader")
    age = found.heartbeat_age
    if age is None or age.total_seconds() > max_age:
        raise CheckFailed("stale")
    if found.holder is None:  # expired early (a shorter lease than this app's setting)
        raise CheckFailed("no leader")


def probe_engine(url: str, timeout: float) -> Engine:
    """An engine for the readiness probe: a new connection each time, bounded by `timeout`.
    On SQLite the file must exist already (opened read-write, never created)."""
    parsed = make_url(url)
    connect_args: dict[str, Any]
    if parsed.get_backend_name() == "sqlite":
        connect_args = {"timeout": timeout}
        path = parsed.database
        if path and path != ":memory:" and not path.startswith("file:"):
            parsed = parsed.set(database=f"file:{path}", query={"mode": "rw", "uri": "true"})
    else:
        # libpq's connect_timeout: whole seconds, at least 2 (it treats 1 as 2).
        connect_args = {"connect_timeout": max(2, math.ceil(timeout))}
    return create_engine(parsed, poolclass=NullPool, connect_args=connect_args)


def init_health(app: Flask) -> None:
    """The probe's engine and the checks every installation has: the database, and the
    scheduler's heartbeat unless READINESS_SCHEDULER is off (where no scheduler runs)."""
    app.extensions[PROBE_ENGINE_KEY] = probe_engine(
        app.config["DATABASE_URL"], float(app.config["READINESS_TIMEOUT_SECONDS"])
    )
    register_check(app, "database", check_database)
    if app.config.get("READINESS_SCHEDULER", True):
        register_check(app, "scheduler", check_scheduler_heartbeat)
