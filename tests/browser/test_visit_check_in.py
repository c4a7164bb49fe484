"""Phone pages in a real browser: geolocation.js, the reason fallback, flags, star sizes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from careapp.core.clock import city_datetime
from careapp.models import Provider, User
from careapp.services.actor import Actor
from careapp.services.visits import check_in, check_out
from tests import factories
from tests.browser.conftest import LiveData, live_clock, live_session, login, zh

PHONE = {"width": 390, "height": 844}
HOME = (32.02, 120.87)
DAY = dt.date(2026, 12, 7)
MIN_TOUCH_PX = 44


def open_visit(live_app: Flask, live_data: LiveData, name: str) -> tuple[str, int]:
    """A new caregiver of the live provider with one visit today; (username, visit id)."""
    with live_session(live_app) as session:
        provider = session.get_one(Provider, live_data.provider_id)
        caregiver = factories.CaregiverUserFactory(provider=provider)
        person = factories.PersonFactory(name=name, home_lat=HOME[0], home_lon=HOME[1])
        visit = factories.caregiver_visit(caregiver, person=person, visit_on=DAY)
        session.flush()
        assert caregiver.user is not None
        return caregiver.user.username, visit.id


def phone(new_tablet: Callable[..., BrowserContext], **options: object) -> Page:
    return new_tablet(viewport=PHONE, screen=PHONE, **options).new_page()


def test_check_in_without_location_asks_for_the_reason(
    new_tablet: Callable[..., BrowserContext], live_app: Flask, live_data: LiveData
) -> None:
    username, visit_id = open_visit(live_app, live_data, "钱无定位")
    with live_clock(city_datetime(DAY, dt.time(9, 30))):
        page = phone(new_tablet)  # geolocation not granted: the phone cannot locate
        login(page, username)
        page.goto(f"/visits/{visit_id}")
        form = page.get_by_test_id("check-in-form")
        expect(form.locator("[data-geo-status]")).to_have_text(
            zh("Location unavailable. Type the reason below.")
        )
        reason = form.locator("[name=location_note]")
        expect(reason).to_be_visible()
        reason.fill("楼道里没有信号")
        with page.expect_navigation():
            form.locator("button[type=submit]").tap()

    expect(page.get_by_test_id("visit-status")).to_have_text(zh("In progress"))
    expect(page.locator(".flash-warning")).to_contain_text(zh("No location"))
    expect(page.get_by_test_id("check-out-form")).to_be_visible()


def test_check_in_far_from_home_is_flagged_and_buttons_are_large(
    new_tablet: Callable[..., BrowserContext], live_app: Flask, live_data: LiveData
) -> None:
    username, _visit_id = open_visit(live_app, live_data, "孙远处")
    far = {"latitude": HOME[0] + 0.02, "longitude": HOME[1], "accuracy": 20}  # about 2.2 km
    with live_clock(city_datetime(DAY, dt.time(9, 30))):
        page = phone(new_tablet, permissions=["geolocation"], geolocation=far)
        login(page, username)
        page.goto("/my-day")
        card = page.locator("li.visit-card", has_text="孙远处")
        button = card.get_by_role("button", name=zh("Open visit"))
        box = button.bounding_box()
        assert box is not None
        assert box["height"] >= MIN_TOUCH_PX
        with page.expect_navigation():
            button.tap()
        form = page.get_by_test_id("check-in-form")
        expect(form.locator("[data-geo-status]")).to_have_text(zh("Location found."))
        expect(form.locator("[name=location_note]")).to_be_hidden()
        with page.expect_navigation():
            form.locator("button[type=submit]").tap()

    expect(page.locator(".flash-warning")).to_contain_text(zh("Far from the home"))
    expect(page.get_by_test_id("checked-in-at")).to_contain_text(zh("Far from the home"))


def test_rating_page_star_choices_are_large_rows(
    new_tablet: Callable[..., BrowserContext], live_app: Flask, live_data: LiveData
) -> None:
    username, visit_id = open_visit(live_app, live_data, "郑评价")
    with live_session(live_app) as session:
        caregiver = session.scalar(select(User).where(User.username == username))
        assert caregiver is not None
        actor = Actor(user_id=caregiver.id, role=caregiver.role)
        now = city_datetime(DAY, dt.time(9, 30))
        check_in(session, actor, visit_id, *HOME, None, now)
        token = check_out(
            session, actor, visit_id, ["bathing"], None, None, None, now,
            valid_for=dt.timedelta(days=3650),
        )  # fmt: skip

    page = phone(new_tablet)  # the family's phone, nobody logged in
    page.goto(f"/rate/{token}")
    options = page.locator("label.star-option")
    expect(options).to_have_count(5)
    boxes = [box for box in (option.bounding_box() for option in options.all()) if box]
    assert len(boxes) == 5
    assert all(box["height"] >= MIN_TOUCH_PX for box in boxes)
    assert len({round(box["width"]) for box in boxes}) == 1  # full-width rows
    assert [box["y"] for box in boxes] == sorted(box["y"] for box in boxes)
    options.nth(4).tap()
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()
    expect(page.get_by_test_id("rating-thanks")).to_be_visible()
