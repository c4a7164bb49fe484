"""Sessions that end: revoked on the server, and idle and absolute timeouts.

The session cookie is signed but kept by the browser, so a copy of it would work for as long
as it says. Three checks, made whenever the logged-in user is loaded (every request that asks
who is logged in, from the session or from a remember cookie):

- the session names the user's `session_version` (`User.get_id`): logout, a new password and
  disabling the account raise it (`careapp.services.sessions.end_sessions`), which ends every
  session of the user, copies included;
- the account is enabled;
- by the one clock, the session was used within `SESSION_IDLE_TIMEOUT_MINUTES` and opened
  within `SESSION_ABSOLUTE_TIMEOUT_MINUTES`. A session without these times (one restored from
  a remember cookie alone) is refused too.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, session
from flask_login import login_user, logout_user

from careapp import db
from careapp.core.clock import utcnow
from careapp.models.users import User

LOGIN_AT = "_login_at"  # when the user logged in (UTC, seconds since the epoch)
SEEN_AT = "_seen_at"  # the last request of the session
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", LOGIN_AT, SEEN_AT)
# A login waiting for its second factor: "<id>:<session version>", when the password was
# accepted, and where to go afterwards. Nobody is logged in meanwhile.
PENDING_USER = "_2fa_user"
PENDING_AT = "_2fa_at"
PENDING_NEXT = "_2fa_next"
_PENDING_KEYS = (PENDING_USER, PENDING_AT, PENDING_NEXT)
_KEPT_ACROSS_LOGIN = ("lang",)


def start_session(user: User, now: dt.datetime) -> None:
    """Log `user` in with a fresh session (only the language choice is kept)."""
    for key in [key for key in session if key not in _KEPT_ACROSS_LOGIN]:
        session.pop(key)
    login_user(user)
    session[LOGIN_AT] = session[SEEN_AT] = int(now.timestamp())


def end_session() -> None:
    """Forget the login in this browser (the server-side end is `end_sessions`)."""
    logout_user()
    session.pop(LOGIN_AT, None)
    session.pop(SEEN_AT, None)
    for key in _PENDING_KEYS:
        session.pop(key, None)


def start_pending_login(user: User, now: dt.datetime, next_url: str) -> None:
    """The password is right but the second factor is still to come: log out whoever was
    logged in here and remember only who is half-way in, for TWO_FACTOR_PENDING_MINUTES."""
    end_session()
    session[PENDING_USER] = user.get_id()
    session[PENDING_AT] = int(now.timestamp())
    session[PENDING_NEXT] = next_url


def pending_login_user(now: dt.datetime) -> User | None:
    """The user whose password was accepted here and whose second factor is awaited, or None
    (and the marker forgotten) when there is none, it expired or the user's sessions ended."""
    user_id, at = session.get(PENDING_USER), session.get(PENDING_AT)
    if not isinstance(user_id, str) or not isinstance(at, int):
        return None
    limit = dt.timedelta(minutes=current_app.config["TWO_FACTOR_PENDING_MINUTES"])
    user = _user_of(user_id)
    if user is None or not 0 <= int(now.timestamp()) - at <= limit.total_seconds():
        for key in _PENDING_KEYS:
            session.pop(key, None)
        return None
    return user


def pending_login_next() -> str | None:
    found = session.get(PENDING_NEXT)
    return found if isinstance(found, str) else None


def load_session_user(user_id: str) -> User | None:
    """The user of this session, or None (and the session forgotten) when it has ended."""
    user = _user_of(user_id)
    if user is None or not _in_time(utcnow()):
        for key in _LOGIN_KEYS:
            session.pop(key, None)
        return None
    return user


def _user_of(user_id: str) -> User | None:
    number, _, version = user_id.partition(":")
    if not (number.isdigit() and version.isdigit()) or len(number) > 18 or len(version) > 18:
        return None
    # Read the row as stored now, not a copy an earlier request of this session left behind.
    user = db.session().get(User, int(number), populate_existing=True)
    if user is None or not user.is_enabled or user.session_version != int(version):
        return None
    return user


def _in_time(now: dt.datetime) -> bool:
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return False
    moment = int(now.timestamp())
    idle = dt.timedelta(minutes=current_app.config["SESSION_IDLE_TIMEOUT_MINUTES"])
    absolute = dt.timedelta(minutes=current_app.config["SESSION_ABSOLUTE_TIMEOUT_MINUTES"])
    if moment - seen_at > idle.total_seconds() or moment - login_at > absolute.total_seconds():
        return False
    if seen_at != moment:
        session[SEEN_AT] = moment
    return True
