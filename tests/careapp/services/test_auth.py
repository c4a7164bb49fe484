"""Logging in: argon2 hashes, every attempt recorded, throttling per account and per address."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.errors import InvalidInputError, ThrottledError
from careapp.models import AuditEvent, LoginAttempt, Role
from careapp.security import verify_password
from careapp.services.auth import authenticate, create_user
from tests.factories import NOW, PASSWORD, UserFactory

WINDOW = dt.timedelta(minutes=15)


def login(session: Session, username: str, password: str, *, address: str = "10.0.0.1", now=NOW):  # type: ignore[no-untyped-def]
    return authenticate(
        session, username, password, address=address, now=now, max_failures=5, window=WINDOW
    )


def fail(session: Session, username: str, times: int, *, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        with pytest.raises(InvalidInputError):
            login(session, username, "wrong password", address=address)


def test_create_user_stores_an_argon2_hash_not_the_password(db_session: Session) -> None:
    user = create_user(
        db_session, username="Nurse.Li", password="s3cret-pass", display_name="李", role=Role.ADMIN
    )
    assert user.password_hash.startswith("$argon2id$")
    assert "s3cret-pass" not in user.password_hash
    assert verify_password(user.password_hash, "s3cret-pass")
    assert not verify_password(user.password_hash, "s3cret-pasS")


def test_right_password_logs_in_records_the_attempt_and_audits(db_session: Session) -> None:
    user = UserFactory(assessor=True)  # no second factor: the password completes the login
    assert login(db_session, f"  {user.username.upper()} ", PASSWORD) is user
    attempt = db_session.scalar(select(LoginAttempt).where(LoginAttempt.username == user.username))
    assert attempt is not None
    assert attempt.is_success
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "login"))
    assert event is not None
    assert event.actor_id == user.id


def test_a_right_password_is_not_yet_a_login_for_an_administrator(db_session: Session) -> None:
    admin = UserFactory(admin=True)
    assert login(db_session, admin.username, PASSWORD) is admin
    attempt = db_session.scalar(select(LoginAttempt).where(LoginAttempt.username == admin.username))
    assert attempt is not None
    assert attempt.is_success
    # The login is audited once the second factor is in (services/two_factor.verify_login).
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "login")) is None


@pytest.mark.parametrize("username", ["nobody", "user-that-does-not-exist"])
def test_unknown_user_and_wrong_password_get_the_same_message(
    db_session: Session, username: str
) -> None:
    user = UserFactory()
    with pytest.raises(InvalidInputError) as unknown:
        login(db_session, username, PASSWORD)
    with pytest.raises(InvalidInputError) as wrong:
        login(db_session, user.username, "not it")
    assert unknown.value.message == wrong.value.message


def test_disabled_user_cannot_log_in(db_session: Session) -> None:
    user = UserFactory(is_enabled=False)
    with pytest.raises(InvalidInputError):
        login(db_session, user.username, PASSWORD)


def test_five_failures_lock_the_account_even_with_the_right_password(db_session: Session) -> None:
    user = UserFactory()
    fail(db_session, user.username, 4)
    assert login(db_session, user.username, PASSWORD) is user  # four failures: still allowed
    fail(db_session, user.username, 1)
    with pytest.raises(ThrottledError):
        login(db_session, user.username, PASSWORD, address="10.9.9.9")  # any address


def test_five_failures_from_one_address_lock_that_address_for_every_account(
    db_session: Session,
) -> None:
    victims = UserFactory.create_batch(5)
    for victim in victims:
        fail(db_session, victim.username, 1, address="10.6.6.6")
    other = UserFactory()
    with pytest.raises(ThrottledError):
        login(db_session, other.username, PASSWORD, address="10.6.6.6")
    assert login(db_session, other.username, PASSWORD, address="10.0.0.2") is other


def test_the_lock_lifts_once_the_window_has_passed(db_session: Session) -> None:
    user = UserFactory()
    fail(db_session, user.username, 5)
    with pytest.raises(ThrottledError):
        login(db_session, user.username, PASSWORD, now=NOW + WINDOW - dt.timedelta(seconds=1))
    assert login(db_session, user.username, PASSWORD, now=NOW + WINDOW) is user


def test_throttled_attempts_are_not_counted_again(db_session: Session) -> None:
    user = UserFactory()
    fail(db_session, user.username, 5)
    before = db_session.scalar(select(func.count()).select_from(LoginAttempt))
    with pytest.raises(ThrottledError):
        login(db_session, user.username, PASSWORD)
    assert db_session.scalar(select(func.count()).select_from(LoginAttempt)) == before


def test_the_attempt_counts_as_a_failure_while_the_password_is_checked(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted before the check (so a parallel burst cannot race it), a success only after."""
    user = UserFactory()
    seen: list[list[bool]] = []

    def checking(password_hash: str, password: str) -> bool:
        seen.append(list(db_session.scalars(select(LoginAttempt.is_success))))
        return verify_password(password_hash, password)

    monkeypatch.setattr("careapp.services.auth.verify_password", checking)
    assert login(db_session, user.username, PASSWORD) is user
    assert seen == [[False]]
    assert list(db_session.scalars(select(LoginAttempt.is_success))) == [True]
