"""The scheduler process's lease: run the jobs only while holding it (careapp.core.lease).

Any number of `careapp scheduler run` processes may run, on one machine or several (a city runs
two for availability); exactly one, the leader, holds the lease in the database and runs the
jobs. Each process claims the lease every `SCHEDULER_RENEW_SECONDS`: the leader renews it, the
others are standbys whose scheduler stays paused. A leader that stops gracefully (SIGTERM,
SIGINT) lets the running job finish, then releases the lease, and a standby takes it at its
next try; one killed or cut off from the database stops renewing, and a standby takes the
lease once it has expired (`SCHEDULER_LEASE_SECONDS`), within lease + renew seconds.

A leader that cannot renew pauses its jobs one renew interval before its lease could expire,
timed on its own monotonic clock from the start of its last successful renewal (which the
database dated no earlier), so it has stopped starting jobs before a standby may take over; a
leader that finds the lease taken pauses at once. A job already running finishes (jobs are
idempotent and take their own locks), and every job checks the lease as it starts (`fence`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.base import STATE_RUNNING, BaseScheduler
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from careapp.core.clock import utcnow
from careapp.core.lease import LeaseDecision, LeaseHolder, LeaseTiming, catch_up_from, new_holder
from careapp.jobs.scheduled import JOB_DEFAULTS, build_scheduler
from careapp.services.scheduler_lease import (
    LeaseClaim,
    claim_lease,
    database_now,
    holds_lease,
    release_lease,
)

logger = logging.getLogger(__name__)


def lease_timing(config: dict[str, Any]) -> LeaseTiming:
    """The lease's duration and renewal interval of the app's configuration."""
    return LeaseTiming(
        duration=dt.timedelta(seconds=float(config["SCHEDULER_LEASE_SECONDS"])),
        renew_every=dt.timedelta(seconds=float(config["SCHEDULER_RENEW_SECONDS"])),
    )


class SchedulerLeader:
    """Keeps (or waits for) the lease of one scheduler process and pauses or resumes its jobs.

    Its scheduler (default: `build_scheduler`, every job fenced by `fence`) starts paused
    (`start`); only `step`, in the main thread, resumes it.
    """

    def __init__(
        self,
        app: Flask,
        timing: LeaseTiming,
        holder: LeaseHolder | None = None,
        *,
        scheduler: BaseScheduler | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.scheduler = scheduler or build_scheduler(app, fence=self.fence)
        self.timing = timing
        self.holder = holder or new_holder()
        self._monotonic = monotonic
        self._leading = False
        self._leading_until = 0.0  # monotonic seconds
        self._stopping = False
        self._seen: str | None = None  # the instance last logged as the leader, as a standby

    def start(self) -> None:
        """Start the scheduler paused: it runs nothing until this process holds the lease."""
        self.scheduler.start(paused=True)

    @property
    def is_leading(self) -> bool:
        """Whether this process may start a job now (no database round trip)."""
        return self._leading and not self._stopping and self._monotonic() < self._leading_until

    def fence(self) -> bool:
        """Checked by every job as it starts: this process leads, and the database agrees."""
        if not self.is_leading:
            return False
        try:
            with self._session() as session:
                return holds_lease(session, self.holder, database_now(session))
        except SQLAlchemyError as error:
            logger.warning("could not check the scheduler lease: %s", _brief(error))
            return False

    def step(self) -> None:
        """One claim of the lease, then pause or resume the jobs to match."""
        started = self._monotonic()
        try:
            with self._session() as session:
                claim = claim_lease(
                    session, self.holder, database_now(session), self.timing.duration
                )
                session.commit()
        except SQLAlchemyError as error:
            logger.warning("could not claim the scheduler lease: %s", _brief(error))
            if self._leading and self._monotonic() >= self._leading_until:
                self._pause("could not renew the lease in time")
            return
        if claim.is_held:
            self._leading_until = started + self.timing.leading_for.total_seconds()
            if not self._leading and not self._stopping:
                self._lead(claim)
        else:
            if self._leading:
                self._pause(f"the lease was taken by {_holder_text(claim)}")
            self._log_standby(claim)

    def run(self, stop: threading.Event) -> None:
        """Claim every renew interval until `stop` is set; then let the running jobs finish
        (still renewing the lease, so no standby starts a second copy) and release it."""
        every = self.timing.renew_every.total_seconds()
        while not stop.is_set():
            self.step()
            stop.wait(every)
        self._stopping = True
        if self.scheduler.state == STATE_RUNNING:
            self.scheduler.pause()
        draining = threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True})
        draining.start()
        while True:
            draining.join(every)
            if not draining.is_alive():
                break
            if self._leading:
                self.step()
        self.release()

    def release(self) -> None:
        """Give the lease up if this process holds it (a standby takes it at once)."""
        was_leading, self._leading = self._leading, False
        try:
            with self._session() as session:
                let_go = release_lease(session, self.holder, database_now(session))
                session.commit()
        except SQLAlchemyError as error:
            logger.warning(
                "could not release the scheduler lease (it expires by itself): %s", _brief(error)
            )
            return
        if let_go or was_leading:
            logger.info("scheduler %s released the lease", self.holder)

    def _lead(self, claim: LeaseClaim) -> None:
        since = catch_up_from(
            claim.previous,
            claim.decision,
            now=claim.now,
            local_now=utcnow(),
            misfire_grace=dt.timedelta(seconds=JOB_DEFAULTS["misfire_grace_time"]),
        )
        if since is not None:
            # The jobs fell due after the previous leader's last heartbeat are this leader's.
            for job in self.scheduler.get_jobs():
                due = job.trigger.get_next_fire_time(None, since)
                if due is not None:
                    job.modify(next_run_time=due)
        self._leading = True
        self.scheduler.resume()
        logger.info(
            "leader: scheduler %s holds the lease (%s); jobs running", self.holder, _why(claim)
        )
        self._seen = None

    def _pause(self, reason: str) -> None:
        self._leading = False
        if self.scheduler.state == STATE_RUNNING:
            self.scheduler.pause()
        logger.warning("scheduler %s is no longer the leader: %s; jobs paused", self.holder, reason)

    def _log_standby(self, claim: LeaseClaim) -> None:
        state = claim.state
        leader = state.holder if state is not None else None
        seen = leader.instance if leader is not None else None
        if seen == self._seen:
            return
        self._seen = seen
        if state is None or leader is None or state.acquired_at is None:
            logger.info("standby, the lease is being taken by another scheduler")
            return
        logger.info(
            "standby, leader is %s since %s",
            leader,
            state.acquired_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        )

    def _session(self) -> Session:
        session: Session = self.app.extensions["careapp.sessionmaker"]()
        return session


def _holder_text(claim: LeaseClaim) -> str:
    holder = claim.state.holder if claim.state is not None else None
    return str(holder) if holder is not None else "another scheduler"


def _why(claim: LeaseClaim) -> str:
    previous = claim.previous
    if claim.decision is LeaseDecision.ACQUIRE_EXPIRED and previous is not None:
        age = previous.heartbeat_age(claim.now)
        seconds = f"{age.total_seconds():.0f} s" if age is not None else "no"
        return f"taken over from {previous.holder}, whose last heartbeat was {seconds} ago"
    if claim.decision is LeaseDecision.RENEW:
        return "renewed after a lapse"
    return "it was free"


def _brief(error: SQLAlchemyError) -> str:
    """The database's complaint without the statement and its parameters."""
    original = getattr(error, "orig", None)
    return f"{type(error).__name__}: {original if original is not None else error}"
