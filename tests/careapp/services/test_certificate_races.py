"""Races on PostgreSQL: the same document opened at the same moment in many connections gets
one number (the partial unique index of current certificates), never one per opening.

Like the other race tests, these commit real rows in a database of their own (tests/races.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from careapp.models import Certificate, Role
from careapp.services.actor import Actor
from careapp.services.certificates import issue_assessment_conclusion
from tests.factories import NOW, AssessmentFactory, UserFactory
from tests.races import attempt, race_engine_fixture, run_together, seeding

pytestmark = pytest.mark.postgres_only

RACERS = 6

race_engine = race_engine_fixture(pool_size=RACERS + 2)


def _build(engine: Engine) -> tuple[Actor, int]:
    with seeding(engine):
        user = UserFactory(admin=True)
        assessment = AssessmentFactory()
    return Actor(user_id=user.id, role=Role.ADMIN, address="race"), assessment.id


def _open(
    engine: Engine, actor: Actor, assessment_id: int, numbers: list[str]
) -> Callable[[], str]:
    def issue(session: Session) -> object:
        certificate, data = issue_assessment_conclusion(
            session, actor, assessment_id, NOW, base_url="https://ltc.example.cn"
        )
        numbers.append(data.certificate_number)
        return certificate

    return lambda: attempt(engine, issue, "printed")


def test_simultaneous_openings_share_one_number(app: Flask, race_engine: Engine) -> None:
    actor, assessment_id = _build(race_engine)
    numbers: list[str] = []
    results = run_together(
        app, [_open(race_engine, actor, assessment_id, numbers) for _ in range(RACERS)]
    )
    assert Counter(results) == {"printed": RACERS}
    with Session(race_engine) as session:
        stored = session.scalars(select(Certificate.number)).all()
    assert len(stored) == 1
    assert numbers == [stored[0]] * RACERS
