"""Races on PostgreSQL: managers rescheduling, entering and cancelling the same visit at once,
each in their own connection. Exactly one wins; the others get a ConflictError.

Like tests/careapp/services/test_roster_races.py, these tests commit real rows in a database
of their own (careapp_visit_records_race_<pid>) and drop it afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from careapp.access import Actor
from careapp.db import Base
from careapp.errors import ConflictError
from careapp.models import Role, Visit, VisitStatus
from careapp.services.visit_records import (
    ManualEntryInput,
    RescheduleInput,
    cancel_visit,
    record_manual_entry,
    reschedule_missed_visit,
)
from tests import factories
from tests.conftest import NOW, TODAY
from tests.factories import CaregiverFactory, UserFactory, caregiver_visit

pytestmark = pytest.mark.postgres_only

SPEEDS = {"urban": 20.0, "rural": 35.0}
WEEK = dt.timedelta(days=7)
RACERS = 8


@pytest.fixture
def race_engine(app: Flask) -> Iterator[Engine]:
    """A fresh database of our own on the test server, with the schema; dropped afterwards."""
    url = make_url(os.environ["CAREAPP_DATABASE_URL"])
    name = f"careapp_visit_records_race_{os.getpid()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name), pool_size=RACERS + 2, max_overflow=0)
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _missed_visit(engine: Engine, visit_on: dt.date = TODAY) -> tuple[Actor, int]:
    with Session(engine, expire_on_commit=False) as session:
        factories.bind(session)
        try:
            caregiver = CaregiverFactory()
            manager = UserFactory(manager=True, provider=caregiver.provider)
            visit = caregiver_visit(caregiver, status=VisitStatus.MISSED, visit_on=visit_on)
            session.commit()
        finally:
            factories.bind(None)
    actor = Actor(user_id=manager.id, role=Role.PROVIDER_MANAGER, provider_id=manager.provider_id)
    return actor, visit.id


def _run_together(app: Flask, jobs: list[Callable[[], str]]) -> list[str]:
    start = threading.Barrier(len(jobs))
    results = [""] * len(jobs)

    def worker(index: int) -> None:
        with app.app_context(), force_locale("en"):
            start.wait(timeout=30)
            try:
                results[index] = jobs[index]()
            except Exception as error:
                results[index] = f"unexpected {type(error).__name__}: {error}"

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results


def _attempt(engine: Engine, action: Callable[[Session], object], label: str) -> str:
    with Session(engine) as session:
        try:
            action(session)
        except ConflictError as error:
            session.rollback()
            return f"refused: {error.message}"
        session.commit()
        return label


def test_a_missed_visit_is_rescheduled_once_whatever_the_race(
    app: Flask, race_engine: Engine
) -> None:
    actor, visit_id = _missed_visit(race_engine)
    data = RescheduleInput(TODAY + dt.timedelta(days=1), dt.time(14), dt.time(16))

    def reschedule() -> str:
        return _attempt(
            race_engine,
            lambda s: reschedule_missed_visit(s, actor, visit_id, data, NOW, SPEEDS),
            "rescheduled",
        )

    results = _run_together(app, [reschedule for _ in range(RACERS)])
    outcomes = Counter(r.split(":")[0] for r in results)
    assert outcomes == {"rescheduled": 1, "refused": RACERS - 1}, results
    assert all("already been rescheduled" in r for r in results if r.startswith("refused"))
    with Session(race_engine) as session:
        made = session.scalar(
            select(func.count()).select_from(Visit).where(Visit.rescheduled_from_id == visit_id)
        )
        assert made == 1


def test_manual_entry_and_reschedule_of_one_missed_visit_race(
    app: Flask, race_engine: Engine
) -> None:
    """A missed visit is either entered by hand or rescheduled, never both."""
    actor, visit_id = _missed_visit(race_engine)
    entry = ManualEntryInput(dt.time(9, 5), dt.time(9, 50), ["bathing"], "phone battery dead")
    again = RescheduleInput(TODAY + dt.timedelta(days=1), dt.time(14), dt.time(16))

    def enter() -> str:
        return _attempt(
            race_engine,
            lambda s: record_manual_entry(s, actor, visit_id, entry, NOW, valid_for=WEEK),
            "entered",
        )

    def reschedule() -> str:
        return _attempt(
            race_engine,
            lambda s: reschedule_missed_visit(s, actor, visit_id, again, NOW, SPEEDS),
            "rescheduled",
        )

    results = _run_together(app, [enter, reschedule] * (RACERS // 2))
    outcomes = Counter(r.split(":")[0] for r in results)
    assert outcomes["refused"] == RACERS - 1, results
    assert outcomes["entered"] + outcomes["rescheduled"] == 1
    with Session(race_engine) as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        made = session.scalar(
            select(func.count()).select_from(Visit).where(Visit.rescheduled_from_id == visit_id)
        )
        if outcomes["entered"]:
            assert visit.status is VisitStatus.COMPLETED
            assert made == 0
        else:
            assert visit.status is VisitStatus.MISSED
            assert made == 1


def test_concurrent_cancels_record_one_event(app: Flask, race_engine: Engine) -> None:
    actor, visit_id = _missed_visit(race_engine, TODAY + dt.timedelta(days=1))
    with Session(race_engine) as session:
        session.execute(
            text("UPDATE visits SET status = 'assigned' WHERE id = :id"), {"id": visit_id}
        )
        session.commit()

    def cancel() -> str:
        return _attempt(
            race_engine, lambda s: cancel_visit(s, actor, visit_id, "家属外出", NOW), "cancelled"
        )

    results = _run_together(app, [cancel for _ in range(RACERS)])
    outcomes = Counter(r.split(":")[0] for r in results)
    assert outcomes == {"cancelled": 1, "refused": RACERS - 1}, results
    with race_engine.connect() as connection:
        events = connection.scalar(
            text("SELECT count(*) FROM audit_events WHERE action = 'visit.cancelled'")
        )
        assert events == 1
