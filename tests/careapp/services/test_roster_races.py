"""Races on PostgreSQL: dispatch runs and hand moves of one day, each in its own connection.

Like the other race tests, these commit real rows in a database of their own (tests/races.py).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from careapp.core.clock import city_datetime
from careapp.core.errors import ConflictError, InvalidInputError
from careapp.models import Role
from careapp.services.actor import Actor
from careapp.services.dispatch import dispatch_visits
from careapp.services.rosters import move_visit
from tests.factories import (
    NOW,
    TODAY,
    CaregiverFactory,
    ProviderFactory,
    UserFactory,
    VisitFactory,
    provider_care_plan,
)
from tests.races import attempt, race_engine_fixture, run_together, seeding

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


race_engine = race_engine_fixture(pool_size=70)


@dataclass
class Day:
    manager_actor: Actor
    visit_ids: list[int]
    caregiver_ids: list[int]


def _build(engine: Engine, visits: int, caregivers: int) -> Day:
    """Commit one company's day: caregivers and unassigned visits spread over the city."""
    rng = random.Random(7)
    with seeding(engine):
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
    actor = Actor(user_id=manager.id, role=Role.PROVIDER_MANAGER, provider_id=provider.id)
    return Day(actor, [v.id for v in rows], [n.id for n in nurses])


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
            return attempt(
                race_engine,
                lambda s: move_visit(
                    s, day.manager_actor, visit_id, caregiver_id, start, NOW, SPEEDS
                ),
                "moved",
                refused=(ConflictError, InvalidInputError),
            )

        return move

    jobs = [dispatch for _ in range(dispatchers)] + [mover(seed) for seed in range(50)]
    results = run_together(app, jobs)

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

    results = run_together(app, [first, second])
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
