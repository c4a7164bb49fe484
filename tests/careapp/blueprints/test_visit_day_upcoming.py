"""The caregiver's day also shows the coming days of the dispatch horizon, read-only."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from careapp.models import Caregiver
from careapp.services.actor import Actor
from careapp.services.visits import caregiver_upcoming_days
from scheduling.visits import VisitStatus
from tests.factories import TODAY, CaregiverUserFactory, PersonFactory, caregiver_visit

TOMORROW = TODAY + dt.timedelta(days=1)
DAY_AFTER = TODAY + dt.timedelta(days=2)


def section(page: str, day: dt.date) -> str:
    match = re.search(
        rf'data-testid="upcoming-{day.isoformat()}">(.*?)</section>', page, flags=re.S
    )
    assert match is not None, f"no section for {day}"
    return match.group(1)


def test_my_day_shows_the_coming_days_grouped_by_day_without_check_in(
    app: Flask, db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    assert app.config["DISPATCH_HORIZON_DAYS"] == 2
    today = caregiver_visit(caregiver, person=PersonFactory(name="今天的"))
    later = caregiver_visit(
        caregiver, visit_on=TOMORROW, route_order=2, person=PersonFactory(name="明天二")
    )
    first = caregiver_visit(
        caregiver,
        visit_on=TOMORROW,
        route_order=1,
        person=PersonFactory(name="明天一", address="崇川区青年路8号"),
    )
    far = caregiver_visit(caregiver, visit_on=TODAY + dt.timedelta(days=3))
    cancelled = caregiver_visit(caregiver, visit_on=TOMORROW, status=VisitStatus.CANCELLED)
    caregiver_visit(CaregiverUserFactory(), visit_on=TOMORROW, person=PersonFactory(name="别人的"))

    page = phone.get("/my-day").get_data(as_text=True)

    assert 'data-testid="upcoming-days"' in page
    tomorrow = section(page, TOMORROW)
    assert tomorrow.index("明天一") < tomorrow.index("明天二")
    assert "崇川区青年路8号" in tomorrow
    assert "Bathing" in tomorrow
    assert "2 visits" in tomorrow
    assert "No visits planned yet." in section(page, DAY_AFTER)
    assert "别人的" not in page
    assert f'data-testid="upcoming-visit-{cancelled.id}"' not in page
    assert f"upcoming-visit-{far.id}" not in page  # beyond the dispatch horizon
    # Only today's visit opens (check-in is for the day itself); the coming ones are read-only.
    assert f"/visits/{today.id}" in page
    assert f"/visits/{first.id}" not in page
    assert f"/visits/{later.id}" not in page


def test_my_day_coming_days_in_chinese(
    db_session: Session, caregiver: Caregiver, login_as: Any
) -> None:
    caregiver_visit(caregiver, visit_on=TOMORROW)
    client: FlaskClient = login_as(caregiver.user)
    page = client.get("/my-day").get_data(as_text=True)
    assert "接下来几天" in page
    assert "签到在服务当天进行" in page


def test_my_day_with_coming_days_issues_a_bounded_number_of_queries(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient, count_queries: list[str]
) -> None:
    caregiver_visit(caregiver, visit_on=TOMORROW)
    count_queries.clear()
    assert phone.get("/my-day").status_code == 200
    few = len(count_queries)
    for day in (TOMORROW, DAY_AFTER) * 3:
        caregiver_visit(caregiver, visit_on=day)
    count_queries.clear()
    assert phone.get("/my-day").status_code == 200
    assert len(count_queries) <= few


def test_caregiver_upcoming_days_lists_every_day_of_the_horizon(
    db_session: Session, caregiver: Caregiver
) -> None:
    assert caregiver.user is not None
    actor = Actor(user_id=caregiver.user.id, role=caregiver.user.role)
    visit = caregiver_visit(caregiver, visit_on=DAY_AFTER)
    days = caregiver_upcoming_days(db_session, actor, TODAY, 3)
    assert [d.day for d in days] == [TOMORROW, DAY_AFTER, TODAY + dt.timedelta(days=3)]
    assert [[v.id for v in d.visits] for d in days] == [[], [visit.id], []]
    assert caregiver_upcoming_days(db_session, actor, TODAY, 0) == []
