"""`careapp reset-two-factor`: an operator removes a user's second factor after a lost device."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models import AuditEvent, RecoveryCode, User
from tests.factories import UserFactory


def test_reset_removes_the_factor_ends_the_sessions_and_is_audited(
    app: Flask, db_session: Session
) -> None:
    admin = UserFactory(admin=True, username="amin")
    db_session.add(
        RecoveryCode(user_id=admin.id, code_hash="s$h", created_at=admin.totp_enrolled_at)
    )
    db_session.flush()
    version = admin.session_version
    runner = app.test_cli_runner()  # type: ignore[attr-defined]  # the Flask app fixture

    result = runner.invoke(args=["reset-two-factor", " AMIN ", "--reason", "ticket 7"])

    assert result.exit_code == 0, result.output
    assert "amin: second factor removed" in result.output
    db_session.expire_all()
    user = db_session.get(User, admin.id)
    assert user is not None
    assert not user.has_two_factor
    assert user.session_version == version + 1
    assert db_session.scalars(select(RecoveryCode)).first() is None
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "reset_two_factor"))
    assert [(e.address, e.detail) for e in event] == [("cli", {"reason": "ticket 7"})]


def test_reset_needs_a_known_user_and_a_reason(app: Flask, db_session: Session) -> None:
    UserFactory(admin=True, username="amin")
    runner = app.test_cli_runner()  # type: ignore[attr-defined]  # the Flask app fixture

    assert runner.invoke(args=["reset-two-factor", "nobody", "--reason", "x"]).exit_code == 2
    assert runner.invoke(args=["reset-two-factor", "amin", "--reason", "  "]).exit_code == 2
    assert runner.invoke(args=["reset-two-factor", "amin"]).exit_code == 2
    assert db_session.scalars(select(AuditEvent)).first() is None
