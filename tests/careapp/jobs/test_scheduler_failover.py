"""Two `careapp scheduler run` processes at once: one leads and runs the jobs, the other stands
by and runs none, and takes over when the leader is killed (kill -9: once its lease expires) or
stopped (SIGTERM: at its next try).

Real processes on one committed database (a SQLite file, or on PostgreSQL a throwaway
database), with a lease of LEASE seconds renewed every RENEW (the settings
CAREAPP_SCHEDULER_LEASE_SECONDS and _RENEW_SECONDS) so it takes seconds, and one job: a probe
every second that writes an audit row naming its process. Who leads is read from the lease's
row; who ran the job, from the probe rows.

The scheduler processes run on the system's clock even in the moved-clock run: libfaketime
gives each process started under it a clock of its own, seconds apart, as if they ran on
machines whose clocks disagree, and on SQLite the database's clock is each process's own (on
SQLite they all run on the database's host, so in production they share one clock; on
PostgreSQL the server's is the one clock). Nothing here depends on the date.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

import careapp.models  # noqa: F401 - registers every table
from careapp.config import TestConfig
from careapp.db import Base, make_engine
from careapp.models import AuditEvent, SchedulerLease
from tests.conftest import ROOT
from tests.races import race_database

LEASE = 3.0
RENEW = 1.0
SLACK = 4.0  # a loaded machine's delay on top of the lease's own bounds
STARTUP = 60.0  # importing the app and its first claim, on a loaded machine

# `careapp scheduler run` itself, its job table replaced by one probe that runs every second.
SCHEDULER = """
import os, sys
import careapp.jobs.scheduled as scheduled
from careapp.cli import main

def probe():
    from careapp import db
    from careapp.core.clock import utcnow
    from careapp.services.audit import record_event

    with scheduled._job_app().app_context():
        session = db.session()
        record_event(session, scheduled.SCHEDULER_ACTOR, "scheduler.probe", "scheduler",
                     os.getpid(), now=utcnow())
        session.commit()

scheduled.JOBS = (scheduled.JobSpec("probe", probe, {"second": "*"}),)
main()
"""


@pytest.fixture
def shared_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    if database_url.startswith("postgresql"):
        with race_database(database_url, f"careapp_failover_{os.getpid()}", 3) as engine:
            yield engine.url.render_as_string(hide_password=False)
        return
    url = f"sqlite+pysqlite:///{tmp_path / 'failover.sqlite'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield url


@pytest.fixture
def reader(shared_url: str) -> Iterator[Engine]:
    """A plain engine to watch the database (reads only: no write lock on SQLite)."""
    engine = create_engine(shared_url)
    yield engine
    engine.dispose()


class Scheduler:
    """One `careapp scheduler run` process, its output in a file."""

    def __init__(self, name: str, url: str, directory: Path) -> None:
        self.log = directory / f"{name}.log"
        env = {
            **_without_faketime(os.environ),
            "CAREAPP_DATABASE_URL": url,
            "CAREAPP_SECRET_KEY": str(TestConfig.SECRET_KEY),
            "CAREAPP_DATA_KEY": str(TestConfig.DATA_KEY),
            "CAREAPP_SCHEDULER_LEASE_SECONDS": str(LEASE),
            "CAREAPP_SCHEDULER_RENEW_SECONDS": str(RENEW),
        }
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", SCHEDULER, "scheduler", "run"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.pid = self.process.pid
        self.name = f"{socket.gethostname()}:{self.pid}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _without_faketime(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without libfaketime (see above)."""
    kept = {key: value for key, value in env.items() if not key.startswith("FAKETIME")}
    preload = [lib for lib in kept.pop("LD_PRELOAD", "").split() if "faketime" not in lib]
    if preload:
        kept["LD_PRELOAD"] = " ".join(preload)
    return kept


@pytest.fixture
def start(shared_url: str, tmp_path: Path) -> Iterator[Callable[[str], Scheduler]]:
    started: list[Scheduler] = []

    def _start(name: str) -> Scheduler:
        scheduler = Scheduler(name, shared_url, tmp_path)
        started.append(scheduler)
        return scheduler

    yield _start
    for scheduler in started:
        scheduler.stop()


