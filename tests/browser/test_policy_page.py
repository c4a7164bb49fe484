"""The policy page on a tablet: an administrator corrects the combination table in Chinese."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from playwright.sync_api import Page, expect

from careapp.core.clock import city_today
from tests.browser.conftest import TABLET, LiveData, login, screenshot, zh


def test_admin_creates_a_policy_version_and_a_bad_cell_is_refused(
    page: Page, live_data: LiveData, screenshots: Path
) -> None:
    login(page, live_data.users["admin"])
    page.goto("/policy/new")
    expect(page.locator("main h1")).to_have_text(zh("New policy version"))
    # The page fits the tablet; the wide tables scroll inside their own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    screenshot(page, screenshots / "policy-new.png")

    effective = (city_today() + dt.timedelta(days=3 * 365)).isoformat()  # a date far ahead
    page.locator("input[name=name]").fill("浏览器测试版本")
    page.locator("input[name=effective_on]").fill(effective)
    page.locator("select[name=instrument_code]").select_option("national_2021")
    # ADL severely impaired x intact: grade 1 would be below grade 2 of the cell above.
    page.locator("select[name=cell__national_2021__severe__intact]").select_option("1")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()
    error = page.get_by_test_id("policy-error")
    expect(error).to_contain_text("组合表")
    expect(error).to_contain_text("重度受损")
    screenshot(page, screenshots / "policy-new-error.png")

    page.locator("select[name=cell__national_2021__severe__intact]").select_option("3")
    page.locator("select[name=cell__national_2021__mild__moderate]").select_option("2")
    # The cash subsidy, typed in yuan as the form shows it (prefilled 15.00).
    expect(page.locator("input[name=rate__severe__home_cash]")).to_have_value("15.00")
    page.locator("input[name=rate__severe__home_cash]").fill("18.5")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()
    expect(page.locator("main h1")).to_have_text(zh("Policy versions"))
    version = page.get_by_test_id("policy-version").filter(has_text="浏览器测试版本")
    expect(version.get_by_test_id("policy-status")).to_have_text(zh("Scheduled"))
    expect(version.get_by_test_id("policy-rates")).to_contain_text(
        zh("%(amount)s yuan a day", amount="18.50")
    )
    expect(version.get_by_test_id("policy-instrument")).to_have_text(
        "长期护理失能等级评估标准（试行）"
    )
