"""Ending sessions: who may set a password or disable an account, and every session ends."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.errors import InvalidInputError, PermissionDeniedError
from careapp.models import AuditEvent, User
from careapp.security import verify_password
from careapp.services.sessions import disable_user, end_sessions, set_password
from tests.factories import NOW, ProviderFactory, UserFactory, actor_of


def _reasons(session: Session, user: User) -> list[str]:
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "end_sessions", AuditEvent.object_id == user.id)
        .order_by(AuditEvent.id)
    )
    return [event.detail["reason"] for event in events if event.detail]


def test_end_sessions_raises_the_version_and_audits(db_session: Session) -> None:
    user = UserFactory()
    before = user.get_id()
    end_sessions(db_session, actor_of(user), user, now=NOW)
    assert user.session_version == 1
    assert user.get_id() == f"{user.id}:1" != before
    assert _reasons(db_session, user) == ["logout"]


def test_a_user_sets_their_own_password_and_their_sessions_end(db_session: Session) -> None:
    user = UserFactory(assessor=True)
    set_password(db_session, actor_of(user), user, "a new long passphrase", now=NOW)
    assert verify_password(user.password_hash, "a new long passphrase")
    assert user.session_version == 1
    assert _reasons(db_session, user) == ["password_changed"]


def test_an_administrator_sets_anyone_s_password(db_session: Session) -> None:
    admin, user = UserFactory(admin=True), UserFactory(assessor=True)
    set_password(db_session, actor_of(admin), user, "another passphrase", now=NOW)
    assert verify_password(user.password_hash, "another passphrase")
    assert user.session_version == 1


def test_no_one_else_sets_a_password_and_an_empty_one_is_refused(db_session: Session) -> None:
    user, other = UserFactory(assessor=True), UserFactory(assessor=True)
    old_hash = user.password_hash
    with pytest.raises(PermissionDeniedError):
        set_password(db_session, actor_of(other), user, "a new long passphrase", now=NOW)
    with pytest.raises(InvalidInputError):
        set_password(db_session, actor_of(user), user, "", now=NOW)
    assert user.password_hash == old_hash
    assert user.session_version == 0


def test_an_administrator_disables_a_user_and_their_sessions_end(db_session: Session) -> None:
    admin, user = UserFactory(admin=True), UserFactory(assessor=True)
    disable_user(db_session, actor_of(admin), user, now=NOW)
    assert not user.is_enabled
    assert user.session_version == 1
    assert _reasons(db_session, user) == ["disabled"]


def test_an_administrator_cannot_disable_themselves(db_session: Session) -> None:
    admin = UserFactory(admin=True)
    with pytest.raises(InvalidInputError):
        disable_user(db_session, actor_of(admin), admin, now=NOW)
    assert admin.is_enabled


def test_a_manager_disables_only_their_own_company_s_caregivers(db_session: Session) -> None:
    provider = ProviderFactory()
    manager = UserFactory(manager=True, provider=provider)
    own = UserFactory(caregiver=True, provider=provider)
    elsewhere = UserFactory(caregiver=True)
    assessor = UserFactory(assessor=True)
    disable_user(db_session, actor_of(manager), own, now=NOW)
    assert not own.is_enabled
    for user in (elsewhere, assessor):
        with pytest.raises(PermissionDeniedError):
            disable_user(db_session, actor_of(manager), user, now=NOW)
        assert user.is_enabled


@pytest.mark.parametrize("role", ["assessor", "caregiver"])
def test_other_roles_disable_no_one(db_session: Session, role: str) -> None:
    actor, user = UserFactory(**{role: True}), UserFactory(assessor=True)
    with pytest.raises(PermissionDeniedError):
        disable_user(db_session, actor_of(actor), user, now=NOW)
    assert user.is_enabled
