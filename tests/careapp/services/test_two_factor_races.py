"""Races: the same second-factor code sent several times at once is accepted once, on
PostgreSQL and on SQLite (a replayed code within its window, V2.8.4; a recovery code, V2.6.1)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from careapp.core.errors import InvalidInputError, ThrottledError
from careapp.models import RecoveryCode, User
from careapp.services.actor import Actor
from careapp.services.two_factor import (
    Attempt,
    code_at,
    regenerate_recovery_codes,
    verify_login,
)
from tests.factories import NOW, TEST_PROTECTOR, UserFactory, totp_secret
from tests.races import race_or_file_engine_fixture, run_together, seeding

RACERS = 4  # fewer than the throttle's 5 failures: every racer's code is checked
IN = "logged in"
WRONG = "refused: Wrong code, or a code already used. Enter the current code."

engine = race_or_file_engine_fixture(pool_size=RACERS + 2)


def _second_step(engine: Engine, user_id: int, code: str, address: str) -> Callable[[], str]:
    """One second step as the page makes it: a refused code is committed too (the throttle)."""

    def job() -> str:
        with Session(engine) as session:
            user = session.get(User, user_id)
            assert user is not None
            attempt = Attempt(
                address=address, now=NOW, max_failures=5, window=dt.timedelta(minutes=15)
            )
            try:
                verify_login(session, user, code, TEST_PROTECTOR, attempt)
            except (InvalidInputError, ThrottledError) as error:
                session.commit()
                return f"refused: {error.message}"
            session.commit()
            return IN

    return job


def test_the_same_code_sent_together_logs_in_once(app: Flask, engine: Engine) -> None:
    with seeding(engine):
        admin = UserFactory(admin=True)
    code = code_at(totp_secret(admin.username), NOW)

    jobs = [_second_step(engine, admin.id, code, f"10.3.0.{i}") for i in range(RACERS)]
    results = run_together(app, jobs)

    assert Counter(results) == {IN: 1, WRONG: RACERS - 1}


def test_the_same_recovery_code_sent_together_logs_in_once(app: Flask, engine: Engine) -> None:
    with seeding(engine) as session:
        admin = UserFactory(admin=True)
        actor = Actor(user_id=admin.id, role=admin.role, address="10.4.0.1")
        attempt = Attempt("10.4.0.1", NOW, 5, dt.timedelta(minutes=15))
        codes = regenerate_recovery_codes(
            session, actor, admin, code_at(totp_secret(admin.username), NOW), TEST_PROTECTOR,
            attempt,
        )  # fmt: skip

    jobs = [_second_step(engine, admin.id, codes[0], f"10.5.0.{i}") for i in range(RACERS)]
    results = run_together(app, jobs)

    assert Counter(results) == {IN: 1, WRONG: RACERS - 1}
    with Session(engine) as session:
        used = session.scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None)))
        assert len(list(used)) == 1
