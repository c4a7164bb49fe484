"""Races on PostgreSQL: administrators reviewing one flag at once, and audits running together.

Like the other race tests these commit real data from several connections in a database of their
own (tests/races.py).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from careapp.models import AuditEvent, ClaimFlag, ClaimFlagStatus, Role, VerificationMethod
from careapp.services.actor import Actor
from careapp.services.claims import (
    ClaimAuditSettings,
    ReviewDecision,
    audit_days,
    review_claim_flag,
)
from scheduling.visits import VisitStatus
from tests import factories
from tests.factories import NOW, TODAY
from tests.races import attempt, race_engine_fixture, run_together, seeding

pytestmark = pytest.mark.postgres_only

RACERS = 4
SETTINGS = ClaimAuditSettings()

race_engine = race_engine_fixture(pool_size=RACERS + 2)


def _build(engine: Engine) -> list[Actor]:
    """Commit administrators and two manual visits of one caregiver that overlap."""
    with seeding(engine):
        admins = [factories.UserFactory(admin=True) for _ in range(RACERS)]
        caregiver = factories.CaregiverFactory()
        for n, start in enumerate((dt.time(9, 0), dt.time(9, 30))):
            visit = factories.caregiver_visit(caregiver)
            visit.person.home_lat = 32.0 + n / 100
            visit.status = VisitStatus.COMPLETED
            visit.verification = VerificationMethod.MANUAL
            visit.checked_in_at = dt.datetime.combine(TODAY, start, dt.UTC) - dt.timedelta(hours=8)
            visit.checked_out_at = visit.checked_in_at + dt.timedelta(hours=1)
    return [Actor(user_id=user.id, role=Role.ADMIN, address="race") for user in admins]


def _audit(engine: Engine) -> Callable[[], str]:
    def job() -> str:
        with Session(engine) as session:
            outcome = audit_days(session, Actor(None, None), TODAY, TODAY, NOW, SETTINGS)
            session.commit()
        return str(len(outcome.raised))

    return job


def _review(engine: Engine, actor: Actor, flag_id: int, n: int) -> Callable[[], str]:
    decision = ReviewDecision.CLEAR if n % 2 else ReviewDecision.UPHOLD

    def review(session: Session) -> object:
        return review_claim_flag(session, actor, flag_id, decision, f"审核意见 {n}", NOW)

    return lambda: attempt(engine, review, "reviewed")


def test_audits_at_once_raise_each_flag_once(app: Flask, race_engine: Engine) -> None:
    _build(race_engine)
    results = run_together(app, [_audit(race_engine) for _ in range(RACERS)])
    # Each flag is raised by exactly one of them (ON CONFLICT DO NOTHING), none fails.
    assert sum(int(r) for r in results) == 5, results
    with Session(race_engine) as session:
        assert session.scalar(select(func.count()).select_from(ClaimFlag)) == 5
        raised = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "claim_flag.raise")
        )
        assert raised == 5


def test_a_flag_is_reviewed_once_when_administrators_race(app: Flask, race_engine: Engine) -> None:
    admins = _build(race_engine)
    run_together(app, [_audit(race_engine)])
    with Session(race_engine) as session:
        flag_id = session.scalars(select(ClaimFlag.id).order_by(ClaimFlag.id)).first()
    assert flag_id is not None
    jobs = [_review(race_engine, actor, flag_id, n) for n, actor in enumerate(admins)]
    results = run_together(app, jobs)
    assert Counter(results) == {
        "reviewed": 1,
        "refused: This flag has already been reviewed.": RACERS - 1,
    }
    with Session(race_engine) as session:
        flag = session.get(ClaimFlag, flag_id)
        assert flag is not None
        assert flag.status in (ClaimFlagStatus.CLEARED, ClaimFlagStatus.UPHELD)
        reviews = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.in_(["claim_flag.cleared", "claim_flag.upheld"]))
        )
        assert reviews == 1
