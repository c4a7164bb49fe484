"""An administrator's login on a tablet: the password, then the code of the authenticator app;
and a new administrator's mandatory set-up of the app before their first page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect

from careapp.core import clock
from careapp.models import Role
from careapp.services.two_factor import code_at
from tests import factories
from tests.browser.conftest import LiveData, live_session, live_totp_code, screenshot, zh
from tests.browser.test_every_page import page_problems


@pytest.fixture
def page(new_tablet: Callable[..., BrowserContext]) -> Page:
    """A tablet page that axe-core can be injected into (the pages' CSP forbids inline scripts)."""
    return new_tablet(bypass_csp=True).new_page()


def test_admin_logs_in_with_the_code_of_the_authenticator_app(
    page: Page, live_data: LiveData, screenshots: Path
) -> None:
    username = live_data.users["admin"]
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(factories.PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()

    # The password alone gives no session: the app asks for the code.
    assert urlsplit(page.url).path == "/login/two-factor"
    expect(page.locator("main h1")).to_have_text(zh("Two-factor authentication"))
    screenshot(page, screenshots / "login-two-factor.png")
    assert page_problems(page) == []  # the crawl of every page cannot reach this one
    assert page.request.get("/people", max_redirects=0).status == 302

    right = live_totp_code(username)
    page.locator("input[name=code]").fill(f"{(int(right) + 1) % 1_000_000:06d}")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()
    expect(page.locator(".field-error")).to_have_text(
        zh("Wrong code, or a code already used. Enter the current code.")
    )

    page.locator("input[name=code]").fill(live_totp_code(username))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()
    assert urlsplit(page.url).path == "/"
    expect(page.get_by_test_id("logout")).to_be_visible()


def test_new_admin_sets_up_the_app_before_the_first_page(
    page: Page, live_app: Flask, live_data: LiveData, screenshots: Path
) -> None:
    with live_session(live_app):
        factories.UserFactory(
            username="admin-new", display_name="管理员新", role=Role.ADMIN, two_factor=False
        )
    page.goto("/login")
    page.locator("input[name=username]").fill("admin-new")
    page.locator("input[name=password]").fill(factories.PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()

    assert urlsplit(page.url).path == "/login/two-factor/enrol"
    expect(page.get_by_test_id("two-factor-required")).to_be_visible()
    expect(page.locator("[data-testid=two-factor-qr] svg")).to_be_visible()
    screenshot(page, screenshots / "login-two-factor-enrol.png")
    assert page_problems(page) == []
    # What a newcomer types into the app by hand: the key shown under the QR code.
    secret = page.get_by_test_id("two-factor-secret").inner_text().replace(" ", "")
    page.locator("input[name=code]").fill(code_at(secret, clock.utcnow()))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()

    codes = page.locator("[data-testid=recovery-codes] li")
    expect(codes).to_have_count(10)
    assert page_problems(page) == []
    with page.expect_navigation():
        page.get_by_test_id("continue").tap()
    assert urlsplit(page.url).path == "/"
    expect(page.locator("main h1")).to_have_text("欢迎，管理员新")
