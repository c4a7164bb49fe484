"""Managing users: who may create, edit, disable, reset and unlock whom; the password policy;
temporary passwords; sessions that end; every change audited, whole or not at all."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ThrottledError,
)
from careapp.core.identity import make_resident_id
from careapp.core.passwords import PasswordPolicy
from careapp.models import AuditEvent, Caregiver, LoginAttempt, Role, User
from careapp.security import verify_password
from careapp.services import users
from careapp.services.auth import authenticate
from careapp.services.users import NewCaregiver, NewUser, UserChange
from tests.factories import (
    NOW,
    PASSWORD,
    CaregiverUserFactory,
    ProviderFactory,
    UserFactory,
    actor_of,
)

POLICY = PasswordPolicy()
WINDOW = dt.timedelta(minutes=15)
CAREGIVER_ID = make_resident_id("320602", dt.date(1985, 6, 1), 17)
WRONG_CHECK = CAREGIVER_ID[:-1] + ("1" if CAREGIVER_ID[-1] != "1" else "2")


def _events(session: Session, action: str, user: User) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.object_id == user.id)
            .order_by(AuditEvent.id)
        )
    )


def _caregiver_input(**values: object) -> NewCaregiver:
    data: dict[str, object] = {
        "username": "wangfang",
        "name": "王芳",
        "id_number": CAREGIVER_ID,
        "qualifications": ["daily_care", "nursing"],
        "work_days": [1, 2, 3, 4, 5],
        "work_start": dt.time(8, 0),
        "work_end": dt.time(17, 0),
        "base_lat": 32.0,
        "base_lon": 120.86,
        "phone": "13900000000",
    }
    data.update(values)
    return NewCaregiver(**data)  # type: ignore[arg-type]  # the test's keyword values


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- creating ---------------------------------------------------------------------------------


def test_an_administrator_creates_an_assessor_with_a_generated_temporary_password(
    db_session: Session,
) -> None:
    admin = UserFactory(admin=True)
    made = users.create_user(
        db_session,
        actor_of(admin),
        NewUser(" Li.Qiang ", "评估员 李强", Role.ASSESSOR),
        POLICY,
        NOW,
    )
    user = made.user
    assert user.username == "li.qiang"
    assert user.role is Role.ASSESSOR
    assert user.provider_id is None
    assert user.must_change_password
    assert user.is_enabled
    assert made.temporary_password is not None
    assert verify_password(user.password_hash, made.temporary_password)
    [event] = _events(db_session, "user.create", user)
    assert event.actor_id == admin.id
    assert event.detail == {
        "username": "li.qiang",
        "role": "assessor",
        "provider_id": None,
        "generated_password": True,
    }
    assert made.temporary_password not in str(event.detail)


def test_a_typed_temporary_password_is_checked_and_not_returned(db_session: Session) -> None:
    admin = UserFactory(admin=True)
    with pytest.raises(InvalidInputError) as refused:
        users.create_user(
            db_session,
            actor_of(admin),
            NewUser("zhao", "赵刚", Role.ADMIN, password="short"),
            POLICY,
            NOW,
        )
    assert refused.value.field == "password"
    made = users.create_user(
        db_session,
        actor_of(admin),
        NewUser("zhao", "赵刚", Role.ADMIN, password="a fine long passphrase"),
        POLICY,
        NOW,
    )
    assert made.temporary_password is None
    assert made.user.must_change_password
    assert verify_password(made.user.password_hash, "a fine long passphrase")


def test_the_username_may_not_be_the_password(db_session: Session) -> None:
    admin = UserFactory(admin=True)
    with pytest.raises(InvalidInputError) as refused:
        users.create_user(
            db_session,
            actor_of(admin),
            NewUser("assessor.long1", "评估员", Role.ASSESSOR, password="Assessor.Long1"),
            POLICY,
            NOW,
        )
    assert refused.value.field == "password"


def test_a_provider_manager_needs_a_provider(db_session: Session) -> None:
    admin, provider = UserFactory(admin=True), ProviderFactory()
    with pytest.raises(InvalidInputError) as refused:
        users.create_user(
            db_session, actor_of(admin), NewUser("mgr", "经理", Role.PROVIDER_MANAGER), POLICY, NOW
        )
    assert refused.value.field == "provider_id"
    made = users.create_user(
        db_session,
        actor_of(admin),
        NewUser("mgr", "经理", Role.PROVIDER_MANAGER, provider_id=provider.id),
        POLICY,
        NOW,
    )
    assert made.user.provider_id == provider.id


def test_an_administrator_gives_no_caregiver_role_and_no_provider_to_staff(
    db_session: Session,
) -> None:
    admin, provider = UserFactory(admin=True), ProviderFactory()
    with pytest.raises(InvalidInputError) as refused:
        users.create_user(
            db_session, actor_of(admin), NewUser("cg", "护理员", Role.CAREGIVER), POLICY, NOW
        )
    assert refused.value.field == "role"
    made = users.create_user(
        db_session,
        actor_of(admin),
        NewUser("staff", "员工", Role.ASSESSOR, provider_id=provider.id),
        POLICY,
        NOW,
    )
    assert made.user.provider_id is None


@pytest.mark.parametrize("role", ["assessor", "provider_manager", "caregiver"])
def test_only_an_administrator_creates_staff(db_session: Session, role: str) -> None:
    actor = UserFactory(role=Role(role), provider=ProviderFactory())
    with pytest.raises(PermissionDeniedError):
        users.create_user(
            db_session, actor_of(actor), NewUser("newbie", "新人", Role.ASSESSOR), POLICY, NOW
        )
    assert db_session.scalar(select(User).where(User.username == "newbie")) is None


@pytest.mark.parametrize("username", ["Taken1", "taken1", " taken1"])
def test_a_taken_username_is_a_form_error(db_session: Session, username: str) -> None:
    admin = UserFactory(admin=True)
    UserFactory(username="taken1")
    with pytest.raises(ConflictError) as refused:
        users.create_user(
            db_session, actor_of(admin), NewUser(username, "某人", Role.ASSESSOR), POLICY, NOW
        )
    assert refused.value.field == "username"
    assert "taken1" in refused.value.message


def test_a_username_taken_at_the_same_moment_is_a_form_error_and_nothing_is_half_written(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before the insert missed the other account (made in between): the unique
    constraint refuses, the savepoint is rolled back, the session goes on."""
    admin = UserFactory(admin=True)
    UserFactory(username="racer")
    monkeypatch.setattr(users, "username_taken", lambda session, username: False)
    before = _count(db_session, User), _count(db_session, AuditEvent)
    with pytest.raises(ConflictError) as refused:
        users.create_user(
            db_session, actor_of(admin), NewUser("racer", "某人", Role.ASSESSOR), POLICY, NOW
        )
    assert refused.value.field == "username"
    assert (_count(db_session, User), _count(db_session, AuditEvent)) == before


