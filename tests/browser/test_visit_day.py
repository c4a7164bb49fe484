"""The caregiver's day on a phone: today's visits open, the coming days are shown read-only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask
from playwright.sync_api import BrowserContext, expect

from careapp.core.clock import city_datetime
from careapp.models import Provider
from tests import factories
from tests.browser.conftest import LiveData, live_clock, live_session, login, zh

PHONE = {"width": 390, "height": 844}
DAY = dt.date(2027, 2, 15)  # a week no other browser test uses (the live provider is shared)


def test_my_day_shows_the_coming_days_read_only(
    new_tablet: Callable[..., BrowserContext], live_app: Flask, live_data: LiveData
) -> None:
    with live_session(live_app) as session:
        provider = session.get_one(Provider, live_data.provider_id)
        caregiver = factories.CaregiverUserFactory(provider=provider)
        today = factories.caregiver_visit(
            caregiver, person=factories.PersonFactory(name="周今日"), visit_on=DAY
        )
        tomorrow = DAY + dt.timedelta(days=1)
        coming = factories.caregiver_visit(
            caregiver,
            person=factories.PersonFactory(name="吴明日", address="崇川区明日路1号"),
            visit_on=tomorrow,
        )
        session.flush()
        assert caregiver.user is not None
        username, today_id, coming_id = caregiver.user.username, today.id, coming.id

    with live_clock(city_datetime(DAY, dt.time(8, 0))):
        page = new_tablet(viewport=PHONE, screen=PHONE).new_page()
        login(page, username)
        page.goto("/my-day")
        upcoming = page.get_by_test_id("upcoming-days")
        expect(upcoming.get_by_role("heading", name=zh("Coming days"))).to_be_visible()
        day = page.get_by_test_id(f"upcoming-{tomorrow.isoformat()}")
        card = day.get_by_test_id(f"upcoming-visit-{coming_id}")
        expect(card).to_contain_text("吴明日")
        expect(card).to_contain_text("崇川区明日路1号")
        expect(card.get_by_role("button")).to_have_count(0)  # no check-in before the day
        expect(card.get_by_role("link")).to_have_count(0)
        expect(
            page.get_by_test_id(f"upcoming-{(DAY + dt.timedelta(days=2)).isoformat()}")
        ).to_contain_text(zh("No visits planned yet."))
        today_card = page.get_by_test_id(f"visit-{today_id}")
        expect(today_card.get_by_role("button", name=zh("Open visit"))).to_be_visible()
