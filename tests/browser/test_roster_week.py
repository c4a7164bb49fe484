"""The manager's week roster on a tablet, and moving a visit to another caregiver."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from careapp.core.clock import city_datetime
from careapp.models import Caregiver, Provider
from scheduling.visits import VisitStatus
from tests import factories
from tests.browser.conftest import LiveData, live_clock, live_session, login, screenshot, zh

DAY = dt.date(2026, 12, 15)  # a Tuesday, in a week no other browser test uses


def test_week_roster_and_moving_a_visit(
    page: Page, live_app: Flask, live_data: LiveData, screenshots: Path
) -> None:
    with live_session(live_app) as session:
        provider = session.get_one(Provider, live_data.provider_id)
        wang = session.get_one(Caregiver, live_data.caregiver_id)
        zhao = factories.CaregiverFactory(provider=provider, name="赵敏", base_lat=32.01)
        visits = []
        for hour, name in ((9, "周桂兰"), (11, "吴建国")):
            start = city_datetime(DAY, dt.time(hour))
            visit = factories.VisitFactory(
                care_plan=factories.provider_care_plan(provider),
                visit_on=DAY,
                window_start=city_datetime(DAY, dt.time(8)),
                window_end=city_datetime(DAY, dt.time(15)),
                caregiver=wang,
                planned_start=start,
                planned_end=start + dt.timedelta(hours=1),
                route_order=len(visits) + 1,
                travel_minutes=6,
                status=VisitStatus.ASSIGNED,
            )
            visit.person.name = name
            visits.append(visit)
        factories.VisitFactory(
            care_plan=factories.provider_care_plan(provider),
            visit_on=DAY + dt.timedelta(days=1),
            unassigned_reason="no_qualified_caregiver",
        ).person.name = "郑秀英"
        session.flush()
        moved_id, zhao_id = visits[1].id, zhao.id

    with live_clock(city_datetime(DAY - dt.timedelta(days=1), dt.time(18))):
        login(page, live_data.users["provider_manager"])
        page.goto(f"/roster/week?day={DAY.isoformat()}")
        table = page.get_by_test_id("week-table")
        expect(table.get_by_test_id(f"week-caregiver-{live_data.caregiver_id}")).to_contain_text(
            "周桂兰"
        )
        expect(page.get_by_test_id("unassigned")).to_contain_text(
            zh("No caregiver of the provider holds the qualification.")
        )
        # The days read as Chinese dates with their weekday, never as "15/12".
        day_headings = table.locator("thead th a")
        expect(day_headings).to_have_text(
            [f"12月{14 + n}日周{'一二三四五六日'[n]}" for n in range(7)]
        )
        expect(page.get_by_test_id("unassigned")).to_contain_text("12月16日周三")
        screenshot(page, screenshots / "roster-week-tablet.png")

        with page.expect_navigation():
            table.get_by_test_id(f"visit-{moved_id}").get_by_role("link").tap()
        move = page.get_by_test_id("move-visit")
        move.locator("select[name=caregiver_id]").select_option(str(zhao_id))
        move.locator("input[name=start]").fill("11:30")
        with page.expect_navigation():
            page.get_by_test_id("move-submit").tap()
        expect(page.locator(".flash-success")).to_have_text(zh("The visit was moved."))
        expect(page.locator("main")).to_contain_text("赵敏")
        expect(page.locator("main")).to_contain_text("11:30")

        page.goto(f"/roster/week?day={DAY.isoformat()}")
        expect(page.get_by_test_id(f"week-caregiver-{zhao_id}")).to_contain_text("吴建国")

        page.goto(f"/roster?day={DAY.isoformat()}")
        route_map = page.get_by_test_id(f"route-map-{zhao_id}")
        expect(route_map).to_be_visible()
        assert route_map.evaluate("img => img.complete && img.naturalWidth > 0")
        screenshot(page, screenshots / "roster-day-tablet.png")
