"""A dispatch run killed with SIGKILL while its solver pool works leaves nothing behind.

A real process runs a dispatch whose two providers are solved in the pool by a dispatcher that
never finishes; once both workers are busy the test kills the process with SIGKILL. The pool's
workers die with it (scheduling.parallel), the run left no "running" row (a run is one
transaction, committed whole at its end), and the dispatch lock is free: the next run starts
at once and completes.

It needs committed rows seen by two processes: a SQLite file, or on PostgreSQL a throwaway
database.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import careapp.models  # noqa: F401 - registers every table
from careapp.db import Base, make_engine
from careapp.models import DispatchRun, DispatchRunStatus, Role
from careapp.services.actor import Actor
from careapp.services.dispatch import dispatch_visits
from careapp.services.reference import ensure_districts
from scheduling.dispatch import GreedyDispatcher
from tests import factories
from tests.conftest import ROOT
from tests.factories import NOW, TODAY
from tests.races import race_database
from tests.scheduling.slow_pool import is_alive

DAY = TODAY + dt.timedelta(days=1)
SPEEDS = {"urban": 20.0, "rural": 35.0}
ADMIN = Actor(user_id=None, role=Role.ADMIN, address="crash-test")

# The dispatch's own process: the app on the shared database, the providers solved side by side
# by a dispatcher that marks its worker busy and then sleeps past the test.
DISPATCH = """
import datetime as dt, sys
from pathlib import Path
from careapp import create_app, db
from careapp.config import TestConfig
from careapp.core import clock
from careapp.models import Role
from careapp.services.actor import Actor
from careapp.services.dispatch import dispatch_visits
from tests.scheduling.slow_pool import SlowDispatcher

day, now, markers = sys.argv[1:4]
clock.pin(dt.datetime.fromisoformat(now), ticking=True)
app = create_app(TestConfig)
with app.app_context():
    session = db.session()
    first = dt.date.fromisoformat(day)
    dispatch_visits(session, Actor(user_id=None, role=Role.ADMIN, address="crash-test"),
                    first, first, clock.utcnow(), {"urban": 20.0, "rural": 35.0},
                    dispatcher=SlowDispatcher(Path(markers)), workers=2)
    session.commit()
"""


@pytest.fixture
def engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    if database_url.startswith("postgresql"):
        with race_database(database_url, f"careapp_dispatch_crash_{os.getpid()}", 3) as pg:
            yield pg
        return
    sqlite = make_engine(f"sqlite+pysqlite:///{tmp_path / 'crash.sqlite'}")
    Base.metadata.create_all(sqlite)
    try:
        yield sqlite
    finally:
        sqlite.dispose()


def _seed(engine: Engine) -> None:
    """Two providers, each with a caregiver and a client to visit on DAY (committed)."""
    with Session(engine, expire_on_commit=False) as session:
        factories.bind(session)
        try:
            ensure_districts(session)
            for _ in range(2):
                provider = factories.ProviderFactory()
                factories.CaregiverFactory(provider=provider)
                factories.provider_care_plan(provider)
            session.commit()
        finally:
            factories.bind(None)


def test_a_dispatch_killed_mid_solve_leaves_no_run_no_lock_and_no_workers(
    engine: Engine, tmp_path: Path
) -> None:
    _seed(engine)
    markers = tmp_path / "busy"
    markers.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c", DISPATCH, DAY.isoformat(), NOW.isoformat(), str(markers)],
        cwd=ROOT,
        env={**os.environ, "CAREAPP_DATABASE_URL": engine.url.render_as_string(False)},
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(markers.iterdir())) < 2:
            assert process.poll() is None, "the dispatch ended early"
            assert time.monotonic() < deadline, "the solver pool did not start"
            time.sleep(0.05)
        workers = {int(marker.name) for marker in markers.iterdir()}
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()

    deadline = time.monotonic() + 5
    while any(is_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if is_alive(pid)]  # the solvers died with their parent

    with Session(engine) as session:
        assert session.scalars(select(DispatchRun)).all() == []  # no run left "running"
        run = dispatch_visits(  # the lock is free: the next run starts at once
            session,
            ADMIN,
            DAY,
            DAY,
            NOW,
            SPEEDS,
            dispatcher=GreedyDispatcher(),
            lock_timeout=dt.timedelta(seconds=5),
        )
        session.commit()
        assert run.status is DispatchRunStatus.COMPLETED
        assert (run.visits_created, run.visits_assigned) == (2, 2)
