"""Roster pages beyond the day: week, moves, map, CSV, PDF, calendar links, the phone day."""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET
from typing import Any

import icalendar
import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from careapp.core.clock import city_datetime
from careapp.models import AlertKind, Caregiver, Provider, ProviderAlert, User, Visit
from scheduling.visits import VisitStatus
from tests.factories import (
    NOW,
    TODAY,
    CaregiverFactory,
    CaregiverUserFactory,
    ProviderFactory,
    UserFactory,
    VisitFactory,
    caregiver_visit,
    provider_care_plan,
)

DAY = TODAY + dt.timedelta(days=1)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return city_datetime(DAY, dt.time(hour, minute))


def booked(caregiver: Caregiver, start: dt.datetime, order: int = 1) -> Visit:
    visit: Visit = VisitFactory(
        care_plan=provider_care_plan(caregiver.provider),
        visit_on=start.date(),
        window_start=at(8),
        window_end=at(16),
        caregiver=caregiver,
        planned_start=start,
        planned_end=start + dt.timedelta(minutes=60),
        route_order=order,
        travel_minutes=4,
        status=VisitStatus.ASSIGNED,
    )
    return visit


@pytest.mark.usefixtures("english")
def test_roster_week_shows_caregivers_by_day_and_unassigned_reasons(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider, name="王护理")
    visit = booked(nurse, at(9))
    left = VisitFactory(
        care_plan=provider_care_plan(provider),
        visit_on=DAY,
        unassigned_reason="daily_limit_reached",
    )
    theirs = booked(CaregiverFactory(), at(9))
    client = login_as(manager)
    response = client.get(f"/roster/week?day={DAY.isoformat()}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'data-testid="week-caregiver-{nurse.id}"' in html
    assert f'data-testid="visit-{visit.id}"' in html
    assert "09:00–10:00" in html
    assert "4 min" in html
    assert f'data-testid="visit-{left.id}"' in html
    assert "Every qualified caregiver has reached the daily limit." in html
    assert theirs.person.name not in html
    monday = DAY - dt.timedelta(days=DAY.weekday())
    assert f"/roster/week?day={(monday + dt.timedelta(days=7)).isoformat()}" in html
    assert client.get("/roster/week?day=nope").status_code == 400


@pytest.mark.usefixtures("english")
def test_move_a_visit_from_the_visit_page(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    wang = CaregiverFactory(provider=provider, name="王护理")
    li = CaregiverFactory(provider=provider, name="李护理")
    visit = booked(wang, at(9))
    client = login_as(manager)
    page = client.get(f"/roster/visits/{visit.id}").get_data(as_text=True)
    assert 'data-testid="move-visit"' in page
    assert "李护理" in page
    response = client.post(
        f"/roster/visits/{visit.id}/move", data={"caregiver_id": li.id, "start": "10:30"}
    )
    assert response.status_code == 302
    db_session.refresh(visit)
    assert (visit.caregiver_id, visit.planned_start, visit.is_hand_edited) == (
        li.id,
        at(10, 30),
        True,
    )
    assert "The visit was moved." in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.usefixtures("english")
def test_a_refused_move_is_a_409_with_the_reason(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    wang = CaregiverFactory(provider=provider)
    li = CaregiverFactory(provider=provider)
    visit = booked(wang, at(9))
    booked(li, at(10), order=1)
    client = login_as(manager)
    response = client.post(
        f"/roster/visits/{visit.id}/move", data={"caregiver_id": li.id, "start": "10:30"}
    )
    assert response.status_code == 409
    assert "The caregiver has another visit at that time." in response.get_data(as_text=True)
    db_session.refresh(visit)
    assert visit.caregiver_id == wang.id
    bad = client.post(
        f"/roster/visits/{visit.id}/move", data={"caregiver_id": li.id, "start": "25:99"}
    )
    assert bad.status_code == 400
    db_session.refresh(visit)
    assert visit.caregiver_id == wang.id


@pytest.mark.usefixtures("english")
def test_a_move_with_long_travel_shows_the_minutes_and_waits_for_a_yes(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    wang = CaregiverFactory(provider=provider)
    li = CaregiverFactory(provider=provider)
    visit = booked(wang, at(9))
    far = booked(li, at(13))
    far.person.home_lat = 32.0 + 50 / 111.195  # 50 km north: about 150 minutes away
    db_session.flush()
    client = login_as(manager)
    data = {"caregiver_id": li.id, "start": "09:00"}

    asked = client.post(f"/roster/visits/{visit.id}/move", data=data)

    assert asked.status_code == 409
    page = asked.get_data(as_text=True)
    assert "This move needs 154 minutes of travel" in page
    assert 'name="accepted_travel_minutes" value="154"' in page
    db_session.refresh(visit)
    assert visit.caregiver_id == wang.id  # nothing moved yet

    done = client.post(
        f"/roster/visits/{visit.id}/move", data={**data, "accepted_travel_minutes": "154"}
    )

    assert done.status_code == 302
    db_session.refresh(visit)
    assert (visit.caregiver_id, visit.planned_start) == (li.id, at(9))


def test_another_companys_visit_and_caregiver_are_404(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    ours = CaregiverFactory(provider=provider)
    stranger = CaregiverFactory(provider=ProviderFactory())
    theirs = booked(stranger, at(9))
    client = login_as(manager)
    move = client.post(
        f"/roster/visits/{theirs.id}/move", data={"caregiver_id": ours.id, "start": "09:00"}
    )
    assert move.status_code == 404
    assert client.get(f"/roster/caregivers/{stranger.id}/map.svg").status_code == 404
    pdf = client.get(f"/roster/day-sheet.pdf?day={DAY.isoformat()}&caregiver_id={stranger.id}")
    assert pdf.status_code == 404
    assert client.post(f"/roster/caregivers/{stranger.id}/calendar").status_code == 404
    assert client.post(f"/roster/caregivers/{stranger.id}/calendar/revoke").status_code == 404


@pytest.mark.parametrize("trait", ["caregiver", "assessor", "admin"])
def test_roster_tools_are_403_for_other_roles(
    db_session: Session, login_as: Any, provider: Provider, trait: str
) -> None:
    visit = booked(CaregiverFactory(provider=provider), at(9))
    client = login_as(UserFactory(**{trait: True}))
    assert client.get("/roster/week").status_code == 403
    assert client.get("/roster/export.csv").status_code == 403
    assert client.get("/roster/day-sheet.pdf").status_code == 403
    assert client.post(f"/roster/visits/{visit.id}/move").status_code == 403


def test_route_map_is_an_svg_image(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider)
    booked(nurse, at(9))
    client = login_as(manager)
    html = client.get(f"/roster?day={DAY.isoformat()}").get_data(as_text=True)
    assert f'data-testid="route-map-{nurse.id}"' in html
    response = client.get(f"/roster/caregivers/{nurse.id}/map.svg?day={DAY.isoformat()}")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - our own output
    assert len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) == 1


def test_csv_export_of_the_day_and_the_week(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider, name="=王护理")
    booked(nurse, at(9))
    client = login_as(manager)
    day = client.get(f"/roster/export.csv?day={DAY.isoformat()}")
    assert day.status_code == 200
    assert day.mimetype == "text/csv"
    assert f'filename="roster-{DAY.isoformat()}.csv"' in day.headers["Content-Disposition"]
    body = day.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    assert ",'=王护理," in body.decode("utf-8-sig")
    week = client.get(f"/roster/export.csv?day={DAY.isoformat()}&span=week")
    monday = DAY - dt.timedelta(days=DAY.weekday())
    assert f"roster-{monday.isoformat()}-" in week.headers["Content-Disposition"]
    assert ",'=王护理," in week.get_data().decode("utf-8-sig")


def test_day_sheet_pdf_of_a_caregiver(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider, name="王护理")
    visit = booked(nurse, at(9))
    response = login_as(manager).get(
        f"/roster/day-sheet.pdf?day={DAY.isoformat()}&caregiver_id={nurse.id}"
    )
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    body = response.get_data()
    assert body.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert "王护理" in text
    assert visit.person.name in text


def test_calendar_link_created_by_the_manager_then_revoked(
    db_session: Session, login_as: Any, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider)
    visit = booked(nurse, at(9))
    client = login_as(manager)
    created = client.post(f"/roster/caregivers/{nurse.id}/calendar?day={DAY.isoformat()}")
    assert created.status_code == 302
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    marker = f'data-testid="calendar-link-{nurse.id}"'
    assert marker in page
    url = page.split(marker)[1].split('value="')[1].split('"')[0]
    assert "/calendar/" in url
    assert url.endswith(".ics")
    path = url[url.index("/calendar/") :]
    # Shown once only.
    assert marker not in client.get(f"/roster?day={DAY.isoformat()}").get_data(as_text=True)
    client.post("/logout")
    feed = client.get(path)
    assert feed.status_code == 200
    assert feed.mimetype == "text/calendar"
    [event] = icalendar.Calendar.from_ical(feed.get_data()).walk("VEVENT")
    assert str(event["UID"]) == f"visit-{visit.id}@careapp"
    login_as(manager)
    assert client.post(f"/roster/caregivers/{nurse.id}/calendar/revoke").status_code == 302
    client.post("/logout")
    assert client.get(path).status_code == 404
    assert client.get("/calendar/unknown-token.ics").status_code == 404


@pytest.mark.usefixtures("english")
def test_my_day_shows_route_order_travel_map_and_calendar_link(
    db_session: Session, login_as: Any, provider: Provider
) -> None:
    nurse = CaregiverUserFactory(provider=provider)
    first = caregiver_visit(nurse)
    second = caregiver_visit(nurse)
    first.route_order, first.travel_minutes = 1, 6
    second.route_order, second.travel_minutes = 2, 9
    db_session.flush()
    phone = login_as(nurse.user)
    html = phone.get("/my-day").get_data(as_text=True)
    assert html.index(f'data-testid="visit-{first.id}"') < html.index(
        f'data-testid="visit-{second.id}"'
    )
    assert "9 min travel" in html
    assert "15 min travel" in html  # the day's total
    assert 'data-testid="route-map"' in html
    svg = phone.get("/my-day/map.svg")
    assert svg.mimetype == "image/svg+xml"
    assert len(list(ET.fromstring(svg.get_data()).iter("{http://www.w3.org/2000/svg}circle"))) == 2  # noqa: S314
    created = phone.post("/my-day/calendar")
    assert created.status_code == 302
    html = phone.get("/my-day").get_data(as_text=True)
    assert 'data-testid="calendar-link"' in html
    assert "webcal://" in html
    url = html.split('data-testid="calendar-link"')[0].rsplit('value="', 1)[1].split('"')[0]
    path = url[url.index("/calendar/") :]
    assert phone.get(path).status_code == 200
    assert phone.post("/my-day/calendar/revoke").status_code == 302
    assert phone.get(path).status_code == 404


def test_roster_day_shows_open_alerts_until_the_manager_has_seen_them(
    db_session: Session, login_as: Any, client: FlaskClient, provider: Provider, manager: User
) -> None:
    visit = booked(CaregiverFactory(provider=provider), at(9))
    alert = ProviderAlert(
        provider_id=provider.id,
        kind=AlertKind.MISSED_VISIT,
        visit_id=visit.id,
        raised_at=NOW,
        detail={"visit_on": DAY.isoformat()},
    )
    db_session.add(alert)
    db_session.flush()
    login_as(manager)

    page = client.get("/roster").get_data(as_text=True)
    assert f'data-testid="alert-{alert.id}"' in page

    response = client.post(f"/roster/alerts/{alert.id}/acknowledge")
    assert response.status_code == 302
    assert f'data-testid="alert-{alert.id}"' not in client.get("/roster").get_data(as_text=True)
    assert client.post("/roster/alerts/999999/acknowledge").status_code == 404
