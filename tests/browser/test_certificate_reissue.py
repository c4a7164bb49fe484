"""Certificates on a tablet: reprinting keeps the number; an administrator re-issues one with a
reason, and the public verification page then shows the earlier number as superseded."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.conftest import LiveData, live_session, login, screenshot, zh


def _number(disposition: str) -> str:
    found = re.search(r'filename="([^"]+)\.pdf"', disposition)
    assert found is not None, disposition
    return found.group(1)


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
    page = page.context.new_page()
    page.goto(f"/verify/{earlier}")
    result = page.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-result", "superseded")
    expect(result).to_contain_text(zh("Superseded"))
    expect(result).to_contain_text(later)
    screenshot(page, screenshots / "verify-superseded.png")
    with page.expect_navigation():
        page.get_by_test_id("replaced-by").tap()
    expect(page.get_by_test_id("verify-result")).to_have_attribute("data-result", "valid")
