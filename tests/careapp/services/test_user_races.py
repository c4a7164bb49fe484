"""Races on PostgreSQL: administrators creating the same username at the same moment.

Each racer passes the check for a taken username before any of them has committed; the unique
constraint decides, and every loser gets the form error, not a 500 (tests/races.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from careapp.core.passwords import PasswordPolicy
from careapp.models import AuditEvent, Role, User
from careapp.services.actor import Actor
from careapp.services.users import NewUser, create_user
from tests.factories import NOW, UserFactory
from tests.races import attempt, race_engine_fixture, run_together, seeding

pytestmark = pytest.mark.postgres_only

RACERS = 6

race_engine = race_engine_fixture(pool_size=RACERS + 2)


def _create(engine: Engine, actor: Actor, n: int) -> Callable[[], str]:
    def create(session: Session) -> object:
        data = NewUser("same.name", f"评估员 {n}", Role.ASSESSOR)
        return create_user(session, actor, data, PasswordPolicy(), NOW)

    return lambda: attempt(engine, create, "created")


def test_one_username_is_taken_once(app: Flask, race_engine: Engine) -> None:
    with seeding(race_engine):
        admins = [UserFactory(admin=True) for _ in range(RACERS)]
    actors = [Actor(user_id=a.id, role=Role.ADMIN, address="race") for a in admins]
    results = run_together(app, [_create(race_engine, actor, n) for n, actor in enumerate(actors)])
    assert Counter(results) == {
        "created": 1,
        "refused: The username “same.name” is taken; choose another.": RACERS - 1,
    }
    with Session(race_engine) as session:
        assert session.scalar(select(func.count()).where(User.username == "same.name")) == 1
        events = select(func.count()).where(AuditEvent.action == "user.create")
        assert session.scalar(events) == 1  # the losers wrote nothing
