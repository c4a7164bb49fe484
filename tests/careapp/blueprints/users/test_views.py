"""The user pages: forms and their errors, who sees which account, the first-login password
change, and sessions that end when a password is reset or an account disabled."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.identity import make_resident_id
from careapp.models import Caregiver, LoginAttempt, Role, User
from careapp.security import verify_password
from tests.factories import PASSWORD, CaregiverUserFactory, ProviderFactory, UserFactory

NEW_PASSWORD = "tea by the river at nine"


def _user(session: Session, username: str) -> User:
    found = session.scalar(select(User).where(User.username == username))
    assert found is not None
    return found


def _log_in(app: Flask, user: User, password: str = PASSWORD) -> FlaskClient:
    """Another browser, logged in as `user`."""
    browser = app.test_client()
    response = browser.post("/login", data={"username": user.username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def _is_logged_in(browser: FlaskClient) -> bool:
    response = browser.get("/account/password")
    return response.status_code == 200


def _temporary_password(page: str) -> str:
    found = re.search(r'data-testid="temporary-password">([^<]+)<', page)
    assert found is not None, page
    return found.group(1)


# --- the administrator's pages ------------------------------------------------------------------


def test_an_administrator_creates_an_assessor_and_sees_the_temporary_password_once(
    admin_client: FlaskClient, db_session: Session
) -> None:
    response = admin_client.post(
        "/users/new",
        data={"username": "li.qiang", "display_name": "评估员 李强", "role": "assessor"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    temporary = _temporary_password(page)
    user = _user(db_session, "li.qiang")
    assert user.role is Role.ASSESSOR
    assert user.must_change_password
    assert verify_password(user.password_hash, temporary)
    assert "临时密码" in page
    # Shown once: the account's page shows it no more.
    later = admin_client.get(f"/users/{user.id}").get_data(as_text=True)
    assert temporary not in later
    assert "li.qiang" in admin_client.get("/users").get_data(as_text=True)


def test_a_taken_username_is_an_error_on_its_field(
    admin_client: FlaskClient, db_session: Session
) -> None:
    UserFactory(username="taken")
    response = admin_client.post(
        "/users/new", data={"username": "Taken", "display_name": "某人", "role": "assessor"}
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "用户名“taken”已被使用" in page
    assert 'id="username-error"' in page


def test_a_short_password_is_refused_in_the_user_s_language(
    admin_client: FlaskClient, english: FlaskClient, db_session: Session
) -> None:
    response = admin_client.post(
        "/users/new",
        data={"username": "zhao", "display_name": "Zhao", "role": "admin", "password": "short"},
    )
    assert response.status_code == 400
    assert "Use at least 12 characters" in response.get_data(as_text=True)
    assert db_session.scalar(select(User).where(User.username == "zhao")) is None


def test_a_manager_needs_a_provider(admin_client: FlaskClient, db_session: Session) -> None:
    provider = ProviderFactory(name="紫琅护理")
    data = {"username": "mgr9", "display_name": "经理", "role": "provider_manager"}
    response = admin_client.post("/users/new", data=data)
    assert response.status_code == 400
    assert "服务机构管理员须属于一家服务机构" in response.get_data(as_text=True)
    response = admin_client.post("/users/new", data={**data, "provider_id": str(provider.id)})
    assert response.status_code == 200
    assert _user(db_session, "mgr9").provider_id == provider.id


def test_an_administrator_edits_a_role_and_the_user_s_sessions_end(
    app: Flask, admin_client: FlaskClient, db_session: Session
) -> None:
    user, provider = UserFactory(assessor=True), ProviderFactory()
    browser = _log_in(app, user)
    response = admin_client.post(
        f"/users/{user.id}",
        data={
            "display_name": "站长 新",
            "role": "provider_manager",
            "provider_id": str(provider.id),
        },
    )
    assert response.status_code == 302
    db_session.refresh(user)
    assert (user.role, user.provider_id, user.display_name) == (
        Role.PROVIDER_MANAGER,
        provider.id,
        "站长 新",
    )
    assert not _is_logged_in(browser)


def test_a_reset_ends_the_user_s_sessions_and_forces_a_new_password(
    app: Flask, admin_client: FlaskClient, db_session: Session
) -> None:
    user = UserFactory(assessor=True)
    browser = _log_in(app, user)
    response = admin_client.post(f"/users/{user.id}/password", data={})
    assert response.status_code == 200
    temporary = _temporary_password(response.get_data(as_text=True))
    assert not _is_logged_in(browser)  # the old session ended
    db_session.refresh(user)
    assert user.must_change_password

    browser = _log_in(app, user, temporary)
    landing = browser.get("/")
    assert landing.status_code == 302
    assert landing.headers["Location"] == "/account/password"


def test_a_typed_temporary_password_is_checked(
    admin_client: FlaskClient, db_session: Session
) -> None:
    user = UserFactory(assessor=True)
    response = admin_client.post(f"/users/{user.id}/password", data={"password": "qwerty123456"})
    assert response.status_code == 400
    assert "该密码属于最常见的密码" in response.get_data(as_text=True)
    db_session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)
    response = admin_client.post(
        f"/users/{user.id}/password", data={"password": "a typed temporary one"}
    )
    assert response.status_code == 302
    db_session.refresh(user)
    assert verify_password(user.password_hash, "a typed temporary one")


def test_disabling_ends_the_sessions_and_enabling_lets_the_user_back(
    app: Flask, admin_client: FlaskClient, db_session: Session
) -> None:
    user = UserFactory(assessor=True)
    browser = _log_in(app, user)
    assert admin_client.post(f"/users/{user.id}/disable").status_code == 302
    assert not _is_logged_in(browser)
    refused = app.test_client().post(
        "/login", data={"username": user.username, "password": PASSWORD}
    )
    assert refused.status_code == 400
    assert admin_client.post(f"/users/{user.id}/disable").status_code == 409  # already
    assert admin_client.post(f"/users/{user.id}/enable").status_code == 302
    assert _is_logged_in(_log_in(app, user))


def test_an_administrator_unlocks_a_locked_account(
    app: Flask, admin_client: FlaskClient, db_session: Session
) -> None:
    user = UserFactory(assessor=True)
    other = app.test_client()
    for _ in range(5):
        other.post("/login", data={"username": user.username, "password": "not it at all"})
    locked = other.post("/login", data={"username": user.username, "password": PASSWORD})
    assert locked.status_code == 429
    page = admin_client.get(f"/users/{user.id}").get_data(as_text=True)
    assert 'data-testid="login-failures">5' in page
    assert "已锁定" in page
    response = admin_client.post(f"/users/{user.id}/unlock", follow_redirects=True)
    assert "清除了 5 次登录失败记录" in response.get_data(as_text=True)
    assert (
        other.post("/login", data={"username": user.username, "password": PASSWORD}).status_code
        == 302
    )


def test_an_administrator_neither_disables_nor_resets_themselves(
    admin_client: FlaskClient, admin_user: User
) -> None:
    page = admin_client.get(f"/users/{admin_user.id}").get_data(as_text=True)
    assert 'data-testid="user-disable"' not in page
    assert 'data-testid="user-reset-password"' not in page
    assert 'name="role"' not in page
    assert admin_client.post(f"/users/{admin_user.id}/disable").status_code == 400
    assert admin_client.post(f"/users/{admin_user.id}/password").status_code == 400
    assert admin_user.is_enabled


# --- the provider manager's pages -----------------------------------------------------------------


def _caregiver_form(**values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "username": "wangfang",
        "name": "王芳",
        "id_number": make_resident_id("320602", dt.date(1985, 6, 1), 17),
        "phone": "13900000000",
        "qualifications": ["daily_care", "nursing"],
        "work_days": ["1", "2", "3", "4", "5"],
        "work_start": "08:00",
        "work_end": "17:00",
        "base_lat": "32.0",
        "base_lon": "120.86",
        "max_visits_per_day": "8",
    }
    data.update(values)
    return data


def test_a_manager_creates_a_caregiver_of_their_company(
    manager_client: FlaskClient, manager: User, db_session: Session
) -> None:
    response = manager_client.post("/users/caregivers/new", data=_caregiver_form())
    assert response.status_code == 200, response.get_data(as_text=True)
    _temporary_password(response.get_data(as_text=True))
    user = _user(db_session, "wangfang")
    assert user.role is Role.CAREGIVER
    assert user.provider_id == manager.provider_id
    caregiver = db_session.scalar(select(Caregiver).where(Caregiver.user_id == user.id))
    assert caregiver is not None
    assert caregiver.provider_id == manager.provider_id
    assert "wangfang" in manager_client.get("/users").get_data(as_text=True)


@pytest.mark.parametrize(
    ("values", "status", "text"),
    [
        ({"qualifications": []}, 400, "请至少选择一项资质"),
        ({"work_end": "07:00"}, 400, "下班时间须晚于上班时间"),
        ({"id_number": "123"}, 400, 'id="id_number-error"'),
        ({"base_lat": "north"}, 400, 'id="base_lat-error"'),
        ({"work_days": ["9"]}, 400, "work_days"),
    ],
)
def test_a_caregiver_form_with_errors_writes_nothing(
    manager_client: FlaskClient,
    db_session: Session,
    values: dict[str, Any],
    status: int,
    text: str,
) -> None:
    response = manager_client.post("/users/caregivers/new", data=_caregiver_form(**values))
    assert response.status_code == status
    assert text in response.get_data(as_text=True)
    assert db_session.scalar(select(User).where(User.username == "wangfang")) is None


def test_a_manager_disables_their_caregiver(
    app: Flask, manager_client: FlaskClient, manager: User, db_session: Session
) -> None:
    caregiver = CaregiverUserFactory(provider=manager.provider)
    browser = _log_in(app, caregiver.user)
    assert manager_client.post(f"/users/{caregiver.user.id}/disable").status_code == 302
    assert not _is_logged_in(browser)
    db_session.refresh(caregiver)
    assert not caregiver.is_enabled


def test_a_manager_never_sees_another_company_s_or_staff_accounts(
    manager_client: FlaskClient, manager: User, db_session: Session
) -> None:
    strangers = [
        CaregiverUserFactory().user,
        UserFactory(assessor=True, display_name="评估员 隐藏"),
        UserFactory(manager=True, provider=manager.provider, display_name="同事 隐藏"),
    ]
    listing = manager_client.get("/users").get_data(as_text=True)
    for stranger in strangers:
        assert stranger.username not in listing
        for url in (
            f"/users/{stranger.id}",
            f"/users/{stranger.id}/disable",
            f"/users/{stranger.id}/enable",
        ):
            method = manager_client.get if url.endswith(str(stranger.id)) else manager_client.post
            assert method(url).status_code == 404, url
        db_session.refresh(stranger)
        assert stranger.is_enabled
    assert manager_client.post(f"/users/{strangers[0].id}/password").status_code == 403
    assert manager_client.post(f"/users/{strangers[0].id}/unlock").status_code == 403
    assert manager_client.get("/users/new").status_code == 403


# --- changing one's own password, the first-login gate -----------------------------------------


def test_everyone_changes_their_own_password_and_stays_logged_in_here_only(
    app: Flask, login_as: Any, db_session: Session
) -> None:
    user = UserFactory(assessor=True)
    client = login_as(user)
    elsewhere = _log_in(app, user)
    assert 'data-testid="password-link"' in client.get("/account/password").get_data(as_text=True)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    db_session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert _is_logged_in(client)  # this browser goes on
    assert not _is_logged_in(elsewhere)  # every other session ended


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"current_password": "not my password"}, "当前密码不正确"),
        ({"new_password_again": "something else"}, "两次输入的新密码不一致"),
        ({"new_password": "short", "new_password_again": "short"}, "请至少使用 12 个字符"),
        ({"new_password": PASSWORD, "new_password_again": PASSWORD}, "新密码不能与当前密码相同"),
    ],
)
def test_a_refused_password_change_says_why(
    login_as: Any, db_session: Session, data: dict[str, str], text: str
) -> None:
    user = UserFactory(assessor=True)
    client = login_as(user)
    form = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD,
    }
    response = client.post("/account/password", data={**form, **data})
    assert response.status_code == 400
    assert text in response.get_data(as_text=True)
    db_session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)


def test_a_temporary_password_leads_every_page_to_the_password_page(
    login_as: Any, db_session: Session
) -> None:
    user = UserFactory(assessor=True, must_change_password=True)
    client = login_as(user)
    for url in ("/", "/assessments", "/users"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"] == "/account/password"
    json = client.get("/", headers={"Accept": "application/json"})
    assert json.status_code == 403
    page = client.get("/account/password")
    assert page.status_code == 200
    assert 'data-testid="must-change"' in page.get_data(as_text=True)
    static = client.get("/static/css/app.css")
    assert static.status_code == 200
    static.close()

    client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    db_session.refresh(user)
    assert not user.must_change_password
    assert client.get("/").status_code == 200


def test_logging_out_is_allowed_before_the_change(login_as: Any, db_session: Session) -> None:
    user = UserFactory(caregiver=True, provider=ProviderFactory(), must_change_password=True)
    client = login_as(user)
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_the_nav_leads_to_the_user_pages(
    admin_client: FlaskClient, login_as: Any, manager: User
) -> None:
    assert 'href="/users"' in admin_client.get("/").get_data(as_text=True)
    manager_page = login_as(manager).get("/roster").get_data(as_text=True)
    assert 'href="/users"' in manager_page
    assert "护理员" in manager_page


def test_wrong_current_passwords_are_counted_even_though_the_form_is_refused(
    login_as: Any, db_session: Session
) -> None:
    user = UserFactory(assessor=True)
    client = login_as(user)
    form = {
        "current_password": "a guess",
        "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD,
    }
    for _ in range(5):
        assert client.post("/account/password", data=form).status_code == 400
    throttled = client.post("/account/password", data={**form, "current_password": PASSWORD})
    assert throttled.status_code == 429
    db_session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)
    failures = db_session.scalars(
        select(LoginAttempt).where(
            LoginAttempt.username == user.username, LoginAttempt.is_success.is_(False)
        )
    ).all()
    assert len(failures) == 5
