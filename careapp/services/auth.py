"""Logging in, with throttling after repeated failures per account and per address."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from careapp.core.errors import InvalidInputError, ThrottledError
from careapp.models.users import LoginAttempt, Role, User
from careapp.security import DUMMY_PASSWORD_HASH, hash_password, verify_password
from careapp.services.actor import Actor
from careapp.services.audit import record_event


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
    """Return the user for these credentials or raise; every attempt is recorded.

    After `max_failures` failures within `window`, for the account or for the address, further
    attempts are refused (even with the right password) until the window has passed.
    """
    username = username.strip().lower()
    since = now - window
    if (
        _recent_failures(session, LoginAttempt.username == username, since) >= max_failures
        or _recent_failures(session, LoginAttempt.address == address, since) >= max_failures
    ):
        raise ThrottledError(
            gettext(
                "Too many failed logins. Please wait %(minutes)d minutes and try again.",
                minutes=int(window.total_seconds() // 60),
            ),
            field="password",
        )
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else DUMMY_PASSWORD_HASH, password)
    ok = ok and user is not None and user.is_enabled
    session.add(LoginAttempt(username=username, address=address, attempted_at=now, is_success=ok))
    if not ok or user is None:
        raise InvalidInputError(gettext("Wrong username or password."), field="password")
    record_event(
        session,
        Actor(user_id=user.id, role=user.role, provider_id=user.provider_id, address=address),
        "login",
        "user",
        user.id,
        now=now,
    )
    return user


def _recent_failures(session: Session, who: ColumnElement[bool], since: dt.datetime) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(who, LoginAttempt.is_success.is_(False), LoginAttempt.attempted_at > since)
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
