from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp import create_app
from careapp.config import Config, ConfigError
from careapp.models import District
from tests.factories import DistrictFactory, UserFactory


def test_create_app_fails_fast_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAREAPP_SECRET_KEY", raising=False)
    monkeypatch.delenv("CAREAPP_DATA_KEY", raising=False)
    with pytest.raises(ConfigError, match="CAREAPP_SECRET_KEY"):
        create_app(Config)


def test_login_page_is_chinese_by_default(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page


def test_login_page_in_english_after_switching(client: FlaskClient) -> None:
    client.post("/lang/en")
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page


def test_home_requires_login(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_admin_logs_in_and_sees_home(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    admin = UserFactory(admin=True, display_name="管理员甲")
    page = login_as(admin).get("/").get_data(as_text=True)
    assert "管理员甲" in page


# The rollback canary pair: the first writes, the second must not see it.
def test_rollback_canary_writes(db_session: Session) -> None:
    DistrictFactory(code="320623", name_zh="如东县", name_en="Rudong County")
    db_session.commit()  # releases the savepoint only; the outer transaction is rolled back
    assert db_session.get(District, "320623") is not None


def test_rollback_canary_row_is_gone(db_session: Session) -> None:
    assert db_session.scalars(select(District).where(District.code == "320623")).first() is None


def test_errors_are_json_for_api_clients(app: Flask, client: FlaskClient) -> None:
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"]
