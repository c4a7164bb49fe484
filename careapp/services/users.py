"""Managing users: accounts, passwords, disabling and unlocking.

Who may do what:
- an administrator creates administrators, assessors and provider managers (with their
  provider), edits, disables and enables any account but their own, resets passwords and
  unlocks accounts the login throttle has locked;
- a provider manager creates their own company's caregivers (the account and the caregiver
  record dispatch uses), renames, disables and enables them; any other account is not found
  for them (404), as another company's visits are;
- everyone changes their own password, giving the current one.

A new account, and an account whose password someone else has reset, gets a temporary
password (typed by the administrator or generated) and `must_change_password`: until the user
chooses their own, every page leads to the password page (careapp.blueprints.users). Every
password is checked against the policy (careapp.core.passwords). A new password, a reset and
disabling end every session of the user (careapp.services.sessions). Every change is audited;
nothing is committed here (the caller commits once).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext, ngettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from careapp.core.clock import city_today
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ThrottledError,
)
from careapp.core.passwords import (
    PasswordPolicy,
    PasswordProblem,
    generate_password,
    password_problems,
)
from careapp.models.providers import Caregiver, Provider, Qualification
from careapp.models.users import LoginAttempt, Role, User
from careapp.security import DataProtector, hash_password, verify_password
from careapp.services import auth
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.registry import validate_id_number
from careapp.services.sessions import disable_user, end_sessions, set_password

# The roles an administrator gives; caregivers are created by their company's manager.
ADMIN_GIVES = (Role.ADMIN, Role.ASSESSOR, Role.PROVIDER_MANAGER)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
CONSOLE = Actor(user_id=None, role=None, address="cli")  # the operator at the server's console
# disable_account, enable_account: (session, actor, user id, now) -> the account.
AccountAction = Callable[[Session, Actor, int, dt.datetime], User]


def password_policy(config: Mapping[str, Any]) -> PasswordPolicy:
    """The policy the app's configuration sets (PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH)."""
    return PasswordPolicy(
        min_length=int(config["PASSWORD_MIN_LENGTH"]),
        max_length=int(config["PASSWORD_MAX_LENGTH"]),
    )


@dataclass(frozen=True)
class NewUser:
    """An administrator's new account: `password` empty to have one generated."""

    username: str
    display_name: str
    role: Role
    provider_id: int | None = None
    password: str = ""


@dataclass(frozen=True)
class NewCaregiver:
    """A provider manager's new caregiver: the login and the caregiver record of dispatch."""

    username: str
    name: str
    id_number: str
    qualifications: Sequence[str]
    work_days: Sequence[int]
    work_start: dt.time
    work_end: dt.time
    base_lat: float
    base_lon: float
    phone: str | None = None
    max_visits_per_day: int = 8
    password: str = ""


@dataclass(frozen=True)
class UserChange:
    """What an edit sets: the name always; role and provider only an administrator's."""

    display_name: str
    role: Role | None = None
    provider_id: int | None = None


@dataclass(frozen=True)
class Credentials:
    """An account and its temporary password, to be shown once (None when the administrator
    typed it)."""

    user: User
    temporary_password: str | None


# --- reading ------------------------------------------------------------------------------


