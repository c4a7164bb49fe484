"""Races on PostgreSQL: two administrators lift one suspension, or resolve one complaint, at once.

Like tests/careapp/services/test_roster_races.py, these build their own database (committed rows
seen by several connections) and drop it afterwards.
"""

from __future__ import annotations

import os
import threading
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
from careapp.models import (
    AuditEvent,
    Complaint,
    ComplaintStatus,
    Provider,
    ProviderStatus,
    Role,
    SuspensionLift,
    User,
)
from careapp.services.complaints import resolve_complaint
from careapp.services.providers import lift_suspension
from tests import factories
from tests.conftest import NOW
from tests.factories import ComplaintFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def race_engine(app: Flask) -> Iterator[Engine]:
    url = make_url(os.environ["CAREAPP_DATABASE_URL"])
    name = f"careapp_quality_race_{os.getpid()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name), pool_size=6, max_overflow=0)
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def race(app: Flask, engine: Engine, action: Callable[[Session], None], runners: int) -> list[str]:
    """Run `action` in `runners` threads at once, each in its own session; their outcomes."""
    barrier = threading.Barrier(runners)
    outcomes: list[str] = []

    def run() -> None:
        with app.app_context(), force_locale("en"), Session(engine) as session:
            barrier.wait()
            try:
                action(session)
                session.commit()
                outcomes.append("ok")
            except ConflictError:
                session.rollback()
                outcomes.append("conflict")

    threads = [threading.Thread(target=run) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def seeded(engine: Engine, build: Callable[[], object]) -> None:
    with Session(engine) as session:
        factories.bind(session)
        try:
            build()
            session.commit()
        finally:
            factories.bind(None)


def count(engine: Engine, model: type, *where: object) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_two_admins_lifting_one_suspension_lift_it_once(app: Flask, race_engine: Engine) -> None:
    seeded(race_engine, lambda: ProviderFactory(status=ProviderStatus.SUSPENDED))
    seeded(race_engine, lambda: UserFactory(admin=True))
    with Session(race_engine) as session:
        provider_id = session.scalars(select(Provider.id)).one()
        admin_id = session.scalars(select(User.id)).one()
    actor = Actor(admin_id, Role.ADMIN)

    outcomes = race(
        app, race_engine, lambda s: lift_suspension(s, actor, provider_id, "整改完成", NOW), 4
    )

    assert outcomes == ["conflict", "conflict", "conflict", "ok"]
    assert count(race_engine, SuspensionLift) == 1
    assert count(race_engine, AuditEvent, AuditEvent.action == "provider.suspension_lifted") == 1


def test_two_admins_resolving_one_complaint_resolve_it_once(
    app: Flask, race_engine: Engine
) -> None:
    seeded(race_engine, ComplaintFactory)
    with Session(race_engine) as session:
        complaint_id = session.scalars(select(Complaint.id)).one()
        admin_id = session.scalars(select(Complaint.recorded_by_id)).one()
    actor = Actor(admin_id, Role.ADMIN)
    decisions = iter([ComplaintStatus.UPHELD, ComplaintStatus.DISMISSED] * 2)
    lock = threading.Lock()

    def resolve(session: Session) -> None:
        with lock:
            outcome = next(decisions)
        resolve_complaint(session, actor, complaint_id, outcome, "意见", NOW)

    outcomes = race(app, race_engine, resolve, 4)

    assert outcomes == ["conflict", "conflict", "conflict", "ok"]
    assert count(race_engine, AuditEvent, AuditEvent.action == "complaint.resolved") == 1
