"""Races on PostgreSQL: administrators issuing the same provider's month at the same time.

Like the roster races, this test builds its own database (committed rows seen by every
connection) and drops it afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from careapp.access import Actor
from careapp.db import Base
from careapp.errors import ConflictError
from careapp.models import Role
from careapp.services.settlement import issue_month_statements, issue_statement
from tests import factories
from tests.careapp.services.test_settlement import beneficiary, plan_for, visit
from tests.conftest import NOW
from tests.factories import ProviderFactory, ServiceItemFactory, UserFactory

pytestmark = pytest.mark.postgres_only

OCT = dt.date(2026, 10, 1)


@pytest.fixture
def race_engine(app: Flask) -> Iterator[Engine]:
    url = make_url(os.environ["CAREAPP_DATABASE_URL"])
    name = f"careapp_settlement_race_{os.getpid()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name), pool_size=20, max_overflow=0)
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_concurrent_issues_give_one_statement_per_provider_and_month(
    app: Flask, race_engine: Engine
) -> None:
    with Session(race_engine, expire_on_commit=False) as session:
        factories.bind(session)
        try:
            ServiceItemFactory(code="bathing", unit_price_fen=8000)
            company = ProviderFactory()
            plan = plan_for(beneficiary(session), company)
            for day in (2, 3, 4):
                visit(plan, day)
            admin_user = UserFactory(admin=True)
            session.commit()
        finally:
            factories.bind(None)
    actor = Actor(user_id=admin_user.id, role=Role.ADMIN, address="race")
    racers = 8
    start = threading.Barrier(racers)
    results = [""] * racers

    def worker(index: int) -> None:
        with app.app_context(), force_locale("en"), Session(race_engine) as session:
            start.wait(timeout=30)
            try:
                if index % 2:
                    issue_statement(session, actor, company.id, OCT, NOW)
                else:
                    issue_month_statements(session, actor, OCT, NOW)
                session.commit()
                results[index] = "done"
            except ConflictError as error:
                session.rollback()
                results[index] = f"refused: {error.message}"
            except Exception as error:
                results[index] = f"unexpected {type(error).__name__}: {error}"

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert not [r for r in results if r.startswith("unexpected")], results
    assert Counter(r.split(":")[0] for r in results)["done"] >= 1
    with race_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT sequence, total_fen FROM settlement_statements")
        ).all()
    assert [tuple(row) for row in rows] == [(1, 24_000)]
