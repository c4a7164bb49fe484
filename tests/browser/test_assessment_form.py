"""The Barthel form on a tablet: live total and grade, progress, device draft, touch sizes."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from careapp.models import District, User
from tests import factories
from tests.browser.conftest import TABLET, LiveData, live_session, login, zh

MIN_TOUCH_PX = 44


def assigned_application(live_app: Flask, live_data: LiveData, name: str) -> int:
    """An application in ASSESSING for the two seeded assessors (no page creates one directly)."""
    with live_session(live_app) as session:
        users = {user.username: user for user in session.scalars(select(User))}
        district = session.get(District, live_data.district_code)
        application = factories.ApplicationFactory(
            assigned=True,
            assessor_1=users[live_data.users["assessor"]],
            assessor_2=users[live_data.users["assessor_2"]],
            person=factories.PersonFactory(name=name, district=district),
            created_by=users[live_data.users["admin"]],
        )
        session.flush()
        application_id: int = application.id
    return application_id


def choose(page: Page, code: str, points: int) -> None:
    page.locator(f"#item-{code} label.answer-option").filter(
        has=page.locator(f"input[value='{points}']")
    ).tap()


def test_assessment_form_live_total_grade_and_draft(
    page: Page, live_app: Flask, live_data: LiveData
) -> None:
    application_id = assigned_application(live_app, live_data, "周桂兰")
    login(page, live_data.users["assessor"])
    page.goto(f"/applications/{application_id}/assessment")
    form = page.locator("#assessment-form")
    answered, total, grade = (form.locator(f"[data-{n}]") for n in ("answered", "total", "grade"))

    expect(answered).to_have_text("0")
    expect(total).to_have_text("—")

    # One answer: the final total can still be anywhere from 10 to 100.
    choose(page, "feeding", 10)
    expect(answered).to_have_text("1")
    expect(total).to_have_text("10")
    expect(grade).to_have_text("重度依赖 – 无需依赖")

    for code, points in factories.SEVERE_BARTHEL_ANSWERS.items():
        choose(page, code, points)
    expect(answered).to_have_text("10")
    expect(total).to_have_text("30")
    expect(grade).to_have_text("重度依赖")
    form.locator("[name=family_member_present]").fill("周小军（儿子）")

    # Every answer is a large touch target, and nothing scrolls sideways.
    heights = page.eval_on_selector_all(
        "label.answer-option", "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert len(heights) == 30
    assert min(heights) >= MIN_TOUCH_PX
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]

    # A lost connection: opening the form again brings the answers back from the device.
    page.goto("/assessments")
    page.goto(f"/applications/{application_id}/assessment")
    expect(answered).to_have_text("10")
    expect(total).to_have_text("30")
    expect(form.locator("[name=family_member_present]")).to_have_value("周小军（儿子）")
    expect(form.locator("[name=both_confirmed]")).not_to_be_checked()  # confirmed afresh

    form.locator("label", has=page.locator("[name=both_confirmed]")).tap()
    with page.expect_navigation():
        form.locator("button[type=submit]").tap()
    expect(page.get_by_test_id("total")).to_have_text("30")
    expect(page.get_by_test_id("grade")).to_have_text("重度依赖")
    key = f"careapp-assessment-{application_id}"
    assert page.evaluate(f"window.localStorage.getItem('{key}')") is None  # draft cleared


def test_assessment_form_missing_answers_are_marked(
    page: Page, live_app: Flask, live_data: LiveData
) -> None:
    application_id = assigned_application(live_app, live_data, "吴德华")
    login(page, live_data.users["assessor_2"])
    page.goto(f"/applications/{application_id}/assessment")
    form = page.locator("#assessment-form")
    choose(page, "feeding", 5)
    form.locator("[name=family_member_present]").fill("吴丽（女儿）")
    form.locator("label", has=page.locator("[name=both_confirmed]")).tap()

    with page.expect_navigation() as navigation:
        form.locator("button[type=submit]").tap()

    assert navigation.value is not None
    assert navigation.value.status == 400
    expect(page.locator("fieldset[aria-invalid=true]")).to_have_count(9)
    expect(page.locator("#item-stairs .field-error")).to_have_text(zh("Choose one answer."))
    expect(page.locator("#item-feeding input[value='5']")).to_be_checked()
    expect(page.locator("[data-answered]")).to_have_text("1")
