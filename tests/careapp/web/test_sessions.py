"""Sessions end on the server: logout, a new password and disabling end every copy of a session
cookie at once; idle and absolute timeouts by the one clock; no login from a remember cookie."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login.utils import encode_cookie
from sqlalchemy.orm import Session

from careapp.config import Config
from careapp.models import User
from careapp.services.sessions import disable_user, set_password
from tests.conftest import PinnedClock
from tests.factories import NOW, UserFactory, actor_of

PAGE = "/"  # behind the login


def _is_logged_in(client: FlaskClient) -> bool:
    response = client.get(PAGE)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200, response.status_code
    return True


def _copy(app: Flask, client: FlaskClient) -> FlaskClient:
    """A second browser holding a copy of `client`'s session cookie."""
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(name, cookie.value)
    return thief


@pytest.fixture(autouse=True)
def _real_timeouts(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The defaults of production (TestConfig lifts them for the rest of the suite)."""
    for key in ("SESSION_IDLE_TIMEOUT_MINUTES", "SESSION_ABSOLUTE_TIMEOUT_MINUTES"):
        monkeypatch.setitem(app.config, key, getattr(Config, key))


@pytest.fixture
def user(db_session: Session) -> User:
    found: User = UserFactory(assessor=True)
    return found


def test_a_copied_cookie_works_until_logout_and_never_after(
    app: Flask, login_as: Any, user: User
) -> None:
    client = login_as(user)
    thief = _copy(app, client)
    assert _is_logged_in(thief)
    assert client.post("/logout").status_code == 302
    assert not _is_logged_in(client)
    assert not _is_logged_in(thief)


def test_logging_in_again_does_not_revive_an_older_copy(
    app: Flask, login_as: Any, user: User
) -> None:
    client = login_as(user)
    thief = _copy(app, client)
    client.post("/logout")
    login_as(user)
    assert _is_logged_in(client)
    assert not _is_logged_in(thief)


def test_a_new_password_ends_every_session(
    app: Flask, db_session: Session, login_as: Any, user: User
) -> None:
    client = login_as(user)
    tablet = _copy(app, client)
    set_password(db_session, actor_of(user), user, "a new long passphrase", now=NOW)
    db_session.flush()
    assert not _is_logged_in(client)
    assert not _is_logged_in(tablet)


def test_disabling_a_user_ends_their_sessions(
    app: Flask, db_session: Session, login_as: Any, user: User
) -> None:
    client = login_as(user)
    disable_user(db_session, actor_of(UserFactory(admin=True)), user, now=NOW)
    db_session.flush()
    assert not _is_logged_in(client)


def test_a_disabled_account_s_session_ends_even_without_a_new_version(
    db_session: Session, login_as: Any, user: User
) -> None:
    client = login_as(user)
    user.is_enabled = False
    db_session.flush()
    assert not _is_logged_in(client)


def test_the_defaults_suit_shared_tablets() -> None:
    assert Config.SESSION_IDLE_TIMEOUT_MINUTES == 15
    assert 8 * 60 <= Config.SESSION_ABSOLUTE_TIMEOUT_MINUTES <= 12 * 60


def test_an_idle_session_ends(clock: PinnedClock, login_as: Any, user: User) -> None:
    client = login_as(user)
    clock.advance(dt.timedelta(minutes=14))
    assert _is_logged_in(client)
    clock.advance(dt.timedelta(minutes=14))  # 28 minutes after login, 14 after the last request
    assert _is_logged_in(client)
    clock.advance(dt.timedelta(minutes=15, seconds=1))
    assert not _is_logged_in(client)
    clock.advance(dt.timedelta(minutes=1))
    assert not _is_logged_in(client)  # the session was forgotten, not only refused once


def test_an_idle_copy_ends_while_the_original_is_used(
    app: Flask, clock: PinnedClock, login_as: Any, user: User
) -> None:
    client = login_as(user)
    thief = _copy(app, client)
    for _ in range(2):
        clock.advance(dt.timedelta(minutes=10))
        assert _is_logged_in(client)
    assert not _is_logged_in(thief)


def test_a_busy_session_ends_at_the_absolute_timeout(
    app: Flask, clock: PinnedClock, login_as: Any, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_TIMEOUT_MINUTES", 60)
    client = login_as(user)
    for _ in range(6):  # a request every 10 minutes: never idle
        clock.advance(dt.timedelta(minutes=10))
        assert _is_logged_in(client)
    clock.advance(dt.timedelta(seconds=1))
    assert not _is_logged_in(client)
    assert clock.now() == NOW + dt.timedelta(hours=1, seconds=1)


def test_a_remember_cookie_alone_never_logs_in(app: Flask, user: User) -> None:
    browser = app.test_client()
    with app.test_request_context():
        token = encode_cookie(user.get_id())
    browser.set_cookie("remember_token", token)
    assert not _is_logged_in(browser)


def test_the_session_keeps_only_the_language_across_a_login(
    login_as: Any, user: User, english: FlaskClient
) -> None:
    client = login_as(user)
    with client.session_transaction() as session:
        assert session["lang"] == "en"
        assert session["_user_id"] == f"{user.id}:{user.session_version}"
        assert session["_login_at"] == session["_seen_at"] == int(NOW.timestamp())
