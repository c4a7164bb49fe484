"""The decision pages: administrators decide an assessed application and read the decision."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models import (
    ApplicationStatus,
    CarePlan,
    CareSetting,
    EligibilityDecision,
    Entitlement,
    InsuranceStatus,
)
from careapp.services.catalogue import ensure_service_catalogue
from tests.factories import (
    TODAY,
    ApplicationFactory,
    CarePlanFactory,
    DecidableAssessmentFactory,
    PersonFactory,
    ProviderFactory,
    UserFactory,
)

pytestmark = pytest.mark.usefixtures("policy")


def decisions(db_session: Session) -> list[EligibilityDecision]:
    return list(db_session.scalars(select(EligibilityDecision)))


@pytest.mark.usefixtures("english")
def test_decision_new_shows_person_assessment_and_requested_setting(
    admin_client: FlaskClient,
) -> None:
    assessment = DecidableAssessmentFactory(
        total=35, application__requested_setting=CareSetting.ELDERLY_CARE_INSTITUTION
    )
    person = assessment.application.person
    page = admin_client.get(f"/applications/{assessment.application.id}/decision/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert person.name in html
    assert person.id_number_masked in html
    assert 'data-testid="assessment-total">35<' in html
    assert 'data-testid="assessment-grade">Severe dependency<' in html
    assert '<option selected value="elderly_care_institution">' in html


@pytest.mark.usefixtures("english")
def test_decision_new_post_decides_and_shows_detail(
    db_session: Session, admin_client: FlaskClient
) -> None:
    application = DecidableAssessmentFactory().application
    response = admin_client.post(
        f"/applications/{application.id}/decision/new",
        data={"care_setting": "elderly_care_institution"},
    )
    assert response.status_code == 302
    [decision] = decisions(db_session)
    assert response.headers["Location"].endswith(f"/decisions/{decision.id}")
    html = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Eligible" in html
    assert "40.00 yuan a day" in html
    assert "Severe disability" in html
    assert "Default (spec figures)" in html
    assert "2016-01-01" in html
    assert f"Insured on {TODAY} (Urban and rural residents&#39; medical insurance)" in html
    assert "Disability has lasted 22 months (at least 6 required)" in html
    assert "grade “Severe dependency” (total 30): Severe disability" in html
    assert "The person has no open entitlement" in html
    assert html.count("passed</span>") == 4
    assert "care-plan/new" not in html  # an institution needs no care plan
    db_session.refresh(application)
    assert application.status is ApplicationStatus.DECIDED


@pytest.mark.usefixtures("english")
def test_decision_detail_home_service_offers_a_care_plan_once(
    db_session: Session, admin_client: FlaskClient
) -> None:
    application = DecidableAssessmentFactory().application
    location = admin_client.post(
        f"/applications/{application.id}/decision/new", data={"care_setting": "home_service"}
    ).headers["Location"]
    html = admin_client.get(location).get_data(as_text=True)
    assert "Paid per visit" in html
    assert 'data-testid="monthly-budget">1,200.00 yuan<' in html
    assert "care-plan/new" in html
    [decision] = decisions(db_session)
    opened = db_session.scalars(select(Entitlement)).one()
    CarePlanFactory(entitlement=opened)
    html = admin_client.get(location).get_data(as_text=True)
    assert "care-plan/new" not in html
    assert "/care-plans/" in html
    assert decision.is_eligible


@pytest.mark.usefixtures("english")
def test_decision_detail_moderate_home_service_offers_no_care_plan(
    db_session: Session, admin_client: FlaskClient
) -> None:
    """Moderate disability is paid a daily rate with no visit budget: a care plan would be
    refused, so the page does not offer one (nor does the entitlement page a provider search)."""
    application = DecidableAssessmentFactory(total=50).application  # Barthel 41-60: moderate
    location = admin_client.post(
        f"/applications/{application.id}/decision/new", data={"care_setting": "home_service"}
    ).headers["Location"]
    html = admin_client.get(location).get_data(as_text=True)
    assert "Moderate disability" in html
    assert "10.00 yuan a day" in html
    assert "care-plan/new" not in html
    assert 'data-testid="make-care-plan"' not in html
    entitlement = db_session.scalars(select(Entitlement)).one()
    assert entitlement.monthly_budget_fen is None
    page = admin_client.get(f"/entitlements/{entitlement.id}").get_data(as_text=True)
    assert "/work-orders/new" not in page
    # The service agrees: the same rule refuses the plan page.
    assert admin_client.get(f"/entitlements/{entitlement.id}/care-plan/new").status_code == 409


@pytest.mark.usefixtures("english")
def test_decision_detail_severe_home_service_care_plan_action_works(
    db_session: Session, admin_client: FlaskClient
) -> None:
    items = {item.code: item for item in ensure_service_catalogue(db_session)}
    provider = ProviderFactory()
    application = DecidableAssessmentFactory().application
    location = admin_client.post(
        f"/applications/{application.id}/decision/new", data={"care_setting": "home_service"}
    ).headers["Location"]
    html = admin_client.get(location).get_data(as_text=True)
    [href] = re.findall(r'href="([^"]+)" data-testid="make-care-plan"', html)
    assert admin_client.get(href).status_code == 200
    response = admin_client.post(
        href,
        data={
            "provider_id": str(provider.id),
            "service_item_ids": [str(items["hair_washing"].id)],
            "weekdays": ["1", "4"],
            "window_start": "09:00",
            "window_end": "11:00",
            "preferred_caregiver_id": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    plan = db_session.scalars(select(CarePlan)).one()
    assert plan.provider_id == provider.id


@pytest.mark.usefixtures("english")
def test_decision_detail_ineligible_lists_failed_rules(
    db_session: Session, admin_client: FlaskClient
) -> None:
    person = PersonFactory(insurance_status=InsuranceStatus.ENDED)
    application = DecidableAssessmentFactory(application__person=person, total=70).application
    location = admin_client.post(
        f"/applications/{application.id}/decision/new", data={"care_setting": "home_cash"}
    ).headers["Location"]
    html = admin_client.get(location).get_data(as_text=True)
    assert "Not eligible" in html
    assert f"Not insured in either medical-insurance scheme on {TODAY}" in html
    assert "grade “Mild dependency” (total 70) gives no benefit category" in html
    assert html.count("failed</span>") == 2
    assert "care-plan/new" not in html


@pytest.mark.usefixtures("english")
def test_decision_detail_in_chinese(db_session: Session, admin_client: FlaskClient) -> None:
    application = DecidableAssessmentFactory().application
    location = admin_client.post(
        f"/applications/{application.id}/decision/new", data={"care_setting": "home_cash"}
    ).headers["Location"]
    admin_client.post("/lang/zh")
    refresh()  # test requests share one app context, where Flask-Babel caches the locale
    html = admin_client.get(location).get_data(as_text=True)
    assert "符合条件" in html
    assert "15.00" in html


@pytest.mark.parametrize("data", [{"care_setting": "hospital"}, {}])
@pytest.mark.usefixtures("english")
def test_decision_new_bad_input_writes_nothing(
    db_session: Session, admin_client: FlaskClient, data: dict[str, str]
) -> None:
    application = DecidableAssessmentFactory().application
    response = admin_client.post(f"/applications/{application.id}/decision/new", data=data)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert decisions(db_session) == []


@pytest.mark.usefixtures("english")
def test_decision_new_not_assessed_is_a_conflict(
    db_session: Session, admin_client: FlaskClient
) -> None:
    application = ApplicationFactory(assigned=True)
    page = admin_client.get(f"/applications/{application.id}/decision/new")
    assert "this one is not ready" in page.get_data(as_text=True)
    response = admin_client.post(
        f"/applications/{application.id}/decision/new", data={"care_setting": "home_cash"}
    )
    assert response.status_code == 409
    assert "this one is not ready" in response.get_data(as_text=True)
    assert decisions(db_session) == []


@pytest.mark.usefixtures("english")
def test_decision_new_after_deciding_redirects_to_the_decision(
    db_session: Session, admin_client: FlaskClient
) -> None:
    application = DecidableAssessmentFactory().application
    url = f"/applications/{application.id}/decision/new"
    location = admin_client.post(url, data={"care_setting": "home_cash"}).headers["Location"]
    response = admin_client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"] == location


@pytest.mark.usefixtures("english")
def test_decision_pages_unknown_ids_are_404(admin_client: FlaskClient) -> None:
    assert admin_client.get("/applications/999999/decision/new").status_code == 404
    assert admin_client.get("/decisions/999999").status_code == 404


@pytest.mark.parametrize("trait", ["assessor", "manager", "caregiver"])
def test_decision_pages_forbidden_for_other_roles(
    db_session: Session, login_as: Any, trait: str
) -> None:
    application = DecidableAssessmentFactory().application
    client = login_as(UserFactory(**{trait: True}))
    url = f"/applications/{application.id}/decision/new"
    assert client.get(url).status_code == 403
    assert client.post(url, data={"care_setting": "home_cash"}).status_code == 403
    assert decisions(db_session) == []
    assert client.get("/decisions/1").status_code == 403


def test_decision_pages_need_login(client: FlaskClient, db_session: Session) -> None:
    response = client.get("/applications/1/decision/new")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.usefixtures("english")
def test_the_decision_form_asks_for_confirmation_first(admin_client: FlaskClient) -> None:
    application = DecidableAssessmentFactory().application
    html = admin_client.get(f"/applications/{application.id}/decision/new").get_data(as_text=True)
    assert 'data-confirm="Record this eligibility decision? It cannot be undone."' in html
    assert "/static/js/confirm.js" in html
