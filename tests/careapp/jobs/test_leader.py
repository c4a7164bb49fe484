"""One scheduler process and the lease: lead and run the jobs, or stand by and run none.

The lease is real (the database's row, on the database's clock); the scheduler is a stand-in
that records what the leader does with it (pause, resume, the jobs' next run), and the
process's monotonic clock is a counter the test moves. Real processes and a real APScheduler:
tests/careapp/jobs/test_scheduler_failover.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from typing import Any

import pytest
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING, STATE_STOPPED
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy import delete
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import careapp.jobs.leader as leader_module
from careapp.core.lease import LeaseHolder, LeaseTiming
from careapp.core.liveness import Runner
from careapp.jobs.leader import SchedulerLeader, lease_timing
from careapp.models import SchedulerLease
from careapp.services.scheduler_lease import claim_lease, current_holder, database_now
from tests.factories import NOW

TIMING = LeaseTiming(dt.timedelta(seconds=30), dt.timedelta(seconds=10))
OTHER = LeaseHolder(Runner("sched-9", 9999), "99999999")


class Tick:
    """The process's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


class StubJob:
    def __init__(self, job_id: str) -> None:
        self.id = job_id
        self.trigger = CronTrigger(minute="*", timezone="UTC")
        self.next_run_time: dt.datetime | None = None

    def modify(self, **changes: Any) -> None:
        self.next_run_time = changes["next_run_time"]


class StubScheduler:
    """What the leader uses of an APScheduler scheduler."""

    def __init__(self) -> None:
        self.state = STATE_STOPPED
        self.jobs = [StubJob("probe")]
        self.calls: list[str] = []

    def start(self, paused: bool = False) -> None:
        self.state = STATE_PAUSED if paused else STATE_RUNNING
        self.calls.append("start paused" if paused else "start")

    def pause(self) -> None:
        self.state = STATE_PAUSED
        self.calls.append("pause")

    def resume(self) -> None:
        self.state = STATE_RUNNING
        self.calls.append("resume")

    def get_jobs(self) -> list[StubJob]:
        return self.jobs

    def shutdown(self, wait: bool = True) -> None:
        self.state = STATE_STOPPED
        self.calls.append("shutdown")


def _leader(app: Flask, holder: LeaseHolder | None = None) -> tuple[SchedulerLeader, Tick]:
    tick = Tick()
    leader = SchedulerLeader(
        app,
        TIMING,
        holder,
        scheduler=StubScheduler(),  # type: ignore[arg-type]  # the stand-in
        monotonic=tick,
    )
    leader.start()
    return leader, tick


def _calls(leader: SchedulerLeader) -> list[str]:
    calls: list[str] = leader.scheduler.calls  # type: ignore[attr-defined]  # the stand-in's
    return calls


