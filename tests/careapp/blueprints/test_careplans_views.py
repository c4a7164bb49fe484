"""The care-plan pages: administrators plan home care for an entitlement and read the plan."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models import CarePlan, CareSetting
from careapp.services.careplans import create_care_plan
from scheduling.quality import ProviderStatus
from tests.conftest import Statements
from tests.factories import (
    CaregiverFactory,
    CarePlanFactory,
    DistrictFactory,
    EntitlementFactory,
    ProviderFactory,
    UserFactory,
)


def plans(db_session: Session) -> list[CarePlan]:
    return list(db_session.scalars(select(CarePlan)))


def form_data(provider: Any, *item_ids: int, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "provider_id": str(provider.id),
        "service_item_ids": [str(item_id) for item_id in item_ids],
        "weekdays": ["1", "3", "5"],
        "window_start": "09:00",
        "window_end": "11:00",
        "preferred_caregiver_id": "",
    }
    return data | changes


@pytest.mark.usefixtures("english")
def test_careplan_new_lists_eligible_providers_items_and_caregivers(
    db_session: Session, admin_client: FlaskClient, items: Any
) -> None:
    entitlement = EntitlementFactory()
    provider = ProviderFactory(name="崇川居家照护")
    CaregiverFactory(provider=provider, name="护理员甲")
    ProviderFactory(name="已暂停公司", status=ProviderStatus.SUSPENDED)
    ProviderFactory(name="如东公司", districts=[DistrictFactory(code="320623", name_zh="如东县")])
    page = admin_client.get(f"/entitlements/{entitlement.id}/care-plan/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert entitlement.person.name in html
    assert "崇川居家照护" in html
    assert "已暂停公司" not in html
    assert "如东公司" not in html
    assert '<optgroup label="崇川居家照护">' in html
    assert "护理员甲" in html
    assert "Bathing — 60 min, 80.00 yuan, daily-life care" in html
    assert "Catheter care — 45 min, 60.00 yuan, nursing" in html
    assert "1,200.00 yuan" in html


@pytest.mark.usefixtures("english")
def test_careplan_new_post_saves_and_shows_the_plan(
    db_session: Session, admin_client: FlaskClient, items: Any
) -> None:
    entitlement = EntitlementFactory()
    provider = ProviderFactory(name="崇川居家照护")
    caregiver = CaregiverFactory(provider=provider, name="护理员乙")
    data = form_data(
        provider,
        items["hair_washing"].id,
        items["oral_care"].id,
        preferred_caregiver_id=str(caregiver.id),
    )
    response = admin_client.post(f"/entitlements/{entitlement.id}/care-plan/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    [plan] = plans(db_session)
    assert response.headers["Location"].endswith(f"/care-plans/{plan.id}")
    assert plan.weekdays == [1, 3, 5]
    assert plan.window_start == dt.time(9, 0)
    assert plan.preferred_caregiver_id == caregiver.id
    html = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "崇川居家照护" in html
    assert "护理员乙" in html
    assert "Monday, Wednesday, and Friday" in html
    assert "09:00–11:00" in html
    assert "Hair washing" in html
    assert "14 visits, 560.00 yuan" in html
    assert 'data-testid="budget">1,200.00 yuan<' in html


@pytest.mark.usefixtures("english")
def test_careplan_new_over_budget_is_a_form_error_and_writes_nothing(
    db_session: Session, admin_client: FlaskClient, items: Any
) -> None:
    entitlement = EntitlementFactory()
    provider = ProviderFactory()
    data = form_data(provider, items["bathing"].id, weekdays=[str(d) for d in range(1, 8)])
    response = admin_client.post(f"/entitlements/{entitlement.id}/care-plan/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "2,480.00 yuan" in html
    assert "1,200.00 yuan" in html
    assert "field-error" in html
    assert plans(db_session) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"window_start": ""},
        {"window_end": "9am"},
        {"provider_id": "999999"},
        {"weekdays": ["9"]},
        {"preferred_caregiver_id": "abc"},
    ],
)
@pytest.mark.usefixtures("english")
def test_careplan_new_malformed_input_is_a_form_error(
    db_session: Session, admin_client: FlaskClient, items: Any, changes: dict[str, Any]
) -> None:
    entitlement = EntitlementFactory()
    provider = ProviderFactory()
    data = form_data(provider, items["oral_care"].id, **changes)
    response = admin_client.post(f"/entitlements/{entitlement.id}/care-plan/new", data=data)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert plans(db_session) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"service_item_ids": []}, "Choose at least one service item."),
        ({"weekdays": []}, "Choose at least one day of the week."),
        ({"window_start": "06:00"}, "Visits take place between 07:00 and 20:00."),
        ({"window_end": "09:30"}, "but the window is only 30 minutes long"),
    ],
)
@pytest.mark.usefixtures("english")
def test_careplan_new_rule_refusals_show_on_the_form(
    db_session: Session,
    admin_client: FlaskClient,
    items: Any,
    changes: dict[str, Any],
    message: str,
) -> None:
    entitlement = EntitlementFactory()
    provider = ProviderFactory()
    data = form_data(provider, items["bathing"].id, **changes)
    response = admin_client.post(f"/entitlements/{entitlement.id}/care-plan/new", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert plans(db_session) == []


@pytest.mark.usefixtures("english")
def test_careplan_new_caregiver_of_wrong_provider_is_refused(
    db_session: Session, admin_client: FlaskClient, items: Any
) -> None:
    entitlement = EntitlementFactory()
    chosen = ProviderFactory(name="甲公司")
    other = ProviderFactory(name="乙公司")
    stranger = CaregiverFactory(provider=other)
    data = form_data(chosen, items["oral_care"].id, preferred_caregiver_id=str(stranger.id))
    response = admin_client.post(f"/entitlements/{entitlement.id}/care-plan/new", data=data)
    assert response.status_code == 400
    assert "must work for the chosen provider" in response.get_data(as_text=True)
    assert plans(db_session) == []


@pytest.mark.usefixtures("english")
def test_careplan_new_conflict_at_save_time_is_shown_on_the_form(
    db_session: Session, admin_client: FlaskClient, items: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another administrator saved a plan between this page's GET and its POST.
    entitlement = EntitlementFactory()
    provider = ProviderFactory()

    def raced(*args: Any, **kwargs: Any) -> Any:
        CarePlanFactory(entitlement=entitlement)
        return create_care_plan(*args, **kwargs)

    monkeypatch.setattr("careapp.services.careplans.create_care_plan", raced)
    data = form_data(provider, items["oral_care"].id)
    response = admin_client.post(f"/entitlements/{entitlement.id}/care-plan/new", data=data)
    assert response.status_code == 409
    assert "already has an active care plan" in response.get_data(as_text=True)


@pytest.mark.usefixtures("english")
def test_careplan_new_with_existing_plan_redirects_to_it(
    db_session: Session, admin_client: FlaskClient
) -> None:
    plan = CarePlanFactory()
    response = admin_client.get(f"/entitlements/{plan.entitlement_id}/care-plan/new")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/care-plans/{plan.id}")


@pytest.mark.usefixtures("english")
def test_careplan_new_for_institution_entitlement_is_a_conflict(
    db_session: Session, admin_client: FlaskClient
) -> None:
    entitlement = EntitlementFactory(
        care_setting=CareSetting.ELDERLY_CARE_INSTITUTION, monthly_budget_fen=None
    )
    response = admin_client.get(f"/entitlements/{entitlement.id}/care-plan/new")
    assert response.status_code == 409
    assert "door-to-door service" in response.get_data(as_text=True)


@pytest.mark.usefixtures("english")
def test_careplan_pages_unknown_ids_are_404(admin_client: FlaskClient) -> None:
    assert admin_client.get("/entitlements/999999/care-plan/new").status_code == 404
    assert admin_client.get("/care-plans/999999").status_code == 404


@pytest.mark.parametrize("trait", ["assessor", "manager", "caregiver"])
def test_careplan_pages_forbidden_for_other_roles(
    db_session: Session, login_as: Any, items: Any, trait: str
) -> None:
    entitlement = EntitlementFactory()
    provider = ProviderFactory()
    plan = CarePlanFactory(entitlement=entitlement)
    client = login_as(UserFactory(**{trait: True}))
    url = f"/entitlements/{entitlement.id}/care-plan/new"
    assert client.get(url).status_code == 403
    assert client.post(url, data=form_data(provider, items["oral_care"].id)).status_code == 403
    assert client.get(f"/care-plans/{plan.id}").status_code == 403
    assert len(plans(db_session)) == 1


@pytest.mark.usefixtures("english")
def test_careplan_new_issues_a_bounded_number_of_queries(
    db_session: Session, admin_client: FlaskClient, items: Any, count_queries: Statements
) -> None:
    entitlement = EntitlementFactory()
    url = f"/entitlements/{entitlement.id}/care-plan/new"

    def selects() -> int:
        with count_queries.counted() as sent:
            assert admin_client.get(url).status_code == 200
        return len(sent.selects())

    ProviderFactory()
    few = selects()
    for _ in range(5):
        CaregiverFactory(provider=ProviderFactory())
    assert selects() == few
