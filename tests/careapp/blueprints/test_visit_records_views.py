"""The manager's roster visit page: enter a visit by hand, reschedule a missed visit, cancel
a visit; and the volunteer care-plan pages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.clock import city_datetime
from careapp.models import (
    AlertKind,
    Caregiver,
    CarePlan,
    Provider,
    ProviderAlert,
    ProviderKind,
    ServiceItem,
    User,
    VerificationMethod,
    Visit,
)
from scheduling.visits import VisitStatus
from tests.factories import (
    NOW,
    TODAY,
    CaregiverUserFactory,
    EntitlementFactory,
    ProviderFactory,
    VisitFactory,
    caregiver_visit,
    provider_care_plan,
)

TOMORROW = TODAY + dt.timedelta(days=1)


@pytest.fixture
def caregiver(db_session: Session) -> Caregiver:
    return CaregiverUserFactory(name="王护理")


@pytest.fixture
def provider(caregiver: Caregiver) -> Provider:
    return caregiver.provider


def missed_visit(caregiver: Caregiver, **changes: object) -> Visit:
    return caregiver_visit(caregiver, status=VisitStatus.MISSED, **changes)


def other_providers_visit() -> Visit:
    return VisitFactory(assigned=True, visit_on=TODAY, status=VisitStatus.MISSED)


# --- the page and the alert offer the actions ----------------------------------------------


@pytest.mark.usefixtures("english")
def test_missed_visit_page_offers_reschedule_and_manual_entry(
    db_session: Session, manager_client: FlaskClient, caregiver: Caregiver
) -> None:
    visit = missed_visit(caregiver)
    html = manager_client.get(f"/roster/visits/{visit.id}").get_data(as_text=True)
    assert 'data-testid="reschedule-visit"' in html
    assert 'data-testid="manual-entry"' in html
    assert 'data-testid="cancel-visit"' not in html  # a missed visit is not cancelled
    assert "Reschedule this missed visit" in html
    assert "Enter this visit by hand" in html


@pytest.mark.usefixtures("english")
def test_upcoming_visit_page_offers_cancel_only(
    db_session: Session, manager_client: FlaskClient, caregiver: Caregiver
) -> None:
    visit = caregiver_visit(caregiver, visit_on=TOMORROW)
    html = manager_client.get(f"/roster/visits/{visit.id}").get_data(as_text=True)
    assert 'data-testid="cancel-visit"' in html
    assert 'data-testid="reschedule-visit"' not in html
    assert 'data-testid="manual-entry"' not in html  # tomorrow has not happened yet


@pytest.mark.usefixtures("english")
def test_missed_visit_alert_offers_reschedule(
    db_session: Session, manager_client: FlaskClient, caregiver: Caregiver, provider: Provider
) -> None:
    visit = missed_visit(caregiver)
    alert = ProviderAlert(
        provider=provider,
        kind=AlertKind.MISSED_VISIT,
        visit=visit,
        raised_at=NOW,
        detail={"visit_on": TODAY.isoformat()},
    )
    db_session.add(alert)
    db_session.flush()
    html = manager_client.get(f"/roster?day={TODAY.isoformat()}").get_data(as_text=True)
    assert f'href="/roster/visits/{visit.id}#reschedule"' in html


def test_pages_in_chinese(
    db_session: Session, login_as: Any, manager: User, caregiver: Caregiver
) -> None:
    client = login_as(manager)
    client.post("/lang/zh")
    refresh()
    visit = missed_visit(caregiver)
    html = client.get(f"/roster/visits/{visit.id}").get_data(as_text=True)
    assert "重新安排这次漏服务的上门" in html
    assert "补录这次上门" in html
    response = client.post(f"/roster/visits/{visit.id}/cancel", data={"reason": "家属外出"})
    assert response.status_code == 409
    assert "漏服务的上门不能取消" in response.get_data(as_text=True)


# --- manual entry -------------------------------------------------------------------------


def manual_form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "caregiver_id": "",
        "check_in_time": "09:05",
        "check_out_time": "09:50",
        "done_item_codes": ["bathing"],
        "reason": "phone battery dead",
        "note": "paper record signed",
    }
    return data | changes


@pytest.mark.usefixtures("english")
def test_manual_entry_completes_the_visit_and_shows_the_rating_link(
    db_session: Session, manager_client: FlaskClient, caregiver: Caregiver
) -> None:
    visit = missed_visit(caregiver)
    response = manager_client.post(f"/roster/visits/{visit.id}/manual-entry", data=manual_form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/roster/visits/{visit.id}/manual-entry/done")
    db_session.expire_all()
    assert visit.status is VisitStatus.COMPLETED
    assert visit.verification is VerificationMethod.MANUAL
    done = manager_client.get(response.headers["Location"])
    html = done.get_data(as_text=True)
    assert done.status_code == 200
    assert 'data-testid="rating-url"' in html
    assert "/rate/" in html
    assert "<svg" in html
    # Shown once: the second look has no link.
    again = manager_client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="rating-url"' not in again
    assert "The rating link was shown once" in again
    page = manager_client.get(f"/roster/visits/{visit.id}").get_data(as_text=True)
    assert "Entered by hand from a paper record" in page
    assert "phone battery dead" in page


@pytest.mark.usefixtures("english")
def test_reschedule_with_long_travel_asks_then_takes_the_managers_yes(
    db_session: Session, manager_client: FlaskClient, caregiver: Caregiver, provider: Provider
) -> None:
    visit = missed_visit(caregiver)
    far = VisitFactory(
        care_plan=provider_care_plan(provider),
        visit_on=TOMORROW,
        window_start=city_datetime(TOMORROW, dt.time(8)),
        window_end=city_datetime(TOMORROW, dt.time(20)),
        caregiver=caregiver,
        planned_start=city_datetime(TOMORROW, dt.time(18)),
        planned_end=city_datetime(TOMORROW, dt.time(19)),
        route_order=1,
        status=VisitStatus.ASSIGNED,
    )
    far.person.home_lat = 32.0 + 50 / 111.195  # that home is 50 km north
    db_session.flush()
    data = reschedule_form(caregiver_id=str(caregiver.id), start="14:00")
    asked = manager_client.post(f"/roster/visits/{visit.id}/reschedule", data=data)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 409
    assert 'data-testid="reschedule-travel"' in page
    minutes = re.search(r'name="accepted_travel_minutes" value="(\d+)"', page)
    assert minutes is not None
    assert f"Reschedule anyway ({minutes[1]} minutes of travel)" in page
    assert db_session.scalar(select(Visit).where(Visit.rescheduled_from_id == visit.id)) is None

    yes = manager_client.post(
        f"/roster/visits/{visit.id}/reschedule",
        data={**data, "accepted_travel_minutes": minutes[1]},
    )
    assert yes.status_code == 302
    new = db_session.scalar(select(Visit).where(Visit.rescheduled_from_id == visit.id))
    assert new is not None
    assert new.caregiver_id == caregiver.id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"check_out_time": "09:00"}, "The check-out must be after the check-in."),
        ({"check_in_time": "09:30", "check_out_time": "10:30"}, "these times are ahead"),
        ({"reason": "no"}, "Give the reason (at least 4 characters)."),
        ({"reason": ""}, "Give the reason (at least 4 characters)."),
        ({"done_item_codes": []}, "Tick at least one of this visit&#39;s service items."),
        ({"check_in_time": "nine"}, "Not a valid time value."),
        ({"caregiver_id": "abc"}, "Invalid Choice: could not coerce."),
    ],
)
@pytest.mark.usefixtures("english")
def test_manual_entry_bad_input_is_a_form_error(
    db_session: Session,
    manager_client: FlaskClient,
    caregiver: Caregiver,
    changes: dict[str, Any],
    message: str,
) -> None:
    visit = missed_visit(caregiver)
    response = manager_client.post(
        f"/roster/visits/{visit.id}/manual-entry", data=manual_form(**changes)
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db_session.expire_all()
    assert visit.status is VisitStatus.MISSED


@pytest.mark.usefixtures("english")
def test_manual_entry_of_a_completed_visit_is_a_conflict(
    db_session: Session, manager_client: FlaskClient, caregiver: Caregiver
) -> None:
    visit = caregiver_visit(caregiver, status=VisitStatus.COMPLETED)
    response = manager_client.post(f"/roster/visits/{visit.id}/manual-entry", data=manual_form())
    assert response.status_code == 409
    assert "This visit is already completed." in response.get_data(as_text=True)


# --- reschedule ---------------------------------------------------------------------------


def reschedule_form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "day": TOMORROW.isoformat(),
        "window_start": "14:00",
        "window_end": "16:00",
        "caregiver_id": "",
        "start": "",
    }
    return data | changes


@pytest.mark.usefixtures("english")
def test_reschedule_makes_a_new_visit(
    db_session: Session, manager_client: FlaskClient, caregiver: Caregiver
) -> None:
    visit = missed_visit(caregiver)
    response = manager_client.post(f"/roster/visits/{visit.id}/reschedule", data=reschedule_form())
    assert response.status_code == 302
    new = db_session.scalar(select(Visit).where(Visit.rescheduled_from_id == visit.id))
    assert new is not None
    assert response.headers["Location"].endswith(f"/roster/visits/{new.id}")
    assert new.status is VisitStatus.UNASSIGNED
    page = manager_client.get(f"/roster/visits/{visit.id}").get_data(as_text=True)
    assert 'data-testid="rescheduled-as"' in page
    assert 'data-testid="reschedule-visit"' not in page
    again = manager_client.post(f"/roster/visits/{visit.id}/reschedule", data=reschedule_form())
    assert again.status_code == 409
    assert "This missed visit has already been rescheduled." in again.get_data(as_text=True)


@pytest.mark.usefixtures("english")
def test_reschedule_with_a_caregiver(
    db_session: Session, manager_client: FlaskClient, caregiver: Caregiver
) -> None:
    visit = missed_visit(caregiver)
    response = manager_client.post(
        f"/roster/visits/{visit.id}/reschedule",
        data=reschedule_form(caregiver_id=str(caregiver.id), start="14:30"),
    )
    assert response.status_code == 302
    new = db_session.scalar(select(Visit).where(Visit.rescheduled_from_id == visit.id))
    assert new is not None
    assert new.status is VisitStatus.ASSIGNED
    assert new.caregiver_id == caregiver.id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"day": (TODAY - dt.timedelta(days=1)).isoformat()}, "Choose today or a later day."),
        ({"day": ""}, "Give the new day."),
        ({"day": "tomorrow"}, "Not a valid date value."),
        ({"window_end": "14:30"}, "hold the visit&#39;s 60 minutes"),
        ({"window_start": "06:00"}, "Visits take place between 07:00 and 20:00."),
        ({"caregiver_id": "99999"}, "Not a valid choice."),
        ({"start": "19:30"}, "The start is outside the visit&#39;s time window."),
    ],
)
@pytest.mark.usefixtures("english")
def test_reschedule_bad_input_is_a_form_error(
    db_session: Session,
    manager_client: FlaskClient,
    caregiver: Caregiver,
    changes: dict[str, Any],
    message: str,
) -> None:
    visit = missed_visit(caregiver)
    if "start" in changes:
        changes["caregiver_id"] = str(caregiver.id)
    response = manager_client.post(
        f"/roster/visits/{visit.id}/reschedule", data=reschedule_form(**changes)
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db_session.scalar(select(Visit).where(Visit.rescheduled_from_id == visit.id)) is None


# --- cancel -------------------------------------------------------------------------------


@pytest.mark.usefixtures("english")
def test_cancel_a_visit(
    db_session: Session, manager_client: FlaskClient, caregiver: Caregiver
) -> None:
    visit = caregiver_visit(caregiver, visit_on=TOMORROW)
    response = manager_client.post(f"/roster/visits/{visit.id}/cancel", data={"reason": "住院"})
    assert response.status_code == 302
    assert f"/roster?day={TOMORROW.isoformat()}" in response.headers["Location"]
    db_session.expire_all()
    assert visit.status is VisitStatus.CANCELLED
    page = manager_client.get(f"/roster/visits/{visit.id}").get_data(as_text=True)
    assert "住院" in page


@pytest.mark.parametrize(
    ("reason", "status", "message"),
    [
        ("", 400, "Give the reason for the cancellation."),
        ("x" * 201, 400, "Keep this under 200 characters."),
    ],
)
@pytest.mark.usefixtures("english")
def test_cancel_bad_input_is_a_form_error(
    db_session: Session,
    manager_client: FlaskClient,
    caregiver: Caregiver,
    reason: str,
    status: int,
    message: str,
) -> None:
    visit = caregiver_visit(caregiver, visit_on=TOMORROW)
    response = manager_client.post(f"/roster/visits/{visit.id}/cancel", data={"reason": reason})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    db_session.expire_all()
    assert visit.status is VisitStatus.ASSIGNED


@pytest.mark.usefixtures("english")
def test_cancel_a_started_visit_is_a_conflict(
    db_session: Session, manager_client: FlaskClient, caregiver: Caregiver
) -> None:
    visit = caregiver_visit(caregiver, status=VisitStatus.CHECKED_IN)
    response = manager_client.post(f"/roster/visits/{visit.id}/cancel", data={"reason": "住院"})
    assert response.status_code == 409
    assert "This visit has started and can no longer be cancelled." in response.get_data(
        as_text=True
    )


# --- another provider's visit -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("manual-entry", manual_form()),
        ("reschedule", reschedule_form()),
        ("cancel", {"reason": "住院"}),
    ],
)
@pytest.mark.usefixtures("english")
def test_another_providers_visit_is_404(
    db_session: Session, manager_client: FlaskClient, path: str, data: dict[str, Any]
) -> None:
    other = other_providers_visit()
    response = manager_client.post(f"/roster/visits/{other.id}/{path}", data=data)
    assert response.status_code == 404
    assert other.person.name not in response.get_data(as_text=True)
    db_session.expire_all()
    assert other.status is VisitStatus.MISSED


@pytest.mark.usefixtures("english")
def test_another_providers_manual_entry_receipt_is_404(
    db_session: Session, manager_client: FlaskClient
) -> None:
    other = other_providers_visit()
    assert manager_client.get(f"/roster/visits/{other.id}/manual-entry/done").status_code == 404


# --- volunteer care plans -----------------------------------------------------------------


@pytest.mark.usefixtures("english")
def test_volunteer_plan_beside_the_paid_plan(
    db_session: Session, admin_client: FlaskClient, items: dict[str, ServiceItem]
) -> None:
    entitlement = EntitlementFactory()
    company = ProviderFactory(name="崇川居家照护")
    volunteers = ProviderFactory(name="崇川志愿者协会", kind=ProviderKind.VOLUNTEER)
    form = {
        "service_item_ids": [str(items["hair_washing"].id)],
        "weekdays": ["1", "3"],
        "window_start": "09:00",
        "window_end": "11:00",
        "preferred_caregiver_id": "",
    }
    url = f"/entitlements/{entitlement.id}/care-plan/new"
    assert admin_client.post(url, data=form | {"provider_id": str(company.id)}).status_code == 302
    # The paid plan exists: the plain page leads to it, the volunteer page stays.
    assert admin_client.get(url).status_code == 302
    page = admin_client.get(url + "?volunteer=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Volunteer visits are unpaid" in html
    assert "崇川志愿者协会" in html
    assert "崇川居家照护" not in html
    created = admin_client.post(
        url + "?volunteer=1", data=form | {"provider_id": str(volunteers.id)}
    )
    assert created.status_code == 302
    plan = db_session.scalar(select(CarePlan).where(CarePlan.provider_id == volunteers.id))
    assert plan is not None
    detail = admin_client.get(f"/care-plans/{plan.id}").get_data(as_text=True)
    assert "Volunteer plan" in detail
    assert "Volunteer visits are unpaid" in detail
    assert 'data-testid="monthly-total"' not in detail


@pytest.mark.usefixtures("english")
def test_volunteer_plan_bad_input_is_a_form_error(
    db_session: Session, admin_client: FlaskClient, items: dict[str, ServiceItem]
) -> None:
    entitlement = EntitlementFactory()
    volunteers = ProviderFactory(kind=ProviderKind.VOLUNTEER)
    response = admin_client.post(
        f"/entitlements/{entitlement.id}/care-plan/new?volunteer=1",
        data={
            "provider_id": str(volunteers.id),
            "service_item_ids": [],
            "weekdays": ["1"],
            "window_start": "09:00",
            "window_end": "11:00",
            "preferred_caregiver_id": "",
        },
    )
    assert response.status_code == 400
    assert "Choose at least one service item." in response.get_data(as_text=True)


@pytest.mark.usefixtures("english")
def test_volunteer_plan_page_without_a_budget(
    db_session: Session, admin_client: FlaskClient
) -> None:
    entitlement = EntitlementFactory(monthly_budget_fen=None)
    ProviderFactory(kind=ProviderKind.VOLUNTEER)
    url = f"/entitlements/{entitlement.id}/care-plan/new"
    assert admin_client.get(url + "?volunteer=1").status_code == 200
    assert admin_client.get(url).status_code == 409  # a paid plan needs the budget