def list_users(session: Session, actor: Actor, *, limit: int, offset: int = 0) -> list[User]:
    """The accounts the actor manages, by role and username: every account for an
    administrator, their own company's caregivers for a provider manager."""
    query = select(User).options(selectinload(User.provider)).order_by(User.role, User.username)
    provider_id = actor.provider_scope()
    if provider_id is not None:
        query = query.where(User.role == Role.CAREGIVER, User.provider_id == provider_id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    """An account the actor manages; anything else is not found (a manager never learns of
    another company's people nor of the staff)."""
    provider_id = actor.provider_scope()
    user = session.get(User, user_id)
    if user is None or (
        provider_id is not None
        and (user.role is not Role.CAREGIVER or user.provider_id != provider_id)
    ):
        raise NotFoundError(gettext("Not found."))
    return user


def provider_choices(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every provider, for a provider manager's account."""
    rows = session.execute(select(Provider.id, Provider.name).order_by(Provider.name, Provider.id))
    return [(row.id, row.name) for row in rows]


def login_failures(
    session: Session, actor: Actor, user: User, *, now: dt.datetime, window: dt.timedelta
) -> int:
    """The failed logins now counted against the account by the throttle (administrators)."""
    actor.require(Role.ADMIN)
    return auth.account_failures(session, user.username, since=now - window)


# --- creating -----------------------------------------------------------------------------


def create_user(
    session: Session, actor: Actor, data: NewUser, policy: PasswordPolicy, now: dt.datetime
) -> Credentials:
    """An administrator creates an administrator, an assessor or a provider manager."""
    actor.require(Role.ADMIN)
    return _create_staff(session, actor, data, policy, now)


def create_user_from_console(
    session: Session, data: NewUser, policy: PasswordPolicy, now: dt.datetime
) -> Credentials:
    """`careapp create-user`: the operator at the server creates an account (the first
    administrator of a new installation); audited with no user and the address `cli`."""
    return _create_staff(session, CONSOLE, data, policy, now)


def _create_staff(
    session: Session, actor: Actor, data: NewUser, policy: PasswordPolicy, now: dt.datetime
) -> Credentials:
    if data.role not in ADMIN_GIVES:
        raise InvalidInputError(gettext("Choose one of the roles offered."), field="role")
    provider_id = data.provider_id if data.role is Role.PROVIDER_MANAGER else None
    if data.role is Role.PROVIDER_MANAGER and (
        provider_id is None or session.get(Provider, provider_id) is None
    ):
        raise InvalidInputError(
            gettext("A provider manager belongs to a provider; choose one."), field="provider_id"
        )
    user, temporary = _new_account(
        session,
        data.username,
        (data.display_name, "display_name"),
        data.role,
        provider_id,
        data.password,
        policy,
    )
    record_event(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        now=now,
        detail={
            "username": user.username,
            "role": user.role.value,
            "provider_id": provider_id,
            "generated_password": temporary is not None,
        },
    )
    return Credentials(user, temporary)


def create_caregiver(
    session: Session,
    actor: Actor,
    data: NewCaregiver,
    policy: PasswordPolicy,
    protector: DataProtector,
    now: dt.datetime,
) -> Credentials:
    """A provider manager creates a caregiver of their own company: the login, and the
    caregiver record that dispatch, the roster and the audit of claims use."""
    provider_id = actor.require_provider()
    resident = validate_id_number(actor, data.id_number, today=city_today(now))
    _check_caregiver(data)
    user, temporary = _new_account(
        session,
        data.username,
        (data.name, "name"),
        Role.CAREGIVER,
        provider_id,
        data.password,
        policy,
    )
    caregiver = Caregiver(
        provider_id=provider_id,
        user_id=user.id,
        name=user.display_name,
        phone=(data.phone or "").strip() or None,
        qualifications=sorted(set(data.qualifications)),
        work_days=sorted(set(data.work_days)),
        work_start=data.work_start,
        work_end=data.work_end,
        base_lat=data.base_lat,
        base_lon=data.base_lon,
        max_visits_per_day=data.max_visits_per_day,
        id_number_ciphertext=protector.encrypt(resident.number),
        id_number_index=protector.blind_index(resident.number),
        id_number_masked=resident.masked,
    )
    session.add(caregiver)
    session.flush()
    record_event(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        now=now,
        detail={
            "username": user.username,
            "role": Role.CAREGIVER.value,
            "provider_id": provider_id,
            "caregiver_id": caregiver.id,
            "id_number": resident.masked,
            "generated_password": temporary is not None,
        },
    )
    return Credentials(user, temporary)


def _check_caregiver(data: NewCaregiver) -> None:
    known = {q.value for q in Qualification}
    if not data.qualifications or not set(data.qualifications) <= known:
        raise InvalidInputError(
            gettext("Choose at least one qualification."), field="qualifications"
        )
    if not data.work_days or not set(data.work_days) <= set(range(1, 8)):
        raise InvalidInputError(gettext("Choose at least one working day."), field="work_days")
    if data.work_start >= data.work_end:
        raise InvalidInputError(
            gettext("The working day must end after it starts."), field="work_end"
        )
    if not (-90 <= data.base_lat <= 90 and -180 <= data.base_lon <= 180):
        message = gettext("Give the base's latitude and longitude.")
        raise InvalidInputError(message, field="base_lat")
    if not 1 <= data.max_visits_per_day <= 30:
        raise InvalidInputError(
            gettext("Give between 1 and 30 visits a day."), field="max_visits_per_day"
        )


def _new_account(
    session: Session,
    username: str,
    name: tuple[str, str],
    role: Role,
    provider_id: int | None,
    password: str,
    policy: PasswordPolicy,
) -> tuple[User, str | None]:
    """The account row with its temporary password (generated when `password` is empty),
    to be changed at the first login. A taken username is a form error, also when two
    administrators take it at the same moment (the unique constraint decides). `name` is the
    name and the form field it comes from."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise InvalidInputError(
            gettext(
                "Use 3 to 64 lowercase letters, digits, dots, hyphens or underscores, "
                "starting with a letter or digit."
            ),
            field="username",
        )
    display_name = checked_name(name[0], field=name[1])
    generated = not password
    if generated:
        password = generate_password()
    else:
        check_password(password, policy, personal=(username, display_name), field="password")
    if username_taken(session, username):
        raise _taken(username)
    try:
        with session.begin_nested():
            user = auth.create_user(
                session,
                username=username,
                password=password,
                display_name=display_name,
                role=role,
                provider_id=provider_id,
            )
            user.must_change_password = True
            session.flush()
    except IntegrityError:  # the same username taken at the same moment
        raise _taken(username) from None
    return user, password if generated else None


def checked_name(name: str, *, field: str) -> str:
    """A person's name as stored: trimmed, 1 to 100 characters, no control characters."""
    name = name.strip()
    if not name or len(name) > 100 or any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidInputError(gettext("Give a name of up to 100 characters."), field=field)
    return name


def username_taken(session: Session, username: str) -> bool:
    """Whether an account has this username (checked first for a clear message; the unique
    constraint decides a race)."""
    return session.scalar(select(User.id).where(User.username == username)) is not None


def _taken(username: str) -> ConflictError:
    return ConflictError(
        gettext("The username “%(username)s” is taken; choose another.", username=username),
        field="username",
    )


# --- passwords ------------------------------------------------------------------------------


def check_password(
    password: str, policy: PasswordPolicy, *, personal: Sequence[str], field: str
) -> None:
    """Raise InvalidInputError on `field` with every reason the policy refuses `password`."""
    problems = password_problems(password, policy, personal=personal)
    if problems:
        message = " ".join(_problem_message(problem, policy) for problem in problems)
        raise InvalidInputError(message, field=field)


def _problem_message(problem: PasswordProblem, policy: PasswordPolicy) -> str:
    if problem is PasswordProblem.TOO_SHORT:
        return ngettext(
            "Use at least %(num)d character (spaces in a row count as one).",
            "Use at least %(num)d characters (spaces in a row count as one).",
            policy.min_length,
        )
    if problem is PasswordProblem.TOO_LONG:
        return ngettext(
            "Use at most %(num)d character.", "Use at most %(num)d characters.", policy.max_length
        )
    if problem is PasswordProblem.COMMON:
        return gettext("This password is one of the most common ones; choose another.")
    return gettext("The password may not be the username or the name.")


def change_own_password(
    session: Session,
    actor: Actor,
    current_password: str,
    new_password: str,
    policy: PasswordPolicy,
    now: dt.datetime,
    *,
    max_failures: int,
    window: dt.timedelta,
) -> User:
    """The logged-in user chooses a new password, giving the current one (or the temporary
    one). Every session of the user ends; the caller opens this browser's again.

    A wrong current password counts as a failed login of the account (a `login_attempts` row,
    left pending for the caller to commit even though this raises), and once the account has
    `max_failures` within `window` the current password is not checked at all: a session left
    open cannot be used to guess the password faster than the login page allows.
    """
    user_id = actor.require(*Role)
    user = session.get(User, user_id)
    if user is None or not user.is_enabled:
        raise PermissionDeniedError(gettext("You do not have permission to do this."))
    if auth.account_failures(session, user.username, since=now - window) >= max_failures:
        raise ThrottledError(
            gettext(
                "Too many failed logins. Please wait %(minutes)d minutes and try again.",
                minutes=int(window.total_seconds() // 60),
            ),
            field="current_password",
        )
    if not verify_password(user.password_hash, current_password):
        session.add(
            LoginAttempt(
                username=user.username,
                address=actor.address or "unknown",
                attempted_at=now,
                is_success=False,
            )
        )
        session.flush()
        raise InvalidInputError(gettext("The current password is wrong."), field="current_password")
    check_password(
        new_password, policy, personal=(user.username, user.display_name), field="new_password"
    )
    if verify_password(user.password_hash, new_password):
        raise InvalidInputError(
            gettext("Choose a password different from the current one."), field="new_password"
        )
    was_temporary = user.must_change_password
    user.must_change_password = False
    set_password(session, actor, user, new_password, now=now)
    record_event(
        session,
        actor,
        "user.change_password",
        "user",
        user.id,
        now=now,
        detail={"was_temporary": was_temporary},
    )
    return user


def reset_password(
    session: Session,
    actor: Actor,
    user_id: int,
    password: str,
    policy: PasswordPolicy,
    now: dt.datetime,
) -> Credentials:
    """An administrator gives a user a temporary password (typed, or generated when empty);
    the user's sessions end and they must choose their own at the next login."""
    actor.require(Role.ADMIN)
    user = get_user(session, actor, user_id)
    if user.id == actor.user_id:
        raise InvalidInputError(
            gettext("Change your own password on the “Change password” page."), field="password"
        )
    return _reset(session, actor, user, password, policy, now)


def reset_password_from_console(
    session: Session, username: str, password: str, policy: PasswordPolicy, now: dt.datetime
) -> Credentials:
    """`careapp reset-password`: the operator gives any account a temporary password (the
    way back in when the last administrator has forgotten theirs)."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFoundError(gettext("Not found."))
    return _reset(session, CONSOLE, user, password, policy, now)


def _reset(
    session: Session,
    actor: Actor,
    user: User,
    password: str,
    policy: PasswordPolicy,
    now: dt.datetime,
) -> Credentials:
    generated = not password
    if generated:
        password = generate_password()
    else:
        check_password(
            password, policy, personal=(user.username, user.display_name), field="password"
        )
    if actor.user_id is None:  # the console: set_password's check is for users of the app
        user.password_hash = hash_password(password)
        end_sessions(session, actor, user, now=now, reason="password_reset")
    else:
        set_password(session, actor, user, password, now=now)
    user.must_change_password = True
    record_event(
        session,
        actor,
        "user.reset_password",
        "user",
        user.id,
        now=now,
        detail={"generated_password": generated},
    )
    return Credentials(user, password if generated else None)


# --- editing, disabling, unlocking ------------------------------------------------------------


def update_user(
    session: Session, actor: Actor, user_id: int, change: UserChange, now: dt.datetime
) -> User:
    """Rename an account; an administrator may also give another staff account another of
    the roles they give (a new role ends the user's sessions)."""
    user = get_user(session, actor, user_id)
    display_name = checked_name(change.display_name, field="display_name")
    before = {"display_name": user.display_name, "role": user.role.value}
    user.display_name = display_name
    role_changed = False
    if change.role is not None and change.role is not user.role:
        actor.require(Role.ADMIN)
        if user.id == actor.user_id:
            raise InvalidInputError(gettext("You cannot change your own role."), field="role")
        if change.role not in ADMIN_GIVES or user.role not in ADMIN_GIVES:
            raise InvalidInputError(gettext("Choose one of the roles offered."), field="role")
        user.role = change.role
        role_changed = True
    if user.role is Role.PROVIDER_MANAGER and actor.is_role(Role.ADMIN):
        if change.provider_id is None or session.get(Provider, change.provider_id) is None:
            raise InvalidInputError(
                gettext("A provider manager belongs to a provider; choose one."),
                field="provider_id",
            )
        role_changed = role_changed or user.provider_id != change.provider_id
        user.provider_id = change.provider_id
    elif user.role in (Role.ADMIN, Role.ASSESSOR):
        user.provider_id = None
    record_event(
        session,
        actor,
        "user.update",
        "user",
        user.id,
        now=now,
        detail={
            "before": before,
            "after": {"display_name": user.display_name, "role": user.role.value},
            "provider_id": user.provider_id,
        },
    )
    if role_changed:
        end_sessions(session, actor, user, now=now, reason="role_changed")
    return user


def disable_account(session: Session, actor: Actor, user_id: int, now: dt.datetime) -> User:
    """Disable an account: no more logins, every session ends, and a caregiver is no longer
    dispatched (their visits already assigned stay on the roster to be moved)."""
    user = get_user(session, actor, user_id)
    if not user.is_enabled:
        raise ConflictError(gettext("This account is already disabled."))
    disable_user(session, actor, user, now=now)
    _set_caregiver_enabled(session, user, enabled=False)
    return user


def enable_account(session: Session, actor: Actor, user_id: int, now: dt.datetime) -> User:
    """Enable a disabled account again (and a caregiver's dispatch)."""
    user = get_user(session, actor, user_id)
    if user.is_enabled:
        raise ConflictError(gettext("This account is already enabled."))
    user.is_enabled = True
    _set_caregiver_enabled(session, user, enabled=True)
    record_event(session, actor, "user.enable", "user", user.id, now=now)
    return user


def _set_caregiver_enabled(session: Session, user: User, *, enabled: bool) -> None:
    if user.role is Role.CAREGIVER:
        session.execute(
            update(Caregiver).where(Caregiver.user_id == user.id).values(is_enabled=enabled)
        )


def unlock_user(
    session: Session, actor: Actor, user_id: int, *, now: dt.datetime, window: dt.timedelta
) -> int:
    """An administrator unlocks an account the login throttle locked: the failures counted
    against it in the window are marked cleared (kept on record, no longer counted, for the
    account nor for the addresses they came from). Returns how many were cleared."""
    actor.require(Role.ADMIN)
    user = get_user(session, actor, user_id)
    failures = (
        LoginAttempt.username == user.username,
        LoginAttempt.is_success.is_(False),
        LoginAttempt.attempted_at > now - window,
        LoginAttempt.cleared_at.is_(None),
    )
    addresses = sorted(
        set(session.scalars(select(LoginAttempt.address).where(*failures).distinct()))
    )
    cleared = session.execute(update(LoginAttempt).where(*failures).values(cleared_at=now)).rowcount  # type: ignore[attr-defined]  # a CursorResult for an UPDATE
    record_event(
        session,
        actor,
        "user.unlock",
        "user",
        user.id,
        now=now,
        detail={"cleared_failures": cleared, "addresses": addresses},
    )
    return int(cleared or 0)
