"""Races on PostgreSQL: administrators lending devices at the same moment, each in a connection.

The usual fixtures roll every test back inside one connection; a race needs committed rows seen by
many connections. So these tests build their own database (careapp_devices_race_<pid> on the same
server), commit real data there, and drop it afterwards; other tests never see it.
"""

from __future__ import annotations

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
from careapp.errors import ConflictError
from careapp.models import DeviceLoan, Role
from careapp.services.devices import LoanInput, record_device_loan
from tests import factories
from tests.conftest import NOW, TODAY
from tests.factories import DeviceTypeFactory, EntitlementFactory, PolicyVersionFactory, UserFactory

pytestmark = pytest.mark.postgres_only

RACERS = 6


@pytest.fixture
def race_engine(app: Flask) -> Iterator[Engine]:
    """A fresh database of our own on the test server, with the schema; dropped afterwards."""
    url = make_url(os.environ["CAREAPP_DATABASE_URL"])
    name = f"careapp_devices_race_{os.getpid()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name), pool_size=RACERS + 2, max_overflow=0)
    try:
        from careapp.db import Base

        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _build(engine: Engine, stock: int) -> tuple[Actor, int, list[int]]:
    """Commit an administrator, a wheelchair type with `stock` devices and six beneficiaries."""
    with Session(engine, expire_on_commit=False) as session:
        factories.bind(session)
        try:
            user = UserFactory(admin=True)
            device = DeviceTypeFactory(stock=stock)
            policy = PolicyVersionFactory()
            people = [
                EntitlementFactory(decision__policy_version=policy).person_id for _ in range(RACERS)
            ]
            session.commit()
        finally:
            factories.bind(None)
    return Actor(user_id=user.id, role=Role.ADMIN, address="race"), device.id, people


def _lend(engine: Engine, actor: Actor, device_id: int, person_id: int) -> Callable[[], str]:
    def job() -> str:
        with Session(engine) as session:
            try:
                record_device_loan(
                    session, actor, person_id, LoanInput(device_id, TODAY, None, None), NOW
                )
                session.commit()
            except ConflictError as error:
                session.rollback()
                return error.message
        return "lent"

    return job


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
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results


def _loans(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(DeviceLoan)) or 0


def test_the_last_device_in_stock_is_lent_once(app: Flask, race_engine: Engine) -> None:
    actor, device_id, people = _build(race_engine, stock=1)
    results = _run_together(app, [_lend(race_engine, actor, device_id, p) for p in people])
    assert Counter(results) == {"lent": 1, "No Wheelchair is left in stock.": RACERS - 1}
    assert _loans(race_engine) == 1


def test_one_person_gets_one_device_of_a_type(app: Flask, race_engine: Engine) -> None:
    actor, device_id, people = _build(race_engine, stock=RACERS)
    jobs = [_lend(race_engine, actor, device_id, people[0]) for _ in range(RACERS)]
    results = _run_together(app, jobs)
    assert results.count("lent") == 1
    assert all(r == "lent" or r.endswith("already has a Wheelchair on loan.") for r in results)
    assert _loans(race_engine) == 1
