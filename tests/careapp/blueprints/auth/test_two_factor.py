"""The second factor's pages: the login step, the administrators' mandatory set-up, each user's
own two-factor page; a password alone never gives an administrator a session."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from careapp.core import clock as app_clock
from careapp.models import AuditEvent, User
from careapp.services.two_factor import code_at
from tests.conftest import PinnedClock, current_totp_code
from tests.factories import PASSWORD, TEST_PROTECTOR, UserFactory, totp_secret

WRONG_CODE_EN = "Wrong code, or a code already used. Enter the current code."
WRONG_CODE_ZH = "验证码错误或已使用过，请输入当前的验证码。"


def _password(client: FlaskClient, user: User, target: str = "") -> str:
    """Post the right password; where it leads."""
    response = client.post(
        f"/login{target}", data={"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def _logged_in(client: FlaskClient) -> bool:
    response = client.get("/")
    return response.status_code == 200


def _secret_on(page: str) -> str:
    found = re.search(r'data-testid="two-factor-secret">([A-Z2-7 ]+)<', page)
    assert found is not None, page
    return found.group(1).replace(" ", "")


def _actions(session: Session, user: User) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "user", AuditEvent.object_id == user.id)
            .order_by(AuditEvent.id)
        )
    )


def test_a_password_alone_never_gives_an_administrator_a_session(
    client: FlaskClient, db_session: Session
) -> None:
    enrolled = UserFactory(admin=True)
    assert _password(client, enrolled) == "/login/two-factor"
    for path in ("/", "/people", "/account/two-factor"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    assert client.get("/login/two-factor/enrol").headers["Location"] == "/login/two-factor"

    client.post("/logout")
    new = UserFactory(admin=True, two_factor=False)
    assert _password(client, new) == "/login/two-factor/enrol"
    assert not _logged_in(client)
    assert client.get("/login/two-factor").headers["Location"] == "/login/two-factor/enrol"
    # The code step refuses an administrator without a second factor: to the set-up.
    response = client.post("/login/two-factor", data={"code": "123456"})
    assert response.headers["Location"] == "/login/two-factor/enrol"
    assert not _logged_in(client)


def test_the_code_completes_the_login_and_keeps_where_it_was_going(
    client: FlaskClient, db_session: Session
) -> None:
    admin = UserFactory(admin=True)
    _password(client, admin, "?next=/people")

    response = client.post("/login/two-factor", data={"code": current_totp_code(db_session, admin)})

    assert response.status_code == 302
    assert response.headers["Location"] == "/people"
    assert client.get("/people").status_code == 200
    # One login audited, once the code is in (the password alone audits none).
    assert _actions(db_session, admin) == ["login"]


def test_a_wrong_code_is_a_form_error_in_chinese(client: FlaskClient, db_session: Session) -> None:
    admin = UserFactory(admin=True)
    _password(client, admin)
    page = client.get("/login/two-factor").get_data(as_text=True)
    assert "双因素认证" in page
    response = client.post("/login/two-factor", data={"code": "12345"})
    assert response.status_code == 400
    assert WRONG_CODE_ZH in response.get_data(as_text=True)
    assert not _logged_in(client)


def test_a_wrong_code_is_a_form_error_in_english(english: FlaskClient, db_session: Session) -> None:
    admin = UserFactory(admin=True)
    _password(english, admin)
    response = english.post("/login/two-factor", data={"code": "abc"})
    assert response.status_code == 400
    assert WRONG_CODE_EN in response.get_data(as_text=True)
    assert "Two-factor authentication" in response.get_data(as_text=True)
    assert not _logged_in(english)


def test_the_code_step_expires_after_five_minutes(
    english: FlaskClient, db_session: Session, clock: PinnedClock
) -> None:
    admin = UserFactory(admin=True)
    _password(english, admin)
    clock.advance(dt.timedelta(minutes=5, seconds=1))

    response = english.post(
        "/login/two-factor", data={"code": current_totp_code(db_session, admin)}
    )

    assert response.headers["Location"] == "/login"
    assert "Your login has expired. Please log in again." in english.get("/login").get_data(
        as_text=True
    )
    assert not _logged_in(english)
    # The marker is gone: coming back to the step leads to the login page.
    assert english.get("/login/two-factor").headers["Location"] == "/login"


def test_the_code_step_ends_with_the_users_sessions(
    client: FlaskClient, db_session: Session
) -> None:
    """A password change or disabling between the two steps voids the half-done login."""
    admin = UserFactory(admin=True)
    _password(client, admin)
    db_session.execute(
        update(User).where(User.id == admin.id).values(session_version=User.session_version + 1)
    )
    response = client.post("/login/two-factor", data={"code": current_totp_code(db_session, admin)})
    assert response.headers["Location"] == "/login"
    assert not _logged_in(client)


def test_the_sixth_wrong_code_is_throttled_even_when_right(
    client: FlaskClient, db_session: Session
) -> None:
    admin = UserFactory(admin=True)
    _password(client, admin)
    for _ in range(5):
        assert client.post("/login/two-factor", data={"code": "000001x"}).status_code == 400
    response = client.post("/login/two-factor", data={"code": current_totp_code(db_session, admin)})
    assert response.status_code == 429
    assert "登录失败次数过多" in response.get_data(as_text=True)
    assert not _logged_in(client)


def test_a_recovery_code_logs_in_once_through_the_page(
    client: FlaskClient, db_session: Session, login_as: Any
) -> None:
    user = UserFactory(assessor=True)
    login_as(user)
    client.get("/account/two-factor/enrol")
    page = client.post(
        "/account/two-factor/enrol", data={"code": current_totp_code(db_session, user)}
    ).get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", page)
    assert len(codes) == 10
    client.post("/logout")

    assert _password(client, user) == "/login/two-factor"
    assert client.post("/login/two-factor", data={"code": codes[0]}).status_code == 302
    assert _logged_in(client)
    client.post("/logout")
    _password(client, user)
    assert client.post("/login/two-factor", data={"code": codes[0]}).status_code == 400


def test_an_administrator_sets_up_the_factor_before_the_first_session(
    english: FlaskClient, db_session: Session
) -> None:
    admin = UserFactory(admin=True, two_factor=False)
    _password(english, admin, "?next=/people")
    page = english.get("/login/two-factor/enrol").get_data(as_text=True)
    assert "Administrators must use a second factor." in page
    assert '<svg class="qr-code"' in page
    secret = _secret_on(page)
    assert _secret_on(english.get("/login/two-factor/enrol").get_data(as_text=True)) == secret

    wrong = english.post("/login/two-factor/enrol", data={"code": "000000x"})
    assert wrong.status_code == 400
    assert WRONG_CODE_EN in wrong.get_data(as_text=True)
    assert not _logged_in(english)
    response = english.post(
        "/login/two-factor/enrol", data={"code": code_at(secret, app_clock.utcnow())}
    )

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert len(re.findall(r"<li><code>[a-z2-9]{5}-[a-z2-9]{5}</code></li>", page)) == 10
    assert 'href="/people"' in page
    assert english.get("/people").status_code == 200  # logged in now
    assert "enable_two_factor" in _actions(db_session, admin)
    # The codes are shown once: the set-up page is gone.
    assert english.get("/login/two-factor/enrol").headers["Location"] == "/"


def test_the_set_up_page_in_chinese(client: FlaskClient, db_session: Session) -> None:
    admin = UserFactory(admin=True, two_factor=False)
    _password(client, admin)
    page = client.get("/login/two-factor/enrol").get_data(as_text=True)
    assert "设置双因素认证" in page
    assert "管理员必须使用第二重认证" in page


def test_a_user_sets_up_renews_and_turns_off_the_factor_from_their_page(
    english: FlaskClient, db_session: Session, login_as: Any, app: Flask
) -> None:
    user = UserFactory(caregiver=True)
    login_as(user)
    other_device = app.test_client()
    other_device.post("/lang/en")  # test requests share one cached locale: English for all
    other_device.post("/login", data={"username": user.username, "password": PASSWORD})
    assert _logged_in(other_device)

    assert "Off: logging in asks only for your password." in english.get(
        "/account/two-factor"
    ).get_data(as_text=True)
    secret = _secret_on(english.get("/account/two-factor/enrol").get_data(as_text=True))
    done = english.post(
        "/account/two-factor/enrol", data={"code": code_at(secret, app_clock.utcnow())}
    )
    assert done.status_code == 200
    assert 'href="/account/two-factor"' in done.get_data(as_text=True)
    assert _logged_in(english)  # this session goes on
    assert not _logged_in(other_device)  # the others end

    page = english.get("/account/two-factor").get_data(as_text=True)
    assert "Unused recovery codes: 10" in page
    wrong = english.post("/account/two-factor/recovery-codes", data={"renew-code": "123456"})
    assert wrong.status_code == 400
    assert WRONG_CODE_EN in wrong.get_data(as_text=True)
    renewed = english.post(
        "/account/two-factor/recovery-codes",
        data={"renew-code": current_totp_code(db_session, user)},
    )
    assert renewed.status_code == 200
    assert "regenerate_recovery_codes" in _actions(db_session, user)

    off = english.post(
        "/account/two-factor/disable", data={"off-code": current_totp_code(db_session, user)}
    )
    assert off.headers["Location"] == "/account/two-factor"
    assert "Two-factor authentication is turned off." in english.get(
        "/account/two-factor"
    ).get_data(as_text=True)
    assert "disable_two_factor" in _actions(db_session, user)
    client = app.test_client()
    client.post("/lang/en")
    assert _password(client, user) == "/"  # the password alone again


def test_an_administrator_cannot_turn_the_factor_off(
    english: FlaskClient, db_session: Session, login_as: Any
) -> None:
    admin = UserFactory(admin=True)
    login_as(admin)
    page = english.get("/account/two-factor").get_data(as_text=True)
    assert "Administrators must keep two-factor authentication." in page
    assert "/account/two-factor/disable" not in page

    response = english.post(
        "/account/two-factor/disable", data={"off-code": current_totp_code(db_session, admin)}
    )

    assert response.status_code == 403
    assert db_session.scalar(select(User.totp_enrolled_at).where(User.id == admin.id)) is not None
    stored = db_session.scalar(select(User.totp_secret_ciphertext).where(User.id == admin.id))
    assert stored is not None
    assert TEST_PROTECTOR.decrypt(stored) == totp_secret(admin.username)
