"""The login page, throttling over HTTP, safe redirects, and CSRF on every form."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.models import LoginAttempt
from tests.factories import PASSWORD, UserFactory


def test_login_with_empty_fields_is_a_form_error_and_records_nothing(
    english: FlaskClient, db_session: Session
) -> None:
    response = english.post("/login", data={"username": "", "password": ""})
    assert response.status_code == 200
    assert "This field is required." in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_wrong_password_is_refused_with_a_message(
    english: FlaskClient, db_session: Session
) -> None:
    user = UserFactory()
    response = english.post("/login", data={"username": user.username, "password": "x"})
    assert response.status_code == 400
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_sixth_attempt_is_throttled_in_chinese(client: FlaskClient, db_session: Session) -> None:
    user = UserFactory()
    for _ in range(5):
        client.post("/login", data={"username": user.username, "password": "x"})
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "登录失败次数过多" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("target", "lands_on"),
    [("/people", "/people"), ("https://evil.example/", "/"), ("//evil.example/x", "/")],
)
def test_login_redirects_only_to_this_site(
    client: FlaskClient, db_session: Session, target: str, lands_on: str
) -> None:
    user = UserFactory(assessor=True)  # no second factor (an administrator's: test_two_factor)
    response = client.post(
        f"/login?next={target}", data={"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == lands_on


def test_every_form_refuses_a_post_without_csrf_token(
    app: Flask, client: FlaskClient, db_session: Session, login_as: Any
) -> None:
    login_as(UserFactory())
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        posts = [rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or set())]
        assert len(posts) > 10
        for rule in posts:
            url = rule.rule.replace("<int:", "<").replace("<path:", "<")
            for name in rule.arguments:
                url = url.replace(f"<{name}>", "1")
            response = client.post(url, data={"stars": "5"})
            assert response.status_code == 400, f"POST {url} answered {response.status_code}"
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
