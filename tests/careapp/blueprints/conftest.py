"""Logged-in clients for the page tests."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from careapp.models import Caregiver, User
from tests.factories import UserFactory


@pytest.fixture
def admin_client(login_as: Any) -> FlaskClient:
    """An administrator (管理员甲) logged in; a test or module that reads the pages in English
    asks for the `english` fixture too."""
    client: FlaskClient = login_as(UserFactory(admin=True, display_name="管理员甲"))
    return client


@pytest.fixture
def manager_client(login_as: Any, manager: User) -> FlaskClient:
    """The manager (see the `manager` fixture) logged in."""
    client: FlaskClient = login_as(manager)
    return client


@pytest.fixture
def phone(english: FlaskClient, login_as: Any, caregiver: Caregiver) -> FlaskClient:
    """The caregiver's logged-in phone, in English."""
    client: FlaskClient = login_as(caregiver.user)
    return client
