"""The TOTP second factor (RFC 6238, through pyotp) and its single-use recovery codes.

Required for administrators, optional for everyone else. The secret is stored encrypted with the
data key (`DataProtector`, like ID numbers); it is "pending" while the user confirms it with a
first code, and enrolled from then on (`User.totp_enrolled_at`).

A code is accepted for the current 30-second time step or the one either side (clock drift),
and never twice: the step of the last accepted code is kept (`User.totp_last_step`) and raised
by one conditional UPDATE, so a code replayed within its window, even in parallel, is refused.

Every check of a code counts against the login throttle (`careapp.services.auth.begin_attempt`)
of the account and the address, the same counter as passwords: at most `max_failures` wrong
passwords and codes together in the window.

Recovery codes: 10 per user, each 10 characters from a 31-letter alphabet (49 bits), made with
`secrets`, shown once, stored as a salted SHA-256 and used at most once (`used_at`, set by a
conditional UPDATE).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import pyotp
from flask_babel import gettext
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from careapp import metrics
from careapp.core.errors import ConflictError, InvalidInputError, PermissionDeniedError
from careapp.models.users import RecoveryCode, Role, User
from careapp.security import DataProtector
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.auth import begin_attempt
from careapp.services.sessions import end_sessions

ISSUER = "careapp"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # a code of the step before or after the current one is accepted too
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no i, l, o, 0 or 1 to misread
_RECOVERY_LENGTH = 10


@dataclass(frozen=True)
class Attempt:
    """Where a code comes from and the throttle it counts against (the login throttle's)."""

    address: str
    now: dt.datetime
    max_failures: int
    window: dt.timedelta


def new_secret() -> str:
    """A fresh TOTP secret (160 bits, base32)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads (from the QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def time_step(now: dt.datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def code_at(secret: str, now: dt.datetime) -> str:
    """The code an authenticator app shows at `now` (for the demo and the tests)."""
    return pyotp.TOTP(secret).generate_otp(time_step(now))


def pending_secret(session: Session, user: User, protector: DataProtector) -> str:
    """The secret being enrolled: the one already offered, else a new one (stored encrypted)."""
    if user.has_two_factor:
        raise ConflictError(gettext("Two-factor authentication is already set up."))
    if user.totp_secret_ciphertext is not None:
        return protector.decrypt(user.totp_secret_ciphertext)
    secret = new_secret()
    user.totp_secret_ciphertext = protector.encrypt(secret)
    user.totp_last_step = None
    session.flush()
    return secret


def confirm_enrolment(
    session: Session,
    actor: Actor,
    user: User,
    code: str,
    protector: DataProtector,
    attempt: Attempt,
) -> list[str]:
    """Enrol the pending secret once `code` shows the user's app has it; returns the new
    recovery codes (shown once). Every session of the user ends: the caller starts a new one."""
    if user.has_two_factor:
        raise ConflictError(gettext("Two-factor authentication is already set up."))
    if user.totp_secret_ciphertext is None:
        raise ConflictError(gettext("Start the set-up again."))
    _check(session, user, code, protector, attempt, recovery=False)
    user.totp_enrolled_at = attempt.now
    codes = _new_recovery_codes(session, user, attempt.now)
    record_event(session, actor, "enable_two_factor", "user", user.id, now=attempt.now)
    end_sessions(session, actor, user, now=attempt.now, reason="two_factor_enabled")
    return codes


def verify_login(
    session: Session, user: User, code: str, protector: DataProtector, attempt: Attempt
) -> None:
    """The second step of a login: a current TOTP code or an unused recovery code, or raise.
    Audited as the `login` (with the factor used)."""
    if not user.has_two_factor:
        raise ConflictError(gettext("Two-factor authentication is not set up."))
    method = _check(session, user, code, protector, attempt, recovery=True)
    actor = Actor(
        user_id=user.id, role=user.role, provider_id=user.provider_id, address=attempt.address
    )
    detail: dict[str, object] = {"second_factor": method}
    if method == "recovery_code":
        detail["recovery_codes_left"] = unused_recovery_codes(session, user)
    record_event(  # the login itself: the password step records none for such a user
        session,
        actor,
        "login",
        "user",
        user.id,
        now=attempt.now,
        detail=detail,
    )


def regenerate_recovery_codes(
    session: Session,
    actor: Actor,
    user: User,
    code: str,
    protector: DataProtector,
    attempt: Attempt,
) -> list[str]:
    """New recovery codes for the user themselves, against a current TOTP code; the old ones
    stop working. Audited."""
    _require_self(actor, user)
    if not user.has_two_factor:
        raise ConflictError(gettext("Two-factor authentication is not set up."))
    _check(session, user, code, protector, attempt, recovery=False)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = _new_recovery_codes(session, user, attempt.now)
    record_event(session, actor, "regenerate_recovery_codes", "user", user.id, now=attempt.now)
    return codes


def disable_two_factor(
    session: Session,
    actor: Actor,
    user: User,
    code: str,
    protector: DataProtector,
    attempt: Attempt,
) -> None:
    """Turn the second factor off for the user themselves (not an administrator: they must keep
    it), against a current code or a recovery code. Audited."""
    _require_self(actor, user)
    if user.role is Role.ADMIN:
        raise PermissionDeniedError(gettext("Administrators must keep two-factor authentication."))
    if not user.has_two_factor:
        raise ConflictError(gettext("Two-factor authentication is not set up."))
    _check(session, user, code, protector, attempt, recovery=True)
    _clear(session, user)
    record_event(session, actor, "disable_two_factor", "user", user.id, now=attempt.now)


def reset_two_factor(
    session: Session, actor: Actor, user: User, *, now: dt.datetime, reason: str
) -> None:
    """An operator's reset for a user who lost their device and their recovery codes: the
    second factor and the codes are removed and every session ends; an administrator must
    enrol again at their next login. Audited, with the operator's `reason`."""
    if not reason.strip():
        raise InvalidInputError(gettext("Give a reason."), field="reason")
    _clear(session, user)
    record_event(
        session,
        actor,
        "reset_two_factor",
        "user",
        user.id,
        now=now,
        detail={"reason": reason.strip()[:200]},
    )
    end_sessions(session, actor, user, now=now, reason="two_factor_reset")


def enrol_secret(
    session: Session, user: User, secret: str, protector: DataProtector, now: dt.datetime
) -> None:
    """Enrol a known secret without a first code (the demo administrator's, made at seed time)."""
    user.totp_secret_ciphertext = protector.encrypt(secret)
    user.totp_enrolled_at = now
    user.totp_last_step = None
    session.flush()


def unused_recovery_codes(session: Session, user: User) -> int:
    return len(_unused_codes(session, user))


# --- checking a code --------------------------------------------------------------------------


def _check(
    session: Session,
    user: User,
    code: str,
    protector: DataProtector,
    attempt: Attempt,
    *,
    recovery: bool,
) -> str:
    """Count the attempt, then accept `code` ("totp" or "recovery_code") or raise."""
    counted = begin_attempt(
        session,
        user.username,
        address=attempt.address,
        now=attempt.now,
        max_failures=attempt.max_failures,
        window=attempt.window,
        field="code",
    )
    typed = "".join(code.split()).replace("-", "").lower()
    method: str | None = None
    if typed.isdigit() and len(typed) == 6:
        if _accept_totp(session, user, typed, protector, attempt.now):
            method = "totp"
    elif (
        recovery
        and len(typed) == _RECOVERY_LENGTH
        and _use_recovery_code(session, user, typed, attempt.now)
    ):
        method = "recovery_code"
    if method is None:
        metrics.count_login_failure(metrics.WRONG_CODE)
        raise InvalidInputError(
            gettext("Wrong code, or a code already used. Enter the current code."), field="code"
        )
    counted.is_success = True
    return method


def _accept_totp(
    session: Session, user: User, typed: str, protector: DataProtector, now: dt.datetime
) -> bool:
    if user.totp_secret_ciphertext is None:
        return False
    totp = pyotp.TOTP(protector.decrypt(user.totp_secret_ciphertext))
    current = time_step(now)
    matched = [
        step
        for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1)
        if hmac.compare_digest(totp.generate_otp(step), typed)
    ]
    if not matched:
        return False
    step = max(matched)
    # Raised only past the last accepted step, in one statement: a replay is refused.
    result = session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
        return False
    user.totp_last_step = step
    return True


