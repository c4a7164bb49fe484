"""Certificates on a tablet: reprinting keeps the number; an administrator re-issues one with a
reason, and the public verification page, given the number and its check code, then shows the
earlier number as superseded."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from careapp.models import Certificate
from tests import factories
from tests.browser.conftest import LiveData, live_session, login, screenshot, zh


def _number(disposition: str) -> str:
    found = re.search(r'filename="([^"]+)\.pdf"', disposition)
    assert found is not None, disposition
    return found.group(1)


def _check_code(live_app: Flask, number: str) -> str:
    """The check code printed beside `number` on its paper."""
    with live_session(live_app) as session:
        code = session.scalars(
            select(Certificate.check_code).where(Certificate.number == number)
        ).one()
    return f"{code[:5]}-{code[5:]}"


def test_reissue_supersedes_the_earlier_number_on_the_verify_page(
    page: Page, live_app: Flask, live_data: LiveData, screenshots: Path
) -> None:
    with live_session(live_app):
        assessment_id = factories.AssessmentFactory().id
    login(page, live_data.users["admin"])
    pdf = f"/assessments/{assessment_id}/conclusion.pdf"
    first = page.request.get(pdf)
    again = page.request.get(pdf)
    assert first.status == again.status == 200
    earlier = _number(first.headers["content-disposition"])
    assert _number(again.headers["content-disposition"]) == earlier  # a reprint: same number

    page.goto(f"/assessments/{assessment_id}")
    with page.expect_navigation():
        page.get_by_test_id("reissue-conclusion").tap()
    expect(page.locator("main")).to_contain_text(earlier)
    page.locator("textarea[name=reason]").fill("原件污损，重新签发")
    page.locator("input[name=confirm]").check()
    screenshot(page, screenshots / "certificate-reissue.png")
    with page.expect_response(
        lambda r: r.url.endswith("/reissue") and r.request.method == "POST"
    ) as reissued:
        page.locator("main form button[type=submit]").tap()
    response = reissued.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    later = _number(response.headers["content-disposition"])
    assert later != earlier
    # The PDF answer leaves this tab to the PDF viewer: a member of the public checks in another.
    # They type the address printed under the QR code: the page asks for the check code.
    page = page.context.new_page()
    page.goto(f"/verify/{earlier}")
    expect(page.get_by_test_id("verify-ask-code")).to_be_visible()
    expect(page.get_by_test_id("verify-result")).to_have_count(0)
    expect(page.locator("input[name=number]")).to_have_value(earlier)
    page.locator("input[name=code]").fill(_check_code(live_app, earlier).lower())
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()
    result = page.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-result", "superseded")
    expect(result).to_contain_text(zh("Superseded"))
    expect(result).to_contain_text(later)
    screenshot(page, screenshots / "verify-superseded.png")
    # The later document verifies with its own code only (the earlier page does not give it).
    page.locator("input[name=number]").fill(later)
    page.locator("input[name=code]").fill("K7QF3-M9DXA")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()
    expect(page.get_by_test_id("verify-result")).to_have_attribute("data-result", "unknown")
    page.goto(f"/verify/{later}?code={_check_code(live_app, later)}")  # its QR code
    expect(page.get_by_test_id("verify-result")).to_have_attribute("data-result", "valid")
