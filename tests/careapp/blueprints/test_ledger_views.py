"""The entitlement page with its event forms, the month's ledger and the fund page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.eligibility.rules import BenefitCategory
from careapp.models import (
    AuditEvent,
    CareSetting,
    Entitlement,
    EntitlementEvent,
    EntitlementEventKind,
    EntitlementStatus,
    ProviderKind,
)
from tests.factories import (
    EntitlementFactory,
    PolicyVersionFactory,
    ProviderFactory,
    UserFactory,
    home_cash_beneficiary,
)


@pytest.fixture
def entitlement(db_session: Session) -> Entitlement:
    return home_cash_beneficiary()


def events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(EntitlementEvent)) or 0


def audits(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


@pytest.mark.usefixtures("english")
def test_entitlement_page_lists_events_and_the_ledger_by_month(
    admin_client: FlaskClient, entitlement: Entitlement
) -> None:
    PolicyVersionFactory(effective_on=dt.date(2026, 10, 16), name="Rates of 16 October")
    html = admin_client.get(f"/entitlements/{entitlement.id}").get_data(as_text=True)
    assert "Rates of 16 October" in html  # the days from its date record it
    assert "Default (spec figures)" in html
    assert 'data-testid="event-start"' in html
    assert 'data-testid="month-2026-09"' in html
    assert "21 days paid, 0 suspended, 315.00 yuan" in html  # 10-30 September at 15 yuan
    assert f"/entitlements/{entitlement.id}/moves/new" in html
    assert f"/entitlements/{entitlement.id}/hospital-stays/new" in html
    assert "/work-orders/new" not in html  # a cash subsidy needs no home-care company


@pytest.mark.usefixtures("english")
def test_a_home_service_entitlement_page_links_to_finding_a_provider(
    admin_client: FlaskClient,
) -> None:
    home = EntitlementFactory()
    html = admin_client.get(f"/entitlements/{home.id}").get_data(as_text=True)
    assert f"/entitlements/{home.id}/work-orders/new" in html


@pytest.mark.usefixtures("english")
def test_a_moderate_home_service_entitlement_page_offers_no_provider_search(
    admin_client: FlaskClient,
) -> None:
    moderate = EntitlementFactory(
        category=BenefitCategory.MODERATE, daily_rate_fen=1_000, monthly_budget_fen=None
    )
    html = admin_client.get(f"/entitlements/{moderate.id}").get_data(as_text=True)
    assert "/work-orders/new" not in html


@pytest.mark.usefixtures("english")
def test_move_form_records_a_move_into_an_institution(
    admin_client: FlaskClient, db_session: Session, entitlement: Entitlement
) -> None:
    home = ProviderFactory(kind=ProviderKind.ELDERLY_CARE_INSTITUTION, name="康乐养老院")
    form = admin_client.get(f"/entitlements/{entitlement.id}/moves/new").get_data(as_text=True)
    assert "康乐养老院" in form
    response = admin_client.post(
        f"/entitlements/{entitlement.id}/moves/new",
        data={
            "moved_on": "2026-10-16",
            "care_setting": "elderly_care_institution",
            "provider_id": str(home.id),
            "note": "",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/entitlements/{entitlement.id}")
    db_session.refresh(entitlement)
    assert entitlement.care_setting is CareSetting.ELDERLY_CARE_INSTITUTION
    page = admin_client.get(f"/entitlements/{entitlement.id}").get_data(as_text=True)
    assert "The change is recorded." in page
    assert 'data-testid="event-move"' in page
    assert "康乐养老院" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"moved_on": ""}, "Enter a date."),
        ({"moved_on": "16/10/2026"}, "Not a valid date value."),
        ({"moved_on": "2026-09-01"}, "A move must come after the entitlement starts"),
        ({"moved_on": "2027-01-01"}, "The date cannot be later than today"),
        ({"care_setting": "hospital"}, "Not a valid choice."),
        ({"care_setting": "medical_care_institution"}, "Choose the institution"),
    ],
)
@pytest.mark.usefixtures("english")
def test_move_form_refuses_bad_input_writing_nothing(
    admin_client: FlaskClient,
    db_session: Session,
    entitlement: Entitlement,
    data: dict[str, str],
    message: str,
) -> None:
    before = (events(db_session), audits(db_session))
    form = {"moved_on": "2026-10-16", "care_setting": "home_service", "provider_id": ""}
    response = admin_client.post(f"/entitlements/{entitlement.id}/moves/new", data=form | data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert (events(db_session), audits(db_session)) == before


@pytest.mark.usefixtures("english")
def test_hospital_stay_then_discharge_through_the_forms(
    admin_client: FlaskClient, db_session: Session, entitlement: Entitlement
) -> None:
    url = f"/entitlements/{entitlement.id}/hospital-stays/new"
    response = admin_client.post(url, data={"admitted_on": "2026-10-05", "discharged_on": ""})
    assert response.status_code == 302
    page = admin_client.get(f"/entitlements/{entitlement.id}").get_data(as_text=True)
    assert "still in hospital" in page
    match = re.search(r"/hospital-stays/(\d+)/discharge", page)
    assert match is not None
    discharge = f"/entitlements/{entitlement.id}/hospital-stays/{match.group(1)}/discharge"
    bad = admin_client.post(discharge, data={"discharged_on": "2026-10-01"})
    assert bad.status_code == 400
    assert "cannot be before the admission" in bad.get_data(as_text=True)
    assert admin_client.post(discharge, data={"discharged_on": "2026-10-09"}).status_code == 302
    stay = db_session.scalars(
        select(EntitlementEvent).where(EntitlementEvent.kind == EntitlementEventKind.HOSPITAL_STAY)
    ).one()
    assert stay.discharged_on == dt.date(2026, 10, 9)
    page = admin_client.get(f"/entitlements/{entitlement.id}").get_data(as_text=True)
    assert "27 days paid, 4 suspended" in page  # October: 5-8 suspended


@pytest.mark.usefixtures("english")
def test_overlapping_stay_is_refused_on_the_form(
    admin_client: FlaskClient, db_session: Session, entitlement: Entitlement
) -> None:
    url = f"/entitlements/{entitlement.id}/hospital-stays/new"
    admin_client.post(url, data={"admitted_on": "2026-10-05", "discharged_on": "2026-10-10"})
    response = admin_client.post(url, data={"admitted_on": "2026-10-08", "discharged_on": ""})
    assert response.status_code == 400
    assert "overlaps another one" in response.get_data(as_text=True)
    assert events(db_session) == 2  # the start and the first stay


@pytest.mark.usefixtures("english")
def test_end_form_ends_the_entitlement(
    admin_client: FlaskClient, db_session: Session, entitlement: Entitlement
) -> None:
    url = f"/entitlements/{entitlement.id}/end"
    bad = admin_client.post(url, data={"ends_on": "2026-11-05", "reason": "bored"})
    assert bad.status_code == 400
    assert "Not a valid choice." in bad.get_data(as_text=True)
    response = admin_client.post(url, data={"ends_on": "2026-11-05", "reason": "insurance_ended"})
    assert response.status_code == 302
    db_session.refresh(entitlement)
    assert (entitlement.status, entitlement.ends_on) == (
        EntitlementStatus.ENDED,
        dt.date(2026, 11, 4),
    )
    page = admin_client.get(f"/entitlements/{entitlement.id}").get_data(as_text=True)
    assert "last day of benefit 2026-11-04 (Insurance ended)" in page
    assert f"/entitlements/{entitlement.id}/end" not in page  # no more actions


def test_errors_are_shown_in_chinese(
    db_session: Session, login_as: Any, entitlement: Entitlement
) -> None:
    client = login_as(UserFactory(admin=True))
    response = client.post(
        f"/entitlements/{entitlement.id}/hospital-stays/new",
        data={"admitted_on": "2026-10-05", "discharged_on": "2026-10-01"},
    )
    assert response.status_code == 400
    assert "出院日期" in response.get_data(as_text=True)


@pytest.mark.usefixtures("english")
def test_fund_page_shows_the_month_by_category_setting_district_and_a_chart(
    admin_client: FlaskClient, db_session: Session, entitlement: Entitlement
) -> None:
    response = admin_client.get("/fund?month=2026-10")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<svg" in html
    assert "<rect" in html
    assert "<script" not in html.split("<main")[-1].split("</main>")[0]
    assert 'data-testid="total-2026-10">465.00' in html  # 31 days at 15 yuan
    assert 'data-testid="total-2026-09">315.00' in html
    assert 'data-testid="total-2025-11">0.00' in html  # twelve months back
    assert "Chongchuan District" in html
    assert "At home, cash subsidy" in html
    assert 'data-testid="projection"' not in html  # October is over
    assert 'data-testid="projection"' in admin_client.get("/fund").get_data(as_text=True)
    ledger = admin_client.get("/fund/ledger?month=2026-10").get_data(as_text=True)
    assert 'data-testid="ledger-total">465.00' in ledger
    assert f'data-testid="line-{entitlement.id}"' in ledger


@pytest.mark.parametrize("url", ["/fund?month=2026-13", "/fund/ledger?month=oct"])
@pytest.mark.usefixtures("english")
def test_fund_pages_refuse_a_bad_month(admin_client: FlaskClient, url: str) -> None:
    response = admin_client.get(url)
    assert response.status_code == 400
    assert "Give the month as YYYY-MM" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["assessor", "manager", "caregiver"])
def test_ledger_pages_are_forbidden_to_non_administrators(
    db_session: Session, login_as: Any, entitlement: Entitlement, role: str
) -> None:
    client = login_as(UserFactory(**{role: True}))
    base = f"/entitlements/{entitlement.id}"
    for url in (base, "/fund", "/fund/ledger", f"{base}/moves/new"):
        assert client.get(url).status_code == 403
    response = client.post(f"{base}/end", data={"ends_on": "2026-11-05", "reason": "death"})
    assert response.status_code == 403
    db_session.refresh(entitlement)
    assert entitlement.status is EntitlementStatus.ACTIVE
