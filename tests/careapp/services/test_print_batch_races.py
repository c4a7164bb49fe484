"""Races: administrators pressing "restart" on one abandoned batch at the same moment start
it once (a conditional UPDATE on its attempt), on PostgreSQL and on SQLite.

The PostgreSQL run commits real rows in a database of its own (tests/races.py); the SQLite run
in a database file of its own, as the embedded default is deployed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from careapp.models import AuditEvent, PrintBatch, PrintBatchStatus, Role
from careapp.services.actor import Actor
from careapp.services.print_batches import request_print_batch, restart_print_batch
from tests.factories import NOW, PrintBatchFactory, UserFactory
from tests.races import attempt, race_or_file_engine_fixture, run_together, seeding

RACERS = 6
LIMIT = dt.timedelta(minutes=2)

engine = race_or_file_engine_fixture(pool_size=RACERS + 2)


def test_two_restarts_at_once_start_one_run(app: Flask, engine: Engine) -> None:
    with seeding(engine):
        admins = [UserFactory(admin=True) for _ in range(RACERS)]
        batch = PrintBatchFactory(abandoned=True)
    batch_id = batch.id

    def restart(admin_id: int):  # type: ignore[no-untyped-def]  # a racer
        actor = Actor(user_id=admin_id, role=Role.ADMIN, address="race")
        return lambda: attempt(
            engine,
            lambda session: restart_print_batch(
                session, actor, batch_id, NOW, abandoned_after=LIMIT
            ),
            "restarted",
        )

    results = run_together(app, [restart(admin.id) for admin in admins])
    assert Counter(results)["restarted"] == 1, results
    assert all(r == "restarted" or r.startswith("refused: ") for r in results), results
    with Session(engine) as session:
        stored = session.get(PrintBatch, batch_id)
        assert stored is not None
        assert (stored.status, stored.attempt) == (PrintBatchStatus.QUEUED, 1)
        restarts = session.scalars(
            select(AuditEvent.id).where(AuditEvent.action == "print_batch.restart")
        ).all()
    assert len(restarts) == 1


def test_two_requests_of_a_week_at_once_queue_one_batch(app: Flask, engine: Engine) -> None:
    with seeding(engine):
        admins = [UserFactory(admin=True) for _ in range(RACERS)]

    def request(admin_id: int):  # type: ignore[no-untyped-def]  # a racer
        actor = Actor(user_id=admin_id, role=Role.ADMIN, address="race")
        return lambda: attempt(
            engine,
            lambda session: request_print_batch(session, actor, NOW.date(), NOW),
            "queued",
        )

    results = run_together(app, [request(admin.id) for admin in admins])
    assert Counter(results)["queued"] == 1, results
    with Session(engine) as session:
        assert len(session.scalars(select(PrintBatch.id)).all()) == 1
