"""The TOTP second factor: enrolment, codes never accepted twice, single-use recovery codes, the
login throttle shared with passwords, and administrators who cannot do without it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
    ThrottledError,
)
from careapp.models import AuditEvent, LoginAttempt, RecoveryCode, Role, User
from careapp.security import DataProtector
from careapp.services.actor import Actor
from careapp.services.auth import authenticate
from careapp.services.two_factor import (
    Attempt,
    code_at,
    confirm_enrolment,
    disable_two_factor,
    pending_secret,
    provisioning_uri,
    regenerate_recovery_codes,
    reset_two_factor,
    verify_login,
)
from tests.factories import NOW, UserFactory, totp_secret

STEP = dt.timedelta(seconds=30)
WINDOW = dt.timedelta(minutes=15)


def _attempt(now: dt.datetime = NOW, address: str = "127.0.0.1") -> Attempt:
    return Attempt(address=address, now=now, max_failures=5, window=WINDOW)


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role, provider_id=user.provider_id, address="127.0.0.1")


def _actions(session: Session, user: User) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "user", AuditEvent.object_id == user.id)
            .order_by(AuditEvent.id)
        )
    )


def _enrol(session: Session, protector: DataProtector, user: User) -> tuple[str, list[str]]:
    secret = pending_secret(session, user, protector)
    codes = confirm_enrolment(
        session, _actor(user), user, code_at(secret, NOW), protector, _attempt()
    )
    return secret, codes


def test_enrolment_is_confirmed_by_a_code_and_gives_ten_recovery_codes(
    db_session: Session, protector: DataProtector
) -> None:
    user = UserFactory(assessor=True)
    assert not user.requires_two_factor
    secret = pending_secret(db_session, user, protector)
    assert pending_secret(db_session, user, protector) == secret  # the same until confirmed
    assert user.totp_secret_ciphertext is not None
    assert secret.encode() not in user.totp_secret_ciphertext  # stored encrypted
    assert not user.has_two_factor
    uri = provisioning_uri(secret, user.username)
    assert uri == f"otpauth://totp/careapp:{user.username}?secret={secret}&issuer=careapp"
    version = user.session_version

    with pytest.raises(InvalidInputError):
        confirm_enrolment(db_session, _actor(user), user, "123", protector, _attempt())
    assert not user.has_two_factor
    codes = confirm_enrolment(
        db_session, _actor(user), user, code_at(secret, NOW), protector, _attempt()
    )

    assert user.has_two_factor
    assert user.requires_two_factor
    assert len(codes) == len(set(codes)) == 10
    stored = list(db_session.scalars(select(RecoveryCode.code_hash)))
    assert len(stored) == 10
    assert not any(code.replace("-", "") in row for code in codes for row in stored)
    assert user.session_version == version + 1  # enrolment ends the other sessions
    assert _actions(db_session, user)[-2:] == ["enable_two_factor", "end_sessions"]
    with pytest.raises(ConflictError):
        pending_secret(db_session, user, protector)


def test_a_code_is_accepted_within_one_step_of_the_clock_and_never_twice(
    db_session: Session, protector: DataProtector
) -> None:
    admin = UserFactory(admin=True)
    secret = totp_secret(admin.username)

    verify_login(db_session, admin, code_at(secret, NOW), protector, _attempt())
    with pytest.raises(InvalidInputError):  # the same code again, within its window
        verify_login(db_session, admin, code_at(secret, NOW), protector, _attempt(NOW + STEP))
    with pytest.raises(InvalidInputError):  # an older step's code, after a newer one
        verify_login(db_session, admin, code_at(secret, NOW - STEP), protector, _attempt())
    verify_login(db_session, admin, code_at(secret, NOW + STEP), protector, _attempt())
    with pytest.raises(InvalidInputError):  # two steps away from the clock
        verify_login(
            db_session, admin, code_at(secret, NOW + 4 * STEP), protector, _attempt(NOW + STEP)
        )
    assert admin.totp_last_step == int((NOW + STEP).timestamp()) // 30
    logins = db_session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "login"))
    assert list(logins) == [{"second_factor": "totp"}] * 2


def test_a_recovery_code_logs_in_once(db_session: Session, protector: DataProtector) -> None:
    user = UserFactory(caregiver=True)
    _, codes = _enrol(db_session, protector, user)

    verify_login(db_session, user, f"  {codes[3].upper()} ", protector, _attempt())
    with pytest.raises(InvalidInputError):
        verify_login(db_session, user, codes[3], protector, _attempt())
    verify_login(db_session, user, codes[4].replace("-", ""), protector, _attempt())

    used = db_session.scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None)))
    assert len(list(used)) == 2
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).first()
    assert event is not None
    assert event.detail == {"second_factor": "recovery_code", "recovery_codes_left": 9}


def test_wrong_codes_count_against_the_password_throttle(
    db_session: Session, protector: DataProtector
) -> None:
    admin = UserFactory(admin=True)
    secret = totp_secret(admin.username)
    for _ in range(3):
        with pytest.raises(InvalidInputError):
            authenticate(
                db_session, admin.username, "wrong", address="10.0.0.1", now=NOW,
                max_failures=5, window=WINDOW,
            )  # fmt: skip
    for _ in range(2):
        with pytest.raises(InvalidInputError):
            verify_login(db_session, admin, "000000x", protector, _attempt(address="10.0.0.2"))

    # Five wrong secrets on the account: even the right code is not checked now.
    with pytest.raises(ThrottledError):
        verify_login(db_session, admin, code_at(secret, NOW), protector, _attempt())
    assert admin.totp_last_step is None
    failures = db_session.scalars(select(LoginAttempt).where(LoginAttempt.is_success.is_(False)))
    assert len(list(failures)) == 5
    # Once the window has passed, the code is checked again.
    later = NOW + WINDOW + STEP
    verify_login(db_session, admin, code_at(secret, later), protector, _attempt(later))


def test_wrong_codes_from_one_address_are_throttled_across_accounts(
    db_session: Session, protector: DataProtector
) -> None:
    users = [UserFactory(admin=True) for _ in range(6)]
    for user in users[:5]:
        with pytest.raises(InvalidInputError):
            verify_login(db_session, user, "999999", protector, _attempt(address="10.9.9.9"))
    last = users[5]
    with pytest.raises(ThrottledError):
        verify_login(
            db_session, last, code_at(totp_secret(last.username), NOW), protector,
            _attempt(address="10.9.9.9"),
        )  # fmt: skip


def test_an_administrator_without_a_second_factor_cannot_log_in_by_code(
    db_session: Session, protector: DataProtector
) -> None:
    admin = UserFactory(admin=True, two_factor=False)
    assert admin.requires_two_factor
    assert not admin.has_two_factor
    with pytest.raises(ConflictError):
        verify_login(db_session, admin, "123456", protector, _attempt())


def test_new_recovery_codes_need_a_current_code_and_replace_the_old(
    db_session: Session, protector: DataProtector
) -> None:
    user = UserFactory(assessor=True)
    secret, old = _enrol(db_session, protector, user)
    later = NOW + STEP

    with pytest.raises(InvalidInputError):  # a recovery code does not renew the codes
        regenerate_recovery_codes(db_session, _actor(user), user, old[0], protector, _attempt())
    other = UserFactory(admin=True)
    with pytest.raises(PermissionDeniedError):
        regenerate_recovery_codes(
            db_session, _actor(other), user, code_at(secret, later), protector, _attempt(later)
        )
    new = regenerate_recovery_codes(
        db_session, _actor(user), user, code_at(secret, later), protector, _attempt(later)
    )

    assert set(new).isdisjoint(old)
    with pytest.raises(InvalidInputError):
        verify_login(db_session, user, old[1], protector, _attempt(later))
    verify_login(db_session, user, new[1], protector, _attempt(later))
    assert "regenerate_recovery_codes" in _actions(db_session, user)


def test_a_user_turns_the_second_factor_off_but_an_administrator_cannot(
    db_session: Session, protector: DataProtector
) -> None:
    admin = UserFactory(admin=True)
    with pytest.raises(PermissionDeniedError):
        disable_two_factor(
            db_session, _actor(admin), admin, code_at(totp_secret(admin.username), NOW),
            protector, _attempt(),
        )  # fmt: skip
    assert admin.has_two_factor

    user = UserFactory(manager=True)
    secret, _ = _enrol(db_session, protector, user)
    later = NOW + STEP
    with pytest.raises(InvalidInputError):
        disable_two_factor(db_session, _actor(user), user, "111111", protector, _attempt(later))
    assert user.has_two_factor
    disable_two_factor(
        db_session, _actor(user), user, code_at(secret, later), protector, _attempt(later)
    )

    assert not user.has_two_factor
    assert user.totp_secret_ciphertext is None
    assert db_session.scalars(select(RecoveryCode)).first() is None
    assert _actions(db_session, user)[-1] == "disable_two_factor"


def test_an_operator_reset_removes_the_factor_and_ends_the_sessions(
    db_session: Session, protector: DataProtector
) -> None:
    admin = UserFactory(admin=True)
    version = admin.session_version
    operator = Actor(user_id=None, role=None, address="cli")
    with pytest.raises(InvalidInputError):
        reset_two_factor(db_session, operator, admin, now=NOW, reason=" ")

    reset_two_factor(db_session, operator, admin, now=NOW, reason="ticket 42: phone lost")

    assert not admin.has_two_factor
    assert admin.session_version == version + 1
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "reset_two_factor"))
    assert [e.detail for e in event] == [{"reason": "ticket 42: phone lost"}]
    assert admin.role is Role.ADMIN
    assert admin.requires_two_factor  # the next login sets up a new one