@pytest.mark.parametrize("username", ["ab", "with space", "中文名", "-dash", "x" * 65])
def test_a_malformed_username_is_refused(db_session: Session, username: str) -> None:
    admin = UserFactory(admin=True)
    with pytest.raises(InvalidInputError) as refused:
        users.create_user(
            db_session, actor_of(admin), NewUser(username, "某人", Role.ASSESSOR), POLICY, NOW
        )
    assert refused.value.field == "username"


def test_the_console_creates_the_first_administrator(db_session: Session) -> None:
    made = users.create_user_from_console(
        db_session, NewUser("root.admin", "管理员", Role.ADMIN), POLICY, NOW
    )
    assert made.user.role is Role.ADMIN
    assert made.user.must_change_password
    [event] = _events(db_session, "user.create", made.user)
    assert event.actor_id is None
    assert event.address == "cli"


# --- caregivers -------------------------------------------------------------------------------


def test_a_manager_creates_a_caregiver_of_their_company(db_session: Session, protector) -> None:  # type: ignore[no-untyped-def]
    manager = UserFactory(manager=True)
    made = users.create_caregiver(
        db_session, actor_of(manager), _caregiver_input(), POLICY, protector, NOW
    )
    user = made.user
    assert user.role is Role.CAREGIVER
    assert user.provider_id == manager.provider_id
    assert user.display_name == "王芳"
    assert user.must_change_password
    caregiver = db_session.scalar(select(Caregiver).where(Caregiver.user_id == user.id))
    assert caregiver is not None
    assert caregiver.provider_id == manager.provider_id
    assert caregiver.is_enabled
    assert caregiver.work_days == [1, 2, 3, 4, 5]
    assert caregiver.qualifications == ["daily_care", "nursing"]
    assert protector.decrypt(caregiver.id_number_ciphertext) == CAREGIVER_ID
    assert caregiver.id_number_index == protector.blind_index(CAREGIVER_ID)
    [event] = _events(db_session, "user.create", user)
    assert event.detail["caregiver_id"] == caregiver.id
    assert CAREGIVER_ID not in str(event.detail)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"id_number": WRONG_CHECK}, "id_number"),
        ({"qualifications": []}, "qualifications"),
        ({"qualifications": ["flying"]}, "qualifications"),
        ({"work_days": []}, "work_days"),
        ({"work_days": [0, 8]}, "work_days"),
        ({"work_start": dt.time(18, 0)}, "work_end"),
        ({"base_lat": 95.0}, "base_lat"),
        ({"max_visits_per_day": 0}, "max_visits_per_day"),
        ({"name": "  "}, "name"),
        ({"password": "liverpool123"}, "password"),
    ],
)
def test_a_caregiver_with_a_wrong_field_is_refused_whole(
    db_session: Session,
    protector,  # type: ignore[no-untyped-def]
    values: dict[str, object],
    field: str,
) -> None:
    manager = UserFactory(manager=True)
    before = _count(db_session, User), _count(db_session, Caregiver)
    with pytest.raises(InvalidInputError) as refused:
        users.create_caregiver(
            db_session, actor_of(manager), _caregiver_input(**values), POLICY, protector, NOW
        )
    assert refused.value.field == field
    assert (_count(db_session, User), _count(db_session, Caregiver)) == before


