"""Races on PostgreSQL: managers rescheduling, entering and cancelling the same visit at once,
each in their own connection. Exactly one wins; the others get a ConflictError.

Like the other race tests, these commit real rows in a database of their own (tests/races.py).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from careapp.models import Role, Visit
from careapp.services.actor import Actor
from careapp.services.visit_records import (
    ManualEntryInput,
    RescheduleInput,
    cancel_visit,
    record_manual_entry,
    reschedule_missed_visit,
)
from scheduling.visits import VisitStatus
from tests.factories import NOW, TODAY, CaregiverFactory, UserFactory, caregiver_visit
from tests.races import attempt, race_engine_fixture, run_together, seeding

pytestmark = pytest.mark.postgres_only

SPEEDS = {"urban": 20.0, "rural": 35.0}
WEEK = dt.timedelta(days=7)
RACERS = 8

race_engine = race_engine_fixture(pool_size=RACERS + 2)


def _missed_visit(engine: Engine, visit_on: dt.date = TODAY) -> tuple[Actor, int]:
    with seeding(engine):
        caregiver = CaregiverFactory()
        manager = UserFactory(manager=True, provider=caregiver.provider)
        visit = caregiver_visit(caregiver, status=VisitStatus.MISSED, visit_on=visit_on)
    actor = Actor(user_id=manager.id, role=Role.PROVIDER_MANAGER, provider_id=manager.provider_id)
    return actor, visit.id


def test_a_missed_visit_is_rescheduled_once_whatever_the_race(
    app: Flask, race_engine: Engine
) -> None:
    actor, visit_id = _missed_visit(race_engine)
    data = RescheduleInput(TODAY + dt.timedelta(days=1), dt.time(14), dt.time(16))

    def reschedule() -> str:
        return attempt(
            race_engine,
            lambda s: reschedule_missed_visit(s, actor, visit_id, data, NOW, SPEEDS),
            "rescheduled",
        )

    results = run_together(app, [reschedule for _ in range(RACERS)])
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
        return attempt(
            race_engine,
            lambda s: record_manual_entry(s, actor, visit_id, entry, NOW, valid_for=WEEK),
            "entered",
        )

    def reschedule() -> str:
        return attempt(
            race_engine,
            lambda s: reschedule_missed_visit(s, actor, visit_id, again, NOW, SPEEDS),
            "rescheduled",
        )

    results = run_together(app, [enter, reschedule] * (RACERS // 2))
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
        return attempt(
            race_engine, lambda s: cancel_visit(s, actor, visit_id, "家属外出", NOW), "cancelled"
        )

    results = run_together(app, [cancel for _ in range(RACERS)])
    outcomes = Counter(r.split(":")[0] for r in results)
    assert outcomes == {"cancelled": 1, "refused": RACERS - 1}, results
    with race_engine.connect() as connection:
        events = connection.scalar(
            text("SELECT count(*) FROM audit_events WHERE action = 'visit.cancelled'")
        )
        assert events == 1
