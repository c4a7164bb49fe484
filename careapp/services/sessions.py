"""Ending sessions: logout, a new password and disabling an account end every session at once.

A session carries the user's `session_version` from when it was opened (`User.get_id`);
`careapp.web.sessions` refuses a session whose version is no longer the user's. Raising the
version therefore ends every session of the user, on every device, including copies of the
cookie.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from sqlalchemy.orm import Session

from careapp.core.errors import InvalidInputError, PermissionDeniedError
from careapp.models.users import Role, User
from careapp.security import hash_password
from careapp.services.actor import Actor
from careapp.services.audit import record_event


def end_sessions(
    session: Session, actor: Actor, user: User, *, now: dt.datetime, reason: str = "logout"
) -> None:
    """End every session of `user` (audited with `reason`)."""
    user.session_version = User.session_version + 1  # atomic in the database
    session.flush()
    session.refresh(user, ["session_version"])
    record_event(
        session, actor, "end_sessions", "user", user.id, now=now, detail={"reason": reason}
    )


def set_password(
    session: Session, actor: Actor, user: User, password: str, *, now: dt.datetime
) -> None:
    """Give `user` a new password (the user themselves or an administrator); every session of
    the user ends, so whoever held one must log in with the new password."""
    if actor.user_id != user.id:
        actor.require(Role.ADMIN)
    if not password:
        raise InvalidInputError(gettext("Enter a password."), field="password")
    user.password_hash = hash_password(password)
    record_event(session, actor, "set_password", "user", user.id, now=now)
    end_sessions(session, actor, user, now=now, reason="password_changed")


def disable_user(session: Session, actor: Actor, user: User, *, now: dt.datetime) -> None:
    """Disable `user`'s account: no more logins, and every open session ends at once.

    Administrators disable anyone but themselves; a provider manager the caregivers of their
    own company.
    """
    if actor.is_role(Role.PROVIDER_MANAGER):
        provider_id = actor.require_provider()
        if user.role is not Role.CAREGIVER or user.provider_id != provider_id:
            raise PermissionDeniedError(gettext("You do not have permission to do this."))
    else:
        actor.require(Role.ADMIN)
    if actor.user_id == user.id:
        raise InvalidInputError(gettext("You cannot disable your own account."))
    user.is_enabled = False
    record_event(session, actor, "disable_user", "user", user.id, now=now)
    end_sessions(session, actor, user, now=now, reason="disabled")
