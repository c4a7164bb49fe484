"""Who may run a singleton process's work now? The one rule of a lease held in the database.

A lease (one row per name, e.g. "scheduler") is held by one process at a time: its holder (the
host and process id of `careapp.core.liveness.Runner`, plus a random instance id, so that a
restarted process with a recycled pid is never taken for its predecessor), since when, its last
heartbeat and when it expires. Its holder renews it (a heartbeat) well before it expires; the
others wait as standbys and take it once it is free (released) or expired (its holder stopped
renewing it: killed, hung, or cut off from the database).

A lease is never taken from a holder that still renews it, even one whose process on this host
looks gone (unlike `liveness.abandonment`): a process id seen from another pid namespace under
the same host name would look dead while it runs, and two leaders are worse than a minute's wait.

Every instant here comes from ONE clock, the database's (`careapp.services.scheduler_lease`),
so that the clocks of the machines that run the processes may disagree.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from dataclasses import dataclass

from careapp.core.liveness import Runner, this_runner


class LeaseDecision(enum.Enum):
    """What a process does with the lease it has just read."""

    ACQUIRE_FREE = "acquire_free"  # nobody holds it (never held, or released): take it
    ACQUIRE_EXPIRED = "acquire_expired"  # its holder stopped renewing it in time: take it
    RENEW = "renew"  # ours: extend it (a heartbeat)
    STANDBY = "standby"  # another holds it and renews it: wait, run nothing

    @property
    def is_held_after(self) -> bool:
        """Whether this process holds the lease once the decision is carried out."""
        return self is not LeaseDecision.STANDBY


@dataclass(frozen=True)
class LeaseHolder:
    """A process holding (or asking for) a lease: where it runs and its instance id."""

    runner: Runner
    instance: str  # random per process start

    def __str__(self) -> str:
        return f"{self.runner.host}:{self.runner.pid}"


def new_holder(runner: Runner | None = None) -> LeaseHolder:
    """This process (or `runner`) under a fresh random instance id."""
    return LeaseHolder(runner or this_runner(), secrets.token_hex(8))


@dataclass(frozen=True)
class LeaseState:
    """A lease as stored; `holder` is None while it is free (then `heartbeat_at` is the moment
    its last holder released it, if any)."""

    holder: LeaseHolder | None
    acquired_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    expires_at: dt.datetime | None

    def heartbeat_age(self, now: dt.datetime) -> dt.timedelta | None:
        """How long ago its holder last showed it was alive (None: never)."""
        return None if self.heartbeat_at is None else now - self.heartbeat_at

    def is_live(self, now: dt.datetime) -> bool:
        """Whether someone holds it and it has not expired at `now`."""
        return self.holder is not None and self.expires_at is not None and now < self.expires_at


FREE = LeaseState(holder=None, acquired_at=None, heartbeat_at=None, expires_at=None)


def decide_lease(state: LeaseState | None, now: dt.datetime, instance: str) -> LeaseDecision:
    """What process `instance` does with the lease as read (`None`: no row yet) at `now`.

    A lease is expired from its `expires_at` on. Our own lease is renewed even when it has
    expired: as long as it still names us, nobody else has held it in between.
    """
    if state is None or state.holder is None:
        return LeaseDecision.ACQUIRE_FREE
    if state.holder.instance == instance:
        return LeaseDecision.RENEW
    if not state.is_live(now):
        return LeaseDecision.ACQUIRE_EXPIRED
    return LeaseDecision.STANDBY


def lease_after(
    state: LeaseState | None,
    decision: LeaseDecision,
    me: LeaseHolder,
    now: dt.datetime,
    duration: dt.timedelta,
) -> LeaseState | None:
    """The lease once `me` has carried out `decision` at `now` (None: nothing to write)."""
    if decision is LeaseDecision.STANDBY:
        return None
    if decision is LeaseDecision.RENEW and state is not None:
        return LeaseState(me, state.acquired_at, now, now + duration)
    return LeaseState(me, now, now, now + duration)


def released(state: LeaseState | None, me: LeaseHolder, now: dt.datetime) -> LeaseState | None:
    """The lease once `me` has released it at `now` (None: it is not ours to release). A
    released lease is free at once; its `heartbeat_at` says when its holder let it go."""
    if state is None or state.holder is None or state.holder.instance != me.instance:
        return None
    return LeaseState(holder=None, acquired_at=None, heartbeat_at=now, expires_at=now)


def catch_up_from(
    previous: LeaseState | None,
    decision: LeaseDecision,
    *,
    now: dt.datetime,
    local_now: dt.datetime,
    misfire_grace: dt.timedelta,
) -> dt.datetime | None:
    """From when (on this process's clock) a new leader runs the jobs that fell due meanwhile.

    The previous holder ran the jobs due while it showed it was alive; a job due after its last
    heartbeat (it died before, or while, running it; or it had released the lease) is the new
    leader's, unless it is older than the misfire grace (the scheduler would skip it anyway).
    The heartbeat is an instant on the database's clock (`now`): its age is carried over to this
    process's clock (`local_now`), which the scheduler fires jobs by. None: nothing to catch up
    (a renewal, or a lease nobody ever held).
    """
    if decision is LeaseDecision.RENEW or decision is LeaseDecision.STANDBY:
        return None
    if previous is None or previous.heartbeat_at is None:
        return None
    age = max(now - previous.heartbeat_at, dt.timedelta(0))
    return local_now - min(age, misfire_grace)


@dataclass(frozen=True)
class LeaseTiming:
    """How long a lease lasts without a heartbeat, and how often it is renewed (and a standby
    tries to take it). A dead holder's lease is taken within `duration + renew_every`."""

    duration: dt.timedelta
    renew_every: dt.timedelta

    def __post_init__(self) -> None:
        if self.renew_every <= dt.timedelta(0):
            raise ValueError("the lease must be renewed at a positive interval")
        if self.renew_every * 3 > self.duration:
            raise ValueError("the lease must last at least three renewal intervals")

    @property
    def leading_for(self) -> dt.timedelta:
        """How long after the start of its last successful renewal the holder keeps starting
        jobs: one interval short of the expiry, so it has stopped before a standby may take
        over, whatever the database's clock says (it is measured on this process's own)."""
        return self.duration - self.renew_every

    @property
    def takeover_within(self) -> dt.timedelta:
        """The longest a standby waits once the holder is gone without releasing the lease."""
        return self.duration + self.renew_every