def _leader_pid(engine: Engine) -> int | None:
    with Session(engine) as session:
        lease = session.get(SchedulerLease, "scheduler")
        return None if lease is None else lease.holder_pid


def _probes(engine: Engine) -> list[tuple[int, int]]:
    """(audit id, pid) of every probe run, in order."""
    with Session(engine) as session:
        rows = session.execute(
            select(AuditEvent.id, AuditEvent.object_id)
            .where(AuditEvent.action == "scheduler.probe")
            .order_by(AuditEvent.id)
        ).all()
    return [(row[0], row[1]) for row in rows]


def _wait(condition: Callable[[], bool], timeout: float, what: str, *alive: Scheduler) -> float:
    """Wait until `condition` holds; the seconds it took. Fails after `timeout`, or when one of
    `alive` has ended."""
    began = time.monotonic()
    while not condition():
        for scheduler in alive:
            assert scheduler.process.poll() is None, (
                f"{scheduler.name} ended:\n{scheduler.output()}"
            )
        assert time.monotonic() - began < timeout, f"timed out waiting for {what}"
        time.sleep(0.1)
    return time.monotonic() - began


def _ran_by(engine: Engine, pid: int) -> list[int]:
    return [audit_id for audit_id, by in _probes(engine) if by == pid]


def test_one_scheduler_leads_the_other_stands_by_and_takes_over(
    start: Callable[[str], Scheduler], reader: Engine
) -> None:
    first = start("first")
    _wait(lambda: _leader_pid(reader) == first.pid, STARTUP, "the first to lead", first)
    second = start("second")
    _wait(
        lambda: f"standby, leader is {first.name} since" in second.output(),
        STARTUP,
        "the second to stand by",
        first,
        second,
    )
    _wait(lambda: len(_ran_by(reader, first.pid)) >= 3, 30, "the leader's jobs", first, second)
    assert _leader_pid(reader) == first.pid
    assert _ran_by(reader, second.pid) == []  # the standby runs nothing

    # kill -9: no release; the standby takes over once the lease has expired
    os.kill(first.pid, signal.SIGKILL)
    first.process.wait()
    took = _wait(
        lambda: _leader_pid(reader) == second.pid, LEASE + RENEW + SLACK, "a takeover", second
    )
    assert took <= LEASE + RENEW + SLACK
    _wait(lambda: len(_ran_by(reader, second.pid)) >= 2, 30, "the new leader's jobs", second)
    by_first, by_second = _ran_by(reader, first.pid), _ran_by(reader, second.pid)
    assert max(by_first) < min(by_second)  # never both at once
    assert f"taken over from {first.name}" in second.output()

    # SIGTERM: the leader releases the lease, and the next standby takes it at its next try
    third = start("third")
    _wait(
        lambda: f"standby, leader is {second.name} since" in third.output(),
        STARTUP,
        "the third to stand by",
        second,
        third,
    )
    assert _ran_by(reader, third.pid) == []
    second.process.send_signal(signal.SIGTERM)
    took = _wait(lambda: _leader_pid(reader) == third.pid, RENEW + SLACK, "a handover", third)
    assert took <= RENEW + SLACK  # at once: long before the lease would have expired
    assert second.process.wait(timeout=30) == 0
    assert f"scheduler {second.name} released the lease" in second.output()
    _wait(lambda: len(_ran_by(reader, third.pid)) >= 2, 30, "the third's jobs", third)
    assert max(_ran_by(reader, second.pid)) < min(_ran_by(reader, third.pid))
    assert "it was free" in third.output()

    # a standby stopped leaves the lease alone
    fourth = start("fourth")
    _wait(
        lambda: f"standby, leader is {third.name} since" in fourth.output(),
        STARTUP,
        "the fourth to stand by",
        third,
        fourth,
    )
    fourth.process.send_signal(signal.SIGTERM)
    assert fourth.process.wait(timeout=30) == 0
    assert "released the lease" not in fourth.output()
    assert _leader_pid(reader) == third.pid
    assert _ran_by(reader, fourth.pid) == []

    third.process.send_signal(signal.SIGINT)  # Ctrl+C: the same graceful stop
    assert third.process.wait(timeout=30) == 0
    assert _leader_pid(reader) is None  # released: free for the next one at once
