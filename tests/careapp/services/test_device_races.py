"""Races on PostgreSQL: administrators lending devices at the same moment, each in a connection.

Like the other race tests, these commit real rows in a database of their own (tests/races.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from careapp.models import DeviceLoan, Role
from careapp.services.actor import Actor
from careapp.services.devices import LoanInput, record_device_loan
from tests.factories import (
    NOW,
    TODAY,
    DeviceTypeFactory,
    EntitlementFactory,
    PolicyVersionFactory,
    UserFactory,
)
from tests.races import attempt, race_engine_fixture, run_together, seeding

pytestmark = pytest.mark.postgres_only

RACERS = 6

race_engine = race_engine_fixture(pool_size=RACERS + 2)


def _build(engine: Engine, stock: int) -> tuple[Actor, int, list[int]]:
    """Commit an administrator, a wheelchair type with `stock` devices and six beneficiaries."""
    with seeding(engine):
        user = UserFactory(admin=True)
        device = DeviceTypeFactory(stock=stock)
        policy = PolicyVersionFactory()
        people = [
            EntitlementFactory(decision__policy_version=policy).person_id for _ in range(RACERS)
        ]
    return Actor(user_id=user.id, role=Role.ADMIN, address="race"), device.id, people


def _lend(engine: Engine, actor: Actor, device_id: int, person_id: int) -> Callable[[], str]:
    def lend(session: Session) -> object:
        loan = LoanInput(device_id, TODAY, None, None)
        return record_device_loan(session, actor, person_id, loan, NOW)

    return lambda: attempt(engine, lend, "lent")


def _loans(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(DeviceLoan)) or 0


def test_the_last_device_in_stock_is_lent_once(app: Flask, race_engine: Engine) -> None:
    actor, device_id, people = _build(race_engine, stock=1)
    results = run_together(app, [_lend(race_engine, actor, device_id, p) for p in people])
    assert Counter(results) == {"lent": 1, "refused: No Wheelchair is left in stock.": RACERS - 1}
    assert _loans(race_engine) == 1


def test_one_person_gets_one_device_of_a_type(app: Flask, race_engine: Engine) -> None:
    actor, device_id, people = _build(race_engine, stock=RACERS)
    jobs = [_lend(race_engine, actor, device_id, people[0]) for _ in range(RACERS)]
    results = run_together(app, jobs)
    assert results.count("lent") == 1
    assert all(r == "lent" or r.endswith("already has a Wheelchair on loan.") for r in results)
    assert _loans(race_engine) == 1
