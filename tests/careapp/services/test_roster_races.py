"""Races on PostgreSQL: dispatch runs and hand moves of one day, each in its own connection.

The usual fixtures roll every test back inside one connection; a race needs committed rows seen
by many connections. So these tests build their own database (careapp_rosters_race_<pid> on the
same server), commit real data there, and drop it afterwards; other tests never see it.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from careapp.access import Actor
from careapp.clock import city_datetime
from careapp.db import Base
from careapp.errors import ConflictError, InvalidInputError
from careapp.models import Role
from careapp.services.dispatch import dispatch_visits
from careapp.services.rosters import move_visit
from tests import factories
from tests.conftest import NOW, TODAY
from tests.factories import (
    CaregiverFactory,
    ProviderFactory,
    UserFactory,
    VisitFactory,
    provider_care_plan,
)

pytestmark = pytest.mark.postgres_only

DAY = TODAY + dt.timedelta(days=1)
SPEEDS = {"urban": 20.0, "rural": 35.0}
ADMIN = Actor(user_id=None, role=Role.ADMIN, address="race")
BUSY = "Another dispatch run is in progress"

OVERLAPS = text(
    """
    SELECT count(*) FROM visits AS a JOIN visits AS b
      ON a.caregiver_id = b.caregiver_id AND a.id < b.id
    WHERE a.status IN ('assigned', 'confirmed', 'checked_in', 'completed')
      AND b.status IN ('assigned', 'confirmed', 'checked_in', 'completed')
      AND a.planned_start < b.planned_end AND b.planned_start < a.planned_end
    """
)


@pytest.fixture
def race_engine(app: Flask) -> Iterator[Engine]:
    """A fresh database of our own on the test server, with the schema; dropped afterwards."""
    url = make_url(os.environ["CAREAPP_DATABASE_URL"])
    name = f"careapp_rosters_race_{os.getpid()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name), pool_size=70, max_overflow=0)
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Day:
    manager_actor: Actor
    visit_ids: list[int]
    caregiver_ids: list[int]


def _build(engine: Engine, visits: int, caregivers: int) -> Day:
    """Commit one company's day: caregivers and unassigned visits spread over the city."""
    rng = random.Random(7)
    with Session(engine, expire_on_commit=False) as session:
        factories.bind(session)
        try:
            provider = ProviderFactory()
            manager = UserFactory(manager=True, provider=provider)
            nurses = [CaregiverFactory(provider=provider) for _ in range(caregivers)]
            rows = []
            for _ in range(visits):
                visit = VisitFactory(
                    care_plan=provider_care_plan(provider),
                    visit_on=DAY,
                    window_start=city_datetime(DAY, dt.time(8, 30)),
                    window_end=city_datetime(DAY, dt.time(16, 0)),
                    duration_minutes=45,
                )
                visit.person.home_lat = 32.0 + rng.uniform(-0.02, 0.02)
                visit.person.home_lon = 120.86 + rng.uniform(-0.02, 0.02)
                rows.append(visit)
            session.commit()
        finally:
            factories.bind(None)
        actor = Actor(user_id=manager.id, role=Role.PROVIDER_MANAGER, provider_id=provider.id)
        return Day(actor, [v.id for v in rows], [n.id for n in nurses])


def _run_together(app: Flask, jobs: list[Callable[[], str]]) -> list[str]:
    """Run every job in its own thread (and app context), all released at once."""
    start = threading.Barrier(len(jobs))
    results: list[str] = [""] * len(jobs)

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
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results


