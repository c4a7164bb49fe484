"""Races on PostgreSQL: administrators issuing the same provider's month at the same time.

Like the other race tests, this one commits real rows in a database of its own (tests/races.py).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import partial

import pytest
from flask import Flask
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from careapp.models import Role
from careapp.services.actor import Actor
from careapp.services.settlement import issue_month_statements, issue_statement
from tests.factories import (
    NOW,
    ProviderFactory,
    ServiceItemFactory,
    UserFactory,
    home_service_beneficiary,
    october_visit,
    plan_for,
)
from tests.races import attempt, race_engine_fixture, run_together, seeding

pytestmark = pytest.mark.postgres_only

OCT = dt.date(2026, 10, 1)

race_engine = race_engine_fixture(pool_size=20)


def test_concurrent_issues_give_one_statement_per_provider_and_month(
    app: Flask, race_engine: Engine
) -> None:
    with seeding(race_engine):
        ServiceItemFactory(code="bathing", unit_price_fen=8000)
        company = ProviderFactory()
        plan = plan_for(home_service_beneficiary(), company)
        for day in (2, 3, 4):
            october_visit(plan, day)
        admin_user = UserFactory(admin=True)
    actor = Actor(user_id=admin_user.id, role=Role.ADMIN, address="race")
    racers = 8

    def one(session: Session) -> object:
        return issue_statement(session, actor, company.id, OCT, NOW)

    def month(session: Session) -> object:
        return issue_month_statements(session, actor, OCT, NOW)

    jobs = [partial(attempt, race_engine, one if i % 2 else month, "done") for i in range(racers)]
    results = run_together(app, jobs)
    assert not [r for r in results if r.startswith("unexpected")], results
    assert Counter(r.split(":")[0] for r in results)["done"] >= 1
    with race_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT sequence, total_fen FROM settlement_statements")
        ).all()
    assert [tuple(row) for row in rows] == [(1, 24_000)]