def test_the_first_process_leads_and_the_second_stands_by_running_nothing(
    app: Flask, db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    first, _tick = _leader(app)
    second, _tick2 = _leader(app)
    with caplog.at_level(logging.INFO, logger="careapp.jobs.leader"):
        first.step()
        second.step()
        second.step()  # the same leader: logged once

    assert first.is_leading
    assert _calls(first) == ["start paused", "resume"]
    assert not second.is_leading
    assert _calls(second) == ["start paused"]  # never resumed: runs nothing
    standby = [r.getMessage() for r in caplog.records if "standby" in r.getMessage()]
    assert len(standby) == 1
    assert standby[0].startswith(f"standby, leader is {first.holder} since ")
    assert f"leader: scheduler {first.holder} holds the lease (it was free)" in caplog.text
    assert current_holder(db_session).holder == first.holder


def test_the_leader_keeps_leading_while_it_renews(app: Flask, db_session: Session) -> None:
    leader, tick = _leader(app)
    leader.step()
    tick.seconds += 15
    assert leader.is_leading
    leader.step()  # renewed: leads for another lease less one interval from here
    tick.seconds += 15
    assert leader.is_leading
    assert _calls(leader) == ["start paused", "resume"]


def test_a_leader_that_cannot_renew_stops_starting_jobs_before_its_lease_expires(
    app: Flask,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    leader, tick = _leader(app)
    leader.step()

    def unreachable(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT", {}, Exception("could not connect to server"))

    monkeypatch.setattr(leader_module, "claim_lease", unreachable)
    with caplog.at_level(logging.INFO, logger="careapp.jobs.leader"):
        tick.seconds += 10
        leader.step()  # failed, but the lease still has 20 s: jobs go on
        assert leader.is_leading
        assert _calls(leader)[-1] == "resume"
        tick.seconds += 10  # 20 s since the last renewal began: one interval before expiry
        assert not leader.is_leading  # a job starting now skips itself (the fence)
        leader.step()
    assert _calls(leader)[-1] == "pause"
    assert "could not claim the scheduler lease: OperationalError" in caplog.text
    assert "could not renew the lease in time; jobs paused" in caplog.text

    # the database is back and nobody took the lease: renewed, the jobs resume (no catch-up:
    # the jobs this process did not run while paused are still due in its scheduler)
    monkeypatch.setattr(leader_module, "claim_lease", claim_lease)
    with caplog.at_level(logging.INFO, logger="careapp.jobs.leader"):
        leader.step()
    assert leader.is_leading
    assert _calls(leader)[-1] == "resume"
    assert leader.scheduler.jobs[0].next_run_time is None  # type: ignore[attr-defined]
    assert "renewed after a lapse" in caplog.text


def test_a_leader_whose_lease_was_taken_pauses_at_once(
    app: Flask, db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    leader, _tick = _leader(app)
    leader.step()
    # Someone else holds it now (as after a partition outlived the lease).
    db_session.execute(delete(SchedulerLease))
    claim_lease(db_session, OTHER, database_now(db_session), TIMING.duration)
    db_session.flush()

    with caplog.at_level(logging.INFO, logger="careapp.jobs.leader"):
        leader.step()
    assert not leader.is_leading
    assert _calls(leader)[-1] == "pause"
    assert "the lease was taken by sched-9:9999; jobs paused" in caplog.text
    assert "standby, leader is sched-9:9999 since" in caplog.text


def test_a_standby_takes_over_an_expired_lease_and_runs_the_jobs_due_since_its_last_heartbeat(
    app: Flask, db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """The dead leader's last heartbeat was 100 s ago: the new leader's every-minute job is next
    due at the first minute after that (on this process's clock, here the pinned NOW)."""
    claim_lease(
        db_session, OTHER, database_now(db_session) - dt.timedelta(seconds=100), TIMING.duration
    )
    standby, _tick = _leader(app)
    with caplog.at_level(logging.INFO, logger="careapp.jobs.leader"):
        standby.step()

    assert standby.is_leading
    assert _calls(standby) == ["start paused", "resume"]
    assert standby.scheduler.jobs[0].next_run_time == NOW - dt.timedelta(minutes=1)  # type: ignore[attr-defined]
    assert re.search(
        r"taken over from sched-9:9999, whose last heartbeat was 10[01] s ago", caplog.text
    )


def test_a_standby_takes_a_released_lease_at_its_next_try(app: Flask, db_session: Session) -> None:
    first, _tick = _leader(app)
    second, _tick2 = _leader(app)
    first.step()
    second.step()
    first.release()
    assert not first.is_leading

    second.step()
    assert second.is_leading
    assert _calls(second) == ["start paused", "resume"]
    # released a moment ago: the jobs the first ran are not run again, the next is due next
    assert second.scheduler.jobs[0].next_run_time == NOW  # type: ignore[attr-defined]


def test_the_fence_asks_the_database_too(app: Flask, db_session: Session) -> None:
    leader, tick = _leader(app)
    assert not leader.fence()  # not leading
    leader.step()
    assert leader.fence()
    db_session.execute(delete(SchedulerLease))  # the row is gone: the database says no
    db_session.flush()
    assert leader.is_leading
    assert not leader.fence()
    tick.seconds += 25
    assert not leader.fence()


def test_run_until_stopped_then_drain_and_release(
    app: Flask, db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    leader, _tick = _leader(app)
    stop = threading.Event()
    stop.set()  # asked to stop at once: the loop makes no claim

    leader.step()
    with caplog.at_level(logging.INFO, logger="careapp.jobs.leader"):
        leader.run(stop)

    assert _calls(leader) == ["start paused", "resume", "pause", "shutdown"]
    assert not leader.is_leading
    assert not leader.fence()
    found = current_holder(db_session)
    assert found.holder is None
    assert found.state is not None
    assert found.state.holder is None  # released, not merely expired
    assert f"scheduler {leader.holder} released the lease" in caplog.text


def test_lease_timing_reads_the_settings(app: Flask) -> None:
    assert lease_timing(app.config) == TIMING
    with pytest.raises(ValueError, match="three renewal intervals"):
        lease_timing({"SCHEDULER_LEASE_SECONDS": 10, "SCHEDULER_RENEW_SECONDS": 5})


def test_scheduler_status_command_names_the_leader(app: Flask, db_session: Session) -> None:
    runner = app.test_cli_runner()
    nobody = runner.invoke(args=["scheduler", "status"])
    assert nobody.exit_code == 1
    assert "no scheduler holds the lease: none has ever run" in nobody.output

    claim_lease(db_session, OTHER, database_now(db_session), TIMING.duration)
    db_session.flush()
    leading = runner.invoke(args=["scheduler", "status"])
    assert leading.exit_code == 0, leading.output
    assert leading.output.startswith("leader: sched-9:9999 (instance 99999999) since ")
    assert re.search(r"last heartbeat [01] s ago; expires in (29|30) s$", leading.output.strip())


def test_scheduler_status_command_says_when_the_leader_stopped(
    app: Flask, db_session: Session
) -> None:
    long_ago = database_now(db_session) - dt.timedelta(seconds=100)
    claim_lease(db_session, OTHER, long_ago, TIMING.duration)
    db_session.flush()
    expired = app.test_cli_runner().invoke(args=["scheduler", "status"])
    assert expired.exit_code == 1
    assert re.search(r"sched-9:9999 stopped renewing it 10[01] s ago \(expired\)", expired.output)

    leader, _tick = _leader(app)
    leader.step()
    leader.release()
    released = app.test_cli_runner().invoke(args=["scheduler", "status"])
    assert released.exit_code == 1
    assert re.search(r"no scheduler holds the lease: released [01] s ago", released.output)


class SlowStop(StubScheduler):
    """A scheduler whose running job takes a while to finish at shutdown."""

    def shutdown(self, wait: bool = True) -> None:
        time.sleep(0.5)
        super().shutdown(wait)


def test_a_stopping_leader_keeps_its_lease_until_the_running_job_has_finished(
    app: Flask, db_session: Session
) -> None:
    timing = LeaseTiming(dt.timedelta(seconds=0.3), dt.timedelta(seconds=0.1))
    leader = SchedulerLeader(app, timing, scheduler=SlowStop())  # type: ignore[arg-type]  # the stand-in
    leader.start()
    leader.step()
    first_beat = current_holder(db_session).state
    assert first_beat is not None
    stop = threading.Event()
    stop.set()

    leader.run(stop)  # renews while the job finishes, then releases

    assert _calls(leader) == ["start paused", "resume", "pause", "shutdown"]  # never resumed
    found = current_holder(db_session)
    assert found.state is not None
    assert found.state.holder is None
    assert found.state.heartbeat_at is not None
    assert first_beat.heartbeat_at is not None
    # renewed while draining, released after: released well after the last claim before stop
    assert found.state.heartbeat_at - first_beat.heartbeat_at >= dt.timedelta(seconds=0.4)


def test_database_trouble_in_the_fence_or_the_release_is_logged_not_raised(
    app: Flask,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    leader, _tick = _leader(app)
    leader.step()

    def unreachable(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(leader_module, "holds_lease", unreachable)
    monkeypatch.setattr(leader_module, "release_lease", unreachable)
    with caplog.at_level(logging.INFO, logger="careapp.jobs.leader"):
        assert not leader.fence()
        leader.release()
    assert "could not check the scheduler lease: OperationalError" in caplog.text
    assert "could not release the scheduler lease (it expires by itself)" in caplog.text
    assert not leader.is_leading