def test_only_a_provider_manager_creates_caregivers(db_session: Session, protector) -> None:  # type: ignore[no-untyped-def]
    admin = UserFactory(admin=True)
    with pytest.raises(PermissionDeniedError):
        users.create_caregiver(
            db_session, actor_of(admin), _caregiver_input(), POLICY, protector, NOW
        )


# --- reading ----------------------------------------------------------------------------------


def test_a_manager_sees_only_their_own_company_s_caregivers(db_session: Session) -> None:
    manager = UserFactory(manager=True)
    own = CaregiverUserFactory(provider=manager.provider).user
    other = CaregiverUserFactory().user
    colleague = UserFactory(manager=True, provider=manager.provider)
    assessor = UserFactory(assessor=True)
    seen = users.list_users(db_session, actor_of(manager), limit=100)
    assert seen == [own]
    for hidden in (other, colleague, assessor, manager):
        with pytest.raises(NotFoundError):
            users.get_user(db_session, actor_of(manager), hidden.id)
    admin = UserFactory(admin=True)
    everyone = users.list_users(db_session, actor_of(admin), limit=100)
    assert {own, other, colleague, assessor, manager, admin} <= set(everyone)


@pytest.mark.parametrize("role", [Role.ASSESSOR, Role.CAREGIVER])
def test_staff_see_no_users(db_session: Session, role: Role) -> None:
    actor = UserFactory(role=role, provider=ProviderFactory())
    with pytest.raises(PermissionDeniedError):
        users.list_users(db_session, actor_of(actor), limit=10)


# --- passwords --------------------------------------------------------------------------------


def _change(session: Session, user: User, current: str, new: str) -> User:
    return users.change_own_password(
        session,
        actor_of(user, "10.0.0.7"),
        current,
        new,
        POLICY,
        NOW,
        max_failures=5,
        window=WINDOW,
    )


def test_a_user_changes_their_password_and_every_session_ends(db_session: Session) -> None:
    user = UserFactory(assessor=True, must_change_password=True)
    _change(db_session, user, PASSWORD, "my own long passphrase")
    assert verify_password(user.password_hash, "my own long passphrase")
    assert not user.must_change_password
    assert user.session_version == 1
    [event] = _events(db_session, "user.change_password", user)
    assert event.detail == {"was_temporary": True}


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [
        ("wrong password!", "my own long passphrase", "current_password"),
        (PASSWORD, PASSWORD, "new_password"),  # the same as before
        (PASSWORD, "too short", "new_password"),
        (PASSWORD, "finalfantasy", "new_password"),  # common
    ],
)
def test_a_password_change_is_refused(
    db_session: Session, current: str, new: str, field: str
) -> None:
    user = UserFactory(assessor=True, must_change_password=True)
    old_hash = user.password_hash
    with pytest.raises(InvalidInputError) as refused:
        _change(db_session, user, current, new)
    assert refused.value.field == field
    assert user.password_hash == old_hash
    assert user.must_change_password
    assert user.session_version == 0


