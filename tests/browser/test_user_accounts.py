"""An administrator creates an assessor on a tablet; the assessor logs in with the temporary
password, is led to choose their own, and then works (their queue of assessments)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from careapp.models import User
from tests.browser.conftest import LiveData, live_session, login, logout, screenshot, zh

OWN_PASSWORD = "river tea at nine o'clock"


def test_a_new_assessor_changes_the_temporary_password_then_works(
    page: Page,
    tablet: BrowserContext,
    live_app: Flask,
    live_data: LiveData,
    screenshots: Path,
) -> None:
    login(page, live_data.users["admin"])
    page.get_by_role("navigation").get_by_role("link", name=zh("Users")).tap()
    page.get_by_test_id("user-new").tap()
    page.get_by_label(zh("Username")).fill("assessor.new")
    page.get_by_label(zh("Name"), exact=True).fill("评估员 新来的")
    page.get_by_label(zh("Role")).select_option("assessor")
    with page.expect_navigation():
        page.get_by_test_id("user-create").tap()
    temporary = page.get_by_test_id("temporary-password").inner_text().strip()
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", temporary)
    screenshot(page, screenshots / "user-created.png")
    logout(page)

    login(page, "assessor.new", temporary)
    expect(page).to_have_url(re.compile(r"/account/password$"))
    expect(page.get_by_test_id("must-change")).to_be_visible()
    page.goto("/assessments")  # nothing else opens before the change
    expect(page).to_have_url(re.compile(r"/account/password$"))

    page.locator("#current_password").fill(temporary)
    page.locator("#new_password").fill("short")
    page.locator("#new_password_again").fill("short")
    with page.expect_navigation():
        page.get_by_test_id("password-change").tap()
    expect(page.locator("#new_password-error")).to_contain_text("12")

    page.locator("#current_password").fill(temporary)
    page.locator("#new_password").fill(OWN_PASSWORD)
    page.locator("#new_password_again").fill(OWN_PASSWORD)
    screenshot(page, screenshots / "password-change.png")
    with page.expect_navigation():
        page.get_by_test_id("password-change").tap()
    expect(page.locator(".flash-success")).to_contain_text(
        zh("Your password is changed. Your other sessions have ended.")
    )
    page.get_by_role("navigation").get_by_role("link", name=zh("My assessments")).tap()
    expect(page).to_have_url(re.compile(r"/assessments$"))

    with live_session(live_app) as session:
        user = session.scalar(select(User).where(User.username == "assessor.new"))
        assert user is not None
        assert not user.must_change_password
    logout(page)
    login(page, "assessor.new", OWN_PASSWORD)  # the new password works, the temporary no more
