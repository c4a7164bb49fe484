"""Races on PostgreSQL: two administrators lift one suspension, or resolve one complaint, at once.

Like the other race tests, these commit real rows in a database of their own (tests/races.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from careapp.models import (
    AuditEvent,
    Complaint,
    ComplaintStatus,
    Provider,
    Role,
    SuspensionLift,
    User,
)
from careapp.services.actor import Actor
from careapp.services.complaints import resolve_complaint
from careapp.services.providers import lift_suspension
from scheduling.quality import ProviderStatus
from tests.factories import NOW, ComplaintFactory, ProviderFactory, UserFactory
from tests.races import attempt, race_engine_fixture, run_together, seeding

pytestmark = pytest.mark.postgres_only

race_engine = race_engine_fixture(pool_size=6)


def race(
    app: Flask, engine: Engine, action: Callable[[Session], object], runners: int
) -> list[str]:
    """Run `action` in `runners` threads at once, each in its own session; their outcomes."""
    results = run_together(app, [lambda: attempt(engine, action, "ok")] * runners)
    return sorted("conflict" if r.startswith("refused: ") else r for r in results)


def count(engine: Engine, model: type, *where: object) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_two_admins_lifting_one_suspension_lift_it_once(app: Flask, race_engine: Engine) -> None:
    with seeding(race_engine):
        ProviderFactory(status=ProviderStatus.SUSPENDED)
        UserFactory(admin=True)
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
    with seeding(race_engine):
        ComplaintFactory()
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