def _use_recovery_code(session: Session, user: User, typed: str, now: dt.datetime) -> bool:
    for row in _unused_codes(session, user):
        if _matches(row.code_hash, typed):
            used = session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            )
            return used.rowcount == 1  # type: ignore[attr-defined]  # a CursorResult
    return False


def _unused_codes(session: Session, user: User) -> list[RecoveryCode]:
    return list(
        session.scalars(
            select(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
            .order_by(RecoveryCode.id)
            .execution_options(populate_existing=True)
        )
    )


# --- recovery codes ---------------------------------------------------------------------------


def _new_recovery_codes(session: Session, user: User, now: dt.datetime) -> list[str]:
    plain = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_hash(code), created_at=now) for code in plain
    )
    session.flush()
    return [f"{code[:5]}-{code[5:]}" for code in plain]


def _hash(code: str) -> str:
    salt = secrets.token_hex(8)
    return f"{salt}${hashlib.sha256((salt + code).encode()).hexdigest()}"


def _matches(stored: str, code: str) -> bool:
    salt, _, digest = stored.partition("$")
    return hmac.compare_digest(hashlib.sha256((salt + code).encode()).hexdigest(), digest)


def _clear(session: Session, user: User) -> None:
    user.totp_secret_ciphertext = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()


def _require_self(actor: Actor, user: User) -> None:
    if actor.user_id != user.id:
        raise PermissionDeniedError(gettext("You do not have permission to do this."))
