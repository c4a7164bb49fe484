"""Races: a parallel burst of logins, each in a connection of its own, on PostgreSQL and SQLite.

However many attempts arrive together, at most five passwords are checked per account and per
address in the window, and the right password does not get in once five failures are counted.
The PostgreSQL runs commit real rows in a database of their own (tests/races.py); the SQLite runs
in a database file of their own, as the embedded default is deployed.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from careapp.core.errors import InvalidInputError, ThrottledError
from careapp.models import LoginAttempt
from careapp.services import auth
from tests.factories import NOW, PASSWORD, UserFactory
from tests.races import race_or_file_engine_fixture, run_together, seeding

RACERS = 12
LIMIT = 5
WINDOW = dt.timedelta(minutes=15)
LOGGED_IN = "logged in"
WRONG = "refused: Wrong username or password."
THROTTLED = "refused: Too many failed logins. Please wait 15 minutes and try again."

engine = race_or_file_engine_fixture(pool_size=RACERS + 2)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password the login service checks, as it checks it (from any thread)."""
    checked: list[str] = []
    lock = threading.Lock()
    verify = auth.verify_password

    def counting(password_hash: str, password: str) -> bool:
        with lock:
            checked.append(password)
        return verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    return checked


def _login(engine: Engine, username: str, password: str, address: str) -> Callable[[], str]:
    """One login as the login view makes it: a refused attempt is committed too."""

    def job() -> str:
        with Session(engine) as session:
            try:
                auth.authenticate(
                    session,
                    username,
                    password,
                    address=address,
                    now=NOW,
                    max_failures=LIMIT,
                    window=WINDOW,
                )
            except (InvalidInputError, ThrottledError) as error:
                session.commit()
                return f"refused: {error.message}"
            session.commit()
            return LOGGED_IN

    return job


def _attempts(engine: Engine) -> list[LoginAttempt]:
    with Session(engine) as session:
        return list(session.scalars(select(LoginAttempt).order_by(LoginAttempt.id)))


def _username(engine: Engine) -> str:
    with seeding(engine):
        user = UserFactory()
    return str(user.username)


def test_a_burst_on_one_account_checks_five_passwords(
    app: Flask, engine: Engine, checks: list[str]
) -> None:
    username = _username(engine)
    jobs = [_login(engine, username, "wrong", f"10.1.0.{i}") for i in range(RACERS)]
    results = run_together(app, jobs)
    assert Counter(results) == {WRONG: LIMIT, THROTTLED: RACERS - LIMIT}
    assert len(checks) == LIMIT
    assert [a.is_success for a in _attempts(engine)] == [False] * LIMIT


def test_a_burst_from_one_address_checks_five_passwords(
    app: Flask, engine: Engine, checks: list[str]
) -> None:
    with seeding(engine):
        usernames = [str(user.username) for user in UserFactory.create_batch(RACERS)]
    results = run_together(app, [_login(engine, u, "wrong", "10.6.6.6") for u in usernames])
    assert Counter(results) == {WRONG: LIMIT, THROTTLED: RACERS - LIMIT}
    assert len(checks) == LIMIT
    assert len(_attempts(engine)) == LIMIT


def test_the_right_password_in_a_burst_after_five_failures_does_not_log_in(
    app: Flask, engine: Engine, checks: list[str]
) -> None:
    username = _username(engine)
    failing = [_login(engine, username, "wrong", f"10.1.0.{i}") for i in range(RACERS)]
    run_together(app, failing)
    mixed = [
        _login(engine, username, PASSWORD if i % 2 else "wrong", f"10.2.0.{i}")
        for i in range(RACERS)
    ]
    assert run_together(app, mixed) == [THROTTLED] * RACERS
    assert len(checks) == LIMIT
    assert len(_attempts(engine)) == LIMIT


def test_a_mixed_burst_logs_in_only_before_the_fifth_failure(
    app: Flask, engine: Engine, checks: list[str]
) -> None:
    username = _username(engine)
    jobs = [
        _login(engine, username, PASSWORD if i % 2 else "wrong", f"10.3.0.{i}")
        for i in range(RACERS)
    ]
    results = run_together(app, jobs)
    attempts = _attempts(engine)  # in the order they held the account's lock
    failures_before = [sum(not a.is_success for a in attempts[:i]) for i in range(len(attempts))]
    assert sum(not a.is_success for a in attempts) <= LIMIT
    assert all(n < LIMIT for a, n in zip(attempts, failures_before, strict=True) if a.is_success)
    assert len(checks) == len(attempts)
    assert results.count(LOGGED_IN) == sum(a.is_success for a in attempts)
    assert set(results) <= {LOGGED_IN, WRONG, THROTTLED}