def test_an_administrator_resets_a_password_and_the_user_must_change_it(
    db_session: Session,
) -> None:
    admin, user = UserFactory(admin=True), UserFactory(assessor=True)
    made = users.reset_password(db_session, actor_of(admin), user.id, "", POLICY, NOW)
    assert made.temporary_password is not None
    assert verify_password(user.password_hash, made.temporary_password)
    assert not verify_password(user.password_hash, PASSWORD)
    assert user.must_change_password
    assert user.session_version == 1  # every session of the user ended
    [event] = _events(db_session, "user.reset_password", user)
    assert event.actor_id == admin.id
    assert event.detail == {"generated_password": True}


def test_only_an_administrator_resets_and_not_their_own(db_session: Session) -> None:
    admin = UserFactory(admin=True)
    manager = UserFactory(manager=True)
    caregiver = CaregiverUserFactory(provider=manager.provider).user
    with pytest.raises(PermissionDeniedError):
        users.reset_password(db_session, actor_of(manager), caregiver.id, "", POLICY, NOW)
    with pytest.raises(InvalidInputError):
        users.reset_password(db_session, actor_of(admin), admin.id, "", POLICY, NOW)
    assert caregiver.session_version == 0
    assert admin.session_version == 0


def test_the_console_resets_a_forgotten_administrator_password(db_session: Session) -> None:
    admin = UserFactory(admin=True, username="onlyadmin")
    made = users.reset_password_from_console(db_session, "OnlyAdmin", "", POLICY, NOW)
    assert made.user is admin
    assert admin.must_change_password
    assert admin.session_version == 1
    with pytest.raises(NotFoundError):
        users.reset_password_from_console(db_session, "nobody", "", POLICY, NOW)


# --- editing, disabling ---------------------------------------------------------------------


def test_an_administrator_makes_an_assessor_a_manager_and_their_sessions_end(
    db_session: Session,
) -> None:
    admin, user, provider = UserFactory(admin=True), UserFactory(assessor=True), ProviderFactory()
    old_name = user.display_name
    change = UserChange("站长 李", Role.PROVIDER_MANAGER, provider.id)
    users.update_user(db_session, actor_of(admin), user.id, change, NOW)
    assert (user.display_name, user.role, user.provider_id) == (
        "站长 李",
        Role.PROVIDER_MANAGER,
        provider.id,
    )
    assert user.session_version == 1
    [event] = _events(db_session, "user.update", user)
    assert event.detail["before"] == {"display_name": old_name, "role": "assessor"}
    assert event.detail["after"] == {"display_name": "站长 李", "role": "provider_manager"}


def test_a_rename_keeps_the_sessions(db_session: Session) -> None:
    manager = UserFactory(manager=True)
    caregiver = CaregiverUserFactory(provider=manager.provider).user
    users.update_user(db_session, actor_of(manager), caregiver.id, UserChange("新名字"), NOW)
    assert caregiver.display_name == "新名字"
    assert caregiver.session_version == 0


def test_roles_that_cannot_be_changed(db_session: Session) -> None:
    admin = UserFactory(admin=True)
    manager = UserFactory(manager=True)
    caregiver = CaregiverUserFactory(provider=manager.provider).user
    with pytest.raises(InvalidInputError):  # one's own
        users.update_user(
            db_session, actor_of(admin), admin.id, UserChange("我", Role.ASSESSOR), NOW
        )
    with pytest.raises(InvalidInputError):  # a caregiver's
        users.update_user(
            db_session, actor_of(admin), caregiver.id, UserChange("某", Role.ASSESSOR), NOW
        )
    with pytest.raises(PermissionDeniedError):  # by a manager
        users.update_user(
            db_session, actor_of(manager), caregiver.id, UserChange("某", Role.ASSESSOR), NOW
        )


def test_a_manager_disables_and_enables_their_caregiver(db_session: Session) -> None:
    manager = UserFactory(manager=True)
    caregiver = CaregiverUserFactory(provider=manager.provider)
    user = caregiver.user
    users.disable_account(db_session, actor_of(manager), user.id, NOW)
    db_session.refresh(caregiver)
    assert not user.is_enabled
    assert not caregiver.is_enabled
    assert user.session_version == 1
    with pytest.raises(ConflictError):
        users.disable_account(db_session, actor_of(manager), user.id, NOW)
    users.enable_account(db_session, actor_of(manager), user.id, NOW)
    db_session.refresh(caregiver)
    assert user.is_enabled
    assert caregiver.is_enabled
    assert [e.action for e in _events(db_session, "user.enable", user)] == ["user.enable"]
    assert len(_events(db_session, "disable_user", user)) == 1


