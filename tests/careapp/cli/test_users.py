"""`careapp create-user` and `careapp reset-password`: the operator's first administrator and
the way back in, with temporary passwords that must be changed."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models import AuditEvent, Role, User
from careapp.security import verify_password
from tests.factories import PASSWORD, ProviderFactory, UserFactory


def _printed_password(output: str) -> str:
    found = re.search(r"temporary password \(shown once\): (\S+)", output)
    assert found is not None, output
    return found.group(1)


def test_create_user_makes_the_first_administrator(app: Flask, db_session: Session) -> None:
    result = app.test_cli_runner().invoke(args=["create-user", "Wang.Min", "--name", "管理员 王敏"])
    assert result.exit_code == 0, result.output
    user = db_session.scalar(select(User).where(User.username == "wang.min"))
    assert user is not None
    assert user.role is Role.ADMIN
    assert user.must_change_password
    assert verify_password(user.password_hash, _printed_password(result.output))
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create"))
    assert event is not None
    assert event.address == "cli"


def test_create_user_with_a_typed_password_and_a_provider(app: Flask, db_session: Session) -> None:
    provider = ProviderFactory()
    result = app.test_cli_runner().invoke(
        args=[
            "create-user",
            "liu.yang",
            "--name",
            "站长 刘洋",
            "--role",
            "provider_manager",
            "--provider-id",
            str(provider.id),
            "--prompt-password",
        ],
        input="a typed temporary one\na typed temporary one\n",
    )
    assert result.exit_code == 0, result.output
    assert "shown once" not in result.output
    user = db_session.scalar(select(User).where(User.username == "liu.yang"))
    assert user is not None
    assert user.provider_id == provider.id
    assert verify_password(user.password_hash, "a typed temporary one")


def test_create_user_refuses_a_weak_password_and_a_taken_name(
    app: Flask, db_session: Session
) -> None:
    UserFactory(username="taken")
    runner = app.test_cli_runner()
    weak = runner.invoke(
        args=["create-user", "newone", "--name", "某", "--prompt-password"],
        input="password\npassword\n",
    )
    assert weak.exit_code == 1
    taken = runner.invoke(args=["create-user", "taken", "--name", "某"])
    assert taken.exit_code == 1
    assert "taken" in taken.output
    assert db_session.scalar(select(User).where(User.username == "newone")) is None


def test_reset_password_gives_a_temporary_password(app: Flask, db_session: Session) -> None:
    admin = UserFactory(admin=True, username="only.admin")
    result = app.test_cli_runner().invoke(args=["reset-password", "only.admin"])
    assert result.exit_code == 0, result.output
    db_session.refresh(admin)
    assert admin.must_change_password
    assert admin.session_version == 1
    assert not verify_password(admin.password_hash, PASSWORD)
    assert verify_password(admin.password_hash, _printed_password(result.output))
    missing = app.test_cli_runner().invoke(args=["reset-password", "nobody"])
    assert missing.exit_code == 1
