"""Logged-in clients for the page tests."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from careapp.models import Caregiver, User


@pytest.fixture
def admin_client(login_as: Any, admin_user: User) -> FlaskClient:
    """The administrator (`admin_user`, 管理员甲) logged in; a test or module that reads the pages
    in English asks for the `english` fixture too."""
    client: FlaskClient = login_as(admin_user)
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