def test_a_manager_touches_no_other_account(db_session: Session) -> None:
    manager = UserFactory(manager=True)
    others = [
        CaregiverUserFactory().user,  # another company's caregiver
        UserFactory(manager=True, provider=manager.provider),  # a fellow manager
        UserFactory(assessor=True),
    ]
    for other in others:
        for action in (users.disable_account, users.enable_account):
            with pytest.raises(NotFoundError):
                action(db_session, actor_of(manager), other.id, NOW)
        assert other.is_enabled
        assert other.session_version == 0


def test_an_administrator_cannot_disable_themselves(db_session: Session) -> None:
    admin = UserFactory(admin=True)
    with pytest.raises(InvalidInputError):
        users.disable_account(db_session, actor_of(admin), admin.id, NOW)
    assert admin.is_enabled


# --- unlocking ----------------------------------------------------------------------------------


def _login(session: Session, username: str, password: str, address: str = "10.0.0.9") -> User:
    return authenticate(
        session, username, password, address=address, now=NOW, max_failures=5, window=WINDOW
    )


def test_an_administrator_unlocks_a_throttled_account(db_session: Session) -> None:
    admin, user = UserFactory(admin=True), UserFactory(assessor=True)
    for _ in range(5):
        with pytest.raises(InvalidInputError):
            _login(db_session, user.username, "wrong password")
    with pytest.raises(ThrottledError):
        _login(db_session, user.username, PASSWORD)
    assert users.login_failures(db_session, actor_of(admin), user, now=NOW, window=WINDOW) == 5

    cleared = users.unlock_user(db_session, actor_of(admin), user.id, now=NOW, window=WINDOW)

    assert cleared == 5
    assert users.login_failures(db_session, actor_of(admin), user, now=NOW, window=WINDOW) == 0
    assert _login(db_session, user.username, PASSWORD) is user
    # The failures stay on record, marked cleared; the unlock is audited with them.
    kept = db_session.scalars(
        select(LoginAttempt).where(
            LoginAttempt.username == user.username, LoginAttempt.is_success.is_(False)
        )
    ).all()
    assert len(kept) == 5
    assert all(attempt.cleared_at == NOW for attempt in kept)
    [event] = _events(db_session, "user.unlock", user)
    assert event.detail == {"cleared_failures": 5, "addresses": ["10.0.0.9"]}


def test_an_unlock_leaves_other_accounts_locked(db_session: Session) -> None:
    admin = UserFactory(admin=True)
    user, other = UserFactory(assessor=True), UserFactory(assessor=True)
    for _ in range(5):
        with pytest.raises(InvalidInputError):
            _login(db_session, other.username, "wrong password", address="10.0.0.1")
    users.unlock_user(db_session, actor_of(admin), user.id, now=NOW, window=WINDOW)
    with pytest.raises(ThrottledError):
        _login(db_session, other.username, PASSWORD, address="10.0.0.2")


def test_only_an_administrator_unlocks(db_session: Session) -> None:
    manager = UserFactory(manager=True)
    caregiver = CaregiverUserFactory(provider=manager.provider).user
    with pytest.raises(PermissionDeniedError):
        users.unlock_user(db_session, actor_of(manager), caregiver.id, now=NOW, window=WINDOW)


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "tab\there", "x" * 101])
def test_a_name_must_be_printable_and_short(db_session: Session, name: str) -> None:
    admin = UserFactory(admin=True)
    with pytest.raises(InvalidInputError) as refused:
        users.create_user(
            db_session, actor_of(admin), NewUser("someone", name, Role.ASSESSOR), POLICY, NOW
        )
    assert refused.value.field == "display_name"
    with pytest.raises(InvalidInputError):
        users.update_user(db_session, actor_of(admin), admin.id, UserChange(name), NOW)


def test_a_wrong_current_password_counts_as_a_failed_login(db_session: Session) -> None:
    """A session left open cannot guess the password faster than the login page allows."""
    user = UserFactory(assessor=True)
    for _ in range(5):
        with pytest.raises(InvalidInputError):
            _change(db_session, user, "a guess at it", "my own long passphrase")
    attempts = db_session.scalars(
        select(LoginAttempt).where(LoginAttempt.username == user.username)
    ).all()
    assert [(a.is_success, a.address) for a in attempts] == [(False, "10.0.0.7")] * 5
    with pytest.raises(ThrottledError) as refused:  # now not even the right one is checked
        _change(db_session, user, PASSWORD, "my own long passphrase")
    assert refused.value.field == "current_password"
    assert verify_password(user.password_hash, PASSWORD)
    with pytest.raises(ThrottledError):  # and the login page is locked too
        _login(db_session, user.username, PASSWORD)
