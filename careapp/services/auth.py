"""Logging in, with throttling after repeated failures per account and per address.

The throttle cannot be raced: an attempt first takes a lock per account and per address (on
PostgreSQL two transaction-scoped advisory locks; on SQLite the database write lock, which the
attempt's own insert takes), records itself as a failure, and only then counts the failures in
the window, its own included. The password is checked only if that count is within the limit,
and the attempt is marked a success afterwards. The locks are held until the caller commits, so
a parallel burst is served one attempt at a time per account and per address: at most
`max_failures` passwords are checked in a window, however many requests arrive together.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from careapp import metrics
from careapp.core.errors import InvalidInputError, ThrottledError
from careapp.models.users import LoginAttempt, Role, User
from careapp.security import DUMMY_PASSWORD_HASH, hash_password, verify_password
from careapp.services.actor import Actor
from careapp.services.audit import record_event

# First keys of the two-key pg_advisory_xact_lock of login attempts ("logu", "loga" in ASCII);
# the second key is hashtext() of the username or the address.
ACCOUNT_LOCK_SPACE = 0x6C6F6775
ADDRESS_LOCK_SPACE = 0x6C6F6761


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    address: str,
    now: dt.datetime,
    max_failures: int,
    window: dt.timedelta,
) -> User:
    """Return the user for these credentials or raise; every attempt is recorded. The `login`
    is audited here unless the user must also give a second factor (`User.requires_two_factor`:
    then `careapp.services.two_factor.verify_login` audits it).

    After `max_failures` failures within `window`, for the account or for the address, further
    attempts are refused (even with the right password) until the window has passed.
    """
    username = username.strip().lower()
    attempt = begin_attempt(
        session,
        username,
        address=address,
        now=now,
        max_failures=max_failures,
        window=window,
        field="password",
    )
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else DUMMY_PASSWORD_HASH, password)
    if not ok or user is None or not user.is_enabled:
        metrics.count_login_failure(metrics.WRONG_PASSWORD)
        raise InvalidInputError(gettext("Wrong username or password."), field="password")
    attempt.is_success = True
    if not user.requires_two_factor:  # else the login is audited once the second factor is in
        record_event(
            session,
            Actor(user_id=user.id, role=user.role, provider_id=user.provider_id, address=address),
            "login",
            "user",
            user.id,
            now=now,
        )
    return user


def begin_attempt(
    session: Session,
    username: str,
    *,
    address: str,
    now: dt.datetime,
    max_failures: int,
    window: dt.timedelta,
    field: str,
) -> LoginAttempt:
    """Count one check of a secret (a password, or a second-factor code) before it is made.

    Locks the account and the address, records the attempt as a failure and refuses it
    (ThrottledError, on `field`) when the window then holds more than `max_failures` failures;
    the caller checks the secret only after this returns, and marks the attempt a success.
    """
    _lock_attempts(session, username, address)
    attempt = LoginAttempt(username=username, address=address, attempted_at=now, is_success=False)
    session.add(attempt)
    session.flush()  # on SQLite this takes the write lock, before anything is counted
    since = now - window
    if (
        _recent_failures(session, LoginAttempt.username == username, since) > max_failures
        or _recent_failures(session, LoginAttempt.address == address, since) > max_failures
    ):
        session.delete(attempt)  # a refused attempt is not counted again
        session.flush()
        metrics.count_login_failure(metrics.THROTTLED)
        raise ThrottledError(
            gettext(
                "Too many failed logins. Please wait %(minutes)d minutes and try again.",
                minutes=int(window.total_seconds() // 60),
            ),
            field=field,
        )
    return attempt


def _lock_attempts(session: Session, username: str, address: str) -> None:
    """Serialize the attempts on one account and on one address until the transaction ends.

    PostgreSQL: two advisory transaction locks, always the account's before the address's (so
    two attempts never wait for each other in a cycle). SQLite has no advisory locks; there the
    write lock taken by the attempt's insert serializes every attempt.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(select(func.pg_advisory_xact_lock(ACCOUNT_LOCK_SPACE, func.hashtext(username))))
    session.execute(select(func.pg_advisory_xact_lock(ADDRESS_LOCK_SPACE, func.hashtext(address))))


def account_failures(session: Session, username: str, *, since: dt.datetime) -> int:
    """The failed logins counted against the account since `since` (what the throttle counts;
    failures an administrator cleared are left out)."""
    return _recent_failures(session, LoginAttempt.username == username.strip().lower(), since)


def _recent_failures(session: Session, who: ColumnElement[bool], since: dt.datetime) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            who,
            LoginAttempt.is_success.is_(False),
            LoginAttempt.attempted_at > since,
            LoginAttempt.cleared_at.is_(None),  # failures an administrator cleared (unlock)
        )
    )
    return count or 0


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: str,
    role: Role,
    provider_id: int | None = None,
) -> User:
    if role in (Role.PROVIDER_MANAGER, Role.CAREGIVER) and provider_id is None:
        raise InvalidInputError(gettext("This role belongs to a provider; choose one."))
    user = User(
        username=username.strip().lower(),
        password_hash=hash_password(password),
        display_name=display_name,
        role=role,
        provider_id=provider_id,
    )
    session.add(user)
    session.flush()
    return user
