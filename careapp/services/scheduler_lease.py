"""The scheduler's lease in the database: who runs the scheduled jobs now (careapp.core.lease).

Each scheduler process claims the lease every few seconds: the one holding it renews it (a
heartbeat) and runs the jobs; the others are standbys and run nothing until it is free or
expired. A claim reads the row, lets `decide_lease` decide, and writes the outcome with a
compare-and-set on the row's `version` (or an INSERT ... ON CONFLICT DO NOTHING for the first
row): of two processes that decide at once, one writes and the other finds it lost, on SQLite
(where every transaction holds the write lock anyway) and PostgreSQL alike, across machines.

Time: every instant of a lease is the database's clock (`database_now`), never the app's. A
lease compares an expiry written by one machine with the moment another reads it, and the
machines' clocks may disagree by more than a lease lasts; the database is the one clock they
all see (on SQLite, all processes run on the database's host, so it is that host's clock). The
app's pinned clock (`careapp.core.clock`) stays the time of the domain (days, visits, audit);
service tests pass `now` explicitly, as everywhere. Services never commit: the caller does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Executable, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from careapp.core.lease import (
    LeaseDecision,
    LeaseHolder,
    LeaseState,
    decide_lease,
    lease_after,
    released,
)
from careapp.core.liveness import Runner
from careapp.db import UTCDateTime
from careapp.models.leases import SchedulerLease

SCHEDULER_LEASE = "scheduler"


def database_now(session: Session) -> dt.datetime:
    """The database's clock (UTC, aware): the one clock of every lease."""
    if session.get_bind().dialect.name == "postgresql":
        moment = session.execute(select(func.clock_timestamp(type_=UTCDateTime()))).scalar_one()
        return moment.astimezone(dt.UTC)
    text = session.execute(select(func.strftime("%Y-%m-%d %H:%M:%f", "now"))).scalar_one()
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class LeaseClaim:
    """What a claim found and did: the rule's decision on the row as read (`previous`; None
    when there was no row), and the lease as it stands now (`state`)."""

    decision: LeaseDecision
    previous: LeaseState | None
    state: LeaseState | None
    now: dt.datetime  # the database's, when the claim was made
    me: LeaseHolder

    @property
    def is_held(self) -> bool:
        """Whether `me` holds the lease once the claim is committed."""
        return (
            self.state is not None
            and self.state.holder is not None
            and self.state.holder.instance == self.me.instance
        )


def claim_lease(
    session: Session,
    me: LeaseHolder,
    now: dt.datetime,
    duration: dt.timedelta,
    name: str = SCHEDULER_LEASE,
) -> LeaseClaim:
    """Take the lease if it is free or expired, renew it if it is ours, else stand by.

    One conditional write: the row is written only if nobody wrote it since it was read, so a
    process that lost a race is a standby (its decision stands, `is_held` is False).
    """
    previous, version = _read(session, name)
    decision = decide_lease(previous, now, me.instance)
    wanted = lease_after(previous, decision, me, now, duration)
    if wanted is not None and _write(session, name, wanted, version):
        return LeaseClaim(decision, previous, wanted, now, me)
    current, _version = _read(session, name) if wanted is not None else (previous, version)
    return LeaseClaim(decision, previous, current, now, me)


def release_lease(
    session: Session, me: LeaseHolder, now: dt.datetime, name: str = SCHEDULER_LEASE
) -> bool:
    """Give the lease up (a graceful stop): it is free at once, so a standby takes it at its
    next try. False when it is not ours (any more)."""
    state, version = _read(session, name)
    free = released(state, me, now)
    return free is not None and _write(session, name, free, version)


def holds_lease(
    session: Session, me: LeaseHolder, now: dt.datetime, name: str = SCHEDULER_LEASE
) -> bool:
    """Whether `me` holds a live lease at `now` (a job checks it before it starts)."""
    state, _version = _read(session, name)
    return (
        state is not None
        and state.holder is not None
        and state.holder.instance == me.instance
        and state.is_live(now)
    )


class CurrentHolder(NamedTuple):
    """Who holds the lease (None: nobody, or its holder let it expire) and how long ago the
    row last had a heartbeat (None: never); `state` is the row (None: no scheduler ever ran)."""

    holder: LeaseHolder | None
    heartbeat_age: dt.timedelta | None
    state: LeaseState | None
    now: dt.datetime


def current_holder(
    session: Session, now: dt.datetime | None = None, name: str = SCHEDULER_LEASE
) -> CurrentHolder:
    """Who leads now, for `careapp scheduler status` and readiness checks. `now` defaults to
    the database's clock, which the lease's instants are on (pass one only in tests)."""
    moment = now if now is not None else database_now(session)
    state, _version = _read(session, name)
    if state is None:
        return CurrentHolder(None, None, None, moment)
    holder = state.holder if state.is_live(moment) else None
    return CurrentHolder(holder, state.heartbeat_age(moment), state, moment)


def _read(session: Session, name: str) -> tuple[LeaseState | None, int | None]:
    """The lease as stored and its version (None, None: no row)."""
    lease = SchedulerLease.__table__.c
    row = session.execute(select(SchedulerLease.__table__).where(lease.name == name)).one_or_none()
    if row is None:
        return None, None
    holder = None
    if row.holder_instance is not None:
        holder = LeaseHolder(Runner(row.holder_host, row.holder_pid), row.holder_instance)
    state = LeaseState(holder, row.acquired_at, row.heartbeat_at, row.expires_at)
    return state, row.version


def _write(session: Session, name: str, state: LeaseState, version: int | None) -> bool:
    """Store `state` if the row still has `version` (None: if there is still no row)."""
    holder = state.holder
    values = {
        "holder_host": holder.runner.host if holder else None,
        "holder_pid": holder.runner.pid if holder else None,
        "holder_instance": holder.instance if holder else None,
        "acquired_at": state.acquired_at,
        "heartbeat_at": state.heartbeat_at,
        "expires_at": state.expires_at,
        "version": (version or 0) + 1,
    }
    statement: Executable
    if version is None:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(SchedulerLease)
            .values(name=name, **values)
            .on_conflict_do_nothing(index_elements=["name"])
        )
    else:
        statement = (
            update(SchedulerLease)
            .where(SchedulerLease.name == name, SchedulerLease.version == version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    written: int = session.execute(statement).rowcount  # type: ignore[attr-defined]  # a CursorResult
    return written == 1
