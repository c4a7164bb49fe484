"""The roster page: provider managers see their own company's day, nobody else gets in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from careapp.core.clock import city_datetime
from careapp.models import Provider, User, VerificationMethod
from scheduling.visits import VisitStatus
from tests.factories import (
    TODAY,
    CaregiverFactory,
    ProviderFactory,
    UserFactory,
    VisitFactory,
    provider_care_plan,
)

DAY = TODAY + dt.timedelta(days=1)


@pytest.mark.usefixtures("english")
def test_roster_day_shows_routes_and_unassigned_visits(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider, name="王护理")
    start = city_datetime(DAY, dt.time(9, 0))
    routed = VisitFactory(
        care_plan=provider_care_plan(provider),
        visit_on=DAY,
        caregiver=nurse,
        planned_start=start,
        planned_end=start + dt.timedelta(minutes=60),
        route_order=1,
        travel_minutes=7,
        status=VisitStatus.ASSIGNED,
    )
    left = VisitFactory(
        care_plan=provider_care_plan(provider),
        visit_on=DAY,
        unassigned_reason="daily_limit_reached",
    )
    client = login_as(manager)
    page = client.get(f"/roster?day={DAY.isoformat()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "王护理" in html
    assert routed.person.name in html
    assert "09:00–10:00" in html
    assert "7 min" in html
    assert left.person.name in html
    assert "Every qualified caregiver has reached the daily limit." in html
    assert f"/roster?day={TODAY.isoformat()}" in html
    assert f"/roster?day={(DAY + dt.timedelta(days=1)).isoformat()}" in html


def test_roster_day_defaults_to_today_in_the_city(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    today = VisitFactory(care_plan=provider_care_plan(provider), visit_on=TODAY)
    html = login_as(manager).get("/roster").get_data(as_text=True)
    assert today.person.name in html
    assert f'value="{TODAY.isoformat()}"' in html


def test_roster_day_never_shows_another_provider_visits(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    other = ProviderFactory()
    theirs = VisitFactory(care_plan=provider_care_plan(other), visit_on=DAY)
    html = login_as(manager).get(f"/roster?day={DAY.isoformat()}").get_data(as_text=True)
    assert theirs.person.name not in html


@pytest.mark.parametrize("bad", ["tomorrow", "2026-13-01", "2026-11-31", "24/11/2026"])
@pytest.mark.usefixtures("english")
def test_roster_day_rejects_a_bad_date(
    db_session: Session, login_as: Any, manager: User, bad: str
) -> None:
    client = login_as(manager)
    response = client.get(f"/roster?day={bad}")
    assert response.status_code == 400
    assert "The day must be a date like 2026-11-24." in response.get_data(as_text=True)


@pytest.mark.parametrize("trait", ["caregiver", "assessor", "admin"])
def test_roster_day_is_for_provider_managers_only(
    db_session: Session, login_as: Any, trait: str
) -> None:
    client = login_as(UserFactory(**{trait: True}))
    assert client.get("/roster").status_code == 403


def test_roster_day_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/roster")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.usefixtures("english")
def test_roster_visit_shows_one_own_visit(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider, name="王护理")
    start = city_datetime(DAY, dt.time(9, 0))
    visit = VisitFactory(
        care_plan=provider_care_plan(provider),
        visit_on=DAY,
        caregiver=nurse,
        planned_start=start,
        planned_end=start + dt.timedelta(minutes=60),
        status=VisitStatus.ASSIGNED,
    )
    client = login_as(manager)
    response = client.get(f"/roster/visits/{visit.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert visit.person.name in html
    assert "王护理" in html
    assert "09:00–10:00" in html


def test_roster_visit_of_another_provider_is_not_found(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    theirs = VisitFactory(care_plan=provider_care_plan(ProviderFactory()), visit_on=DAY)
    response = login_as(manager).get(f"/roster/visits/{theirs.id}")
    assert response.status_code == 404
    assert theirs.person.name not in response.get_data(as_text=True)
    assert login_as(manager).get("/roster/visits/999999").status_code == 404


@pytest.mark.parametrize(
    ("position", "flags", "label"),
    [
        (
            (32.0594, 120.86),
            ["far_from_home"],
            "Checked in 6.6 km from the client&#39;s home — flagged",
        ),
        ((32.0003, 120.86), [], "Checked in at the client&#39;s home (33 m away)"),
        ((None, None), ["no_location"], "Checked in without a location from the phone — flagged"),
    ],
)
@pytest.mark.usefixtures("english")
def test_roster_visit_says_where_the_caregiver_checked_in(
    db_session: Session,
    login_as: Any,
    provider: Provider,
    manager: User,
    position: tuple[float | None, float | None],
    flags: list[str],
    label: str,
) -> None:
    start = city_datetime(TODAY, dt.time(9, 0))
    visit = VisitFactory(
        care_plan=provider_care_plan(provider),
        visit_on=TODAY,
        caregiver=CaregiverFactory(provider=provider),
        planned_start=start,
        planned_end=start + dt.timedelta(minutes=60),
        status=VisitStatus.CHECKED_IN,
        verification=VerificationMethod.PHONE,
        checked_in_at=start,
        check_in_lat=position[0],
        check_in_lon=position[1],
        check_in_flags=flags,
    )
    visit.person.home_lat, visit.person.home_lon = 32.0, 120.86
    db_session.flush()
    html = login_as(manager).get(f"/roster/visits/{visit.id}").get_data(as_text=True)
    assert label in html
    if flags:
        assert "at the client&#39;s home" not in html


@pytest.mark.usefixtures("english")
def test_cancelling_a_visit_asks_for_confirmation_first(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    start = city_datetime(DAY, dt.time(9, 0))
    visit = VisitFactory(
        care_plan=provider_care_plan(provider),
        visit_on=DAY,
        caregiver=CaregiverFactory(provider=provider),
        planned_start=start,
        planned_end=start + dt.timedelta(minutes=60),
        status=VisitStatus.ASSIGNED,
    )
    html = login_as(manager).get(f"/roster/visits/{visit.id}").get_data(as_text=True)
    assert 'data-confirm="Cancel this visit? A cancelled visit cannot be restored."' in html