def test_concurrent_dispatch_runs_and_moves_never_double_book(
    app: Flask, race_engine: Engine
) -> None:
    day = _build(race_engine, visits=40, caregivers=6)
    dispatchers = 8
    tried = threading.Barrier(dispatchers)

    def dispatch() -> str:
        with Session(race_engine) as session:
            try:
                dispatch_visits(session, ADMIN, DAY, DAY, NOW, SPEEDS)
            except ConflictError as error:
                session.rollback()
                tried.wait(timeout=60)
                return f"refused: {error.message}"
            # Keep the lock until every other run has tried, so they truly overlap.
            tried.wait(timeout=60)
            session.commit()
            return "completed"

    def mover(seed: int) -> Callable[[], str]:
        rng = random.Random(seed)

        def move() -> str:
            visit_id = rng.choice(day.visit_ids)
            caregiver_id = rng.choice(day.caregiver_ids)
            start = dt.time(rng.randrange(9, 15), rng.choice((0, 15, 30, 45)))
            with Session(race_engine) as session:
                try:
                    move_visit(
                        session, day.manager_actor, visit_id, caregiver_id, start, NOW, SPEEDS
                    )
                except (ConflictError, InvalidInputError) as error:
                    session.rollback()
                    return f"refused: {error.message}"
                session.commit()
                return "moved"

        return move

    jobs = [dispatch for _ in range(dispatchers)] + [mover(seed) for seed in range(50)]
    results = _run_together(app, jobs)

    unexpected = [r for r in results if r.startswith("unexpected")]
    assert unexpected == []
    runs = Counter(r if r == "completed" else r.split(":")[0] for r in results[:dispatchers])
    assert runs == {"completed": 1, "refused": dispatchers - 1}
    assert all(BUSY in r for r in results[:dispatchers] if r != "completed"), results
    moves = Counter(r.split(":")[0] for r in results[dispatchers:])
    assert moves["moved"] > 0
    assert moves["moved"] + moves["refused"] == 50
    with race_engine.connect() as connection:
        assert connection.scalar(OVERLAPS) == 0
        completed = connection.scalar(
            text("SELECT count(*) FROM dispatch_runs WHERE status = 'completed'")
        )
        assert completed == 1
        booked = connection.scalar(text("SELECT count(*) FROM visits WHERE status = 'assigned'"))
        assert booked > 0
        hand = connection.scalar(text("SELECT count(*) FROM visits WHERE is_hand_edited"))
        assert 0 < hand <= moves["moved"]  # a visit may have been moved more than once


@pytest.mark.parametrize("same_visit", [True, False], ids=["same-visit", "same-slot"])
def test_two_managers_making_the_same_move_one_wins_one_is_refused(
    app: Flask, race_engine: Engine, same_visit: bool
) -> None:
    day = _build(race_engine, visits=2, caregivers=1)
    first_visit = day.visit_ids[0]
    second_visit = first_visit if same_visit else day.visit_ids[1]
    nurse = day.caregiver_ids[0]
    first_flushed = threading.Event()

    def first() -> str:
        with Session(race_engine) as session:
            move_visit(session, day.manager_actor, first_visit, nurse, dt.time(9), NOW, SPEEDS)
            first_flushed.set()
            time.sleep(0.5)  # hold the row locks while the other one tries
            session.commit()
            return "moved"

    def second() -> str:
        first_flushed.wait(timeout=30)
        began = time.monotonic()
        with Session(race_engine) as session:
            try:
                move_visit(session, day.manager_actor, second_visit, nurse, dt.time(9), NOW, SPEEDS)
            except ConflictError as error:
                session.rollback()
                waited = time.monotonic() - began
                return f"refused after {waited:.1f}s: {error.status_code} {error.message}"
            session.commit()
            return "moved"

    results = _run_together(app, [first, second])
    assert results[0] == "moved"
    assert results[1].startswith("refused"), results
    assert " 409 " in results[1]
    waited = float(results[1].split("after ")[1].split("s:")[0])
    assert waited >= 0.3  # it waited for the first move's lock instead of reading stale rows
    with race_engine.connect() as connection:
        assert connection.scalar(OVERLAPS) == 0
        rows = connection.execute(
            text("SELECT id, caregiver_id, is_hand_edited FROM visits ORDER BY id")
        ).all()
    assert [(r.caregiver_id, r.is_hand_edited) for r in rows if r.id == first_visit] == [
        (nurse, True)
    ]
    if not same_visit:
        assert [r.caregiver_id for r in rows if r.id == second_visit] == [None]
